/*
 * turn_test - sluice-turn's parsers of what an MX says: the finger status
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "t/tap.h"
/* turn */
#include "turn/turn.h"

/* One finger answer, and what the parser must make of it. */
static const struct {
	const char *text;
	int ret;		/* 0 believed, 1 no status, -1 refused */
	unsigned long long waiting, in_flight, bytes;
	long long oldest;
	enum turn_delivery delivery;
	const char *detail;
} cases[] = {
	/* Today's fingerd, short and /W. */
	{ "Domain: site.example\r\nMessages waiting: 3\r\nOldest: 5m 12s ago\r\n"
	  "Status: delivery started\r\n", 0, 3, 0, 0, 312, 0, "" },
	{ "Domain: site.example\r\nMessages waiting: 0\r\nOldest: -\r\nStatus: "
	  "no mail waiting\r\nBytes waiting: 0\r\nFirst bounce: -\r\n",
	  0, 0, 0, 0, -1, 0, "" },
	{ "Domain: site.example\r\nMessages waiting: 2\r\nOldest: 1d 2h ago\r\n"
	  "Bytes waiting: 2048\r\n", 0, 2, 0, 2048, 93600, 0, "" },
	/* The finished signal (issue 9). */
	{ "Domain: site.example\r\nMessages waiting: 0\r\nIn flight: 0\r\n"
	  "Delivered since the gate opened: 12\r\nDelivery: finished at "
	  "2026-12-06 04:01:12 UTC\r\n", 0, 0, 0, 0, -1,
	  TURN_DELIVERY_FINISHED, "2026-12-06 04:01:12 UTC" },
	{ "Domain: SITE.example.\nMessages waiting: 1\nIn flight: 4\n"
	  "Delivery: failing: cannot reach 192.0.2.7:25: connection refused\n",
	  0, 1, 4, 0, -1, TURN_DELIVERY_FAILING,
	  "cannot reach 192.0.2.7:25: connection refused" },
	{ "Messages waiting: 1\r\nDelivery: waiting for the gate\r\nX-New: 7\r\n",
	  0, 1, 0, 0, -1, TURN_DELIVERY_WAITING, "" },
	/* Not a status: an older fingerd's answer to "?DOMAIN", a refusal. */
	{ "Not a domain name.\r\n", 1, 0, 0, 0, -1, 0, "" },
	{ "Too many queries from your address; try again in a minute.\r\n", 1,
	  0, 0, 0, -1, 0, "" },
	{ "", 1, 0, 0, 0, -1, 0, "" },
	/* Lies and damage: never believed. */
	{ "Domain: other.example\r\nMessages waiting: 0\r\n", -1, 0, 0, 0, -1, 0, "" },
	{ "Domain: site.example\r\nOldest: -\r\n", -1, 0, 0, 0, -1, 0, "" },
	{ "Messages waiting: 0\r\nMessages waiting: 5\r\n", -1, 0, 0, 0, -1, 0, "" },
	{ "Messages waiting: -1\r\n", -1, 0, 0, 0, -1, 0, "" },
	{ "Messages waiting: 3 \t\r\n", 0, 3, 0, 0, -1, 0, "" },
	{ "Messages waiting: 0x10\r\n", -1, 0, 0, 0, -1, 0, "" },
	{ "Messages waiting: 100000001\r\n", -1, 0, 0, 0, -1, 0, "" },
	{ "Messages waiting: 99999999999999999999999\r\n", -1, 0, 0, 0, -1, 0, "" },
	{ "Messages waiting: 0\r\nIn flight: 18446744073709551617\r\n", -1, 0, 0,
	  0, -1, 0, "" },
	{ "Messages waiting: 0\r\nBytes waiting: 1125899906842625\r\n", -1, 0, 0,
	  0, -1, 0, "" },
	{ "Messages waiting: 1\r\nOldest: 3651d ago\r\n", -1, 0, 0, 0, -1, 0, "" },
	{ "Messages waiting: 1\r\nOldest: 5x ago\r\n", -1, 0, 0, 0, -1, 0, "" },
	{ "Messages waiting: 1\r\nOldest: 5m  3s ago\r\n", -1, 0, 0, 0, -1, 0, "" },
	{ "Messages waiting: 1\r\nOldest: ago\r\n", -1, 0, 0, 0, -1, 0, "" },
	{ "Messages waiting:\r\n", -1, 0, 0, 0, -1, 0, "" },
	{ "Messages waiting:  \t \r\n", -1, 0, 0, 0, -1, 0, "" },
	{ "Domain:   \r\nMessages waiting: 1\r\n", -1, 0, 0, 0, -1, 0, "" },
};

/* A line longer than TURN_FINGER_LINE_MAX is refused even if unknown. */
static void
test_long_line(void)
{
	char text[TURN_FINGER_LINE_MAX + 64], why[128];
	struct turn_status st;
	int r;

	snprintf(text, sizeof(text), "Messages waiting: 0\r\nX: ");
	memset(text + strlen(text), 'a', TURN_FINGER_LINE_MAX);
	text[sizeof(text) - 3] = '\r';
	text[sizeof(text) - 2] = '\n';
	r = turn_finger_parse(text, sizeof(text) - 1, "site.example", &st, why,
	    sizeof(why));
	ok(r == -1, "a line of %d bytes: got %d (%s), want -1",
	    TURN_FINGER_LINE_MAX + 1, r, why);
}

static void
test_time(void)
{
	static const struct {
		const char *in;
		int ret;
		long long secs;
	} t[] = {
		{ "90", 0, 90 }, { "90s", 0, 90 }, { "5m", 0, 300 }, { "2h", 0, 7200 },
		{ "1d", 0, 86400 }, { "", -1, 0 }, { "m", -1, 0 }, { "5x", -1, 0 },
		{ "5mm", -1, 0 }, { "-5", -1, 0 }, { "999999999999", -1, 0 },
	};
	long long secs;
	size_t i;
	int r;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		secs = 0;
		r = turn_parse_time(t[i].in, &secs);
		ok(r == t[i].ret && (r < 0 || secs == t[i].secs),
		    "time \"%s\": got %d %lld, want %d %lld", t[i].in, r, secs,
		    t[i].ret, t[i].secs);
	}
}

int
main(void)
{
	struct turn_status st;
	char why[128];
	size_t i;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = '\0';
		r = turn_finger_parse(cases[i].text, strlen(cases[i].text),
		    "site.example", &st, why, sizeof(why));
		if (!ok(r == cases[i].ret, "answer %zu: got %d (%s), want %d", i, r,
		    why, cases[i].ret) || r != 0)
			continue;
		ok(st.waiting == cases[i].waiting && st.in_flight == cases[i].in_flight &&
		    st.bytes == cases[i].bytes && st.oldest == cases[i].oldest,
		    "answer %zu: got waiting %llu in flight %llu bytes %llu oldest "
		    "%lld, want %llu %llu %llu %lld", i, st.waiting, st.in_flight,
		    st.bytes, st.oldest, cases[i].waiting, cases[i].in_flight,
		    cases[i].bytes, cases[i].oldest);
		ok(st.delivery == cases[i].delivery &&
		    strcmp(st.detail, cases[i].detail) == 0,
		    "answer %zu: got delivery %d \"%s\", want %d \"%s\"", i,
		    (int)st.delivery, st.detail, (int)cases[i].delivery,
		    cases[i].detail);
	}
	test_long_line();
	test_time();
	return tap_done();
}
