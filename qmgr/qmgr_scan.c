/*
 * qmgr_scan - the periodic look at the spool that keeps the index honest
 * without a restart:
 *
 *	- an index that showed damage in use (a Berkeley DB panic, a record
 *	  that fails decoding) is set aside and rebuilt from the spool;
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

/* qmgr_scan_tick - rebuild a damaged index, then index what smtpd could not announce */
static void
qmgr_scan_tick(void *ctx)
{
	struct qmgr *q = ctx;
	int n;

	q->scan_timer = NULL;
	if (qindex_damaged(q->env.qi)) {
		if ((n = qctl_index_rebuild(&q->env)) < 0 || q->env.qi == NULL)
			log_fatal("rebuild the queue index in %s/index: failed (see above)",
			    q->cfg->queue_directory);
		log_info("queue index rebuilt from %s/msg: %d message%s", q->cfg->queue_directory,
		    n, n == 1 ? "" : "s");
		htable_walk(q->domains, qmgr_scan_fill, q);
		qmgr_dispatch(q);
	}
	if (queue_scan_changed(q->cfg->queue_directory, q->scan, qmgr_scan_one, q) < 0)
		log_warn("scan %s/msg: errors; trying again in %d ms", q->cfg->queue_directory,
		    QMGR_SCAN_MS);
	q->scan_timer = ev_timer_add(q->loop, QMGR_SCAN_MS, qmgr_scan_tick, q);
}

void
qmgr_scan_init(struct qmgr *q)
{
	q->scan = xcalloc(1, sizeof(*q->scan));
	q->scan_timer = ev_timer_add(q->loop, QMGR_SCAN_MS, qmgr_scan_tick, q);
}
