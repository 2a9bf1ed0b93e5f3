/*
 * qmgr_scan - keeping the index honest with the spool while qmgr runs:
 *
 *	- at start, the index is reconciled with msg/ (qctl_recon) a slice
 *	  at a time from the event loop, so that smtpd's notices, triggers
 *	  and the CLI are answered meanwhile however large the queue is;
 *	- an index that showed damage in use (a Berkeley DB panic, a record
 *	  that fails decoding) is set aside, and the new one reconciled the
 *	  same way;
 *	- a committed message whose notice from smtpd was lost (qmgr busy,
 *	  restarting, its socket full) is found in msg/ and indexed.
 *
 * For the last, qmgr watches the 256 bucket directories with inotify
 * from before the reconcile starts: every name renamed or linked into
 * msg/XX is remembered, and once it has been there a couple of seconds
 * (its notice had time to arrive) the index is asked about it, once. The
 * cost is one event and one lookup per committed message, whatever the
 * size of the queue; a drain or an idle queue costs nothing. When the
 * kernel drops events (its queue overflowed) or too many names wait,
 * the index is reconciled with msg/ again, a slice at a time. Where
 * inotify is not available, qmgr falls back to reading every bucket
 * whose modification time changed, every two seconds: O(queue) while
 * mail moves.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

/* system */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

/* lib/util */
#include "util/events.h"
#include "util/htable.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* lib/mail */
#include "mail/conf.h"
#include "mail/qctl.h"
#include "mail/qindex.h"
#include "mail/queue.h"

/* qmgr */
#include "qmgr/qmgr.h"

/* How often: a lost notice is seen within this and QMGR_SCAN_SETTLE_MS. */
#define QMGR_SCAN_MS	2000
/* A name seen in msg/ is looked up once it is this old: its notice had time. */
#define QMGR_SCAN_SETTLE_MS	2000
/* Names waiting for their look-up; past this, a reconcile is cheaper. */
#define QMGR_SCAN_SEEN_MAX	200000
/*
 * The reconcile's share of the event loop: slices of at most this long,
 * each made of steps of a few dozen messages, with a pass through the
 * loop between slices. A request waits at most about one slice.
 */
#define QMGR_RECON_SLICE_MS	10
#define QMGR_RECON_STEP		32

/* A name that appeared in msg/XX, and when (ev_now). */
struct qmgr_scan_seen {
	uint64_t at;
	char id[QUEUE_ID_LEN + 1];
};

struct qmgr_scan {
	int ino;		/* inotify on msg/XX, or -1: the mtime scan instead */
	struct queue_scan_state mtimes;	/* the mtime scan's last look */
	struct qmgr_scan_seen *seen;	/* FIFO of names to look up: [head, n) */
	size_t head, n, cap;
	bool lost;		/* events were dropped: reconcile again */
};

/* qmgr_scan_one - a message on disk: index it if the index does not know it */
static int
qmgr_scan_one(const char *id, void *ctx)
{
	struct qmgr *q = ctx;
	int has = qindex_has_message(q->env.qi, id);

	if (has != 0)
		return has < 0 ? -1 : 0;
	/*
	 * Not indexed and no longer in msg/: delivered, bounced or deleted
	 * since its name came in (the watch sees every commit, and a drain
	 * removes most messages within the settle time). Nothing to index,
	 * nothing to log, and no write to the index: at 1,000 a drain, a
	 * delete each held qmgr's loop 1.6 s while the last jobs waited.
	 */
	if (queue_gone(q->cfg->queue_directory, id))
		return 0;
	if (qctl_index_message(&q->env, id) < 0) {
		log_warn("%s: index message found in the spool: failed; tried again "
		    "when its directory changes", id);
		return 0;
	}
	log_info("%s: indexed from the spool (no notice from smtpd arrived)", id);
	qmgr_message_new(q, id);
	return 0;
}

/* qmgr_scan_fill - after a rebuild, an open gate takes up its mail again */
static int
qmgr_scan_fill(const char *key, void *value, void *ctx)
{
	struct qmgr_domain *dom = value;

	(void)key;
	if (qmgr_gate_is_open(dom, time(NULL)))
		qmgr_domain_fill(ctx, dom);
	return 0;
}

/* qmgr_recon_changed - the reconcile indexed or dropped message id: schedule it */
static void
qmgr_recon_changed(void *ctx, const char *id)
{
	qmgr_message_new(ctx, id);
}

static void qmgr_recon_tick(void *ctx);
static void qmgr_scan_tick(void *ctx);
static void qmgr_scan_settled(struct qmgr *q);

/*
 * qmgr_recon_start - reconcile the index with msg/ from the event loop.
 * The first slice runs at once: a small queue is reconciled before
 * anything is answered, as it always was.
 */
static void
qmgr_recon_start(struct qmgr *q)
{
	ev_timer_cancel(q->loop, &q->scan_timer);
	qctl_recon_free(&q->recon);
	q->recon = qctl_recon_new(&q->env, qmgr_recon_changed, q);
	q->recon_began = ev_now();
	log_info("reconcile the index with %s/msg: started; requests are answered meanwhile",
	    q->cfg->queue_directory);
	qmgr_recon_tick(q);
}

/* qmgr_recon_end - the reconcile is done: log it, and the periodic scan takes over */
static void
qmgr_recon_end(struct qmgr *q)
{
	const struct qctl_recon_stats *st = qctl_recon_stats(q->recon);
	double secs = (double)(ev_now() - q->recon_began) / 1000.0;

	if (st->errors)
		log_warn("reconcile the index with %s/msg: errors above; %zu message%s in "
		    "%.1f s, %zu change%s", q->cfg->queue_directory, st->messages,
		    st->messages == 1 ? "" : "s", secs, st->changes, st->changes == 1 ? "" : "s");
	else
		log_info("reconciled the index with %s/msg: %zu message%s in %.1f s, %zu "
		    "change%s", q->cfg->queue_directory, st->messages,
		    st->messages == 1 ? "" : "s", secs, st->changes, st->changes == 1 ? "" : "s");
	qctl_recon_free(&q->recon);
	q->scan_timer = ev_timer_add(q->loop, QMGR_SCAN_MS, qmgr_scan_tick, q);
}

/* qmgr_scan_damage - an index that showed damage is set aside; false when none was */
static bool
qmgr_scan_damage(struct qmgr *q)
{
	if (!qindex_damaged(q->env.qi))
		return false;
	qctl_recon_free(&q->recon);
	if (qctl_index_rebuild(&q->env) < 0 || q->env.qi == NULL)
		log_fatal("rebuild the queue index in %s/index: failed (see above)",
		    q->cfg->queue_directory);
	htable_walk(q->domains, qmgr_scan_fill, q);
	qmgr_dispatch(q);
	qmgr_recon_start(q);
	return true;
}

/* qmgr_recon_tick - one slice of the reconcile, then back to the loop */
static void
qmgr_recon_tick(void *ctx)
{
	struct qmgr *q = ctx;
	uint64_t t0 = ev_now();
	int done;

	q->scan_timer = NULL;
	if (qmgr_scan_damage(q))
		return;
	/* Names seen meanwhile are looked up as they settle: the list stays short. */
	if (q->scan->ino >= 0)
		qmgr_scan_settled(q);
	do {
		done = qctl_recon_step(q->recon, q->recon_slow_ms > 0 ? 1 : QMGR_RECON_STEP);
	} while (done == 0 && q->recon_slow_ms == 0 && ev_now() - t0 < QMGR_RECON_SLICE_MS &&
	    !qindex_damaged(q->env.qi));
	if (done)
		qmgr_recon_end(q);
	else
		q->scan_timer = ev_timer_add(q->loop, q->recon_slow_ms > 0 ? q->recon_slow_ms : 1,
		    qmgr_recon_tick, q);
}

/* qmgr_scan_seen_add - remember a name that appeared in msg/ */
static void
qmgr_scan_seen_add(struct qmgr_scan *sc, const char *id)
{
	if (sc->lost)
		return;
	if (sc->n - sc->head >= QMGR_SCAN_SEEN_MAX) {
		sc->lost = true;
		sc->head = sc->n = 0;
		return;
	}
	if (sc->n == sc->cap) {
		/* Move the live part down before growing. */
		if (sc->head > 0) {
			memmove(sc->seen, sc->seen + sc->head, (sc->n - sc->head) * sizeof(*sc->seen));
			sc->n -= sc->head;
			sc->head = 0;
		}
		if (sc->n == sc->cap) {
			sc->cap = sc->cap ? sc->cap * 2 : 256;
			sc->seen = xreallocarray(sc->seen, sc->cap, sizeof(*sc->seen));
		}
	}
	sc->seen[sc->n].at = ev_now();
	memcpy(sc->seen[sc->n].id, id, QUEUE_ID_LEN + 1);
	sc->n++;
}

/* qmgr_scan_read - the kernel's events on msg/XX: names renamed or linked in */
static void
qmgr_scan_read(int fd, unsigned events, void *ctx)
{
	struct qmgr *q = ctx;
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	char *p;

	(void)events;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW)
				q->scan->lost = true;
			else if (ev->len > 0 && queue_id_ok(ev->name))
				qmgr_scan_seen_add(q->scan, ev->name);
		}
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		log_warn("read directory events on %s/msg: %s", q->cfg->queue_directory,
		    strerror(errno));
}

/* qmgr_scan_settled - look up each name seen in msg/ long enough ago */
static void
qmgr_scan_settled(struct qmgr *q)
{
	struct qmgr_scan *sc = q->scan;
	uint64_t now = ev_now();

	while (sc->head < sc->n && sc->seen[sc->head].at + QMGR_SCAN_SETTLE_MS <= now) {
		char id[QUEUE_ID_LEN + 1];

		memcpy(id, sc->seen[sc->head++].id, sizeof(id));
		(void)qmgr_scan_one(id, q);
	}
	if (sc->head == sc->n)
		sc->head = sc->n = 0;
}

/* qmgr_scan_watch - watch every msg/XX for names coming in; 0, or -1 (logged) */
static int
qmgr_scan_watch(struct qmgr *q)
{
	struct qmgr_scan *sc = q->scan;
	char path[4096];
	int b;

	if ((sc->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		log_warn("watch %s/msg: inotify: %s; reading changed buckets every %d ms "
		    "instead", q->cfg->queue_directory, strerror(errno), QMGR_SCAN_MS);
		return -1;
	}
	for (b = 0; b < QUEUE_BUCKETS; b++) {
		snprintf(path, sizeof(path), "%s/msg/%02X", q->cfg->queue_directory, (unsigned)b);
		if (inotify_add_watch(sc->ino, path, IN_MOVED_TO | IN_CREATE | IN_ONLYDIR) < 0)
			break;
	}
	if (b < QUEUE_BUCKETS || ev_io_add(q->loop, sc->ino, EV_READ, qmgr_scan_read, q) < 0) {
		log_warn("watch %s: %s; reading changed buckets every %d ms instead", path,
		    strerror(errno), QMGR_SCAN_MS);
		close(sc->ino);
		sc->ino = -1;
		return -1;
	}
	return 0;
}

/* qmgr_scan_tick - rebuild a damaged index, then index what smtpd could not announce */
static void
qmgr_scan_tick(void *ctx)
{
	struct qmgr *q = ctx;
	struct qmgr_scan *sc = q->scan;

	q->scan_timer = NULL;
	if (qmgr_scan_damage(q))
		return;
	if (sc->lost) {
		log_warn("watch %s/msg: directory events were lost; reconciling the index with "
		    "it again", q->cfg->queue_directory);
		sc->lost = false;
		qmgr_recon_start(q);
		return;
	}
	if (sc->ino >= 0)
		qmgr_scan_settled(q);
	else if (queue_scan_changed(q->cfg->queue_directory, &sc->mtimes, qmgr_scan_one, q) < 0)
		log_warn("scan %s/msg: errors; trying again in %d ms", q->cfg->queue_directory,
		    QMGR_SCAN_MS);
	q->scan_timer = ev_timer_add(q->loop, QMGR_SCAN_MS, qmgr_scan_tick, q);
}

bool
qmgr_reconciling(const struct qmgr *q, unsigned *percent_r)
{
	if (q->recon == NULL)
		return false;
	if (percent_r != NULL)
		*percent_r = qctl_recon_percent(q->recon);
	return true;
}

void
qmgr_scan_init(struct qmgr *q)
{
	const char *slow = getenv("SLUICE_TEST_RECONCILE_SLOW_MS");

	q->scan = xcalloc(1, sizeof(*q->scan));
	/* Watching first: a name that comes in after the walk passed its bucket is seen. */
	(void)qmgr_scan_watch(q);
	/*
	 * For the tests only: one message a slice and this pause between
	 * slices make the reconcile of a small queue last long enough to be
	 * watched. Nothing else reads it; it only slows the reconcile.
	 */
	q->recon_slow_ms = slow != NULL ? (unsigned)(strtoul(slow, NULL, 10) % 10000) : 0;
	qmgr_recon_start(q);
}
