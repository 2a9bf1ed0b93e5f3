/*
 * turn_finger - the finger (RFC 1288) status of a domain at one MX
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* lib/util */
#include "util/log.h"
#include "util/xmalloc.h"
/* turn */
#include "turn/turn.h"

/* The fields a status answer may carry; every parser checks its value. */
struct turn_field {
	const char *name;
	int (*parse)(const struct turn_field *f, const char *v, size_t len,
	    const char *domain, struct turn_status *st);
	size_t off;			/* a count's place in turn_status */
	unsigned long long max;		/* and its largest believable value */
};

/* turn_count - a decimal number of at most max; 0/-1 */
static int
turn_count(const char *v, size_t len, unsigned long long max,
    unsigned long long *n_r)
{
	unsigned long long n = 0;
	size_t i;

	if (len == 0 || len > 20)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)v[i]))
			return -1;
		n = n * 10 + (unsigned)(v[i] - '0');
		if (n > max)
			return -1;
	}
	*n_r = n;
	return 0;
}

static int
turn_f_domain(const struct turn_field *f, const char *v, size_t len,
    const char *domain, struct turn_status *st)
{
	size_t dl = strlen(domain);

	(void)f;
	(void)st;
	if (len > 0 && v[len - 1] == '.')
		len--;
	return len == dl && strncasecmp(v, domain, dl) == 0 ? 0 : -1;
}

/* turn_f_count - a count, stored where the field's row says */
static int
turn_f_count(const struct turn_field *f, const char *v, size_t len,
    const char *domain, struct turn_status *st)
{
	(void)domain;
	return turn_count(v, len, f->max,
	    (unsigned long long *)(void *)((char *)st + f->off));
}

/* turn_f_oldest - "-", or "2d 3h ago", "5m 12s ago", "40s ago" */
static int
turn_f_oldest(const struct turn_field *f, const char *v, size_t len,
    const char *domain, struct turn_status *st)
{
	static const struct {
		char unit;
		long long secs;
	} units[] = { { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };
	unsigned long long n;
	long long total = 0;
	size_t i = 0, start, u;

	(void)f;
	(void)domain;
	if (len == 1 && v[0] == '-') {
		st->oldest = -1;
		return 0;
	}
	if (len > 4 && memcmp(v + len - 4, " ago", 4) == 0)
		len -= 4;
	while (i < len) {
		for (start = i; i < len && isdigit((unsigned char)v[i]); i++)
			;
		if (i == start || i == len ||
		    turn_count(v + start, i - start, TURN_AGE_MAX, &n) < 0)
			return -1;
		for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
			if (units[u].unit == v[i])
				break;
		if (u == sizeof(units) / sizeof(units[0]))
			return -1;
		total += (long long)n * units[u].secs;
		if (total > TURN_AGE_MAX)
			return -1;
		if (++i < len && v[i++] != ' ')
			return -1;
	}
	if (i == 0)
		return -1;
	st->oldest = total;
	return 0;
}

/* turn_f_delivery - "finished at T", "in progress", "failing: TEXT", ... */
static int
turn_f_delivery(const struct turn_field *f, const char *v, size_t len,
    const char *domain, struct turn_status *st)
{
	static const struct {
		const char *prefix;
		enum turn_delivery d;
		bool detail;
	} states[] = {
		{ "finished at ", TURN_DELIVERY_FINISHED, true },
		{ "in progress", TURN_DELIVERY_IN_PROGRESS, false },
		{ "failing: ", TURN_DELIVERY_FAILING, true },
		{ "waiting for the gate", TURN_DELIVERY_WAITING, false },
	};
	size_t i, pl;

	(void)f;
	(void)domain;
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		pl = strlen(states[i].prefix);
		if (len < pl || strncasecmp(v, states[i].prefix, pl) != 0)
			continue;
		st->delivery = states[i].d;
		if (states[i].detail)
			snprintf(st->detail, sizeof(st->detail), "%.*s",
			    (int)(len - pl), v + pl);
		return 0;
	}
	/* A state we do not know yet is no reason to distrust the rest. */
	return 0;
}

#define TURN_COUNT(field, max) turn_f_count, offsetof(struct turn_status, field), max
static const struct turn_field turn_fields[] = {
	{ "Domain", turn_f_domain, 0, 0 },
	{ "Messages waiting", TURN_COUNT(waiting, TURN_MESSAGES_MAX) },
	{ "In flight", TURN_COUNT(in_flight, TURN_MESSAGES_MAX) },
	{ "Delivered since the gate opened", TURN_COUNT(delivered, TURN_MESSAGES_MAX) },
	{ "Bytes waiting", TURN_COUNT(bytes, TURN_BYTES_MAX) },
	{ "Oldest", turn_f_oldest, 0, 0 },
	{ "Delivery", turn_f_delivery, 0, 0 },
};
/* The rows whose presence the status records. */
#define TURN_SEEN_IN_FLIGHT	(1u << 2)
#define TURN_SEEN_BYTES		(1u << 4)
#define TURN_NFIELDS (sizeof(turn_fields) / sizeof(turn_fields[0]))
_Static_assert(TURN_NFIELDS <= 32, "the seen mask has 32 bits");

int
turn_finger_parse(const char *text, size_t len, const char *domain,
    struct turn_status *st_r, char *why, size_t size)
{
	const char *line = text, *end = text + len, *nl, *colon, *v;
	unsigned seen = 0;
	size_t ll, f, nl_len;

	memset(st_r, 0, sizeof(*st_r));
	st_r->oldest = -1;
	for (; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (nl == NULL)
			nl = end;
		ll = (size_t)(nl - line);
		if (ll > TURN_FINGER_LINE_MAX) {
			snprintf(why, size, "answer line longer than %d bytes",
			    TURN_FINGER_LINE_MAX);
			return -1;
		}
		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		if ((colon = memchr(line, ':', ll)) == NULL)
			continue;
		nl_len = (size_t)(colon - line);
		for (f = 0; f < TURN_NFIELDS; f++)
			if (strlen(turn_fields[f].name) == nl_len &&
			    strncasecmp(line, turn_fields[f].name, nl_len) == 0)
				break;
		if (f == TURN_NFIELDS)
			continue;
		if (seen & (1u << f)) {
			snprintf(why, size, "\"%s\" given twice", turn_fields[f].name);
			return -1;
		}
		seen |= 1u << f;
		while (ll > 0 && (line[ll - 1] == ' ' || line[ll - 1] == '\t'))
			ll--;
		for (v = colon + 1; v < line + ll && (*v == ' ' || *v == '\t'); v++)
			;
		if (turn_fields[f].parse(&turn_fields[f], v, (size_t)(line + ll - v),
		    domain, st_r) < 0) {
			snprintf(why, size, "bad \"%s\" value \"%.*s\"",
			    turn_fields[f].name, (int)(line + ll - v > 64 ? 64 :
			    line + ll - v), v);
			return -1;
		}
	}
	st_r->have_in_flight = (seen & TURN_SEEN_IN_FLIGHT) != 0;
	st_r->have_bytes = (seen & TURN_SEEN_BYTES) != 0;
	/* Fields 0 and 1 are Domain and Messages waiting. */
	if ((seen & 3u) == 0) {
		for (ll = 0; ll < len && ll < 80 && text[ll] != '\r' &&
		    text[ll] != '\n'; ll++)
			;
		snprintf(why, size, "no status in the answer \"%.*s\"",
		    (int)ll, text);
		return 1;
	}
	if ((seen & 2u) == 0) {
		snprintf(why, size, "no \"Messages waiting\" in the answer");
		return -1;
	}
	return 0;
}

/* turn_finger_ask - one query line to one address; the parse result or -1 */
static int
turn_finger_ask(const struct turn_opts *opts, const struct turn_mx *mx,
    size_t i, const char *query, struct turn_status *st_r, char *why,
    size_t size)
{
	struct turn_conn c;
	char *buf, *line;
	size_t len;
	int r;

	if (turn_conn_open(&c, (const struct sockaddr *)&mx->addr[i],
	    mx->addrlen[i], opts->finger_port, opts->bind, (int)opts->io_timeout * 1000) < 0) {
		snprintf(why, size, "%s", c.err);
		return -1;
	}
	if (opts->verbose)
		log_info("%s: > %s", mx->host, query);
	line = xasprintf("%s\r\n", query);
	buf = xmalloc(TURN_FINGER_MAX);
	if (turn_conn_write(&c, line, strlen(line)) < 0 ||
	    turn_conn_read_all(&c, buf, TURN_FINGER_MAX, &len) < 0) {
		snprintf(why, size, "%s", c.err);
		r = -1;
	} else {
		r = turn_finger_parse(buf, len, mx->domain, st_r, why, size);
	}
	turn_conn_close(&c);
	free(line);
	free(buf);
	return r;
}

int
turn_finger_query(const struct turn_opts *opts, struct turn_mx *mx,
    bool verbose, struct turn_status *st_r, char *addr, size_t asize,
    char *why, size_t size)
{
	const char *w = verbose ? "/W " : "";
	char *query;
	size_t i;
	int r = -1;

	for (i = 0; i < mx->naddr && r < 0; i++) {
		turn_addr_text(mx, i, opts->finger_port, addr, asize);
		query = xasprintf("%s?%s", w, mx->domain);
		if (!mx->finger_plain)
			r = turn_finger_ask(opts, mx, i, query, st_r, why, size);
		free(query);
		/*
		 * An older fingerd answers "?DOMAIN" with "Not a domain name.":
		 * then the plain query, which also releases. Another answer
		 * without a status (too many queries) is a failure this time.
		 */
		if (r == 1 && strstr(why, TURN_FINGER_NOT_DOMAIN) == NULL)
			r = -1;
		if (r == 1 || mx->finger_plain) {
			mx->finger_plain = true;
			query = xasprintf("%s%s", w, mx->domain);
			r = turn_finger_ask(opts, mx, i, query, st_r, why, size);
			free(query);
			if (r == 1)
				r = -1;
		}
	}
	return r < 0 ? -1 : 0;
}
