/*
 * smtp_client - the event-driven SMTP client engine
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "util/events.h"
#include "util/log.h"
#include "util/stream.h"
#include "util/xmalloc.h"
#include "mail/queue.h"
#include "mail/smtp_cmd.h"
#include "mail/smtp_client.h"
#include "mail/smtp_client_int.h"

/* smtp_client_fail_name - a keyword for each failure kind */
const char *
smtp_client_fail_name(enum smtp_client_fail f)
{
	static const char *const names[] = {
		[SMTP_FAIL_NONE] = "none",
		[SMTP_FAIL_CONNECT] = "connect",
		[SMTP_FAIL_TIMEOUT] = "timeout",
		[SMTP_FAIL_TLS] = "tls",
		[SMTP_FAIL_LOST] = "lost",
		[SMTP_FAIL_PROTOCOL] = "protocol",
		[SMTP_FAIL_GREETING] = "greeting",
		[SMTP_FAIL_HELO] = "helo",
		[SMTP_FAIL_LOCAL] = "local",
	};

	if ((size_t)f >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[f];
}

/* smtp_client_stage - what we were doing, for failure texts */
const char *
smtp_client_stage(const struct smtp_client *cl)
{
	switch (cl->state) {
	case CS_CONNECTING:
	case CS_BANNER:
		return "while receiving the initial server greeting";
	case CS_EHLO:
	case CS_HELO:
		return "while performing the EHLO handshake";
	case CS_STARTTLS:
	case CS_HANDSHAKE:
		return "while performing the TLS handshake";
	case CS_TRANSACTION:
		if (cl->nreplied < cl->nsteps) {
			switch (cl->steps[cl->nreplied].cmd) {
			case CMD_RSET:
				return "while sending RSET";
			case CMD_MAIL:
				return "while sending MAIL FROM";
			case CMD_RCPT:
				return "while sending RCPT TO";
			case CMD_DATA:
				return "while sending DATA command";
			case CMD_DOT:
				return "while sending end of data -- message may be "
				    "sent more than once";
			}
		}
		return "during the transaction";
	case CS_CONTENT:
		return "while sending message body";
	case CS_QUIT:
		return "while sending QUIT";
	default:
		return "while idle";
	}
}

/* smtp_client_emit - give an event to the owner unless it freed us */
void
smtp_client_emit(struct smtp_client *cl, enum smtp_client_event ev)
{
	if (!cl->dead)
		cl->fn(cl, ev, cl->ctx);
}

/* smtp_client_release - let go of the connection and every timer */
void
smtp_client_release(struct smtp_client *cl)
{
	ev_timer_cancel(cl->loop, &cl->connect_timer);
	ev_timer_cancel(cl->loop, &cl->pump_timer);
	ev_timer_cancel(cl->loop, &cl->later_timer);
	if (cl->connect_fd >= 0) {
		ev_io_del(cl->loop, cl->connect_fd);
		(void)close(cl->connect_fd);
		cl->connect_fd = -1;
	}
	if (cl->st != NULL) {
		if (cl->own_stream)
			stream_free(&cl->st);
		else {
			stream_set_timeout(cl->st, 0);
			cl->st = NULL;
		}
	}
}

/* smtp_client_destroy - free the memory of a released client */
void
smtp_client_destroy(struct smtp_client *cl)
{
	free(cl->helo_name);
	free(cl->peer_name);
	free(cl->banner);
	free(cl->steps);
	free(cl->accepted);
	if (cl->tls_ctx != NULL)
		SSL_CTX_free(cl->tls_ctx);
	free(cl);
}

/* smtp_client_settle - leave an entry point; free if the owner asked to */
void
smtp_client_settle(struct smtp_client *cl)
{
	if (--cl->busy == 0 && cl->dead)
		smtp_client_destroy(cl);
}

/* smtp_result_set - store one recipient's result */
void
smtp_result_set(struct smtp_rcpt_result *r, int code, const char *dsn,
    const char *text)
{
	free(r->reply);
	r->code = code;
	snprintf(r->dsn, sizeof(r->dsn), "%s", dsn);
	r->reply = xstrdup(text);
}

/* smtp_reply_dsn - the enhanced code of a reply, or one derived from its code */
void
smtp_reply_dsn(int code, const char *text, char *buf, size_t size)
{
	const char *p = text;
	size_t n1, n2, n3;

	/* "250 2.1.5 Ok": the enhanced code follows the reply code. */
	if (strlen(p) > 4)
		p += 4;
	n1 = strspn(p, "0123456789");
	if (n1 == 1 && p[0] == '0' + code / 100 && p[1] == '.') {
		n2 = strspn(p + 2, "0123456789");
		if (n2 >= 1 && n2 <= 3 && p[2 + n2] == '.') {
			n3 = strspn(p + 3 + n2, "0123456789");
			if (n3 >= 1 && n3 <= 3 && (p[3 + n2 + n3] == ' ' ||
			    p[3 + n2 + n3] == '\0')) {
				snprintf(buf, size, "%.*s", (int)(3 + n2 + n3), p);
				return;
			}
		}
	}
	snprintf(buf, size, "%d.0.0", code / 100);
}

const char *
smtp_client_fail_dsn(enum smtp_client_fail f)
{
	switch (f) {
	case SMTP_FAIL_CONNECT:
	case SMTP_FAIL_TIMEOUT:
		return "4.4.1";
	case SMTP_FAIL_TLS:
		return "4.7.5";
	case SMTP_FAIL_LOCAL:
		return "4.3.0";
	case SMTP_FAIL_PROTOCOL:
		return "4.5.0";
	default:
		return "4.4.2";
	}
}

/*
 * smtp_client_fail - the connection is unusable: record why, give every
 * recipient without a final reply the failure text, drop the connection
 * and tell the owner (on the next turn when inside one of the owner's
 * calls). After a protocol error no reply of the transaction can be
 * trusted to answer the command it seemed to answer, so every recipient
 * gets the failure, a RCPT rejection included.
 */
void
smtp_client_fail(struct smtp_client *cl, enum smtp_client_fail f,
    const char *fmt, ...)
{
	va_list ap;
	bool in_tx = cl->state == CS_TRANSACTION || cl->state == CS_CONTENT;
	size_t i;

	if (cl->state == CS_FAILED || cl->state == CS_CLOSED)
		return;
	va_start(ap, fmt);
	vsnprintf(cl->fail_text, sizeof(cl->fail_text), fmt, ap);
	va_end(ap);
	cl->fail = f;
	if (in_tx && cl->msg != NULL) {
		for (i = 0; i < cl->msg->nrcpt; i++) {
			struct smtp_rcpt_result *r = &cl->msg->result[i];

			if (r->reply == NULL || cl->accepted[i] ||
			    f == SMTP_FAIL_PROTOCOL)
				smtp_result_set(r, 0, smtp_client_fail_dsn(f),
				    cl->fail_text);
		}
	}
	cl->msg = NULL;
	cl->state = CS_FAILED;
	smtp_client_release(cl);
	if (cl->in_call) {
		cl->later_event = SMTP_CLIENT_FAILED;
		cl->later_timer = ev_timer_add(cl->loop, 0, smtp_client_later_fire,
		    cl);
		return;
	}
	smtp_client_emit(cl, SMTP_CLIENT_FAILED);
}

/*
 * smtp_client_quiet - about to send a command that is not pipelined
 * (before), with no reply outstanding: input buffered now was sent
 * before the command existed, so it answers nothing of ours. false (and
 * the session failed) if there is any.
 */
bool
smtp_client_quiet(struct smtp_client *cl, const char *before)
{
	const char *line = "";
	char text[81];
	size_t len = 0, i;

	if (cl->st == NULL || stream_buffered(cl->st) == 0)
		return true;
	if (stream_read_line(cl->st, SMTP_CLIENT_LINE_MAX, &line, &len) <= 0)
		len = 0;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	for (i = 0; i < len && i < sizeof(text) - 1; i++)
		text[i] = line[i] >= 0x20 && line[i] < 0x7f ? line[i] : '?';
	text[i] = '\0';
	smtp_client_fail(cl, SMTP_FAIL_PROTOCOL, "protocol error: host %s sent "
	    "data nobody asked for, before our %s: %s", cl->peer, before,
	    len > 0 ? text : "(a partial line)");
	return false;
}

/* smtp_client_timeout - arm the stage timer of the stream */
void
smtp_client_timeout(struct smtp_client *cl, uint64_t ms)
{
	if (cl->st != NULL)
		stream_set_timeout(cl->st, ms);
}

/*
 * smtp_client_command - send "verb[ arg]" now, never pipelined (nothing
 * may be buffered); false if the session failed instead
 */
bool
smtp_client_command(struct smtp_client *cl, const char *verb, const char *arg)
{
	if (!smtp_client_quiet(cl, verb))
		return false;
	stream_printf(cl->st, "%s%s%s\r\n", verb, arg != NULL ? " " : "",
	    arg != NULL ? arg : "");
	/* A write error comes back as STREAM_EV_ERROR on the next turn. */
	(void)stream_flush(cl->st);
	return true;
}

/* smtp_client_ehlo - send EHLO (or HELO) and wait for the reply */
void
smtp_client_ehlo(struct smtp_client *cl, bool helo)
{
	cl->ext = 0;
	cl->size_limit = 0;
	cl->state = helo ? CS_HELO : CS_EHLO;
	smtp_client_timeout(cl, cl->to.helo_ms);
	(void)smtp_client_command(cl, helo ? "HELO" : "EHLO", cl->helo_name);
}

/* smtp_client_ready - greeted: wait for the owner's next message */
void
smtp_client_ready(struct smtp_client *cl)
{
	cl->state = CS_READY;
	smtp_client_timeout(cl, 0);
	smtp_client_emit(cl, SMTP_CLIENT_READY);
}

/* smtp_client_ehlo_line - note one extension of the EHLO reply */
void
smtp_client_ehlo_line(struct smtp_client *cl, const char *kw)
{
	static const struct {
		const char *name;
		unsigned bit;
	} exts[] = {
		{ "PIPELINING", SMTP_EXT_PIPELINING },
		{ "SIZE", SMTP_EXT_SIZE },
		{ "8BITMIME", SMTP_EXT_8BITMIME },
		{ "STARTTLS", SMTP_EXT_STARTTLS },
		{ "DSN", SMTP_EXT_DSN },
		{ "ENHANCEDSTATUSCODES", SMTP_EXT_ENHANCED },
	};
	size_t i, len = strcspn(kw, " =");

	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		if (strlen(exts[i].name) != len ||
		    strncasecmp(kw, exts[i].name, len) != 0)
			continue;
		cl->ext |= exts[i].bit;
		if (exts[i].bit == SMTP_EXT_SIZE && kw[len] == ' ')
			cl->size_limit = strtoull(kw + len + 1, NULL, 10);
	}
}

/* smtp_client_after_ehlo - STARTTLS now, or ready, as the policy says */
void
smtp_client_after_ehlo(struct smtp_client *cl)
{
	if (cl->tls == SMTP_CLIENT_TLS_NONE || cl->tls_tried ||
	    stream_tls_active(cl->st)) {
		smtp_client_ready(cl);
		return;
	}
	if (cl->ext & SMTP_EXT_STARTTLS) {
		cl->tls_tried = true;
		cl->state = CS_STARTTLS;
		(void)smtp_client_command(cl, "STARTTLS", NULL);
		return;
	}
	if (cl->tls == SMTP_CLIENT_TLS_MAY) {
		smtp_client_ready(cl);
		return;
	}
	smtp_client_fail(cl, SMTP_FAIL_TLS, "TLS is required, but was not "
	    "offered by host %s", cl->peer);
}

/* smtp_client_tls_check - after the handshake: the name, for "verify" */
bool
smtp_client_tls_check(struct smtp_client *cl)
{
	SSL *ssl = stream_tls_ssl(cl->st);
	X509 *cert;
	long vr;
	int ok;

	if (cl->tls != SMTP_CLIENT_TLS_VERIFY)
		return true;
	vr = SSL_get_verify_result(ssl);
	if (vr != X509_V_OK) {
		smtp_client_fail(cl, SMTP_FAIL_TLS, "server certificate of %s not "
		    "verified: %s", cl->peer, X509_verify_cert_error_string(vr));
		return false;
	}
	cert = SSL_get1_peer_certificate(ssl);
	if (cert == NULL) {
		smtp_client_fail(cl, SMTP_FAIL_TLS, "host %s presented no "
		    "certificate", cl->peer);
		return false;
	}
	/* A route given as an address literal is checked as an IP address. */
	{
		unsigned char buf[sizeof(struct in6_addr)];

		if (inet_pton(AF_INET, cl->peer_name, buf) == 1 ||
		    inet_pton(AF_INET6, cl->peer_name, buf) == 1)
			ok = X509_check_ip_asc(cert, cl->peer_name, 0);
		else
			ok = X509_check_host(cert, cl->peer_name, 0, 0, NULL);
	}
	X509_free(cert);
	if (ok != 1) {
		smtp_client_fail(cl, SMTP_FAIL_TLS, "server certificate of %s does "
		    "not match the name %s", cl->peer, cl->peer_name);
		return false;
	}
	return true;
}

/* smtp_client_tx_done - the transaction is over: back to ready */
void
smtp_client_tx_done(struct smtp_client *cl)
{
	cl->msg = NULL;
	cl->ntx++;
	cl->state = CS_READY;
	smtp_client_timeout(cl, 0);
	smtp_client_emit(cl, SMTP_CLIENT_DONE);
}

/* smtp_client_send_steps - send what may go now (all of it if pipelining) */
void
smtp_client_send_steps(struct smtp_client *cl)
{
	const struct smtp_msg *m = cl->msg;

	while (cl->nsent < cl->nsteps) {
		const struct smtp_client_step *s = &cl->steps[cl->nsent];

		if (!(cl->ext & SMTP_EXT_PIPELINING) && cl->nsent > cl->nreplied)
			break;
		if (cl->nsent == cl->nreplied &&
		    !smtp_client_quiet(cl, smtp_client_cmds[s->cmd].name))
			return;
		switch (s->cmd) {
		case CMD_RSET:
			stream_printf(cl->st, "RSET\r\n");
			break;
		case CMD_MAIL:
			stream_printf(cl->st, "MAIL FROM:<%s>", m->sender);
			if (cl->ext & SMTP_EXT_SIZE)
				stream_printf(cl->st, " SIZE=%llu",
				    (unsigned long long)m->content_len);
			if ((cl->ext & SMTP_EXT_DSN) && m->ret == DSN_RET_FULL)
				stream_printf(cl->st, " RET=FULL");
			else if ((cl->ext & SMTP_EXT_DSN) && m->ret == DSN_RET_HDRS)
				stream_printf(cl->st, " RET=HDRS");
			if ((cl->ext & SMTP_EXT_DSN) && m->envid != NULL) {
				char *x = smtp_xtext_encode(m->envid);

				stream_printf(cl->st, " ENVID=%s", x);
				free(x);
			}
			stream_printf(cl->st, "\r\n");
			break;
		case CMD_RCPT: {
			const struct smtp_msg_rcpt *r = &m->rcpt[s->rcpt];

			stream_printf(cl->st, "RCPT TO:<%s>", r->addr);
			if ((cl->ext & SMTP_EXT_DSN) && r->notify != 0) {
				const char *sep = "";

				stream_printf(cl->st, " NOTIFY=");
				if (r->notify & DSN_NOTIFY_NEVER)
					stream_printf(cl->st, "NEVER");
				if (r->notify & DSN_NOTIFY_SUCCESS) {
					stream_printf(cl->st, "SUCCESS");
					sep = ",";
				}
				if (r->notify & DSN_NOTIFY_FAILURE) {
					stream_printf(cl->st, "%sFAILURE", sep);
					sep = ",";
				}
				if (r->notify & DSN_NOTIFY_DELAY)
					stream_printf(cl->st, "%sDELAY", sep);
			}
			if ((cl->ext & SMTP_EXT_DSN) && r->orcpt != NULL)
				stream_printf(cl->st, " ORCPT=%s", r->orcpt);
			stream_printf(cl->st, "\r\n");
			break;
		}
		case CMD_DATA:
			stream_printf(cl->st, "DATA\r\n");
			break;
		case CMD_DOT:
			/* Never a planned step: added when content ends. */
			break;
		}
		cl->nsent++;
	}
	(void)stream_flush(cl->st);
}

/* smtp_client_step_add - append a step to the transaction plan */
static void
smtp_client_step_add(struct smtp_client *cl, enum smtp_client_cmd cmd,
    size_t rcpt)
{
	cl->steps[cl->nsteps].cmd = cmd;
	cl->steps[cl->nsteps].rcpt = rcpt;
	cl->nsteps++;
}

int
smtp_client_send(struct smtp_client *cl, struct smtp_msg *msg)
{
	size_t i;

	if (cl->state != CS_READY || msg->nrcpt == 0)
		return -1;
	msg->result = xcalloc(msg->nrcpt, sizeof(*msg->result));
	cl->msg = msg;
	free(cl->steps);
	free(cl->accepted);
	/* RSET, MAIL, RCPT..., DATA, and "." at the end. */
	cl->steps = xcalloc(msg->nrcpt + 4, sizeof(*cl->steps));
	cl->accepted = xcalloc(msg->nrcpt, sizeof(*cl->accepted));
	cl->nsteps = cl->nsent = cl->nreplied = 0;
	cl->naccepted = 0;
	cl->mail_failed = cl->ignore_dot = false;
	cl->content_sent = 0;
	cl->at_bol = true;
	/*
	 * A reused session starts with RSET: it clears whatever state the
	 * last transaction left and proves the connection is still alive.
	 */
	if (cl->ntx > 0)
		smtp_client_step_add(cl, CMD_RSET, 0);
	smtp_client_step_add(cl, CMD_MAIL, 0);
	for (i = 0; i < msg->nrcpt; i++)
		smtp_client_step_add(cl, CMD_RCPT, i);
	smtp_client_step_add(cl, CMD_DATA, 0);
	cl->state = CS_TRANSACTION;
	smtp_client_timeout(cl, cl->to.cmd_ms);
	cl->in_call = true;
	smtp_client_send_steps(cl);
	cl->in_call = false;
	return 0;
}

void
smtp_msg_clear(struct smtp_msg *msg)
{
	size_t i;

	if (msg->result == NULL)
		return;
	for (i = 0; i < msg->nrcpt; i++)
		free(msg->result[i].reply);
	xfree(&msg->result);
}

/* smtp_client_content_end - the last bytes of content, then "." */
void
smtp_client_content_end(struct smtp_client *cl)
{
	/* The server had nothing to say while the content went out. */
	if (!smtp_client_quiet(cl, "end of data"))
		return;
	/* A message must end in CRLF before the final dot (RFC 5321 4.1.1.4). */
	if (!cl->at_bol)
		stream_write(cl->st, "\r\n", 2);
	stream_write(cl->st, ".\r\n", 3);
	(void)stream_flush(cl->st);
	smtp_client_step_add(cl, CMD_DOT, 0);
	cl->nsent = cl->nsteps;
	cl->state = CS_TRANSACTION;
	smtp_client_timeout(cl, cl->to.dot_ms);
}

/* smtp_client_stuff - write a chunk of content with dot-stuffing */
static void
smtp_client_stuff(struct smtp_client *cl, const char *p, size_t n)
{
	size_t start = 0, i;

	for (i = 0; i < n; i++) {
		if (cl->at_bol && p[i] == '.') {
			/* Dot-stuffing (RFC 5321 4.5.2): a line's leading dot is doubled. */
			stream_write(cl->st, p + start, i - start);
			stream_write(cl->st, ".", 1);
			start = i;
		}
		cl->at_bol = p[i] == '\n';
	}
	stream_write(cl->st, p + start, n - start);
}

/* smtp_client_pump_fire - the next turn of a big message */
static void
smtp_client_pump_fire(void *ctx)
{
	struct smtp_client *cl = ctx;

	cl->pump_timer = NULL;
	cl->busy++;
	smtp_client_pump(cl);
	smtp_client_settle(cl);
}

/*
 * smtp_client_pump - send content while the socket takes it. Waits for
 * STREAM_EV_FLUSHED when output piles up, and yields to the loop after
 * SMTP_CLIENT_TURN octets so other sessions get their share.
 */
void
smtp_client_pump(struct smtp_client *cl)
{
	char buf[SMTP_CLIENT_CHUNK];
	size_t turn = 0;

	while (cl->state == CS_CONTENT) {
		uint64_t left = cl->msg->content_len - cl->content_sent;
		size_t want = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		ssize_t n;

		if (left == 0) {
			smtp_client_content_end(cl);
			return;
		}
		if (stream_pending(cl->st) >= SMTP_CLIENT_HIGHWATER)
			return;
		if (turn >= SMTP_CLIENT_TURN) {
			cl->pump_timer = ev_timer_add(cl->loop, 0,
			    smtp_client_pump_fire, cl);
			return;
		}
		n = read(cl->msg->content_fd, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/*
			 * Without the whole message we must not send the final
			 * dot: dropping the connection makes the server discard
			 * what it got.
			 */
			smtp_client_fail(cl, SMTP_FAIL_LOCAL, "read message content: %s",
			    n < 0 ? strerror(errno) : "file is shorter than its header says");
			return;
		}
		smtp_client_stuff(cl, buf, (size_t)n);
		cl->content_sent += (uint64_t)n;
		turn += (size_t)n;
		(void)stream_flush(cl->st);
	}
}
