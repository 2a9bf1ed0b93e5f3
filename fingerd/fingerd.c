/*
 * NAME
 *	fingerd - the sluice finger server: a finger query releases a domain
 * SYNOPSIS
 *	fingerd [-f] [-v] [-c config_dir] [-l host:port]
 * DESCRIPTION
 *	fingerd answers finger queries (RFC 1288) as a signal from a
 *	customer site that it is online: "finger DOMAIN@mx" releases the
 *	mail held for DOMAIN, if the domain has finger=yes, and answers
 *	how many messages wait, how old the oldest is, and whether
 *	delivery started. The release goes through qmgr(8sluice), the one
 *	trigger path of every door: qmgr authorises it, rate-limits it per
 *	domain and per client, opens the gate and logs the audit line.
 *	Mail only ever goes to the domain's configured route.
 *
 *	The answer also says how many deliveries are in flight, how many
 *	recipients were delivered since the gate opened, where delivery
 *	stands ("Delivery: in progress", "failing: cannot reach ADDR:PORT:
 *	why, HH:MM", "waiting for the gate", "finished at T") and, while
 *	one is scheduled, the next probe. "?DOMAIN" reports without
 *	releasing. "/W DOMAIN" adds the bytes waiting and when the first
 *	message bounces. An empty query gets a fixed text, never a list of
 *	domains; a query with "@" (forwarding) is refused; an unknown
 *	domain, or one that finger may not release, gets the same answer
 *	as a domain with no mail, so that finger cannot be used to learn
 *	which domains are customers.
 *
 *	One process serves many sessions from one epoll loop. Each client
 *	has finger_timeout for its query line of at most 512 octets; one
 *	address may hold 5 sessions at once and send 20 queries a minute.
 *
 *	master(8sluice) starts it with the finger_listen sockets on descriptors
 *	3, 4, ... (SLUICE_LISTEN_FDS counts them). For testing without
 *	master, -l binds host:port itself. -f logs to stderr; -v adds
 *	debug lines. SIGHUP re-reads the configuration; SIGTERM stops;
 *	fingerd exits when master does.
 * SECURITY
 *	fingerd talks to the unauthenticated network. It runs as
 *	mail_owner without capabilities, never connects anywhere but
 *	qmgr's socket QUEUE_DIR/private/qmgr, reads no file but the
 *	configuration, and echoes nothing of a query but a domain name
 *	that passed the domain grammar.
 * STANDARDS
 *	RFC 1288 (finger).
 * SEE ALSO
 *	master(8sluice), qmgr(8sluice), prober(8sluice), sluice.conf(5), sluice-domains(5)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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
/* fingerd */
#include "fingerd/fingerd.h"

/* fingerd_opt - -l host:port: listen alone, for tests */
static int
fingerd_opt(int ch, const char *arg, void *ctx)
{
	if (ch != 'l')
		return -1;
	*(const char **)ctx = arg;
	return 0;
}

int
main(int argc, char **argv)
{
	const char *listen_spec = NULL;
	struct daemon d;
	struct fingerd *srv;
	size_t n;

	daemon_init(&d, "fingerd", argc, argv, "l:", fingerd_opt, &listen_spec, "[-l host:port]");
	if (listen_spec != NULL)
		daemon_add_listener(&d, daemon_bind(listen_spec), DAEMON_SVC_FINGER);
	if (d.nlisten == 0)
		log_fatal_code(EX_USAGE, "no listening socket: start from master, or use -l");
	srv = fingerd_server_new(&d);
	n = daemon_server_listeners(srv->serve);
	log_info("daemon started -- %zu listening socket%s", n, n == 1 ? "" : "s");
	(void)daemon_run(&d, fingerd_reload, srv);
	fingerd_server_free(&srv);
	daemon_clear(&d);
	return 0;
}
