/*
 * stream_buf - what an owner does with a stream's buffers: read a line,
 * write, print, flush, pause; start TLS and describe it (see stream.h).
 * The engine that moves the octets (reads, writes, the handshake, the
 * deadlines) is stream.c.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

/* lib/util */
#include "util/events.h"
#include "util/log.h"
#include "util/stream.h"
#include "util/stream_int.h"
#include "util/xmalloc.h"

int
stream_read_line(struct stream *st, size_t max, const char **line_r,
    size_t *len_r)
{
	int ret = 0;

	if (max == 0)
		log_panic("stream_read_line: zero line limit");
	if (max > st->rcap && max > STREAM_RBUF_SIZE) {
		/* Room for a whole line of the caller's limit. */
		st->rcap = max;
		if (st->rbuf != NULL)
			st->rbuf = xrealloc(st->rbuf, st->rcap);
	}
	while (st->rbuf != NULL && st->rpos < st->rlen) {
		const char *p = st->rbuf + st->rpos;
		size_t avail = st->rlen - st->rpos;
		const char *lf;

		if (st->discarding) {
			lf = memchr(p, '\n', avail);
			if (lf == NULL) {
				st->last_dropped = p[avail - 1];
				st->rpos = st->rlen;
				break;
			}
			st->dropped_crlf = (lf > p ? lf[-1] : st->last_dropped) == '\r';
			st->rpos += (size_t)(lf - p) + 1;
			st->discarding = false;
			continue;
		}
		lf = memchr(p, '\n', avail < max ? avail : max);
		if (lf != NULL) {
			*line_r = p;
			*len_r = (size_t)(lf - p) + 1;
			st->rpos += *len_r;
			ret = 1;
			break;
		}
		if (avail >= max) {
			st->last_dropped = p[max - 1];
			st->rpos += max;
			st->discarding = true;
			ret = -1;
		}
		break;
	}
	/*
	 * An empty buffer is released; a line handed out stays valid because
	 * nothing refills the buffer before the caller's next call.
	 */
	if (ret != 1 && st->rbuf != NULL && st->rpos == st->rlen) {
		xfree(&st->rbuf);
		st->rpos = st->rlen = 0;
	}
	if (st->busy == 0)
		stream_update(st);
	return ret;
}

size_t
stream_read(struct stream *st, void *buf, size_t size)
{
	size_t n = stream_buffered(st);

	if (n > size)
		n = size;
	if (n > 0) {
		memcpy(buf, st->rbuf + st->rpos, n);
		st->rpos += n;
	}
	/* As stream_read_line: an empty buffer is released. */
	if (st->rbuf != NULL && st->rpos == st->rlen) {
		xfree(&st->rbuf);
		st->rpos = st->rlen = 0;
	}
	if (st->busy == 0)
		stream_update(st);
	return n;
}

bool
stream_discarded_crlf(const struct stream *st)
{
	return st->dropped_crlf;
}

size_t
stream_buffered(const struct stream *st)
{
	return st->rbuf == NULL ? 0 : st->rlen - st->rpos;
}

size_t
stream_discard_input(struct stream *st)
{
	size_t n = stream_buffered(st);

	xfree(&st->rbuf);
	st->rpos = st->rlen = 0;
	st->discarding = false;
	if (st->busy == 0)
		stream_update(st);
	return n;
}

void
stream_pause(struct stream *st, bool pause)
{
	st->paused = pause;
	if (st->busy == 0)
		stream_update(st);
}

bool
stream_eof(const struct stream *st)
{
	return st->eof;
}

void
stream_write(struct stream *st, const void *buf, size_t len)
{
	if (len == 0 || st->failed)
		return;
	if (st->wpos > 0 && st->wpos == st->wlen)
		st->wpos = st->wlen = 0;
	if (len > st->wcap - st->wlen) {
		size_t cap = st->wcap ? st->wcap : STREAM_WBUF_MIN;

		while (cap - st->wlen < len) {
			if (cap > SIZE_MAX / 2)
				log_panic("stream_write: output buffer overflow");
			cap *= 2;
		}
		st->wbuf = xrealloc(st->wbuf, cap);
		st->wcap = cap;
	}
	memcpy(st->wbuf + st->wlen, buf, len);
	st->wlen += len;
}

void
stream_vprintf(struct stream *st, const char *fmt, va_list ap)
{
	char *s = xvasprintf(fmt, ap);

	stream_write(st, s, strlen(s));
	free(s);
}

void
stream_printf(struct stream *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	stream_vprintf(st, fmt, ap);
	va_end(ap);
}

int
stream_flush(struct stream *st)
{
	unsigned out;

	if (st->failed)
		return -1;
	/* During a handshake, output waits for it (TLS data needs keys). */
	if (st->tls == STREAM_TLS_HANDSHAKE)
		return 0;
	/*
	 * A write that waits for the peer (TLS WANT_READ) is retried by the
	 * event loop. Events this direct attempt produces (a pending TLS
	 * handshake starting and failing) reach the owner on the next loop
	 * turn, never from inside its own call.
	 */
	out = stream_send(st, false) & (STREAM_EV_ERROR | STREAM_EV_TLS);
	if (out != 0) {
		st->deferred |= out;
		if (st->kick == NULL)
			st->kick = ev_timer_add(st->loop, 0, stream_kick_fire, st);
	}
	if (st->busy == 0)
		stream_update(st);
	return (out & STREAM_EV_ERROR) ? -1 : 0;
}

size_t
stream_pending(const struct stream *st)
{
	return st->wlen - st->wpos;
}

/* stream_starttls - shared part of the server and client entry points */
static long
stream_starttls(struct stream *st, SSL_CTX *ctx, bool server,
    const char *servername)
{
	long discarded;

	if (st->tls != STREAM_TLS_OFF || st->failed)
		return -1;
	discarded = (long)stream_discard_input(st);
	st->tls_server = server;
	st->servername = servername ? xstrdup(servername) : NULL;
	SSL_CTX_up_ref(ctx);
	st->pending_ctx = ctx;
	st->tls = STREAM_TLS_PENDING;
	/* Output before the switch (the "220 Ready") goes out in the clear. */
	(void)stream_flush(st);
	return discarded;
}

long
stream_starttls_server(struct stream *st, SSL_CTX *ctx)
{
	return stream_starttls(st, ctx, true, NULL);
}

long
stream_starttls_client(struct stream *st, SSL_CTX *ctx,
    const char *servername)
{
	return stream_starttls(st, ctx, false, servername);
}

bool
stream_tls_active(const struct stream *st)
{
	return st->tls == STREAM_TLS_ON;
}

SSL *
stream_tls_ssl(const struct stream *st)
{
	return st->ssl;
}

void
stream_tls_describe(const struct stream *st, char *buf, size_t size)
{
	const SSL_CIPHER *c;
	int alg = 0, bits;

	if (st->ssl == NULL || st->tls != STREAM_TLS_ON) {
		snprintf(buf, size, "no TLS");
		return;
	}
	c = SSL_get_current_cipher(st->ssl);
	bits = SSL_CIPHER_get_bits(c, &alg);
	snprintf(buf, size, "%s with cipher %s (%d/%d bits)",
	    SSL_get_version(st->ssl), SSL_CIPHER_get_name(c), bits, alg);
}

const char *
stream_error(const struct stream *st)
{
	return st->err;
}
