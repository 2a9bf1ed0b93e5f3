/*
 * NAME
 *	sluice - operator tool of the sluice mail relay
 *
 * SYNOPSIS
 *	sluice [-c CONFIG_DIR] [-v] start [-f] | stop | status | reload
 *	sluice [-c CONFIG_DIR] [-v] queue list [--domain DOMAIN] [FILTER...] [--json]
 *	sluice [-c CONFIG_DIR] [-v] queue count [--domain DOMAIN] [FILTER...]
 *	sluice [-c CONFIG_DIR] [-v] queue summary [--json]
 *	sluice [-c CONFIG_DIR] [-v] queue show ID [--envelope] [--header] [--body]
 *	sluice [-c CONFIG_DIR] [-v] queue delete ID... | - | --all |
 *	    [--domain DOMAIN] [FILTER...]
 *	sluice [-c CONFIG_DIR] [-v] queue reindex
 *	sluice [-c CONFIG_DIR] [-v] config [-n | NAME...]
 *	sluice [-c CONFIG_DIR] [-v] config -d [NAME...] | check
 *	sluice [-c CONFIG_DIR] [-v] config -e NAME=VALUE... | -X NAME...
 *	sluice [-c CONFIG_DIR] [-v] check DOMAIN [--json] [--no-connect]
 *	sluice --help | --version
 *
 * DESCRIPTION
 *	sluice starts, stops and inspects the relay, and lets an operator
 *	look into and clean up the queue, as postfix(1), postqueue(1),
 *	postsuper(1) and postconf(1) do for Postfix.
 *
 *	start checks the configuration and runs $daemon_directory/master,
 *	which daemonizes and keeps $queue_directory/pid/master.pid locked;
 *	start returns once that lock is held. With -f master runs in the
 *	foreground instead, logging to stderr. stop sends SIGTERM and waits
 *	until the lock is released; reload checks the configuration and
 *	sends SIGHUP; status reports master, each listener and qmgr.
 *
 *	The queue commands send a request record (lib/mail/proto.h) to qmgr
 *	over $queue_directory/public/qmgr; when no qmgr runs, the same
 *	request is served in this process on the index (lib/mail/qctl.h).
 *	queue show reads the queue file itself: the files are the truth.
 *	--json prints one JSON object per line, like postqueue -j: one per
 *	message, its domains and their gates (as fields) inside. FILTER is
 *	--sender, --recipient, --older-than or --younger-than (exiqgrep).
 *
 *	config prints every parameter's effective value (-n: those set in
 *	sluice.conf; -d: the defaults; with names: those parameters);
 *	config -e and -X edit sluice.conf safely (cli_confedit.c); config
 *	check loads everything, checks what start needs (cli_check.c) and
 *	prints each error as FILE:LINE. status works with a broken file.
 *	--help and --version are answered before anything is read.
 *
 *	check looks up a customer domain's MX set and says whether this host
 *	is listed, below the site's own MX, with its fleet peers, with a
 *	matching reverse DNS, and whether the site answers now (cli_dns.c,
 *	lib/mail/dnscheck.h).
 *
 *	Exit codes follow sysexits(3): EX_USAGE for bad usage, EX_CONFIG for
 *	a broken configuration, EX_NOINPUT for an unknown queue ID,
 *	EX_UNAVAILABLE when neither qmgr nor the index answers, EX_TEMPFAIL
 *	when master does not start or stop in time; 1 when master is not in
 *	the state a command needs (status: not running).
 *
 * SECURITY
 *	Not set-uid: runs with the rights of whoever calls it. qmgr decides
 *	who may use the control socket (root, mail_owner, operator_group;
 *	SO_PEERCRED) and this program exits EX_NOPERM when refused; root
 *	talks to qmgr as root, so that qmgr logs the operator's uid, and
 *	becomes the queue's owner only to serve a request itself. It opens
 *	the index only after taking the index lock that proves no qmgr has
 *	it open. Everything read back from
 *	qmgr or a queue file is checked against its grammar, and control
 *	characters are never written to the terminal.
 *
 * STANDARDS
 *	RFC 5321 (addresses shown; 5.1, MX hosts), RFC 7505 (null MX), RFC 3461 (DSN fields in queue show),
 *	RFC 8259 (JSON output).
 *
 * SEE ALSO
 *	sluice(8), sluice.conf(5), sluice-domains(5), master(8sluice), qmgr(8sluice),
 *	sysexits(3)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

/* lib/util */
#include "util/cmdline.h"
#include "util/log.h"
/* this program */
#include "cli/cli.h"

/* cli_help - every usage line, for --help */
static void
cli_help(FILE *fp, const void *ctx)
{
	(void)ctx;
	(void)cli_usage(fp, NULL);
}

int
main(int argc, char **argv)
{
	struct cli cli = { .out = stdout };
	int ch, ret;

	cmdline_std(argc, argv, "sluice", cli_help, NULL);
	log_init("sluice");
	log_set_dest(LOG_DEST_STDERR, NULL);
	/* "+": options end at the command; its own options are its business. */
	while ((ch = getopt(argc, argv, "+c:hv")) != -1) {
		switch (ch) {
		case 'c':
			cli.config_dir = optarg;
			break;
		case 'v':
			cli.verbose = true;
			log_set_verbose(true);
			break;
		case 'h':
			cli_usage(stdout, NULL);
			return EX_OK;
		default:
			return cli_usage(stderr, NULL);
		}
	}
	ret = cli_dispatch(&cli, argc - optind, argv + optind);
	cli_clear(&cli);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_err("write standard output: %s", strerror(errno));
		if (ret == EX_OK)
			ret = EX_IOERR;
	}
	return ret;
}
