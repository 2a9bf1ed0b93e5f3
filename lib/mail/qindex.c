/*
 * qindex - the queue index on Berkeley DB 5.3 (see qindex.h).
 *
 * The environment in queue_directory/index/ holds three databases:
 *
 *	entries.db	btree, "ID/domain" -> record (below)
 *	by_domain.db	btree, DB_DUP|DB_DUPSORT, domain -> "ID/domain"
 *	by_expiry.db	btree, DB_DUP|DB_DUPSORT, u64 BE expiry -> "ID/domain"
 *
 * The secondaries are kept by DB->associate(), so a put or delete on the
 * primary updates all three in the same transaction.
 *
 * Record, version 1 (integers big-endian, times as signed 64 bits):
 *
 *	u8  version		1
 *	u32 flags
 *	u32 attempts
 *	u64 size
 *	i64 arrival | i64 next_try | i64 expiry | i64 warned
 *	u16 length | sender bytes		("" = null sender)
 *	u16 length | last error bytes		(0 = none)
 *	u32 nrcpt, then nrcpt times: u32 envelope index | u16 length | mailbox
 *
 * The ID and the domain are not repeated in the record: they are the key.
 * Decoding checks every length against what is left, and re-parses the
 * ID, the domain and every address with the wire grammar.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

/* system */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <db.h>

/* lib/util */
#include "util/log.h"
#include "util/xmalloc.h"

/* lib/mail */
#include "mail/address.h"
#include "mail/qindex.h"
#include "mail/qindex_int.h"
#include "mail/queue.h"

#define QINDEX_VERSION		1
#define QINDEX_LOG_MAX		(2u * 1024 * 1024)
/* checkpoint every so many commits, if that much log was written since */
#define QINDEX_CKP_COMMITS	256
#define QINDEX_CKP_KBYTES	512
#define QINDEX_ERROR_MAX	1024	/* last_error is truncated to this */
#define QINDEX_RCPT_MAX		100000	/* far above any smtpd limit */

/* fixed part of the record; expiry sits at a fixed offset for by_expiry */
#define REC_OFF_EXPIRY		(1 + 4 + 4 + 8 + 8 + 8)
#define REC_FIXED_LEN		(REC_OFF_EXPIRY + 8 + 8)
#define REC_RCPT_MIN		(4 + 2 + 3)	/* index, length, "a@b" */

/* A growable byte buffer for encoding one record. */
struct qbuf {
	unsigned char *p;
	size_t len;
	size_t size;
};

/* qindex_errcall - route Berkeley DB's own messages into our log */
void
qindex_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	(void)env;
	(void)pfx;
	log_warn("berkeley db: %s", msg);
}

/*
 * Berkeley DB errors that mean the files or the environment are damaged,
 * as opposed to a missing key, a full disk or a busy lock: the index must
 * be set aside and rebuilt from the spool (DESIGN.md: the index is a
 * cache even when it is damaged).
 */
static const int qindex_damage_codes[] = {
	DB_RUNRECOVERY, DB_VERIFY_BAD, DB_PAGE_NOTFOUND, DB_SECONDARY_BAD,
};

/* qindex_damage_code - does ret say the index is damaged? */
static bool
qindex_damage_code(int ret)
{
	size_t i;

	for (i = 0; i < sizeof(qindex_damage_codes) / sizeof(qindex_damage_codes[0]); i++)
		if (ret == qindex_damage_codes[i])
			return true;
	return false;
}

/*
 * qindex_fail - log a Berkeley DB failure as "<fmt>: <reason>", set errno,
 * return -1. A damage code (DB_RUNRECOVERY: the environment is unusable
 * until a recovering open) marks the index damaged; the owner sets it
 * aside and rebuilds it (qindex_damaged), nobody dies of it.
 */
int
qindex_fail(struct qindex *qi, int ret, const char *fmt, ...)
{
	va_list ap;
	char *what;

	va_start(ap, fmt);
	what = xvasprintf(fmt, ap);
	va_end(ap);
	if (qindex_damage_code(ret))
		qi->damaged = true;
	log_warn("%s: %s", what, db_strerror(ret));
	free(what);
	errno = ret > 0 ? ret : EIO;
	return -1;
}

/* qbuf_put - append len bytes */
static void
qbuf_put(struct qbuf *b, const void *data, size_t len)
{
	if (b->size - b->len < len) {
		while (b->size - b->len < len)
			b->size = b->size ? b->size * 2 : 256;
		b->p = xrealloc(b->p, b->size);
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

/* qbuf_put_uint - append the low n bytes of v, big-endian */
static void
qbuf_put_uint(struct qbuf *b, uint64_t v, size_t n)
{
	unsigned char tmp[8];
	size_t i;

	for (i = 0; i < n; i++)
		tmp[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
	qbuf_put(b, tmp, n);
}

/* qbuf_put_str - append a u16 length and the bytes of s */
static void
qbuf_put_str(struct qbuf *b, const char *s, size_t len)
{
	qbuf_put_uint(b, len, 2);
	qbuf_put(b, s, len);
}

/* qread_uint - read an n-byte big-endian integer; 0/-1 if short */
int
qread_uint(struct qread *r, size_t n, uint64_t *v_r)
{
	uint64_t v = 0;
	size_t i;

	if (r->left < n)
		return -1;
	for (i = 0; i < n; i++)
		v = (v << 8) | r->p[i];
	r->p += n;
	r->left -= n;
	*v_r = v;
	return 0;
}

/* qread_time - read a signed 64-bit time that must not be negative */
static int
qread_time(struct qread *r, time_t *t_r)
{
	uint64_t v;

	if (qread_uint(r, 8, &v) < 0 || v > (uint64_t)INT64_MAX)
		return -1;
	*t_r = (time_t)v;
	return 0;
}

/* qread_str - read a u16-length string of at most max bytes, no NUL inside */
static int
qread_str(struct qread *r, size_t max, char **s_r)
{
	uint64_t len;

	if (qread_uint(r, 2, &len) < 0 || len > max || len > r->left)
		return -1;
	if (memchr(r->p, '\0', len) != NULL)
		return -1;
	*s_r = xstrndup((const char *)r->p, len);
	r->p += len;
	r->left -= len;
	return 0;
}

/* qindex_lower - lowercase copy of a domain into a caller's buffer; -1 if too long */
int
qindex_lower(const char *domain, char buf[ADDRESS_DOMAIN_MAX + 1])
{
	size_t i, len = strlen(domain);

	if (len == 0 || len > ADDRESS_DOMAIN_MAX)
		return -1;
	for (i = 0; i < len; i++)
		buf[i] = (char)tolower((unsigned char)domain[i]);
	buf[len] = '\0';
	return 0;
}

/* qindex_make_key - build "ID/domain" after checking both; length or -1 */
static int
qindex_make_key(const char *id, const char *domain, char key[QINDEX_KEY_MAX + 1])
{
	char low[ADDRESS_DOMAIN_MAX + 1];

	if (!queue_id_ok(id) || qindex_lower(domain, low) < 0 ||
	    !address_domain_ok(low, strlen(low))) {
		errno = EINVAL;
		return -1;
	}
	return snprintf(key, QINDEX_KEY_MAX + 1, "%s/%s", id, low);
}

/* qindex_key_domain - where the domain starts in a primary key, or NULL */
const char *
qindex_key_domain(const DBT *pkey, size_t *len_r)
{
	const char *k = pkey->data;

	if (pkey->size <= QUEUE_ID_LEN + 1 || pkey->size > QINDEX_KEY_MAX ||
	    k[QUEUE_ID_LEN] != '/')
		return NULL;
	*len_r = pkey->size - QUEUE_ID_LEN - 1;
	return k + QUEUE_ID_LEN + 1;
}

/* qindex_record_size - the size field of a record, read where it sits; 0 if not a record */
uint64_t
qindex_record_size(const DBT *data)
{
	struct qread r = { .p = data->data, .left = data->size };
	uint64_t v;

	if (data->size < REC_FIXED_LEN || r.p[0] != QINDEX_VERSION)
		return 0;
	r.p += 1 + 4 + 4;
	r.left -= 1 + 4 + 4;
	return qread_uint(&r, 8, &v) == 0 ? v : 0;
}

/* qindex_time_key - the by_expiry key of a time: negative sorts as 0 */
uint64_t
qindex_time_key(time_t t)
{
	return t < 0 ? 0 : (uint64_t)t;
}

/* qindex_entry_ok - may this entry be stored? (same checks as decoding) */
static bool
qindex_entry_ok(const struct qindex_entry *e)
{
	size_t i;

	if (e->sender != NULL && !address_stored_ok(e->sender, true))
		return false;
	if (e->nrcpt > QINDEX_RCPT_MAX || e->arrival < 0 || e->next_try < 0 ||
	    e->expiry < 0 || e->warned < 0 || e->attempts > UINT32_MAX ||
	    e->flags > UINT32_MAX)
		return false;
	for (i = 0; i < e->nrcpt; i++)
		if (!address_mailbox_ok(e->rcpt[i]) ||
		    e->rcpt_index[i] > UINT32_MAX)
			return false;
	return true;
}

/* qindex_encode - the record of e into b (e already checked) */
static void
qindex_encode(const struct qindex_entry *e, struct qbuf *b)
{
	const char *sender = e->sender != NULL ? e->sender : "";
	size_t i, elen = 0;

	qbuf_put_uint(b, QINDEX_VERSION, 1);
	qbuf_put_uint(b, e->flags, 4);
	qbuf_put_uint(b, e->attempts, 4);
	qbuf_put_uint(b, e->size, 8);
	qbuf_put_uint(b, (uint64_t)e->arrival, 8);
	qbuf_put_uint(b, (uint64_t)e->next_try, 8);
	qbuf_put_uint(b, (uint64_t)e->expiry, 8);
	qbuf_put_uint(b, (uint64_t)e->warned, 8);
	qbuf_put_str(b, sender, strlen(sender));
	/* A deferral reason is for humans: a long one is cut, not refused. */
	if (e->last_error != NULL)
		elen = strnlen(e->last_error, QINDEX_ERROR_MAX);
	qbuf_put_str(b, e->last_error != NULL ? e->last_error : "", elen);
	qbuf_put_uint(b, e->nrcpt, 4);
	for (i = 0; i < e->nrcpt; i++) {
		qbuf_put_uint(b, e->rcpt_index[i], 4);
		qbuf_put_str(b, e->rcpt[i], strlen(e->rcpt[i]));
	}
}

/* qindex_decode_body - the record fields into e; 0/-1 */
static int
qindex_decode_body(struct qread *r, struct qindex_entry *e)
{
	uint64_t v, n, idx;
	size_t i;
	char *rcpt;

	if (qread_uint(r, 1, &v) < 0 || v != QINDEX_VERSION)
		return -1;
	if (qread_uint(r, 4, &v) < 0)
		return -1;
	e->flags = (unsigned)v;
	if (qread_uint(r, 4, &v) < 0)
		return -1;
	e->attempts = (unsigned)v;
	if (qread_uint(r, 8, &e->size) < 0 ||
	    qread_time(r, &e->arrival) < 0 || qread_time(r, &e->next_try) < 0 ||
	    qread_time(r, &e->expiry) < 0 || qread_time(r, &e->warned) < 0)
		return -1;
	free(e->sender);
	e->sender = NULL;
	if (qread_str(r, ADDRESS_PATH_MAX, &e->sender) < 0 ||
	    !address_stored_ok(e->sender, true))
		return -1;
	if (qread_str(r, QINDEX_ERROR_MAX, &e->last_error) < 0)
		return -1;
	if (e->last_error[0] == '\0')
		xfree(&e->last_error);
	/* Bound the count by the bytes left before allocating for it. */
	if (qread_uint(r, 4, &n) < 0 || n > QINDEX_RCPT_MAX ||
	    n > r->left / REC_RCPT_MIN)
		return -1;
	for (i = 0; i < n; i++) {
		if (qread_uint(r, 4, &idx) < 0 ||
		    qread_str(r, ADDRESS_PATH_MAX, &rcpt) < 0)
			return -1;
		if (!address_mailbox_ok(rcpt)) {
			free(rcpt);
			return -1;
		}
		qindex_entry_add_rcpt(e, rcpt, (size_t)idx);
		free(rcpt);
	}
	return r->left == 0 ? 0 : -1;
}

/* qindex_decode - a new entry from a primary key and its record; NULL if bad */
struct qindex_entry *
qindex_decode(const DBT *pkey, const DBT *data)
{
	struct qindex_entry *e;
	struct qread r = { .p = data->data, .left = data->size };
	char id[QUEUE_ID_LEN + 1];
	char domain[ADDRESS_DOMAIN_MAX + 1];
	const char *d;
	size_t dlen, i;

	if ((d = qindex_key_domain(pkey, &dlen)) == NULL)
		return NULL;
	memcpy(id, pkey->data, QUEUE_ID_LEN);
	id[QUEUE_ID_LEN] = '\0';
	memcpy(domain, d, dlen);
	domain[dlen] = '\0';
	if (!queue_id_ok(id) || strlen(domain) != dlen ||
	    !address_domain_ok(domain, dlen))
		return NULL;
	for (i = 0; i < dlen; i++)
		if (domain[i] != tolower((unsigned char)domain[i]))
			return NULL;
	e = qindex_entry_new(id, domain);
	if (qindex_decode_body(&r, e) < 0) {
		qindex_entry_free(&e);
		return NULL;
	}
	return e;
}

/* qindex_key_text - printable form of a key for a log line */
static void
qindex_key_text(const DBT *key, char buf[QINDEX_KEY_MAX + 1])
{
	size_t i, n = key->size < QINDEX_KEY_MAX ? key->size : QINDEX_KEY_MAX;
	const unsigned char *k = key->data;

	for (i = 0; i < n; i++)
		buf[i] = k[i] >= 0x21 && k[i] < 0x7f ? (char)k[i] : '?';
	buf[n] = '\0';
}

/* qindex_warn_bad - log a record that failed decoding */
void
qindex_warn_bad(const DBT *pkey)
{
	char text[QINDEX_KEY_MAX + 1];

	qindex_key_text(pkey, text);
	log_warn("skip index entry %s: bad record", text);
}

/* qindex_sec_domain - by_domain key: the domain part of the primary key */
static int
qindex_sec_domain(DB *sec, const DBT *pkey, const DBT *data, DBT *skey)
{
	const char *d;
	size_t len;

	(void)sec;
	(void)data;
	if ((d = qindex_key_domain(pkey, &len)) == NULL)
		return DB_DONOTINDEX;
	memset(skey, 0, sizeof(*skey));
	skey->data = (void *)d;
	skey->size = (u_int32_t)len;
	return 0;
}

/* qindex_sec_expiry - by_expiry key: the record's 8 expiry bytes, as stored */
static int
qindex_sec_expiry(DB *sec, const DBT *pkey, const DBT *data, DBT *skey)
{
	const unsigned char *p = data->data;

	(void)sec;
	(void)pkey;
	/* Big-endian bytes sort in time order under the default comparison. */
	if (data->size < REC_FIXED_LEN || p[0] != QINDEX_VERSION)
		return DB_DONOTINDEX;
	memset(skey, 0, sizeof(*skey));
	skey->data = (unsigned char *)p + REC_OFF_EXPIRY;
	skey->size = 8;
	return 0;
}

/* qindex_db_open - create a handle and open one database file */
static int
qindex_db_open(struct qindex *qi, const char *file, bool dups, unsigned flags, DB **db_r)
{
	DB *db;
	int ret;

	if ((ret = db_create(&db, qi->env, 0)) != 0)
		return qindex_fail(qi, ret, "create index handle %s", file);
	*db_r = db;
	if (dups && (ret = db->set_flags(db, DB_DUP | DB_DUPSORT)) != 0)
		return qindex_fail(qi, ret, "configure index %s", file);
	if ((ret = db->open(db, NULL, file, NULL, DB_BTREE,
	    DB_AUTO_COMMIT | ((flags & QINDEX_CREATE) ? DB_CREATE : 0), 0600)) != 0)
		return qindex_fail(qi, ret, "open index %s/%s", qi->dir, file);
	return 0;
}

/* qindex_env_open - configure and open the transactional environment */
int
qindex_env_open(struct qindex *qi, unsigned flags)
{
	u_int32_t eflags = DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL;
	DB_ENV *env;
	int ret;

	if ((ret = db_env_create(&env, 0)) != 0)
		return qindex_fail(qi, ret, "create index environment");
	qi->env = env;
	env->set_errcall(env, qindex_errcall);
	/*
	 * The index is a cache of the spool, which start-up reconciles, so
	 * losing the last commits in a power cut costs nothing: write the log
	 * at commit (a killed process loses nothing) but do not fsync it.
	 */
	if ((ret = env->set_flags(env, DB_TXN_WRITE_NOSYNC, 1)) != 0 ||
	    (ret = env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1)) != 0 ||
	    (ret = env->set_lg_max(env, QINDEX_LOG_MAX)) != 0 ||
	    (ret = env->set_cachesize(env, 0, (u_int32_t)(qi->cache_bytes > 0 ?
	    qi->cache_bytes : QINDEX_CACHE_DEFAULT), 1)) != 0 ||
	    (ret = env->set_lk_detect(env, DB_LOCK_DEFAULT)) != 0)
		return qindex_fail(qi, ret, "configure index environment");
	if (flags & (QINDEX_CREATE | QINDEX_RECOVER))
		eflags |= DB_CREATE;
	if (flags & QINDEX_RECOVER)
		eflags |= DB_RECOVER;
	if ((ret = env->open(env, qi->dir, eflags, 0600)) != 0)
		return qindex_fail(qi, ret, "open index environment %s", qi->dir);
	return 0;
}

/* qindex_open - open the environment and the databases, with the default cache */
int
qindex_open(const char *dir, unsigned flags, struct qindex **qi_r)
{
	return qindex_open_cache(dir, flags, 0, qi_r);
}

/* qindex_open_cache - open the environment and the databases */
int
qindex_open_cache(const char *dir, unsigned flags, long cache_bytes, struct qindex **qi_r)
{
	struct qindex *qi;
	int ret;

	*qi_r = NULL;
	if ((flags & QINDEX_CREATE) && mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_warn("create index directory %s: %s", dir, strerror(errno));
		return -1;
	}
	qi = xcalloc(1, sizeof(*qi));
	qi->dir = xstrdup(dir);
	qi->cache_bytes = cache_bytes;
	if (qindex_env_open(qi, flags) < 0 ||
	    qindex_db_open(qi, DB_ENTRIES, false, flags, &qi->entries) < 0 ||
	    qindex_db_open(qi, DB_BY_DOMAIN, true, flags, &qi->by_domain) < 0 ||
	    qindex_db_open(qi, DB_BY_EXPIRY, true, flags, &qi->by_expiry) < 0)
		goto fail;
	/* DB_CREATE fills an empty secondary from the primary. */
	if ((ret = qi->entries->associate(qi->entries, NULL, qi->by_domain,
	    qindex_sec_domain, DB_CREATE)) != 0 ||
	    (ret = qi->entries->associate(qi->entries, NULL, qi->by_expiry,
	    qindex_sec_expiry, DB_CREATE)) != 0) {
		qindex_fail(qi, ret, "associate index %s", dir);
		goto fail;
	}
	if (qindex_stats_open(qi, flags) < 0)
		goto fail;
	qi->ready = true;
	*qi_r = qi;
	return 0;
fail:
	qindex_close(&qi);
	return -1;
}

/* qindex_close - checkpoint, close secondaries before the primary, then the environment */
static bool qindex_close_ok(struct qindex **qip);

void
qindex_close(struct qindex **qip)
{
	(void)qindex_close_ok(qip);
}

/*
 * qindex_close_ok - qindex_close; true when every close succeeded on an
 * index that showed no damage (the owner may then mark it clean)
 */
static bool
qindex_close_ok(struct qindex **qip)
{
	struct qindex *qi = *qip;
	DB **dbs[4];
	size_t i;
	bool ok;
	int ret;

	if (qi == NULL)
		return false;
	dbs[0] = &qi->domains;
	dbs[1] = &qi->by_expiry;
	dbs[2] = &qi->by_domain;
	dbs[3] = &qi->entries;
	ok = !qi->damaged && qi->env != NULL && qi->entries != NULL;
	qi->ready = false;
	if (qi->env != NULL && qi->entries != NULL &&
	    (ret = qi->env->txn_checkpoint(qi->env, 0, 0, 0)) != 0) {
		qindex_fail(qi, ret, "checkpoint index %s", qi->dir);
		ok = false;
	}
	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
		if (*dbs[i] != NULL && (*dbs[i])->close(*dbs[i], 0) != 0)
			ok = false;
	if (qi->env != NULL && (ret = qi->env->close(qi->env, 0)) != 0) {
		qindex_fail(qi, ret, "close index %s", qi->dir);
		ok = false;
	}
	free(qi->dir);
	free(qi);
	*qip = NULL;
	return ok;
}

/* qindex_close_owner - see qindex.h */
void
qindex_close_owner(struct qindex **qip)
{
	char *dir;

	if (*qip == NULL)
		return;
	dir = xstrdup((*qip)->dir);
	if (qindex_close_ok(qip))
		qindex_mark_clean(dir);
	free(dir);
}

/* qindex_damaged - has any operation seen a sign of damage? */
bool
qindex_damaged(const struct qindex *qi)
{
	return qi != NULL && qi->damaged;
}

/*
 * qindex_entry_new - an empty entry for (id, domain). The domain is stored
 * lowercase; sender starts NULL (stored as the null sender) so that a
 * caller may assign a new string without freeing a placeholder.
 */
struct qindex_entry *
qindex_entry_new(const char *id, const char *domain)
{
	struct qindex_entry *e = xcalloc(1, sizeof(*e));
	size_t i;

	/* A wrong-length ID is left empty, never truncated into a valid one. */
	if (strlen(id) == QUEUE_ID_LEN)
		memcpy(e->id, id, QUEUE_ID_LEN + 1);
	e->domain = xstrdup(domain);
	for (i = 0; e->domain[i] != '\0'; i++)
		e->domain[i] = (char)tolower((unsigned char)e->domain[i]);
	return e;
}

/* qindex_entry_add_rcpt - append a copy of rcpt with its envelope index */
void
qindex_entry_add_rcpt(struct qindex_entry *e, const char *rcpt, size_t index)
{
	e->rcpt = xreallocarray(e->rcpt, e->nrcpt + 1, sizeof(*e->rcpt));
	e->rcpt_index = xreallocarray(e->rcpt_index, e->nrcpt + 1,
	    sizeof(*e->rcpt_index));
	e->rcpt[e->nrcpt] = xstrdup(rcpt);
	e->rcpt_index[e->nrcpt] = index;
	e->nrcpt++;
}

/* qindex_entry_free - free every field and the entry; NULLs *ep */
void
qindex_entry_free(struct qindex_entry **ep)
{
	struct qindex_entry *e = *ep;
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->nrcpt; i++)
		free(e->rcpt[i]);
	free(e->rcpt);
	free(e->rcpt_index);
	free(e->domain);
	free(e->sender);
	free(e->last_error);
	free(e);
	*ep = NULL;
}

/* qindex_dbt - a DBT over caller memory */
DBT
qindex_dbt(const void *data, size_t len)
{
	DBT d;

	memset(&d, 0, sizeof(d));
	d.data = (void *)data;
	d.size = (u_int32_t)len;
	return d;
}

/* qindex_commit - commit txn; checkpoint now and then so recovery stays short */
int
qindex_commit(struct qindex *qi, DB_TXN *txn)
{
	int ret;

	if ((ret = txn->commit(txn, 0)) != 0)
		return qindex_fail(qi, ret, "commit index %s", qi->dir);
	if (++qi->commits >= QINDEX_CKP_COMMITS) {
		qi->commits = 0;
		/* Checkpoints also let DB_LOG_AUTO_REMOVE drop old logs. */
		if ((ret = qi->env->txn_checkpoint(qi->env, QINDEX_CKP_KBYTES, 0, 0)) != 0)
			qindex_fail(qi, ret, "checkpoint index %s", qi->dir);
	}
	return 0;
}

/* qindex_txn_begin - start a transaction; 0/-1 */
int
qindex_txn_begin(struct qindex *qi, DB_TXN **txn_r)
{
	int ret;

	if ((ret = qi->env->txn_begin(qi->env, NULL, txn_r, 0)) != 0)
		return qindex_fail(qi, ret, "begin index transaction %s", qi->dir);
	return 0;
}

/* qindex_put_raw - store data under key in one transaction (tests write bad records with it) */
int
qindex_put_raw(struct qindex *qi, const char *key, const void *data, size_t len)
{
	DB_TXN *txn;
	DBT k = qindex_dbt(key, strlen(key)), d = qindex_dbt(data, len);
	int ret;

	if (qindex_txn_begin(qi, &txn) < 0)
		return -1;
	/* The domain's figures change in the same transaction: they never drift. */
	if (qi->domains != NULL) {
		DBT old = qindex_dbt(NULL, 0);

		ret = qi->entries->get(qi->entries, txn, &k, &old, DB_RMW);
		if (ret != 0 && ret != DB_NOTFOUND) {
			txn->abort(txn);
			return qindex_fail(qi, ret, "read index entry %s", key);
		}
		if ((ret == 0 && qindex_stats_change(qi, txn, &k, &old, -1) < 0) ||
		    qindex_stats_change(qi, txn, &k, &d, 1) < 0) {
			txn->abort(txn);
			return -1;
		}
	}
	if ((ret = qi->entries->put(qi->entries, txn, &k, &d, 0)) != 0) {
		txn->abort(txn);
		return qindex_fail(qi, ret, "store index entry %s", key);
	}
	return qindex_commit(qi, txn);
}

/* qindex_put - check, encode and store the entry; replaces an old one */
int
qindex_put(struct qindex *qi, const struct qindex_entry *e)
{
	char key[QINDEX_KEY_MAX + 1];
	struct qbuf b = { 0 };
	int rc;

	if (qindex_make_key(e->id, e->domain, key) < 0 || !qindex_entry_ok(e)) {
		log_warn("%.*s: store index entry: invalid entry", QUEUE_ID_LEN,
		    queue_id_ok(e->id) ? e->id : "(bad id)");
		errno = EINVAL;
		return -1;
	}
	qindex_encode(e, &b);
	rc = qindex_put_raw(qi, key, b.p, b.len);
	free(b.p);
	return rc;
}

/* qindex_get - look up one entry; 1 found, 0 not found, -1 error or bad record */
int
qindex_get(struct qindex *qi, const char *id, const char *domain, struct qindex_entry **e_r)
{
	char key[QINDEX_KEY_MAX + 1];
	DBT k, d;
	int len, ret;

	*e_r = NULL;
	if ((len = qindex_make_key(id, domain, key)) < 0)
		return -1;
	k = qindex_dbt(key, (size_t)len);
	d = qindex_dbt(NULL, 0);
	if ((ret = qi->entries->get(qi->entries, NULL, &k, &d, 0)) == DB_NOTFOUND)
		return 0;
	if (ret != 0)
		return qindex_fail(qi, ret, "read index entry %s", key);
	if ((*e_r = qindex_decode(&k, &d)) == NULL) {
		qindex_warn_bad(&k);
		qi->damaged = true;
		errno = EBADMSG;
		return -1;
	}
	return 1;
}

/* qindex_del - remove one entry (and its secondary keys); 1, 0 not found, -1 */
int
qindex_del(struct qindex *qi, const char *id, const char *domain)
{
	char key[QINDEX_KEY_MAX + 1];
	DB_TXN *txn;
	DBT k;
	int len, ret;

	if ((len = qindex_make_key(id, domain, key)) < 0)
		return -1;
	k = qindex_dbt(key, (size_t)len);
	if (qindex_txn_begin(qi, &txn) < 0)
		return -1;
	if (qi->domains != NULL) {
		DBT old = qindex_dbt(NULL, 0);

		ret = qi->entries->get(qi->entries, txn, &k, &old, DB_RMW);
		if (ret == 0 && qindex_stats_change(qi, txn, &k, &old, -1) < 0) {
			txn->abort(txn);
			return -1;
		}
	}
	ret = qi->entries->del(qi->entries, txn, &k, 0);
	if (ret == DB_NOTFOUND) {
		txn->abort(txn);
		return 0;
	}
	if (ret != 0) {
		txn->abort(txn);
		return qindex_fail(qi, ret, "delete index entry %s", key);
	}
	return qindex_commit(qi, txn) < 0 ? -1 : 1;
}
