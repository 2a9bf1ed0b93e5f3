/*
 * stream - non-blocking buffered byte streams over a socket, with TLS
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

/* lib/util */
#include "util/events.h"
#include "util/log.h"
#include "util/stream.h"
#include "util/stream_int.h"
#include "util/xmalloc.h"

/* stream_progress - push back the idle deadline after I/O progress */
static void
stream_progress(struct stream *st)
{
	if (st->timeout > 0)
		st->deadline = ev_now() + st->timeout;
}

/* stream_fail - record a failure and stop watching the socket */
static void
stream_fail(struct stream *st, const char *what, const char *why)
{
	if (!st->failed)
		snprintf(st->err, sizeof(st->err), "%.40s: %.110s", what, why);
	st->failed = true;
	if (st->registered) {
		ev_io_del(st->loop, st->fd);
		st->registered = false;
	}
}

/* stream_ssl_reason - text of the first queued OpenSSL error, queue cleared */
static const char *
stream_ssl_reason(char *buf, size_t size, int sys_errno)
{
	unsigned long e = ERR_get_error();

	if (e != 0)
		ERR_error_string_n(e, buf, size);
	else if (sys_errno != 0)
		snprintf(buf, size, "%s", strerror(sys_errno));
	else
		snprintf(buf, size, "unexpected end of stream");
	ERR_clear_error();
	return buf;
}

/* stream_destroy - release everything that is left */
static void
stream_destroy(struct stream *st)
{
	free(st->rbuf);
	free(st->wbuf);
	free(st->servername);
	free(st);
}

/* stream_release - close the socket and free the TLS state now */
static void
stream_release(struct stream *st)
{
	ev_timer_cancel(st->loop, &st->timer);
	ev_timer_cancel(st->loop, &st->kick);
	ev_timer_cancel(st->loop, &st->dl_timer);
	if (st->registered)
		ev_io_del(st->loop, st->fd);
	st->registered = false;
	if (st->ssl != NULL) {
		/* A polite close_notify, best effort: the socket is non-blocking. */
		if (st->tls == STREAM_TLS_ON && !st->failed)
			(void)SSL_shutdown(st->ssl);
		SSL_free(st->ssl);
		st->ssl = NULL;
		ERR_clear_error();
	}
	if (st->pending_ctx != NULL) {
		SSL_CTX_free(st->pending_ctx);
		st->pending_ctx = NULL;
	}
	if (st->fd >= 0)
		(void)close(st->fd);
	st->fd = -1;
}

/* stream_finish - hand events to the owner, then settle the stream */
static void
stream_finish(struct stream *st, unsigned out)
{
	if (out != 0 && !st->dead)
		st->fn(st, out, st->ctx);
	st->busy--;
	if (st->dead) {
		if (st->busy == 0)
			stream_destroy(st);
		return;
	}
	stream_update(st);
}

/* stream_fill - read what the socket (or TLS layer) has into the buffer */
static unsigned
stream_fill(struct stream *st)
{
	unsigned out = 0;
	char why[160];

	if (st->rbuf == NULL) {
		st->rcap = st->rcap > STREAM_RBUF_SIZE ? st->rcap : STREAM_RBUF_SIZE;
		st->rbuf = xmalloc(st->rcap);
		st->rpos = st->rlen = 0;
	} else if (st->rpos > 0) {
		memmove(st->rbuf, st->rbuf + st->rpos, st->rlen - st->rpos);
		st->rlen -= st->rpos;
		st->rpos = 0;
	}
	st->read_wants_write = false;
	while (st->rlen < st->rcap) {
		size_t room = st->rcap - st->rlen;
		ssize_t n;

		if (st->ssl == NULL) {
			n = read(st->fd, st->rbuf + st->rlen, room);
			if (n > 0) {
				st->rlen += (size_t)n;
				out |= STREAM_EV_READ;
				/* Level-triggered: one read per wakeup is fair to others. */
				break;
			}
			if (n == 0) {
				st->eof = true;
				out |= STREAM_EV_EOF;
				break;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				stream_fail(st, "read", strerror(errno));
				out |= STREAM_EV_ERROR;
			}
			break;
		}
		ERR_clear_error();
		n = SSL_read(st->ssl, st->rbuf + st->rlen,
		    room > INT32_MAX ? INT32_MAX : (int)room);
		if (n > 0) {
			st->rlen += (size_t)n;
			out |= STREAM_EV_READ;
			continue;
		}
		switch (SSL_get_error(st->ssl, (int)n)) {
		case SSL_ERROR_WANT_READ:
			break;
		case SSL_ERROR_WANT_WRITE:
			st->read_wants_write = true;
			break;
		case SSL_ERROR_ZERO_RETURN:
			st->eof = true;
			out |= STREAM_EV_EOF;
			break;
		default:
			stream_fail(st, "tls read", stream_ssl_reason(why,
			    sizeof(why), errno));
			out |= STREAM_EV_ERROR;
			break;
		}
		break;
	}
	if (out & STREAM_EV_READ)
		stream_progress(st);
	if (st->rlen == st->rpos)
		xfree(&st->rbuf);
	return out;
}

/* stream_handshake - advance a TLS handshake */
static unsigned
stream_handshake(struct stream *st)
{
	char why[160];
	int r;

	ERR_clear_error();
	r = SSL_do_handshake(st->ssl);
	if (r == 1) {
		st->tls = STREAM_TLS_ON;
		st->hs_want = 0;
		stream_progress(st);
		return STREAM_EV_TLS;
	}
	switch (SSL_get_error(st->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		st->hs_want = EV_READ;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		st->hs_want = EV_WRITE;
		return 0;
	default:
		stream_fail(st, "tls handshake", stream_ssl_reason(why,
		    sizeof(why), errno));
		return STREAM_EV_ERROR;
	}
}

/* stream_tls_begin - create the SSL object and start the handshake */
static unsigned
stream_tls_begin(struct stream *st)
{
	char why[160];

	/* Nothing read in the clear may be taken as TLS input (see header). */
	st->rpos = st->rlen = 0;
	st->discarding = false;
	xfree(&st->rbuf);
	ERR_clear_error();
	st->ssl = SSL_new(st->pending_ctx);
	SSL_CTX_free(st->pending_ctx);
	st->pending_ctx = NULL;
	if (st->ssl == NULL || SSL_set_fd(st->ssl, st->fd) != 1) {
		stream_fail(st, "tls setup", stream_ssl_reason(why, sizeof(why), 0));
		return STREAM_EV_ERROR;
	}
	/*
	 * The output buffer may move (realloc) between a write that said
	 * WANT_WRITE and its retry, and partial writes let us track progress.
	 */
	SSL_set_mode(st->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (st->tls_server)
		SSL_set_accept_state(st->ssl);
	else {
		if (st->servername != NULL)
			(void)SSL_set_tlsext_host_name(st->ssl, st->servername);
		SSL_set_connect_state(st->ssl);
	}
	st->tls = STREAM_TLS_HANDSHAKE;
	return stream_handshake(st);
}

/* stream_send - write pending output; report FLUSHED when async is true */
unsigned
stream_send(struct stream *st, bool async)
{
	unsigned out = 0;
	char why[160];

	st->write_wants_read = false;
	while (st->wpos < st->wlen && !st->failed) {
		size_t len = st->wlen - st->wpos;
		ssize_t n;

		if (st->ssl == NULL) {
			n = send(st->fd, st->wbuf + st->wpos, len, MSG_NOSIGNAL);
			if (n >= 0) {
				st->wpos += (size_t)n;
				stream_progress(st);
				continue;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				stream_fail(st, "write", strerror(errno));
				out |= STREAM_EV_ERROR;
			}
			break;
		}
		ERR_clear_error();
		n = SSL_write(st->ssl, st->wbuf + st->wpos,
		    len > INT32_MAX ? INT32_MAX : (int)len);
		if (n > 0) {
			st->wpos += (size_t)n;
			stream_progress(st);
			continue;
		}
		switch (SSL_get_error(st->ssl, (int)n)) {
		case SSL_ERROR_WANT_WRITE:
			break;
		case SSL_ERROR_WANT_READ:
			st->write_wants_read = true;
			break;
		default:
			stream_fail(st, "tls write", stream_ssl_reason(why,
			    sizeof(why), errno));
			out |= STREAM_EV_ERROR;
			break;
		}
		break;
	}
	if (st->wpos == st->wlen && st->wbuf != NULL) {
		xfree(&st->wbuf);
		st->wpos = st->wlen = st->wcap = 0;
		if (async)
			out |= STREAM_EV_FLUSHED;
	}
	if (st->wlen == 0 && st->tls == STREAM_TLS_PENDING && !st->failed)
		out |= stream_tls_begin(st);
	return out;
}

/* stream_want_read - should the socket be read now? (fill compacts first) */
static bool
stream_want_read(const struct stream *st)
{
	return !st->failed && !st->eof && !st->paused &&
	    st->tls != STREAM_TLS_PENDING && st->tls != STREAM_TLS_HANDSHAKE &&
	    (st->rbuf == NULL || st->rlen - st->rpos < st->rcap);
}

/* stream_kick_fire - read what the TLS layer holds without socket events */
void
stream_kick_fire(void *ctx)
{
	struct stream *st = ctx;
	unsigned out = 0;

	st->kick = NULL;
	st->busy++;
	out = st->deferred;
	st->deferred = 0;
	if (stream_want_read(st))
		out |= stream_fill(st);
	stream_finish(st, out);
}

static void stream_deadline_fire(void *ctx);

/* stream_deadline_arm - (re)arm the timer for the earlier deadline */
static void
stream_deadline_arm(struct stream *st)
{
	uint64_t due = st->dl_at, now;

	if (st->line_start != 0 && (due == 0 || st->line_start + st->line_ms < due))
		due = st->line_start + st->line_ms;
	if (due == st->dl_armed && (due == 0 || st->dl_timer != NULL))
		return;
	ev_timer_cancel(st->loop, &st->dl_timer);
	st->dl_armed = due;
	if (due == 0 || st->dead)
		return;
	now = ev_now();
	st->dl_timer = ev_timer_add(st->loop, due > now ? due - now : 0,
	    stream_deadline_fire, st);
}

/*
 * stream_line_track - note when the unfinished input line began. A
 * whole line still buffered is the owner's wait, not the peer's, so
 * the clock runs only while no LF is buffered (or while an over-long
 * line is being dropped).
 */
static void
stream_line_track(struct stream *st)
{
	bool partial;

	if (st->line_ms == 0)
		return;
	partial = st->discarding || (st->rbuf != NULL && st->rpos < st->rlen &&
	    memchr(st->rbuf + st->rpos, '\n', st->rlen - st->rpos) == NULL);
	if (!partial)
		st->line_start = 0;
	else if (st->line_start == 0)
		st->line_start = ev_now();
	stream_deadline_arm(st);
}

/* stream_deadline_fire - report the deadlines that have passed */
static void
stream_deadline_fire(void *ctx)
{
	struct stream *st = ctx;
	uint64_t now = ev_now();
	unsigned out = 0;

	st->dl_timer = NULL;
	st->dl_armed = 0;
	if (st->dl_at != 0 && now >= st->dl_at) {
		st->dl_at = 0;
		out |= STREAM_EV_DEADLINE;
	}
	if (st->line_start != 0 && now >= st->line_start + st->line_ms) {
		st->line_start = st->line_ms = 0;
		out |= STREAM_EV_LINE_DEADLINE;
	}
	if (out == 0) {
		stream_deadline_arm(st);
		return;
	}
	st->busy++;
	stream_finish(st, out);
}

/* stream_update - watch what the stream needs next */
void
stream_update(struct stream *st)
{
	unsigned mask = 0;

	if (st->failed || st->dead || !st->registered)
		return;
	stream_line_track(st);
	if (st->tls == STREAM_TLS_HANDSHAKE)
		mask = st->hs_want;
	else {
		if (stream_want_read(st))
			mask |= st->read_wants_write ? EV_WRITE : EV_READ;
		if (st->wpos < st->wlen)
			mask |= st->write_wants_read ? EV_READ : EV_WRITE;
	}
	if (mask != st->watched && ev_io_mod(st->loop, st->fd, mask) == 0)
		st->watched = mask;
	/*
	 * OpenSSL may hold decrypted or undecrypted input the socket no longer
	 * signals (the buffer was full when it arrived): read it on the next
	 * loop turn instead of waiting for more network traffic.
	 */
	if (st->ssl != NULL && st->tls == STREAM_TLS_ON && st->kick == NULL &&
	    stream_want_read(st) && !st->read_wants_write &&
	    SSL_has_pending(st->ssl))
		st->kick = ev_timer_add(st->loop, 0, stream_kick_fire, st);
}

/* stream_io - the event loop's callback for the socket */
static void
stream_io(int fd, unsigned events, void *ctx)
{
	struct stream *st = ctx;
	unsigned out = 0;

	st->busy++;
	if (st->tls == STREAM_TLS_HANDSHAKE) {
		out |= stream_handshake(st);
	} else {
		bool wr = st->wpos < st->wlen && ((events & EV_WRITE &&
		    !st->write_wants_read) || (events & EV_READ &&
		    st->write_wants_read));
		bool rd = stream_want_read(st) && ((events & EV_READ &&
		    !st->read_wants_write) || (events & EV_WRITE &&
		    st->read_wants_write));

		if (wr)
			out |= stream_send(st, true);
		if (rd && !st->failed)
			out |= stream_fill(st);
	}
	/*
	 * Hang-up or socket error with nothing left to read: stop watching,
	 * or level-triggered epoll would report it again forever.
	 */
	if ((events & EV_ERROR) && !(out & STREAM_EV_READ) && !st->failed) {
		int e = 0;
		socklen_t elen = sizeof(e);

		if (getsockopt(st->fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
			e = errno;
		stream_fail(st, "connection", e != 0 ? strerror(e) :
		    "closed by peer");
		out |= e != 0 ? STREAM_EV_ERROR : STREAM_EV_EOF;
		st->eof = true;
	}
	stream_finish(st, out);
}

/* stream_timer_fire - the idle timer: re-arm if there was progress */
static void
stream_timer_fire(void *ctx)
{
	struct stream *st = ctx;
	uint64_t now = ev_now();

	st->timer = NULL;
	if (st->timeout == 0)
		return;
	if (now < st->deadline) {
		st->timer = ev_timer_add(st->loop, st->deadline - now,
		    stream_timer_fire, st);
		return;
	}
	st->timeout = 0;
	st->busy++;
	stream_finish(st, STREAM_EV_TIMEOUT);
}

struct stream *
stream_new(struct ev_loop *loop, int fd, stream_fn *fn, void *ctx)
{
	struct stream *st;
	int flags = fcntl(fd, F_GETFL), one = 1;

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return NULL;
	/*
	 * We buffer and flush whole replies and commands ourselves; Nagle's
	 * algorithm on top would hold a pipelined "." or a short reply until
	 * the peer's delayed ACK, some 40 ms per message. Not TCP: no-op.
	 */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	st = xcalloc(1, sizeof(*st));
	st->loop = loop;
	st->fd = fd;
	st->fn = fn;
	st->ctx = ctx;
	if (ev_io_add(loop, fd, EV_READ, stream_io, st) < 0) {
		free(st);
		return NULL;
	}
	st->registered = true;
	st->watched = EV_READ;
	return st;
}

void
stream_free(struct stream **stp)
{
	struct stream *st = *stp;

	if (st == NULL)
		return;
	*stp = NULL;
	stream_release(st);
	if (st->busy > 0)
		st->dead = true;
	else
		stream_destroy(st);
}

int
stream_fd(const struct stream *st)
{
	return st->fd;
}

void
stream_set_timeout(struct stream *st, uint64_t ms)
{
	st->timeout = ms;
	if (ms == 0) {
		ev_timer_cancel(st->loop, &st->timer);
		return;
	}
	st->deadline = ev_now() + ms;
	/* An earlier, later-firing timer would miss a shorter new deadline. */
	ev_timer_cancel(st->loop, &st->timer);
	st->timer = ev_timer_add(st->loop, ms, stream_timer_fire, st);
}

void
stream_set_deadline(struct stream *st, uint64_t when)
{
	st->dl_at = when;
	stream_deadline_arm(st);
}

void
stream_set_line_deadline(struct stream *st, uint64_t ms)
{
	if (ms == st->line_ms)
		return;
	st->line_ms = ms;
	if (ms == 0)
		st->line_start = 0;
	stream_deadline_arm(st);
	if (st->busy == 0)
		stream_update(st);
}
