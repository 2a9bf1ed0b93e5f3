/*
 * daemon - the start-up and signal handling every sluice daemon shares.
 *
 *	struct daemon d;
 *	daemon_init(&d, "fingerd", argc, argv, "l:", fingerd_opt, &opts,
 *	    "[-l host:port]");
 *	srv = fingerd_server_new(&d);	(takes over d.cfg and the listeners)
 *	(void)daemon_run(&d, fingerd_reload, srv);
 *
 * daemon_init() answers --help and --version (util/cmdline.h) before
 * anything else, then parses -c config_dir, -f (foreground: log to stderr) and
 * -v plus the program's own options, loads sluice.conf (exit EX_CONFIG
 * with every error on failure), sends the log where the configuration
 * says, ignores SIGPIPE, takes the listening sockets master passed on
 * fds 3.. (SLUICE_LISTEN_FDS, SLUICE_LISTEN_NAMES) and arranges to die
 * with master. daemon_run() turns SIGHUP into a configuration reload
 * (a broken file keeps the running configuration, with a warning),
 * SIGUSR1 into a reopened log_file (master passes on logrotate's
 * signal), and SIGTERM/SIGINT or master's death into a clean return.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_DAEMON_H
#define SLUICE_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct ev_loop;

struct daemon_server;

struct daemon_listener {
	int fd;
	char service[16];	/* "smtp", "submission", "odmrs", ... */
	struct daemon_server *srv;	/* serving it (daemon_server.h), or NULL */
};

struct daemon {
	const char *name;
	const char *usage;	/* the program's own options, for its usage line */
	const char *config_dir;	/* -c, or NULL: the default */
	bool foreground;	/* -f */
	struct config *cfg;	/* loaded by daemon_init; the program takes it over */
	struct ev_loop *loop;
	struct daemon_listener *listen;	/* as many as master passed, and -l's */
	size_t nlisten;
	bool from_master;	/* master started us: die with it */
};

/* daemon_opt_fn - one program-specific option; 0, or -1 for a usage error */
typedef int daemon_opt_fn(int ch, const char *arg, void *ctx);
/* daemon_reload_fn - take over cfg, loaded after SIGHUP (the old one is yours to free) */
typedef void daemon_reload_fn(struct config *cfg, void *ctx);

/*
 * daemon_init - everything up to the program's own set-up (see above).
 * extra is a getopt string of the program's own options (or ""), each
 * handed to opt; usage is the program's option summary for the usage
 * line. Exits on any failure.
 */
void daemon_init(struct daemon *d, const char *name, int argc, char **argv,
    const char *extra, daemon_opt_fn *opt, void *opt_ctx, const char *usage);

/* daemon_bind - a listening TCP socket on "host:port" or "[v6]:port" (for -l tests); fatal on failure */
int daemon_bind(const char *spec);
/* daemon_add_listener - add a socket of service (for -l tests) */
void daemon_add_listener(struct daemon *d, int fd, const char *service);
/* daemon_listener_is - does listener i serve service? */
bool daemon_listener_is(const struct daemon *d, size_t i, const char *service);

/*
 * daemon_run - watch the signals and run the loop until SIGTERM, SIGINT
 * or master's death; reload gets each new configuration. Returns 0 (for
 * main() to return) or exits on a broken loop.
 */
int daemon_run(struct daemon *d, daemon_reload_fn *reload, void *ctx);
/* daemon_stop - end daemon_run() after the current callback (a program's own reason to stop) */
void daemon_stop(struct daemon *d);
/*
 * daemon_tls_server - the server TLS context of a daemon: the configured
 * smtpd_tls_cert_file/key_file, or else a self-signed pair made once under
 * queue_directory/private/ (files named after name) and kept. NULL, with a
 * warning, when TLS cannot be offered.
 */
struct ssl_ctx_st;
struct ssl_ctx_st *daemon_tls_server(const struct config *cfg, const char *name);

/* daemon_clear - free the loop and any listeners not taken (the config belongs to the program) */
void daemon_clear(struct daemon *d);

#endif
