/*
 * qindex_int - what the files of the queue index share (qindex.c: the
 * record codec, open/close and single entries; qindex_env.c: the
 * environment as files and its check; qindex_walk.c: ranges and walks).
 * Not for use outside those three: everyone else has qindex.h.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_QINDEX_INT_H
#define SLUICE_QINDEX_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <db.h>

#include "mail/address.h"
#include "mail/qindex.h"
#include "mail/queue.h"

#define QINDEX_KEY_MAX		(QUEUE_ID_LEN + 1 + ADDRESS_DOMAIN_MAX)

#define DB_ENTRIES		"entries.db"
#define DB_BY_DOMAIN		"by_domain.db"
#define DB_BY_EXPIRY		"by_expiry.db"
#define DB_DOMAINS		"domains.db"

struct qindex {
	DB_ENV *env;
	DB *entries;
	DB *by_domain;
	DB *by_expiry;
	unsigned commits;	/* since the last checkpoint attempt */
	bool ready;		/* open done */
	bool damaged;		/* a sign of damage was seen: rebuild (qindex.h) */
	char *dir;
	DB *domains;		/* domain -> its entries and bytes (qindex_stats.c); NULL: none */
	bool stats_ok;		/* domains is complete (its marker is there) */
	long cache_bytes;	/* the environment's cache; 0: QINDEX_CACHE_DEFAULT */
};

/* A bounded reader over one record. */
struct qread {
	const unsigned char *p;
	size_t left;
};

/* qindex_errcall - route Berkeley DB's own messages into our log */
void qindex_errcall(const DB_ENV *env, const char *pfx, const char *msg);
/* qindex_fail - log a Berkeley DB error (marking damage where it is a sign of it); -1 */
int qindex_fail(struct qindex *qi, int ret, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* qread_uint - read an n-byte big-endian integer; 0, or -1 past the end */
int qread_uint(struct qread *r, size_t n, uint64_t *v_r);
/* qindex_lower - lowercase copy of a domain into a caller's buffer; -1 if too long */
int qindex_lower(const char *domain, char buf[ADDRESS_DOMAIN_MAX + 1]);
/* qindex_time_key - the by_expiry key of a time: negative sorts as 0 */
uint64_t qindex_time_key(time_t t);
/* qindex_key_domain - where the domain starts in a primary key, or NULL */
const char *qindex_key_domain(const DBT *pkey, size_t *len_r);
/* qindex_record_size - the content bytes an entry's record holds; 0 if it is not one */
uint64_t qindex_record_size(const DBT *data);
/*
 * qindex_stats_open - open domains.db (qindex_stats.c): the owner
 * (QINDEX_CREATE or QINDEX_RECOVER in flags) creates it and fills it
 * from the entries when it is new or was never finished; 0/-1
 */
int qindex_stats_open(struct qindex *qi, unsigned flags);
/* qindex_stats_total - the sum of every domain's entries in domains.db; 0/-1 */
int qindex_stats_total(struct qindex *qi, uint64_t *entries_r);
/* qindex_stats_change - in txn, count the entry (pkey, data) in (sign 1) or out (-1) of its domain; 0/-1 */
int qindex_stats_change(struct qindex *qi, DB_TXN *txn, const DBT *pkey, const DBT *data,
    int sign);
/* qindex_decode - a new entry from a primary key and its record; NULL if bad */
struct qindex_entry *qindex_decode(const DBT *pkey, const DBT *data);
/* qindex_warn_bad - log a record that failed decoding */
void qindex_warn_bad(const DBT *pkey);
/* qindex_env_open - configure and open the transactional environment; 0/-1 */
int qindex_env_open(struct qindex *qi, unsigned flags);
/* qindex_dbt - a DBT over caller memory */
DBT qindex_dbt(const void *data, size_t len);
/* qindex_commit - commit txn; checkpoint now and then so recovery stays short; 0/-1 */
int qindex_commit(struct qindex *qi, DB_TXN *txn);
/* qindex_txn_begin - start a transaction; 0/-1 */
int qindex_txn_begin(struct qindex *qi, DB_TXN **txn_r);

#endif
