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
 *	delivery started. The release goes through qmgr(8), the one
 *	trigger path of every door: qmgr authorises it, rate-limits it per
 *	domain and per client, opens the gate and logs the audit line.
 *	Mail only ever goes to the domain's configured route.
 *
 *	"/W DOMAIN" adds the bytes waiting and when the first message
 *	bounces. An empty query gets a fixed text, never a list of
 *	domains; a query with "@" (forwarding) is refused; an unknown
 *	domain, or one that finger may not release, gets the same answer
 *	as a domain with no mail, so that finger cannot be used to learn
 *	which domains are customers.
 *
 *	One process serves many sessions from one epoll loop. Each client
 *	has finger_timeout for its query line of at most 512 octets; one
 *	address may hold 5 sessions at once and send 20 queries a minute.
 *
 *	master(8) starts it with the finger_listen sockets on descriptors
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
 *	master(8), qmgr(8), prober(8), sluice.conf(5), sluice-domains(5)
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
/* fingerd */
#include "fingerd/fingerd.h"

/* The most listening sockets fingerd takes. */
#define FINGERD_LISTEN_MAX	16
/* How often we look whether master still runs. */
#define FINGERD_PARENT_MS	5000

static pid_t fingerd_parent;

/* fingerd_usage - print the synopsis and exit */
static _Noreturn void
fingerd_usage(void)
{
	fprintf(stderr, "usage: fingerd [-f] [-v] [-c config_dir] [-l host:port]\n");
	exit(EX_USAGE);
}

/* fingerd_listen - a listening TCP socket on "host:port" / "[v6]:port" */
static int
fingerd_listen(const char *spec)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *res = NULL;
	char *host = xstrdup(spec), *colon = strrchr(host, ':');
	char *h = host;
	int fd, on = 1, e;

	if (colon == NULL)
		log_fatal_code(EX_USAGE, "bad listen address %s: use host:port", spec);
	*colon = '\0';
	if (h[0] == '[' && colon > h + 1 && colon[-1] == ']') {
		colon[-1] = '\0';
		h++;
	}
	if ((e = getaddrinfo(*h != '\0' ? h : NULL, colon + 1, &hints, &res)) != 0)
		log_fatal_code(EX_USAGE, "resolve %s: %s", spec, gai_strerror(e));
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
	    listen(fd, SOMAXCONN) < 0)
		log_fatal("listen on %s: %s", spec, strerror(errno));
	freeaddrinfo(res);
	free(host);
	return fd;
}

/* fingerd_from_master - count the listeners master left on fds 3.. */
static size_t
fingerd_from_master(void)
{
	const char *n = getenv("SLUICE_LISTEN_FDS");
	char *end;
	unsigned long count;

	if (n == NULL || *n == '\0')
		return 0;
	errno = 0;
	count = strtoul(n, &end, 10);
	if (errno != 0 || *end != '\0' || count > FINGERD_LISTEN_MAX)
		log_fatal("bad SLUICE_LISTEN_FDS: %s", n);
	return count;
}

/* fingerd_hup - SIGHUP: read the configuration again */
static void
fingerd_hup(int signo, void *ctx)
{
	fingerd_reload(ctx);
}

/* fingerd_term - SIGTERM or SIGINT: leave the loop */
static void
fingerd_term(int signo, void *ctx)
{
	struct fingerd *srv = ctx;

	log_info("stop on signal %d", signo);
	ev_stop(srv->loop);
}

/* fingerd_watch_parent - stop once master is gone (we were re-parented) */
static void
fingerd_watch_parent(void *ctx)
{
	struct fingerd *srv = ctx;

	if (getppid() != fingerd_parent) {
		log_info("stop: master exited");
		ev_stop(srv->loop);
		return;
	}
	(void)ev_timer_add(srv->loop, FINGERD_PARENT_MS, fingerd_watch_parent, srv);
}

/* main - options, configuration, listeners, then the loop */
int
main(int argc, char **argv)
{
	const char *confdir = NULL, *listen_spec = NULL;
	struct config_errors errs = { 0 };
	struct config *cfg = NULL;
	struct ev_loop *loop;
	struct fingerd *srv;
	bool foreground = false;
	int *fds = xcalloc(FINGERD_LISTEN_MAX + 1, sizeof(*fds));
	size_t nfds, i;
	int ch;

	log_init("fingerd");
	while ((ch = getopt(argc, argv, "c:fl:v")) != -1) {
		if (ch == 'c')
			confdir = optarg;
		else if (ch == 'f')
			foreground = true;
		else if (ch == 'l')
			listen_spec = optarg;
		else if (ch == 'v')
			log_set_verbose(true);
		else
			fingerd_usage();
	}
	if (optind != argc)
		fingerd_usage();
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

	/* A client that hangs up early makes our write fail, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	nfds = fingerd_from_master();
	for (i = 0; i < nfds; i++)
		fds[i] = 3 + (int)i;
	if (listen_spec != NULL)
		fds[nfds++] = fingerd_listen(listen_spec);
	if (nfds == 0)
		log_fatal_code(EX_USAGE, "no listening socket: start from master, or use -l");
	/* Started by master: die with it, and notice if the signal is missed. */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	fingerd_parent = getppid();

	loop = ev_loop_new();
	srv = fingerd_server_new(loop, confdir, cfg, fds, nfds);
	if (ev_signal_add(loop, SIGHUP, fingerd_hup, srv) < 0 ||
	    ev_signal_add(loop, SIGTERM, fingerd_term, srv) < 0 ||
	    ev_signal_add(loop, SIGINT, fingerd_term, srv) < 0)
		log_fatal("watch signals: %s", strerror(errno));
	(void)ev_timer_add(loop, FINGERD_PARENT_MS, fingerd_watch_parent, srv);
	log_info("daemon started -- %zu listening socket%s", nfds,
	    nfds == 1 ? "" : "s");
	if (ev_run(loop) < 0)
		log_fatal("run event loop: %s", strerror(errno));
	fingerd_server_free(&srv);
	ev_loop_free(&loop);
	return 0;
}
