/*
 * qctl_client - the CLI's side of a queue control request: ask the
 * running qmgr over its control socket, or, when none runs (the index
 * lock proves it), serve the request here on the index.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

/* system */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* lib/util */
#include "util/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* lib/mail */
#include "mail/conf.h"
#include "mail/proto.h"
#include "mail/qctl.h"
#include "mail/qindex.h"

/* How long the CLI waits for a qmgr that holds the index lock to answer. */
#define QCTL_START_WAIT_MS	10000

/* qctl_request_socket - one try at qmgr's control socket; as qctl_request_qmgr */
static int
qctl_request_socket(const struct config *cfg, const struct ipc_rec *req, qctl_emit_fn *emit,
    void *ctx, char **why_r)
{
	char *path = xasprintf("%s/%s", cfg->queue_directory, PROTO_QMGR_PUBLIC);
	struct timeval tv = { .tv_sec = cfg->qmgr_client_timeout };
	int fd;

	*why_r = NULL;
	fd = ipc_connect(path, false);
	if (fd < 0) {
		free(path);
		return 1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (ipc_send(fd, req) < 0) {
		*why_r = xasprintf("send request to qmgr at %s: %s", path, strerror(errno));
		goto fail;
	}
	for (;;) {
		struct ipc_rec *rec;
		int n = ipc_recv(fd, &rec);
		bool end;

		if (n <= 0) {
			*why_r = xasprintf("read reply from qmgr at %s: %s", path,
			    n == 0 ? "qmgr closed the connection" : errno == EAGAIN ?
			    "timed out (qmgr_client_timeout)" : strerror(errno));
			goto fail;
		}
		end = strcmp(ipc_rec_type(rec), PROTO_T_END) == 0;
		n = emit(rec, ctx);
		ipc_rec_free(&rec);
		if (end || n < 0)
			break;
	}
	close(fd);
	free(path);
	return 0;
fail:
	close(fd);
	free(path);
	return -1;
}

/*
 * qctl_index_lock_probe - is index/.lock free? The lock's fd (free), or -1
 * with errno (EWOULDBLOCK: held). Unlike qctl_index_lock it creates
 * nothing: the CLI asks before it has become the queue's owner, and an
 * index/ or .lock made by root here kept qmgr (mail_owner) from ever
 * taking the lock again (it exited 75 at every restart).
 */
static int
qctl_index_lock_probe(const char *qdir)
{
	char *path = xasprintf("%s/index/.lock", qdir);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), saved;

	saved = errno;
	free(path);
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		saved = errno;
		close(fd);
		fd = -1;
	}
	errno = saved;
	return fd;
}

/* qctl_request_qmgr - see qctl.h */
int
qctl_request_qmgr(const struct config *cfg, const struct ipc_rec *req, qctl_emit_fn *emit,
    void *ctx, char **why_r)
{
	int fd, ret, tries;

	/*
	 * A qmgr that holds the index lock but does not answer yet is
	 * starting (checking or rebuilding the index): wait for it rather
	 * than serve the request here, for up to QCTL_START_WAIT_MS.
	 */
	for (tries = 0;; tries++) {
		ret = qctl_request_socket(cfg, req, emit, ctx, why_r);
		if (ret <= 0)
			return ret;
		if ((fd = qctl_index_lock_probe(cfg->queue_directory)) >= 0) {
			close(fd);
			return 1;
		}
		if (errno != EWOULDBLOCK || tries * 100 >= QCTL_START_WAIT_MS)
			return 1;
		usleep(100 * 1000);
	}
}
/* qctl_request_local - see qctl.h */
int
qctl_request_local(const struct config *cfg, const struct ipc_rec *req, long uid,
    qctl_emit_fn *emit, void *ctx, char **why_r)
{
	struct qctl_env env = { .cfg = cfg, .qdir = cfg->queue_directory, .uid = uid };
	int fd, ret;

	*why_r = NULL;
	/* No qmgr answers: serve the request here, holding the index lock. */
	if (qctl_index_open(&env, &fd, false) < 0) {
		/* A qmgr took the lock since we asked: ask it (the caller does). */
		if (errno == EWOULDBLOCK)
			return 1;
		*why_r = xasprintf("qmgr does not answer on %s/%s and the index in %s/index "
		    "cannot be opened (see above)", cfg->queue_directory, PROTO_QMGR_PUBLIC,
		    cfg->queue_directory);
		return -1;
	}
	if (qctl_reconcile(&env) < 0)
		log_warn("reconcile the index with %s/msg: failed", cfg->queue_directory);
	ret = qctl_handle(&env, req, emit, ctx);
	qindex_close_owner(&env.qi);
	close(fd);
	return ret;
}
