/*
 * qctl - queue control requests (list, summary, delete, reindex, status).
 *
 * The request and reply records are those of lib/mail/proto.h. qmgr
 * serves them on QUEUE_DIR/public/qmgr; when no qmgr runs, the CLI serves
 * them itself on the index, after taking the index lock that proves no
 * qmgr holds it. Both go through qctl_handle(), so the answers are the
 * same either way.
 */
#ifndef SLUICE_QCTL_H
#define SLUICE_QCTL_H

#include "util/ipc.h"

struct qindex;
struct config;

/* qctl_emit_fn - deliver one reply record; 0 to go on, -1 to abort */
typedef int qctl_emit_fn(const struct ipc_rec *rec, void *ctx);

struct qctl_env {
	const struct config *cfg;
	struct qindex *qi;	/* open index (the caller holds the lock) */
	const char *qdir;
};

/*
 * qctl_handle - serve one request: emit its reply records, then a final
 * type=end status=ok|error [reason=]. 0 when the end record was emitted,
 * -1 when emit failed.
 */
int qctl_handle(struct qctl_env *env, const struct ipc_rec *req, qctl_emit_fn *emit, void *ctx);

/*
 * qctl_request - the CLI side: send req to qmgr over the control socket,
 * or serve it in-process on the index when no qmgr runs. Calls emit for
 * every reply record up to and including type=end. 0, or -1 with a
 * message in *why_r (new string) when neither way works.
 */
int qctl_request(const struct config *cfg, const struct ipc_rec *req, qctl_emit_fn *emit,
    void *ctx, char **why_r);

/* qctl_index_lock - flock index/.lock exclusively without waiting; fd, or -1 (EWOULDBLOCK: held) */
int qctl_index_lock(const char *qdir);

#endif
