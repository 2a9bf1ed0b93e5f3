/*
 * stream_int - what the two files of the stream module share: stream.c
 * (the engine: reads, writes, the TLS handshake, deadlines, events) and
 * stream_buf.c (the owner's calls on the buffers). Not for use outside
 * them: see stream.h.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_STREAM_INT_H
#define SLUICE_STREAM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "util/events.h"
#include "util/stream.h"

/*
 * Input is read in chunks of this size; the buffer exists only while it
 * holds unread octets. It grows past this only for a caller whose line
 * limit is larger.
 */
#define STREAM_RBUF_SIZE	16384
#define STREAM_WBUF_MIN		1024

enum stream_tls {
	STREAM_TLS_OFF,		/* plaintext */
	STREAM_TLS_PENDING,	/* STARTTLS asked: flushing output first */
	STREAM_TLS_HANDSHAKE,	/* handshake in progress */
	STREAM_TLS_ON,		/* handshake done */
};

struct stream {
	struct ev_loop *loop;
	int fd;
	stream_fn *fn;
	void *ctx;

	char *rbuf;		/* unread input is rbuf[rpos..rlen) */
	size_t rpos, rlen, rcap;
	bool discarding;	/* dropping the rest of an over-long line */
	char last_dropped;	/* last octet dropped so far */
	bool dropped_crlf;	/* the last dropped line ended in CRLF */

	char *wbuf;		/* unwritten output is wbuf[wpos..wlen) */
	size_t wpos, wlen, wcap;

	SSL *ssl;
	SSL_CTX *pending_ctx;	/* for the handshake after the flush */
	char *servername;
	bool tls_server;
	enum stream_tls tls;
	unsigned hs_want;	/* EV_READ or EV_WRITE the handshake waits for */
	bool read_wants_write;	/* SSL_read said WANT_WRITE */
	bool write_wants_read;	/* SSL_write said WANT_READ */

	bool paused, eof, failed, registered;
	unsigned watched;

	struct ev_timer *timer, *kick;
	uint64_t timeout, deadline;

	struct ev_timer *dl_timer;	/* the earlier of the two below */
	uint64_t dl_at;			/* stream_set_deadline(), or 0 */
	uint64_t line_ms;		/* stream_set_line_deadline(), or 0 */
	uint64_t line_start;		/* first octet of an unfinished line */
	uint64_t dl_armed;		/* when dl_timer fires, or 0 */

	unsigned deferred;	/* events of a direct call, for the next turn */
	int busy;		/* inside a callback from this module */
	bool dead;		/* stream_free() ran while busy */
	char err[160];
};

/* stream_kick_fire - read what the TLS layer holds without socket events */
void stream_kick_fire(void *ctx);
/* stream_send - write pending output; report FLUSHED when async is true */
unsigned stream_send(struct stream *st, bool async);
/* stream_update - watch what the stream needs next */
void stream_update(struct stream *st);

#endif
