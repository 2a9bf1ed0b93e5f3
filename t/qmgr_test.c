/*
 * qmgr_test - unit tests of qmgr's policies, linked against qmgr/libqmgr.a:
 * the retry back-off, who may release a domain (qmgr_trigger_allowed),
 * and when a domain's gate counts as open.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mail/conf.h"
#include "mail/domains.h"
#include "mail/netlist.h"
#include "qmgr/qmgr.h"
#include "tap.h"

static void
test_backoff(void)
{
	/* Table-driven: attempts -> seconds, with minimal 300 and maximal 4000. */
	static const struct {
		unsigned attempts;
		long want;
	} cases[] = {
		{ 0, 300 }, { 1, 300 }, { 2, 600 }, { 3, 1200 }, { 4, 2400 },
		{ 5, 4000 }, { 6, 4000 }, { 64, 4000 }, { UINT_MAX, 4000 },
	};
	struct config cfg = { .minimal_backoff_time = 300, .maximal_backoff_time = 4000 };
	struct qmgr q = { .cfg = &cfg };
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long got = qmgr_backoff(&q, cases[i].attempts);

		ok(got == cases[i].want, "back-off after %u attempts: %ld s (want %ld)",
		    cases[i].attempts, got, cases[i].want);
	}
	/* A maximal below the minimal wins at once. */
	cfg.minimal_backoff_time = 600;
	cfg.maximal_backoff_time = 100;
	ok(qmgr_backoff(&q, 1) == 100, "back-off never exceeds maximal_backoff_time");
}

static void
test_trigger_allowed(void)
{
	static const struct {
		const char *source, *client, *user;
		bool owned, finger, etrn_from;
		const char *want;	/* NULL: allowed */
	} cases[] = {
		{ "cli", NULL, NULL, false, false, true, NULL },
		{ "probe", NULL, NULL, false, false, true, NULL },
		{ "web", "192.0.2.1", "alice", true, false, false, NULL },
		{ "web", "192.0.2.1", "mallory", true, false, false, "not the owner of this domain" },
		{ "web", "192.0.2.1", "alice", false, false, false, "not the owner of this domain" },
		{ "atrn", NULL, "alice", true, false, false, NULL },
		{ "atrn", NULL, NULL, true, false, false, "not the owner of this domain" },
		{ "finger", "192.0.2.1", NULL, false, true, false, NULL },
		{ "finger", "192.0.2.1", NULL, false, false, false, "finger release is off for this domain" },
		{ "etrn", "192.0.2.1", NULL, false, false, false, NULL },
		{ "etrn", "192.0.2.7", NULL, false, false, true, NULL },
		{ "etrn", "2001:db8::7", NULL, false, false, true, NULL },
		{ "etrn", "192.0.2.1", NULL, false, false, true, "client not in etrn_from" },
		{ "etrn", "not-an-address", NULL, false, false, true, "client not in etrn_from" },
		{ "etrn", NULL, NULL, false, false, true, "client not in etrn_from" },
		{ "etrn", "192.0.2.1", "alice", true, false, true, NULL },
		/* A peer's login authorised it; etrn_from lists customers, not peers. */
		{ "peer", "192.0.2.1", NULL, false, false, true, NULL },
		{ "peer", "192.0.2.7", NULL, false, false, true, NULL },
		{ "smtp", "192.0.2.7", "alice", true, true, false, "unknown trigger source" },
	};
	struct netlist *nl = NULL;
	char *err = NULL;
	size_t i;

	ok(netlist_parse("192.0.2.7/32 2001:db8::/64", &nl, &err) == 0,
	    "etrn_from list parses");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct domain d = {
			.name = "site.example",
			.mode = DOMAIN_MODE_HOLD,
			.owner = cases[i].owned ? "alice" : NULL,
			.finger = cases[i].finger,
			.etrn_from = cases[i].etrn_from ? nl : NULL,
		};
		enum proto_source src;
		const char *got;
		bool same;

		/* A word the wire does not know reaches the policy as PROTO_SOURCE_N. */
		if (!proto_source_parse(cases[i].source, &src))
			src = PROTO_SOURCE_N;
		got = qmgr_trigger_allowed(&d, src, cases[i].client, cases[i].user);
		same = got == NULL ? cases[i].want == NULL :
		    cases[i].want != NULL && strcmp(got, cases[i].want) == 0;

		ok(same, "source=%s client=%s user=%s%s%s%s: %s", cases[i].source,
		    cases[i].client ? cases[i].client : "-", cases[i].user ? cases[i].user : "-",
		    cases[i].owned ? " owner=alice" : "", cases[i].finger ? " finger=yes" : "",
		    cases[i].etrn_from ? " etrn_from" : "", got ? got : "allowed");
	}
	netlist_free(&nl);
}

static void
test_gate_open(void)
{
	struct qmgr q = { 0 };
	struct qmgr_domain dom = { .q = &q, .name = "site.example" };
	time_t now = time(NULL);

	ok(!qmgr_gate_is_open(&dom, now), "a new domain's gate is shut");
	(void)qmgr_gate_mark_open(&dom, "etrn", 60, now);
	ok(qmgr_gate_is_open(&dom, now), "open within its lease");
	ok(!qmgr_gate_is_open(&dom, now + 61), "shut once the lease has passed, not yet closed or not");
	(void)qmgr_gate_mark_closed(&dom);
	ok(!qmgr_gate_is_open(&dom, now), "shut when closed before the lease ends");
	free(dom.opened_by);
}

int
main(void)
{
	test_backoff();
	test_trigger_allowed();
	test_gate_open();
	return tap_done();
}
