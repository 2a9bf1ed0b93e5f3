/*
 * proto - small clients of the qmgr protocol
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <stdlib.h>
#include <unistd.h>

#include "mail/proto.h"
#include "mail/proto_rec.h"
#include "util/ipc.h"
#include "util/xmalloc.h"

int
qmgr_notify_queued(const char *qdir, const char *id)
{
	char *path = xasprintf("%s/%s", qdir, PROTO_QMGR_PRIVATE);
	struct ipc_rec *rec;
	int fd, ret, saved;

	/*
	 * A fresh connection per message keeps smtpd free of reconnect state;
	 * the socket is local and the cost is small next to the fsyncs.
	 */
	fd = ipc_connect(path, true);
	free(path);
	if (fd < 0)
		return -1;
	rec = proto_queued_encode(&(struct proto_queued){ .id = id });
	ret = ipc_send(fd, rec);
	saved = errno;
	ipc_rec_free(&rec);
	close(fd);
	errno = saved;
	return ret;
}

/* qmgr_call_open_at - connect to qdir/sock and send req; fd or -1 */
static int
qmgr_call_open_at(const char *qdir, const char *sock, const struct ipc_rec *req)
{
	char *path = xasprintf("%s/%s", qdir, sock);
	int fd, saved;

	fd = ipc_connect(path, false);
	free(path);
	if (fd < 0)
		return -1;
	if (ipc_send(fd, req) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* qmgr_call_open - connect to the private socket and send req; fd or -1 */
static int
qmgr_call_open(const char *qdir, const struct ipc_rec *req)
{
	return qmgr_call_open_at(qdir, PROTO_QMGR_PRIVATE, req);
}

/* qmgr_call_recv - wait for one record until deadline (ms, monotonic); 0/-1 */
static int
qmgr_call_recv(int fd, long long deadline, struct ipc_rec **rec_r)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct timespec ts;
	long long now;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (now >= deadline) {
		errno = ETIMEDOUT;
		return -1;
	}
	n = poll(&pfd, 1, (int)(deadline - now));
	if (n <= 0) {
		if (n == 0)
			errno = ETIMEDOUT;
		return -1;
	}
	n = ipc_recv(fd, rec_r);
	if (n == 0)
		errno = ECONNRESET;
	return n == 1 ? 0 : -1;
}

static long long
qmgr_call_deadline(int timeout_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + timeout_ms;
}

int
qmgr_call(const char *qdir, const struct ipc_rec *req, int timeout_ms, struct ipc_rec **reply_r)
{
	long long deadline = qmgr_call_deadline(timeout_ms);
	int fd = qmgr_call_open(qdir, req), ret, saved;

	if (fd < 0)
		return -1;
	ret = qmgr_call_recv(fd, deadline, reply_r);
	saved = errno;
	close(fd);
	errno = saved;
	return ret;
}

/* qmgr_call_multi_at - qmgr_call_multi on socket sock */
static int
qmgr_call_multi_at(const char *qdir, const char *sock, const struct ipc_rec *req,
    int timeout_ms, int (*fn)(const struct ipc_rec *rec, void *ctx), void *ctx)
{
	long long deadline = qmgr_call_deadline(timeout_ms);
	int fd = qmgr_call_open_at(qdir, sock, req), ret = -1, saved;
	struct ipc_rec *rec;

	if (fd < 0)
		return -1;
	while (qmgr_call_recv(fd, deadline, &rec) == 0) {
		if (strcmp(ipc_rec_type(rec), PROTO_T_END) == 0) {
			ipc_rec_free(&rec);
			ret = 0;
			break;
		}
		if (fn(rec, ctx) < 0) {
			ipc_rec_free(&rec);
			break;
		}
		ipc_rec_free(&rec);
	}
	saved = errno;
	close(fd);
	errno = saved;
	return ret;
}

int
qmgr_call_multi(const char *qdir, const struct ipc_rec *req, int timeout_ms,
    int (*fn)(const struct ipc_rec *rec, void *ctx), void *ctx)
{
	return qmgr_call_multi_at(qdir, PROTO_QMGR_PRIVATE, req, timeout_ms, fn, ctx);
}

int
qmgr_call_public(const char *qdir, const struct ipc_rec *req, int timeout_ms,
    int (*fn)(const struct ipc_rec *rec, void *ctx), void *ctx)
{
	return qmgr_call_multi_at(qdir, PROTO_QMGR_PUBLIC, req, timeout_ms, fn, ctx);
}
