/*
 * fingerd_query - the finger query grammar and the answer text, without I/O
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* lib/util */
#include "util/timemath.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/address.h"
#include "mail/proto_rec.h"
#include "mail/quota.h"
/* fingerd */
#include "fingerd/fingerd.h"

/* fingerd_blank - space or tab, the only separators RFC 1288 allows */
static bool
fingerd_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* fingerd_query_parse - what a query line asks for (RFC 1288 2.3) */
void
fingerd_query_parse(const char *line, size_t len, struct finger_query *q)
{
	size_t i, start, end;

	memset(q, 0, sizeof(*q));
	q->kind = FINGER_Q_BAD;
	/* The line ends in CRLF by the RFC; a bare LF is tolerated. */
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	/* Control octets (NUL, CR inside the line, ESC ...) are never a name. */
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			return;
	start = 0;
	while (start < len && fingerd_blank(line[start]))
		start++;
	/* "/W" asks for the verbose form (RFC 1288 2.5.1). */
	if (len - start >= 2 && line[start] == '/' &&
	    (line[start + 1] == 'W' || line[start + 1] == 'w') &&
	    (len - start == 2 || fingerd_blank(line[start + 2]))) {
		q->verbose = true;
		start += 2;
		while (start < len && fingerd_blank(line[start]))
			start++;
	}
	end = len;
	while (end > start && fingerd_blank(line[end - 1]))
		end--;
	if (end == start) {
		q->kind = FINGER_Q_EMPTY;
		return;
	}
	/* "?DOMAIN" reports without releasing (our extension; "?" is never a name). */
	if (line[start] == '?') {
		q->report = true;
		if (++start == end)
			return;
	}
	/*
	 * Any "@" asks us to pass the query on to another host ({Q2} of the
	 * RFC): refused always, as the RFC recommends (2.5.5), so that we
	 * are never a relay for probing someone else.
	 */
	if (memchr(line + start, '@', end - start) != NULL) {
		q->kind = FINGER_Q_FORWARD;
		return;
	}
	/* "site.example." is the same domain as "site.example". */
	if (end - start > 1 && line[end - 1] == '.')
		end--;
	if (end - start >= sizeof(q->domain) || line[start] == '[' ||
	    !address_domain_ok(line + start, end - start))
		return;
	for (i = start; i < end; i++) {
		char c = line[i];

		q->domain[i - start] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	q->domain[end - start] = '\0';
	q->kind = FINGER_Q_DOMAIN;
}

/* fingerd_age - how long ago t was, in the two largest units */
void
fingerd_age(time_t t, time_t now, char *buf, size_t size)
{
	/* t comes from a stored time: anything, so the difference saturates. */
	long long s = now > t ? (long long)time_sub_sat(now, t) : 0;

	if (s >= 86400)
		snprintf(buf, size, "%lldd %lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, size, "%lldh %lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, size, "%lldm %llds", s / 60, s % 60);
	else
		snprintf(buf, size, "%llds", s);
}

/* fingerd_delivery - the Delivery: line's value (mail/proto_rec.h says how) */
void
fingerd_delivery(const struct finger_status *fs, time_t now, char *buf, size_t size)
{
	proto_delivery_text(&(struct proto_delivery){ .unknown = fs->unknown,
	    .open = fs->open, .pending = fs->pending, .in_flight = fs->in_flight,
	    .finished = fs->finished, .failing = fs->failing,
	    .failing_at = fs->failing_at }, now, buf, size);
}

/* fingerd_answer - the status report, in a new string */
char *
fingerd_answer(const struct finger_status *fs, bool verbose, time_t now)
{
	char age[32], oldest[40] = "-", expiry[40] = "-", *text, *more;
	char delivery[sizeof(fs->failing) + 64], probe[80] = "", quota[160] = "";

	if (fs->oldest != 0) {
		fingerd_age(fs->oldest, now, age, sizeof(age));
		snprintf(oldest, sizeof(oldest), "%s ago", age);
	}
	fingerd_delivery(fs, now, delivery, sizeof(delivery));
	if (fs->next_probe != 0) {
		proto_utc(fs->next_probe, false, age, sizeof(age));
		snprintf(probe, sizeof(probe), "Next probe: %s\r\n", age);
	}
	/* A capped domain: how full it is (max_messages=, max_bytes=). */
	if (fs->max_messages > 0 || fs->max_bytes > 0) {
		char qt[128];

		quota_text(fs->pending, fs->max_messages, fs->bytes, fs->max_bytes, qt,
		    sizeof(qt));
		snprintf(quota, sizeof(quota), "Space used: %s\r\n", qt);
	}
	text = xasprintf("Domain: %s\r\nMessages waiting: %llu\r\nOldest: %s\r\n"
	    "Status: %s\r\nIn flight: %llu\r\nDelivered since the gate opened: %llu\r\n"
	    "Delivery: %s\r\n%s%s", fs->domain, fs->pending, oldest, fs->state,
	    fs->in_flight, fs->delivered, delivery, probe, quota);
	if (!verbose)
		return text;
	/* "/W": the size too, and when the first message will bounce. */
	if (fs->next_expiry != 0) {
		/* fingerd_age counts back from now; a due time counts forward. */
		fingerd_age(now, fs->next_expiry, age, sizeof(age));
		snprintf(expiry, sizeof(expiry), "in %s", age);
	}
	more = xasprintf("%sBytes waiting: %llu\r\nFirst bounce: %s\r\n", text,
	    fs->bytes, expiry);
	free(text);
	return more;
}
