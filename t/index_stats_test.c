/*
 * index_stats_test - each domain's figures in the queue index
 * (lib/mail/qindex_stats.c) and the list of domains with mail: they
 * follow every put, replace, delete and delete of a message exactly,
 * they are filled from the entries when an environment has none (one
 * from before them, or a fill cut short), and qindex_walk_domains lists
 * each domain once with its count.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

/* system */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* lib/util */
#include "util/log.h"
#include "util/xmalloc.h"

/* lib/mail */
#include "mail/qindex.h"
#include "mail/queue.h"

/* tests */
#include "t/index_entry.h"
#include "t/tap.h"
#include "t/testutil.h"

/* What a domain must show: its entries, bytes, oldest and next expiry, from the test's own sums. */
struct want {
	size_t entries;
	uint64_t bytes;
	time_t oldest, next_expiry;
};

/*
 * entry - test_entry with the expiry smtpd gives: arrival plus the
 * domain's lifetime, so that the oldest mail expires first
 */
static struct qindex_entry *
entry(unsigned n, const char *domain)
{
	struct qindex_entry *e = test_entry(n, domain);

	e->expiry = e->arrival + 5 * 86400;
	return e;
}

/* want_of - the figures of domain among entries n in [from, to) that are still there (alive) */
static struct want
want_of(const char *domain, unsigned from, unsigned to, const bool *alive)
{
	struct want w = { 0 };
	unsigned n;

	for (n = from; n < to; n++) {
		struct qindex_entry *e;

		if (!alive[n - from])
			continue;
		e = entry(n, domain);
		w.entries++;
		w.bytes += e->size;
		if (w.oldest == 0 || e->arrival < w.oldest)
			w.oldest = e->arrival;
		if (w.next_expiry == 0 || e->expiry < w.next_expiry)
			w.next_expiry = e->expiry;
		qindex_entry_free(&e);
	}
	return w;
}

/* check - the index's figures of domain against w */
static void
check(struct qindex *qi, const char *domain, const struct want *w, const char *when)
{
	struct qindex_domain_stats st;
	int rc = qindex_domain_stats(qi, domain, &st);

	ok(rc == 0 && st.entries == w->entries && st.bytes == w->bytes,
	    "%s: %s holds %zu entries of %llu bytes, want %zu of %llu", when, domain,
	    st.entries, (unsigned long long)st.bytes, w->entries,
	    (unsigned long long)w->bytes);
	ok(rc == 0 && st.oldest == w->oldest && st.next_expiry == w->next_expiry,
	    "%s: %s oldest %lld next expiry %lld, want %lld and %lld", when, domain,
	    (long long)st.oldest, (long long)st.next_expiry, (long long)w->oldest,
	    (long long)w->next_expiry);
}

struct listed {
	size_t n;
	char names[8][64];
	size_t entries[8];
};

static int
listed_fn(const char *domain, size_t entries, void *ctx)
{
	struct listed *l = ctx;

	if (l->n < 8) {
		snprintf(l->names[l->n], sizeof(l->names[0]), "%s", domain);
		l->entries[l->n] = entries;
	}
	l->n++;
	return 0;
}

#define FROM	100
#define COUNT	150	/* more than the 64 entries the oldest and next expiry are read from */

int
main(void)
{
	char tmpl[] = "/tmp/index_stats_test.XXXXXX";
	struct qindex *qi = NULL;
	struct qindex_entry *e;
	struct listed l = { 0 };
	struct want w;
	bool alive[COUNT], alive_b[COUNT];
	char id[QUEUE_ID_LEN + 1], *dir, *file;
	unsigned n;
	int rc;

	alarm(120);
	log_init("index_stats_test");
	log_set_dest(LOG_DEST_STDERR, NULL);
	test_tmpdir(tmpl);
	dir = xasprintf("%s/index", tmpl);
	if (!ok(qindex_open(dir, QINDEX_CREATE | QINDEX_RECOVER, &qi) == 0, "open"))
		return tap_done();
	w = (struct want){ 0 };
	check(qi, "a.example", &w, "empty index");
	for (n = 0; n < COUNT; n++) {
		alive[n] = true;
		alive_b[n] = n % 3 == 0;
		e = entry(FROM + n, "a.example");
		(void)qindex_put(qi, e);
		qindex_entry_free(&e);
		/* Every third message has a second domain. */
		if (n % 3 == 0) {
			e = entry(FROM + n, "b.example");
			(void)qindex_put(qi, e);
			qindex_entry_free(&e);
		}
	}
	w = want_of("a.example", FROM, FROM + COUNT, alive);
	check(qi, "a.example", &w, "after puts");
	/* A replace (a deferral rewrites the entry) counts once. */
	e = entry(FROM + 1, "a.example");
	e->attempts++;
	(void)qindex_put(qi, e);
	qindex_entry_free(&e);
	check(qi, "a.example", &w, "after a replace");
	/* The oldest goes, then some in the middle, one by one and by message. */
	test_id(FROM, id);
	ok(qindex_del(qi, id, "a.example") == 1, "del the oldest entry");
	alive[0] = false;
	for (n = 10; n < 40; n++) {
		test_id(FROM + n, id);
		if (n % 2)
			(void)qindex_del(qi, id, "a.example");
		else {
			(void)qindex_del_message(qi, id);
			alive_b[n] = false;
		}
		alive[n] = false;
	}
	test_id(FROM + 10, id);
	ok(qindex_del(qi, id, "a.example") == 0, "del of an entry already gone: not found");
	w = want_of("a.example", FROM, FROM + COUNT, alive);
	check(qi, "a.example", &w, "after deletes");
	w = want_of("b.example", FROM, FROM + COUNT, alive_b);
	check(qi, "b.example", &w, "after deletes");
	w = want_of("a.example", FROM, FROM + COUNT, alive);
	rc = qindex_walk_domains(qi, listed_fn, &l);
	ok(rc == 0 && l.n == 2 &&
	    strcmp(l.names[0], "a.example") == 0 && l.entries[0] == w.entries &&
	    strcmp(l.names[1], "b.example") == 0,
	    "walk_domains: got %zu domains (%s %zu, %s %zu), want a.example %zu and b.example",
	    l.n, l.names[0], l.entries[0], l.names[1], l.entries[1], w.entries);
	qindex_close(&qi);

	/* An environment without the figures (from before them): its owner fills them. */
	file = xasprintf("%s/domains.db", dir);
	ok(unlink(file) == 0, "remove domains.db");
	ok(qindex_open(dir, QINDEX_RECOVER, &qi) == 0, "reopen as the owner");
	check(qi, "a.example", &w, "filled at open");
	/* Then they follow the changes again. */
	for (n = 40; n < COUNT; n++) {
		test_id(FROM + n, id);
		(void)qindex_del_message(qi, id);
		alive[n] = alive_b[n] = false;
	}
	w = want_of("a.example", FROM, FROM + COUNT, alive);
	check(qi, "a.example", &w, "after deletes past the fill");
	w = want_of("b.example", FROM, FROM + COUNT, alive_b);
	check(qi, "b.example", &w, "b.example after deletes past the fill");
	/* The last of b.example goes: it leaves the list of domains. */
	for (n = 0; n < 40; n++) {
		test_id(FROM + n, id);
		if (alive_b[n])
			(void)qindex_del(qi, id, "b.example");
		alive_b[n] = false;
	}
	w = (struct want){ 0 };
	check(qi, "b.example", &w, "every b.example entry deleted");
	l = (struct listed){ 0 };
	rc = qindex_walk_domains(qi, listed_fn, &l);
	ok(rc == 0 && l.n == 1 && strcmp(l.names[0], "a.example") == 0,
	    "walk_domains after deletes: got %zu domains, want a.example only", l.n);
	ok(!qindex_damaged(qi), "no damage seen");
	qindex_close(&qi);
	free(file);
	free(dir);
	test_rmdir(tmpl);
	return tap_done();
}
