/*
 * qctl - the queue index's owner and the requests served on it, in three
 * files by who calls them:
 *
 *	qctl.c		the requests (list, summary, delete, reindex, status,
 *			hold, release, bounce, requeue, flush): qctl_handle
 *	qctl_client.c	the CLI's side: ask qmgr, or serve a request locally
 *	qctl_index.c	whoever holds the index lock (qmgr, or the CLI when
 *			no qmgr runs): lock, check, open, rebuild, reset, and
 *			keep the index in step with msg/ after every change
 *
 * The request and reply records are those of lib/mail/proto.h. qmgr
 * serves them on QUEUE_DIR/public/qmgr; when no qmgr runs, the CLI serves
 * them itself on the index, after taking the index lock that proves no
 * qmgr holds it. Both go through qctl_handle(), so the answers are the
 * same either way.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_QCTL_H
#define SLUICE_QCTL_H

#include <stdbool.h>

#include "util/ipc.h"
#include "mail/proto.h"
#include "mail/queue.h"

struct qindex;
struct config;
struct envelope;
struct dsn_params;
struct dsn_rcpt;

/*
 * The gate of a domain as fields, for programs (the CLI's JSON) as well as
 * people: state, until when an open gate stays open (0: no lease end, as
 * for an ATRN session, or not open), which trigger opened it ("" when not
 * open), and a short reason ("ATRN session", "probing", "retry at
 * 12:00:00"; "" when there is nothing to add).
 */
struct qctl_gate {
	enum proto_gate state;
	long long until;
	char opened_by[16];
	char reason[96];
};

/* qctl_emit_fn - deliver one reply record; 0 to go on, -1 to abort */
typedef int qctl_emit_fn(const struct ipc_rec *rec, void *ctx);

/*
 * What only a running qmgr can do; NULL hooks (the CLI serving a request
 * itself) make those requests fail with "qmgr is not running".
 */
struct qctl_hooks {
	/* changed - the entries of message id changed (released, requeued, a new notice): schedule it */
	void (*changed)(void *ctx, const char *id);
	/* flush - release domain (NULL: every domain with mail) as a trigger from the CLI */
	struct ipc_rec *(*flush)(void *ctx, const char *domain);
	/* gate - the gate of domain, as fields */
	void (*gate)(void *ctx, const char *domain, struct qctl_gate *g);
	/* status - add the running qmgr's own counters to the type=status reply */
	void (*status)(void *ctx, struct ipc_rec *rec);
	/*
	 * entered - message msg entered the index (it had no entries there):
	 * qmgr logs its "from=<S>, size=N, nrcpt=N (queue active)" line
	 */
	void (*entered)(void *ctx, const struct envelope *msg);
	void *ctx;
};

struct qctl_env {
	const struct config *cfg;
	struct qindex *qi;	/* open index (the caller holds the lock) */
	const char *qdir;
	const struct qctl_hooks *hooks;
	long uid;		/* the operator's uid, logged with every change; -1 unknown */
};

/* The requests (qctl.c). */

/*
 * qctl_handle - serve one request: emit its reply records, then a final
 * type=end status=ok|error [reason=]. 0 when the end record was emitted,
 * -1 when emit failed.
 */
int qctl_handle(struct qctl_env *env, const struct ipc_rec *req, qctl_emit_fn *emit, void *ctx);

/*
 * qctl_gate_add - add the gate of domain to rec: gate=STATE open_until=EPOCH
 * opened_by=SOURCE reason=TEXT (the last three only when set). Without a
 * running qmgr (no gate hook) the state is the domain's mode.
 */
void qctl_gate_add(const struct qctl_env *env, const char *domain, struct ipc_rec *rec);
/*
 * qctl_count_messages - how many messages have mail for any of the n
 * domains: a message for two of them counts once. 0/-1.
 */
int qctl_count_messages(struct qindex *qi, const char *const *domains, size_t n,
    size_t *count_r);

/*
 * qctl_customer_act - a customer's action from the web page on message
 * id (proto.h type=heldact): PROTO_ACTION_DELETE journals its pending
 * recipients in domain as deleted, PROTO_ACTION_BOUNCE returns them to
 * the sender with a DSN; its recipients in other domains are left as
 * they are. Logged as the operator's actions are, naming user and
 * client. The caller has checked that user owns domain. 1 done, 0 no
 * recipient of id in domain is pending, -1 error (logged).
 */
int qctl_customer_act(struct qctl_env *env, const char *id, const char *domain,
    const char *action, const char *user, const char *client);

/* The CLI's side (qctl_client.c). */

/*
 * qctl_request_qmgr - the CLI side: send req to qmgr over the control
 * socket; emit sees every reply record up to and including type=end.
 * 0 answered, 1 no qmgr listens (serve it with qctl_request_local), or
 * -1 with a message in *why_r (new string).
 */
int qctl_request_qmgr(const struct config *cfg, const struct ipc_rec *req, qctl_emit_fn *emit,
    void *ctx, char **why_r);
/*
 * qctl_request_local - serve req in this process on the index, when no
 * qmgr runs (the index lock proves it); uid is the operator's, for the
 * log. The file permissions of the index decide who may. 0; 1 when
 * another process (a qmgr starting) holds the index lock, so that the
 * caller asks qmgr again; or -1 with a message in *why_r (new string).
 */
int qctl_request_local(const struct config *cfg, const struct ipc_rec *req, long uid,
    qctl_emit_fn *emit, void *ctx, char **why_r);

/* The index's owner (qctl_index.c). */

/*
 * qctl_index_message - (re)build the index entries of one committed
 * message from its queue file and journal: one entry per destination
 * domain with the recipients still pending. A message with nothing left
 * pending is removed from the queue. 0 ok (also when the file vanished
 * meanwhile), -1 on error (a corrupt file is quarantined by the reader).
 */
int qctl_index_message(struct qctl_env *env, const char *id);
/*
 * qctl_index_envelope - qctl_index_message() for a message whose queue
 * file the caller has just read (queue_read_envelope), so that one use
 * of a message reads and validates its file once. The journal is read
 * here: it is what says who is finished. 0/-1 as there.
 */
int qctl_index_envelope(struct qctl_env *env, const struct envelope *msg);
/*
 * qctl_bounce - return n recipients of message id (envelope msg) to the
 * sender: a notice about dr[0..n-1] (dsn_create), then each recipient
 * idx[i] journalled as how (JOURNAL_BOUNCED, JOURNAL_EXPIRED), so that a
 * crash between the two can repeat a notice but never lose one. A
 * recipient whose journal line fails is logged and stays pending
 * (journalled[i] false). A new notice is indexed and passed to
 * hooks->changed. 0 a notice was written, 1 none was due (dsn_create's
 * reasons), -1 when none could be written (then nothing is journalled).
 */
int qctl_bounce(struct qctl_env *env, const char *id, const struct envelope *msg,
    const struct dsn_rcpt *dr, const size_t *idx, size_t n, const struct dsn_params *p,
    enum journal_status how, bool *journalled);
/*
 * qctl_reconcile - make the index agree with msg/: remove journals whose
 * message is gone (each logged), index every message it does not know,
 * drop entries whose file is gone. Count of changes, or -1.
 */
int qctl_reconcile(struct qctl_env *env);

/*
 * The same reconcile a slice at a time (qctl_recon.c), for qmgr's event
 * loop: it answers requests between slices while a large queue is read.
 * Whatever else changes the index meanwhile (notices, deliveries) is
 * safe: each message is looked at in one step.
 *
 * qctl_recon_new - a reconcile of env's index; changed(ctx, id) is called
 *	for each message it indexed or dropped (qmgr schedules it)
 * qctl_recon_step - about budget messages' worth of work: 0 more to do,
 *	1 done (see the stats for errors)
 * qctl_recon_percent - a rough progress figure, 0..100
 */
typedef void qctl_recon_fn(void *ctx, const char *id);
struct qctl_recon_stats {
	size_t messages;	/* message files seen in msg/ */
	size_t changes;		/* indexed, dropped, orphan journals removed */
	bool errors;
};
struct qctl_recon;
struct qctl_recon *qctl_recon_new(struct qctl_env *env, qctl_recon_fn *changed, void *ctx);
int qctl_recon_step(struct qctl_recon *r, size_t budget);
const struct qctl_recon_stats *qctl_recon_stats(const struct qctl_recon *r);
unsigned qctl_recon_percent(const struct qctl_recon *r);
void qctl_recon_free(struct qctl_recon **rp);
/*
 * qctl_index_open - lock, check and open the index: one
 * that fails qindex_check or will not open is set aside as
 * index.damaged.TIMESTAMP (one warning) and an empty one opened, which
 * the caller's qctl_reconcile() fills from msg/. The lock fd in
 * *lock_fd_r. 0/-1
 */
int qctl_index_open(struct qctl_env *env, int *lock_fd_r, bool wait);
/*
 * qctl_index_rebuild - the open index showed damage in use
 * (qindex_damaged): close it, set it aside and open an empty one, which
 * the caller reconciles with msg/ (qctl_recon). Call it only where no
 * walk is under way. 0, or -1 (env->qi may be NULL then).
 */
int qctl_index_rebuild(struct qctl_env *env);

/*
 * qctl_index_reset - the operator's reindex: close the index, remove its
 * environment, open an empty one and reconcile it with msg/. When the
 * removal fails the old index is opened again, so the owner keeps one.
 * Changes as from qctl_reconcile, or -1; env->qi is NULL only when no
 * index will open at all, and the owner cannot go on then (qmgr exits).
 */
int qctl_index_reset(struct qctl_env *env);

/* qctl_index_lock - flock index/.lock exclusively without waiting; fd, or -1 (EWOULDBLOCK: held) */
int qctl_index_lock(const char *qdir);

#endif
