/*
 * deliver.h - the delivery agent's state, shared by its modules
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_DELIVER_H
#define SLUICE_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "mail/dns.h"
#include "mail/job.h"
#include "mail/queue.h"
#include "mail/route.h"
#include "mail/selfaddr.h"
#include "mail/smtp_client.h"

struct config;
struct ev_loop;
struct ev_timer;
struct ipc_rec;

/* Settings are sluice.conf's (struct config); these are not parameters. */
#define DELIVER_IDLE_MS			5000	/* an idle session is kept this long */

/* One place to connect to: a host name and one of its addresses. */
struct deliver_target {
	char *host;
	struct sockaddr_storage sa;	/* port set */
	socklen_t salen;
	char addr[48];			/* numeric */
	unsigned port;
};

struct deliver_session;

/*
 * One job of qmgr's at this deliver process: the job itself (its record,
 * queue file, results: lib/mail/job.h) and how deliver reaches its
 * domain (route, connection).
 */
struct deliver_job {
	struct deliver *d;
	struct deliver_job *next;
	struct job *j;			/* id, domain, recipients, file, results */
	struct route route;		/* mail/route.h */
	enum smtp_client_tls tls;
	char *key;			/* session cache key: domain, route, tls */

	/* Route resolution (deliver_route.c). */
	struct dns_query *mxq;
	struct deliver_mxhost *hosts;
	size_t nhosts, pending;
	struct deliver_target *targets;
	size_t ntargets, next_target;
	bool resolved;
	bool implicit_mx;		/* no MX: the domain's own addresses */

	/* The session in flight. */
	struct deliver_session *sess;
	char *last_error;		/* the last connection failure */
	enum smtp_client_fail last_fail;	/* and its kind */
	bool tls_fallback;		/* retrying this target without TLS */
	bool retried_fresh;		/* a reused session failed; fresh try made */
	bool waiting;			/* for a connection slot of its domain */
};

struct deliver_mxhost {
	struct deliver_job *job;
	char *name;
	unsigned pref;
	struct dns_query *q;
	struct dns_addr_list addrs;	/* copied */
	enum dns_status status;		/* of the address lookup */
	bool self;
};

struct deliver_session {
	struct deliver *d;
	struct deliver_session *next;
	char *key;
	char *domain;
	struct smtp_client *cl;
	struct deliver_target target;
	struct deliver_job *job;	/* NULL while idle */
	struct ev_timer *idle_timer;
	bool ready;			/* greeted at least once */
	bool reused;			/* this job got it from the idle cache */
};

struct deliver {
	const char *config_dir;
	bool foreground;
	struct config *cfg;
	struct ev_loop *loop;
	struct dns *dns;
	SSL_CTX *tls_ctx;		/* opportunistic / encrypt */
	SSL_CTX *tls_verify_ctx;	/* verify, made on first use */
	const char *dns_servers_arg;	/* -D: overrides dns_servers */
	unsigned mx_port;		/* port for route=mx: smtp_mx_port, or -P */
	bool mx_port_arg;		/* -P given */

	/* The settings in effect, from cfg (deliver_init.c). */
	long slots;
	long domain_limit;
	struct smtp_client_timeouts to;

	/* qmgr's connection. */
	int qmgr_fd;
	struct ev_timer *qmgr_retry;
	uint64_t backoff_ms;

	struct deliver_job *jobs;
	size_t njobs;
	struct deliver_session *sessions;

	/* Our own interface addresses (getifaddrs), for selfaddr.h. */
	struct self_addrs local;
};

/* deliver_init.c */
/* deliver_init - settings, resolver, TLS, qmgr (d->loop and d->cfg set); fatal on failure */
void deliver_init(struct deliver *d);
/* deliver_shutdown - drop jobs and sessions, free everything but the loop (at exit) */
void deliver_shutdown(struct deliver *d);
/* deliver_reload - take over a configuration loaded after SIGHUP (daemon_reload_fn) */
void deliver_reload(struct config *cfg, void *ctx);
/* deliver_qmgr.c */
/* deliver_qmgr_start - connect to qmgr now, or retry with back-off */
void deliver_qmgr_start(struct deliver *d);
/* deliver_send - one record to qmgr (waits briefly for room); 0/-1, logged */
int deliver_send(struct deliver *d, const struct ipc_rec *rec);
/* deliver_job_parse - a job record, every field bound-checked; NULL if bad */
struct deliver_job *deliver_job_parse(struct deliver *d,
    const struct ipc_rec *rec, const char **why_r);

/* deliver_job.c */
/* deliver_job_start - take a parsed job: envelope, route, connection */
void deliver_job_start(struct deliver_job *job);
/* deliver_job_proceed - the job may connect now (after a slot freed) */
void deliver_job_proceed(struct deliver_job *job);
/* deliver_job_targets - route resolution is over: connect or give up */
void deliver_job_targets(struct deliver_job *job, const char *status,
    const char *dsn, const char *why, bool conn_error);
/* deliver_job_free - forget a job without reporting (qmgr went away) */
void deliver_job_free(struct deliver_job **jobp);
/* deliver_jobs_abort - drop every job (qmgr's connection is gone) */
void deliver_jobs_abort(struct deliver *d);
/* deliver_session_event - the smtp_client callback of every session */
void deliver_session_event(struct smtp_client *cl, enum smtp_client_event ev,
    void *ctx);

/* deliver_conn.c */
/* deliver_conn_cached - take an idle session for the job's key, or NULL */
struct deliver_session *deliver_conn_cached(struct deliver_job *job);
/* deliver_conn_room - may the job's domain open one more connection? */
bool deliver_conn_room(const struct deliver_job *job);
/* deliver_conn_open - a new session to target for job */
struct deliver_session *deliver_conn_open(struct deliver_job *job,
    const struct deliver_target *t, enum smtp_client_tls tls);
/* deliver_conn_idle - the job is done with sess: cache it or hand it over */
void deliver_conn_idle(struct deliver_session *sess);
/* deliver_conn_close - free sess (its connection is over) */
void deliver_conn_close(struct deliver_session *sess);
/* deliver_conn_close_all - QUIT every idle session, free the rest */
void deliver_conn_close_all(struct deliver *d);
/* deliver_conn_wake - a connection of domain ended: start a waiting job */
void deliver_conn_wake(struct deliver *d, const char *domain);

/* deliver_route.c */
/* deliver_route_start - resolve the job's targets; deliver_job_targets() follows */
void deliver_route_start(struct deliver_job *job);
/* deliver_route_cancel - stop lookups in progress and free the targets */
void deliver_route_cancel(struct deliver_job *job);
/* deliver_local_refresh - relearn our interface addresses (getifaddrs) */
void deliver_local_refresh(struct deliver *d);
/* deliver_target_copy - deep copy of a target */
void deliver_target_copy(struct deliver_target *dst, const struct deliver_target *src);
/* deliver_target_clear - free what a target holds */
void deliver_target_clear(struct deliver_target *t);

#endif
