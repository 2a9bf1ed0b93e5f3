/*
 * qmgr_gate_test - qmgr's gate and trigger policy, linked from libqmgr
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"
#include "mail/conf.h"
#include "mail/domains.h"
#include "mail/netlist.h"
#include "qmgr/qmgr.h"
#include "t/tap.h"

#define NOW	1000000

/* The gate's states: closed, opened, renewed, lease run out, closed again. */
static void
test_gate(void)
{
	struct qmgr_domain dom = { .name = "site.example" };
	bool was;

	ok(!qmgr_gate_is_open(&dom, NOW), "a new gate is closed");
	ok(!qmgr_gate_mark_closed(&dom), "closing a closed gate changes nothing");

	dom.delivered = 7;
	was = qmgr_gate_mark_open(&dom, "etrn", 600, NOW);
	ok(!was, "open: was closed");
	ok(qmgr_gate_is_open(&dom, NOW) && qmgr_gate_is_open(&dom, NOW + 599),
	    "open for its lease");
	ok(!qmgr_gate_is_open(&dom, NOW + 600), "closed when the lease is over");
	ok(dom.open_until == NOW + 600, "open_until: got %lld, want %d",
	    (long long)dom.open_until, NOW + 600);
	ok(dom.delivered == 0, "opening resets delivered: got %lu", dom.delivered);
	ok(dom.last_trigger == NOW && strcmp(dom.opened_by, "etrn") == 0,
	    "last_trigger %lld, opened_by %s", (long long)dom.last_trigger, dom.opened_by);

	/* A renewal keeps the later end and the count, and names its source. */
	dom.delivered = 3;
	was = qmgr_gate_mark_open(&dom, "web", 60, NOW + 10);
	ok(was, "open again: was open");
	ok(dom.open_until == NOW + 600, "a shorter lease keeps the later end: got %lld",
	    (long long)dom.open_until);
	ok(dom.delivered == 3, "renewal keeps delivered: got %lu", dom.delivered);
	ok(strcmp(dom.opened_by, "web") == 0, "opened_by: got %s, want web", dom.opened_by);
	qmgr_gate_renew(&dom, 1000, NOW + 20);
	ok(dom.open_until == NOW + 1020, "renew extends: got %lld, want %d",
	    (long long)dom.open_until, NOW + 1020);
	qmgr_gate_renew(&dom, 10, NOW + 30);
	ok(dom.open_until == NOW + 1020, "renew never shortens: got %lld",
	    (long long)dom.open_until);

	/* A lease run out is closed, yet still has a close to log. */
	ok(!qmgr_gate_is_open(&dom, NOW + 2000), "lease over: not open");
	ok(qmgr_gate_mark_closed(&dom), "lease over: the close still happens");
	ok(!qmgr_gate_is_open(&dom, NOW) && !qmgr_gate_mark_closed(&dom),
	    "closed: closed at any time, and only once");
	ok(dom.opened_by != NULL && dom.last_trigger == NOW + 10,
	    "closed: the last opening is remembered (sluice gate: \"held, last open\")");
	dom.delivered = 5;
	ok(!qmgr_gate_mark_open(&dom, "probe", 600, NOW + 3000) && dom.delivered == 0,
	    "reopened after a close: was closed, delivered reset");
	free(dom.opened_by);
}

/* A trigger soon after another joins the flush; the lease comes from the domain. */
static void
test_joins(void)
{
	struct config cfg = { .trigger_min_interval = 2, .default_lease = 777 };
	struct qmgr q = { .cfg = &cfg };
	struct qmgr_domain dom = { .name = "other.example" };

	cfg.domains = domain_table_new();
	ok(!qmgr_gate_joins(&q, &dom, NOW), "closed gate: a trigger opens it");
	(void)qmgr_gate_mark_open(&dom, "etrn", 600, NOW);
	ok(qmgr_gate_joins(&q, &dom, NOW + 1), "1 s later: joins");
	ok(!qmgr_gate_joins(&q, &dom, NOW + 2), "trigger_min_interval later: opens again");
	ok(!qmgr_gate_joins(&q, &dom, NOW + 601), "lease over: opens again");
	ok(qmgr_gate_lease(&q, &dom) == 777, "no domains entry: default_lease, got %ld",
	    qmgr_gate_lease(&q, &dom));
	free(dom.opened_by);
	domain_table_free(&cfg.domains);
}

/* The trigger policy table, source by source. */
static void
test_policy(void)
{
	struct domain plain = { .name = "a.example", .owner = "alice" };
	struct domain fingered = { .name = "b.example", .owner = "bob", .finger = true };
	struct domain limited = { .name = "c.example", .owner = "carol" };
	char *err = NULL;
	const struct {
		const struct domain *d;
		const char *source, *client, *user;
		const char *want;	/* NULL: allowed */
	} cases[] = {
		{ &plain, "cli", NULL, NULL, NULL },
		{ &plain, "probe", NULL, NULL, NULL },
		{ &plain, "web", "192.0.2.1", "alice", NULL },
		{ &plain, "web", "192.0.2.1", "bob", "not the owner of this domain" },
		{ &plain, "web", "192.0.2.1", NULL, "not the owner of this domain" },
		{ &plain, "atrn", NULL, "alice", NULL },
		{ &plain, "atrn", NULL, "mallory", "not the owner of this domain" },
		{ &plain, "finger", "192.0.2.1", NULL, "finger release is off for this domain" },
		{ &fingered, "finger", "192.0.2.1", NULL, NULL },
		{ &plain, "etrn", "192.0.2.1", NULL, NULL },
		{ &plain, "peer", "192.0.2.1", NULL, NULL },
		{ &limited, "etrn", "192.0.2.1", NULL, "client not in etrn_from" },
		{ &limited, "etrn", "198.51.100.7", NULL, NULL },
		{ &limited, "etrn", "2001:db8::1", NULL, NULL },
		{ &limited, "etrn", NULL, NULL, "client not in etrn_from" },
		{ &limited, "etrn", "not-an-address", NULL, "client not in etrn_from" },
		{ &limited, "etrn", "192.0.2.1", "carol", NULL },
		/* smtpd let the peer in by its address and secret (mail/peer.h). */
		{ &limited, "peer", "192.0.2.1", NULL, NULL },
		{ &plain, "smtp", NULL, NULL, "unknown trigger source" },
		{ &plain, "", NULL, NULL, "unknown trigger source" },
		{ &plain, "CLI", NULL, NULL, "unknown trigger source" },
	};
	size_t i;

	if (netlist_parse("198.51.100.0/24 [2001:db8::]/32", &limited.etrn_from, &err) < 0) {
		ok(false, "netlist_parse: %s", err);
		free(err);
		return;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum proto_source src;
		const char *got;
		bool same;

		/* A word the wire does not know reaches the policy as PROTO_SOURCE_N. */
		if (!proto_source_parse(cases[i].source, &src))
			src = PROTO_SOURCE_N;
		got = qmgr_trigger_allowed(cases[i].d, src, cases[i].client, cases[i].user);
		same = got == NULL ? cases[i].want == NULL :
		    cases[i].want != NULL && strcmp(got, cases[i].want) == 0;

		ok(same, "%s source=%s client=%s user=%s: got %s, want %s", cases[i].d->name,
		    cases[i].source, cases[i].client ? cases[i].client : "-",
		    cases[i].user ? cases[i].user : "-", got ? got : "allowed",
		    cases[i].want ? cases[i].want : "allowed");
	}
	netlist_free(&limited.etrn_from);
}

/* qmgr_failing_text: deliver's conn_error in the customer's words */
static void
test_failing(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "connect to 192.0.2.7[192.0.2.7]: Connection refused",
		  "cannot reach 192.0.2.7:25: connection refused" },
		{ "connect to mx.site.example[192.0.2.7]:2525: Connection timed out",
		  "cannot reach 192.0.2.7:2525: connection timed out" },
		{ "connect to mx.site.example[2001:db8::1]: No route to host",
		  "cannot reach [2001:db8::1]:25: no route to host" },
		{ "421 4.3.2 shutting down", "cannot deliver: 421 4.3.2 shutting down" },
		{ "connect to x: \r\n\x1b[0m", "cannot reach x: ???[0m" },
	};
	struct qmgr_domain dom = { .name = "site.example" };
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = qmgr_failing_text(cases[i].in);

		ok(strcmp(got, cases[i].want) == 0, "failing text %zu: got %s", i, got);
		free(got);
	}
	/* A new release keeps the failure and clears finished. */
	dom.failing = xstrdup("cannot reach 192.0.2.7:25: connection refused");
	dom.finished = NOW - 5;
	(void)qmgr_gate_mark_open(&dom, "etrn", 600, NOW);
	ok(dom.failing != NULL && dom.finished == 0,
	    "opening keeps failing until a delivery, resets finished");
	free(dom.failing);
	free(dom.opened_by);
}

/*
 * route=client: only the owner's login (web, or ETRN after AUTH) from an
 * IP address asks for a probe of that address (and forgets the old one);
 * nothing else does. The route is set only by a probe's success, only
 * while the gate is open; an anonymous trigger does not move it, and the
 * gate's close forgets it.
 */
static void
test_client(void)
{
	struct domain d = { .name = "site.example", .owner = "alice",
	    .route = { .client = true, .port = 2626 } };
	struct domain fixed = { .name = "fixed.example", .owner = "alice",
	    .route = { .mx = true } };
	static const struct {
		const char *source, *client, *user;
		bool probe;	/* a probe of the client's address is asked for */
	} cases[] = {
		{ "web", "192.0.2.1", "alice", true },
		{ "etrn", "2001:db8::7", "alice", true },
		{ "etrn", "192.0.2.1", NULL, false },
		{ "finger", "192.0.2.1", NULL, false },
		{ "peer", "192.0.2.1", "alice", false },
		{ "probe", NULL, NULL, false },
		{ "cli", NULL, NULL, false },
		{ "atrn", "192.0.2.1", "alice", false },
		{ "web", "192.0.2.1", "bob", false },
		{ "web", "not-an-address", "alice", false },
		{ "web", NULL, "alice", false },
	};
	struct qmgr_domain dom = { .name = "site.example" };
	enum proto_source src;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got;

		if (!proto_source_parse(cases[i].source, &src))
			src = PROTO_SOURCE_N;
		got = qmgr_gate_client(&dom, &d, src, cases[i].client, cases[i].user);
		ok(got == cases[i].probe && dom.client_route == NULL,
		    "source=%s client=%s user=%s: probe %s, want %s; no route before it",
		    cases[i].source, cases[i].client ? cases[i].client : "-",
		    cases[i].user ? cases[i].user : "-", got ? "yes" : "no",
		    cases[i].probe ? "yes" : "no");
	}
	ok(!qmgr_gate_client_set(&dom, "[192.0.2.1]:2626", NOW) && dom.client_route == NULL,
	    "a probe that ends after the gate closed sets no route");
	/* Set by the probe, kept through an anonymous trigger, gone with a login or the gate. */
	(void)qmgr_gate_mark_open(&dom, "web", 600, NOW);
	ok(qmgr_gate_client_set(&dom, "[192.0.2.1]:2626", NOW), "a probe's success sets the route");
	(void)qmgr_gate_client(&dom, &d, PROTO_SOURCE_ETRN, "198.51.100.9", NULL);
	ok(dom.client_route != NULL && strcmp(dom.client_route, "[192.0.2.1]:2626") == 0,
	    "a plain ETRN during the lease does not move it: got %s",
	    dom.client_route ? dom.client_route : "none");
	ok(qmgr_gate_client(&dom, &d, PROTO_SOURCE_WEB, "198.51.100.9", "alice") &&
	    dom.client_route == NULL, "a login from elsewhere forgets it until its own probe");
	(void)qmgr_gate_client_set(&dom, "[198.51.100.9]:2626", NOW);
	ok(qmgr_gate_mark_closed(&dom) && dom.client_route == NULL,
	    "the gate's close forgets the address");
	ok(!qmgr_gate_client(&dom, &fixed, PROTO_SOURCE_WEB, "192.0.2.1", "alice") &&
	    dom.client_route == NULL, "a domain with a fixed route gets none");
	free(dom.opened_by);
}

int
main(void)
{
	test_gate();
	test_joins();
	test_policy();
	test_failing();
	test_client();
	return tap_done();
}
