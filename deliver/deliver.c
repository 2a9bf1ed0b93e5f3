/*
 * NAME
 *	deliver - the sluice delivery agent
 * SYNOPSIS
 *	deliver [-f] [-v] [-c config_dir] [-D dns_servers] [-P mx_port]
 * DESCRIPTION
 *	deliver sends queued mail on with SMTP. It connects to qmgr(8sluice) at
 *	QUEUE_DIR/private/deliver, says how many jobs it runs at once, and
 *	then takes jobs: "deliver message ID to these recipients of domain
 *	D by this route". For each job it resolves the route (a static
 *	[host]:port, or the domain's MX hosts less preferred than ourselves,
 *	or its A/AAAA records when it has no MX), tries the hosts in order
 *	until one takes the connection, sends the message (PIPELINING,
 *	STARTTLS as the domain's tls= policy says), and reports one result
 *	per recipient: sent, deferred or bounced. A recipient the remote
 *	accepted is written to the message's journal before qmgr hears of
 *	it, unless the transaction delivered the whole message: then
 *	nothing is journalled and qmgr removes it (type=done complete=1).
 *	Idle sessions are kept a few seconds and reused (RSET) by the next
 *	job to the same route; jobs waiting for a connection slot take
 *	them as they are freed.
 *
 *	One line is logged per recipient and attempt, in Postfix's shape.
 *	SIGHUP re-reads the configuration; SIGTERM exits; so does the death
 *	of the parent (master). -D and -P override dns_servers and the port
 *	of MX deliveries, for tests.
 * SECURITY
 *	deliver runs as mail_owner without capabilities, started by
 *	master(8sluice); it listens on no socket. Everything it reads -- job
 *	records, queue files, DNS answers, SMTP replies -- is length-checked
 *	and parsed with the same grammar as network input.
 * STANDARDS
 *	RFC 5321 (SMTP), RFC 1870 (SIZE), RFC 2920 (PIPELINING), RFC 3207
 *	(STARTTLS), RFC 3461 (DSN), RFC 3463 (enhanced status codes),
 *	RFC 7505 (null MX).
 * SEE ALSO
 *	qmgr(8sluice), master(8sluice), sluice.conf(5), sluice-domains(5)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include "util/events.h"
#include "util/log.h"
#include "mail/conf.h"
#include "mail/daemon.h"
#include "deliver/deliver.h"

/* deliver_opt - -D dns_servers and -P mx_port, for tests */
static int
deliver_opt(int ch, const char *arg, void *ctx)
{
	struct deliver *d = ctx;

	switch (ch) {
	case 'D':
		d->dns_servers_arg = arg;
		return 0;
	case 'P':
		d->mx_port = (unsigned)strtoul(arg, NULL, 10);
		if (d->mx_port == 0 || d->mx_port > 65535)
			return -1;
		d->mx_port_arg = true;
		return 0;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	struct deliver d = { .qmgr_fd = -1 };
	struct daemon dm;

	daemon_init(&dm, "deliver", argc, argv, "D:P:", deliver_opt, &d,
	    "[-D dns_servers] [-P mx_port]");
	d.config_dir = dm.config_dir != NULL ? dm.config_dir : config_default_dir();
	d.foreground = dm.foreground;
	d.loop = dm.loop;
	d.cfg = dm.cfg;
	deliver_init(&d);
	(void)daemon_run(&dm, deliver_reload, &d);
	deliver_shutdown(&d);
	daemon_clear(&dm);
	return 0;
}
