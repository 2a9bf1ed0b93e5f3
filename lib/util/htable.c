/*
 * htable - string-keyed hash table with chained buckets
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/htable.h"
#include "util/xmalloc.h"

struct htable_ent {
	char *key;
	void *value;
	uint32_t hash;
	struct htable_ent *next;
};

struct htable {
	struct htable_ent **bucket;
	size_t cap;		/* a power of two */
	size_t n;
};

/* htable_hash - FNV-1a */
static uint32_t
htable_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct htable *
htable_new(void)
{
	struct htable *t = xcalloc(1, sizeof(*t));

	t->cap = 64;
	t->bucket = xcalloc(t->cap, sizeof(*t->bucket));
	return t;
}

void
htable_free(struct htable **tp)
{
	struct htable *t = *tp;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->cap; i++) {
		struct htable_ent *e = t->bucket[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			free(e->key);
			free(e);
		}
	}
	free(t->bucket);
	free(t);
	*tp = NULL;
}

static struct htable_ent **
htable_slot(const struct htable *t, const char *key, uint32_t hash)
{
	struct htable_ent **pp = &t->bucket[hash & (t->cap - 1)];

	for (; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->hash == hash && strcmp((*pp)->key, key) == 0)
			break;
	return pp;
}

void *
htable_get(const struct htable *t, const char *key)
{
	struct htable_ent **pp = htable_slot(t, key, htable_hash(key));

	return *pp != NULL ? (*pp)->value : NULL;
}

static void
htable_grow(struct htable *t)
{
	size_t cap = t->cap * 2, i;
	struct htable_ent **bucket = xcalloc(cap, sizeof(*bucket));

	for (i = 0; i < t->cap; i++) {
		struct htable_ent *e = t->bucket[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			e->next = bucket[e->hash & (cap - 1)];
			bucket[e->hash & (cap - 1)] = e;
		}
	}
	free(t->bucket);
	t->bucket = bucket;
	t->cap = cap;
}

void
htable_put(struct htable *t, const char *key, void *value)
{
	uint32_t hash = htable_hash(key);
	struct htable_ent **pp = htable_slot(t, key, hash), *e;

	if (*pp != NULL) {
		(*pp)->value = value;
		return;
	}
	e = xcalloc(1, sizeof(*e));
	e->key = xstrdup(key);
	e->value = value;
	e->hash = hash;
	*pp = e;
	if (++t->n > t->cap)
		htable_grow(t);
}

void *
htable_del(struct htable *t, const char *key)
{
	struct htable_ent **pp = htable_slot(t, key, htable_hash(key)), *e = *pp;
	void *value;

	if (e == NULL)
		return NULL;
	*pp = e->next;
	value = e->value;
	free(e->key);
	free(e);
	t->n--;
	return value;
}

size_t
htable_count(const struct htable *t)
{
	return t->n;
}

int
htable_walk(const struct htable *t, int (*fn)(const char *key, void *value, void *ctx), void *ctx)
{
	size_t i;
	int ret;

	for (i = 0; i < t->cap; i++)
		for (struct htable_ent *e = t->bucket[i]; e != NULL; e = e->next)
			if ((ret = fn(e->key, e->value, ctx)) != 0)
				return ret;
	return 0;
}

/* htable_prune - delete the entries drop chooses (all if NULL); how many */
size_t
htable_prune(struct htable *t,
    bool (*drop)(const char *key, void *value, void *ctx), void *ctx,
    void (*free_value)(void *value))
{
	struct htable_ent **pp, *e;
	size_t i, n = 0;

	for (i = 0; i < t->cap; i++)
		for (pp = &t->bucket[i]; (e = *pp) != NULL;) {
			if (drop != NULL && !drop(e->key, e->value, ctx)) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			if (free_value != NULL)
				free_value(e->value);
			free(e->key);
			free(e);
			t->n--;
			n++;
		}
	return n;
}

/* htable_free_values - free every value with free_value, then the table */
void
htable_free_values(struct htable **tp, void (*free_value)(void *value))
{
	if (*tp != NULL)
		(void)htable_prune(*tp, NULL, NULL, free_value);
	htable_free(tp);
}
