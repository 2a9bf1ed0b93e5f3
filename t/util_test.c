/*
 * util_test - lib/util: ipc records, the hash table, the event loop; lib/mail/address
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "t/tap.h"
#include "util/events.h"
#include "util/htable.h"
#include "util/ipc.h"
#include "util/xmalloc.h"
#include "mail/address.h"

static void
test_ipc_roundtrip(void)
{
	static const char *const values[] = {
		"", "plain", "with space", "per%cent", "new\nline", "tab\there", "\x7f\x01\xff",
		"a=b=c", "<a@b.example>",
	};
	struct ipc_rec *rec = ipc_rec_new("test"), *back = NULL;
	char *buf, name[16];
	size_t len, i;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		snprintf(name, sizeof(name), "f%zu", i);
		ipc_rec_add(rec, name, values[i]);
	}
	ok(ipc_rec_encode(rec, &buf, &len) == 0, "encode a record");
	ok(memchr(buf, '\0', len) == NULL, "encoded record has no NUL");
	ok(ipc_rec_decode(buf, len, &back) == 0, "decode it again");
	for (i = 0; back != NULL && i < sizeof(values) / sizeof(values[0]); i++) {
		const char *got;

		snprintf(name, sizeof(name), "f%zu", i);
		got = ipc_rec_get(back, name);
		/* The value itself may hold a newline: keep it out of the TAP line. */
		ok(got != NULL && strcmp(got, values[i]) == 0, "field %s round trip (%zu bytes)",
		    name, strlen(values[i]));
	}
	ok(back != NULL && strcmp(ipc_rec_type(back), "test") == 0, "type survives");
	free(buf);
	ipc_rec_free(&rec);
	ipc_rec_free(&back);
}

static void
test_ipc_reject(void)
{
	static const struct {
		const char *in;
		const char *why;
	} bad[] = {
		{ "", "empty" },
		{ "type=x", "no final LF" },
		{ "name=x\n", "first field is not type" },
		{ "type=x\nBad=1\n", "uppercase name" },
		{ "type=x\n=1\n", "empty name" },
		{ "type=x\nnoequals\n", "no =" },
		{ "type=x\nv=%0\n", "short escape" },
		{ "type=x\nv=%zz\n", "bad hex" },
		{ "type=x\nv=%00\n", "escaped NUL" },
		{ "type=x\nv=a\tb\n", "raw control char" },
		{ "type=x\nthis_name_is_far_too_long_for_the_grammar=1\n", "name over 32" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ipc_rec *rec = NULL;
		int got = ipc_rec_decode(bad[i].in, strlen(bad[i].in), &rec);

		ok(got == -1, "decode rejects %s: got %d, want -1", bad[i].why, got);
		ipc_rec_free(&rec);
	}
}

static void
test_ipc_num(void)
{
	struct ipc_rec *rec = ipc_rec_new("n");
	unsigned long long v = 0;

	ipc_rec_add(rec, "a", "42");
	ipc_rec_add(rec, "b", "-1");
	ipc_rec_add(rec, "c", "99999999999999999999999");
	ipc_rec_add(rec, "d", "1001");
	ok(ipc_rec_get_num(rec, "a", 100, &v) == 0 && v == 42, "num 42: got %llu", v);
	ok(ipc_rec_get_num(rec, "b", 100, &v) == -1, "num -1 refused");
	ok(ipc_rec_get_num(rec, "c", ~0ULL, &v) == -1, "num overflow refused");
	ok(ipc_rec_get_num(rec, "d", 1000, &v) == -1, "num over max refused");
	ok(ipc_rec_get_num(rec, "missing", 1000, &v) == -1, "missing num refused");
	ipc_rec_free(&rec);
}

static void
test_ipc_socket(void)
{
	struct ipc_rec *rec = ipc_rec_new("ping"), *got = NULL;
	int sv[2];

	ok(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0, "seqpacket pair");
	ipc_rec_add(rec, "id", "ABC");
	ok(ipc_send(sv[0], rec) == 0, "send a record");
	ok(ipc_recv(sv[1], &got) == 1 && strcmp(ipc_rec_get(got, "id"), "ABC") == 0,
	    "receive it whole");
	ipc_rec_free(&got);
	ok(send(sv[0], "garbage", 7, 0) == 7, "send garbage");
	ok(ipc_recv(sv[1], &got) == -1, "garbage is refused, not half-parsed");
	close(sv[0]);
	ok(ipc_recv(sv[1], &got) == 0, "peer close reads as 0");
	close(sv[1]);
	ipc_rec_free(&rec);
}

static int
count_fn(const char *key, void *value, void *ctx)
{
	(*(size_t *)ctx)++;
	return 0;
}

static void
test_htable(void)
{
	struct htable *t = htable_new();
	char key[32];
	size_t i, n = 0, bad = 0;

	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		htable_put(t, key, (void *)(i + 1));
	}
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		if (htable_get(t, key) != (void *)(i + 1))
			bad++;
	}
	ok(bad == 0 && htable_count(t) == 5000, "5000 keys stored and found: %zu bad", bad);
	for (i = 0; i < 5000; i += 2) {
		snprintf(key, sizeof(key), "k%zu", i);
		htable_del(t, key);
	}
	ok(htable_get(t, "k0") == NULL && htable_get(t, "k1") == (void *)2, "delete removes only its key");
	htable_walk(t, count_fn, &n);
	ok(n == 2500, "walk sees what is left: got %zu, want 2500", n);
	htable_put(t, "k1", (void *)7);
	ok(htable_get(t, "k1") == (void *)7 && htable_count(t) == 2500, "put replaces");
	htable_free(&t);
	ok(t == NULL, "free clears the pointer");
}

/* above_fn - htable_prune's choice: values above *ctx */
static bool
above_fn(const char *key, void *value, void *ctx)
{
	return *(size_t *)value > *(size_t *)ctx;
}

/* htable_prune deletes what it is told to, frees those values, keeps the rest. */
static void
test_htable_prune(void)
{
	struct htable *t = htable_new();
	char key[32];
	size_t i, n = 0, limit = 300, *v, bad = 0;

	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		v = xmalloc(sizeof(*v));
		*v = i;
		htable_put(t, key, v);
	}
	n = htable_prune(t, above_fn, &limit, free);
	ok(n == 699 && htable_count(t) == 301,
	    "prune: got %zu gone, %zu left, want 699, 301", n, htable_count(t));
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		v = htable_get(t, key);
		if ((v != NULL) != (i <= limit) || (v != NULL && *v != i))
			bad++;
	}
	ok(bad == 0, "prune: exactly the chosen keys are gone: %zu wrong", bad);
	ok(htable_prune(t, above_fn, &limit, free) == 0, "prune again: nothing more");
	htable_free_values(&t, free);
	ok(t == NULL, "free_values frees what is left and clears the pointer");
}

struct order {
	int seen[8];
	int n;
	struct ev_loop *loop;
	struct ev_timer *cancel_me;
};

static void
timer_fn(void *ctx)
{
	struct order *o = ((struct order **)ctx)[0];
	int v = (int)(long)((void **)ctx)[1];

	o->seen[o->n++] = v;
	if (o->n == 3)
		ev_stop(o->loop);
}

static void
test_events(void)
{
	struct order o = { .loop = ev_loop_new() };
	void *c1[2] = { &o, (void *)1L }, *c2[2] = { &o, (void *)2L }, *c3[2] = { &o, (void *)3L };
	void *c9[2] = { &o, (void *)9L };

	ev_timer_add(o.loop, 30, timer_fn, c3);
	ev_timer_add(o.loop, 10, timer_fn, c1);
	o.cancel_me = ev_timer_add(o.loop, 15, timer_fn, c9);
	ev_timer_add(o.loop, 20, timer_fn, c2);
	ev_timer_cancel(o.loop, &o.cancel_me);
	ok(o.cancel_me == NULL, "cancel clears the pointer");
	ev_run(o.loop);
	ok(o.n == 3 && o.seen[0] == 1 && o.seen[1] == 2 && o.seen[2] == 3,
	    "timers fire in time order, cancelled one never: got %d %d %d (n=%d)",
	    o.seen[0], o.seen[1], o.seen[2], o.n);
	ev_loop_free(&o.loop);
}

static void
test_address(void)
{
	static const struct {
		const char *in;
		bool null_ok;
		int want;
		const char *addr;
	} paths[] = {
		{ "<user@example.com>", false, 0, "user@example.com" },
		{ "<>", true, 0, "" },
		{ "<>", false, -1, NULL },
		{ "<@relay.example:user@example.com>", false, 0, "user@example.com" },
		{ "<\"quoted local\"@example.com>", false, 0, "\"quoted local\"@example.com" },
		{ "<user@[192.0.2.1]>", false, 0, "user@[192.0.2.1]" },
		{ "<user@example.com", false, -1, NULL },
		{ "user@example.com", false, -1, NULL },
		{ "<user>", false, -1, NULL },
		{ "<user@>", false, -1, NULL },
		{ "<.user@example.com>", false, -1, NULL },
		{ "<us..er@example.com>", false, -1, NULL },
		{ "<user@exa_mple.com>", false, 0, "user@exa_mple.com" },
		{ "<user@-bad.com>", false, -1, NULL },
		{ "<user@example..com>", false, -1, NULL },
		{ "<user@@example.com>", false, -1, NULL },
		{ "<a b@example.com>", false, -1, NULL },
	};
	char long_local[80], long_path[300];
	const char *end;
	char *addr;
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int got = address_parse_path(paths[i].in, paths[i].null_ok, &addr, &end);

		ok(got == paths[i].want && (got != 0 || strcmp(addr, paths[i].addr) == 0),
		    "parse %s: got %d \"%s\", want %d \"%s\"", paths[i].in, got,
		    got == 0 ? addr : "", paths[i].want, paths[i].addr ? paths[i].addr : "");
		if (got == 0)
			free(addr);
	}
	memset(long_local, 'a', 65);
	strcpy(long_local + 65, "@example.com");
	ok(!address_mailbox_ok(long_local), "local part of 65 octets refused");
	long_local[64] = '@';
	strcpy(long_local + 65, "example.com");
	ok(address_mailbox_ok(long_local + 1), "local part of 64 octets accepted");
	/* u@ + five labels of 49 + dots: 2 + 5 * 50 = 252 octets, then more. */
	memset(long_path, 'a', sizeof(long_path));
	long_path[0] = 'u';
	long_path[1] = '@';
	for (i = 2 + 49; i < 290; i += 50)
		long_path[i] = '.';
	long_path[290] = '\0';
	ok(!address_mailbox_ok(long_path), "mailbox over the path limit refused");
	ok(strcmp(address_domain("u@Example.COM"), "Example.COM") == 0, "domain part");
	addr = address_domain_lower("u@Example.COM");
	ok(strcmp(addr, "example.com") == 0, "lowercase domain: got %s", addr);
	free(addr);
	ok(address_stored_ok("", true) && !address_stored_ok("", false), "null sender only where allowed");
}

int
main(void)
{
	test_ipc_roundtrip();
	test_ipc_reject();
	test_ipc_num();
	test_ipc_socket();
	test_htable();
	test_htable_prune();
	test_events();
	test_address();
	return tap_done();
}
