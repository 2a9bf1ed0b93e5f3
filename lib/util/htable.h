/*
 * htable - a hash table from NUL-terminated string keys to pointers.
 *
 * Keys are copied; values are borrowed (the caller owns them). Lookups
 * are case-sensitive: callers lowercase domain names first. Chained
 * buckets, grown at load 1, so a table of N keys costs O(N) memory and
 * O(1) per operation.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_HTABLE_H
#define SLUICE_HTABLE_H

#include <stdbool.h>
#include <stddef.h>

struct htable;

struct htable *htable_new(void);
/* htable_free - free the table and its keys (not the values) */
void htable_free(struct htable **tp);
/* htable_get - the value stored for key, or NULL */
void *htable_get(const struct htable *t, const char *key);
/* htable_put - store value for key (replacing any old value) */
void htable_put(struct htable *t, const char *key, void *value);
/* htable_del - remove key; the old value, or NULL */
void *htable_del(struct htable *t, const char *key);
size_t htable_count(const struct htable *t);
/* htable_walk - call fn for each entry (fn must not change the table); stops when fn returns non-zero */
int htable_walk(const struct htable *t, int (*fn)(const char *key, void *value, void *ctx), void *ctx);

/*
 * htable_prune - delete every entry for which drop(key, value, ctx) is
 * true (every entry if drop is NULL), handing its value to free_value
 * unless that is NULL; how many went. The one way to delete while
 * looking: htable_walk's fn must not change the table.
 */
size_t htable_prune(struct htable *t,
    bool (*drop)(const char *key, void *value, void *ctx), void *ctx,
    void (*free_value)(void *value));

/* htable_free_values - free every value with free_value, then the table */
void htable_free_values(struct htable **tp, void (*free_value)(void *value));

#endif
