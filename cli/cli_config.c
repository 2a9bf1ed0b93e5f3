/* cli_config - sluice config: print and check sluice.conf, as postconf does */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

/* lib/mail */
#include "mail/config.h"
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

/* cli_cmd_config - config [NAME...] | config -d | config check */
int
cli_cmd_config(struct cli *cli, int argc, char **argv)
{
	int i, ret;

	for (i = 1; i < argc; i++)
		if (argv[i][0] == '-' && strcmp(argv[i], "-d") != 0) {
			cli_err("config: unknown option %s", argv[i]);
			return cli_usage(stderr, "config");
		}
	if (argc >= 2 && strcmp(argv[1], "-d") == 0) {
		if (argc != 2)
			return cli_usage(stderr, "config -d");
		/* The defaults come from the parameter table: no file is read. */
		config_print(cli->out, NULL, CONFIG_PRINT_DEFAULTS);
		return EX_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "check") == 0) {
		if (argc != 2)
			return cli_usage(stderr, "config check");
		return cli_config_load(cli, true);
	}
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "-d") == 0)
			return cli_usage(stderr, "config");
	if (argc > 1)
		return cli_config_names(cli, argc - 1, argv + 1);
	if ((ret = cli_config_need(cli)) != 0)
		return ret;
	config_print(cli->out, cli->cfg, CONFIG_PRINT_NONDEFAULT);
	return EX_OK;
}
