/*
 * qmgr.h - the queue manager's state, shared by its modules
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_QMGR_H
#define SLUICE_QMGR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mail/proto.h"
#include "mail/qctl.h"

struct config;
struct dns;
struct dnscheck_batch;
struct self_addrs;
struct domain;
struct envelope;
struct ev_loop;
struct ev_timer;
struct htable;
struct ipc_rec;
struct qindex_entry;
struct qmgr_scan;
struct quota_file;
struct quota_usage;
struct dsn_params;

/*
 * One recipient of a job, and what deliver said about it. status is
 * QMGR_R_NONE until a type=rcpt record arrives.
 */
enum qmgr_rstatus {
	QMGR_R_NONE = 0,
	QMGR_R_SENT,
	QMGR_R_DEFERRED,
	QMGR_R_BOUNCED,
};

struct qmgr_rcpt {
	char *addr;
	size_t idx;		/* index in the queue file envelope */
	enum qmgr_rstatus status;
	char *dsn;		/* "5.1.1" */
	char *reply;		/* remote reply or our reason */
	char *relay;		/* NAME[ADDR]:PORT or "none" */
};

/* One delivery job: one message to the recipients of one domain. */
/* msg/XX: the bucket directories, two hex digits (mail/queue.h). */
#define QMGR_SYNC_BUCKETS	256

struct qmgr_job {
	uint64_t num;
	char id[32];
	char *key;		/* "ID/domain", the in-flight key */
	struct qmgr_domain *dom;
	struct qmgr_agent *agent; /* NULL while queued */
	struct qmgr_rcpt *rcpt;
	size_t nrcpt;
	bool partial;		/* the entry had more recipients than one job carries */
	char *home;		/* the route to the domain's home host, if relayed there (qmgr_home.c) */
	struct qmgr_job *next;	/* in the domain's queue */
};

/*
 * Per-domain state: the gate (held / open until T) and the scheduling
 * queue. Only in memory; the open gates are also saved to
 * private/gates so that a restarted qmgr finishes a flush it started.
 */
struct qmgr_domain {
	struct qmgr *q;
	char *name;
	/* The gate (qmgr_gate.c writes these; ask qmgr_gate_is_open()). */
	time_t open_until;	/* 0: closed; open while in the future */
	char *opened_by;	/* source of the trigger that opened it */
	time_t last_trigger;
	struct ev_timer *lease_timer;
	char *client_route;	/* route=client: "[addr]:port" of the lease's authenticated trigger; NULL */
	struct qmgr_client_probe *client_probe; /* its probe under way (qmgr_client_probe.c); NULL */
	struct ev_timer *retry_timer;
	time_t retry_at;
	unsigned fails;		/* connection failures in a row */
	unsigned active;	/* jobs at a deliver process */
	unsigned long delivered; /* recipients sent since the gate last opened */
	uint64_t sent;		/* recipients sent since we started: web sessions count from it */
	/* What domainstatus reports besides the index (qmgr_request.c writes these). */
	time_t finished;	/* the open gate's last job ended with nothing left; 0 */
	char *failing;		/* the last attempt's failure, until a delivery; NULL */
	time_t failing_at;
	time_t next_probe;	/* the prober's next look (type=probed); 0 */
	uint64_t arrivals;	/* messages indexed for the domain since we started */
	struct qmgr_job *head, *tail;
	size_t nqueued;
	bool on_ready;
	struct qmgr_domain *ready_next;
	/*
	 * The fill pass under way (qmgr_sched.c): the domain's entries are
	 * read from the index a batch at a time, in queue ID order, and the
	 * next batch only when the jobs queued run low.
	 */
	bool filling;		/* entries after fill_after are still to be read */
	bool fill_all;		/* the pass queues every entry, gate or not (qmgr_domain_fill_all) */
	char fill_after[32];	/* the last message the pass read ("": none yet) */
	time_t fill_later;	/* the earliest next_try still ahead that the pass saw */
	size_t fill_queued;	/* jobs the pass queued, for the relay=home line */
	char *fill_why;		/* what started it, for that line; NULL: no line */
};

/* One connected deliver process. */
struct qmgr_agent {
	int fd;
	unsigned slots;		/* from its hello */
	unsigned busy;
	char **bind;		/* ATRN: the domains this session serves alone */
	size_t nbind;
	bool idle_sent;		/* told it that its domains have nothing left */
	bool maildrop;		/* a POP3 session: binds, never takes a job (qmgr_pop3.c) */
	char *user;		/* its login, for the log of what it collects */
	struct qmgr_agent *next;
};

struct qmgr {
	const char *config_dir;
	bool foreground;
	struct config *cfg;
	struct ev_loop *loop;
	struct qctl_env env;	/* config, open index, queue directory */
	struct qctl_hooks hooks; /* what the CLI asks of the running qmgr */
	int lock_fd;		/* index/.lock, held for our lifetime */
	int private_fd;		/* private/qmgr listener (smtpd, triggers) */
	int public_fd;		/* public/qmgr listener (CLI) */
	int deliver_fd;		/* private/deliver listener */

	struct htable *domains;	/* name -> struct qmgr_domain */
	struct htable *inflight; /* "ID/domain" -> struct qmgr_job (queued or at an agent) */
	struct htable *jobs;	/* job number -> struct qmgr_job at an agent */
	struct htable *clients;	/* trigger rate limit per client address */
	struct htable *bound;	/* domain -> struct qmgr_agent of an ATRN session */
	struct qmgr_agent *agents;
	struct qmgr_domain *ready_head, *ready_tail;
	uint64_t next_job;
	struct ev_timer *expire_timer;
	struct ev_timer *scan_timer;	/* qmgr_scan.c */
	struct qmgr_scan *scan;		/* what the spool scan watches (qmgr_scan.c) */
	struct qctl_recon *recon;	/* the reconcile under way, or NULL */
	uint64_t recon_began;		/* its start (ev_now) */
	unsigned recon_slow_ms;		/* tests: pause between slices of one message */
	struct ev_timer *warn_timer;	/* the one delay-notice timer (qmgr_expire.c) */
	time_t warn_at;			/* when it fires */
	struct ev_timer *home_timer;	/* fleet_relay_interval (qmgr_home.c) */
	struct quota_file *quota;	/* capped domains' figures (qmgr_quota.c) */
	struct htable *quota_notified;	/* domain -> enum quota_level notice sent */
	/* The DNS setup check of every domain at start and reload (qmgr_dnscheck.c). */
	struct dns *dnscheck_dns;
	struct dnscheck_batch *dnscheck;
	struct self_addrs *dnscheck_self;
	size_t dnscheck_problems;
	/* Buckets of msg/ with removals not yet fsync'd (qmgr_sync.c). */
	bool sync_dirty[QMGR_SYNC_BUCKETS];
	bool sync_warned[QMGR_SYNC_BUCKETS];	/* its last fsync failed (logged) */
	size_t sync_ndirty;		/* of them true */
	size_t sync_pending;		/* removals since the last fsyncs */
	uint64_t sync_first;		/* ev_now() of the first of them */
	struct ev_timer *sync_timer;
};

/* qmgr_init - index (recovered; its reconcile started), listeners (q->cfg, q->loop set); fatal on failure */
void qmgr_init(struct qmgr *q);
/* qmgr_reload - take over a configuration loaded after SIGHUP (daemon_reload_fn) */
void qmgr_reload(struct config *cfg, void *ctx);
/* qmgr_shutdown - close the index cleanly (at exit) */
void qmgr_shutdown(struct qmgr *q);

/* qmgr_sched.c */
/* qmgr_sched_init - the deliver listener; a job queue or retry timer for every indexed entry */
void qmgr_sched_init(struct qmgr *q);
/* qmgr_domain_get - the state of domain (lowercase), created on first use */
struct qmgr_domain *qmgr_domain_get(struct qmgr *q, const char *name);
/*
 * qmgr_domain_fill - start a fill pass over dom's eligible entries (its
 * gate open, or due): the first batch is queued now, the rest a batch at
 * a time as the jobs go out (qmgr_dispatch), so that the first job does
 * not wait for the domain's whole mail and qmgr holds no job for mail it
 * is not about to send. A pass under way starts again from the first.
 */
void qmgr_domain_fill(struct qmgr *q, struct qmgr_domain *dom);
/*
 * qmgr_domain_fill_all - the same pass over every entry of dom, gate or
 * not (relaying to its home); logs relay=home with why when it ends
 */
void qmgr_domain_fill_all(struct qmgr *q, struct qmgr_domain *dom, const char *why);
/* qmgr_message_new - a message was indexed: queue what may go now */
void qmgr_message_new(struct qmgr *q, const char *id);
/* qmgr_dispatch - hand queued jobs to deliver processes within the limits */
void qmgr_dispatch(struct qmgr *q);
/*
 * qmgr_dispatch_next - the choice qmgr_dispatch writes out, made without
 * I/O: round robin over the ready domains, one job a turn, to the ATRN
 * session bound to the domain (and only it) or else the deliver process
 * with the most free slots, while the domain has fewer than
 * deliver_domain_concurrency_limit jobs active. The job leaves its
 * domain's queue and *a_r names its agent; NULL when nothing can go now.
 * The caller sends the job and then calls qmgr_job_assign, or frees it.
 */
struct qmgr_job *qmgr_dispatch_next(struct qmgr *q, struct qmgr_agent **a_r);
/* qmgr_job_assign - job j (numbered) is at agent a: count it busy and active */
void qmgr_job_assign(struct qmgr *q, struct qmgr_agent *a, struct qmgr_job *j);
/* qmgr_job_free - free job *jp (its recipients and results) and NULL it */
void qmgr_job_free(struct qmgr_job **jp);
/* qmgr_ready_push - dom has queued jobs: put it on the ready list once */
void qmgr_ready_push(struct qmgr *q, struct qmgr_domain *dom);
/*
 * qmgr_job_finish - act on deliver's results for job j, then forget it;
 * complete: deliver says the job finished the message, unjournalled
 * (type=done complete=1, mail/proto.h)
 */
void qmgr_job_finish(struct qmgr *q, struct qmgr_job *j, const char *conn_error,
    bool complete);

/* qmgr_sync.c */
/* qmgr_sync_note - the message id was unlinked: fsync its bucket soon */
void qmgr_sync_note(struct qmgr *q, const char *id);
/* qmgr_sync_flush - fsync every bucket with removals now (timer, exit) */
void qmgr_sync_flush(struct qmgr *q);

/* qmgr_domain_drop_queued - forget jobs not yet at an agent */
void qmgr_domain_drop_queued(struct qmgr *q, struct qmgr_domain *dom);
/* qmgr_domain_is_held_mode - is name a customer domain in mode=hold? */
bool qmgr_domain_is_held_mode(const struct qmgr *q, const char *name);
/* qmgr_domain_retry_at - look at dom again by when (an earlier time wins) */
void qmgr_domain_retry_at(struct qmgr *q, struct qmgr_domain *dom, time_t when);
/* qmgr_ready_all - a new agent: every domain with queued jobs may use it */
void qmgr_ready_all(struct qmgr *q);
/* qmgr_agent_check_idle - tell an ATRN session (type=idle) when its domains have nothing left */
void qmgr_agent_check_idle(struct qmgr *q, struct qmgr_agent *a);
/*
 * qmgr_backoff - seconds before retry number attempts (1 = the first):
 * minimal_backoff_time, doubled per attempt, at most maximal_backoff_time
 */
long qmgr_backoff(const struct qmgr *q, unsigned attempts);


/* qmgr_agent.c */
/* qmgr_agent_accept - the deliver listener is readable: take a deliver process or ATRN session */
void qmgr_agent_accept(int lfd, unsigned events, void *ctx);

/* qmgr_atrn.c */
/*
 * qmgr_agent_bind - ATRN session a (user) takes the domains of list
 * (comma-separated): their gates open for as long as it lasts and their
 * jobs go only to it. 0, or -1 (type=busy may have been sent) to drop it.
 */
int qmgr_agent_bind(struct qmgr *q, struct qmgr_agent *a, const char *list, const char *user);
/* qmgr_agent_unbind - ATRN session a ended: its gates close, its domains are free */
void qmgr_agent_unbind(struct qmgr *q, struct qmgr_agent *a);

/* qmgr_pop3.c: POP3 sessions, maildrop agents bound to their domains */
/*
 * qmgr_pop3_bind - POP3 session a (user) takes the domains of list: no
 * gate opens, no job goes to anyone while it lasts. Answers type=idle;
 * 0, or -1 (type=busy sent) to drop it.
 */
int qmgr_pop3_bind(struct qmgr *q, struct qmgr_agent *a, const char *list, const char *user);
/* qmgr_pop3_unbind - POP3 session a ended: its domains are free, their jobs may go */
void qmgr_pop3_unbind(struct qmgr *q, struct qmgr_agent *a);
/* qmgr_pop3_collect - type=collect: journal one collected recipient; 0, or -1 to drop a */
int qmgr_pop3_collect(struct qmgr *q, struct qmgr_agent *a, const struct ipc_rec *rec);

/*
 * qmgr_gate.c: the gate of a domain, with one owner. These functions
 * alone write its fields (open_until, opened_by, last_trigger,
 * lease_timer); qmgr_gate_is_open() is the one answer to "is it open?".
 */
/* qmgr_gate_is_open - is dom's gate open at now (its lease not run out)? */
bool qmgr_gate_is_open(const struct qmgr_domain *dom, time_t now);
/* qmgr_gates_open - how many domains' gates are open now (type=status) */
size_t qmgr_gates_open(const struct qmgr *q);
/* qmgr_gate_joins - would a trigger at now join the flush under way (open, trigger_min_interval)? */
bool qmgr_gate_joins(const struct qmgr *q, const struct qmgr_domain *dom, time_t now);
/* qmgr_gate_lease - the lease of dom's gate: its domains entry's, else default_lease */
long qmgr_gate_lease(const struct qmgr *q, const struct qmgr_domain *dom);
/* qmgr_gate_open - open dom's gate, or renew it, for lease seconds because of source; logged, saved */
void qmgr_gate_open(struct qmgr *q, struct qmgr_domain *dom, const char *source, long lease);
/* qmgr_gate_renew - keep dom's gate open at least lease seconds from now (no log: a joined trigger) */
void qmgr_gate_renew(struct qmgr_domain *dom, long lease, time_t now);
/*
 * qmgr_gate_client - a trigger of source (client, user) for d, about to
 * open dom's gate: where d has route=client, an authenticated trigger of
 * its owner (web login, ETRN after AUTH) from an IP address forgets
 * dom->client_route and returns true: the caller probes [client]:port
 * (qmgr_client_probe_start) and the route is set only when that probe
 * succeeds. Any other trigger leaves it alone (logged when the domain
 * has none) and returns false.
 */
bool qmgr_gate_client(struct qmgr_domain *dom, const struct domain *d, enum proto_source source,
    const char *client, const char *user);
/* qmgr_gate_client_set - make relay dom's client_route if its gate is open at now; whether it did */
bool qmgr_gate_client_set(struct qmgr_domain *dom, const char *relay, time_t now);
/*
 * qmgr_gate_client_probed - route=client's probe of relay ended: why is
 * NULL for a 220 (the route is set, logged probe=ok, dom's jobs go out),
 * else the reason, logged probe=failed; the mail stays queued
 */
void qmgr_gate_client_probed(struct qmgr *q, struct qmgr_domain *dom, const char *relay,
    const char *why);
struct sockaddr_storage;
/* qmgr_client_sockaddr - parse an IPv4 or IPv6 address (no port) into ss; whether it is one */
bool qmgr_client_sockaddr(const char *client, struct sockaddr_storage *ss);
/*
 * qmgr_client_probe_start - probe [client]:port for dom in the event loop
 * (connect, a 220 greeting within probe_timeout, QUIT), replacing a probe
 * under way; the outcome goes to qmgr_gate_client_probed()
 */
void qmgr_client_probe_start(struct qmgr *q, struct qmgr_domain *dom, const char *client,
    unsigned port);
/* qmgr_client_probe_cancel - stop dom's probe, if one is under way, without an outcome */
void qmgr_client_probe_cancel(struct qmgr *q, struct qmgr_domain *dom);
/* qmgr_gate_close - close dom's gate (no-op when closed); why goes to the log */
void qmgr_gate_close(struct qmgr *q, struct qmgr_domain *dom, const char *why);
/* qmgr_gates_load - restore the gates a previous qmgr left open (private/gates) */
void qmgr_gates_load(struct qmgr *q);
/*
 * qmgr_gate_mark_open, qmgr_gate_mark_closed - the state changes of
 * qmgr_gate_open and qmgr_gate_close alone, without log, timer or
 * scheduling (for them and the unit test). mark_open returns whether
 * the gate was open already; mark_closed whether it had been opened.
 */
bool qmgr_gate_mark_open(struct qmgr_domain *dom, const char *source, long lease, time_t now);
bool qmgr_gate_mark_closed(struct qmgr_domain *dom);
/* qmgr_trigger_log - the audit line of every release (trigger, flush of all, ATRN bind) */
void qmgr_trigger_log(const char *what, const char *source, const char *client,
    const char *user, const char *result, size_t pending, size_t ndomains, const char *why);
/* qmgr_trigger - serve a type=trigger request; a new reply record */
struct ipc_rec *qmgr_trigger(struct qmgr *q, const struct ipc_rec *req);
/*
 * qmgr_trigger_allowed - may source (client, user) open or close d's gate,
 * by the trigger policy table? NULL, or why not.
 */
struct domain;
const char *qmgr_trigger_allowed(const struct domain *d, enum proto_source source,
    const char *client, const char *user);
/* qmgr_hooks_init - give qctl the CLI's flush, gate and reschedule hooks (qmgr_server.c adds status) */
void qmgr_hooks_init(struct qmgr *q);

/* qmgr_request.c: the private socket's requests other than "queued" */
/* qmgr_request - serve one request on fd; 1 served, 0 not a request type, -1 failed */
int qmgr_request(struct qmgr *q, const struct ipc_rec *req, int fd);
/*
 * qmgr_domain_result - a job of dom ended at now: failure (deliver's
 * conn_error, or the reply that deferred every recipient; NULL: something
 * was delivered) sets or clears dom->failing; with the gate open and no
 * job queued, at a deliver process or in the index, dom->finished = now.
 * Call after the job is forgotten and the next ones are dispatched.
 */
void qmgr_domain_result(struct qmgr *q, struct qmgr_domain *dom, const char *failure,
    time_t now);
/* qmgr_reply - send *recp on fd and free it; 0, or -1 (logged) */
int qmgr_reply(int fd, struct ipc_rec **recp);
/* qmgr_failing_text - "cannot reach ADDR:PORT: why" from deliver's conn_error, printable, bounded */
char *qmgr_failing_text(const char *conn_error);

/* qmgr_held.c: a customer's own held mail (the web page) */
/* qmgr_heldlist - type=heldlist: a page of a domain's mail, owner checked; 0/-1 */
int qmgr_heldlist(struct qmgr *q, const struct ipc_rec *req, int fd);
/* qmgr_heldact - type=heldact: delete or return one message's recipients in a domain; 0/-1 */
int qmgr_heldact(struct qmgr *q, const struct ipc_rec *req, int fd);

/* qmgr_auth.c */
/*
 * qmgr_auth_check - may the caller on control connection fd make a request
 * of this type (SO_PEERCRED against the who-may-do-what table)? NULL when
 * it may, else a new refusal text for the reply (the refusal is logged).
 * The caller's uid in *uid_r (-1 when unknown), for the log of its actions.
 */
char *qmgr_auth_check(const struct qmgr *q, int fd, const char *type, long *uid_r);

/* qmgr_scan.c */
/*
 * qmgr_scan_init - reconcile the index with msg/ from the event loop (a
 * slice at a time), then every few seconds: rebuild a damaged index,
 * index messages nobody announced
 */
void qmgr_scan_init(struct qmgr *q);
/* qmgr_reconciling - is the reconcile under way? roughly how far in *percent_r (may be NULL) */
bool qmgr_reconciling(const struct qmgr *q, unsigned *percent_r);

/* qmgr_expire.c */
/* qmgr_expire_init - every second, bounce the entries past their expiry (walks by_expiry) */
void qmgr_expire_init(struct qmgr *q);
/*
 * qmgr_bounce - return rcpts of message msg (its queue file, just read by
 * the caller, who rewrites the index from it next) to the sender (DSN),
 * and journal them (a recipient whose journal line fails is logged and
 * left pending). 0, or -1 when no notice could be written (then nothing
 * is journalled).
 */
int qmgr_bounce(struct qmgr *q, const struct envelope *msg, const struct qmgr_rcpt *rcpt,
    size_t n, const char *default_status, bool expired);
/* qmgr_notify_init - every notify_interval, tell notify= addresses what will bounce within a day */
void qmgr_notify_init(struct qmgr *q);
/* qmgr_warn_schedule - make the one delay-notice timer fire by e's warning time, if e needs one */
void qmgr_warn_schedule(struct qmgr *q, const struct qindex_entry *e);
/* qmgr_warn_reload - look for due delay notices now (the warn= times may have changed) */
void qmgr_warn_reload(struct qmgr *q);

/* qmgr_home.c: relaying a held domain's mail to its home host (lib/mail/home.h) */
/* qmgr_home_init - every fleet_relay_interval, queue held mail whose home is another host */
void qmgr_home_init(struct qmgr *q);
/*
 * qmgr_home_route - the route of a job for domain: its home host's
 * ("[host]:port", new string) when domain is in mode=hold here and
 * another host of the fleet is its home; NULL otherwise.
 */
char *qmgr_home_route(const struct qmgr *q, const char *domain);
/* qmgr_home_note - log "relay=home" for n jobs of dom just queued for its home (why: the cause) */
void qmgr_home_note(struct qmgr *q, const struct qmgr_domain *dom, size_t n, const char *why);
/* qmgr_home_done - log how job j, relayed to the home host (j->home), ended */
void qmgr_home_done(const struct qmgr_job *j, const char *conn_error, size_t nsent,
    size_t nbounced, size_t ndeferred);
/* qmgr_peer.c */
struct proto_trigger;
/*
 * qmgr_peer_pass - hand an accepted trigger to peer(8sluice) for every host in
 * peers, when its source is a customer's signal (never source=peer or
 * probe); never blocks, logs the hand-over
 */
void qmgr_peer_pass(struct qmgr *q, const struct proto_trigger *t);

/* qmgr_expire.c, for the quota notices */
/* qmgr_dsn_params - the notice parameters of a domain with that lifetime */
void qmgr_dsn_params(const struct qmgr *q, struct dsn_params *p, long lifetime);
/* qmgr_notice_queued - index a notice we just wrote and schedule it */
void qmgr_notice_queued(struct qmgr *q, const char *id);

/* qmgr_quota.c: capped domains (max_messages=, max_bytes=, mail/quota.h) */
/* qmgr_quota_init - load the notices sent, count every capped domain, write private/quota */
void qmgr_quota_init(struct qmgr *q);
/* qmgr_quota_reload - the caps may have changed: count and write again */
void qmgr_quota_reload(struct qmgr *q);
/* qmgr_quota_arrival - message id was indexed: count its capped domains, name it in the file */
void qmgr_quota_arrival(struct qmgr *q, const char *id);
/* qmgr_quota_changed - mail of domain left the queue: count it again if capped */
void qmgr_quota_changed(struct qmgr *q, const char *domain);
/* qmgr_quota_usage - what the index holds for domain name; 0/-1 */
int qmgr_quota_usage(struct qmgr *q, const char *name, struct quota_usage *u_r);
/* qmgr_quota_shutdown - remove private/quota (no qmgr: no caps), free */
void qmgr_quota_shutdown(struct qmgr *q);
/* qmgr_dnscheck.c */
/*
 * qmgr_dnscheck_start - (re)start the DNS setup check of every domain of
 * q->cfg in the background, a few at a time, logging its problems as
 * warnings; nothing when dns_check = no. Never blocks, never fails.
 */
void qmgr_dnscheck_start(struct qmgr *q);
/* qmgr_dnscheck_stop - cancel it (before q->cfg goes) */
void qmgr_dnscheck_stop(struct qmgr *q);

#endif
