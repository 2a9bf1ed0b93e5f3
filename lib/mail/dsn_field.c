/*
 * dsn_field - the text a notice is made of: a growing buffer, header
 * and delivery-status fields folded to RFC 5322's line lengths, cleaned
 * of control and 8-bit octets, dates, durations, RFC 3463 status codes
 * and the few words a status means (see dsn.c).
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

/* System. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Layer 1: util. */
#include "util/log.h"
#include "util/xmalloc.h"

/* Layer 2: mail. */
#include "mail/dsn.h"
#include "mail/dsn_int.h"

/* dsn_buf_room - make room for n more octets and the NUL after them */
static void
dsn_buf_room(struct dsn_buf *b, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->data = xrealloc(b->data, b->cap);
	}
}

/* dsn_buf_add - append n octets */
void
dsn_buf_add(struct dsn_buf *b, const char *p, size_t n)
{
	dsn_buf_room(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* dsn_buf_printf - append formatted text, formatted in place */
void
dsn_buf_printf(struct dsn_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		log_panic("dsn_buf_printf: bad format \"%s\"", fmt);
	dsn_buf_room(b, (size_t)n);
	va_start(ap, fmt);
	(void)vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/*
 * dsn_clean - a new copy of s fit for a header or a line of text: control
 * characters (a multi-line SMTP reply's CRLFs among them) become spaces,
 * and 8-bit octets '?', since the parts we write are US-ASCII (RFC 3464
 * 2.1.1); runs of spaces collapse and the ends are trimmed.
 */
static char *
dsn_clean(const char *s)
{
	char *out = xmalloc(strlen(s) + 1);
	size_t o = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			c = ' ';
		else if (c >= 0x80)
			c = '?';
		if (c == ' ' && (o == 0 || out[o - 1] == ' '))
			continue;
		out[o++] = (char)c;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return out;
}

/*
 * dsn_wrap - append "lead" and value as lines of at most DSN_FOLD_COL
 * columns where words allow, breaking at spaces; continuation lines start
 * with cont (" " folds a header, RFC 5322 2.2.3). A word too long for
 * any line is cut at DSN_LINE_MAX: XXX that changes the value of such a
 * header, but a line over 998 octets would break the whole notice.
 */
void
dsn_wrap(struct dsn_buf *b, const char *lead, const char *value, const char *cont)
{
	char *v = dsn_clean(value);
	const char *p = v;
	size_t col, sp, wl, room, clen = strlen(cont);

	dsn_buf_add(b, lead, strlen(lead));
	col = strlen(lead);
	while (*p != '\0') {
		sp = strspn(p, " ");
		wl = strcspn(p + sp, " ");
		if (sp > 0 && col + sp + wl > DSN_FOLD_COL) {
			dsn_buf_add(b, "\r\n", 2);
			dsn_buf_add(b, cont, clen);
			col = clen;
		} else {
			dsn_buf_add(b, p, sp);
			col += sp;
		}
		p += sp;
		while (wl > 0) {
			room = DSN_LINE_MAX - col;
			if (wl <= room) {
				dsn_buf_add(b, p, wl);
				col += wl;
				p += wl;
				break;
			}
			dsn_buf_add(b, p, room);
			dsn_buf_add(b, "\r\n", 2);
			dsn_buf_add(b, cont, clen);
			col = clen;
			p += room;
			wl -= room;
		}
	}
	dsn_buf_add(b, "\r\n", 2);
	free(v);
}

/* dsn_field - append "Name: value" as a folded header or status field */
void
dsn_field(struct dsn_buf *b, const char *name, const char *value)
{
	char *lead = xasprintf("%s: ", name);

	dsn_wrap(b, lead, value, " ");
	free(lead);
}

/* dsn_untyped - the text of a "type; text" value, for a human reader */
const char *
dsn_untyped(const char *value)
{
	size_t tl = strcspn(value, "; \t");

	if (value[tl] != ';' || tl == 0)
		return value;
	value += tl + 1;
	return value + strspn(value, " \t");
}

/* dsn_typed_field - a field whose value is "type; text", adding type if missing */
void
dsn_typed_field(struct dsn_buf *b, const char *name, const char *type, const char *value)
{
	char *v;

	/* RFC 3464 2.1.2: the value is typed ("dns; host", "smtp; 550 ..."). */
	if (dsn_untyped(value) != value)
		v = xstrdup(value);
	else
		v = xasprintf("%s; %s", type, value);
	dsn_field(b, name, v);
	free(v);
}

/* dsn_date - an RFC 5322 date-time in local time, in the C locale's names */
void
dsn_date(time_t t, char *buf, size_t sz)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	long off;

	if (localtime_r(&t, &tm) == NULL) {
		snprintf(buf, sz, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	off = tm.tm_gmtoff / 60;
	snprintf(buf, sz, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

/* dsn_duration - "5 days", "36 hours", "90 seconds" for a span in seconds */
void
dsn_duration(long secs, char *buf, size_t sz)
{
	static const struct {
		long unit;
		const char *name;
	} units[] = {
		{ 86400, "day" }, { 3600, "hour" }, { 60, "minute" }, { 1, "second" },
	};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]) - 1; i++)
		if (secs >= units[i].unit && secs % units[i].unit == 0)
			break;
	snprintf(buf, sz, "%ld %s%s", secs / units[i].unit, units[i].name,
	    secs / units[i].unit == 1 ? "" : "s");
}

/* dsn_status_ok - is s an RFC 3463 status "class.subject.detail"? */
static bool
dsn_status_ok(const char *s)
{
	size_t n, part;

	if (s == NULL || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return false;
	s += 2;
	for (part = 0; part < 2; part++) {
		n = strspn(s, "0123456789");
		if (n < 1 || n > 3)
			return false;
		s += n;
		if (part == 0 && *s++ != '.')
			return false;
	}
	return *s == '\0';
}

/* dsn_status - the recipient's status, or x.0.0 of its action's class */
const char *
dsn_status(const struct dsn_rcpt *r)
{
	if (dsn_status_ok(r->status))
		return r->status;
	switch (r->action) {
	case DSN_ACTION_FAILED:
		return "5.0.0";
	case DSN_ACTION_DELAYED:
		return "4.0.0";
	default:
		return "2.0.0";
	}
}

/*
 * dsn_reason - a few words for a status when the remote MTA gave no text
 * (RFC 3463's names, for the codes a relay meets most).
 */
const char *
dsn_reason(const char *status)
{
	static const struct {
		const char *sub;
		const char *text;
	} reasons[] = {
		{ "1.1", "the mailbox does not exist" },
		{ "1.2", "the destination domain does not exist" },
		{ "2.2", "the mailbox is full" },
		{ "3.4", "the message is too big" },
		{ "4.1", "the receiving server did not answer" },
		{ "4.2", "the connection to the receiving server failed" },
		{ "4.4", "no route to the destination" },
		{ "4.6", "the message loops" },
		{ "4.7", "the message was queued too long" },
		{ "7.1", "delivery was refused" },
	};
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(status + 2, reasons[i].sub) == 0)
			return reasons[i].text;
	if (status[0] == '2')
		return "delivered";
	return status[0] == '4' ? "a temporary failure" : "a permanent failure";
}
