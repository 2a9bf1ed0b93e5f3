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
 *
 *	master(8) starts it with the web listening socket on descriptor 3
 *	(SLUICE_LISTEN_FDS, SLUICE_LISTEN_NAMES). -f logs to stderr;
 *	otherwise log_file, or syslog. -v adds debug lines.
 *
 *	SIGHUP re-reads the configuration (a changed certificate needs a
 *	restart); SIGTERM stops. web exits when master does.
 * SECURITY
 *	web talks HTTP to anyone who reaches web_listen, through
 *	libmicrohttpd, and HTTPS when web_tls_cert_file and web_tls_key_file
 *	are set. Sessions are 256-bit random cookies (HttpOnly,
 *	SameSite=Strict, Secure under HTTPS) in a server-side table with
 *	idle expiry; the session id changes at login. Every form carries a
 *	per-session CSRF token, and a POST without it gets 403. Logins are
 *	limited per client address (web_login_limit a minute, then 429) and
 *	a failed one is answered only after auth_failure_delay. Pages carry
 *	no script; a strict Content-Security-Policy allows only their own
 *	inline stylesheet, by hash. It runs as mail_owner without
 *	capabilities, reads the passwd file, and talks only to qmgr over
 *	QUEUE_DIR/private/qmgr; authorisation, rate limits and the audit
 *	line of each release are qmgr's.
 * STANDARDS
 *	RFC 9110 (HTTP semantics), RFC 6265 (cookies),
 *	RFC 8446 (TLS 1.3, through GnuTLS in libmicrohttpd).
 * SEE ALSO
 *	master(8), qmgr(8), sluice.conf(5), sluice-domains(5), sluice-passwd(5)
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
#include "mail/config.h"
#include "mail/passwd.h"
/* web */
#include "web/web.h"

static _Noreturn void
web_usage(void)
{
	fprintf(stderr, "usage: web [-f] [-v] [-c config_dir]\n");
	exit(EX_USAGE);
}

/* web_listener - the one listening socket master passed on fd 3 */
static int
web_listener(void)
{
	const char *env = getenv("SLUICE_LISTEN_FDS");

	if (env == NULL || strcmp(env, "0") == 0)
		log_fatal_code(EX_USAGE, "no listening socket: web is started by master");
	/* master passes one socket for web_listen's first address. */
	if (strcmp(env, "1") != 0)
		log_warn("use listening socket 3 only of SLUICE_LISTEN_FDS=%s", env);
	return 3;
}

/* web_sighup - reload the config; a broken file keeps the old one */
static void
web_sighup(int signo, void *ctx)
{
	struct web *w = ctx;
	struct config_errors errs = { 0 };
	struct config *cfg;
	size_t i;

	(void)signo;
	log_reopen();
	if (config_load(w->confdir, &cfg, &errs) < 0) {
		for (i = 0; i < errs.n; i++)
			log_warn("reload configuration: %s", errs.msg[i]);
		log_warn("reload configuration: errors; keeping the old one");
		config_errors_free(&errs);
		return;
	}
	config_errors_free(&errs);
	/* Handlers read w->cfg afresh each request and keep no pointer into it. */
	config_free(&w->cfg);
	w->cfg = cfg;
	(void)passwd_reload(&w->passwd, cfg->passwd_file, true);
	log_info("reload configuration");
}

/* web_sigterm - stop the loop */
static void
web_sigterm(int signo, void *ctx)
{
	struct web *w = ctx;

	log_info("stop on signal %d", signo);
	w->stopping = true;
	ev_stop(w->loop);
}

/* web_orphan_check - master is gone when we are re-parented */
static void
web_orphan_check(void *ctx)
{
	struct web *w = ctx;
	static pid_t parent;

	if (parent == 0)
		parent = getppid();
	if (getppid() != parent) {
		log_info("stop: master exited");
		ev_stop(w->loop);
		return;
	}
	(void)ev_timer_add(w->loop, 5000, web_orphan_check, w);
}

int
main(int argc, char **argv)
{
	const char *confdir = NULL;
	struct config_errors errs = { 0 };
	struct config *cfg;
	struct ev_loop *loop;
	struct web *w;
	bool foreground = false;
	size_t i;
	int ch, fd;

	log_init("web");
	while ((ch = getopt(argc, argv, "c:fv")) != -1) {
		switch (ch) {
		case 'c':
			confdir = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'v':
			log_set_verbose(true);
			break;
		default:
			web_usage();
		}
	}
	if (optind != argc)
		web_usage();
	if (foreground)
		(void)log_set_dest(LOG_DEST_STDERR, NULL);
	if (config_load(confdir, &cfg, &errs) < 0) {
		for (i = 0; i < errs.n; i++)
			log_warn("%s", errs.msg[i]);
		log_fatal_code(EX_CONFIG, "load configuration: %zu errors", errs.n);
	}
	config_errors_free(&errs);
	if (!foreground && cfg->log_file[0] != '\0' &&
	    log_set_dest(LOG_DEST_FILE, cfg->log_file) < 0)
		log_warn("open log file %s: %s", cfg->log_file, strerror(errno));

	/* A browser that goes away mid-reply must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	fd = web_listener();
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);

	loop = ev_loop_new();
	w = web_server_new(loop, confdir, cfg, fd);
	if (ev_signal_add(loop, SIGHUP, web_sighup, w) < 0 ||
	    ev_signal_add(loop, SIGTERM, web_sigterm, w) < 0 ||
	    ev_signal_add(loop, SIGINT, web_sigterm, w) < 0)
		log_fatal("watch signals: %s", strerror(errno));
	web_orphan_check(w);
	log_info("daemon started -- %s, refresh %lds", w->tls ? "HTTPS" : "plain HTTP",
	    w->cfg->web_refresh);
	if (ev_run(loop) < 0)
		log_fatal("run event loop: %s", strerror(errno));
	web_server_free(&w);
	ev_loop_free(&loop);
	return 0;
}
