/*
 * smtp_client_int - what the files of the SMTP client engine share:
 * smtp_client.c (failure, commands, EHLO and STARTTLS, sending a
 * transaction and its content), smtp_client_reply.c (reading replies and
 * acting on each) and smtp_client_conn.c (connect, adopt, free, the
 * owner's questions). Not for use outside them: see smtp_client.h.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_SMTP_CLIENT_INT_H
#define SLUICE_SMTP_CLIENT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "util/events.h"
#include "util/stream.h"
#include "mail/smtp_client.h"

/* A reply line longer than this is garbage (RFC 5321 says 512). */
#define SMTP_CLIENT_LINE_MAX	4096
/* Content is read in chunks; past this much unsent output we wait. */
#define SMTP_CLIENT_CHUNK	32768
#define SMTP_CLIENT_HIGHWATER	(4 * SMTP_CLIENT_CHUNK)
/* Content written per loop turn, so one big message does not starve others. */
#define SMTP_CLIENT_TURN	(8 * SMTP_CLIENT_CHUNK)

enum smtp_client_state {
	CS_CONNECTING,
	CS_BANNER,
	CS_EHLO,
	CS_HELO,
	CS_STARTTLS,
	CS_HANDSHAKE,
	CS_READY,
	CS_TRANSACTION,		/* commands sent, replies expected */
	CS_CONTENT,		/* sending the message */
	CS_QUIT,
	CS_CLOSED,
	CS_FAILED,
};

/* The commands of a transaction, in the order their replies come back. */
enum smtp_client_cmd {
	CMD_RSET,
	CMD_MAIL,
	CMD_RCPT,
	CMD_DATA,
	CMD_DOT,
};

struct smtp_client_step {
	enum smtp_client_cmd cmd;
	size_t rcpt;		/* CMD_RCPT: index into msg->rcpt */
};

/* A reply class as a bit: CLASS(2) for 2xx. */
#define CLASS(n)	(1u << (n))

/*
 * What each command of a transaction may get back (RFC 5321 4.3.2): a
 * reply of another class is out of protocol, never a result. DATA takes
 * exactly 354 to go on; a 2xx to DATA would otherwise read as "sent".
 */
struct smtp_client_cmd_info {
	const char *name;
	unsigned classes;
	int go;			/* the one intermediate (3xx) reply allowed, or 0 */
};
extern const struct smtp_client_cmd_info smtp_client_cmds[];

struct smtp_client {
	struct ev_loop *loop;
	struct stream *st;
	bool own_stream;
	int connect_fd;
	struct ev_timer *connect_timer, *pump_timer, *later_timer;
	enum smtp_client_event later_event;
	smtp_client_fn *fn;
	void *ctx;

	char *helo_name, *peer_name;
	enum smtp_client_tls tls;
	SSL_CTX *tls_ctx;
	struct smtp_client_timeouts to;
	char peer[128];		/* "name[addr]" for messages */

	enum smtp_client_state state;
	unsigned ext;
	uint64_t size_limit;
	char *banner;
	bool tls_tried;

	/* The reply being read. */
	char reply[SMTP_CLIENT_REPLY_MAX];
	size_t reply_len, reply_lines;
	int reply_code;

	/* The transaction. */
	struct smtp_msg *msg;
	struct smtp_client_step *steps;
	size_t nsteps, nsent, nreplied;
	bool *accepted;
	size_t naccepted;
	bool mail_failed, ignore_dot;
	uint64_t content_sent;
	bool at_bol;
	unsigned ntx;

	enum smtp_client_fail fail;
	char fail_text[SMTP_CLIENT_REPLY_MAX];

	int busy;
	bool dead;
	bool in_call;		/* inside an owner's call: events must wait */
};

/* smtp_client_stage - what we were doing, for failure texts */
const char *smtp_client_stage(const struct smtp_client *cl);
/* smtp_client_emit - give an event to the owner unless it freed us */
void smtp_client_emit(struct smtp_client *cl, enum smtp_client_event ev);
/* smtp_client_release - let go of the connection and every timer */
void smtp_client_release(struct smtp_client *cl);
/* smtp_client_destroy - free the memory of a released client */
void smtp_client_destroy(struct smtp_client *cl);
/* smtp_client_settle - leave an entry point; free if the owner asked to */
void smtp_client_settle(struct smtp_client *cl);
/* smtp_result_set - store one recipient's result */
void smtp_result_set(struct smtp_rcpt_result *r, int code, const char *dsn,
    const char *text);
/* smtp_reply_dsn - the enhanced code of a reply, or one derived from its code */
void smtp_reply_dsn(int code, const char *text, char *buf, size_t size);
/*
 * smtp_client_fail - the connection is unusable: record why, fail every
 * recipient without a final reply, drop the connection and tell the
 * owner (on the next turn inside one of the owner's calls).
 */
void smtp_client_fail(struct smtp_client *cl, enum smtp_client_fail f,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * smtp_client_quiet - about to send a command that is not pipelined
 * (before), with no reply outstanding: input buffered now was sent
 * before the command existed, so it answers nothing of ours. false (and
 * the session failed) if there is any.
 */
bool smtp_client_quiet(struct smtp_client *cl, const char *before);
/* smtp_client_timeout - arm the stage timer of the stream */
void smtp_client_timeout(struct smtp_client *cl, uint64_t ms);
/*
 * smtp_client_command - send "verb[ arg]" now, never pipelined (nothing
 * may be buffered); false if the session failed instead
 */
bool smtp_client_command(struct smtp_client *cl, const char *verb, const char *arg);
/* smtp_client_ehlo - send EHLO (or HELO) and wait for the reply */
void smtp_client_ehlo(struct smtp_client *cl, bool helo);
/* smtp_client_ready - greeted: wait for the owner's next message */
void smtp_client_ready(struct smtp_client *cl);
/* smtp_client_ehlo_line - note one extension of the EHLO reply */
void smtp_client_ehlo_line(struct smtp_client *cl, const char *kw);
/* smtp_client_after_ehlo - STARTTLS now, or ready, as the policy says */
void smtp_client_after_ehlo(struct smtp_client *cl);
/* smtp_client_tls_check - after the handshake: the name, for "verify" */
bool smtp_client_tls_check(struct smtp_client *cl);
/* smtp_client_tx_done - the transaction is over: back to ready */
void smtp_client_tx_done(struct smtp_client *cl);
/* smtp_client_send_steps - send what may go now (all of it if pipelining) */
void smtp_client_send_steps(struct smtp_client *cl);
/* smtp_client_content_end - the last bytes of content, then "." */
void smtp_client_content_end(struct smtp_client *cl);
/*
 * smtp_client_pump - send content while the socket takes it. Waits for
 * STREAM_EV_FLUSHED when output piles up, and yields to the loop after
 * SMTP_CLIENT_TURN octets so other sessions get their share.
 */
void smtp_client_pump(struct smtp_client *cl);
/* smtp_client_later_fire - an event that must not come from the call itself */
void smtp_client_later_fire(void *ctx);

#endif
