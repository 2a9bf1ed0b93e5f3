/*
 * NAME
 *	smtpd - the sluice SMTP server
 * SYNOPSIS
 *	smtpd [-f] [-v] [-c config_dir] [-l host:port] [-s host:port]
 * DESCRIPTION
 *	smtpd accepts mail for the customer domains of the domains table
 *	and commits it to the queue. One process serves many sessions from
 *	one epoll loop; a session is a small struct, never a process.
 *
 *	On the submission port customers log in (AUTH PLAIN or LOGIN, only
 *	after STARTTLS, checked against the passwd file) and may then send
 *	mail to any domain, as may clients in smtpd_relay_networks; there
 *	MAIL without a login gets 530. ETRN (RFC 1985) asks qmgr to release
 *	a customer domain (ETRN dom), a domain and its subdomains (ETRN
 *	@dom) or a group (ETRN #name); qmgr decides who may, and how often.
 *
 *	master(8sluice) starts it with the listening sockets open on descriptors
 *	3, 4, ...: SLUICE_LISTEN_FDS says how many, SLUICE_LISTEN_NAMES
 *	names their services. For testing without master, -l binds
 *	host:port itself, and -s a submission port. -f logs to stderr; otherwise log_file, or syslog.
 *	-v adds debug lines (the SMTP dialogue).
 *
 *	Each message is written to incoming/, fsync'd, renamed into msg/,
 *	the directory fsync'd, qmgr(8sluice) told, and only then is 250 sent.
 *	RCPT is accepted only for domains in the domains table (and, with
 *	recipients=, only for listed users): smtpd never relays. A domain
 *	past its max_messages= or max_bytes= gets 452 4.2.2, by the figures
 *	qmgr writes to QUEUE_DIR/private/quota (smtpd_quota.c).
 *
 *	SIGHUP re-reads the configuration (keeping the old one if the new
 *	one has errors) without dropping sessions; SIGTERM closes the
 *	listeners and exits. smtpd exits when master does.
 * SECURITY
 *	smtpd talks to the network and trusts nothing from it: every line
 *	is length-limited, every path parsed with the one address grammar,
 *	and the message end is CRLF.CRLF only (no SMTP smuggling). It runs
 *	as mail_owner without capabilities, writes only incoming/ and msg/,
 *	and talks to qmgr over QUEUE_DIR/private/qmgr. Without a certificate
 *	of its own it makes a self-signed one in QUEUE_DIR/private/smtpd-cert.pem.
 * STANDARDS
 *	RFC 5321 (SMTP), RFC 1985 (ETRN), RFC 4954 (AUTH), RFC 4616
 *	(PLAIN), RFC 6409 (submission), RFC 1870 (SIZE), RFC 2034 (ENHANCEDSTATUSCODES),
 *	RFC 2920 (PIPELINING), RFC 3207 (STARTTLS), RFC 3461 (DSN),
 *	RFC 3463 (enhanced status codes), RFC 3848 (protocol names),
 *	RFC 6152 (8BITMIME).
 * SEE ALSO
 *	master(8sluice), qmgr(8sluice), sluice.conf(5), sluice-domains(5),
 *	sluice-passwd(5)
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
#include "mail/passwd.h"
#include "mail/queue.h"
/* smtpd */
#include "smtpd/smtpd.h"

/* The test-only listeners of -l and -s. */
struct smtpd_opts {
	const char *listen_spec;
	const char *submit_spec;
};

static int
smtpd_opt(int ch, const char *arg, void *ctx)
{
	struct smtpd_opts *o = ctx;

	if (ch == 'l')
		o->listen_spec = arg;
	else if (ch == 's')
		o->submit_spec = arg;
	else
		return -1;
	return 0;
}

/* smtpd_reload - take over a configuration loaded after SIGHUP */
static void
smtpd_reload(struct config *cfg, void *ctx)
{
	struct smtpd *srv = ctx;

	/* Sessions read srv->cfg anew each time and keep no pointer into it. */
	config_free(&srv->cfg);
	srv->cfg = cfg;
	smtpd_tls_setup(srv);
	(void)passwd_reload(&srv->pw, cfg->passwd_file, true);
	smtpd_peer_setup(srv);
}

int
main(int argc, char **argv)
{
	struct smtpd_opts o = { 0 };
	struct daemon d;
	struct smtpd *srv;
	size_t n;

	daemon_init(&d, "smtpd", argc, argv, "l:s:", smtpd_opt, &o,
	    "[-l host:port] [-s host:port]");
	if (o.listen_spec != NULL || o.submit_spec != NULL) {
		/* Alone, for testing: make sure the queue layout exists. */
		if (queue_init_dirs(d.cfg->queue_directory) < 0)
			log_fatal("create queue directories in %s: %s",
			    d.cfg->queue_directory, strerror(errno));
		if (o.listen_spec != NULL)
			daemon_add_listener(&d, daemon_bind(o.listen_spec), DAEMON_SVC_SMTP);
		if (o.submit_spec != NULL)
			daemon_add_listener(&d, daemon_bind(o.submit_spec),
			    DAEMON_SVC_SUBMISSION);
	}
	if (d.nlisten == 0)
		log_fatal_code(EX_USAGE, "no listening socket: start from master, or use -l");
	srv = smtpd_server_new(&d);
	n = daemon_server_listeners(srv->serve);
	log_info("daemon started -- %s, %zu listening socket%s",
	    srv->tls != NULL ? "STARTTLS offered" : "no STARTTLS", n,
	    n == 1 ? "" : "s");
	(void)daemon_run(&d, smtpd_reload, srv);
	smtpd_server_free(&srv);
	daemon_clear(&d);
	return 0;
}
