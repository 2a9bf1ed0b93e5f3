/*
 * qindex_stats - each domain's figures kept in the queue index (see
 * qindex.h): how many entries and how many content bytes it holds, so
 * that the status of a domain (finger, the web page, domainstatus) costs
 * a lookup, not a walk of the domain's mail: 631 ms per refresh of the
 * web page with 100,000 messages held for one customer (issue 12).
 *
 *	domains.db	btree, domain -> record
 *
 * Record, version 1 (big-endian): u8 version | u64 entries | u64 bytes.
 * The key "\0" (no domain has it) marks the database complete.
 *
 * Every put and delete of an entry changes its domain's record in the
 * same transaction (qindex.c, qindex_walk.c), so the figures cannot
 * drift from the entries; a reindex builds a new environment and with it
 * new figures. An environment from before this file, or one whose fill
 * was cut short by a crash (no marker), is filled from the entries when
 * its owner opens it. A record that fails decoding, or a count that
 * would go below zero, is damage as a bad entry is: the owner rebuilds.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

/* system */
#include <sys/stat.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <db.h>

/* lib/util */
#include "util/htable.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* lib/mail */
#include "mail/address.h"
#include "mail/qindex.h"
#include "mail/qindex_int.h"

#define QSTATS_VERSION		1
#define QSTATS_LEN		(1 + 8 + 8)
/* How many of a domain's first entries (in queue ID order) give its oldest and next expiry. */
#define QSTATS_HEAD		64

static const char qstats_marker[1] = { '\0' };

/* One domain's figures. */
struct qstats {
	uint64_t entries;
	uint64_t bytes;
};

/* qstats_encode - the record of st into buf */
static void
qstats_encode(const struct qstats *st, unsigned char buf[QSTATS_LEN])
{
	size_t i;

	buf[0] = QSTATS_VERSION;
	for (i = 0; i < 8; i++) {
		buf[1 + i] = (unsigned char)(st->entries >> (8 * (7 - i)));
		buf[9 + i] = (unsigned char)(st->bytes >> (8 * (7 - i)));
	}
}

/* qstats_decode - a record into st; 0/-1 */
static int
qstats_decode(const DBT *d, struct qstats *st)
{
	struct qread r = { .p = d->data, .left = d->size };
	uint64_t v;

	if (d->size != QSTATS_LEN || qread_uint(&r, 1, &v) < 0 || v != QSTATS_VERSION ||
	    qread_uint(&r, 8, &st->entries) < 0 || qread_uint(&r, 8, &st->bytes) < 0)
		return -1;
	return 0;
}

/* qstats_put - store st as the record of domain (len bytes) in txn; 0/-1 */
static int
qstats_put(struct qindex *qi, DB_TXN *txn, const void *domain, size_t len,
    const struct qstats *st)
{
	unsigned char buf[QSTATS_LEN];
	DBT k = qindex_dbt(domain, len), d;
	int ret;

	if (st->entries == 0)
		ret = qi->domains->del(qi->domains, txn, &k, 0);
	else {
		qstats_encode(st, buf);
		d = qindex_dbt(buf, sizeof(buf));
		ret = qi->domains->put(qi->domains, txn, &k, &d, 0);
	}
	if (ret != 0 && ret != DB_NOTFOUND)
		return qindex_fail(qi, ret, "store index domain figures %s", qi->dir);
	return 0;
}

/* qindex_stats_change - see qindex_int.h */
int
qindex_stats_change(struct qindex *qi, DB_TXN *txn, const DBT *pkey, const DBT *data, int sign)
{
	struct qstats st = { 0 };
	const char *dom;
	size_t len;
	uint64_t size = qindex_record_size(data);
	DBT k, d = qindex_dbt(NULL, 0);
	int ret;

	/* A key that is no entry's (a test's bad record) is no domain's either. */
	if ((dom = qindex_key_domain(pkey, &len)) == NULL)
		return 0;
	k = qindex_dbt(dom, len);
	ret = qi->domains->get(qi->domains, txn, &k, &d, DB_RMW);
	if (ret != 0 && ret != DB_NOTFOUND)
		return qindex_fail(qi, ret, "read index domain figures %s", qi->dir);
	if (ret == 0 && qstats_decode(&d, &st) < 0) {
		log_warn("index domain figures of %.*s: bad record", (int)len, dom);
		qi->damaged = true;
		errno = EBADMSG;
		return -1;
	}
	if (sign > 0) {
		st.entries++;
		st.bytes += size;
	} else if (st.entries == 0 || st.bytes < size) {
		/* Only a stats_ok database is believed; one still being filled may lag. */
		if (qi->stats_ok) {
			log_warn("index domain figures of %.*s: below zero", (int)len, dom);
			qi->damaged = true;
		}
		st.entries = st.entries > 0 ? st.entries - 1 : 0;
		st.bytes = st.bytes > size ? st.bytes - size : 0;
	} else {
		st.entries--;
		st.bytes -= size;
	}
	return qstats_put(qi, txn, dom, len, &st);
}

/* qindex_stats_total - see qindex_int.h */
int
qindex_stats_total(struct qindex *qi, uint64_t *entries_r)
{
	struct qstats st;
	DBC *dbc;
	DBT k = qindex_dbt(NULL, 0), d = qindex_dbt(NULL, 0);
	int ret;

	*entries_r = 0;
	if ((ret = qi->domains->cursor(qi->domains, NULL, &dbc, 0)) != 0)
		return qindex_fail(qi, ret, "read index domain figures %s", qi->dir);
	while ((ret = dbc->get(dbc, &k, &d, DB_NEXT)) == 0) {
		/* The marker is no domain's. */
		if (k.size == sizeof(qstats_marker) && memcmp(k.data, qstats_marker, k.size) == 0)
			continue;
		if (qstats_decode(&d, &st) < 0) {
			log_warn("index domain figures of %.*s: bad record", (int)k.size,
			    (const char *)k.data);
			qi->damaged = true;
			dbc->close(dbc);
			errno = EBADMSG;
			return -1;
		}
		*entries_r += st.entries;
	}
	dbc->close(dbc);
	if (ret != DB_NOTFOUND)
		return qindex_fail(qi, ret, "read index domain figures %s", qi->dir);
	return 0;
}

/* A domain's figures while filling, keyed by name. */
struct qstats_fill {
	struct htable *dom;
	int failed;
};

static int
qstats_fill_one(const struct qindex_entry *e, void *ctx)
{
	struct qstats_fill *f = ctx;
	struct qstats *st = htable_get(f->dom, e->domain);

	if (st == NULL) {
		st = xcalloc(1, sizeof(*st));
		htable_put(f->dom, e->domain, st);
	}
	st->entries++;
	st->bytes += e->size;
	return 0;
}

static int
qstats_store_one(const char *key, void *value, void *ctx)
{
	struct qindex *qi = ((void **)ctx)[0];
	struct qstats_fill *f = ((void **)ctx)[1];

	if (f->failed == 0 && qstats_put(qi, NULL, key, strlen(key), value) < 0)
		f->failed = 1;
	free(value);
	return 0;
}

/*
 * qstats_fill - count every entry into domains.db, then set the marker.
 * The sums are made in memory (a line per domain) over one walk, and
 * each domain's record is written in its own transaction: one
 * transaction over a million entries would outgrow the lock table. A
 * crash before the marker leaves it to be done again at the next open.
 */
static int
qstats_fill(struct qindex *qi)
{
	struct qstats_fill f = { .dom = htable_new() };
	void *ctx[2] = { qi, &f };
	DBT k = qindex_dbt(qstats_marker, sizeof(qstats_marker)), d;
	u_int32_t n;
	int ret;

	if ((ret = qi->domains->truncate(qi->domains, NULL, &n, DB_AUTO_COMMIT)) != 0) {
		htable_free(&f.dom);
		return qindex_fail(qi, ret, "empty index domain figures %s", qi->dir);
	}
	if (qindex_walk_all(qi, qstats_fill_one, &f) < 0)
		f.failed = 1;
	htable_walk(f.dom, qstats_store_one, ctx);
	htable_free(&f.dom);
	if (f.failed)
		return -1;
	d = qindex_dbt("", 0);
	if ((ret = qi->domains->put(qi->domains, NULL, &k, &d, 0)) != 0)
		return qindex_fail(qi, ret, "mark index domain figures %s", qi->dir);
	return 0;
}

/* qindex_stats_open - see qindex_int.h */
int
qindex_stats_open(struct qindex *qi, unsigned flags)
{
	bool owner = (flags & (QINDEX_CREATE | QINDEX_RECOVER)) != 0;
	char *path = xasprintf("%s/%s", qi->dir, DB_DOMAINS);
	struct stat sb;
	DBT k = qindex_dbt(qstats_marker, sizeof(qstats_marker)), d = qindex_dbt(NULL, 0);
	int ret, exists = stat(path, &sb) == 0;
	DB *db;

	free(path);
	/* A reader of an environment from before domains.db walks instead. */
	if (!exists && !owner)
		return 0;
	if ((ret = db_create(&db, qi->env, 0)) != 0)
		return qindex_fail(qi, ret, "create index handle %s", DB_DOMAINS);
	if ((ret = db->open(db, NULL, DB_DOMAINS, NULL, DB_BTREE,
	    DB_AUTO_COMMIT | (owner ? DB_CREATE : 0), 0600)) != 0) {
		db->close(db, 0);
		return qindex_fail(qi, ret, "open index %s/%s", qi->dir, DB_DOMAINS);
	}
	qi->domains = db;
	ret = db->get(db, NULL, &k, &d, 0);
	if (ret != 0 && ret != DB_NOTFOUND)
		return qindex_fail(qi, ret, "read index %s/%s", qi->dir, DB_DOMAINS);
	if (ret == DB_NOTFOUND && owner) {
		log_info("count the queue index's entries per domain in %s/%s", qi->dir,
		    DB_DOMAINS);
		if (qstats_fill(qi) < 0)
			return -1;
		ret = 0;
	}
	qi->stats_ok = ret == 0;
	return 0;
}

struct qstats_head {
	size_t n;
	time_t oldest, next_expiry;
};

static int
qstats_head_one(const struct qindex_entry *e, void *ctx)
{
	struct qstats_head *h = ctx;

	if (h->oldest == 0 || e->arrival < h->oldest)
		h->oldest = e->arrival;
	if (h->next_expiry == 0 || e->expiry < h->next_expiry)
		h->next_expiry = e->expiry;
	return ++h->n >= QSTATS_HEAD ? 1 : 0;
}

struct qstats_sum {
	uint64_t entries, bytes;
};

static int
qstats_sum_one(const struct qindex_entry *e, void *ctx)
{
	struct qstats_sum *s = ctx;

	s->entries++;
	s->bytes += e->size;
	return 0;
}

/* qindex_domain_stats - see qindex.h */
int
qindex_domain_stats(struct qindex *qi, const char *domain, struct qindex_domain_stats *st_r)
{
	char low[ADDRESS_DOMAIN_MAX + 1];
	struct qstats st = { 0 };
	struct qstats_head h = { 0 };
	DBT k, d = qindex_dbt(NULL, 0);
	int ret;

	memset(st_r, 0, sizeof(*st_r));
	if (qindex_lower(domain, low) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (!qi->stats_ok) {
		/* No figures kept (an old environment, read only): walk, as before them. */
		struct qstats_sum s = { 0 };

		if (qindex_walk_domain(qi, low, qstats_sum_one, &s) < 0)
			return -1;
		st.entries = s.entries;
		st.bytes = s.bytes;
	} else {
		k = qindex_dbt(low, strlen(low));
		ret = qi->domains->get(qi->domains, NULL, &k, &d, 0);
		if (ret != 0 && ret != DB_NOTFOUND)
			return qindex_fail(qi, ret, "read index domain figures %s", low);
		if (ret == 0 && qstats_decode(&d, &st) < 0) {
			log_warn("index domain figures of %s: bad record", low);
			qi->damaged = true;
			errno = EBADMSG;
			return -1;
		}
	}
	/*
	 * Queue IDs begin with the time of arrival, so the domain's first
	 * entries are its oldest, and the first to expire among them.
	 * XXX Only among the first QSTATS_HEAD: mail that arrived later under
	 * a shorter lifetime= (changed by a reload) may expire sooner and is
	 * not seen here; the expiry itself walks by_expiry and misses none.
	 */
	if (st.entries > 0 && qindex_walk_domain(qi, low, qstats_head_one, &h) < 0)
		return -1;
	st_r->entries = (size_t)st.entries;
	st_r->bytes = st.bytes;
	st_r->oldest = h.oldest;
	st_r->next_expiry = h.next_expiry;
	return 0;
}
