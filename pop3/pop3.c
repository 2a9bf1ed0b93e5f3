/*
 * NAME
 *	pop3 - the sluice POP3 maildrop server
 * SYNOPSIS
 *	pop3 [-f] [-v] [-c config_dir]
 * DESCRIPTION
 *	pop3 lets a customer collect the held mail of its domains by POP3
 *	(the "pop3" listener, STLS offered; or "pop3s", TLS from the first
 *	byte). After USER/PASS or AUTH with its ODMR login, the customer
 *	sees every held message of each domain it owns (owner=) that has
 *	pop3=yes, as one multidrop maildrop: one POP3 message per queued
 *	message and recipient, with Return-Path:, Delivered-To: and
 *	X-Original-To: headers naming the envelope sender and that
 *	recipient, so that fetchmail's multidrop mode sorts it exactly.
 *	While the session lasts qmgr(8sluice) delivers none of those
 *	domains by any other door; DELE then QUIT is their delivery,
 *	journalled and logged by qmgr with relay=pop3, status=sent.
 *
 *	master(8sluice) starts it with its listening sockets on descriptors
 *	3, 4, ...: SLUICE_LISTEN_FDS says how many and SLUICE_LISTEN_NAMES
 *	which service each is ("pop3" or "pop3s"). -f logs to stderr;
 *	otherwise log_file, or syslog. -v adds the dialogue.
 *
 *	SIGHUP re-reads the configuration and the passwd file without
 *	dropping sessions; SIGTERM closes everything and exits (sessions
 *	that did not reach QUIT delete nothing).
 * SECURITY
 *	pop3 talks to the network before authentication: every line is
 *	length-limited, a failed login is delayed and counted, logins are
 *	locked out after repeated failures (auth_lockout_failures), and
 *	passwords are taken in the clear only inside TLS, or from loopback
 *	when pop3_plaintext_loopback allows it. It runs as mail_owner
 *	without capabilities, reads queue files and journals (never writes
 *	them: qmgr journals what was collected), and talks to qmgr over
 *	QUEUE_DIR/private/deliver and QUEUE_DIR/public/qmgr.
 * STANDARDS
 *	RFC 1939 (POP3), RFC 2449 (CAPA, response codes), RFC 3206
 *	(SYS and AUTH response codes), RFC 2595 (STLS), RFC 5034 (AUTH),
 *	RFC 4616 (PLAIN), RFC 2195 (CRAM-MD5).
 * SEE ALSO
 *	master(8sluice), qmgr(8sluice), etrn(8sluice), sluice.conf(5),
 *	sluice-domains(5), sluice-passwd(5), fetchmail(1)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdlib.h>
#include <sysexits.h>

/* lib/util */
#include "util/events.h"
#include "util/log.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/daemon.h"
#include "mail/daemon_server.h"
/* pop3 */
#include "pop3/pop3.h"

/* pop3_reload - take over a configuration loaded after SIGHUP */
static void
pop3_reload(struct config *cfg, void *ctx)
{
	pop3_server_reload(ctx, cfg);
}

int
main(int argc, char **argv)
{
	struct daemon d;
	struct pop3 *srv;
	size_t n;

	daemon_init(&d, "pop3", argc, argv, "", NULL, NULL, "");
	if (d.nlisten == 0)
		log_fatal_code(
		    EX_USAGE, "no listening socket: start pop3 from master");
	srv = pop3_server_new(&d);
	n = daemon_server_listeners(srv->serve);
	log_info("daemon started -- %s, %zu listening socket%s",
	    srv->tls != NULL ? "TLS offered" : "no TLS", n, n == 1 ? "" : "s");
	(void)daemon_run(&d, pop3_reload, srv);
	pop3_server_free(&srv);
	daemon_clear(&d);
	return 0;
}
