/*
 * qmgr_expire - lifetimes, bounces and delay notices
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/events.h"
#include "util/htable.h"
#include "util/log.h"
#include "util/timemath.h"
#include "util/xmalloc.h"
#include "mail/conf.h"
#include "mail/domains.h"
#include "mail/dsn.h"
#include "mail/qindex.h"
#include "mail/queue.h"
#include "qmgr/qmgr.h"

/* How often expiry looks at the by-expiry index: the walk costs O(expired). */
#define QMGR_EXPIRE_MS 1000
/* Expired entries bounced per tick: a large backlog goes out over several. */
#define QMGR_EXPIRE_BATCH 500
/* The delay-notice timer wakes at least this often (seconds). */
#define QMGR_WARN_WAKE_MAX 86400
/* A notify= report counts the mail that will bounce within this many seconds. */
#define QMGR_NOTIFY_HORIZON 86400

void
qmgr_dsn_params(const struct qmgr *q, struct dsn_params *p, long lifetime)
{
	memset(p, 0, sizeof(*p));
	p->reporting_mta = q->cfg->myhostname;
	p->now = time(NULL);
	p->lifetime = lifetime;
}

/* qmgr_notice_queued - index a notice we just wrote and schedule it */
void
qmgr_notice_queued(struct qmgr *q, const char *id)
{
	if (qctl_index_message(&q->env, id) < 0)
		log_warn("%s: index notice: failed; it is indexed at the next start", id);
	else
		qmgr_message_new(q, id);
}

int
qmgr_bounce(struct qmgr *q, const struct envelope *msg, const struct qmgr_rcpt *rcpt,
    size_t n, const char *default_status, bool expired)
{
	const char *id = msg->id;
	struct dsn_rcpt *dr;
	struct dsn_params p;
	size_t i, j, *idx;
	bool *done;
	int ret;

	dr = xcalloc(n, sizeof(*dr));
	idx = xcalloc(n, sizeof(*idx));
	done = xcalloc(n, sizeof(*done));
	for (i = 0; i < n; i++) {
		for (j = 0; j < msg->nrcpt; j++)
			if (j == rcpt[i].idx)
				break;
		dr[i].addr = rcpt[i].addr;
		dr[i].orcpt = j < msg->nrcpt ? msg->rcpt[j].orcpt : NULL;
		dr[i].notify = j < msg->nrcpt ? msg->rcpt[j].notify : 0;
		dr[i].action = DSN_ACTION_FAILED;
		dr[i].status = rcpt[i].dsn != NULL ? rcpt[i].dsn : default_status;
		dr[i].diagnostic = rcpt[i].reply;
		dr[i].last_attempt = time(NULL);
		idx[i] = rcpt[i].idx;
	}
	qmgr_dsn_params(q, &p, 0);
	/* qctl_bounce writes the notice, journals, and indexes and schedules the notice. */
	ret = qctl_bounce(&q->env, id, msg, dr, idx, n, &p,
	    expired ? JOURNAL_EXPIRED : JOURNAL_BOUNCED, done);
	if (ret < 0) {
		log_warn("%s: the recipients stay queued until a notice can be written", id);
		goto out;
	}
	for (i = 0; i < n; i++) {
		long delay = (long)time_sub_sat(time(NULL), msg->arrival);

		if (done[i] && expired)
			log_info("%s: to=<%s>, relay=none, delay=%ld, dsn=%s, status=expired, %s",
			    id, rcpt[i].addr, delay, dr[i].status, ret == 0 ?
			    "returned to sender" : msg->sender[0] == '\0' ?
			    "null sender: dropped" : "no notice requested");
	}
	/* dsn_create() logs "sender non-delivery notification" itself. */
	if (ret != 0 && msg->sender[0] == '\0')
		log_info("%s: from=<>, undeliverable mail with the null sender dropped", id);
	ret = 0;
out:
	free(done);
	free(idx);
	free(dr);
	return ret;
}

struct qmgr_expired {
	char **key;
	size_t n;
};

static int
qmgr_expire_collect(const struct qindex_entry *e, void *ctx)
{
	struct qmgr_expired *x = ctx;

	x->key = xreallocarray(x->key, x->n + 1, sizeof(*x->key));
	x->key[x->n++] = xasprintf("%s/%s", e->id, e->domain);
	return x->n >= QMGR_EXPIRE_BATCH ? 1 : 0;
}

static void
qmgr_expire_fire(void *ctx)
{
	struct qmgr *q = ctx;
	struct qmgr_expired x = { 0 };
	size_t i;

	q->expire_timer = ev_timer_add(q->loop, QMGR_EXPIRE_MS, qmgr_expire_fire, q);
	if (qindex_walk_expiry(q->env.qi, time(NULL), qmgr_expire_collect, &x) < 0)
		log_warn("expire: index walk failed");
	for (i = 0; i < x.n; i++) {
		char *slash = strchr(x.key[i], '/');
		struct qindex_entry *e = NULL;
		struct envelope *msg = NULL;
		struct qmgr_rcpt *r;
		size_t k;

		/* Mail at a deliver process right now expires when it comes back. */
		if (slash == NULL || htable_get(q->inflight, x.key[i]) != NULL)
			goto next;
		*slash = '\0';
		if (qindex_get(q->env.qi, x.key[i], slash + 1, &e) != 1)
			goto next;
		r = xcalloc(e->nrcpt, sizeof(*r));
		for (k = 0; k < e->nrcpt; k++) {
			r[k].addr = e->rcpt[k];
			r[k].idx = e->rcpt_index[k];
			r[k].dsn = (char *)"4.4.7";
			r[k].reply = e->last_error;
		}
		/* One read of the file serves the notice and the index rewrite. */
		if (queue_read_envelope(q->env.qdir, e->id, &msg) == 0 &&
		    qmgr_bounce(q, msg, r, e->nrcpt, "4.4.7", true) == 0 &&
		    qctl_index_envelope(&q->env, msg) < 0)
			log_warn("%s: update index after expiry: failed", e->id);
		envelope_free(&msg);
		free(r);
		qindex_entry_free(&e);
next:
		free(x.key[i]);
	}
	free(x.key);
}

void
qmgr_expire_init(struct qmgr *q)
{
	q->expire_timer = ev_timer_add(q->loop, 0, qmgr_expire_fire, q);
}

/*
 * Delay notices: one timer for the whole queue, armed at the earliest
 * warning time known, never one per message. A timer (and its key) per
 * entry lived for delay_warning_time whether the mail was delivered in a
 * second or not, so qmgr grew with mail volume. When the timer fires, the
 * by_expiry index is walked from the oldest entry: an entry's warning is
 * due at arrival + warn = expiry - (lifetime - warn), so once an entry's
 * expiry minus the largest (lifetime - warn) of any domain lies past the
 * earliest warning still ahead, nothing later in the walk can be earlier
 * and the walk stops. Delivered mail has left the index and costs nothing.
 */

/* At most this many notices per firing; the rest follow at once. */
#define QMGR_WARN_BATCH 500

static void qmgr_warn_fire(void *ctx);

/* qmgr_warn_when - when entry e needs its delay notice, or 0 for never */
static time_t
qmgr_warn_when(const struct qmgr *q, const struct qindex_entry *e)
{
	const struct domain *d = domain_find(q->cfg->domains, e->domain);
	long warn = d != NULL ? d->warn : q->cfg->delay_warning_time;
	time_t when;

	if (warn <= 0 || e->warned != 0 || e->sender[0] == '\0')
		return 0;
	when = time_add_sat(e->arrival, warn);
	return when < e->expiry ? when : 0;
}

static int
qmgr_warn_horizon_one(const struct domain *d, void *ctx)
{
	long *h = ctx;

	if (d->warn > 0 && d->lifetime - d->warn > *h)
		*h = d->lifetime - d->warn;
	return 0;
}

/* qmgr_warn_horizon - the largest lifetime - warn of any domain (and the default) */
static long
qmgr_warn_horizon(const struct qmgr *q)
{
	long h = q->cfg->maximal_queue_lifetime - q->cfg->delay_warning_time;

	if (h < 0)
		h = 0;
	if (q->cfg->domains != NULL)
		domain_table_walk(q->cfg->domains, qmgr_warn_horizon_one, &h);
	return h;
}

/* qmgr_warn_arm - make the warning timer fire at when (if earlier than now armed) */
static void
qmgr_warn_arm(struct qmgr *q, time_t when)
{
	time_t now = time(NULL);

	if (q->warn_timer != NULL && q->warn_at <= when)
		return;
	ev_timer_cancel(q->loop, &q->warn_timer);
	q->warn_at = when;
	/*
	 * A stored time can be absurd (a damaged file, saturated sums): wake
	 * at least daily rather than let the milliseconds wrap; an early
	 * firing only walks the index and arms the timer again.
	 */
	q->warn_timer = ev_timer_add(q->loop, when <= now ? 0 : when - now > QMGR_WARN_WAKE_MAX ?
	    QMGR_WARN_WAKE_MAX * 1000u : (uint64_t)(when - now) * 1000u, qmgr_warn_fire, q);
}

struct qmgr_warn_scan {
	const struct qmgr *q;
	time_t now, next;	/* next: the earliest warning still ahead, 0: none */
	long horizon;
	char **key;		/* "ID/domain" of the entries due now */
	size_t n;
	bool more;		/* stopped at QMGR_WARN_BATCH */
};

static int
qmgr_warn_scan_one(const struct qindex_entry *e, void *ctx)
{
	struct qmgr_warn_scan *s = ctx;
	time_t when;

	if (s->next != 0 && time_sub_sat(e->expiry, s->horizon) > s->next)
		return 1;
	if ((when = qmgr_warn_when(s->q, e)) == 0)
		return 0;
	if (when > s->now) {
		if (s->next == 0 || when < s->next)
			s->next = when;
		return 0;
	}
	s->key = xreallocarray(s->key, s->n + 1, sizeof(*s->key));
	s->key[s->n++] = xasprintf("%s/%s", e->id, e->domain);
	if (s->n >= QMGR_WARN_BATCH) {
		s->more = true;
		return 1;
	}
	return 0;
}

/* qmgr_warn_send - write the delay notice of entry key ("ID/domain", modified) */
static void
qmgr_warn_send(struct qmgr *q, char *key)
{
	char *slash = strchr(key, '/');
	struct qindex_entry *e = NULL;
	struct envelope *msg = NULL;
	const struct domain *d;
	struct dsn_rcpt *dr;
	struct dsn_params p;
	char nid[QUEUE_ID_LEN + 1];
	size_t i;
	int ret;

	if (slash == NULL)
		return;
	*slash = '\0';
	if (qindex_get(q->env.qi, key, slash + 1, &e) != 1 || qmgr_warn_when(q, e) == 0 ||
	    queue_read_envelope(q->env.qdir, e->id, &msg) < 0)
		goto out;
	d = domain_find(q->cfg->domains, e->domain);
	dr = xcalloc(e->nrcpt, sizeof(*dr));
	for (i = 0; i < e->nrcpt; i++) {
		size_t idx = e->rcpt_index[i];

		dr[i].addr = e->rcpt[i];
		dr[i].orcpt = idx < msg->nrcpt ? msg->rcpt[idx].orcpt : NULL;
		dr[i].notify = idx < msg->nrcpt ? msg->rcpt[idx].notify : 0;
		dr[i].action = DSN_ACTION_DELAYED;
		dr[i].status = "4.4.1";
		dr[i].diagnostic = e->last_error;
	}
	qmgr_dsn_params(q, &p, d != NULL ? d->lifetime : q->cfg->maximal_queue_lifetime);
	ret = dsn_create(q->env.qdir, e->id, msg, dr, e->nrcpt, &p, nid);
	free(dr);
	if (ret < 0) {
		log_warn("%s: create delay notice: %s", e->id, strerror(errno));
		goto out;
	}
	/* Once per entry: mark it before anything else can fire again. */
	e->warned = time(NULL);
	(void)qindex_put(q->env.qi, e);
	if (ret == 0)
		qmgr_notice_queued(q, nid);
out:
	envelope_free(&msg);
	qindex_entry_free(&e);
}

static void
qmgr_warn_fire(void *ctx)
{
	struct qmgr *q = ctx;
	struct qmgr_warn_scan s = { .q = q, .now = time(NULL), .horizon = qmgr_warn_horizon(q) };
	size_t i;

	q->warn_timer = NULL;
	if (qindex_walk_expiry(q->env.qi, (time_t)INT64_MAX, qmgr_warn_scan_one, &s) < 0)
		log_warn("delay notices: index walk failed");
	for (i = 0; i < s.n; i++) {
		qmgr_warn_send(q, s.key[i]);
		free(s.key[i]);
	}
	free(s.key);
	/* A second later, not at once: a batch that keeps failing must not spin. */
	if (s.more)
		qmgr_warn_arm(q, s.now + 1);
	else if (s.next != 0)
		qmgr_warn_arm(q, s.next);
}

void
qmgr_warn_schedule(struct qmgr *q, const struct qindex_entry *e)
{
	time_t when = qmgr_warn_when(q, e);

	if (when != 0)
		qmgr_warn_arm(q, when);
}

static int
qmgr_warn_any_one(const struct domain *d, void *ctx)
{
	return d->warn > 0 ? (*(bool *)ctx = true, 1) : 0;
}

/* qmgr_warn_any - does any domain (or the default) get delay notices at all? */
static bool
qmgr_warn_any(const struct qmgr *q)
{
	bool any = q->cfg->delay_warning_time > 0;

	if (!any && q->cfg->domains != NULL)
		domain_table_walk(q->cfg->domains, qmgr_warn_any_one, &any);
	return any;
}

void
qmgr_warn_reload(struct qmgr *q)
{
	/* warn= or lifetimes may have changed: look again now (no walk when none warns). */
	if (qmgr_warn_any(q))
		qmgr_warn_arm(q, time(NULL));
}

/* The customers' notices: how much of their mail bounces within a day. */

struct qmgr_notify_count {
	time_t horizon;
	size_t queued, expiring;
};

static int
qmgr_notify_count_one(const struct qindex_entry *e, void *ctx)
{
	struct qmgr_notify_count *c = ctx;

	c->queued++;
	if (e->expiry <= c->horizon)
		c->expiring++;
	return 0;
}

static int
qmgr_notify_domain(const struct domain *d, void *ctx)
{
	struct qmgr *q = ctx;
	struct qmgr_notify_count c = { .horizon = time(NULL) + QMGR_NOTIFY_HORIZON };
	struct dsn_params p;
	char nid[QUEUE_ID_LEN + 1];
	int ret;

	if (d->notify == NULL)
		return 0;
	/* O(this domain's mail), as every per-domain question here. */
	if (qindex_walk_domain(q->env.qi, d->name, qmgr_notify_count_one, &c) < 0 ||
	    c.expiring == 0)
		return 0;
	qmgr_dsn_params(q, &p, d->lifetime);
	ret = dsn_create_notify(q->env.qdir, d->name, d->notify, c.expiring, c.queued, &p, nid);
	if (ret < 0) {
		log_warn("notify: domain=%s, to=<%s>: write notice: %s", d->name, d->notify,
		    strerror(errno));
		return 0;
	}
	if (ret == 0) {
		log_info("notify: domain=%s, to=<%s>, expiring=%zu, queued=%zu, notice=%s",
		    d->name, d->notify, c.expiring, c.queued, nid);
		qmgr_notice_queued(q, nid);
	}
	return 0;
}

static void
qmgr_notify_fire(void *ctx)
{
	struct qmgr *q = ctx;

	domain_table_walk(q->cfg->domains, qmgr_notify_domain, q);
	(void)ev_timer_add(q->loop, (uint64_t)q->cfg->notify_interval * 1000,
	    qmgr_notify_fire, q);
}

void
qmgr_notify_init(struct qmgr *q)
{
	(void)ev_timer_add(q->loop, (uint64_t)q->cfg->notify_interval * 1000,
	    qmgr_notify_fire, q);
}
