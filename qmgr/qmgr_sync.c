/*
 * qmgr_sync - the directory fsyncs of delivered messages' removals, batched
 *
 * A message delivered whole is removed with queue_unlink(): its name is
 * gone at once for every process (a kill -9 of anyone cannot bring it
 * back), but on disk only once its bucket directory msg/XX is fsync'd.
 * One fsync per message, in qmgr's loop, in sequence with the next
 * dispatch, was a disk commit per delivered message; yet all it decides
 * is whether a crash of the machine can bring a delivered message back
 * to be sent once more: a duplicate, never a loss (DESIGN.md: delivery
 * is at-least-once). So the buckets a removal changed are noted, and
 * each is fsync'd once for many removals: every QMGR_SYNC_MS, once there
 * are at least QMGR_SYNC_RATIO removals waiting per changed bucket, or
 * once the oldest removal has waited QMGR_SYNC_MAX_MS; and at exit. A
 * drain of many messages so costs at most one fsync per QMGR_SYNC_RATIO
 * messages; never one of a directory where nothing changed.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

/* system */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* lib/util */
#include "util/events.h"
#include "util/log.h"

/* lib/mail */
#include "mail/queue.h"

#include "qmgr/qmgr.h"

/*
 * How often the waiting removals are looked at, and the longest one may
 * wait for its directory's fsync: the longest a crash of the machine
 * (never of a process: the kernel has the unlink) can undo it and have
 * the message sent twice. In between, the fsyncs wait until there are
 * QMGR_SYNC_RATIO removals per changed bucket (of 256): at a thousand
 * removals a second that is every half second, a fifth of an fsync a
 * message.
 */
#define QMGR_SYNC_MS 500
#define QMGR_SYNC_MAX_MS 2000
#define QMGR_SYNC_RATIO 2

/* qmgr_sync_bucket - the number of an ID's bucket: its last two hex digits */
static unsigned
qmgr_sync_bucket(const char *id)
{
	const char *p = id + QUEUE_ID_LEN - 2;
	unsigned v = 0;

	for (; *p != '\0'; p++)
		v = v * 16 + (unsigned)(*p <= '9' ? *p - '0' : *p - 'A' + 10);
	return v;
}

/* qmgr_sync_fire - look again: fsync the changed buckets, or wait on */
static void
qmgr_sync_fire(void *ctx)
{
	struct qmgr *q = ctx;

	q->sync_timer = NULL;
	if (q->sync_pending >= QMGR_SYNC_RATIO * q->sync_ndirty ||
	    ev_now() - q->sync_first >= QMGR_SYNC_MAX_MS)
		qmgr_sync_flush(q);
	else
		q->sync_timer =
		    ev_timer_add(q->loop, QMGR_SYNC_MS, qmgr_sync_fire, q);
}

void
qmgr_sync_note(struct qmgr *q, const char *id)
{
	unsigned b;

	/* The caller removed a message by this ID: it is a valid one. */
	if (!queue_id_ok(id))
		log_panic("sync removal: bad queue ID");
	b = qmgr_sync_bucket(id);
	if (!q->sync_dirty[b]) {
		q->sync_dirty[b] = true;
		q->sync_ndirty++;
	}
	if (q->sync_pending++ == 0)
		q->sync_first = ev_now();
	if (q->sync_timer == NULL)
		q->sync_timer =
		    ev_timer_add(q->loop, QMGR_SYNC_MS, qmgr_sync_fire, q);
}

void
qmgr_sync_flush(struct qmgr *q)
{
	char name[3];
	size_t b;

	size_t failed = 0;

	ev_timer_cancel(q->loop, &q->sync_timer);
	for (b = 0; b < QMGR_SYNC_BUCKETS && q->sync_pending > 0; b++) {
		if (!q->sync_dirty[b])
			continue;
		snprintf(name, sizeof(name), "%02zX", b);
		if (queue_bucket_sync(q->env.qdir, name) == 0) {
			q->sync_dirty[b] = false;
			q->sync_warned[b] = false;
			continue;
		}
		/*
		 * A failed fsync leaves the removals as durable as they were:
		 * after a crash of the machine they may come back and be sent
		 * again. The bucket stays dirty and is tried again in
		 * QMGR_SYNC_MAX_MS; the warning is logged once a failure.
		 */
		failed++;
		if (!q->sync_warned[b])
			log_warn("fsync %s/msg/%s after removals: %s; %s",
			    q->env.qdir, name, strerror(errno),
			    "tried again; a crash of the machine meanwhile may "
			    "deliver them again");
		q->sync_warned[b] = true;
	}
	q->sync_pending = failed;
	q->sync_ndirty = failed;
	if (failed > 0) {
		q->sync_first = ev_now();
		q->sync_timer =
		    ev_timer_add(q->loop, QMGR_SYNC_MAX_MS, qmgr_sync_fire, q);
	}
}
