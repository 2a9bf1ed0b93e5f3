/*
 * master_notify - what master tells the service manager (systemd's
 * Type=notify, util/sdnotify.h), and when:
 *
 *	READY=1 MAINPID=	once every listener is bound (master_start
 *				did that) and qmgr answers a status request
 *				on its control socket: only then does mail
 *				both arrive and get indexed.
 *	STATUS=			"N messages, N held, N gates open" from
 *				qmgr's type=status, every
 *				master_status_interval; after a refused
 *				reload, why, until a reload succeeds.
 *	RELOADING=1, READY=1	around a SIGHUP reload.
 *	STOPPING=1		when master begins to stop.
 *
 * Nothing here runs without $NOTIFY_SOCKET. The status request is
 * asynchronous, on master's event loop: a slow or restarting qmgr delays
 * READY=1 or a STATUS= line, never master's signals or children.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/events.h"
#include "util/ipc.h"
#include "util/log.h"
#include "util/sdnotify.h"
#include "util/xmalloc.h"
#include "mail/conf.h"
#include "mail/proto.h"
#include "master/master.h"

/* Until qmgr first answers, ask it this often (it may be recovering the index). */
#define MASTER_NOTIFY_RETRY_MS 200
/* A status request without its answer by then is abandoned (and asked again). */
#define MASTER_NOTIFY_TIMEOUT_MS 10000

struct master_notify {
	struct master *m;
	bool ready;		/* READY=1 sent */
	int fd;			/* the status request under way, or -1 */
	struct ev_timer *next;	/* the next request, or its timeout */
	char status[160];	/* the last counts, "N messages, ..." */
	char *note;		/* a refused reload, shown until a good one; or NULL */
	bool warned;		/* a failed send was logged */
};

static void master_notify_ask(void *ctx);

/* master_notify_send - sdnotify, one warning for the first failure */
static void
master_notify_send(struct master_notify *n, const char *state)
{
	if (sdnotify(state) < 0 && !n->warned) {
		log_warn("notify the service manager at %s: %s", getenv("NOTIFY_SOCKET"),
		    strerror(errno));
		n->warned = true;
	}
}

/* master_notify_status_line - "STATUS=counts[; note]" into buf */
static void
master_notify_status_line(const struct master_notify *n, char *buf, size_t len)
{
	snprintf(buf, len, "STATUS=%s%s%s", n->status[0] != '\0' ? n->status : "starting",
	    n->note != NULL ? "; " : "", n->note != NULL ? n->note : "");
}

/* master_notify_schedule - the next request after ms */
static void
master_notify_schedule(struct master_notify *n, uint64_t ms)
{
	ev_timer_cancel(n->m->loop, &n->next);
	n->next = ev_timer_add(n->m->loop, ms, master_notify_ask, n);
}

/* master_notify_close - end the request under way */
static void
master_notify_close(struct master_notify *n)
{
	if (n->fd < 0)
		return;
	ev_io_del(n->m->loop, n->fd);
	(void)close(n->fd);
	n->fd = -1;
}

/* master_notify_interval - the wait before the next request */
static uint64_t
master_notify_interval(const struct master_notify *n)
{
	return n->ready ? (uint64_t)n->m->cfg->master_status_interval * 1000 :
	    MASTER_NOTIFY_RETRY_MS;
}

/* master_notify_counts - qmgr's type=status as the STATUS= text; 0/-1 */
static int
master_notify_counts(struct master_notify *n, const struct ipc_rec *rec)
{
	unsigned long long msgs, held, open;

	if (ipc_rec_get_num(rec, PROTO_F_MESSAGES, 1ULL << 40, &msgs) < 0 ||
	    ipc_rec_get_num(rec, PROTO_F_HELD, 1ULL << 40, &held) < 0 ||
	    ipc_rec_get_num(rec, PROTO_F_GATES_OPEN, 1ULL << 40, &open) < 0)
		return -1;
	snprintf(n->status, sizeof(n->status), "%llu message%s, %llu held, %llu gate%s open",
	    msgs, msgs == 1 ? "" : "s", held, open, open == 1 ? "" : "s");
	return 0;
}

/* master_notify_answered - qmgr's status is in: READY=1 the first time, else STATUS= */
static void
master_notify_answered(struct master_notify *n)
{
	char line[400];

	master_notify_status_line(n, line, sizeof(line));
	if (!n->ready) {
		char state[600];

		snprintf(state, sizeof(state), "READY=1\nMAINPID=%ld\n%s", (long)getpid(), line);
		master_notify_send(n, state);
		n->ready = true;
		log_info("ready: listeners bound, qmgr answers (%s)", n->status);
	} else {
		master_notify_send(n, line);
	}
}

/* master_notify_reply - a record of qmgr's answer */
static void
master_notify_reply(int fd, unsigned events, void *ctx)
{
	struct master_notify *n = ctx;
	struct ipc_rec *rec;
	int got;

	while ((got = ipc_recv(fd, &rec)) > 0) {
		const char *type = ipc_rec_type(rec);

		if (strcmp(type, PROTO_T_STATUS) == 0 && master_notify_counts(n, rec) < 0)
			log_warn("status from qmgr: no messages=, held= or gates_open=; "
			    "is %s/qmgr from another version?", n->m->cfg->daemon_directory);
		if (strcmp(type, PROTO_T_END) == 0) {
			ipc_rec_free(&rec);
			master_notify_close(n);
			/* An answer without counts still proves that qmgr serves. */
			master_notify_answered(n);
			master_notify_schedule(n, master_notify_interval(n));
			return;
		}
		ipc_rec_free(&rec);
	}
	if (got < 0 && errno == EAGAIN)
		return;
	/* Closed or malformed: qmgr restarts; ask again soon. */
	master_notify_close(n);
	master_notify_schedule(n, MASTER_NOTIFY_RETRY_MS);
}

/* master_notify_timeout - qmgr did not answer in time: drop the request, try again */
static void
master_notify_timeout(void *ctx)
{
	struct master_notify *n = ctx;

	n->next = NULL;
	log_debug("status request to qmgr timed out");
	master_notify_close(n);
	master_notify_ask(n);
}

/* master_notify_ask - send qmgr a status request; its answer comes to master_notify_reply */
static void
master_notify_ask(void *ctx)
{
	struct master_notify *n = ctx;
	char *path = xasprintf("%s/%s", n->m->cfg->queue_directory, PROTO_QMGR_PUBLIC);
	struct ipc_rec *req = ipc_rec_new(PROTO_T_STATUS);

	n->next = NULL;
	master_notify_close(n);
	n->fd = ipc_connect(path, true);
	if (n->fd >= 0 && (ipc_send(n->fd, req) < 0 ||
	    ev_io_add(n->m->loop, n->fd, EV_READ, master_notify_reply, n) < 0)) {
		(void)close(n->fd);
		n->fd = -1;
	}
	ipc_rec_free(&req);
	free(path);
	/* Not listening yet (qmgr starts, or restarts): try again. */
	if (n->fd < 0) {
		master_notify_schedule(n, master_notify_interval(n) < MASTER_NOTIFY_RETRY_MS ?
		    master_notify_interval(n) : MASTER_NOTIFY_RETRY_MS);
		return;
	}
	n->next = ev_timer_add(n->m->loop, MASTER_NOTIFY_TIMEOUT_MS, master_notify_timeout, n);
}

void
master_notify_start(struct master *m)
{
	struct master_notify *n;

	if (!sdnotify_enabled())
		return;
	n = xcalloc(1, sizeof(*n));
	n->m = m;
	n->fd = -1;
	m->notify = n;
	master_notify_ask(n);
}

void
master_notify_reloading(struct master *m)
{
	char state[64];
	struct timespec ts;

	if (m->notify == NULL)
		return;
	/* MONOTONIC_USEC: what systemd 253's Type=notify-reload asks for too. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
	master_notify_send(m->notify, state);
}

void
master_notify_reloaded(struct master *m, const char *refused)
{
	struct master_notify *n = m->notify;
	char line[400], state[500];

	if (n == NULL)
		return;
	xfree(&n->note);
	if (refused != NULL)
		n->note = xstrdup(refused);
	master_notify_status_line(n, line, sizeof(line));
	/* Before the first READY=1 (qmgr not answering yet) only the status. */
	snprintf(state, sizeof(state), "%s%s", n->ready ? "READY=1\n" : "", line);
	master_notify_send(n, state);
	/* Counts under the new configuration (master_status_interval too) soon. */
	if (n->ready && n->fd < 0)
		master_notify_schedule(n, 0);
}

void
master_notify_stopping(struct master *m)
{
	struct master_notify *n = m->notify;

	if (n == NULL)
		return;
	master_notify_send(n, "STOPPING=1\nSTATUS=stopping");
	master_notify_close(n);
	ev_timer_cancel(m->loop, &n->next);
	free(n->note);
	free(n);
	m->notify = NULL;
}
