/*
 * index_test - the queue index (lib/mail/qindex.c) on a real Berkeley DB
 * environment in a temporary directory: round trips, replace, delete,
 * walks by domain, expiry, message and all, walks whose callbacks change
 * the index, and bad records. Recovery is index_recover_test's.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

/* system */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
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


#define PER_DOMAIN	100	/* more than a walk's batch */

/* str_eq - equal strings, NULL equal only to NULL */
static bool
str_eq(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* entry_eq - every field of two entries agrees */
static bool
entry_eq(const struct qindex_entry *a, const struct qindex_entry *b)
{
	size_t i;

	if (strcmp(a->id, b->id) != 0 || !str_eq(a->domain, b->domain) ||
	    !str_eq(a->sender, b->sender) || a->nrcpt != b->nrcpt ||
	    a->size != b->size || a->arrival != b->arrival ||
	    a->next_try != b->next_try || a->expiry != b->expiry ||
	    a->warned != b->warned || a->attempts != b->attempts ||
	    a->flags != b->flags || !str_eq(a->last_error, b->last_error))
		return false;
	for (i = 0; i < a->nrcpt; i++)
		if (strcmp(a->rcpt[i], b->rcpt[i]) != 0 ||
		    a->rcpt_index[i] != b->rcpt_index[i])
			return false;
	return true;
}

/* test_round_trip - put/get of every field, replace, del, invalid puts */
static void
test_round_trip(struct qindex *qi)
{
	struct qindex_entry *e, *got = NULL;
	int rc;

	e = test_entry(1, "a.example");
	ok(qindex_put(qi, e) == 0, "put entry");
	rc = qindex_get(qi, e->id, "a.example", &got);
	ok(rc == 1 && entry_eq(e, got), "get: got rc %d, fields %s", rc,
	    got != NULL && entry_eq(e, got) ? "equal" : "differ");
	qindex_entry_free(&got);
	rc = qindex_get(qi, e->id, "A.Example", &got);
	ok(rc == 1, "get with mixed-case domain: got %d, want 1", rc);
	qindex_entry_free(&got);
	rc = qindex_get(qi, e->id, "b.example", &got);
	ok(rc == 0 && got == NULL, "get other domain: got %d, want 0", rc);

	/* Replace: new fields, fewer recipients, a new expiry key. */
	e->attempts = 9;
	e->expiry = 1800000000;
	e->flags = 0;
	free(e->last_error);
	e->last_error = xstrdup("451 try later");
	free(e->rcpt[1]);
	e->nrcpt = 1;
	ok(qindex_put(qi, e) == 0, "replace entry");
	rc = qindex_get(qi, e->id, "a.example", &got);
	ok(rc == 1 && entry_eq(e, got), "get after replace: rc %d, fields %s", rc,
	    got != NULL && entry_eq(e, got) ? "equal" : "differ");
	qindex_entry_free(&got);

	/* Null sender, no error, no recipients. */
	free(e->sender);
	e->sender = NULL;
	xfree(&e->last_error);
	free(e->rcpt[0]);
	e->nrcpt = 0;
	ok(qindex_put(qi, e) == 0, "put with null sender");
	rc = qindex_get(qi, e->id, "a.example", &got);
	ok(rc == 1 && got->sender != NULL && got->sender[0] == '\0' &&
	    got->last_error == NULL && got->nrcpt == 0,
	    "null sender reads back as \"\": rc %d", rc);
	qindex_entry_free(&got);

	ok(qindex_del(qi, e->id, "a.example") == 1, "del: want 1");
	ok(qindex_del(qi, e->id, "a.example") == 0, "del again: want 0");
	rc = qindex_get(qi, e->id, "a.example", &got);
	ok(rc == 0, "get after del: got %d, want 0", rc);
	qindex_entry_free(&e);

	/* Invalid entries are refused before they reach the database. */
	e = test_entry(2, "a.example");
	free(e->rcpt[0]);
	e->rcpt[0] = xstrdup("no-at-sign");
	errno = 0;
	ok(qindex_put(qi, e) == -1 && errno == EINVAL, "put bad rcpt: refused");
	qindex_entry_free(&e);
	e = test_entry(2, "bad..domain");
	ok(qindex_put(qi, e) == -1, "put bad domain: refused");
	qindex_entry_free(&e);
	e = test_entry(2, "a.example");
	e->id[3] = 'g';
	ok(qindex_put(qi, e) == -1, "put bad id: refused");
	qindex_entry_free(&e);
	e = qindex_entry_new("000000000000000000021", "a.example");
	ok(qindex_put(qi, e) == -1, "put over-long id: refused, not truncated");
	qindex_entry_free(&e);
	e = test_entry(2, "a.example");
	free(e->sender);
	e->sender = xstrdup("<x@y>");
	ok(qindex_put(qi, e) == -1, "put bad sender: refused");
	qindex_entry_free(&e);
	rc = qindex_get(qi, "NOT-AN-ID", "a.example", &got);
	ok(rc == -1, "get with bad id: got %d, want -1", rc);
}

/* page_fn - collect up to PAGE IDs of a page walk, then stop */
#define PAGE 30
struct page {
	char id[PAGE + 1][QUEUE_ID_LEN + 1];
	size_t n;
};

static int
page_fn(const struct qindex_entry *e, void *ctx)
{
	struct page *p = ctx;

	memcpy(p->id[p->n++], e->id, QUEUE_ID_LEN + 1);
	return p->n == PAGE + 1 ? 1 : 0;
}

/*
 * test_pages - a domain's mail page by page after a cursor: every entry
 * once, in ID order, the last page short; a cursor that is gone still
 * places the walk.
 */
static void
test_pages(struct qindex *qi)
{
	struct page p;
	char after[QUEUE_ID_LEN + 1] = "", gone[QUEUE_ID_LEN + 1];
	size_t pages = 0, total = 0, disorder = 0, i;
	int rc = 0;

	do {
		p = (struct page){ .n = 0 };
		rc = qindex_walk_domain_after(qi, "b.example", after, page_fn, &p);
		for (i = 0; i < p.n && i < PAGE; i++) {
			if ((total > 0 || i > 0) &&
			    strcmp(i > 0 ? p.id[i - 1] : after, p.id[i]) >= 0)
				disorder++;
		}
		total += p.n > PAGE ? PAGE : p.n;
		pages++;
		if (p.n > 0)
			memcpy(after, p.id[(p.n > PAGE ? PAGE : p.n) - 1], sizeof(after));
	} while (rc == 0 && p.n > PAGE && pages < 100);
	ok(rc == 0 && total == PER_DOMAIN && disorder == 0 &&
	    pages == (PER_DOMAIN + PAGE - 1) / PAGE,
	    "pages of b.example: got %zu entries in %zu pages (%zu out of order), "
	    "want %d in %d", total, pages, disorder, PER_DOMAIN,
	    (PER_DOMAIN + PAGE - 1) / PAGE);
	/* After an ID between two queued ones: the page starts at the next. */
	test_id(100 + 9, gone);
	gone[QUEUE_ID_LEN - 1] = gone[QUEUE_ID_LEN - 1] == '0' ? '1' : '0';
	p = (struct page){ .n = 0 };
	rc = qindex_walk_domain_after(qi, "b.example", gone, page_fn, &p);
	ok(rc == 0 && p.n > 0 && strcmp(p.id[0], gone) > 0,
	    "page after an ID not queued: got %zu, first %s after %s", p.n,
	    p.n > 0 ? p.id[0] : "-", gone);
	/* Backwards: the page before the last ID holds the ones just before it. */
	{
		char all[PER_DOMAIN][QUEUE_ID_LEN + 1];
		size_t k;

		p = (struct page){ .n = 0 };
		after[0] = '\0';
		total = 0;
		/* Every ID of b.example in order, a page at a time. */
		do {
			p = (struct page){ .n = 0 };
			rc = qindex_walk_domain_after(qi, "b.example", after, page_fn, &p);
			for (k = 0; k < p.n && k < PAGE && total < PER_DOMAIN; k++)
				memcpy(all[total++], p.id[k], QUEUE_ID_LEN + 1);
			if (p.n > 0)
				memcpy(after, p.id[(p.n > PAGE ? PAGE : p.n) - 1], sizeof(after));
		} while (rc == 0 && p.n > PAGE);
		p = (struct page){ .n = 0 };
		rc = qindex_walk_domain_before(qi, "b.example", all[PER_DOMAIN - 1], PAGE,
		    page_fn, &p);
		for (k = 0, disorder = 0; k < p.n; k++)
			if (strcmp(p.id[k], all[PER_DOMAIN - 2 - k]) != 0)
				disorder++;
		ok(rc == 0 && p.n == PAGE && disorder == 0,
		    "page before the last: got %zu, %zu not the ones just before, want %d",
		    p.n, disorder, PAGE);
		p = (struct page){ .n = 0 };
		rc = qindex_walk_domain_before(qi, "b.example", all[3], PAGE, page_fn, &p);
		ok(rc == 0 && p.n == 3 && strcmp(p.id[0], all[2]) == 0 &&
		    strcmp(p.id[2], all[0]) == 0,
		    "page before the fourth: got %zu, want the first three, nearest first", p.n);
		p = (struct page){ .n = 0 };
		rc = qindex_walk_domain_before(qi, "b.example", all[0], PAGE, page_fn, &p);
		ok(rc == 0 && p.n == 0, "page before the first: got %zu, want 0", p.n);
		/* Past every ID of the domain: the last ones, nearest first. */
		p = (struct page){ .n = 0 };
		rc = qindex_walk_domain_before(qi, "b.example", "FFFFFFFFFFFFFFFFFFFF", 2,
		    page_fn, &p);
		ok(rc == 0 && p.n == 2 && strcmp(p.id[0], all[PER_DOMAIN - 1]) == 0 &&
		    strcmp(p.id[1], all[PER_DOMAIN - 2]) == 0,
		    "page before an ID past all: got %zu, want the last two", p.n);
		/* The last domain of the index (no next key). */
		p = (struct page){ .n = 0 };
		rc = qindex_walk_domain_before(qi, domains[NDOMAINS - 1],
		    "FFFFFFFFFFFFFFFFFFFF", 1, page_fn, &p);
		ok(rc == 0 && p.n == 1, "page before, last domain of the index: got %zu", p.n);
	}
	p = (struct page){ .n = 0 };
	rc = qindex_walk_domain_after(qi, "b.example", "not-an-id", page_fn, &p);
	ok(rc == -1 && p.n == 0, "page after a bad ID: refused, got %d", rc);
	p = (struct page){ .n = 0 };
	rc = qindex_walk_domain_after(qi, "none.example", NULL, page_fn, &p);
	ok(rc == 0 && p.n == 0, "page of an unknown domain: got %zu", p.n);
}

/* test_walks - domain, expiry, all, message walks over 3 domains */
static void
test_walks(struct qindex *qi)
{
	struct qindex_entry *e;
	struct seen s;
	size_t i, d, cnt;
	unsigned n;
	char id[QUEUE_ID_LEN + 1];
	time_t before = 1700500000 + 500;
	size_t want_before = 0;
	int rc;

	for (i = 0; i < PER_DOMAIN; i++)
		for (d = 0; d < NDOMAINS; d++) {
			n = 100 + (unsigned)i;
			e = test_entry(n, domains[d]);
			if (e->expiry <= before)
				want_before++;
			if (qindex_put(qi, e) != 0)
				ok(false, "put %s/%s", e->id, domains[d]);
			qindex_entry_free(&e);
		}
	for (d = 0; d < NDOMAINS; d++) {
		s = (struct seen){ .domain = domains[d] };
		rc = qindex_walk_domain(qi, domains[d], seen_fn, &s);
		ok(rc == 0 &&
		    s.n == PER_DOMAIN && s.wrong == 0,
		    "walk %s: got %zu entries (%zu wrong), want %d", domains[d],
		    s.n, s.wrong, PER_DOMAIN);
		rc = qindex_count_domain(qi, domains[d], &cnt);
		ok(rc == 0 &&
		    cnt == PER_DOMAIN, "count %s: got %zu, want %d", domains[d],
		    cnt, PER_DOMAIN);
	}
	test_pages(qi);
	s = (struct seen){ .domain = "c.example" };
	rc = qindex_walk_domain(qi, "C.EXAMPLE", seen_fn, &s);
	ok(rc == 0 &&
	    s.n == PER_DOMAIN && s.wrong == 0, "walk upper-case domain: got %zu", s.n);
	s = (struct seen){ 0 };
	rc = qindex_walk_domain(qi, "none.example", seen_fn, &s);
	ok(rc == 0 && s.n == 0,
	    "walk unknown domain: got %zu, want 0", s.n);
	rc = qindex_count_domain(qi, "none.example", &cnt);
	ok(rc == 0 && cnt == 0,
	    "count unknown domain: got %zu, want 0", cnt);

	s = (struct seen){ 0 };
	rc = qindex_walk_expiry(qi, 2000000000, seen_fn, &s);
	ok(rc == 0 &&
	    s.n == NDOMAINS * PER_DOMAIN && s.disorder == 0,
	    "walk expiry: got %zu (%zu out of order), want %d", s.n, s.disorder,
	    NDOMAINS * PER_DOMAIN);
	s = (struct seen){ .before = before };
	rc = qindex_walk_expiry(qi, before, seen_fn, &s);
	ok(rc == 0 &&
	    s.n == want_before && s.wrong == 0 && s.disorder == 0,
	    "walk expiry <= before: got %zu (%zu past it), want %zu", s.n,
	    s.wrong, want_before);
	s = (struct seen){ 0 };
	rc = qindex_walk_expiry(qi, 1, seen_fn, &s);
	ok(rc == 0 && s.n == 0,
	    "walk expiry before all: got %zu, want 0", s.n);

	s = (struct seen){ 0 };
	rc = qindex_walk_all(qi, seen_fn, &s);
	ok(rc == 0 && s.n == NDOMAINS * PER_DOMAIN,
	    "walk all: got %zu, want %d", s.n, NDOMAINS * PER_DOMAIN);
	test_id(105, id);
	s = (struct seen){ 0 };
	rc = qindex_walk_message(qi, id, seen_fn, &s);
	ok(rc == 0 && s.n == NDOMAINS,
	    "walk message: got %zu, want %d", s.n, NDOMAINS);

	/* A callback stops a walk early (1) or with an error (-1). */
	s = (struct seen){ .stop_at = 5, .stop_rc = 1 };
	rc = qindex_walk_all(qi, seen_fn, &s);
	ok(rc == 0 && s.n == 5,
	    "walk stopped by callback: got %zu calls, want 5", s.n);
	s = (struct seen){ .stop_at = 3, .stop_rc = -1 };
	rc = qindex_walk_domain(qi, "a.example", seen_fn, &s);
	ok(rc == -1 && s.n == 3,
	    "walk failed by callback: got %zu calls, want 3 and -1", s.n);

	/* del_message removes every domain of one message, nothing else. */
	ok(qindex_has_message(qi, id) == 1, "has message before del");
	ok(qindex_del_message(qi, id) == NDOMAINS, "del_message: want %d", NDOMAINS);
	ok(qindex_has_message(qi, id) == 0, "has message after del");
	ok(qindex_del_message(qi, id) == 0, "del_message again: want 0");
	s = (struct seen){ 0 };
	rc = qindex_walk_all(qi, seen_fn, &s);
	ok(rc == 0 &&
	    s.n == NDOMAINS * (PER_DOMAIN - 1),
	    "walk all after del_message: got %zu, want %d", s.n,
	    NDOMAINS * (PER_DOMAIN - 1));
	rc = qindex_count_domain(qi, "b.example", &cnt);
	ok(rc == 0 &&
	    cnt == PER_DOMAIN - 1, "count after del_message: got %zu", cnt);
	test_id(104, id);
	s = (struct seen){ 0 };
	rc = qindex_walk_message(qi, id, seen_fn, &s);
	ok(rc == 0 && s.n == NDOMAINS,
	    "neighbour message intact: got %zu, want %d", s.n, NDOMAINS);
}

/* What a modifying walk needs. */
struct modify {
	struct qindex *qi;
	size_t n;
	size_t failed;
};

/* del_fn - delete each entry the walk gives */
static int
del_fn(const struct qindex_entry *e, void *ctx)
{
	struct modify *m = ctx;

	m->n++;
	if (qindex_del(m->qi, e->id, e->domain) != 1)
		m->failed++;
	return 0;
}

/* defer_fn - push each entry's expiry past the walk's bound, as a retry would */
static int
defer_fn(const struct qindex_entry *e, void *ctx)
{
	struct modify *m = ctx;
	struct qindex_entry *c = test_entry((unsigned)strtoul(e->id, NULL, 16),
	    e->domain);

	m->n++;
	c->expiry = 1900000000;
	if (qindex_put(m->qi, c) != 0)
		m->failed++;
	qindex_entry_free(&c);
	return 0;
}

/* test_modify_walks - callbacks that change the index neither hang nor loop */
static void
test_modify_walks(struct qindex *qi)
{
	struct qindex_entry *e;
	struct modify m = { .qi = qi };
	size_t cnt;
	unsigned i;
	int rc;

	for (i = 0; i < 150; i++) {
		e = test_entry(3000 + i, "d.example");
		e->expiry = 1600000000 + i / 4;	/* duplicates across batches */
		qindex_put(qi, e);
		qindex_entry_free(&e);
	}
	rc = qindex_walk_expiry(qi, 1650000000, defer_fn, &m);
	ok(rc == 0 && m.n == 150 && m.failed == 0,
	    "walk expiry that defers each entry: got %zu calls, %zu failed, want 150",
	    m.n, m.failed);
	m = (struct modify){ .qi = qi };
	rc = qindex_walk_domain(qi, "d.example", del_fn, &m);
	ok(rc == 0 && m.n == 150 && m.failed == 0,
	    "walk domain that deletes each entry: got %zu calls, %zu failed, want 150",
	    m.n, m.failed);
	rc = qindex_count_domain(qi, "d.example", &cnt);
	ok(rc == 0 && cnt == 0, "count after deleting walk: got %zu, want 0", cnt);
}

/* rec_u - append an n-byte big-endian integer */
static size_t
rec_u(unsigned char *p, size_t off, uint64_t v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[off + i] = (unsigned char)(v >> (8 * (n - 1 - i)));
	return off + n;
}

/* rec_s - append a u16-length string */
static size_t
rec_s(unsigned char *p, size_t off, const char *s)
{
	off = rec_u(p, off, strlen(s), 2);
	memcpy(p + off, s, strlen(s));
	return off + strlen(s);
}

/*
 * rec_build - a record by hand, per the format in qindex.c, with a chosen
 * sender, recipient, count and version; returns its length.
 */
static size_t
rec_build(unsigned char *p, unsigned version, const char *sender,
    uint32_t nrcpt, const char *rcpt)
{
	size_t off = 0;
	uint32_t i;

	off = rec_u(p, off, version, 1);
	off = rec_u(p, off, 0, 4);
	off = rec_u(p, off, 2, 4);
	off = rec_u(p, off, 1234, 8);
	off = rec_u(p, off, 1700000000, 8);
	off = rec_u(p, off, 0, 8);
	off = rec_u(p, off, 1700000500, 8);
	off = rec_u(p, off, 0, 8);
	off = rec_s(p, off, sender);
	off = rec_s(p, off, "");
	off = rec_u(p, off, nrcpt, 4);
	for (i = 0; i < nrcpt && i < 2; i++) {
		off = rec_u(p, off, i, 4);
		off = rec_s(p, off, rcpt);
	}
	return off;
}

/* test_bad_records - garbage is reported by get and skipped by walks */
static void
test_bad_records(struct qindex *qi)
{
	static const struct {
		const char *name;
		unsigned version;
		const char *sender, *rcpt;
		uint32_t nrcpt;
		bool good;
	} cases[] = {
		{ "valid by hand", 1, "s@x.example", "r@bad.example", 2, true },
		{ "version 2", 2, "s@x.example", "r@bad.example", 2, false },
		{ "bad sender", 1, "s@@x", "r@bad.example", 2, false },
		{ "bad rcpt", 1, "s@x.example", "r", 2, false },
		{ "rcpt count too big", 1, "", "r@bad.example", 3, false },
		{ "rcpt count huge", 1, "", "r@bad.example", 0xffffffffu, false },
	};
	unsigned char rec[512];
	struct qindex_entry *got = NULL;
	struct seen s;
	char key[64], id[QUEUE_ID_LEN + 1];
	size_t i, len, cut, bad_cuts = 0;
	int rc;

	test_id(900, id);
	snprintf(key, sizeof(key), "%s/bad.example", id);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = rec_build(rec, cases[i].version, cases[i].sender,
		    cases[i].nrcpt, cases[i].rcpt);
		qindex_put_raw(qi, key, rec, len);
		errno = 0;
		rc = qindex_get(qi, id, "bad.example", &got);
		if (cases[i].good)
			ok(rc == 1 && got->nrcpt == 2 && got->size == 1234,
			    "record %s: got %d, want 1", cases[i].name, rc);
		else
			ok(rc == -1 && errno == EBADMSG && got == NULL,
			    "record %s: got %d errno %d, want -1 EBADMSG",
			    cases[i].name, rc, errno);
		qindex_entry_free(&got);
	}

	/* Every truncation, and a trailing byte, of a valid record fails. */
	len = rec_build(rec, 1, "s@x.example", 2, "r@bad.example");
	for (cut = 0; cut < len; cut++) {
		qindex_put_raw(qi, key, rec, cut);
		if (qindex_get(qi, id, "bad.example", &got) != -1)
			bad_cuts++;
		qindex_entry_free(&got);
	}
	ok(bad_cuts == 0, "truncated records: %zu of %zu accepted, want 0",
	    bad_cuts, len);
	rec[len] = 'x';
	qindex_put_raw(qi, key, rec, len + 1);
	ok(qindex_get(qi, id, "bad.example", &got) == -1,
	    "record with a trailing byte: refused");

	/* Long garbage with a plausible expiry: indexed, then skipped. */
	memset(rec, 0xff, 200);
	rec[0] = 1;
	rec_u(rec, 1 + 4 + 4 + 8 + 8 + 8, 5, 8);
	qindex_put_raw(qi, key, rec, 200);
	test_id(901, id);
	snprintf(key, sizeof(key), "%s/bad.example", id);
	qindex_put_raw(qi, key, "garbage", 7);
	qindex_put_raw(qi, "not-an-id/bad.example", "x", 1);
	qindex_put_raw(qi, "00000000000000000902/BAD.example", rec, len);

	s = (struct seen){ 0 };
	rc = qindex_walk_domain(qi, "bad.example", seen_fn, &s);
	ok(rc == 0 && s.n == 0,
	    "walk domain skips bad records: got %zu, want 0", s.n);
	s = (struct seen){ 0 };
	rc = qindex_walk_expiry(qi, 10, seen_fn, &s);
	ok(rc == 0 && s.n == 0,
	    "walk expiry skips bad records: got %zu, want 0", s.n);
	s = (struct seen){ 0 };
	rc = qindex_walk_all(qi, seen_fn, &s);
	ok(rc == 0 &&
	    s.n == NDOMAINS * (PER_DOMAIN - 1),
	    "walk all skips bad records: got %zu, want %d", s.n,
	    NDOMAINS * (PER_DOMAIN - 1));
	s = (struct seen){ 0 };
	rc = qindex_walk_message(qi, id, seen_fn, &s);
	ok(rc == 0 && s.n == 0,
	    "walk message skips bad records: got %zu, want 0", s.n);
	ok(qindex_del_message(qi, id) == 1, "del_message removes a bad record");
	test_id(900, id);
	ok(qindex_del(qi, id, "bad.example") == 1, "del removes a bad record");
}

int
main(void)
{
	char tmpl[] = "/tmp/index_test.XXXXXX";
	struct qindex *qi = NULL;
	char *dir;

	/* A walk that deadlocked would hang "make check": fail instead. */
	alarm(120);
	log_init("index_test");
	log_set_dest(LOG_DEST_STDERR, NULL);
	test_tmpdir(tmpl);
	dir = xasprintf("%s/index", tmpl);
	ok(qindex_open(dir, 0, &qi) == -1 && qi == NULL,
	    "open without create fails on a missing environment");
	if (!ok(qindex_open(dir, QINDEX_CREATE | QINDEX_RECOVER, &qi) == 0,
	    "open with create and recover"))
		return tap_done();
	test_round_trip(qi);
	test_walks(qi);
	test_modify_walks(qi);
	test_bad_records(qi);
	qindex_close(&qi);

	/* A clean reopen (no recovery) sees the same data. */
	if (ok(qindex_open(dir, 0, &qi) == 0, "reopen without recover")) {
		size_t cnt;
		int rc;

		rc = qindex_count_domain(qi, "a.example", &cnt);

		ok(rc == 0 &&
		    cnt == PER_DOMAIN - 1, "count after reopen: got %zu", cnt);
		qindex_close(&qi);
	}
	free(dir);
	test_rmdir(tmpl);
	return tap_done();
}
