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
 *	limit and that mail waits, registers with qmgr(8) as a delivery
 *	agent bound to those domains (which opens their gates for as long
 *	as the session lasts), answers 250 and turns the connection
 *	around: it waits for the customer's 220 and delivers every queued
 *	message of the domains with the SMTP client engine deliver(8)
 *	uses, including mail that arrives meanwhile, then QUIT.
 *
 *	master(8) starts it with its listening sockets on descriptors 3,
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
 *	master(8), qmgr(8), deliver(8), sluice.conf(5), sluice-domains(5),
 *	sluice-passwd(5), fetchmail(1)
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
/* etrn */
#include "etrn/etrn.h"

/* The most listening sockets master may hand us. */
#define ETRN_LISTEN_MAX		64

static _Noreturn void
etrn_usage(void)
{
	fprintf(stderr, "usage: etrn [-f] [-v] [-c config_dir]\n");
	exit(EX_USAGE);
}

/*
 * etrn_inherited - the listening sockets master passed on fds 3..; a
 * socket named "odmrs" speaks TLS from the first byte.
 */
static size_t
etrn_inherited(int *fds, bool *tls_wrap)
{
	const char *env = getenv("SLUICE_LISTEN_FDS");
	const char *names = getenv("SLUICE_LISTEN_NAMES");
	const char *p = names != NULL ? names : "";
	char *end;
	long n, i;

	if (env == NULL)
		return 0;
	n = strtol(env, &end, 10);
	if (*end != '\0' || n < 0 || n > ETRN_LISTEN_MAX)
		log_fatal("bad SLUICE_LISTEN_FDS: %s", env);
	for (i = 0; i < n; i++) {
		size_t len = strcspn(p, ",");

		fds[i] = 3 + (int)i;
		tls_wrap[i] = len == 5 && strncmp(p, "odmrs", 5) == 0;
		p += len;
		if (*p == ',')
			p++;
	}
	log_debug("listening sockets from master: %ld (%s)", n,
	    names != NULL ? names : "");
	return (size_t)n;
}

/* etrn_sighup - reload the configuration; a broken file keeps the old one */
static void
etrn_sighup(int signo, void *ctx)
{
	struct etrn *srv = ctx;
	struct config_errors errs = { 0 };
	struct config *cfg;
	size_t i;

	(void)signo;
	log_reopen();
	if (config_load(srv->confdir, &cfg, &errs) < 0) {
		for (i = 0; i < errs.n; i++)
			log_warn("reload configuration: %s", errs.msg[i]);
		log_warn("reload configuration: errors; keeping the old one");
		config_errors_free(&errs);
		return;
	}
	config_errors_free(&errs);
	etrn_server_reload(srv, cfg);
	log_info("reload configuration");
}

/* etrn_sigterm - stop: end the loop; main() closes everything */
static void
etrn_sigterm(int signo, void *ctx)
{
	struct etrn *srv = ctx;

	log_info("stop on signal %d", signo);
	ev_stop(srv->loop);
}

/* etrn_orphan_check - master is gone when we are re-parented */
static void
etrn_orphan_check(void *ctx)
{
	struct etrn *srv = ctx;
	static pid_t parent;

	if (parent == 0)
		parent = getppid();
	if (getppid() != parent) {
		log_info("stop: master exited");
		ev_stop(srv->loop);
		return;
	}
	(void)ev_timer_add(srv->loop, 5000, etrn_orphan_check, srv);
}

int
main(int argc, char **argv)
{
	const char *confdir = NULL;
	struct config_errors errs = { 0 };
	struct config *cfg;
	struct ev_loop *loop;
	struct etrn *srv;
	bool foreground = false;
	int fds[ETRN_LISTEN_MAX];
	bool tls_wrap[ETRN_LISTEN_MAX];
	size_t nfds, i;
	int ch;

	log_init("etrn");
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
			etrn_usage();
		}
	}
	if (optind != argc)
		etrn_usage();
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

	/* Writes to a vanished customer report EPIPE; OpenSSL writes too. */
	signal(SIGPIPE, SIG_IGN);
	nfds = etrn_inherited(fds, tls_wrap);
	if (nfds == 0)
		log_fatal_code(EX_USAGE, "no listening socket: start etrn from master");
	/* Started by master: die with it. */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);

	loop = ev_loop_new();
	srv = etrn_server_new(loop, confdir, cfg, fds, tls_wrap, nfds);
	if (ev_signal_add(loop, SIGHUP, etrn_sighup, srv) < 0 ||
	    ev_signal_add(loop, SIGTERM, etrn_sigterm, srv) < 0 ||
	    ev_signal_add(loop, SIGINT, etrn_sigterm, srv) < 0)
		log_fatal("watch signals: %s", strerror(errno));
	etrn_orphan_check(srv);
	log_info("daemon started -- %s, %zu listening socket%s",
	    srv->tls != NULL ? "TLS offered" : "no TLS", nfds,
	    nfds == 1 ? "" : "s");
	if (ev_run(loop) < 0)
		log_fatal("run event loop: %s", strerror(errno));
	etrn_server_free(&srv);
	ev_loop_free(&loop);
	return 0;
}
