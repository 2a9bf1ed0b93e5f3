/*
 * smtp_client_reply - the SMTP client reads the server's replies: lines
 * into a reply, a reply into the result of the command it answers, and
 * the stream's events into the state machine (see smtp_client.h).
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/events.h"
#include "util/log.h"
#include "util/stream.h"
#include "util/xmalloc.h"
#include "mail/smtp_cmd.h"
#include "mail/smtp_client.h"
#include "mail/smtp_client_int.h"

/* smtp_client_cmds - the replies each command may get (smtp_client_int.h) */
const struct smtp_client_cmd_info smtp_client_cmds[] = {
	[CMD_RSET] = { "RSET", CLASS(2) | CLASS(4) | CLASS(5), 0 },
	[CMD_MAIL] = { "MAIL FROM", CLASS(2) | CLASS(4) | CLASS(5), 0 },
	[CMD_RCPT] = { "RCPT TO", CLASS(2) | CLASS(4) | CLASS(5), 0 },
	[CMD_DATA] = { "DATA", CLASS(4) | CLASS(5), 354 },
	[CMD_DOT] = { "end of data", CLASS(2) | CLASS(4) | CLASS(5), 0 },
};

/* smtp_client_rcpt_final - give every accepted recipient this reply */
static void
smtp_client_rcpt_final(struct smtp_client *cl, const char *dsn)
{
	size_t i;

	for (i = 0; i < cl->msg->nrcpt; i++)
		if (cl->accepted[i]) {
			smtp_result_set(&cl->msg->result[i], cl->reply_code, dsn,
			    cl->reply);
			cl->accepted[i] = false;
		}
}

/* smtp_client_tx_reply - a reply to one step of the transaction */
static void
smtp_client_tx_reply(struct smtp_client *cl, const char *dsn)
{
	struct smtp_client_step s;
	int code = cl->reply_code;
	bool pipelining = (cl->ext & SMTP_EXT_PIPELINING) != 0;
	size_t i;

	if (cl->nreplied >= cl->nsent) {
		smtp_client_fail(cl, SMTP_FAIL_PROTOCOL, "protocol error: host %s "
		    "sent a reply nobody asked for: %s", cl->peer, cl->reply);
		return;
	}
	s = cl->steps[cl->nreplied++];
	if (!(smtp_client_cmds[s.cmd].classes & CLASS(code / 100)) &&
	    code != smtp_client_cmds[s.cmd].go) {
		smtp_client_fail(cl, SMTP_FAIL_PROTOCOL, "protocol error: host %s "
		    "answered %s with a reply of the wrong kind: %s", cl->peer,
		    smtp_client_cmds[s.cmd].name, cl->reply);
		return;
	}
	switch (s.cmd) {
	case CMD_RSET:
		if (code / 100 != 2) {
			smtp_client_fail(cl, SMTP_FAIL_PROTOCOL, "host %s refused RSET: %s",
			    cl->peer, cl->reply);
			return;
		}
		break;
	case CMD_MAIL:
		if (code / 100 != 2) {
			cl->mail_failed = true;
			for (i = 0; i < cl->msg->nrcpt; i++)
				smtp_result_set(&cl->msg->result[i], code, dsn, cl->reply);
			if (!pipelining) {
				smtp_client_tx_done(cl);
				return;
			}
		}
		break;
	case CMD_RCPT:
		if (cl->mail_failed)
			break;
		smtp_result_set(&cl->msg->result[s.rcpt], code, dsn, cl->reply);
		if (code / 100 == 2) {
			cl->accepted[s.rcpt] = true;
			cl->naccepted++;
		}
		/* Without pipelining, DATA only if someone was accepted. */
		if (!pipelining && cl->nreplied == cl->nsteps - 1 &&
		    cl->naccepted == 0) {
			smtp_client_tx_done(cl);
			return;
		}
		break;
	case CMD_DATA:
		if (code == 354 && !smtp_client_quiet(cl, "message content"))
			return;
		if (code == 354 && cl->naccepted > 0 && !cl->mail_failed) {
			cl->state = CS_CONTENT;
			smtp_client_timeout(cl, cl->to.data_ms);
			smtp_client_pump(cl);
			return;
		}
		if (code == 354) {
			/* Pipelined DATA accepted with nobody to send to: end it empty. */
			cl->ignore_dot = true;
			smtp_client_content_end(cl);
			return;
		}
		if (cl->naccepted > 0)
			smtp_client_rcpt_final(cl, dsn);
		smtp_client_tx_done(cl);
		return;
	case CMD_DOT:
		if (!cl->ignore_dot)
			smtp_client_rcpt_final(cl, dsn);
		smtp_client_tx_done(cl);
		return;
	}
	smtp_client_send_steps(cl);
}

/* smtp_client_reply - a complete reply has been read */
static void
smtp_client_reply(struct smtp_client *cl)
{
	char dsn[16];
	int code = cl->reply_code;

	smtp_reply_dsn(code, cl->reply, dsn, sizeof(dsn));
	switch (cl->state) {
	case CS_BANNER:
		free(cl->banner);
		cl->banner = xstrdup(cl->reply);
		if (code != 220) {
			smtp_client_fail(cl, SMTP_FAIL_GREETING, "host %s refused to "
			    "talk to me: %s", cl->peer, cl->reply);
			return;
		}
		smtp_client_ehlo(cl, false);
		return;
	case CS_EHLO:
		if (code / 100 == 2)
			smtp_client_after_ehlo(cl);
		else if (code / 100 == 5)
			smtp_client_ehlo(cl, true);
		else
			smtp_client_fail(cl, SMTP_FAIL_HELO, "host %s refused EHLO: %s",
			    cl->peer, cl->reply);
		return;
	case CS_HELO:
		if (code / 100 == 2)
			smtp_client_after_ehlo(cl);
		else
			smtp_client_fail(cl, SMTP_FAIL_HELO, "host %s refused HELO: %s",
			    cl->peer, cl->reply);
		return;
	case CS_STARTTLS:
		if (code == 220 && !smtp_client_quiet(cl, "TLS handshake"))
			return;
		if (code == 220) {
			cl->state = CS_HANDSHAKE;
			if (stream_starttls_client(cl->st, cl->tls_ctx,
			    cl->peer_name) < 0)
				smtp_client_fail(cl, SMTP_FAIL_TLS, "start TLS with %s: "
				    "already active", cl->peer);
			return;
		}
		if (code / 100 == 2 || code / 100 == 3) {
			smtp_client_fail(cl, SMTP_FAIL_PROTOCOL, "protocol error: "
			    "host %s answered STARTTLS with: %s", cl->peer, cl->reply);
			return;
		}
		if (cl->tls == SMTP_CLIENT_TLS_MAY) {
			smtp_client_ready(cl);
			return;
		}
		smtp_client_fail(cl, SMTP_FAIL_TLS, "host %s refused STARTTLS: %s",
		    cl->peer, cl->reply);
		return;
	case CS_TRANSACTION:
		smtp_client_tx_reply(cl, dsn);
		return;
	case CS_QUIT:
		cl->state = CS_CLOSED;
		smtp_client_release(cl);
		smtp_client_emit(cl, SMTP_CLIENT_CLOSED);
		return;
	default:
		/*
		 * Idle or sending content, no reply is due: whatever comes (a
		 * 421 before the server hangs up included) ends the session.
		 */
		smtp_client_fail(cl, SMTP_FAIL_PROTOCOL, "protocol error: host %s "
		    "sent a reply nobody asked for %s: %s", cl->peer,
		    smtp_client_stage(cl), cl->reply);
		return;
	}
}

/* smtp_client_line - one reply line: collect it, act on the last one */
static void
smtp_client_line(struct smtp_client *cl, const char *line, size_t len)
{
	int code;
	bool last;
	const char *text;
	size_t tlen;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	/*
	 * Reply-code = %x32-35 %x30-35 %x30-39 (RFC 5321 4.2). Outside it
	 * ("081", "600") the first digit says nothing our callers can act on:
	 * code / 100 would be 0 (read as "no reply") or 6 (neither 4 nor 5).
	 */
	if (len < 3 || line[0] < '2' || line[0] > '5' ||
	    line[1] < '0' || line[1] > '5' || !isdigit((unsigned char)line[2]) ||
	    (len > 3 && line[3] != ' ' && line[3] != '-') ||
	    memchr(line, '\0', len) != NULL) {
		smtp_client_fail(cl, SMTP_FAIL_PROTOCOL, "malformed reply from %s: "
		    "%.*s", cl->peer, (int)(len > 80 ? 80 : len), line);
		return;
	}
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	last = len == 3 || line[3] == ' ';
	text = len > 4 ? line + 4 : "";
	tlen = len > 4 ? len - 4 : 0;
	if (cl->reply_len == 0) {
		cl->reply_code = code;
		cl->reply_len = (size_t)snprintf(cl->reply, sizeof(cl->reply),
		    "%03d %.*s", code, (int)tlen, text);
		if (tlen == 0)
			cl->reply[--cl->reply_len] = '\0';
	} else if (code != cl->reply_code) {
		smtp_client_fail(cl, SMTP_FAIL_PROTOCOL, "malformed reply from %s: "
		    "code %d inside a reply of code %d", cl->peer, code,
		    cl->reply_code);
		return;
	} else if (cl->reply_len < sizeof(cl->reply) - 1) {
		/* Lines of a multi-line reply are joined by spaces, as Postfix logs them. */
		int n = snprintf(cl->reply + cl->reply_len,
		    sizeof(cl->reply) - cl->reply_len, " %.*s", (int)tlen, text);

		cl->reply_len += (size_t)n;
		if (cl->reply_len >= sizeof(cl->reply))
			cl->reply_len = sizeof(cl->reply) - 1;
	}
	/* Every line after the first of an EHLO reply names an extension. */
	if (cl->state == CS_EHLO && cl->reply_lines > 0 && code / 100 == 2) {
		char kw[64];

		snprintf(kw, sizeof(kw), "%.*s", (int)tlen, text);
		smtp_client_ehlo_line(cl, kw);
	}
	cl->reply_lines++;
	if (!last)
		return;
	cl->reply_len = 0;
	cl->reply_lines = 0;
	smtp_client_reply(cl);
}

/* smtp_client_alive - may the client still read and act? */
static bool
smtp_client_alive(const struct smtp_client *cl)
{
	return !cl->dead && cl->st != NULL && cl->state != CS_FAILED &&
	    cl->state != CS_CLOSED;
}

void
smtp_client_stream_io(struct stream *st, unsigned events, void *ctx)
{
	struct smtp_client *cl = ctx;
	const char *line;
	size_t len;
	int r;

	(void)st;
	cl->busy++;
	if ((events & STREAM_EV_TLS) && cl->state == CS_HANDSHAKE) {
		if (smtp_client_tls_check(cl))
			smtp_client_ehlo(cl, false);
	}
	while (smtp_client_alive(cl) && cl->state != CS_HANDSHAKE &&
	    (r = stream_read_line(cl->st, SMTP_CLIENT_LINE_MAX, &line, &len)) != 0) {
		if (r < 0) {
			smtp_client_fail(cl, SMTP_FAIL_PROTOCOL, "reply line from %s "
			    "too long", cl->peer);
			break;
		}
		smtp_client_line(cl, line, len);
	}
	if ((events & STREAM_EV_FLUSHED) && smtp_client_alive(cl) &&
	    cl->state == CS_CONTENT)
		smtp_client_pump(cl);
	if ((events & STREAM_EV_ERROR) && smtp_client_alive(cl))
		smtp_client_fail(cl, cl->state == CS_HANDSHAKE ? SMTP_FAIL_TLS :
		    SMTP_FAIL_LOST, "%s with %s %s: %s", cl->state == CS_HANDSHAKE ?
		    "TLS failure" : "lost connection", cl->peer,
		    smtp_client_stage(cl), stream_error(cl->st));
	if ((events & STREAM_EV_EOF) && smtp_client_alive(cl)) {
		if (cl->state == CS_READY || cl->state == CS_QUIT) {
			cl->state = CS_CLOSED;
			smtp_client_release(cl);
			smtp_client_emit(cl, SMTP_CLIENT_CLOSED);
		} else
			smtp_client_fail(cl, cl->state == CS_HANDSHAKE ?
			    SMTP_FAIL_TLS : SMTP_FAIL_LOST, "lost connection with "
			    "%s %s", cl->peer, smtp_client_stage(cl));
	}
	if ((events & STREAM_EV_TIMEOUT) && smtp_client_alive(cl)) {
		if (cl->state == CS_QUIT) {
			cl->state = CS_CLOSED;
			smtp_client_release(cl);
			smtp_client_emit(cl, SMTP_CLIENT_CLOSED);
		} else
			smtp_client_fail(cl, SMTP_FAIL_TIMEOUT, "conversation with "
			    "%s timed out %s", cl->peer, smtp_client_stage(cl));
	}
	smtp_client_settle(cl);
}
