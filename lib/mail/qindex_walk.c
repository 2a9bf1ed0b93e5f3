/*
 * qindex_walk - ranges of the queue index: a message's entries, a
 * domain's, the expired ones, all of them (see qindex.h).
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

/* system */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <db.h>

/* lib/util */
#include "util/log.h"
#include "util/xmalloc.h"

/* lib/mail */
#include "mail/address.h"
#include "mail/qindex.h"
#include "mail/qindex_int.h"
#include "mail/queue.h"

/* qindex_cursor - open a cursor on db, in txn or none; 0/-1 */
static int
qindex_cursor(struct qindex *qi, DB *db, DB_TXN *txn, DBC **dbc_r)
{
	int ret;

	if ((ret = db->cursor(db, txn, dbc_r, 0)) != 0)
		return qindex_fail(qi, ret, "open index cursor %s", qi->dir);
	return 0;
}

/* qindex_prefix - is the key inside the range of message id ("ID/...")? */
static bool
qindex_prefix(const DBT *k, const char *prefix, size_t plen)
{
	return k->size >= plen && memcmp(k->data, prefix, plen) == 0;
}

/*
 * qindex_message_range - position dbc on the first key of message id, or
 * the next one; ret as from DBC->get. The prefix "ID/" is built in prefix.
 */
static int
qindex_message_range(DBC *dbc, const char *id, char prefix[QUEUE_ID_LEN + 2], DBT *k, DBT *d)
{
	snprintf(prefix, QUEUE_ID_LEN + 2, "%s/", id);
	*k = qindex_dbt(prefix, QUEUE_ID_LEN + 1);
	*d = qindex_dbt(NULL, 0);
	return dbc->get(dbc, k, d, DB_SET_RANGE);
}

/* qindex_del_message - remove the entries of id in one transaction; count or -1 */
int
qindex_del_message(struct qindex *qi, const char *id)
{
	char prefix[QUEUE_ID_LEN + 2];
	DB_TXN *txn;
	DBC *dbc;
	DBT k, d;
	int ret, n = 0;

	if (!queue_id_ok(id)) {
		errno = EINVAL;
		return -1;
	}
	if (qindex_txn_begin(qi, &txn) < 0)
		return -1;
	if (qindex_cursor(qi, qi->entries, txn, &dbc) < 0) {
		txn->abort(txn);
		return -1;
	}
	ret = qindex_message_range(dbc, id, prefix, &k, &d);
	while (ret == 0 && qindex_prefix(&k, prefix, QUEUE_ID_LEN + 1)) {
		if (qi->domains != NULL && qindex_stats_change(qi, txn, &k, &d, -1) < 0) {
			dbc->close(dbc);
			txn->abort(txn);
			return -1;
		}
		if ((ret = dbc->del(dbc, 0)) != 0)
			break;
		n++;
		ret = dbc->get(dbc, &k, &d, DB_NEXT);
	}
	dbc->close(dbc);
	if (ret != 0 && ret != DB_NOTFOUND) {
		txn->abort(txn);
		return qindex_fail(qi, ret, "%s: delete index entries", id);
	}
	return qindex_commit(qi, txn) < 0 ? -1 : n;
}

/* qindex_has_message - 1 if an entry of id exists, 0 if none, -1 error */
int
qindex_has_message(struct qindex *qi, const char *id)
{
	char prefix[QUEUE_ID_LEN + 2];
	DBC *dbc;
	DBT k, d;
	int ret;

	if (!queue_id_ok(id)) {
		errno = EINVAL;
		return -1;
	}
	if (qindex_cursor(qi, qi->entries, NULL, &dbc) < 0)
		return -1;
	ret = qindex_message_range(dbc, id, prefix, &k, &d);
	if (ret == 0)
		ret = qindex_prefix(&k, prefix, QUEUE_ID_LEN + 1) ? 1 : 0;
	else if (ret == DB_NOTFOUND)
		ret = 0;
	else {
		qindex_fail(qi, ret, "%s: read index entries", id);
		ret = -1;
	}
	dbc->close(dbc);
	return ret;
}

/*
 * A walk reads a batch of records under a cursor, closes the cursor, and
 * only then calls back. A Berkeley DB cursor keeps a lock on its page
 * while it is open, so a callback that wrote to the index (or took long)
 * under an open cursor would block writers, itself included, forever.
 * Between batches the walk repositions just past the last key it read.
 */
#define QINDEX_WALK_BATCH	64
#define QINDEX_SKEY_MAX		ADDRESS_DOMAIN_MAX

enum qwalk_kind {
	QWALK_PRIMARY,		/* entries: from a start key (or the first) on */
	QWALK_DUPS,		/* a secondary: the duplicates of one key */
	QWALK_SECONDARY,	/* a secondary: from its first key on */
};

struct qwalk {
	enum qwalk_kind kind;
	DB *db;
	/* where to start: key (or, if none, the first record) */
	const char *start;
	size_t start_len;
	/* the range: primary keys with this prefix, or expiry keys up to limit */
	const char *prefix;
	size_t prefix_len;
	uint64_t limit;
	/* the last (secondary key, primary key) read, to resume after */
	unsigned char skey[QINDEX_SKEY_MAX];
	size_t skey_len;
	char pkey[QINDEX_KEY_MAX];
	size_t pkey_len;
	bool started;
	bool done;
	size_t bad;		/* records that failed decoding */
	struct qindex_entry *batch[QINDEX_WALK_BATCH];
	size_t n;
};

/* qwalk_save - remember the position just read (keys are bounded by the callers' checks) */
static void
qwalk_save(struct qwalk *w, const DBT *skey, const DBT *pkey)
{
	w->skey_len = skey != NULL && skey->size <= sizeof(w->skey) ? skey->size : 0;
	if (w->skey_len > 0)
		memcpy(w->skey, skey->data, w->skey_len);
	w->pkey_len = pkey->size <= sizeof(w->pkey) ? pkey->size : 0;
	memcpy(w->pkey, pkey->data, w->pkey_len);
	w->started = true;
}

/* qwalk_same - does k hold exactly len bytes of buf? */
static bool
qwalk_same(const DBT *k, const void *buf, size_t len)
{
	return k->size == len && memcmp(k->data, buf, len) == 0;
}

/*
 * qwalk_first - position the cursor on the first record not yet read:
 * the start of the walk, or just past the last position saved.
 */
static int
qwalk_first(struct qwalk *w, DBC *dbc, DBT *sk, DBT *pk, DBT *d)
{
	int ret;

	if (w->kind == QWALK_PRIMARY) {
		*pk = w->started ? qindex_dbt(w->pkey, w->pkey_len) :
		    qindex_dbt(w->start, w->start_len);
		if (!w->started && w->start == NULL)
			return dbc->get(dbc, pk, d, DB_FIRST);
		ret = dbc->get(dbc, pk, d, DB_SET_RANGE);
		if (ret == 0 && w->started && qwalk_same(pk, w->pkey, w->pkey_len))
			ret = dbc->get(dbc, pk, d, DB_NEXT);
		return ret;
	}
	if (!w->started) {
		*sk = qindex_dbt(w->start, w->start_len);
		return dbc->pget(dbc, sk, pk, d,
		    w->kind == QWALK_DUPS ? DB_SET : DB_FIRST);
	}
	/* The saved duplicate, or the next one after it under the same key. */
	*sk = qindex_dbt(w->skey, w->skey_len);
	*pk = qindex_dbt(w->pkey, w->pkey_len);
	ret = dbc->pget(dbc, sk, pk, d, DB_GET_BOTH_RANGE);
	if (ret == 0 && qwalk_same(pk, w->pkey, w->pkey_len))
		ret = dbc->pget(dbc, sk, pk, d,
		    w->kind == QWALK_DUPS ? DB_NEXT_DUP : DB_NEXT);
	if (ret != DB_NOTFOUND || w->kind == QWALK_DUPS)
		return ret;
	/* None left under the saved key: go to the next key. */
	*sk = qindex_dbt(w->skey, w->skey_len);
	ret = dbc->pget(dbc, sk, pk, d, DB_SET_RANGE);
	if (ret == 0 && qwalk_same(sk, w->skey, w->skey_len))
		ret = dbc->pget(dbc, sk, pk, d, DB_NEXT_NODUP);
	return ret;
}

/* qwalk_in_range - is this record still inside the walk? (false ends it) */
static bool
qwalk_in_range(const struct qwalk *w, const DBT *sk, const DBT *pk)
{
	struct qread r = { .p = sk->data, .left = sk->size };
	uint64_t t;

	if (w->prefix != NULL)
		return pk->size >= w->prefix_len &&
		    memcmp(pk->data, w->prefix, w->prefix_len) == 0;
	if (w->kind == QWALK_SECONDARY)
		return sk->size == 8 && qread_uint(&r, 8, &t) == 0 &&
		    t <= w->limit;
	return true;
}

/* qwalk_fill - read up to a batch of decoded entries; 0, or a Berkeley DB error */
static int
qwalk_fill(struct qwalk *w)
{
	DBC *dbc;
	DBT sk = qindex_dbt(NULL, 0), pk = qindex_dbt(NULL, 0), d = qindex_dbt(NULL, 0);
	int ret, next = w->kind == QWALK_DUPS ? DB_NEXT_DUP : DB_NEXT;

	if ((ret = w->db->cursor(w->db, NULL, &dbc, 0)) != 0)
		return ret;
	for (ret = qwalk_first(w, dbc, &sk, &pk, &d); ret == 0;
	    ret = w->kind == QWALK_PRIMARY ? dbc->get(dbc, &pk, &d, next) :
	    dbc->pget(dbc, &sk, &pk, &d, next)) {
		if (!qwalk_in_range(w, &sk, &pk)) {
			w->done = true;
			break;
		}
		qwalk_save(w, w->kind == QWALK_PRIMARY ? NULL : &sk, &pk);
		if ((w->batch[w->n] = qindex_decode(&pk, &d)) == NULL) {
			qindex_warn_bad(&pk);
			w->bad++;
		} else if (++w->n == QINDEX_WALK_BATCH)
			break;
	}
	dbc->close(dbc);
	if (ret == DB_NOTFOUND) {
		w->done = true;
		ret = 0;
	}
	return ret;
}

/* qwalk_run - batches until the range ends, fn stops, or an error; 0/-1 */
static int
qwalk_run(struct qindex *qi, struct qwalk *w, qindex_walk_fn *fn, void *ctx)
{
	size_t i;
	int ret, rc = 0;

	while (rc == 0 && !w->done) {
		w->n = 0;
		if ((ret = qwalk_fill(w)) != 0) {
			qindex_fail(qi, ret, "walk index %s", qi->dir);
			rc = -1;
		}
		for (i = 0; i < w->n; i++) {
			if (rc == 0)
				rc = fn(w->batch[i], ctx);
			qindex_entry_free(&w->batch[i]);
		}
	}
	/* A record we wrote and cannot read back: the index is damaged. */
	if (w->bad > 0)
		qi->damaged = true;
	return rc < 0 ? -1 : 0;
}

/* qindex_walk_domain - the duplicates of domain in by_domain */
int
qindex_walk_domain(struct qindex *qi, const char *domain, qindex_walk_fn *fn, void *ctx)
{
	char low[ADDRESS_DOMAIN_MAX + 1];
	struct qwalk w = { .kind = QWALK_DUPS, .db = qi->by_domain };

	if (qindex_lower(domain, low) < 0) {
		errno = EINVAL;
		return -1;
	}
	w.start = low;
	w.start_len = strlen(low);
	return qwalk_run(qi, &w, fn, ctx);
}

/*
 * qindex_walk_domain_after - the duplicates of domain from just past
 * "AFTER/domain": a walk resumed at a saved position (by_domain's
 * duplicates sort by primary key, which starts with the queue ID).
 */
int
qindex_walk_domain_after(struct qindex *qi, const char *domain, const char *after,
    qindex_walk_fn *fn, void *ctx)
{
	char low[ADDRESS_DOMAIN_MAX + 1];
	struct qwalk w = { .kind = QWALK_DUPS, .db = qi->by_domain };
	int n;

	if (after == NULL || *after == '\0')
		return qindex_walk_domain(qi, domain, fn, ctx);
	if (qindex_lower(domain, low) < 0 || !queue_id_ok(after)) {
		errno = EINVAL;
		return -1;
	}
	w.start = low;
	w.start_len = strlen(low);
	memcpy(w.skey, low, w.start_len);
	w.skey_len = w.start_len;
	n = snprintf(w.pkey, sizeof(w.pkey), "%s/%s", after, low);
	if (n < 0 || (size_t)n >= sizeof(w.pkey)) {
		errno = EINVAL;
		return -1;
	}
	w.pkey_len = (size_t)n;
	w.started = true;
	return qwalk_run(qi, &w, fn, ctx);
}

/*
 * qindex_last_dup - position dbc on the last duplicate of key k (which
 * exists): the first record of the next key, one back; or the last
 * record of the database when k is the last key.
 */
static int
qindex_last_dup(DBC *dbc, DBT *sk, DBT *pk, DBT *d)
{
	int ret = dbc->pget(dbc, sk, pk, d, DB_NEXT_NODUP);

	if (ret == 0)
		return dbc->pget(dbc, sk, pk, d, DB_PREV);
	if (ret == DB_NOTFOUND)
		return dbc->pget(dbc, sk, pk, d, DB_LAST);
	return ret;
}

/* qindex_walk_domain_before - see qindex.h */
int
qindex_walk_domain_before(struct qindex *qi, const char *domain, const char *before,
    size_t max, qindex_walk_fn *fn, void *ctx)
{
	char low[ADDRESS_DOMAIN_MAX + 1], pkey[QINDEX_KEY_MAX + 1];
	struct qindex_entry **e;
	size_t n = 0, bad = 0, i, len;
	DBC *dbc;
	DBT sk, pk, d;
	int ret, rc = 0;

	if (qindex_lower(domain, low) < 0 || !queue_id_ok(before) || max > QINDEX_PAGE_MAX) {
		errno = EINVAL;
		return -1;
	}
	len = strlen(low);
	snprintf(pkey, sizeof(pkey), "%s/%s", before, low);
	if (max == 0 || qindex_cursor(qi, qi->by_domain, NULL, &dbc) < 0)
		return max == 0 ? 0 : -1;
	e = xcalloc(max, sizeof(*e));
	sk = qindex_dbt(low, len);
	pk = qindex_dbt(pkey, strlen(pkey));
	d = qindex_dbt(NULL, 0);
	/* The first duplicate at or past "BEFORE/domain", then one back. */
	ret = dbc->pget(dbc, &sk, &pk, &d, DB_GET_BOTH_RANGE);
	if (ret == 0)
		ret = dbc->pget(dbc, &sk, &pk, &d, DB_PREV_DUP);
	else if (ret == DB_NOTFOUND) {
		/* None at or past it: every duplicate is before; start at the last. */
		sk = qindex_dbt(low, len);
		if ((ret = dbc->pget(dbc, &sk, &pk, &d, DB_SET)) == 0)
			ret = qindex_last_dup(dbc, &sk, &pk, &d);
		if (ret == 0 && !qwalk_same(&sk, low, len))
			ret = DB_NOTFOUND;
	}
	while (ret == 0 && n < max) {
		if ((e[n] = qindex_decode(&pk, &d)) == NULL) {
			qindex_warn_bad(&pk);
			bad++;
		} else
			n++;
		ret = dbc->pget(dbc, &sk, &pk, &d, DB_PREV_DUP);
	}
	dbc->close(dbc);
	if (ret != 0 && ret != DB_NOTFOUND) {
		qindex_fail(qi, ret, "walk index %s", qi->dir);
		rc = -1;
	}
	if (bad > 0)
		qi->damaged = true;
	for (i = 0; i < n; i++) {
		if (rc == 0 && (ret = fn(e[i], ctx)) != 0)
			rc = ret < 0 ? -1 : 1;
		qindex_entry_free(&e[i]);
	}
	free(e);
	return rc < 0 ? -1 : 0;
}

/* qindex_walk_expiry - by_expiry from its first key while the key <= before */
int
qindex_walk_expiry(struct qindex *qi, time_t before, qindex_walk_fn *fn, void *ctx)
{
	struct qwalk w = { .kind = QWALK_SECONDARY, .db = qi->by_expiry };

	if (before < 0)
		return 0;
	w.limit = qindex_time_key(before);
	return qwalk_run(qi, &w, fn, ctx);
}

/* qindex_walk_all - every entry of the primary in key order */
int
qindex_walk_all(struct qindex *qi, qindex_walk_fn *fn, void *ctx)
{
	struct qwalk w = { .kind = QWALK_PRIMARY, .db = qi->entries };

	return qwalk_run(qi, &w, fn, ctx);
}

/* qindex_walk_all_from - the primary in key order from the first key >= from */
int
qindex_walk_all_from(struct qindex *qi, const char *from, qindex_walk_fn *fn, void *ctx)
{
	struct qwalk w = { .kind = QWALK_PRIMARY, .db = qi->entries };

	if (from != NULL && *from != '\0') {
		w.start = from;
		w.start_len = strlen(from);
	}
	return qwalk_run(qi, &w, fn, ctx);
}

/* qindex_walk_message - the primary range "ID/" */
int
qindex_walk_message(struct qindex *qi, const char *id, qindex_walk_fn *fn, void *ctx)
{
	char prefix[QUEUE_ID_LEN + 2];
	struct qwalk w = { .kind = QWALK_PRIMARY, .db = qi->entries };

	if (!queue_id_ok(id)) {
		errno = EINVAL;
		return -1;
	}
	snprintf(prefix, sizeof(prefix), "%s/", id);
	w.start = w.prefix = prefix;
	w.start_len = w.prefix_len = QUEUE_ID_LEN + 1;
	return qwalk_run(qi, &w, fn, ctx);
}

/* qindex_count_domain - number of by_domain duplicates for the domain */
int
qindex_count_domain(struct qindex *qi, const char *domain, size_t *entries_r)
{
	char low[ADDRESS_DOMAIN_MAX + 1];
	db_recno_t n = 0;
	DBC *dbc;
	DBT k, d;
	int ret;

	*entries_r = 0;
	if (qindex_lower(domain, low) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (qindex_cursor(qi, qi->by_domain, NULL, &dbc) < 0)
		return -1;
	k = qindex_dbt(low, strlen(low));
	d = qindex_dbt(NULL, 0);
	if ((ret = dbc->get(dbc, &k, &d, DB_SET)) == 0)
		ret = dbc->count(dbc, &n, 0);
	dbc->close(dbc);
	if (ret != 0 && ret != DB_NOTFOUND)
		return qindex_fail(qi, ret, "count index entries %s", low);
	*entries_r = n;
	return 0;
}

/* One domain seen by qindex_walk_domains. */
struct qindex_dname {
	char name[ADDRESS_DOMAIN_MAX + 1];
	size_t entries;
};

/*
 * qindex_walk_domains - by_domain's keys, one DB_NEXT_NODUP each: the
 * names are copied out (a domain costs a line of memory, never its mail)
 * and fn called once the cursor is closed, as a walk does.
 */
int
qindex_walk_domains(struct qindex *qi, qindex_domain_fn *fn, void *ctx)
{
	struct qindex_dname *v = NULL;
	size_t n = 0, i;
	db_recno_t count;
	DBC *dbc;
	DBT k, d;
	int ret, rc = 0;

	if (qindex_cursor(qi, qi->by_domain, NULL, &dbc) < 0)
		return -1;
	k = qindex_dbt(NULL, 0);
	d = qindex_dbt(NULL, 0);
	for (ret = dbc->get(dbc, &k, &d, DB_FIRST); ret == 0;
	    ret = dbc->get(dbc, &k, &d, DB_NEXT_NODUP)) {
		/* A key no domain can be is damage, as a record that fails decoding. */
		if (k.size == 0 || k.size > ADDRESS_DOMAIN_MAX ||
		    !address_domain_ok(k.data, k.size) || memchr(k.data, '\0', k.size) != NULL) {
			log_warn("skip index domain key: bad key");
			qi->damaged = true;
			continue;
		}
		if ((ret = dbc->count(dbc, &count, 0)) != 0)
			break;
		v = xreallocarray(v, n + 1, sizeof(*v));
		memcpy(v[n].name, k.data, k.size);
		v[n].name[k.size] = '\0';
		v[n].entries = count;
		n++;
	}
	dbc->close(dbc);
	if (ret != 0 && ret != DB_NOTFOUND)
		rc = qindex_fail(qi, ret, "walk index domains %s", qi->dir);
	for (i = 0; i < n && rc == 0; i++)
		if ((ret = fn(v[i].name, v[i].entries, ctx)) != 0)
			rc = ret < 0 ? -1 : 1;
	free(v);
	return rc < 0 ? -1 : 0;
}
