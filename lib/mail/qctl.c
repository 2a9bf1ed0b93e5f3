/*
 * qctl - queue control requests (list, summary, delete, reindex, status,
 * hold, release, bounce, requeue, flush), served on the open index by
 * whoever holds its lock: qmgr, or the CLI when no qmgr runs.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "util/ipc.h"
#include "util/log.h"
#include "util/timemath.h"
#include "util/xmalloc.h"
#include "mail/address.h"
#include "mail/conf.h"
#include "mail/dsn.h"
#include "mail/home.h"
#include "mail/proto.h"
#include "mail/qctl.h"
#include "mail/qctl_int.h"
#include "mail/qindex.h"
#include "mail/queue.h"

struct qctl_out {
	const struct qctl_env *env;
	qctl_emit_fn *emit;
	void *ctx;
	int failed;
	size_t count;
};

static int
qctl_emit_entry(const struct qindex_entry *e, void *ctx)
{
	struct qctl_out *out = ctx;
	struct ipc_rec *rec = ipc_rec_new(PROTO_T_ENTRY);
	size_t i;
	int ret;

	ipc_rec_add(rec, PROTO_F_ID, e->id);
	ipc_rec_add(rec, PROTO_F_DOMAIN, e->domain);
	ipc_rec_add(rec, PROTO_F_SENDER, e->sender);
	ipc_rec_addf(rec, PROTO_F_SIZE, "%llu", (unsigned long long)e->size);
	ipc_rec_addf(rec, PROTO_F_ARRIVAL, "%lld", (long long)e->arrival);
	ipc_rec_addf(rec, PROTO_F_NEXT_TRY, "%lld", (long long)e->next_try);
	ipc_rec_addf(rec, PROTO_F_EXPIRY, "%lld", (long long)e->expiry);
	ipc_rec_addf(rec, PROTO_F_ATTEMPTS, "%u", e->attempts);
	ipc_rec_addf(rec, PROTO_F_FLAGS, "%u", e->flags);
	ipc_rec_addf(rec, PROTO_F_NRCPT, "%zu", e->nrcpt);
	for (i = 0; i < e->nrcpt && i < PROTO_JOB_RCPT_MAX; i++)
		ipc_rec_add(rec, PROTO_F_RCPT, e->rcpt[i]);
	if (e->last_error != NULL)
		ipc_rec_add(rec, PROTO_F_ERROR, e->last_error);
	qctl_gate_add(out->env, e->domain, rec);
	ret = out->emit(rec, out->ctx);
	ipc_rec_free(&rec);
	out->count++;
	if (ret < 0) {
		out->failed = 1;
		return -1;
	}
	return 0;
}

/* qctl_gate_add - see qctl.h */
void
qctl_gate_add(const struct qctl_env *env, const char *domain, struct ipc_rec *rec)
{
	const struct domain *d = domain_find(env->cfg->domains, domain);
	struct qctl_gate g = { .state = d == NULL ? PROTO_GATE_RELAY :
	    d->mode == DOMAIN_MODE_HOLD ? PROTO_GATE_HELD : PROTO_GATE_BACKUP };

	if (env->hooks != NULL && env->hooks->gate != NULL)
		env->hooks->gate(env->hooks->ctx, domain, &g);
	ipc_rec_add(rec, PROTO_F_GATE, proto_gate_name(g.state));
	if (g.until > 0)
		ipc_rec_addf(rec, PROTO_F_OPEN_UNTIL, "%lld", g.until);
	if (g.opened_by[0] != '\0')
		ipc_rec_add(rec, PROTO_F_OPENED_BY, g.opened_by);
	if (g.reason[0] != '\0')
		ipc_rec_add(rec, PROTO_F_REASON, g.reason);
}

/* qctl_id_cmp - qsort/bsearch over an array of ID strings */
static int
qctl_id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
qctl_collect_entry_ids(const struct qindex_entry *e, void *ctx)
{
	struct qctl_scan *s = ctx;

	s->ids = xreallocarray(s->ids, s->nids + 1, sizeof(*s->ids));
	s->ids[s->nids++] = xstrdup(e->id);
	return 0;
}

/* qctl_count_messages - see qctl.h */
int
qctl_count_messages(struct qindex *qi, const char *const *domains, size_t n,
    size_t *count_r)
{
	struct qctl_scan s = { 0 };
	size_t i, distinct = 0;
	int ret = 0;

	for (i = 0; i < n && ret == 0; i++)
		if (qindex_walk_domain(qi, domains[i], qctl_collect_entry_ids, &s) < 0)
			ret = -1;
	if (s.nids > 0)
		qsort(s.ids, s.nids, sizeof(*s.ids), qctl_id_cmp);
	for (i = 0; i < s.nids; i++) {
		if (i == 0 || strcmp(s.ids[i], s.ids[i - 1]) != 0)
			distinct++;
	}
	for (i = 0; i < s.nids; i++)
		free(s.ids[i]);
	free(s.ids);
	*count_r = distinct;
	return ret;
}

/* qshape's age columns, in minutes. */
static const unsigned qctl_buckets[] = { 5, 10, 20, 40, 80, 160, 320, 640, 1280 };
#define QCTL_NBUCKETS (sizeof(qctl_buckets) / sizeof(qctl_buckets[0]) + 1)
/* Their field names in type=summary, one more than the bounds (the oldest). */
static const char *const qctl_bucket_field[PROTO_NBUCKETS] = PROTO_F_BUCKETS;
_Static_assert(QCTL_NBUCKETS == PROTO_NBUCKETS, "an age bucket per summary field");

struct qctl_dom {
	char *domain;
	unsigned long long messages, bytes;
	long long oldest;
	unsigned long long bucket[QCTL_NBUCKETS];
};

struct qctl_sum {
	struct qctl_dom *d;
	size_t n;
	time_t now;
	struct qctl_dom total;	/* the whole queue, each message once */
	char last_id[QUEUE_ID_LEN + 1];
};

/* qctl_dom_add - count one message of size bytes arrived at arrival into d */
static void
qctl_dom_add(struct qctl_dom *d, const struct qindex_entry *e, time_t now)
{
	long long age_min;
	size_t b;

	if (d->messages == 0 || e->arrival < d->oldest)
		d->oldest = e->arrival;
	d->messages++;
	d->bytes += e->size;
	age_min = (long long)time_sub_sat(now, e->arrival) / 60;
	for (b = 0; b < QCTL_NBUCKETS - 1; b++)
		if (age_min < qctl_buckets[b])
			break;
	d->bucket[b]++;
}

/* qctl_dom_fields - the counts of d as the fields of a summary record */
static void
qctl_dom_fields(const struct qctl_dom *d, struct ipc_rec *rec)
{
	size_t b;

	ipc_rec_addf(rec, PROTO_F_MESSAGES, "%llu", d->messages);
	ipc_rec_addf(rec, PROTO_F_BYTES, "%llu", d->bytes);
	ipc_rec_addf(rec, PROTO_F_OLDEST, "%lld", d->oldest);
	for (b = 0; b < QCTL_NBUCKETS; b++)
		ipc_rec_addf(rec, qctl_bucket_field[b], "%llu", d->bucket[b]);
}

static int
qctl_dom_cmp(const void *a, const void *b)
{
	return strcmp(((const struct qctl_dom *)a)->domain, ((const struct qctl_dom *)b)->domain);
}

static int
qctl_sum_entry(const struct qindex_entry *e, void *ctx)
{
	struct qctl_sum *s = ctx;
	struct qctl_dom key = { .domain = e->domain }, *d;

	/* Entries come in key order, a message's together: its first counts in TOTAL. */
	if (strcmp(s->last_id, e->id) != 0) {
		qctl_dom_add(&s->total, e, s->now);
		snprintf(s->last_id, sizeof(s->last_id), "%s", e->id);
	}
	d = s->n ? bsearch(&key, s->d, s->n, sizeof(*s->d), qctl_dom_cmp) : NULL;
	if (d == NULL) {
		s->d = xreallocarray(s->d, s->n + 1, sizeof(*s->d));
		d = &s->d[s->n++];
		memset(d, 0, sizeof(*d));
		d->domain = xstrdup(e->domain);
		d->oldest = e->arrival;
		qsort(s->d, s->n, sizeof(*s->d), qctl_dom_cmp);
		d = bsearch(&key, s->d, s->n, sizeof(*s->d), qctl_dom_cmp);
	}
	qctl_dom_add(d, e, s->now);
	return 0;
}

/* qctl_sum_domain - a customer domain without mail still gets its row (and gate) */
static int
qctl_sum_domain(const struct domain *d, void *ctx)
{
	struct qctl_sum *s = ctx;
	struct qctl_dom key = { .domain = d->name };

	if (s->n > 0 && bsearch(&key, s->d, s->n, sizeof(*s->d), qctl_dom_cmp) != NULL)
		return 0;
	s->d = xreallocarray(s->d, s->n + 1, sizeof(*s->d));
	memset(&s->d[s->n], 0, sizeof(s->d[s->n]));
	s->d[s->n++].domain = xstrdup(d->name);
	qsort(s->d, s->n, sizeof(*s->d), qctl_dom_cmp);
	return 0;
}

static int
qctl_summary(struct qctl_env *env, struct qctl_out *out)
{
	struct qctl_sum s = { .now = time(NULL) };
	struct ipc_rec *total;
	size_t i;
	int ret = 0;

	if (qindex_walk_all(env->qi, qctl_sum_entry, &s) < 0)
		ret = -1;
	/* O(customer domains), so that every gate shows, mail or not. */
	domain_table_walk(env->cfg->domains, qctl_sum_domain, &s);
	for (i = 0; i < s.n; i++) {
		struct ipc_rec *rec = ipc_rec_new(PROTO_T_DOMAIN);
		const struct domain *d = domain_find(env->cfg->domains, s.d[i].domain);

		ipc_rec_add(rec, PROTO_F_DOMAIN, s.d[i].domain);
		qctl_dom_fields(&s.d[i], rec);
		qctl_gate_add(env, s.d[i].domain, rec);
		/* A held customer domain's home host in a fleet (home.h). */
		if (d != NULL && d->mode == DOMAIN_MODE_HOLD) {
			char *home = home_of(env->cfg, d->name);

			ipc_rec_add(rec, PROTO_F_HOME, home);
			free(home);
		}
		/* A capped domain's limits (quota.h), beside its figures. */
		if (d != NULL && d->max_messages > 0)
			ipc_rec_addf(rec, PROTO_F_MAX_MESSAGES, "%ld", d->max_messages);
		if (d != NULL && d->max_bytes > 0)
			ipc_rec_addf(rec, PROTO_F_MAX_BYTES, "%ld", d->max_bytes);
		if (ret == 0 && out->emit(rec, out->ctx) < 0)
			ret = -1;
		ipc_rec_free(&rec);
		free(s.d[i].domain);
	}
	free(s.d);
	total = ipc_rec_new(PROTO_T_TOTAL);
	qctl_dom_fields(&s.total, total);
	if (ret == 0 && out->emit(total, out->ctx) < 0)
		ret = -1;
	ipc_rec_free(&total);
	return ret;
}

static int
qctl_deleted(struct qctl_out *out, const char *type, const char *id)
{
	struct ipc_rec *rec = ipc_rec_new(type);
	int ret;

	ipc_rec_add(rec, PROTO_F_ID, id);
	ret = out->emit(rec, out->ctx);
	ipc_rec_free(&rec);
	return ret;
}

/* qctl_delete_domain_rcpts - journal domain's pending recipients of id as deleted */
static int
qctl_delete_domain_rcpts(struct qctl_env *env, const char *id, const char *domain)
{
	struct envelope *msg;
	enum journal_status *st;
	size_t i;
	int ret = 0;

	if (queue_read_envelope(env->qdir, id, &msg) < 0)
		return errno == ENOENT || errno == EBADMSG ? 0 : -1;
	st = xcalloc(msg->nrcpt ? msg->nrcpt : 1, sizeof(*st));
	if (queue_journal_read(env->qdir, id, msg->nrcpt, st) < 0)
		ret = -1;
	for (i = 0; ret == 0 && i < msg->nrcpt; i++) {
		char *d = address_domain_lower(msg->rcpt[i].addr);

		if (st[i] == JOURNAL_PENDING && strcmp(d, domain) == 0 &&
		    queue_journal_append(env->qdir, id, i, JOURNAL_DELETED) < 0)
			ret = -1;
		free(d);
	}
	free(st);
	envelope_free(&msg);
	return ret;
}

/* qctl_req_has_id - does req name id in one of its id= fields? */
static bool
qctl_req_has_id(const struct ipc_rec *req, const char *id)
{
	size_t i;

	for (i = 1; i < req->n; i++)
		if (strcmp(req->f[i].name, PROTO_F_ID) == 0 && strcmp(req->f[i].value, id) == 0)
			return true;
	return false;
}

/* qctl_delete_one - remove message id, file and entries; 0, 1 not there, -1 */
static int
qctl_delete_one(struct qctl_env *env, const char *id)
{
	char *path = queue_path(env->qdir, id, false);
	struct stat sb;

	if (stat(path, &sb) < 0) {
		free(path);
		qindex_del_message(env->qi, id);
		return 1;
	}
	free(path);
	if (queue_remove(env->qdir, id) < 0 || qindex_del_message(env->qi, id) < 0)
		return -1;
	log_info("%s: removed by uid=%ld", id, env->uid);
	return 0;
}

static int
qctl_delete(struct qctl_env *env, const struct ipc_rec *req, struct qctl_out *out,
    const char **why_r)
{
	const char *domain = ipc_rec_get(req, PROTO_F_DOMAIN);
	const char *all = ipc_rec_get(req, PROTO_F_ALL);
	bool some = ipc_rec_get(req, PROTO_F_ID) != NULL;
	size_t i;
	int ret = 0;

	if (domain == NULL && all != NULL && strcmp(all, "1") == 0) {
		struct qctl_scan s = { .env = env };

		if (qindex_walk_all(env->qi, qctl_collect_ids, &s) < 0) {
			*why_r = "index walk failed";
			ret = -1;
		}
		for (i = 0; i < s.nids; i++) {
			int one = ret == 0 ? qctl_delete_one(env, s.ids[i]) : 1;

			if (one < 0) {
				*why_r = "remove failed; see the log";
				ret = -1;
			} else if (one == 0) {
				qctl_deleted(out, PROTO_T_DELETED, s.ids[i]);
			}
			free(s.ids[i]);
		}
		free(s.ids);
		return ret;
	}
	if (domain != NULL) {
		struct qctl_scan s = { .env = env };
		char *lower;

		if (!address_domain_ok(domain, strlen(domain))) {
			*why_r = "bad domain name";
			return -1;
		}
		lower = address_lower(domain);
		if (qindex_walk_domain(env->qi, lower, qctl_collect_entry_ids, &s) < 0) {
			free(lower);
			*why_r = "index walk failed";
			return -1;
		}
		for (i = 0; i < s.nids; i++) {
			/* With id= fields too, only those messages (the CLI's filters chose them). */
			if ((!some || qctl_req_has_id(req, s.ids[i])) &&
			    qctl_delete_domain_rcpts(env, s.ids[i], lower) == 0 &&
			    qctl_index_message(env, s.ids[i]) == 0) {
				log_info("%s: removed by uid=%ld (recipients of %s)", s.ids[i],
				    env->uid, lower);
				qctl_deleted(out, PROTO_T_DELETED, s.ids[i]);
			}
			free(s.ids[i]);
		}
		free(s.ids);
		free(lower);
		return 0;
	}
	for (i = 1; i < req->n; i++) {
		const char *id = req->f[i].value;
		int one;

		if (strcmp(req->f[i].name, PROTO_F_ID) != 0)
			continue;
		if (!queue_id_ok(id) || (one = qctl_delete_one(env, id)) == 1) {
			qctl_deleted(out, PROTO_T_MISSING, id);
			continue;
		}
		if (one < 0) {
			*why_r = "remove failed; see the log";
			return -1;
		}
		qctl_deleted(out, PROTO_T_DELETED, id);
	}
	return 0;
}

static int
qctl_reindex(struct qctl_env *env, struct qctl_out *out)
{
	struct ipc_rec *rec;
	int n;

	if ((n = qctl_index_reset(env)) < 0)
		return -1;
	log_info("reindex: %d message%s indexed from %s/msg, by uid=%ld", n, n == 1 ? "" : "s",
	    env->qdir, env->uid);
	rec = ipc_rec_new(PROTO_T_REINDEXED);
	ipc_rec_addf(rec, PROTO_F_MESSAGES, "%d", n);
	n = out->emit(rec, out->ctx);
	ipc_rec_free(&rec);
	return n;
}

/* What type=status counts: entries, and the messages behind them. */
struct qctl_counts {
	size_t entries;
	size_t messages;	/* distinct IDs (the walk is in ID order) */
	size_t held;		/* messages with an entry on operator hold */
	char last[QUEUE_ID_LEN + 1];
	bool last_held;
};

static int
qctl_count(const struct qindex_entry *e, void *ctx)
{
	struct qctl_counts *c = ctx;

	c->entries++;
	/* Keys are "ID/domain": a message's entries come one after another. */
	if (strcmp(c->last, e->id) != 0) {
		c->messages++;
		memcpy(c->last, e->id, sizeof(c->last));
		c->last_held = false;
	}
	if ((e->flags & QINDEX_F_HOLD) != 0 && !c->last_held) {
		c->held++;
		c->last_held = true;
	}
	return 0;
}

static int
qctl_status(struct qctl_env *env, struct qctl_out *out)
{
	struct qctl_counts c = { .entries = 0 };
	struct ipc_rec *rec;
	int ret;

	if (qindex_walk_all(env->qi, qctl_count, &c) < 0)
		return -1;
	rec = ipc_rec_new(PROTO_T_STATUS);
	ipc_rec_addf(rec, PROTO_F_PID, "%ld", (long)getpid());
	ipc_rec_add(rec, PROTO_F_QUEUE_DIRECTORY, env->qdir);
	ipc_rec_addf(rec, PROTO_F_ENTRIES, "%zu", c.entries);
	ipc_rec_addf(rec, PROTO_F_MESSAGES, "%zu", c.messages);
	ipc_rec_addf(rec, PROTO_F_HELD, "%zu", c.held);
	if (env->hooks != NULL && env->hooks->status != NULL)
		env->hooks->status(env->hooks->ctx, rec);
	ret = out->emit(rec, out->ctx);
	ipc_rec_free(&rec);
	return ret;
}

/*
 * qctl_bounce_message - return id's pending recipients (of domain, or
 * all) to the sender now (qctl_bounce: a notice first, then the
 * journal), then index what is left of it; by says who returned them
 * ("the postmaster"), in the notice and the log. 0/-1.
 */
static int
qctl_bounce_message(struct qctl_env *env, const char *id, const char *domain,
    const char *by)
{
	struct envelope *msg = NULL;
	enum journal_status *st = NULL;
	struct dsn_rcpt *dr = NULL;
	size_t *idx = NULL, n = 0, i;
	bool *done = NULL;
	struct dsn_params p = { .reporting_mta = env->cfg->myhostname };
	char *diagnostic = xasprintf("x-sluice; returned to the sender by %s", by);
	int ret = -1;

	if (queue_read_envelope(env->qdir, id, &msg) < 0)
		return -1;
	st = xcalloc(msg->nrcpt ? msg->nrcpt : 1, sizeof(*st));
	if (queue_journal_read(env->qdir, id, msg->nrcpt, st) < 0)
		goto out;
	dr = xcalloc(msg->nrcpt ? msg->nrcpt : 1, sizeof(*dr));
	idx = xcalloc(msg->nrcpt ? msg->nrcpt : 1, sizeof(*idx));
	done = xcalloc(msg->nrcpt ? msg->nrcpt : 1, sizeof(*done));
	for (i = 0; i < msg->nrcpt; i++) {
		char *d = address_domain_lower(msg->rcpt[i].addr);
		bool want = st[i] == JOURNAL_PENDING && (domain == NULL || strcmp(d, domain) == 0);

		free(d);
		if (!want)
			continue;
		dr[n].addr = msg->rcpt[i].addr;
		dr[n].orcpt = msg->rcpt[i].orcpt;
		dr[n].notify = msg->rcpt[i].notify;
		dr[n].action = DSN_ACTION_FAILED;
		dr[n].status = "5.0.0";
		dr[n].diagnostic = diagnostic;
		idx[n++] = i;
	}
	if (n == 0) {
		ret = 0;
		goto out;
	}
	if (qctl_bounce(env, id, msg, dr, idx, n, &p, JOURNAL_BOUNCED, done) < 0)
		goto out;
	ret = 0;
	for (i = 0; i < n; i++) {
		if (!done[i]) {
			ret = -1;
			continue;
		}
		log_info("%s: to=<%s>, relay=none, delay=%lld, dsn=5.0.0, status=bounced "
		    "(returned to the sender by %s)", id, dr[i].addr,
		    (long long)time_sub_sat(time(NULL), msg->arrival), by);
	}
	if (qctl_index_message(env, id) < 0)
		ret = -1;
out:
	free(diagnostic);
	free(done);
	free(idx);
	free(dr);
	free(st);
	envelope_free(&msg);
	return ret;
}

/* qctl_requeue_message - make id's entries due now (gates permitting) */
static int
qctl_requeue_message(struct qctl_env *env, const char *id)
{
	struct qctl_old old = { 0 };
	size_t i;
	int ret = 0;

	if (qindex_walk_message(env->qi, id, qctl_collect_old, &old) < 0)
		return -1;
	for (i = 0; i < old.n; i++) {
		struct qindex_entry *e = NULL;

		if (qindex_get(env->qi, id, old.e[i]->domain, &e) == 1) {
			e->next_try = 0;
			if (qindex_put(env->qi, e) < 0)
				ret = -1;
		}
		qindex_entry_free(&e);
		qindex_entry_free(&old.e[i]);
	}
	free(old.e);
	return ret;
}

/* qctl_act_one - apply a hold/release/bounce/requeue request to one message */
static int
qctl_act_one(struct qctl_env *env, const char *type, const char *id, const char *domain)
{
	if (strcmp(type, PROTO_T_HOLD) == 0) {
		if (queue_hold_set(env->qdir, id, true) < 0 || qctl_index_message(env, id) < 0)
			return -1;
		log_info("%s: placed on hold by uid=%ld", id, env->uid);
		return 0;
	}
	if (strcmp(type, PROTO_T_RELEASE) == 0) {
		if (queue_hold_set(env->qdir, id, false) < 0 || qctl_index_message(env, id) < 0)
			return -1;
		log_info("%s: released from hold by uid=%ld", id, env->uid);
	} else if (strcmp(type, PROTO_T_BOUNCE) == 0) {
		if (qctl_bounce_message(env, id, domain, "the postmaster") < 0)
			return -1;
		log_info("%s: returned to the sender by uid=%ld", id, env->uid);
		return 0;
	} else if (qctl_requeue_message(env, id) < 0) {
		return -1;
	} else {
		log_info("%s: requeued by uid=%ld", id, env->uid);
	}
	if (env->hooks != NULL && env->hooks->changed != NULL)
		env->hooks->changed(env->hooks->ctx, id);
	return 0;
}

/*
 * qctl_act_skip - why request type leaves message id as it is, or NULL:
 * hold of a held message and release of one not held change nothing, and
 * counting them would tell the operator of releases that never happened.
 */
static const char *
qctl_act_skip(const struct qctl_env *env, const char *type, const char *id)
{
	if (strcmp(type, PROTO_T_HOLD) == 0 && queue_hold_get(env->qdir, id))
		return "already on hold";
	if (strcmp(type, PROTO_T_RELEASE) == 0 && !queue_hold_get(env->qdir, id))
		return "not on hold";
	return NULL;
}

static int
qctl_collect_all_ids(const struct qindex_entry *e, void *ctx)
{
	return qctl_collect_ids(e, ctx);
}

/* qctl_act - hold, release, bounce, requeue: by ID, by domain, or all */
static int
qctl_act(struct qctl_env *env, const struct ipc_rec *req, struct qctl_out *out,
    const char **why_r)
{
	const char *type = ipc_rec_type(req), *domain = ipc_rec_get(req, PROTO_F_DOMAIN);
	const char *all = ipc_rec_get(req, PROTO_F_ALL);
	struct qctl_scan s = { .env = env };
	char *lower = NULL;
	size_t i;
	int ret = 0;

	if (domain != NULL) {
		if (!address_domain_ok(domain, strlen(domain))) {
			*why_r = "bad domain name";
			return -1;
		}
		lower = address_lower(domain);
		if (qindex_walk_domain(env->qi, lower, qctl_collect_entry_ids, &s) < 0)
			ret = -1;
	} else if (all != NULL && strcmp(all, "1") == 0) {
		if (qindex_walk_all(env->qi, qctl_collect_all_ids, &s) < 0)
			ret = -1;
	} else {
		for (i = 1; i < req->n; i++) {
			if (strcmp(req->f[i].name, PROTO_F_ID) != 0)
				continue;
			if (!queue_id_ok(req->f[i].value) ||
			    qindex_has_message(env->qi, req->f[i].value) != 1) {
				qctl_deleted(out, PROTO_T_MISSING, req->f[i].value);
				continue;
			}
			s.ids = xreallocarray(s.ids, s.nids + 1, sizeof(*s.ids));
			s.ids[s.nids++] = xstrdup(req->f[i].value);
		}
	}
	for (i = 0; i < s.nids; i++) {
		const char *skip = qctl_act_skip(env, type, s.ids[i]);

		if (ret == 0 && skip != NULL) {
			struct ipc_rec *rec = ipc_rec_new(PROTO_T_SKIPPED);

			ipc_rec_add(rec, PROTO_F_ID, s.ids[i]);
			ipc_rec_add(rec, PROTO_F_REASON, skip);
			if (out->emit(rec, out->ctx) < 0)
				ret = -1;
			ipc_rec_free(&rec);
		} else if (ret == 0 && qctl_act_one(env, type, s.ids[i], lower) == 0)
			qctl_deleted(out, PROTO_T_ACTED, s.ids[i]);
		else if (ret == 0)
			*why_r = "failed for a message; see the log";
		free(s.ids[i]);
	}
	free(s.ids);
	free(lower);
	return *why_r != NULL ? -1 : ret;
}

static int
qctl_flush(struct qctl_env *env, const struct ipc_rec *req, struct qctl_out *out,
    const char **why_r)
{
	const char *domain = ipc_rec_get(req, PROTO_F_DOMAIN);
	struct ipc_rec *reply;
	int ret;

	if (env->hooks == NULL || env->hooks->flush == NULL) {
		*why_r = "qmgr is not running: start sluice first (sluice start)";
		return -1;
	}
	if (domain != NULL && !address_domain_ok(domain, strlen(domain))) {
		*why_r = "bad domain name";
		return -1;
	}
	log_info("flush: domain=%s, by uid=%ld", domain != NULL ? domain : "ALL", env->uid);
	reply = env->hooks->flush(env->hooks->ctx, domain);
	ret = out->emit(reply, out->ctx);
	ipc_rec_free(&reply);
	return ret;
}

/* qctl_list - the entries of one domain, or of every domain */
static int
qctl_list(struct qctl_env *env, const struct ipc_rec *req, struct qctl_out *out,
    const char **why_r)
{
	const char *domain = ipc_rec_get(req, PROTO_F_DOMAIN);
	char *lower;
	int ret;

	if (domain == NULL)
		return qindex_walk_all(env->qi, qctl_emit_entry, out);
	if (!address_domain_ok(domain, strlen(domain))) {
		*why_r = "bad domain name";
		return -1;
	}
	lower = address_lower(domain);
	ret = qindex_walk_domain(env->qi, lower, qctl_emit_entry, out);
	free(lower);
	return ret;
}

/* The requests without arguments, in the shape of the others. */
static int
qctl_summary_req(struct qctl_env *env, const struct ipc_rec *req, struct qctl_out *out,
    const char **why_r)
{
	return qctl_summary(env, out);
}

static int
qctl_reindex_req(struct qctl_env *env, const struct ipc_rec *req, struct qctl_out *out,
    const char **why_r)
{
	return qctl_reindex(env, out);
}

static int
qctl_status_req(struct qctl_env *env, const struct ipc_rec *req, struct qctl_out *out,
    const char **why_r)
{
	return qctl_status(env, out);
}

/*
 * The requests (proto.h), one row each: the reply records come from run,
 * the end record from qctl_handle. On -1, run may say why in *why_r.
 */
static const struct {
	const char *type;
	int (*run)(struct qctl_env *env, const struct ipc_rec *req, struct qctl_out *out,
	    const char **why_r);
} qctl_requests[] = {
	{ PROTO_T_LIST, qctl_list },
	{ PROTO_T_SUMMARY, qctl_summary_req },
	{ PROTO_T_DELETE, qctl_delete },
	{ PROTO_T_REINDEX, qctl_reindex_req },
	{ PROTO_T_STATUS, qctl_status_req },
	{ PROTO_T_HOLD, qctl_act },
	{ PROTO_T_RELEASE, qctl_act },
	{ PROTO_T_BOUNCE, qctl_act },
	{ PROTO_T_REQUEUE, qctl_act },
	{ PROTO_T_FLUSH, qctl_flush },
};

/* qctl_handle - see qctl.h */
int
qctl_handle(struct qctl_env *env, const struct ipc_rec *req, qctl_emit_fn *emit, void *ctx)
{
	struct qctl_out out = { .env = env, .emit = emit, .ctx = ctx };
	const char *type = ipc_rec_type(req), *why = NULL;
	struct ipc_rec *end;
	size_t i;
	int ret = -1;

	for (i = 0; i < sizeof(qctl_requests) / sizeof(qctl_requests[0]); i++)
		if (strcmp(type, qctl_requests[i].type) == 0)
			break;
	if (i < sizeof(qctl_requests) / sizeof(qctl_requests[0]))
		ret = qctl_requests[i].run(env, req, &out, &why);
	else
		why = "unknown request type";
	if (out.failed)
		return -1;
	end = ipc_rec_new(PROTO_T_END);
	ipc_rec_add(end, PROTO_F_STATUS,
	    proto_status_name(ret == 0 ? PROTO_STATUS_OK : PROTO_STATUS_ERROR));
	if (ret != 0)
		ipc_rec_add(end, PROTO_F_REASON, why != NULL ? why : "index error; see the log");
	ret = emit(end, ctx);
	ipc_rec_free(&end);
	return ret;
}

/* qctl_customer_act - see qctl.h */
int
qctl_customer_act(struct qctl_env *env, const char *id, const char *domain,
    const char *action, const char *user, const char *client)
{
	struct qindex_entry *e = NULL;
	int found;

	if (!queue_id_ok(id) || !address_domain_ok(domain, strlen(domain))) {
		errno = EINVAL;
		return -1;
	}
	/* An entry of (id, domain) is what says it has pending recipients there. */
	if ((found = qindex_get(env->qi, id, domain, &e)) <= 0)
		return found;
	qindex_entry_free(&e);
	if (strcmp(action, PROTO_ACTION_DELETE) == 0) {
		if (qctl_delete_domain_rcpts(env, id, domain) < 0 ||
		    qctl_index_message(env, id) < 0)
			return -1;
		log_info("%s: removed by customer %s from [%s] (recipients of %s)", id,
		    user, client != NULL ? client : "?", domain);
		return 1;
	}
	if (strcmp(action, PROTO_ACTION_BOUNCE) == 0) {
		if (qctl_bounce_message(env, id, domain, "the recipient") < 0)
			return -1;
		log_info("%s: returned to the sender by customer %s from [%s] "
		    "(recipients of %s)", id, user, client != NULL ? client : "?", domain);
		return 1;
	}
	errno = EINVAL;
	return -1;
}
