/*
 * index_entry.h - what the queue index tests (index_test,
 * index_recover_test) share: entries made from a number with every field
 * set, and a walk callback that counts and checks what a walk gives.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_T_INDEX_ENTRY_H
#define SLUICE_T_INDEX_ENTRY_H

#include <stddef.h>
#include <time.h>

#include "mail/qindex.h"
#include "mail/queue.h"

/* The domains the entries are spread over. */
extern const char *domains[];
#define NDOMAINS	3

/* test_id - a deterministic valid queue ID from a number */
void test_id(unsigned n, char id_r[QUEUE_ID_LEN + 1]);

/* test_entry - an entry with every field set from n (qindex_entry_free) */
struct qindex_entry *test_entry(unsigned n, const char *domain);

struct seen {
	size_t n;
	const char *domain;	/* if set, entries of another domain count as wrong */
	size_t wrong;
	time_t last_expiry;
	size_t disorder;	/* expiry went backwards */
	time_t before;		/* expiry above it counts as wrong (if nonzero) */
	size_t stop_at;		/* return stop_rc after this many (if nonzero) */
	int stop_rc;
};

/* seen_fn - count and check each entry a walk gives (ctx: struct seen) */
int seen_fn(const struct qindex_entry *e, void *ctx);

#endif
