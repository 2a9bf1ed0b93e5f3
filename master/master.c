/*
 * NAME
 *	master - the sluice process supervisor
 * SYNOPSIS
 *	master [-d] [-f] [-v] [-c config_dir]
 * DESCRIPTION
 *	master reads sluice.conf, takes the lock that says it owns the queue
 *	directory, binds every listening socket, and starts the other sluice
 *	programs from the service table in master_service.c, each handed the
 *	listening sockets it serves (fds 3.., SLUICE_LISTEN_FDS and
 *	SLUICE_LISTEN_NAMES):
 *
 *	qmgr	one, first: it recovers and reconciles the queue index.
 *	smtpd	smtpd_process_limit processes, on smtp_listen and
 *		submission_listen (none when both are empty).
 *	deliver	deliver_process_limit processes.
 *	etrn	one, on odmr_listen and odmrs_listen, when either is set.
 *	fingerd	one, on finger_listen, when set.
 *	prober	one.
 *	web	one, on web_listen, when set.
 *	peer	one, when peers is set (the fleet).
 *	pop3	one, on pop3_listen and pop3s_listen, when either is set.
 *
 *	A child that dies is logged with the
 *	reason and restarted after master_restart_delay, doubling up to
 *	master_restart_max while it keeps dying young.
 *
 *	SIGHUP re-reads the configuration (an invalid one is refused with a
 *	warning and the old one kept) and passes the signal on: children
 *	reload without dropping sessions or queued mail. SIGUSR1 reopens
 *	log_file (after logrotate moved it) in master and every child.
 *	SIGTERM or SIGINT stop every child and then master itself.
 *
 *	Under systemd (Type=notify, $NOTIFY_SOCKET) master says READY=1
 *	once every listener is bound and qmgr answers, RELOADING=1 and
 *	READY=1 around a reload, STOPPING=1, and a STATUS= line with the
 *	queue's counts every master_status_interval (master_notify.c).
 *
 *	-d	stay in the foreground but log as configured (log_file or
 *		syslog): for systemd and other supervisors.
 *	-f	stay in the foreground and log to stderr.
 *	-v	verbose logging.
 *	-c	the configuration directory (default $SLUICE_CONFIG_DIR or
 *		the compiled-in one).
 * SECURITY
 *	master is the only sluice process that may run as root: only to
 *	bind ports below 1024 and to start children. Every child runs as
 *	mail_owner with all capabilities cleared and no_new_privs set.
 *	Started as an ordinary user, no privilege changes are made.
 * STANDARDS
 *	None.
 * SEE ALSO
 *	sluice(8), smtpd(8sluice), qmgr(8sluice), sluice.conf(5)
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

#include "util/cmdline.h"
#include "util/events.h"
#include "util/log.h"
#include "mail/conf.h"
#include "master/master.h"

static _Noreturn void
master_usage(void)
{
	fprintf(stderr, "usage: master [-d] [-f] [-v] [-c config_dir]\n");
	exit(EX_USAGE);
}

int
main(int argc, char **argv)
{
	struct master master = { 0 };
	int ch;

	cmdline_std(argc, argv, "master", cmdline_usage_line, "master [-f] [-v] [-c config_dir]");
	log_init("master");
	while ((ch = getopt(argc, argv, "c:dfv")) != -1) {
		switch (ch) {
		case 'c':
			master.config_dir = optarg;
			break;
		case 'd':
			master.no_detach = true;
			break;
		case 'f':
			master.foreground = true;
			break;
		case 'v':
			master.verbose = true;
			log_set_verbose(true);
			break;
		default:
			master_usage();
		}
	}
	if (optind != argc || (master.no_detach && master.foreground))
		master_usage();
	if (master.config_dir == NULL)
		master.config_dir = config_default_dir();

	master_config_load(&master);
	master_start(&master);
	return master_run(&master);
}
