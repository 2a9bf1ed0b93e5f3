/*
 * index_entry - what the queue index tests share (see index_entry.h)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

/* system */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* lib/util */
#include "util/xmalloc.h"

/* tests */
#include "t/index_entry.h"

const char *domains[NDOMAINS] = { "a.example", "b.example", "c.example" };

/* test_id - a deterministic valid queue ID from a number */
void
test_id(unsigned n, char id_r[QUEUE_ID_LEN + 1])
{
	snprintf(id_r, QUEUE_ID_LEN + 1, "%020X", n);
}

/* test_entry - an entry with every field set from n */
struct qindex_entry *
test_entry(unsigned n, const char *domain)
{
	struct qindex_entry *e;
	char id[QUEUE_ID_LEN + 1], *rcpt;

	test_id(n, id);
	e = qindex_entry_new(id, domain);
	e->sender = xasprintf("sender%u@from.example", n);
	rcpt = xasprintf("user%u@%s", n, domain);
	qindex_entry_add_rcpt(e, rcpt, 0);
	free(rcpt);
	rcpt = xasprintf("\"quoted %u\"@%s", n, domain);
	qindex_entry_add_rcpt(e, rcpt, 7);
	free(rcpt);
	e->size = 1000 + n;
	e->arrival = 1700000000 + n;
	e->next_try = 1700000100 + n;
	e->expiry = 1700500000 + (n * 7919) % 1000;
	e->warned = n % 2 ? 1700200000 : 0;
	e->attempts = n % 5;
	e->flags = n % 3 == 0 ? QINDEX_F_HOLD : 0;
	e->last_error = n % 2 ? xasprintf("connect to mx%u: refused", n) : NULL;
	return e;
}

/* seen_fn - count and check each entry a walk gives */
int
seen_fn(const struct qindex_entry *e, void *ctx)
{
	struct seen *s = ctx;

	s->n++;
	if (s->domain != NULL && strcmp(e->domain, s->domain) != 0)
		s->wrong++;
	if (s->before != 0 && e->expiry > s->before)
		s->wrong++;
	if (e->expiry < s->last_expiry)
		s->disorder++;
	s->last_expiry = e->expiry;
	if (s->stop_at != 0 && s->n == s->stop_at)
		return s->stop_rc;
	return 0;
}
