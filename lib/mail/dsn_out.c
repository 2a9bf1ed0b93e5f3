/*
 * dsn_out - where the octets of a notice go: the queue file, or a
 * scanner that looks for the MIME boundary and for 8-bit octets; and the
 * copy of the original message that both see (see dsn.c).
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

/* System. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* Layer 1: util. */
#include "util/chunk.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* Layer 2: mail. */
#include "mail/dsn.h"
#include "mail/dsn_int.h"
#include "mail/queue.h"

/* dsn_out_flush - hand the buffered octets to the file or the scanner; 0/-1 */
int
dsn_out_flush(struct dsn_out *o)
{
	unsigned char *start = o->area + DSN_BOUNDARY_MAX;
	size_t i, keep, all;

	if (o->qf != NULL) {
		if (o->len > 0 && queue_file_write(o->qf, start, o->len) == -1)
			return -1;
		o->len = 0;
		return 0;
	}
	for (i = 0; i < o->len && !o->eightbit; i++)
		if (start[i] >= 0x80)
			o->eightbit = true;
	all = o->tail + o->len;
	if (o->nlen > 0 && memmem(start - o->tail, all, o->needle, o->nlen) != NULL)
		o->found = true;
	/* Keep the last nlen - 1 octets: a match may straddle two chunks. */
	keep = o->nlen > 0 ? o->nlen - 1 : 0;
	if (keep > all)
		keep = all;
	memmove(start - keep, start - o->tail + all - keep, keep);
	o->tail = keep;
	o->len = 0;
	return 0;
}

/* dsn_out_flush_cb - dsn_out_flush as chunk_put calls it */
static int
dsn_out_flush_cb(void *ctx)
{
	return dsn_out_flush(ctx);
}

/* dsn_out_put - send n octets to o; 0/-1 */
static int
dsn_out_put(struct dsn_out *o, const void *p, size_t n)
{
	return chunk_put(o->area + DSN_BOUNDARY_MAX, DSN_IO_CHUNK, &o->len, p, n,
	    dsn_out_flush_cb, o);
}

/* dsn_out_buf - send a whole dsn_buf to o; 0/-1 */
int
dsn_out_buf(struct dsn_out *o, const struct dsn_buf *b)
{
	return dsn_out_put(o, b->data, b->len);
}

/*
 * dsn_copy_octet - send one octet of a line of the original, first
 * breaking the line if it is already DSN_LINE_MAX long: as a header fold
 * (CRLF SP) in the header section, plainly in the body. 0/-1
 */
static int
dsn_copy_octet(struct dsn_out *o, unsigned char c, size_t *col, bool in_headers)
{
	if (*col >= DSN_LINE_MAX) {
		if (dsn_out_put(o, in_headers ? "\r\n " : "\r\n", in_headers ? 3 : 2) == -1)
			return -1;
		*col = in_headers ? 1 : 0;
	}
	(*col)++;
	return dsn_out_put(o, &c, 1);
}

/*
 * dsn_copy - send the original content (len octets at fd's offset off)
 * to o, as part 3. Lines end in CRLF (a bare LF is taken as a line end)
 * and are broken at DSN_LINE_MAX octets (dsn_copy_octet). With
 * DSN_ATTACH_HEADERS it stops at the empty line that ends the headers,
 * or after DSN_HEADERS_MAX octets. 0/-1 with errno.
 */
int
dsn_copy(struct dsn_out *o, int fd, off_t off, uint64_t len, enum dsn_attach what)
{
	unsigned char in[DSN_IO_CHUNK];
	bool in_headers = true, cr = false;
	uint64_t done = 0;
	size_t col = 0, i;
	ssize_t got;

	while (done < len) {
		size_t want = len - done < sizeof(in) ? (size_t)(len - done) : sizeof(in);

		got = pread(fd, in, want, off + (off_t)done);
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got == 0)
				errno = EBADMSG;
			return -1;
		}
		done += (uint64_t)got;
		for (i = 0; i < (size_t)got; i++) {
			unsigned char c = in[i];

			if (c == '\n') {
				cr = false;
				if (col == 0 && in_headers) {
					if (what == DSN_ATTACH_HEADERS)
						return 0;
					in_headers = false;
				}
				if (dsn_out_put(o, "\r\n", 2) == -1)
					return -1;
				col = 0;
				continue;
			}
			/* A CR counts only in front of LF; a lone one is kept as data. */
			if (cr && dsn_copy_octet(o, '\r', &col, in_headers) == -1)
				return -1;
			cr = c == '\r';
			if (!cr && dsn_copy_octet(o, c, &col, in_headers) == -1)
				return -1;
		}
		if (what == DSN_ATTACH_HEADERS && done >= DSN_HEADERS_MAX)
			break;
	}
	if (cr && dsn_copy_octet(o, '\r', &col, in_headers) == -1)
		return -1;
	/* The part ends with a complete line, whatever the original did. */
	if (col > 0 && dsn_out_put(o, "\r\n", 2) == -1)
		return -1;
	return 0;
}

/* dsn_boundary - draw a random MIME boundary (RFC 2046 5.1.1 characters) */
void
dsn_boundary(char *buf, size_t sz)
{
	unsigned char r[12];
	size_t i, o;
	ssize_t n;

	do {
		n = getrandom(r, sizeof(r), 0);
	} while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(r))
		log_fatal("read random bytes: %s", n == -1 ? strerror(errno) : "short read");
	o = (size_t)snprintf(buf, sz, "=_sluice_");
	for (i = 0; i < sizeof(r) && o + 3 <= sz; i++)
		o += (size_t)snprintf(buf + o, sz - o, "%02x", r[i]);
}
