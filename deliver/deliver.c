/*
 * NAME
 *	deliver - the sluice delivery agent
 * SYNOPSIS
 *	deliver [-f] [-v] [-c config_dir] [-D dns_servers] [-P mx_port]
 * DESCRIPTION
 *	deliver sends queued mail on with SMTP. It connects to qmgr(8) at
 *	QUEUE_DIR/private/deliver, says how many jobs it runs at once, and
 *	then takes jobs: "deliver message ID to these recipients of domain
 *	D by this route". For each job it resolves the route (a static
 *	[host]:port, or the domain's MX hosts less preferred than ourselves,
 *	or its A/AAAA records when it has no MX), tries the hosts in order
 *	until one takes the connection, sends the message (PIPELINING,
 *	STARTTLS as the domain's tls= policy says), and reports one result
 *	per recipient: sent, deferred or bounced. A recipient the remote
 *	accepted is written to the message's journal before qmgr hears of
 *	it. Idle sessions are kept a few seconds and reused (RSET) by the
 *	next job to the same route.
 *
 *	One line is logged per recipient and attempt, in Postfix's shape.
 *	SIGHUP re-reads the configuration; SIGTERM exits; so does the death
 *	of the parent (master). -D and -P override dns_servers and the port
 *	of MX deliveries, for tests.
 * SECURITY
 *	deliver runs as mail_owner without capabilities, started by
 *	master(8); it listens on no socket. Everything it reads -- job
 *	records, queue files, DNS answers, SMTP replies -- is length-checked
 *	and parsed with the same grammar as network input.
 * STANDARDS
 *	RFC 5321 (SMTP), RFC 1870 (SIZE), RFC 2920 (PIPELINING), RFC 3207
 *	(STARTTLS), RFC 3461 (DSN), RFC 3463 (enhanced status codes),
 *	RFC 7505 (null MX).
 * SEE ALSO
 *	qmgr(8), master(8), sluice.conf(5), sluice-domains(5)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include "util/events.h"
#include "util/log.h"
#include "deliver/deliver.h"

static _Noreturn void
deliver_usage(void)
{
	fprintf(stderr, "usage: deliver [-f] [-v] [-c config_dir] "
	    "[-D dns_servers] [-P mx_port]\n");
	exit(EX_USAGE);
}

int
main(int argc, char **argv)
{
	struct deliver d = { .qmgr_fd = -1, .mx_port = 25 };
	int ch;

	log_init("deliver");
	while ((ch = getopt(argc, argv, "c:D:fP:v")) != -1) {
		switch (ch) {
		case 'c':
			d.config_dir = optarg;
			break;
		case 'D':
			d.dns_servers_arg = optarg;
			break;
		case 'f':
			d.foreground = true;
			break;
		case 'P':
			d.mx_port = (unsigned)strtoul(optarg, NULL, 10);
			if (d.mx_port == 0 || d.mx_port > 65535)
				deliver_usage();
			d.mx_port_arg = true;
			break;
		case 'v':
			log_set_verbose(true);
			break;
		default:
			deliver_usage();
		}
	}
	if (optind != argc)
		deliver_usage();
	deliver_init(&d);
	ch = ev_run(d.loop);
	deliver_shutdown(&d);
	return ch < 0 ? EX_OSERR : 0;
}
