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
 *	master(8) starts it with the listening sockets open on descriptors
 *	3, 4, ...: SLUICE_LISTEN_FDS says how many, SLUICE_LISTEN_NAMES
 *	names their services. For testing without master, -l binds
 *	host:port itself, and -s a submission port. -f logs to stderr; otherwise log_file, or syslog.
 *	-v adds debug lines (the SMTP dialogue).
 *
 *	Each message is written to incoming/, fsync'd, renamed into msg/,
 *	the directory fsync'd, qmgr(8) told, and only then is 250 sent.
 *	RCPT is accepted only for domains in the domains table (and, with
 *	recipients=, only for listed users): smtpd never relays.
 *
 *	SIGHUP re-reads the configuration (keeping the old one if the new
 *	one has errors) without dropping sessions; SIGTERM closes the
 *	listeners and exits. smtpd exits when master does.
 * SECURITY
 *	smtpd talks to the network and trusts nothing from it: every line
 *	is length-limited, every path parsed with the one address grammar,
 *	and the message end is CRLF.CRLF only (no SMTP smuggling). It runs
 *	as mail_owner without capabilities, writes only incoming/ and msg/,
 *	and talks to qmgr over QUEUE_DIR/private/qmgr.
 * STANDARDS
 *	RFC 5321 (SMTP), RFC 1985 (ETRN), RFC 4954 (AUTH), RFC 4616
 *	(PLAIN), RFC 6409 (submission), RFC 1870 (SIZE), RFC 2034 (ENHANCEDSTATUSCODES),
 *	RFC 2920 (PIPELINING), RFC 3207 (STARTTLS), RFC 3461 (DSN),
 *	RFC 3463 (enhanced status codes), RFC 3848 (protocol names),
 *	RFC 6152 (8BITMIME).
 * SEE ALSO
 *	master(8), qmgr(8), sluice.conf(5), sluice-domains(5),
 *	sluice-passwd(5)
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
#include "mail/config.h"
#include "mail/queue.h"
/* smtpd */
#include "smtpd/smtpd.h"

/* The most listening sockets master may hand us. */
#define SMTPD_LISTEN_MAX	64

static _Noreturn void
smtpd_usage(void)
{
	fprintf(stderr, "usage: smtpd [-f] [-v] [-c config_dir] [-l host:port] "
	    "[-s host:port]\n");
	exit(EX_USAGE);
}

/* smtpd_bind - listen on "host:port" or "[v6]:port" (testing without master) */
static int
smtpd_bind(const char *spec)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res, *ai;
	char *host = xstrdup(spec), *port = strrchr(host, ':'), *h = host;
	int fd = -1, one = 1, e;

	if (port == NULL)
		log_fatal_code(EX_USAGE, "bad listen address %s: use host:port", spec);
	*port++ = '\0';
	if (*h == '[' && h[strlen(h) - 1] == ']') {
		h[strlen(h) - 1] = '\0';
		h++;
	}
	e = getaddrinfo(*h ? h : NULL, port, &hints, &res);
	if (e != 0)
		log_fatal_code(EX_USAGE, "resolve %s: %s", spec, gai_strerror(e));
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
		    listen(fd, SOMAXCONN) < 0) {
			e = errno;
			(void)close(fd);
			fd = -1;
			errno = e;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		log_fatal("listen on %s: %s", spec, strerror(errno));
	free(host);
	return fd;
}

/*
 * smtpd_inherited - the listening sockets master passed on fds 3..;
 * SLUICE_LISTEN_NAMES ("smtp,submission,...") says which is which.
 */
static size_t
smtpd_inherited(int *fds, bool *submission)
{
	const char *env = getenv("SLUICE_LISTEN_FDS");
	const char *names = getenv("SLUICE_LISTEN_NAMES");
	const char *p = names != NULL ? names : "";
	char *end;
	long n, i;

	if (env == NULL)
		return 0;
	n = strtol(env, &end, 10);
	if (*end != '\0' || n < 0 || n > SMTPD_LISTEN_MAX)
		log_fatal("bad SLUICE_LISTEN_FDS: %s", env);
	for (i = 0; i < n; i++) {
		size_t len = strcspn(p, ",");

		fds[i] = 3 + (int)i;
		submission[i] = len == strlen("submission") &&
		    strncmp(p, "submission", len) == 0;
		p += len;
		if (*p == ',')
			p++;
	}
	log_debug("listening sockets from master: %ld (%s)", n, names ? names : "");
	return (size_t)n;
}

/* smtpd_sighup - reload the config; a broken file keeps the old one */
static void
smtpd_sighup(int signo, void *ctx)
{
	struct smtpd *srv = ctx;
	struct config_errors errs = { 0 };
	struct config *cfg;
	size_t i;

	log_reopen();
	if (config_load(srv->confdir, &cfg, &errs) < 0) {
		for (i = 0; i < errs.n; i++)
			log_warn("reload configuration: %s", errs.msg[i]);
		log_warn("reload configuration: errors; keeping the old one");
		config_errors_free(&errs);
		return;
	}
	config_errors_free(&errs);
	/* Sessions read srv->cfg anew each time and keep no pointer into it. */
	config_free(&srv->cfg);
	srv->cfg = cfg;
	smtpd_tls_setup(srv);
	(void)passwd_reload(&srv->pw, cfg->passwd_file, true);
	log_info("reload configuration");
}

/* smtpd_sigterm - stop: close the listeners, end the loop */
static void
smtpd_sigterm(int signo, void *ctx)
{
	struct smtpd *srv = ctx;

	log_info("stop on signal %d", signo);
	srv->stopping = true;
	ev_stop(srv->loop);
}

/* smtpd_orphan_check - master is gone when we are re-parented */
static void
smtpd_orphan_check(void *ctx)
{
	struct smtpd *srv = ctx;
	static pid_t parent;

	if (parent == 0)
		parent = getppid();
	if (getppid() != parent) {
		log_info("stop: master exited");
		ev_stop(srv->loop);
		return;
	}
	(void)ev_timer_add(srv->loop, 5000, smtpd_orphan_check, srv);
}

int
main(int argc, char **argv)
{
	const char *confdir = NULL, *listen_spec = NULL, *submit_spec = NULL;
	struct config_errors errs = { 0 };
	struct config *cfg;
	struct ev_loop *loop;
	struct smtpd *srv;
	bool foreground = false;
	int *fds = xcalloc(SMTPD_LISTEN_MAX, sizeof(*fds));
	bool *submission = xcalloc(SMTPD_LISTEN_MAX, sizeof(*submission));
	size_t nfds, i;
	int ch;

	log_init("smtpd");
	while ((ch = getopt(argc, argv, "c:fl:s:v")) != -1) {
		switch (ch) {
		case 'c':
			confdir = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'l':
			listen_spec = optarg;
			break;
		case 's':
			submit_spec = optarg;
			break;
		case 'v':
			log_set_verbose(true);
			break;
		default:
			smtpd_usage();
		}
	}
	if (optind != argc)
		smtpd_usage();
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

	/* Writes to a vanished client report EPIPE; OpenSSL writes too. */
	signal(SIGPIPE, SIG_IGN);
	nfds = smtpd_inherited(fds, submission);
	if (nfds > 0) {
		/* Started by master: die with it. */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	}
	if (listen_spec != NULL || submit_spec != NULL) {
		/* Alone, for testing: make sure the queue layout exists. */
		if (queue_init_dirs(cfg->queue_directory) < 0)
			log_fatal("create queue directories in %s: %s",
			    cfg->queue_directory, strerror(errno));
		if (listen_spec != NULL)
			fds[nfds++] = smtpd_bind(listen_spec);
		if (submit_spec != NULL) {
			submission[nfds] = true;
			fds[nfds++] = smtpd_bind(submit_spec);
		}
	}
	if (nfds == 0)
		log_fatal_code(EX_USAGE, "no listening socket: start from master, or use -l");

	loop = ev_loop_new();
	srv = smtpd_server_new(loop, confdir, cfg, fds, submission, nfds);
	if (ev_signal_add(loop, SIGHUP, smtpd_sighup, srv) < 0 ||
	    ev_signal_add(loop, SIGTERM, smtpd_sigterm, srv) < 0 ||
	    ev_signal_add(loop, SIGINT, smtpd_sigterm, srv) < 0)
		log_fatal("watch signals: %s", strerror(errno));
	if (nfds > (listen_spec != NULL ? 1u : 0u) + (submit_spec != NULL ? 1u : 0u))
		smtpd_orphan_check(srv);
	log_info("daemon started -- %s, %zu listening socket%s",
	    srv->tls != NULL ? "STARTTLS offered" : "no STARTTLS", nfds,
	    nfds == 1 ? "" : "s");
	if (ev_run(loop) < 0)
		log_fatal("run event loop: %s", strerror(errno));
	smtpd_server_free(&srv);
	ev_loop_free(&loop);
	return 0;
}
