/*
 * NAME
 *	web - the sluice login page that holds a site's gate open
 * SYNOPSIS
 *	web [-f] [-v] [-c config_dir]
 * DESCRIPTION
 *	web serves the "Dynamic Mail Server Service" page for customer
 *	sites that have only a browser. GET / (or /DOMAIN) shows a login
 *	form; a customer name and password from the passwd file release
 *	every domain the customer owns (owner= in the domains table), or
 *	the one named in the address, through qmgr's one trigger request
 *	(source=web). The browser is then sent to /status, which shows per
 *	domain the messages waiting, those delivered since the gate opened,
 *	the oldest message and the time until the next bounce. It reloads
 *	itself every web_refresh seconds and each reload is a trigger again:
 *	it renews the lease. Closing the page lets the lease run out, and
 *	qmgr holds the mail again. Logging out closes the gate at once.
 *	/mail lists the customer's own held mail, 50 a page after or
 *	before a queue-ID cursor (qmgr's type=heldlist), and offers to
 *	release a domain or all of them, and to delete a message or return
 *	it to its sender (type=heldact: only the customer's recipients).
 *
 *	master(8sluice) starts it with the web listening socket on descriptor 3
 *	(SLUICE_LISTEN_FDS, SLUICE_LISTEN_NAMES). -f logs to stderr;
 *	otherwise log_file, or syslog. -v adds debug lines.
 *
 *	SIGHUP re-reads the configuration and the certificate and key
 *	(a broken one is not taken: the old one stays, with a warning);
 *	SIGTERM stops. web exits when master does.
 * SECURITY
 *	web talks HTTP to anyone who reaches web_listen, through
 *	libmicrohttpd, and HTTPS when web_tls_cert_file and web_tls_key_file
 *	are set: TLS is ours (OpenSSL, web_tls.c), libmicrohttpd sees
 *	plaintext over a socketpair and its GnuTLS is never used.
 *	Sessions are 256-bit random cookies (HttpOnly,
 *	SameSite=Strict, Secure under HTTPS) in a server-side table with
 *	idle expiry; the session id changes at login. Every form carries a
 *	per-session CSRF token, and a POST without it gets 403; the actions
 *	on held mail also refuse a foreign Origin or Referer. Logins are
 *	limited per client address (web_login_limit a minute, then 429) and
 *	a failed one is answered only after auth_failure_delay. Pages carry
 *	no script; a strict Content-Security-Policy allows only their own
 *	inline stylesheet, by hash. It runs as mail_owner without
 *	capabilities, reads the passwd file, and talks only to qmgr over
 *	QUEUE_DIR/private/qmgr; authorisation, rate limits and the audit
 *	line of each release are qmgr's.
 * STANDARDS
 *	RFC 9110 (HTTP semantics), RFC 6265 (cookies),
 *	RFC 8446 (TLS 1.3, OpenSSL).
 * SEE ALSO
 *	master(8sluice), qmgr(8sluice), sluice.conf(5), sluice-domains(5), sluice-passwd(5)
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

#include <openssl/crypto.h>

/* lib/util */
#include "util/events.h"
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/daemon.h"
#include "mail/passwd.h"
/* web */
#include "web/web.h"

/* web_reload - take over a configuration loaded after SIGHUP */
static void
web_reload(struct config *cfg, void *ctx)
{
	struct web *w = ctx;

	/* Handlers read w->cfg afresh each request and keep no pointer into it. */
	config_free(&w->cfg);
	w->cfg = cfg;
	(void)passwd_reload(&w->passwd, cfg->passwd_file, true);
	web_tls_reload(w);
}

int
main(int argc, char **argv)
{
	struct daemon d;
	struct web *w;

	daemon_init(&d, "web", argc, argv, "", NULL, NULL, "");
	if (d.nlisten == 0)
		log_fatal_code(EX_USAGE, "no listening socket: web is started by master");
	w = web_server_new(d.loop, d.config_dir, d.cfg, &d);
	/* Which TLS serves the page, in the words of the library that does. */
	log_info("daemon started -- %s%s%s, refresh %lds", w->tls ? "HTTPS (" :
	    "plain HTTP", w->tls ? OpenSSL_version(OPENSSL_VERSION) : "",
	    w->tls ? ")" : "", w->cfg->web_refresh);
	(void)daemon_run(&d, web_reload, w);
	web_server_free(&w);
	daemon_clear(&d);
	return 0;
}
