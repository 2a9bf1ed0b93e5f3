/*
 * master.h - the supervisor's state, shared by its modules
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_MASTER_H
#define SLUICE_MASTER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct config;
struct ev_loop;
struct ev_timer;

/* One listening socket, bound by master and handed to a service. */
struct master_listener {
	char *service;		/* "smtp", "submission", ... */
	char *addr;		/* as configured, host:port */
	int fd;
};

/* One running (or waiting) child process of a service. */
struct master_child {
	struct master_service *svc;
	pid_t pid;		/* 0: not running */
	uint64_t started;	/* ev_now() at fork */
	uint64_t delay;		/* current restart back-off, ms */
	struct ev_timer *restart;
	struct master *master;
};

/*
 * One row of the service table: a program, which listeners it gets, and
 * how many processes of it run.
 */
struct master_service {
	const char *name;	/* program name in daemon_directory */
	const char *listen_services; /* comma list of listener services, or "" */
	long (*count)(const struct config *cfg); /* processes wanted (0: none) */
	struct master_child *child;
	size_t nchild;
};

struct master_notify;

struct master {
	const char *config_dir;
	bool foreground;	/* -f: no fork, log to stderr */
	bool no_detach;		/* -d: no fork, log as configured (systemd) */
	bool verbose;
	bool stopping;
	struct config *cfg;
	struct ev_loop *loop;
	int lock_fd;
	struct master_listener *listeners;
	size_t nlisteners;
	uid_t uid;		/* children's identity when started as root */
	gid_t gid;
	bool drop_privileges;
	int exit_code;		/* master's exit status after the loop */
	struct master_notify *notify;	/* master_notify.c; NULL: no service manager */
};

/* master_config_load - load the config or exit EX_CONFIG with every error */
void master_config_load(struct master *m);
/* master_start - daemonize, lock, prepare the queue, bind, spawn children */
void master_start(struct master *m);
/* master_run - the event loop until SIGTERM; exit status */
int master_run(struct master *m);

/*
 * master_check_reach - before binding anything: can the children's user
 * execute every daemon that will run, read the configuration and write
 * the queue? Fatal, naming the path and the fix, when not: children that
 * cannot exec would leave the listeners open with nobody answering.
 */
void master_check_reach(struct master *m);
/* master_services_start - start every service's children */
void master_services_start(struct master *m);
/* master_services_signal - send sig to every child */
void master_services_signal(struct master *m, int sig);
/* master_services_reap - collect dead children, log why, schedule restarts */
void master_services_reap(struct master *m);
/* master_services_stop - SIGTERM every child, wait up to a few seconds, then SIGKILL */
void master_services_stop(struct master *m);

/*
 * The service manager (master_notify.c; all no-ops without $NOTIFY_SOCKET).
 * master_notify_start - ask qmgr for its status until it answers, then
 * READY=1 and MAINPID=, then STATUS= every master_status_interval.
 */
void master_notify_start(struct master *m);
/* master_notify_reloading - RELOADING=1, as a SIGHUP reload begins */
void master_notify_reloading(struct master *m);
/* master_notify_reloaded - READY=1 after it; refused: why the old config stays (NULL: it took) */
void master_notify_reloaded(struct master *m, const char *refused);
/* master_notify_stopping - STOPPING=1, and no more status requests */
void master_notify_stopping(struct master *m);

#endif
