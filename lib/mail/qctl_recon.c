/*
 * qctl_recon - reconcile the index with msg/ a slice at a time: the file
 * wins. Every message on disk gets its entries (one lookup each, and the
 * queue file read only for a message the index does not know); journals
 * whose message is gone are removed on the way; then every entry whose
 * message file is gone is dropped.
 *
 * qmgr runs it from its event loop in slices of bounded work, so that it
 * answers smtpd, the doors and the CLI while a large queue is reconciled;
 * the CLI and a reindex run it to the end at once (qctl_reconcile).
 * Memory stays flat: one bucket directory open, one slice of IDs.
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
#include <sys/stat.h>

/* lib/util */
#include "util/log.h"
#include "util/xmalloc.h"

/* lib/mail */
#include "mail/qctl.h"
#include "mail/qctl_int.h"
#include "mail/qindex.h"
#include "mail/queue.h"

enum qctl_recon_phase {
	QCTL_RECON_SPOOL,  /* every message on disk into the index */
	QCTL_RECON_GHOSTS, /* every entry whose file is gone out of it */
	QCTL_RECON_DONE,
};

struct qctl_recon {
	struct qctl_env *env;
	qctl_recon_fn *changed;
	void *ctx;
	enum qctl_recon_phase phase;
	struct queue_walk *walk;
	/* where the ghost walk goes on: "ID0" after the last message read */
	char from[QUEUE_ID_LEN + 2];
	size_t checked; /* messages of the index checked for a file */
	struct qctl_recon_stats st;
};

struct qctl_recon *
qctl_recon_new(struct qctl_env *env, qctl_recon_fn *changed, void *ctx)
{
	struct qctl_recon *r = xcalloc(1, sizeof(*r));

	r->env = env;
	r->changed = changed;
	r->ctx = ctx;
	r->walk = queue_walk_open(env->qdir);
	return r;
}

/* qctl_recon_spool - a message on disk: index it if the index does not know it
 */
static int
qctl_recon_spool(struct qctl_recon *r, const char *id)
{
	int has = qindex_has_message(r->env->qi, id);

	if (has < 0)
		return -1;
	/*
	 * A name read a moment ago (readdir buffers a bucket) whose message
	 * was delivered and removed since: nothing to index, no change.
	 */
	if (has == 0 && queue_gone(r->env->qdir, id))
		return 0;
	r->st.messages++;
	if (has > 0)
		return 0;
	if (qctl_index_message(r->env, id) < 0) {
		log_warn("%s: index message: failed; it stays queued and is "
		         "retried at "
		         "the next start",
		    id);
		r->st.errors = true;
		return 0;
	}
	r->st.changes++;
	if (r->changed != NULL)
		r->changed(r->ctx, id);
	return 0;
}

/* A slice of the ghost walk: at most max messages' IDs. */
struct qctl_recon_slice {
	struct qctl_scan ids;
	size_t max;
};

/* qctl_recon_collect - walk callback: IDs until the slice is full (then stop:
 * 1) */
static int
qctl_recon_collect(const struct qindex_entry *e, void *ctx)
{
	struct qctl_recon_slice *sl = ctx;

	if (sl->ids.nids >= sl->max &&
	    strcmp(sl->ids.ids[sl->ids.nids - 1], e->id) != 0)
		return 1;
	return qctl_collect_ids(e, &sl->ids);
}

/* qctl_recon_ghosts - drop the entries of up to budget messages whose file is
 * gone; done? */
static bool
qctl_recon_ghosts(struct qctl_recon *r, size_t budget)
{
	struct qctl_recon_slice sl = {.max = budget > 0 ? budget : 1};
	bool done;
	size_t i;

	if (qindex_walk_all_from(r->env->qi, r->from, qctl_recon_collect, &sl) <
	    0) {
		r->st.errors = true;
		done = true;
	} else
		done = sl.ids.nids < sl.max;
	for (i = 0; i < sl.ids.nids; i++) {
		char *path = queue_path(r->env->qdir, sl.ids.ids[i], false);
		struct stat sb;

		if (path != NULL && stat(path, &sb) < 0 && errno == ENOENT &&
		    qindex_del_message(r->env->qi, sl.ids.ids[i]) > 0) {
			r->st.changes++;
			if (r->changed != NULL)
				r->changed(r->ctx, sl.ids.ids[i]);
		}
		free(path);
		if (i + 1 == sl.ids.nids)
			snprintf(
			    r->from, sizeof(r->from), "%s0", sl.ids.ids[i]);
		free(sl.ids.ids[i]);
	}
	r->checked += sl.ids.nids;
	free(sl.ids.ids);
	return done;
}

int
qctl_recon_step(struct qctl_recon *r, size_t budget)
{
	char id[QUEUE_ID_LEN + 1];
	size_t n;
	int rc;

	switch (r->phase) {
	case QCTL_RECON_SPOOL:
		for (n = 0; n < budget; n++) {
			if ((rc = queue_walk_next(r->walk, id)) == 0)
				break;
			if (rc < 0) {
				log_warn("reconcile %s/msg: read a bucket: %s; "
				         "skipped until the next "
				         "start",
				    r->env->qdir, strerror(errno));
				r->st.errors = true;
			} else if (qctl_recon_spool(r, id) < 0) {
				/* The index fails: the rest of msg/ waits for
				 * the next start. */
				r->st.errors = true;
				break;
			}
		}
		if (n < budget) {
			r->st.changes += queue_walk_orphans(r->walk);
			queue_walk_close(&r->walk);
			r->phase = QCTL_RECON_GHOSTS;
		}
		return 0;
	case QCTL_RECON_GHOSTS:
		if (qctl_recon_ghosts(r, budget))
			r->phase = QCTL_RECON_DONE;
		return r->phase == QCTL_RECON_DONE;
	case QCTL_RECON_DONE:
		break;
	}
	return 1;
}

const struct qctl_recon_stats *
qctl_recon_stats(const struct qctl_recon *r)
{
	return &r->st;
}

unsigned
qctl_recon_percent(const struct qctl_recon *r)
{
	size_t left;

	/* Both halves cost about a lookup and a file-system call per message.
	 */
	switch (r->phase) {
	case QCTL_RECON_SPOOL:
		return queue_walk_buckets_done(r->walk) * 50 / QUEUE_BUCKETS;
	case QCTL_RECON_GHOSTS:
		left = r->st.messages > r->checked ? r->st.messages - r->checked
		                                   : 0;
		return 99 - (unsigned)(left * 49 / (r->st.messages + 1));
	case QCTL_RECON_DONE:
		break;
	}
	return 100;
}

void
qctl_recon_free(struct qctl_recon **rp)
{
	struct qctl_recon *r = *rp;

	if (r == NULL)
		return;
	queue_walk_close(&r->walk);
	free(r);
	*rp = NULL;
}

/* qctl_reconcile - see qctl.h */
int
qctl_reconcile(struct qctl_env *env)
{
	struct qctl_recon *r = qctl_recon_new(env, NULL, NULL);
	int ret;

	while (qctl_recon_step(r, 1024) == 0)
		;
	ret = r->st.errors ? -1 : (int)r->st.changes;
	qctl_recon_free(&r);
	return ret;
}
