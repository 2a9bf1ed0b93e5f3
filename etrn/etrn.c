/*
 * NAME
 *	etrn - the sluice on-demand mail relay (ODMR) server
 * SYNOPSIS
 *	etrn [-f] [-v] [-c config_dir]
 * DESCRIPTION
 *	etrn serves customers whose sites have no fixed address: the
 *	customer's client connects (port 366, the "odmr" listener; or the
 *	"odmrs" listener, TLS from the first byte), says EHLO,
 *	authenticates with AUTH (CRAM-MD5; PLAIN and LOGIN only inside
 *	TLS) and sends ATRN with the domains it wants, or none for every
 *	domain whose owner= is its login. etrn checks ownership, its rate
 *	limit and that mail waits, registers with qmgr(8sluice) as a delivery
 *	agent bound to those domains (which opens their gates for as long
 *	as the session lasts), answers 250 and turns the connection
 *	around: it waits for the customer's 220 and delivers every queued
 *	message of the domains with the SMTP client engine deliver(8sluice)
 *	uses, including mail that arrives meanwhile, then QUIT.
 *
 *	master(8sluice) starts it with its listening sockets on descriptors 3,
 *	4, ...: SLUICE_LISTEN_FDS says how many and SLUICE_LISTEN_NAMES
 *	which service each is ("odmr" or "odmrs"). -f logs to stderr;
 *	otherwise log_file, or syslog. -v adds the dialogue.
 *
 *	SIGHUP re-reads the configuration and the passwd file without
 *	dropping sessions; SIGTERM closes everything and exits (sessions
 *	in the middle of a delivery lose nothing: qmgr re-queues what had
 *	no result). etrn exits when master does.
 * SECURITY
 *	etrn talks to the network before authentication: every line is
 *	length-limited, a failed login is delayed (auth_failure_delay,
 *	doubling) and counted (auth_failure_limit ends the session), and
 *	no command but EHLO, STARTTLS, AUTH, RSET, NOOP and QUIT is heard
 *	before it. Plaintext passwords are never accepted outside TLS. It
 *	runs as mail_owner without capabilities, reads the queue files of
 *	the jobs qmgr gives it, appends to their journals, and talks to
 *	qmgr over QUEUE_DIR/private/qmgr and QUEUE_DIR/private/deliver.
 * STANDARDS
 *	RFC 2645 (ODMR, ATRN), RFC 4954 (AUTH), RFC 2195 (CRAM-MD5),
 *	RFC 4616 (PLAIN), RFC 3207 (STARTTLS), RFC 5321 (SMTP), RFC 2034
 *	(enhanced status codes).
 * SEE ALSO
 *	master(8sluice), qmgr(8sluice), deliver(8sluice), sluice.conf(5), sluice-domains(5),
 *	sluice-passwd(5), fetchmail(1)
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
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/daemon.h"
#include "mail/daemon_server.h"
/* etrn */
#include "etrn/etrn.h"

/* etrn_reload - take over a configuration loaded after SIGHUP */
static void
etrn_reload(struct config *cfg, void *ctx)
{
	etrn_server_reload(ctx, cfg);
}

int
main(int argc, char **argv)
{
	struct daemon d;
	struct etrn *srv;
	size_t n;

	daemon_init(&d, "etrn", argc, argv, "", NULL, NULL, "");
	if (d.nlisten == 0)
		log_fatal_code(EX_USAGE, "no listening socket: start etrn from master");
	srv = etrn_server_new(&d);
	n = daemon_server_listeners(srv->serve);
	log_info("daemon started -- %s, %zu listening socket%s",
	    srv->tls != NULL ? "TLS offered" : "no TLS", n, n == 1 ? "" : "s");
	(void)daemon_run(&d, etrn_reload, srv);
	etrn_server_free(&srv);
	daemon_clear(&d);
	return 0;
}
