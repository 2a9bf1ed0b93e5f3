/*
 * daemon - shared start-up, listeners from master, reload and stop
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include "util/cmdline.h"
#include "util/events.h"
#include "util/tls.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "mail/conf.h"
#include "mail/daemon.h"

/* How often a daemon checks that master still runs (PDEATHSIG is the fast path). */
#define DAEMON_ORPHAN_MS 5000

/* The daemon that daemon_run() serves: one per process. */
struct daemon_run_ctx {
	struct daemon *d;
	daemon_reload_fn *reload;
	void *ctx;
	pid_t parent;
};

/* daemon_help - the usage line of every daemon (ctx: the program's struct daemon) */
static void
daemon_help(FILE *fp, const void *ctx)
{
	const struct daemon *d = ctx;

	fprintf(fp, "usage: %s [-f] [-v] [-c config_dir]%s%s\n", d->name,
	    d->usage != NULL && d->usage[0] != '\0' ? " " : "",
	    d->usage != NULL ? d->usage : "");
}

static _Noreturn void
daemon_usage(const struct daemon *d)
{
	daemon_help(stderr, d);
	exit(EX_USAGE);
}

/* daemon_load - load the configuration; errors logged; 0/-1 */
static int
daemon_load(const char *dir, struct config **cfg_r, const char *what)
{
	struct config_errors errs = { 0 };
	size_t i;
	int ret;

	ret = config_load(dir, cfg_r, &errs);
	for (i = 0; i < errs.nwarn; i++)
		log_warn("%s: %s", what, errs.warn[i]);
	for (i = 0; i < errs.n; i++)
		log_warn("%s: %s", what, errs.msg[i]);
	config_errors_clear(&errs);
	return ret;
}

/* daemon_log_dest - syslog_name; foreground: stderr; else log_file, or syslog */
static void
daemon_log_dest(const struct daemon *d)
{
	/* The loader checked both: this cannot fail. */
	(void)log_set_syslog(d->cfg->syslog_name, d->cfg->syslog_facility);
	if (d->foreground)
		(void)log_set_dest(LOG_DEST_STDERR, NULL);
	else if (d->cfg->log_file[0] == '\0')
		(void)log_set_dest(LOG_DEST_SYSLOG, NULL);
	else if (log_set_dest(LOG_DEST_FILE, d->cfg->log_file) < 0)
		log_warn("open log_file %s: %s", d->cfg->log_file, strerror(errno));
}

/* daemon_inherit - the sockets master passed on fds 3.. with their services */
static void
daemon_inherit(struct daemon *d)
{
	const char *env = getenv("SLUICE_LISTEN_FDS");
	const char *p = getenv("SLUICE_LISTEN_NAMES");
	char *end;
	long n, i;

	if (env == NULL)
		return;
	d->from_master = true;
	n = strtol(env, &end, 10);
	/* As many as master passed: it has no limit, nor do we. */
	if (*end != '\0' || n < 0 || n > INT_MAX - 3)
		log_fatal("bad SLUICE_LISTEN_FDS \"%s\" from master", env);
	for (i = 0; i < n; i++) {
		size_t len = p != NULL ? strcspn(p, ",") : 0;
		char service[sizeof(d->listen->service)];

		snprintf(service, sizeof(service), "%.*s", (int)len, p != NULL ? p : "");
		daemon_add_listener(d, 3 + (int)i, service);
		if (p != NULL) {
			p += len;
			if (*p == ',')
				p++;
		}
	}
	log_debug("listening sockets from master: %ld", n);
}

void
daemon_init(struct daemon *d, const char *name, int argc, char **argv,
    const char *extra, daemon_opt_fn *opt, void *opt_ctx, const char *usage)
{
	char *optstring = xasprintf("c:fv%s", extra != NULL ? extra : "");
	int ch;

	memset(d, 0, sizeof(*d));
	d->name = name;
	d->usage = usage;
	cmdline_std(argc, argv, name, daemon_help, d);
	log_init(name);
	while ((ch = getopt(argc, argv, optstring)) != -1) {
		switch (ch) {
		case 'c':
			d->config_dir = optarg;
			break;
		case 'f':
			d->foreground = true;
			break;
		case 'v':
			log_set_verbose(true);
			break;
		default:
			if (ch == '?' || opt == NULL || opt(ch, optarg, opt_ctx) < 0)
				daemon_usage(d);
		}
	}
	free(optstring);
	if (optind != argc)
		daemon_usage(d);
	if (d->foreground)
		(void)log_set_dest(LOG_DEST_STDERR, NULL);
	if (daemon_load(d->config_dir, &d->cfg, "load configuration") < 0)
		log_fatal_code(EX_CONFIG, "load configuration from %s: errors above; run "
		    "\"sluice config check\"", d->config_dir != NULL ? d->config_dir :
		    config_default_dir());
	daemon_log_dest(d);
	/* Writes to a vanished peer report EPIPE; OpenSSL writes too. */
	signal(SIGPIPE, SIG_IGN);
	daemon_inherit(d);
	/* Started by master: a daemon nobody supervises must not live on. */
	if (d->from_master)
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	d->loop = ev_loop_new();
}

int
daemon_bind(const char *spec)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res, *ai;
	char *host = xstrdup(spec), *port = strrchr(host, ':');
	int fd = -1, one = 1, e;

	if (port == NULL)
		log_fatal_code(EX_USAGE, "listen on %s: want host:port", spec);
	*port++ = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if ((e = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &res)) != 0)
		log_fatal_code(EX_USAGE, "resolve %s: %s", spec, gai_strerror(e));
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
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

void
daemon_add_listener(struct daemon *d, int fd, const char *service)
{
	struct daemon_listener *l;

	d->listen = xreallocarray(d->listen, d->nlisten + 1, sizeof(*d->listen));
	l = &d->listen[d->nlisten++];
	memset(l, 0, sizeof(*l));
	l->fd = fd;
	snprintf(l->service, sizeof(l->service), "%s", service);
}

bool
daemon_listener_is(const struct daemon *d, size_t i, const char *service)
{
	return i < d->nlisten && strcmp(d->listen[i].service, service) == 0;
}

static void
daemon_sighup(int signo, void *ctx)
{
	struct daemon_run_ctx *rc = ctx;
	struct config *cfg;

	log_reopen();
	if (daemon_load(rc->d->config_dir, &cfg, "reload configuration") < 0) {
		log_warn("reload configuration: errors above; keeping the running one");
		return;
	}
	rc->d->cfg = cfg;
	daemon_log_dest(rc->d);
	rc->reload(cfg, rc->ctx);
	log_info("reload configuration");
}

/* daemon_sigusr1 - master passes on logrotate's signal: reopen log_file */
static void
daemon_sigusr1(int signo, void *ctx)
{
	log_reopen();
	log_info("reopen log_file on signal %d", signo);
}

static void
daemon_sigterm(int signo, void *ctx)
{
	struct daemon_run_ctx *rc = ctx;

	log_info("stop on signal %d", signo);
	ev_stop(rc->d->loop);
}

/* daemon_orphan_check - master is gone when we are re-parented */
static void
daemon_orphan_check(void *ctx)
{
	struct daemon_run_ctx *rc = ctx;

	if (getppid() != rc->parent) {
		log_info("stop: master exited");
		ev_stop(rc->d->loop);
		return;
	}
	(void)ev_timer_add(rc->d->loop, DAEMON_ORPHAN_MS, daemon_orphan_check, rc);
}

int
daemon_run(struct daemon *d, daemon_reload_fn *reload, void *ctx)
{
	struct daemon_run_ctx rc = { .d = d, .reload = reload, .ctx = ctx, .parent = getppid() };

	if (ev_signal_add(d->loop, SIGHUP, daemon_sighup, &rc) < 0 ||
	    ev_signal_add(d->loop, SIGUSR1, daemon_sigusr1, &rc) < 0 ||
	    ev_signal_add(d->loop, SIGTERM, daemon_sigterm, &rc) < 0 ||
	    ev_signal_add(d->loop, SIGINT, daemon_sigterm, &rc) < 0)
		log_fatal("watch signals: %s", strerror(errno));
	if (d->from_master)
		daemon_orphan_check(&rc);
	if (ev_run(d->loop) < 0)
		log_fatal("run event loop: %s", strerror(errno));
	return 0;
}

void
daemon_stop(struct daemon *d)
{
	ev_stop(d->loop);
}

void
daemon_clear(struct daemon *d)
{
	ev_loop_free(&d->loop);
	xfree(&d->listen);
	d->nlisten = 0;
}

SSL_CTX *
daemon_tls_server(const struct config *cfg, const char *name)
{
	char *cert = NULL, *key = NULL, *err = NULL, *dir;
	SSL_CTX *ctx;

	if (cfg->smtpd_tls_cert_file[0] != '\0' && cfg->smtpd_tls_key_file[0] != '\0') {
		cert = xstrdup(cfg->smtpd_tls_cert_file);
		key = xstrdup(cfg->smtpd_tls_key_file);
	} else {
		/* No certificate configured: our own, made once and kept. */
		dir = xasprintf("%s/private", cfg->queue_directory);
		if (tls_selfsigned_ensure(dir, name, cfg->myhostname, &cert, &key, &err) < 0) {
			log_warn("set up TLS: %s; TLS not offered", err);
			free(err);
			free(dir);
			return NULL;
		}
		free(dir);
	}
	ctx = tls_server_ctx_new(cert, key, &err);
	if (ctx == NULL) {
		log_warn("set up TLS: %s; TLS not offered", err);
		free(err);
	}
	free(cert);
	free(key);
	return ctx;
}
