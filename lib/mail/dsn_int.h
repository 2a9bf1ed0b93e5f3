/*
 * dsn_int - what the files of the DSN module share: dsn.c (a notice's
 * parts, its file, and the entry points of dsn.h), dsn_field.c (the text
 * and fields it is made of) and dsn_out.c (where its octets go, and the
 * copy of the original). Not for use outside them.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_DSN_INT_H
#define SLUICE_DSN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "mail/dsn.h"
#include "mail/queue.h"

/* RFC 5322 2.1.1: lines SHOULD stay under 78 octets and MUST under 998. */
#define DSN_FOLD_COL		76
#define DSN_LINE_MAX		998
#define DSN_BOUNDARY_TRIES	8
#define DSN_IO_CHUNK		16384
/* The longest boundary we draw, and so the longest overlap we keep. */
#define DSN_BOUNDARY_MAX	70

/* A growing string; always NUL-terminated once anything was added. */
struct dsn_buf {
	char *data;
	size_t len, cap;
};

/*
 * Where notice octets go: the queue file, or (qf == NULL) a scanner that
 * looks for the boundary and for 8-bit octets. The scanner keeps the last
 * few octets of each chunk in front of the next, so that a boundary split
 * across two chunks is still found.
 */
struct dsn_out {
	struct queue_file *qf;
	const char *needle;
	size_t nlen;
	bool found;
	bool eightbit;
	size_t tail;		/* octets kept before area + DSN_BOUNDARY_MAX */
	size_t len;		/* octets buffered after it */
	unsigned char area[DSN_BOUNDARY_MAX + DSN_IO_CHUNK];
};

/* What part 3 carries. */
enum dsn_attach {
	DSN_ATTACH_HEADERS,
	DSN_ATTACH_FULL,
};

/* dsn_buf_add - append n octets */
void dsn_buf_add(struct dsn_buf *b, const char *p, size_t n);
/* dsn_buf_printf - append formatted text */
void dsn_buf_printf(struct dsn_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * dsn_wrap - append "lead" and value as lines of at most DSN_FOLD_COL
 * columns where words allow, breaking at spaces; continuation lines start
 * with cont (" " folds a header, RFC 5322 2.2.3). A word too long for
 * any line is cut at DSN_LINE_MAX: XXX that changes the value of such a
 * header, but a line over 998 octets would break the whole notice.
 */
void dsn_wrap(struct dsn_buf *b, const char *lead, const char *value, const char *cont);
/* dsn_field - append "Name: value" as a folded header or status field */
void dsn_field(struct dsn_buf *b, const char *name, const char *value);
/* dsn_untyped - the text of a "type; text" value, for a human reader */
const char *dsn_untyped(const char *value);
/* dsn_typed_field - a field whose value is "type; text", adding type if missing */
void dsn_typed_field(struct dsn_buf *b, const char *name, const char *type, const char *value);
/* dsn_date - an RFC 5322 date-time in local time, in the C locale's names */
void dsn_date(time_t t, char *buf, size_t sz);
/* dsn_duration - "5 days", "36 hours", "90 seconds" for a span in seconds */
void dsn_duration(long secs, char *buf, size_t sz);
/* dsn_status - the recipient's status, or x.0.0 of its action's class */
const char *dsn_status(const struct dsn_rcpt *r);
/*
 * dsn_reason - a few words for a status when the remote MTA gave no text
 * (RFC 3463's names, for the codes a relay meets most).
 */
const char *dsn_reason(const char *status);

/* dsn_out_flush - hand the buffered octets to the file or the scanner; 0/-1 */
int dsn_out_flush(struct dsn_out *o);
/* dsn_out_buf - send a whole dsn_buf to o; 0/-1 */
int dsn_out_buf(struct dsn_out *o, const struct dsn_buf *b);
/*
 * dsn_copy - send the original content (len octets at fd's offset off)
 * to o, as part 3. Lines end in CRLF (a bare LF is taken as a line end)
 * and are broken at DSN_LINE_MAX octets (dsn_copy_octet). With
 * DSN_ATTACH_HEADERS it stops at the empty line that ends the headers,
 * or after DSN_HEADERS_MAX octets. 0/-1 with errno.
 */
int dsn_copy(struct dsn_out *o, int fd, off_t off, uint64_t len, enum dsn_attach what);
/* dsn_boundary - draw a random MIME boundary (RFC 2046 5.1.1 characters) */
void dsn_boundary(char *buf, size_t sz);

#endif
