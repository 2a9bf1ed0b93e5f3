/*
 * cli_config - sluice config: print and check sluice.conf, as postconf does
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

/* lib/mail */
#include "mail/conf.h"
/* lib/util */
#include "util/xmalloc.h"
/* this program */
#include "cli/cli.h"

/* cli_config_names - print "name = value" for each named parameter */
static int
cli_config_names(struct cli *cli, int argc, char **argv)
{
	char *value;
	int i, ret;

	/* Check every name before printing any, so that output is all or nothing. */
	for (i = 0; i < argc; i++) {
		if (!config_param_known(argv[i])) {
			cli_err("config %s: unknown parameter; see sluice config -d",
			    argv[i]);
			return EX_USAGE;
		}
	}
	if ((ret = cli_config_need(cli)) != 0)
		return ret;
	for (i = 0; i < argc; i++) {
		if (config_get(cli->cfg, argv[i], &value) < 0) {
			cli_err("config %s: cannot get its value", argv[i]);
			return EX_SOFTWARE;
		}
		fprintf(cli->out, "%s = %s\n", argv[i], value);
		free(value);
	}
	return EX_OK;
}

char *
cli_config_default(const char *name)
{
	char *text = NULL, *line, *nl, *value = NULL;
	size_t len = 0, nlen = strlen(name);
	FILE *fp;

	if ((fp = open_memstream(&text, &len)) == NULL)
		return NULL;
	config_print(fp, NULL, CONFIG_PRINT_DEFAULTS);
	fclose(fp);
	for (line = text; line != NULL && *line != '\0'; line = nl != NULL ? nl + 1 : NULL) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if (value == NULL && strncmp(line, name, nlen) == 0 &&
		    strncmp(line + nlen, " =", 2) == 0)
			value = xstrdup(line + nlen + 2 + (line[nlen + 2] == ' '));
	}
	free(text);
	return value;
}

/*
 * cli_config_defaults - config -d [NAME...]: the defaults from the
 * parameter table (no file is read), all or those named
 */
static int
cli_config_defaults(struct cli *cli, int argc, char **argv)
{
	char *value;
	int i;

	for (i = 0; i < argc; i++)
		if (!config_param_known(argv[i])) {
			cli_err("config -d %s: unknown parameter; see sluice config -d", argv[i]);
			return EX_USAGE;
		}
	if (argc == 0) {
		config_print(cli->out, NULL, CONFIG_PRINT_DEFAULTS);
		return EX_OK;
	}
	/* In the order asked, as config NAME... prints. */
	for (i = 0; i < argc; i++) {
		if ((value = cli_config_default(argv[i])) == NULL) {
			cli_err("config -d %s: %s", argv[i], strerror(errno));
			return EX_OSERR;
		}
		fprintf(cli->out, "%s = %s\n", argv[i], value);
		free(value);
	}
	return EX_OK;
}

/*
 * cli_cmd_config - config [-n | NAME...] | config -d [NAME...] |
 * config -e NAME=VALUE... | config -X NAME... | config check
 */
int
cli_cmd_config(struct cli *cli, int argc, char **argv)
{
	int i, ret;

	if (argc >= 2 && strcmp(argv[1], "-e") == 0)
		return cli_config_edit(cli, argc - 2, argv + 2, false);
	if (argc >= 2 && strcmp(argv[1], "-X") == 0)
		return cli_config_edit(cli, argc - 2, argv + 2, true);
	for (i = 1; i < argc; i++)
		if (argv[i][0] == '-' && ((strcmp(argv[i], "-d") != 0 &&
		    strcmp(argv[i], "-n") != 0) || i != 1)) {
			cli_err("config: unknown option %s, or not first", argv[i]);
			return cli_usage(stderr, "config");
		}
	if (argc >= 2 && strcmp(argv[1], "-d") == 0)
		return cli_config_defaults(cli, argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "check") == 0) {
		if (argc != 2)
			return cli_usage(stderr, "config check");
		if ((ret = cli_config_load(cli, true)) != 0)
			return ret;
		if ((ret = cli_config_check_files(cli, true)) == 0 &&
		    cli->cfg->dns_check)
			cli_dns_check_all(cli);
		return ret;
	}
	if (argc >= 2 && strcmp(argv[1], "-n") == 0) {
		if (argc != 2)
			return cli_usage(stderr, "config");
		if ((ret = cli_config_need(cli)) != 0)
			return ret;
		config_print(cli->out, cli->cfg, CONFIG_PRINT_NONDEFAULT);
		return EX_OK;
	}
	if (argc > 1)
		return cli_config_names(cli, argc - 1, argv + 1);
	if ((ret = cli_config_need(cli)) != 0)
		return ret;
	config_print(cli->out, cli->cfg, CONFIG_PRINT_ALL);
	return EX_OK;
}
