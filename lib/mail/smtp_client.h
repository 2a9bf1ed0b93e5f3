/*
 * smtp_client - the event-driven SMTP client engine (RFC 5321).
 *
 * One struct smtp_client is one SMTP session; a process runs as many as
 * it likes on one event loop. The engine either connects by itself
 * (smtp_client_connect) or takes over a stream that is already connected
 * (smtp_client_adopt), as the ODMR server does after ATRN turns the
 * connection around: there it waits for the customer's 220 and goes on
 * with EHLO as if it had dialled.
 *
 * Session states and the events the owner gets:
 *
 *	connect -> banner (220) -> EHLO (HELO on 5xx) -> [STARTTLS -> EHLO]
 *	        -> SMTP_CLIENT_READY
 *	smtp_client_send(msg):  [RSET] MAIL, RCPT..., DATA, content, "."
 *	        (pipelined when the server offers PIPELINING)
 *	        -> SMTP_CLIENT_DONE (msg's per-recipient results are filled in)
 *	        -> the owner may send the next message (an RSET goes first)
 *	smtp_client_quit():     QUIT -> SMTP_CLIENT_CLOSED
 *	any time:               SMTP_CLIENT_FAILED (smtp_client_failure())
 *
 * FAILED is a connection-level failure: the connection was refused or
 * timed out, TLS failed or was required and not offered, the server
 * closed the connection, sent garbage, or refused to talk (a non-220
 * banner, HELO refused). Recipients of a transaction in progress that had
 * no final reply then have code 0 and the failure text. Reply-level
 * failures (a 4xx or 5xx to MAIL, RCPT, DATA or the final ".") are not
 * FAILED: they are per-recipient results of a DONE transaction.
 *
 * Every reply belongs to exactly one command (RFC 5321 4.3.2, RFC 2920):
 *
 *	- a reply with nothing outstanding (one too many, or one after the
 *	  greeting before our EHLO), data that arrived before the command it
 *	  would answer was sent (input still buffered when a command that is
 *	  not pipelined is about to go out, or the content or the final "."),
 *	  a reply while idle or while content is being sent, and a reply of
 *	  the wrong class for its command (DATA takes 354, 4xx or 5xx: a 2xx
 *	  to DATA is not a delivery) are protocol errors: FAILED with
 *	  SMTP_FAIL_PROTOCOL, the connection dropped, and every recipient of
 *	  the transaction in progress gets code 0 (dsn 4.5.0), since none of
 *	  its replies can be trusted. The mail stays queued.
 *	- Only the reply to the final "." gives accepted recipients a 2xx;
 *	  a RCPT reply (4xx or 5xx) is that recipient's own result.
 *	- An adopted stream with input already buffered (ODMR: the site spoke
 *	  before our 250 to ATRN turned the connection) fails the same way.
 *
 * Content is read from a descriptor positioned at the start of a queue
 * file's content (queue_open_content()): CRLF lines stored dot-unstuffed,
 * sent with dot-stuffing and the final ".".
 *
 * Timeouts (milliseconds) are per stage, as Postfix's smtp_*_timeout:
 * connect, banner and EHLO/HELO/STARTTLS (helo), MAIL/RCPT/RSET/QUIT
 * (cmd), each content write (data), and the reply to "." (dot).
 *
 * Events never reach the owner from inside one of these calls; the owner
 * may call smtp_client_free() from its callback.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_MAIL_SMTP_CLIENT_H
#define SLUICE_MAIL_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

struct ev_loop;
struct stream;
struct smtp_client;

/* The longest reply kept, all lines joined; fits an IPC field. */
#define SMTP_CLIENT_REPLY_MAX	2048

enum smtp_client_tls {
	SMTP_CLIENT_TLS_NONE = 0,	/* never STARTTLS */
	SMTP_CLIENT_TLS_MAY,		/* STARTTLS if offered, else plain */
	SMTP_CLIENT_TLS_ENCRYPT,	/* STARTTLS required, any certificate */
	SMTP_CLIENT_TLS_VERIFY,		/* STARTTLS required, certificate and
					   name (peer_name) verified */
};

enum smtp_client_event {
	SMTP_CLIENT_READY,	/* greeted: smtp_client_send() may be called */
	SMTP_CLIENT_DONE,	/* a transaction is over; results in the msg */
	SMTP_CLIENT_FAILED,	/* the connection failed; see smtp_client_failure() */
	SMTP_CLIENT_CLOSED,	/* QUIT answered (or the peer closed while idle) */
};

enum smtp_client_fail {
	SMTP_FAIL_NONE = 0,
	SMTP_FAIL_CONNECT,	/* connect() failed: refused, unreachable */
	SMTP_FAIL_TIMEOUT,	/* a stage timed out */
	SMTP_FAIL_TLS,		/* STARTTLS required but not offered, or failed */
	SMTP_FAIL_LOST,		/* the peer closed, or a socket error */
	SMTP_FAIL_PROTOCOL,	/* a reply outside the grammar or the dialogue */
	SMTP_FAIL_GREETING,	/* the banner was not 220 */
	SMTP_FAIL_HELO,		/* EHLO and HELO were refused */
	SMTP_FAIL_LOCAL,	/* our side: the queue file could not be read */
};

struct smtp_client_timeouts {
	uint64_t connect_ms;
	uint64_t helo_ms;	/* banner, EHLO/HELO, STARTTLS and handshake */
	uint64_t cmd_ms;	/* MAIL, RCPT, RSET, DATA, QUIT */
	uint64_t data_ms;	/* each write of content */
	uint64_t dot_ms;	/* the reply to the final "." */
};

struct smtp_client_params {
	const char *helo_name;	/* our name in EHLO/HELO */
	const char *peer_name;	/* route host name: logs, SNI, verification */
	enum smtp_client_tls tls;
	SSL_CTX *tls_ctx;	/* a client context (tls.h); verifying for VERIFY;
				   may be NULL only with SMTP_CLIENT_TLS_NONE */
	struct smtp_client_timeouts timeouts;
};

/* Extensions the server announced in its EHLO reply. */
#define SMTP_EXT_PIPELINING	0x01u
#define SMTP_EXT_SIZE		0x02u
#define SMTP_EXT_8BITMIME	0x04u
#define SMTP_EXT_STARTTLS	0x08u
#define SMTP_EXT_DSN		0x10u
#define SMTP_EXT_ENHANCED	0x20u

/* One recipient's final result. code 0: no reply (the connection failed). */
struct smtp_rcpt_result {
	int code;
	char dsn[16];		/* enhanced status "X.Y.Z" (derived if not given) */
	char *reply;		/* "250 2.0.0 Ok: queued as X", lines joined by
				   spaces, or the failure text; owned by the msg */
};

struct smtp_msg_rcpt {
	const char *addr;	/* mailbox */
	unsigned notify;	/* DSN_NOTIFY_* (queue.h), sent if DSN offered */
	const char *orcpt;	/* "rfc822;x@y" or NULL */
};

/*
 * One message for one transaction. The owner fills the first part and
 * keeps it (and the strings it points to) alive until DONE or FAILED;
 * the engine fills the results.
 */
struct smtp_msg {
	const char *sender;	/* "" for the null sender */
	int ret;		/* enum dsn_ret, sent if DSN offered */
	const char *envid;	/* DSN ENVID (plain text) or NULL */
	size_t nrcpt;
	const struct smtp_msg_rcpt *rcpt;
	int content_fd;		/* read from its current offset; not closed */
	uint64_t content_len;

	struct smtp_rcpt_result *result;	/* nrcpt entries, by the engine */
};

typedef void smtp_client_fn(struct smtp_client *cl, enum smtp_client_event ev,
    void *ctx);

/*
 * smtp_client_connect - connect to sa (non-blocking) and run the session
 * up to READY. Never NULL; a failure to even start arrives as FAILED.
 * params are copied.
 */
struct smtp_client *smtp_client_connect(struct ev_loop *loop,
    const struct sockaddr *sa, socklen_t salen,
    const struct smtp_client_params *params, smtp_client_fn *fn, void *ctx);

/*
 * smtp_client_adopt - run a session over st, already connected. With
 * wait_banner the server's 220 is awaited first; without, EHLO is sent at
 * once. The owner of st must forward st's events to smtp_client_stream_io
 * with the client as ctx (a stream has one callback). If own, the client
 * frees st in smtp_client_free(); else the owner keeps it.
 */
struct smtp_client *smtp_client_adopt(struct ev_loop *loop, struct stream *st,
    bool wait_banner, bool own, const struct smtp_client_params *params,
    smtp_client_fn *fn, void *ctx);
/* smtp_client_stream_io - the stream callback of a session (stream_fn) */
void smtp_client_stream_io(struct stream *st, unsigned events, void *ctx);

/* smtp_client_free - close the connection (no QUIT) and free *clp */
void smtp_client_free(struct smtp_client **clp);

/*
 * smtp_client_send - start a transaction for msg; only when READY (or
 * after DONE). Allocates msg->result. 0, or -1 if the session is busy
 * or failed.
 */
int smtp_client_send(struct smtp_client *cl, struct smtp_msg *msg);
/* smtp_msg_clear - free msg's results */
void smtp_msg_clear(struct smtp_msg *msg);

/* smtp_client_quit - send QUIT; CLOSED follows (or FAILED on timeout) */
void smtp_client_quit(struct smtp_client *cl);

/* smtp_client_idle - greeted, no transaction running, not failed? */
bool smtp_client_idle(const struct smtp_client *cl);
/* smtp_client_failure - what failed, and its text ("" if nothing) */
enum smtp_client_fail smtp_client_failure(const struct smtp_client *cl,
    const char **text_r);
/* smtp_client_extensions - SMTP_EXT_* bits of the last EHLO reply */
unsigned smtp_client_extensions(const struct smtp_client *cl);
/* smtp_client_size_limit - the server's SIZE limit, 0 if none given */
uint64_t smtp_client_size_limit(const struct smtp_client *cl);
/* smtp_client_tls_active - is the session encrypted? */
bool smtp_client_tls_active(const struct smtp_client *cl);
/* smtp_client_banner - the 220 banner text, or "" */
const char *smtp_client_banner(const struct smtp_client *cl);
/* smtp_client_transactions - messages sent on this session so far */
unsigned smtp_client_transactions(const struct smtp_client *cl);

/* smtp_client_fail_name - "connect", "timeout", "tls", ... */
const char *smtp_client_fail_name(enum smtp_client_fail f);
/* smtp_client_fail_dsn - the enhanced status code of a failure ("4.4.1") */
const char *smtp_client_fail_dsn(enum smtp_client_fail f);

#endif
