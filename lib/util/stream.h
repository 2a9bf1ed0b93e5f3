/*
 * stream - non-blocking buffered byte streams over a socket, with TLS.
 *
 * A stream owns one connected socket and is driven by the event loop
 * (util/events.h). The owner gets one callback with a set of STREAM_EV_*
 * bits and then pulls input with stream_read_line() and pushes output
 * with stream_write()/stream_printf() + stream_flush(). Nothing blocks.
 *
 * Memory: an idle stream holds no buffers. The input buffer is allocated
 * when bytes arrive and released once consumed; the output buffer lives
 * only while output is pending. (An SSL object, when TLS is on, is the
 * bulk of a TLS session's memory and cannot be shrunk here.)
 *
 * Input is line oriented: a line ends at LF and is handed out with its
 * terminator so callers can tell CRLF from a bare LF. A line longer than
 * the caller's limit is reported once (-1) and the rest of it, through
 * the next LF, is discarded by the stream.
 *
 * TLS (OpenSSL 3): stream_starttls_server() / stream_starttls_client()
 * switch an established plaintext stream to TLS once pending output has
 * been written. Plaintext input that was already buffered is thrown away
 * at that moment: bytes a client pipelined after STARTTLS were sent in
 * the clear and must never be read as if they came through the TLS
 * channel (CVE-2011-0411). SSL_ERROR_WANT_READ / WANT_WRITE are handled
 * in both directions (a read may need to write, a write may need to
 * read), invisibly to the owner.
 *
 * Timeouts: stream_set_timeout() arms an idle timer; any read or write
 * progress pushes it back. When it runs out the owner gets
 * STREAM_EV_TIMEOUT (once; set it again to re-arm).
 *
 * Deadlines: an idle timer alone lets a peer that sends one octet now
 * and then hold a session for ever. stream_set_deadline() names a
 * moment (STREAM_EV_DEADLINE) that no progress moves, for a whole
 * session or phase; stream_set_line_deadline() bounds each input line
 * from its first octet to its LF (STREAM_EV_LINE_DEADLINE). Both fire
 * once and stay off until set again.
 *
 * Callbacks may call stream_free() on their own stream: the stream is then
 * released when the callback returns.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_STREAM_H
#define SLUICE_STREAM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "util/events.h"

/* Event bits given to the owner's callback. */
#define STREAM_EV_READ		0x01u	/* new input is buffered */
#define STREAM_EV_EOF		0x02u	/* peer closed; buffered input may remain */
#define STREAM_EV_FLUSHED	0x04u	/* all pending output was written */
#define STREAM_EV_ERROR		0x08u	/* I/O or TLS failure: stream_error() */
#define STREAM_EV_TIMEOUT	0x10u	/* the idle timer ran out */
#define STREAM_EV_TLS		0x20u	/* the TLS handshake completed */
#define STREAM_EV_DEADLINE	0x40u	/* the stream_set_deadline() moment came */
#define STREAM_EV_LINE_DEADLINE	0x80u	/* an input line took too long */

struct stream;

typedef void stream_fn(struct stream *st, unsigned events, void *ctx);

/* stream_new - take over connected socket fd (made non-blocking) */
struct stream *stream_new(struct ev_loop *loop, int fd, stream_fn *fn,
    void *ctx);
/* stream_free - close the socket, free everything, set *stp to NULL */
void stream_free(struct stream **stp);
/* stream_fd - the socket */
int stream_fd(const struct stream *st);

/* stream_set_timeout - idle timeout in milliseconds; 0 disables it */
void stream_set_timeout(struct stream *st, uint64_t ms);
/*
 * stream_set_deadline - STREAM_EV_DEADLINE at when (ev_now() milliseconds,
 * absolute), whatever the peer does meanwhile; 0 cancels it.
 */
void stream_set_deadline(struct stream *st, uint64_t when);
/*
 * stream_set_line_deadline - an input line must be whole (its LF read)
 * within ms of its first octet, else STREAM_EV_LINE_DEADLINE. Lines the
 * owner has not taken yet do not count: only an unfinished one does.
 * 0 disables it.
 */
void stream_set_line_deadline(struct stream *st, uint64_t ms);

/*
 * stream_read_line - take the next line (with its LF) from the input
 * buffer. Returns 1 and points *line_r / *len_r at it (valid until the
 * next call on st), 0 if no whole line is buffered yet, or -1 once for a
 * line longer than max octets (LF included), whose remainder the stream
 * then discards up to and including the next LF.
 */
int stream_read_line(struct stream *st, size_t max, const char **line_r,
    size_t *len_r);
/*
 * stream_discarded_crlf - did the over-long line most recently discarded
 * end in CRLF (rather than a bare LF)? Valid once stream_read_line() has
 * returned the line after it. Lets a caller that must see every line
 * ending exactly (SMTP DATA) judge the line it never saw.
 */
bool stream_discarded_crlf(const struct stream *st);
/*
 * stream_read - take up to size buffered input octets into buf, as they
 * came (no lines: for a caller that relays bytes); how many it took, 0
 * when nothing is buffered.
 */
size_t stream_read(struct stream *st, void *buf, size_t size);
/* stream_buffered - input octets buffered and not yet taken */
size_t stream_buffered(const struct stream *st);
/* stream_discard_input - drop buffered input; returns how many octets */
size_t stream_discard_input(struct stream *st);
/* stream_pause - stop (true) or resume (false) reading from the socket */
void stream_pause(struct stream *st, bool pause);
/* stream_eof - has the peer closed its side? */
bool stream_eof(const struct stream *st);

/* stream_write - append to the output buffer (no I/O until a flush) */
void stream_write(struct stream *st, const void *buf, size_t len);
/* stream_printf - append formatted text to the output buffer */
void stream_printf(struct stream *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void stream_vprintf(struct stream *st, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/*
 * stream_flush - write what the socket takes now; the rest goes out as it
 * becomes writable, and STREAM_EV_FLUSHED reports the empty buffer.
 * 0 (all written or in progress), -1 on a write error (see stream_error).
 */
int stream_flush(struct stream *st);
/* stream_pending - output octets not yet written */
size_t stream_pending(const struct stream *st);

/*
 * stream_starttls_server - after pending output is flushed, discard any
 * buffered plaintext input and run the server side of a TLS handshake
 * with ctx; STREAM_EV_TLS or STREAM_EV_ERROR follows. Returns the number
 * of buffered plaintext octets discarded now (for the log), or -1 if the
 * stream is already in TLS.
 */
long stream_starttls_server(struct stream *st, SSL_CTX *ctx);
/*
 * stream_starttls_client - the client side, with SNI servername (may be
 * NULL). Same discard rule and events; -1 if already in TLS.
 */
long stream_starttls_client(struct stream *st, SSL_CTX *ctx,
    const char *servername);
/* stream_tls_active - has a TLS handshake completed on st? */
bool stream_tls_active(const struct stream *st);
/* stream_tls_ssl - the SSL object (peer certificate checks), or NULL */
SSL *stream_tls_ssl(const struct stream *st);
/* stream_tls_describe - "TLSv1.3 with cipher NAME (BITS/BITS bits)" in buf */
void stream_tls_describe(const struct stream *st, char *buf, size_t size);

/* stream_error - text of the last failure ("" if none) */
const char *stream_error(const struct stream *st);

#endif
