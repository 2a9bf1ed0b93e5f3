/*
 * fingerprobe_test - the finger query grammar and answer text
 * (fingerd_query.c), and the prober's back-off (prober_backoff).
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fingerd/fingerd.h"
#include "prober/prober.h"
#include "t/tap.h"

static const char *const kind_names[] = {
	[FINGER_Q_EMPTY] = "empty",
	[FINGER_Q_DOMAIN] = "domain",
	[FINGER_Q_FORWARD] = "forward",
	[FINGER_Q_BAD] = "bad",
};

static const struct {
	const char *line;
	enum finger_query_kind kind;
	bool verbose;
	const char *domain;
} queries[] = {
	{ "site.example\r\n", FINGER_Q_DOMAIN, false, "site.example" },
	{ "Site.EXAMPLE\r\n", FINGER_Q_DOMAIN, false, "site.example" },
	{ "site.example.\r\n", FINGER_Q_DOMAIN, false, "site.example" },
	{ "site.example\n", FINGER_Q_DOMAIN, false, "site.example" },
	{ "  site.example \t\r\n", FINGER_Q_DOMAIN, false, "site.example" },
	{ "/W site.example\r\n", FINGER_Q_DOMAIN, true, "site.example" },
	{ "/w\tsite.example\r\n", FINGER_Q_DOMAIN, true, "site.example" },
	{ "root\r\n", FINGER_Q_DOMAIN, false, "root" },
	{ "\r\n", FINGER_Q_EMPTY, false, "" },
	{ "   \r\n", FINGER_Q_EMPTY, false, "" },
	{ "/W\r\n", FINGER_Q_EMPTY, true, "" },
	{ "/W \r\n", FINGER_Q_EMPTY, true, "" },
	{ "a@b\r\n", FINGER_Q_FORWARD, false, "" },
	{ "a@b@c\r\n", FINGER_Q_FORWARD, false, "" },
	{ "@site.example\r\n", FINGER_Q_FORWARD, false, "" },
	{ "/W user@host\r\n", FINGER_Q_FORWARD, true, "" },
	{ "a b\r\n", FINGER_Q_BAD, false, "" },
	{ "/Wsite.example\r\n", FINGER_Q_BAD, false, "" },
	{ "[127.0.0.1]\r\n", FINGER_Q_BAD, false, "" },
	{ "site..example\r\n", FINGER_Q_BAD, false, "" },
	{ "-site.example\r\n", FINGER_Q_BAD, false, "" },
	{ "site.example\rx\r\n", FINGER_Q_BAD, false, "" },
	{ "site\033.example\r\n", FINGER_Q_BAD, false, "" },
	{ "%s\r\n", FINGER_Q_BAD, false, "" },
	{ ".\r\n", FINGER_Q_BAD, false, "" },
};

/* test_queries - each line parses to its kind, flag and domain */
static void
test_queries(void)
{
	size_t i;

	for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		struct finger_query q;
		char shown[64];
		size_t j, k = 0;

		/* Show control octets as \xNN, so that TAP lines stay whole. */
		for (j = 0; queries[i].line[j] != '\0' && k + 5 < sizeof(shown); j++) {
			unsigned char c = (unsigned char)queries[i].line[j];

			k += (size_t)snprintf(shown + k, sizeof(shown) - k,
			    c < 0x20 ? "\\x%02x" : "%c", c);
		}
		fingerd_query_parse(queries[i].line, strlen(queries[i].line), &q);
		ok(q.kind == queries[i].kind, "parse \"%s\": got %s, want %s", shown,
		    kind_names[q.kind], kind_names[queries[i].kind]);
		ok(q.verbose == queries[i].verbose, "parse \"%s\": /W got %d, want %d",
		    shown, q.verbose, queries[i].verbose);
		if (queries[i].kind == FINGER_Q_DOMAIN)
			ok(strcmp(q.domain, queries[i].domain) == 0,
			    "parse \"%s\": domain got %s, want %s", shown, q.domain,
			    queries[i].domain);
	}
}

/* test_long - a name longer than a domain may be is not a domain */
static void
test_long(void)
{
	char line[400];
	struct finger_query q;

	memset(line, 'a', sizeof(line));
	for (size_t i = 60; i < 300; i += 61)
		line[i] = '.';
	memcpy(line + 300, "\r\n", 3);
	fingerd_query_parse(line, strlen(line), &q);
	ok(q.kind == FINGER_Q_BAD, "300-octet name: got %s, want bad",
	    kind_names[q.kind]);
}

static const struct {
	long secs;
	const char *want;
} ages[] = {
	{ 0, "0s" },
	{ 59, "59s" },
	{ 60, "1m 0s" },
	{ 3599, "59m 59s" },
	{ 3600, "1h 0m" },
	{ 7500, "2h 5m" },
	{ 86400, "1d 0h" },
	{ 5 * 86400 + 3 * 3600 + 59, "5d 3h" },
	{ -10, "0s" },
};

/* test_ages - how long ago, in the units a person reads */
static void
test_ages(void)
{
	char buf[32];
	size_t i;

	for (i = 0; i < sizeof(ages) / sizeof(ages[0]); i++) {
		fingerd_age(1000000 - ages[i].secs, 1000000, buf, sizeof(buf));
		ok(strcmp(buf, ages[i].want) == 0, "age of %lds: got %s, want %s",
		    ages[i].secs, buf, ages[i].want);
	}
}

/* test_answers - the status report, short and /W */
static void
test_answers(void)
{
	struct finger_status fs = {
		.domain = "site.example", .pending = 3, .bytes = 4096,
		.oldest = 1000000 - 7500, .next_expiry = 1000000 + 86400 + 3600,
		.state = "delivery started",
	};
	struct finger_status none = { .domain = "site.example", .state = "no mail waiting" };
	char *a;

	a = fingerd_answer(&fs, false, 1000000);
	ok(strcmp(a, "Domain: site.example\r\nMessages waiting: 3\r\n"
	    "Oldest: 2h 5m ago\r\nStatus: delivery started\r\nIn flight: 0\r\n"
	    "Delivered since the gate opened: 0\r\nDelivery: waiting for the gate\r\n") == 0,
	    "short answer: the numbers, then Delivery: waiting for the gate");
	free(a);
	a = fingerd_answer(&fs, true, 1000000);
	ok(strstr(a, "\r\nBytes waiting: 4096\r\nFirst bounce: in 1d 1h\r\n") != NULL,
	    "/W answer adds bytes and the first bounce");
	free(a);
	a = fingerd_answer(&none, true, 1000000);
	ok(strcmp(a, "Domain: site.example\r\nMessages waiting: 0\r\nOldest: -\r\n"
	    "Status: no mail waiting\r\nIn flight: 0\r\nDelivered since the gate opened: 0\r\n"
	    "Delivery: finished at 1970-01-12 13:46:40 UTC\r\n"
	    "Bytes waiting: 0\r\nFirst bounce: -\r\n") == 0,
	    "no mail: zeros and dashes, finished as of now");
	free(a);
}

/* delivery_is - fingerd_delivery(fs) at 1000000 says want */
static void
delivery_is(const struct finger_status *fs, const char *want, const char *name)
{
	char buf[300];

	fingerd_delivery(fs, 1000000, buf, sizeof(buf));
	ok(strcmp(buf, want) == 0, "%s: got %s", name, buf);
}

/* test_delivery - the Delivery: line, first match wins; Next probe: when set */
static void
test_delivery(void)
{
	struct finger_status fs = { .domain = "site.example", .state = "x",
		.pending = 2, .in_flight = 1, .open = true, .failing_at = 43380,
		.finished = 86400 + 3723, .next_probe = 90061 };
	char *a;

	snprintf(fs.failing, sizeof(fs.failing), "cannot reach 192.0.2.7:25: connection refused");
	delivery_is(&fs, "failing: cannot reach 192.0.2.7:25: connection refused, 12:03",
	    "a retry in flight after a failure");
	fs.failing[0] = '\0';
	delivery_is(&fs, "in progress", "a job in flight");
	fs.in_flight = 0;
	delivery_is(&fs, "in progress", "mail left, gate open");
	fs.open = false;
	delivery_is(&fs, "waiting for the gate", "gate closed");
	fs.pending = 0;
	delivery_is(&fs, "finished at 1970-01-02 01:02:03 UTC", "nothing left: its time");
	fs.unknown = true;
	delivery_is(&fs, "unknown; ask again later", "no status from qmgr: never finished");
	fs.unknown = false;
	a = fingerd_answer(&fs, false, 1000000);
	ok(strstr(a, "\r\nDelivery: finished at 1970-01-02 01:02:03 UTC\r\n"
	    "Next probe: 1970-01-02 01:01:01 UTC\r\n") != NULL, "Next probe: follows Delivery:");
	free(a);
}

/* test_report - "?DOMAIN" reports only; "?" alone or "??x" is no name */
static void
test_report(void)
{
	static const struct {
		const char *line;
		enum finger_query_kind kind;
		bool report, verbose;
	} rq[] = {
		{ "?site.example\r\n", FINGER_Q_DOMAIN, true, false },
		{ "/W ?site.example\r\n", FINGER_Q_DOMAIN, true, true },
		{ "site.example\r\n", FINGER_Q_DOMAIN, false, false },
		{ "?\r\n", FINGER_Q_BAD, true, false },
		{ "??site.example\r\n", FINGER_Q_BAD, true, false },
		{ "? site.example\r\n", FINGER_Q_BAD, true, false },
		{ "?a@b\r\n", FINGER_Q_FORWARD, true, false },
	};
	struct finger_query q;
	size_t i;

	for (i = 0; i < sizeof(rq) / sizeof(rq[0]); i++) {
		fingerd_query_parse(rq[i].line, strlen(rq[i].line), &q);
		ok(q.kind == rq[i].kind && q.report == rq[i].report &&
		    q.verbose == rq[i].verbose, "report query %zu: kind %s report %d",
		    i, kind_names[q.kind], q.report);
	}
	ok(strcmp(q.domain, "") == 0, "a refused query names no domain");
	fingerd_query_parse("?Site.Example.\r\n", 16, &q);
	ok(strcmp(q.domain, "site.example") == 0, "?DOMAIN: the name lowercased, got %s",
	    q.domain);
}

static const struct {
	bool ok;
	enum probe_state prev;
	long interval, base, max, want;
} backoffs[] = {
	{ true, PROBE_UNREACHABLE, 3600, 900, 7200, 900 },	/* success resets */
	{ false, PROBE_UNKNOWN, 900, 900, 7200, 900 },		/* first failure */
	{ false, PROBE_REACHABLE, 900, 900, 7200, 900 },	/* first after up */
	{ false, PROBE_UNREACHABLE, 900, 900, 7200, 1800 },	/* doubles */
	{ false, PROBE_UNREACHABLE, 3600, 900, 7200, 7200 },
	{ false, PROBE_UNREACHABLE, 7200, 900, 7200, 7200 },	/* capped */
	{ false, PROBE_UNREACHABLE, 5000, 900, 7200, 7200 },
	{ false, PROBE_UNREACHABLE, 2, 2, 4, 4 },
	{ false, PROBE_UNREACHABLE, 4, 2, 4, 4 },
	{ false, PROBE_UNREACHABLE, 9000, 9000, 7200, 9000 },	/* probe= > probe_max */
	{ false, PROBE_UNREACHABLE, 100, 900, 7200, 900 },	/* base raised by reload */
	{ false, PROBE_UNREACHABLE, 1L << 40, 1, 1L << 41, 1L << 41 },
};

/* test_backoff - the interval after each probe outcome */
static void
test_backoff(void)
{
	size_t i;

	for (i = 0; i < sizeof(backoffs) / sizeof(backoffs[0]); i++) {
		long got = prober_backoff(backoffs[i].ok, backoffs[i].prev,
		    backoffs[i].interval, backoffs[i].base, backoffs[i].max);

		ok(got == backoffs[i].want,
		    "backoff ok=%d prev=%d interval=%ld base=%ld max=%ld: got %ld, want %ld",
		    backoffs[i].ok, backoffs[i].prev, backoffs[i].interval,
		    backoffs[i].base, backoffs[i].max, got, backoffs[i].want);
	}
}

int
main(void)
{
	test_queries();
	test_long();
	test_ages();
	test_answers();
	test_delivery();
	test_report();
	test_backoff();
	return tap_done();
}
