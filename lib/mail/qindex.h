/*
 * qindex - the queue index: a fast cache of the queue, never the truth.
 *
 * One entry per (message, destination domain). Stored in a Berkeley DB
 * transactional environment (queue_directory/index/); this module is the
 * only one that includes <db.h>, so that LMDB can replace Berkeley DB.
 *
 *	primary   "ID/domain"            -> entry record
 *	by_domain domain                 -> primary keys (secondary, dups sorted)
 *	by_expiry 8-byte big-endian time -> primary keys (secondary, dups sorted)
 *	domains   domain                 -> its entries and bytes (qindex_stats.c)
 *
 * Listing or flushing a domain walks by_domain: O(that domain's mail).
 * Expiry walks by_expiry from the oldest: never O(queue). Deleting a
 * message walks the primary from "ID/" (a range of its domains).
 *
 * Only qmgr writes the index, and only one process opens the environment
 * with QINDEX_RECOVER (qmgr at start, or the CLI when no qmgr runs: the
 * caller holds the flock on index/.lock that proves it). Every record read
 * back is decoded with the same checks as on the wire (queue_id_ok,
 * address_mailbox_ok, address_domain_ok, bounded lengths); a record that
 * fails is reported as -1/EBADMSG and skipped by walks, with a warning,
 * and marks the index damaged (qindex_damaged): the spool wins, and the
 * owner sets the index aside and rebuilds it.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_QINDEX_H
#define SLUICE_QINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mail/queue.h"

#define QINDEX_CREATE	0x1u	/* create the environment and databases */
#define QINDEX_RECOVER	0x2u	/* run normal recovery at open (exclusive) */

/* entry flags */
#define QINDEX_F_HOLD	0x1u	/* operator hold: never delivered until released */

struct qindex_entry {
	char id[QUEUE_ID_LEN + 1];
	char *domain;		/* lowercase destination domain */
	char *sender;		/* "" for the null sender */
	size_t nrcpt;		/* pending recipients for this domain */
	char **rcpt;		/* mailboxes */
	size_t *rcpt_index;	/* each one's index in the queue file envelope */
	uint64_t size;		/* content bytes */
	time_t arrival;
	time_t next_try;	/* 0: as soon as the domain's gate allows */
	time_t expiry;		/* arrival + the domain's lifetime */
	time_t warned;		/* when a delay notice went out, or 0 */
	unsigned attempts;
	unsigned flags;		/* QINDEX_F_* */
	char *last_error;	/* last deferral reason, or NULL */
};

struct qindex;

/*
 * The Berkeley DB cache (queue_index_cache_size), sized on purpose. It is
 * a shared mapping of a region file, resident in qmgr once touched, and
 * it fills with every page ever read (a rebuild's, the reconcile's) and
 * stays full: qmgr's memory grows with the queue up to the cache's size.
 * What qmgr reads again and again is much less than the index: the upper
 * levels of each btree (tens of pages), the right edge where new mail
 * goes in (queue IDs grow with time), and the few pages of each domain
 * being flushed or receiving mail (its duplicates in by_domain have a
 * tree of their own). With 1,000,000 entries in 1,000 domains the four
 * databases have about 2,000 internal pages of 4 KB, most of them the
 * roots of idle domains' duplicate trees, never read; 4 MB (1,000 pages)
 * holds the working set with room to spare, and any other page is one
 * pread from the kernel's page cache. A bigger cache only speeds up a
 * rebuild of the whole index, whose inserts land anywhere (86% of pages
 * found in a 4 MB cache while a million entries were indexed).
 * bench/flatq measures qmgr's memory; db5.3_stat -m the hit rate.
 */
#define QINDEX_CACHE_DEFAULT	(4L * 1024 * 1024)
#define QINDEX_CACHE_DEFAULT_TEXT "4194304"
#define QINDEX_CACHE_MIN	(256L * 1024)
#define QINDEX_CACHE_MAX	(1024L * 1024 * 1024)

/* qindex_open - open the environment in dir with the default cache; 0/-1 (log says why) */
int qindex_open(const char *dir, unsigned flags, struct qindex **qi_r);
/* qindex_open_cache - the same with a cache of cache_bytes (0: the default) */
int qindex_open_cache(const char *dir, unsigned flags, long cache_bytes, struct qindex **qi_r);
/* qindex_close - checkpoint and close; NULLs *qip */
void qindex_close(struct qindex **qip);
/*
 * qindex_close_owner - qindex_close by the lock holder at a clean stop:
 * when every close succeeded and no damage was seen, the databases are
 * fsync'd and index/.clean records each one's inode, size and mtime, so
 * that the next owner's qindex_check can skip the full check (DB->verify
 * and a decode of every record: 12-22 s before qmgr listens with
 * 1,000,000 queued) for files nobody touched since.
 */
void qindex_close_owner(struct qindex **qip);
/* qindex_remove_env - delete the environment's files (before a rebuild); 0/-1 */
int qindex_remove_env(const char *dir);

/*
 * Damage. The index is a cache even when it is damaged (DESIGN.md): the
 * owner checks it before use, and on any sign of damage sets it aside
 * (kept for a human) and rebuilds it from the spool.
 *
 * qindex_check - recover and verify the environment in dir (DB->verify
 * of every database, every record decoded) in a child process, so that
 * a crash on a damaged page costs the child only. The caller holds the
 * index lock and has the index closed. 0 sound or absent, -1 damaged
 * (why says how, as a phrase).
 */
int qindex_check(const char *dir, char *why, size_t len);
/* qindex_mark_clean - write index/.clean for the closed index in dir (qindex_close_owner) */
void qindex_mark_clean(const char *dir);
/* qindex_damaged - has an operation on qi seen damage (a Berkeley DB
 * panic or damage code, a record that fails decoding)? Close and rebuild. */
bool qindex_damaged(const struct qindex *qi);
/* qindex_set_aside - move the closed environment's files from dir into a
 * new DIR.damaged.TIMESTAMP (new string in *kept_r); the lock file stays. 0/-1 */
int qindex_set_aside(const char *dir, char **kept_r);

struct qindex_entry *qindex_entry_new(const char *id, const char *domain);
void qindex_entry_add_rcpt(struct qindex_entry *e, const char *rcpt, size_t index);
void qindex_entry_free(struct qindex_entry **ep);

/* qindex_put - insert or replace the entry (id, domain), in one transaction; 0/-1 */
int qindex_put(struct qindex *qi, const struct qindex_entry *e);
/* qindex_get - 1 found (*e_r set), 0 not found, -1 error or bad record */
int qindex_get(struct qindex *qi, const char *id, const char *domain, struct qindex_entry **e_r);
/* qindex_del - remove one entry; 1 removed, 0 not found, -1 error */
int qindex_del(struct qindex *qi, const char *id, const char *domain);
/* qindex_del_message - remove every entry of message id; count removed, or -1 */
int qindex_del_message(struct qindex *qi, const char *id);
/* qindex_has_message - 1 if any entry of id exists, 0 if none, -1 error */
int qindex_has_message(struct qindex *qi, const char *id);

/*
 * Walks call fn with an entry the callback may keep only for the call.
 * fn returns 0 to go on, 1 to stop early, -1 to stop with an error.
 * A walk reads a batch under a cursor and calls back only after closing
 * it, so the callback may put and delete entries (qmgr_gate and the
 * expiry do): an entry it deletes ahead of the walk is not seen, one it
 * puts ahead may be. Walks return 0, or -1 on error.
 */
typedef int qindex_walk_fn(const struct qindex_entry *e, void *ctx);
/* qindex_walk_domain - the domain's entries, O(its entries) */
int qindex_walk_domain(struct qindex *qi, const char *domain, qindex_walk_fn *fn, void *ctx);
/*
 * qindex_walk_domain_after - the domain's entries in queue ID order,
 * starting after message after (NULL or "": from the first), for a page
 * of a list: it costs what fn reads before it returns 1, not the
 * domain's whole mail. An after that is no longer queued is a position
 * all the same (the walk starts at the next ID).
 */
int qindex_walk_domain_after(struct qindex *qi, const char *domain, const char *after,
    qindex_walk_fn *fn, void *ctx);
/*
 * qindex_walk_domain_before - the page before: at most max of the
 * domain's entries with a queue ID before message before, nearest
 * first (descending), read under one cursor and then passed to fn
 * (which may stop with 1). O(max); max is bounded by QINDEX_PAGE_MAX.
 */
#define QINDEX_PAGE_MAX		256
int qindex_walk_domain_before(struct qindex *qi, const char *domain,
    const char *before, size_t max, qindex_walk_fn *fn, void *ctx);
/* qindex_walk_expiry - entries with expiry <= before, oldest first */
int qindex_walk_expiry(struct qindex *qi, time_t before, qindex_walk_fn *fn, void *ctx);
/* qindex_walk_all - every entry in key order (CLI listing, reconcile) */
int qindex_walk_all(struct qindex *qi, qindex_walk_fn *fn, void *ctx);
/*
 * qindex_walk_all_from - the entries from the first whose key ("ID/domain")
 * is at or after from (NULL or "": from the first), in key order: a
 * resumable walk, stopped by fn with 1 (qmgr's reconcile in slices).
 * From "ID0" starts after every entry of message ID ('0' sorts after '/').
 */
int qindex_walk_all_from(struct qindex *qi, const char *from, qindex_walk_fn *fn, void *ctx);
/* qindex_walk_message - the entries of one message */
int qindex_walk_message(struct qindex *qi, const char *id, qindex_walk_fn *fn, void *ctx);
/*
 * qindex_walk_domains - fn(domain, entries, ctx) for each domain that has
 * entries, in key order, without reading the entries: O(domains), not
 * O(queue). fn returns as a walk's does; 0, or -1 on error.
 */
typedef int qindex_domain_fn(const char *domain, size_t entries, void *ctx);
int qindex_walk_domains(struct qindex *qi, qindex_domain_fn *fn, void *ctx);
/*
 * qindex_domain_stats - what the index holds for a domain, for its
 * status: entries and content bytes (kept per domain, a lookup), the
 * oldest arrival and the next expiry (from its first entries in queue
 * ID order, which is arrival order). O(log queue), not O(its mail). 0/-1
 */
struct qindex_domain_stats {
	size_t entries;
	uint64_t bytes;
	time_t oldest;		/* 0: none */
	time_t next_expiry;	/* 0: none */
};
int qindex_domain_stats(struct qindex *qi, const char *domain, struct qindex_domain_stats *st_r);
/* qindex_count_domain - the number of entries of a domain, without decoding them; 0/-1 */
int qindex_count_domain(struct qindex *qi, const char *domain, size_t *entries_r);

/*
 * qindex_put_raw - store data as the record of key, unchecked. For tests
 * only (they write bad records with it); never call it from a program.
 */
int qindex_put_raw(struct qindex *qi, const char *key, const void *data, size_t len);

#endif
