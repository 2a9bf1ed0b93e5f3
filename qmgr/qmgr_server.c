/*
 * qmgr_server - qmgr's sockets: commit notices from smtpd, requests from the CLI
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sysexits.h>
#include <unistd.h>

#include "util/events.h"
#include "util/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "mail/conf.h"
#include "mail/proto.h"
#include "mail/proto_rec.h"
#include "mail/qctl.h"
#include "mail/qindex.h"
#include "mail/queue.h"
#include "qmgr/qmgr.h"

/* smtpd notices, CLI requests and triggers connecting at once. */
#define QMGR_LISTEN_BACKLOG	128

void
qmgr_reload(struct config *cfg, void *ctx)
{
	struct qmgr *q = ctx;

	/* Everything looks the domains up afresh: no pointer into the old config survives. */
	qmgr_dnscheck_stop(q);
	config_free(&q->cfg);
	q->cfg = cfg;
	q->env.cfg = cfg;
	q->env.qdir = cfg->queue_directory;
	qmgr_warn_reload(q);
	qmgr_quota_reload(q);
	qmgr_dnscheck_start(q);
}

/* A connection from smtpd: any number of "queued" records, then EOF. */
static void
qmgr_private_read(int fd, unsigned events, void *ctx)
{
	struct qmgr *q = ctx;
	struct ipc_rec *rec;
	int n;

	for (;;) {
		struct proto_queued queued;

		n = ipc_recv(fd, &rec);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			if (n < 0)
				log_warn("read from smtpd: %s; dropping the connection",
				    errno == EBADMSG ? "malformed record" : strerror(errno));
			break;
		}
		switch (qmgr_request(q, rec, fd)) {
		case 1:
			ipc_rec_free(&rec);
			continue;
		case -1:
			ipc_rec_free(&rec);
			goto drop;
		}
		if (proto_queued_decode(rec, &queued, "smtpd") < 0 ||
		    !queue_id_ok(queued.id)) {
			log_warn("read from smtpd: unexpected record type=%s; dropping the "
			    "connection", ipc_rec_type(rec));
			ipc_rec_free(&rec);
			break;
		}
		if (qctl_index_message(&q->env, queued.id) < 0)
			log_warn("%s: index message: failed; it stays queued and is indexed at "
			    "the next start", queued.id);
		else
			qmgr_message_new(q, queued.id);
		ipc_rec_free(&rec);
	}
drop:
	ev_io_del(q->loop, fd);
	close(fd);
}

static void
qmgr_private_accept(int lfd, unsigned events, void *ctx)
{
	struct qmgr *q = ctx;
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (ev_io_add(q->loop, fd, EV_READ, qmgr_private_read, q) < 0) {
			log_warn("watch smtpd connection: %s", strerror(errno));
			close(fd);
		}
	}
}

/* Where a CLI request's replies go. */
struct qmgr_out {
	struct qmgr *q;
	int fd;
};

/*
 * qmgr_emit - send one reply record to the CLI. While the start-up
 * reconcile runs, a request that succeeded ends with a note saying so:
 * the index may not know every message yet.
 */
static int
qmgr_emit(const struct ipc_rec *rec, void *ctx)
{
	struct qmgr_out *o = ctx;
	struct ipc_rec *noted = NULL;
	struct proto_reply end;
	unsigned pct;
	int ret = 0;

	if (qmgr_reconciling(o->q, &pct) && strcmp(ipc_rec_type(rec), PROTO_T_END) == 0 &&
	    proto_reply_decode(rec, PROTO_T_END, &end, "qmgr") == 0 &&
	    end.status == PROTO_STATUS_OK && end.reason == NULL) {
		char note[160];

		snprintf(note, sizeof(note), "qmgr is still reconciling its index with %s/msg "
		    "(%u%% done): mail it has not read yet is missing here",
		    o->q->cfg->queue_directory, pct);
		rec = noted = proto_reply_encode(PROTO_T_END,
		    &(struct proto_reply){ .status = PROTO_STATUS_OK, .reason = note });
	}
	if (ipc_send(o->fd, rec) < 0) {
		log_warn("send reply to the CLI: %s", strerror(errno));
		ret = -1;
	}
	ipc_rec_free(&noted);
	return ret;
}

/*
 * A CLI request: one record in, replies out, served at once. The socket
 * is made blocking with timeouts for the reply, so a stuck CLI costs at
 * most qmgr_client_timeout, never the queue manager.
 */
static void
qmgr_public_read(int fd, unsigned events, void *ctx)
{
	struct qmgr *q = ctx;
	struct timeval tv = { .tv_sec = q->cfg->qmgr_client_timeout };
	struct qmgr_out out = { .q = q, .fd = fd };
	struct ipc_rec *rec;
	char *why;
	int n;

	n = ipc_recv(fd, &rec);
	if (n < 0 && errno == EAGAIN)
		return;
	ev_io_del(q->loop, fd);
	if (n <= 0) {
		if (n < 0)
			log_warn("read CLI request: %s", errno == EBADMSG ? "malformed record" :
			    strerror(errno));
		close(fd);
		return;
	}
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if ((why = qmgr_auth_check(q, fd, ipc_rec_type(rec), &q->env.uid)) != NULL) {
		struct ipc_rec *end = proto_reply_encode(PROTO_T_END,
		    &(struct proto_reply){ .status = PROTO_STATUS_DENIED, .reason = why });

		(void)qmgr_emit(end, &out);
		ipc_rec_free(&end);
		free(why);
	} else {
		(void)qctl_handle(&q->env, rec, qmgr_emit, &out);
		/* A reindex that could not open any index: master restarts us on a fresh one. */
		if (q->env.qi == NULL)
			log_fatal("reopen the queue index in %s/index: failed (see above)",
			    q->cfg->queue_directory);
	}
	q->env.uid = -1;
	ipc_rec_free(&rec);
	close(fd);
}

static void
qmgr_public_accept(int lfd, unsigned events, void *ctx)
{
	struct qmgr *q = ctx;
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (ev_io_add(q->loop, fd, EV_READ, qmgr_public_read, q) < 0) {
			log_warn("watch CLI connection: %s", strerror(errno));
			close(fd);
		}
	}
}

static int
qmgr_listen(struct qmgr *q, const char *name, mode_t mode)
{
	char *path = xasprintf("%s/%s", q->cfg->queue_directory, name);
	int fd;

	fd = ipc_listen(path, QMGR_LISTEN_BACKLOG);
	if (fd < 0)
		log_fatal("listen on %s: %s", path, strerror(errno));
	if (chmod(path, mode) < 0)
		log_fatal("chmod %s: %s", path, strerror(errno));
	free(path);
	return fd;
}

/* qmgr_hook_status - qmgr's own counters in "sluice status" */
static void
qmgr_hook_status(void *ctx, struct ipc_rec *rec)
{
	struct qmgr *q = ctx;
	unsigned pct;

	ipc_rec_addf(rec, PROTO_F_TIMERS, "%zu", ev_timer_count(q->loop));
	ipc_rec_addf(rec, PROTO_F_GATES_OPEN, "%zu", qmgr_gates_open(q));
	if (qmgr_reconciling(q, &pct))
		ipc_rec_addf(rec, PROTO_F_RECONCILING, "%u%%", pct);
}

/*
 * qmgr_hook_entered - a message entered the index: Postfix's qmgr line,
 * whose sender and size pflogsumm counts (smtpd's "client=" line
 * counts it as received). A rebuilt index logs its messages again, as
 * Postfix's qmgr does each time a message enters its active queue;
 * pflogsumm counts each queue ID once.
 */
static void
qmgr_hook_entered(void *ctx, const struct envelope *msg)
{
	(void)ctx;
	log_info("%s: from=<%s>, size=%llu, nrcpt=%zu (queue active)", msg->id,
	    msg->sender, (unsigned long long)msg->content_size, msg->nrcpt);
}

void
qmgr_init(struct qmgr *q)
{
	q->env.cfg = q->cfg;
	q->env.qdir = q->cfg->queue_directory;
	q->env.uid = -1;
	if (qctl_index_open(&q->env, &q->lock_fd, true) < 0)
		log_fatal("open the queue index in %s/index: see above", q->cfg->queue_directory);
	/*
	 * Listen before reconciling: a message smtpd commits from now on is
	 * either seen by the scan or announced on the socket, so none falls
	 * between the two.
	 */
	q->private_fd = qmgr_listen(q, PROTO_QMGR_PRIVATE, 0600);
	/*
	 * Anyone may connect: qmgr_auth_check() decides per request on the
	 * caller's SO_PEERCRED, so a refusal comes with its reason.
	 */
	q->public_fd = qmgr_listen(q, PROTO_QMGR_PUBLIC, 0666);
	/* Mail committed while no qmgr ran enters the index here: log it too. */
	q->hooks.entered = qmgr_hook_entered;
	q->hooks.ctx = q;
	q->env.hooks = &q->hooks;
	/*
	 * The reconcile of the index with msg/ runs from the event loop
	 * (qmgr_scan_init): the schedule starts from what the index knows,
	 * and each message the reconcile finds or drops joins it.
	 */
	qmgr_sched_init(q);
	qmgr_expire_init(q);
	qmgr_notify_init(q);
	qmgr_hooks_init(q);
	qmgr_scan_init(q);
	qmgr_home_init(q);
	qmgr_quota_init(q);
	qmgr_dnscheck_start(q);
	q->hooks.status = qmgr_hook_status;
	if (ev_io_add(q->loop, q->private_fd, EV_READ, qmgr_private_accept, q) < 0 ||
	    ev_io_add(q->loop, q->public_fd, EV_READ, qmgr_public_accept, q) < 0)
		log_fatal("watch listeners: %s", strerror(errno));
}

void
qmgr_shutdown(struct qmgr *q)
{
	qmgr_quota_shutdown(q);
	qmgr_dnscheck_stop(q);
	qindex_close_owner(&q->env.qi);
	close(q->lock_fd);
	config_free(&q->cfg);
}
