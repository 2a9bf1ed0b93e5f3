/*
 * NAME
 *	prober - sluice's connectivity prober: release held mail when the site is up
 * SYNOPSIS
 *	prober [-f] [-v] [-c config_dir]
 * DESCRIPTION
 *	prober finds out by itself when a part-time customer site has come
 *	online. Every few seconds it asks qmgr(8sluice) which held domains have
 *	mail waiting, a closed gate and probe= set in the domains table.
 *	For each it connects to the domain's route (route=[host]:port, or
 *	for route=mx every address of every MX host above this one, on
 *	smtp_mx_port, until one answers), reads the 220 banner within
 *	probe_timeout and says QUIT. A success sends qmgr a
 *	trigger with source=probe, which opens the gate as any trigger
 *	does; a failure waits: probe= at first, then twice as long after
 *	each failure in a row, up to probe_max. New mail brings the next
 *	probe forward to within seconds (with jitter). qmgr is told each
 *	next probe time, which finger and the web page show. Domains
 *	without mail, or whose gate is open, are not probed.
 *
 *	The log has one line per change of a domain's state,
 *	"probe: domain=D, state=reachable|unreachable, next=Ns, ...",
 *	never one per probe.
 *
 *	master(8sluice) always runs one prober. -f logs to stderr; -v adds a
 *	debug line per probe. SIGHUP re-reads the configuration; SIGTERM
 *	stops; prober exits when master does.
 * SECURITY
 *	prober runs as mail_owner without capabilities. It opens TCP
 *	connections only to the routes of the domains table, sends nothing
 *	but QUIT, and reads at most a few banner lines of bounded length.
 *	It talks to qmgr over QUEUE_DIR/private/qmgr.
 * STANDARDS
 *	RFC 5321 (SMTP: the 220 greeting, QUIT), RFC 7505 (null MX).
 * SEE ALSO
 *	master(8sluice), qmgr(8sluice), deliver(8sluice), fingerd(8sluice), sluice.conf(5),
 *	sluice-domains(5)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sysexits.h>
#include <unistd.h>

/* lib/util */
#include "util/events.h"
#include "util/log.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/daemon.h"
/* prober */
#include "prober/prober.h"

/* main - options, configuration, then the loop */
int
main(int argc, char **argv)
{
	struct daemon d;
	struct prober *pr;

	daemon_init(&d, "prober", argc, argv, "", NULL, NULL, "");
	pr = prober_new(d.loop, d.config_dir, d.cfg);
	log_info("daemon started");
	(void)daemon_run(&d, prober_reload, pr);
	prober_free(&pr);
	daemon_clear(&d);
	return 0;
}
