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
 * The spool scan stats the 256 bucket directories and reads only those
 * whose time changed, so an idle queue costs 256 stat calls a tick.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

/* system */
#include <stdbool.h>
#include <stdlib.h>

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

/* How often: a lost notice is seen within this, never only at a restart. */
#define QMGR_SCAN_MS	2000
/*
 * The reconcile's share of the event loop: slices of at most this long,
 * each made of steps of a few dozen messages, with a pass through the
 * loop between slices. A request waits at most about one slice.
 */
#define QMGR_RECON_SLICE_MS	10
#define QMGR_RECON_STEP		32

/* qmgr_scan_one - a message on disk: index it if the index does not know it */
static int
qmgr_scan_one(const char *id, void *ctx)
{
	struct qmgr *q = ctx;
	int has = qindex_has_message(q->env.qi, id);

	if (has != 0)
		return has < 0 ? -1 : 0;
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

/* qmgr_scan_tick - rebuild a damaged index, then index what smtpd could not announce */
static void
qmgr_scan_tick(void *ctx)
{
	struct qmgr *q = ctx;

	q->scan_timer = NULL;
	if (qmgr_scan_damage(q))
		return;
	if (queue_scan_changed(q->cfg->queue_directory, q->scan, qmgr_scan_one, q) < 0)
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
	/*
	 * For the tests only: one message a slice and this pause between
	 * slices make the reconcile of a small queue last long enough to be
	 * watched. Nothing else reads it; it only slows the reconcile.
	 */
	q->recon_slow_ms = slow != NULL ? (unsigned)(strtoul(slow, NULL, 10) % 10000) : 0;
	qmgr_recon_start(q);
}
