/*
 * cli_cmd - the command table of sluice, usage lines and shared helpers
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

/* lib/mail */
#include "mail/conf.h"
#include "mail/proto.h"
/* lib/util */
#include "util/xmalloc.h"
/* this program */
#include "cli/cli.h"

struct cli_cmd {
	const char *name;
	cli_run_fn *run;
};

int cli_cmd_passwd(struct cli *cli, int argc, char **argv); /* cli_passwd.c */

/* Every command, as the first word after the global options. */
static const struct cli_cmd cli_cmds[] = {
	{ "start", cli_cmd_start },
	{ "stop", cli_cmd_stop },
	{ "status", cli_cmd_status },
	{ "reload", cli_cmd_reload },
	{ "queue", cli_cmd_queue },
	{ "flush", cli_cmd_flush },
	{ "config", cli_cmd_config },
	{ "passwd", cli_cmd_passwd },
	{ "check", cli_cmd_check },
};

/* Every usage line; cli_usage() selects them by their leading words. */
static const char *const cli_usage_lines[] = {
	"start [-f]",
	"stop",
	"status",
	"reload",
	"queue list [--domain DOMAIN] [FILTER...] [--json]",
	"queue count [--domain DOMAIN] [FILTER...]",
	"queue summary [--json] [--fleet]",
	"queue show ID [--envelope] [--header] [--body]",
	"queue delete ID... | - | --all | --domain DOMAIN [FILTER...] | FILTER...",
	"queue reindex",
	"queue hold ID... | - | --domain DOMAIN | --all",
	"queue release ID... | - | --domain DOMAIN | --all",
	"queue bounce ID... | - | --domain DOMAIN | --all",
	"queue requeue ID... | - | --domain DOMAIN | --all",
	"flush DOMAIN | --all",
	"config [-n | NAME...]",
	"config -d [NAME...]",
	"config -e NAME=VALUE...",
	"config -X NAME...",
	"config check",
	"passwd LOGIN [-f FILE]",
	"check DOMAIN [--json] [--no-connect]",
};

/* cli_usage - print the usage lines that start with what (NULL: all) */
int
cli_usage(FILE *fp, const char *what)
{
	const char *lead = "usage:";
	bool filter = false;
	size_t i, len = what != NULL ? strlen(what) : 0;

	fflush(stdout);
	if (what == NULL) {
		fprintf(fp, "%s sluice [-c CONFIG_DIR] [-v] COMMAND ...\n", lead);
		lead = "      ";
	}
	for (i = 0; i < sizeof(cli_usage_lines) / sizeof(cli_usage_lines[0]); i++) {
		const char *line = cli_usage_lines[i];

		if (what != NULL && (strncmp(line, what, len) != 0 ||
		    (line[len] != ' ' && line[len] != '\0')))
			continue;
		fprintf(fp, "%s sluice [-c CONFIG_DIR] [-v] %s\n", lead, line);
		lead = "      ";
		filter = filter || strstr(line, "FILTER") != NULL;
	}
	if (filter)
		fputs("       FILTER: --sender ADDR|@DOMAIN|<>  --recipient ADDR|@DOMAIN\n"
		    "               --older-than AGE  --younger-than AGE  (AGE: 30m, 2h, 3d)\n",
		    fp);
	return EX_USAGE;
}

/* cli_dispatch - run the command named by argv[0] */
int
cli_dispatch(struct cli *cli, int argc, char **argv)
{
	size_t i;

	if (argc < 1)
		return cli_usage(stderr, NULL);
	for (i = 0; i < sizeof(cli_cmds) / sizeof(cli_cmds[0]); i++)
		if (strcmp(argv[0], cli_cmds[i].name) == 0)
			return cli_cmds[i].run(cli, argc, argv);
	cli_err("unknown command: %s", argv[0]);
	return cli_usage(stderr, NULL);
}

/* cli_err - print "sluice: " and the message to stderr */
void
cli_err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("sluice: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * cli_config_load - (re)load the configuration into cli->cfg, printing
 * every error as "sluice: FILE:LINE: ..." and, when asked (config check,
 * -v), the warnings: a duplicate setting should not clutter every queue
 * listing. 0, or EX_CONFIG.
 */
int
cli_config_load(struct cli *cli, bool warnings)
{
	struct config_errors errs = { 0 };
	struct config *cfg = NULL;
	size_t i;
	int ret;

	ret = config_load(cli->config_dir, &cfg, &errs);
	for (i = 0; i < errs.n; i++)
		cli_err("%s", errs.msg[i]);
	if (warnings)
		for (i = 0; i < errs.nwarn; i++)
			cli_err("warning: %s", errs.warn[i]);
	config_errors_clear(&errs);
	if (ret < 0)
		return EX_CONFIG;
	config_free(&cli->cfg);
	cli->cfg = cfg;
	return 0;
}

/* cli_config_need - load the configuration once; 0 or the EX_* code */
int
cli_config_need(struct cli *cli)
{
	if (cli->cfg != NULL)
		return 0;
	if (cli_config_load(cli, cli->verbose) != 0) {
		cli_err("configuration in %s is not usable; see sluice config check",
		    cli->config_dir != NULL ? cli->config_dir : config_default_dir());
		return EX_CONFIG;
	}
	return 0;
}

/*
 * cli_become_queue_owner - when run as root, take the user and group that
 * own queue_directory before touching the queue. Served in-process, a
 * request may create index files (Berkeley DB logs, databases); owned by
 * root, qmgr could not open them at its next start. 0 or an EX_* code.
 */
int
cli_become_queue_owner(struct cli *cli, const char *what)
{
	struct stat st;

	if (geteuid() != 0)
		return 0;
	/* No queue yet, or a root-owned one: nothing to keep in step. */
	if (stat(cli->cfg->queue_directory, &st) < 0 || st.st_uid == 0)
		return 0;
	if (setgroups(0, NULL) < 0 || setgid(st.st_gid) < 0 || setuid(st.st_uid) < 0) {
		cli_err("%s: become the owner of %s (uid %ld): %s", what,
		    cli->cfg->queue_directory, (long)st.st_uid, strerror(errno));
		return EX_OSERR;
	}
	return 0;
}

/*
 * cli_may_serve_locally - no qmgr answers: may this process open the
 * index itself? As root it becomes the queue's owner first. 0 or an EX_*
 * code with a message in *why_r.
 */
static int
cli_may_serve_locally(struct cli *cli, const char *what, long uid, char **why_r)
{
	char *index = xasprintf("%s/index", cli->cfg->queue_directory);

	/* Without qmgr, the index's own permissions say who may: say so plainly. */
	if (geteuid() != 0 && access(index, R_OK | W_OK | X_OK) < 0 && errno == EACCES) {
		*why_r = xasprintf("permission denied: qmgr is not running and uid %ld may not "
		    "open the queue index %s; run as root or mail_owner %s", uid, index,
		    cli->cfg->mail_owner);
		free(index);
		return EX_NOPERM;
	}
	free(index);
	return cli_become_queue_owner(cli, what);
}

int
cli_request(struct cli *cli, const char *what, const struct ipc_rec *req,
    qctl_emit_fn *emit, void *ctx, char **why_r)
{
	long uid = (long)getuid();
	int ret, tries;

	for (tries = 0; tries < 3; tries++) {
		if ((ret = qctl_request_qmgr(cli->cfg, req, emit, ctx, why_r)) <= 0)
			return ret == 0 ? 0 : EX_UNAVAILABLE;
		if (tries == 0 && (ret = cli_may_serve_locally(cli, what, uid, why_r)) != 0)
			return ret;
		/*
		 * 1: a qmgr took the index lock between our question and our
		 * lock (it was starting): ask it again, which waits for it.
		 */
		if ((ret = qctl_request_local(cli->cfg, req, uid, emit, ctx, why_r)) != 1)
			return ret < 0 ? EX_UNAVAILABLE : 0;
	}
	*why_r = xasprintf("the queue index in %s/index is locked by a process that does "
	    "not answer on %s/%s: is qmgr stuck? see the mail log", cli->cfg->queue_directory,
	    cli->cfg->queue_directory, PROTO_QMGR_PUBLIC);
	return EX_UNAVAILABLE;
}

/* cli_clear - release what the commands loaded */
void
cli_clear(struct cli *cli)
{
	config_free(&cli->cfg);
}
