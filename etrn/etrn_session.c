/*
 * etrn_session - one ODMR customer: I/O, the verb table, replies, logging
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* lib/util */
#include "util/log.h"
#include "util/stream.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/daemon_server.h"
#include "mail/job.h"
#include "mail/smtp_cmd.h"
/* etrn */
#include "etrn/etrn.h"
#include "etrn/etrn_reply.h"

/* The longest EHLO argument we keep (a domain name or address literal). */
#define ETRN_HELO_MAX		255

static void etrn_session_event(struct stream *st, unsigned events, void *ctx);

/* etrn_timeout_ms - the per-command idle limit */
static uint64_t
etrn_timeout_ms(const struct etrn_session *s)
{
	long t = s->srv->cfg->odmr_timeout;

	return (uint64_t)(t > 0 ? t : 1) * 1000u;
}

/*
 * etrn_arm - the deadlines of the command dialogue: each command line
 * has odmr_command_deadline from its first octet, the dialogue from
 * connect to the turn odmr_session_deadline. After ATRN they are off:
 * the delivery over the turned connection has its own timeouts.
 */
static void
etrn_arm(struct etrn_session *s)
{
	bool talking = (s->state & (ETRN_ST_INIT | ETRN_ST_AUTHED)) != 0;

	stream_set_line_deadline(s->st, talking ?
	    (uint64_t)s->srv->cfg->odmr_command_deadline * 1000u : 0);
	stream_set_deadline(s->st, talking ? s->session_end : 0);
}

/* etrn_greet - the 220 banner, once the connection (and TLS) is up */
static void
etrn_greet(struct etrn_session *s)
{
	etrn_reply(s, ETRN_R_GREETING, s->srv->cfg->myhostname);
	(void)stream_flush(s->st);
	stream_set_timeout(s->st, etrn_timeout_ms(s));
}

/* etrn_session_new - serve an accepted connection (odmrs: handshake first) */
void
etrn_session_new(struct etrn *srv, int fd, const struct daemon_peer *peer,
    bool tls_wrap)
{
	struct etrn_session *s = xcalloc(1, sizeof(*s));

	s->srv = srv;
	s->qmgr_fd = -1;
	s->state = ETRN_ST_INIT;
	s->ds.last_cmd = "CONNECT";
	snprintf(s->addr, sizeof(s->addr), "%s", peer->addr);
	s->port = peer->port;
	s->name = peer->name;
	s->st = daemon_session_begin(srv->serve, &s->ds, s, fd, etrn_session_event,
	    s->name, s->addr);
	if (s->st == NULL) {
		free(s);
		return;
	}
	log_info("connect from %s[%s]%s", s->name, s->addr,
	    tls_wrap ? " (TLS on connect)" : "");
	s->session_end = ev_now() +
	    (uint64_t)srv->cfg->odmr_session_deadline * 1000u;
	etrn_arm(s);
	if (!tls_wrap) {
		etrn_greet(s);
		return;
	}
	if (srv->tls == NULL) {
		log_warn("close connection from %s[%s]: no TLS context for odmrs",
		    s->name, s->addr);
		etrn_session_free(&s);
		return;
	}
	/* odmrs: the handshake comes first; the banner follows it. */
	s->tls_wrap = true;
	(void)stream_starttls_server(s->st, srv->tls);
	stream_set_timeout(s->st, etrn_timeout_ms(s));
}

/* etrn_session_free - log the disconnect, drop qmgr and the client, free */
void
etrn_session_free(struct etrn_session **sp)
{
	struct etrn_session *s = *sp;
	size_t i;

	if (s == NULL)
		return;
	*sp = NULL;
	log_info("disconnect from %s[%s]%s%s commands=%u%s", s->name, s->addr,
	    s->user != NULL ? " user=" : "", s->user != NULL ? s->user : "",
	    s->ncmd, s->state == ETRN_ST_TURNED ? " (turned)" : "");
	/* Closing qmgr's connection hands back every job without a result. */
	etrn_qmgr_close(s);
	job_free(&s->job);
	smtp_client_free(&s->cl);
	etrn_auth_reset(s);
	stream_free(&s->st);
	daemon_session_end(&s->ds);
	for (i = 0; i < s->ndomains; i++)
		free(s->domains[i]);
	free(s->domains);
	free(s->helo);
	free(s->user);
	free(s);
}

/* etrn_reply - queue one reply line for the customer */
void
etrn_reply(struct etrn_session *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		log_panic("format reply: %s", fmt);
	stream_printf(s->st, "%s\r\n", line);
	log_debug("%s[%s]: > %s", s->name, s->addr, line);
}

/* etrn_close - close the session once its output is written */
void
etrn_close(struct etrn_session *s)
{
	daemon_session_close(&s->ds);
}

/* etrn_ehlo - EHLO name: our extensions (RFC 2645 4.1) */
static void
etrn_ehlo(struct etrn_session *s, const char *arg)
{
	char auth[64];
	size_t i, n = strlen(arg);

	for (i = 0; i < n; i++)
		if ((unsigned char)arg[i] < 0x21 || (unsigned char)arg[i] > 0x7e)
			break;
	if (n == 0 || n > ETRN_HELO_MAX || i < n) {
		etrn_reply(s, ETRN_R_SYNTAX, "EHLO hostname");
		return;
	}
	free(s->helo);
	s->helo = xstrdup(arg);
	etrn_auth_reset(s);
	etrn_auth_mechs(s, auth, sizeof(auth));
	etrn_reply(s, ETRN_R_EHLO_LINE, s->srv->cfg->myhostname);
	etrn_reply(s, ETRN_R_EHLO_LINE, auth);
	etrn_reply(s, ETRN_R_EHLO_LINE, "ATRN");
	if (s->srv->tls != NULL && !stream_tls_active(s->st))
		etrn_reply(s, ETRN_R_EHLO_LINE, "STARTTLS");
	etrn_reply(s, ETRN_R_EHLO_LAST, "ENHANCEDSTATUSCODES");
}

/* etrn_starttls - STARTTLS (RFC 3207) */
static void
etrn_starttls(struct etrn_session *s, const char *arg)
{
	long discarded;

	if (*arg != '\0') {
		etrn_reply(s, ETRN_R_SYNTAX, "STARTTLS");
		return;
	}
	if (stream_tls_active(s->st)) {
		etrn_reply(s, ETRN_R_TLS_ACTIVE);
		return;
	}
	if (s->srv->tls == NULL) {
		etrn_reply(s, ETRN_R_TLS_UNAVAILABLE);
		return;
	}
	etrn_reply(s, ETRN_R_TLS_READY);
	/* Lines pipelined after STARTTLS came in the clear: never run them. */
	discarded = stream_starttls_server(s->st, s->srv->tls);
	if (discarded > 0)
		log_warn("discard %ld bytes pipelined after STARTTLS from %s[%s]",
		    discarded, s->name, s->addr);
}

/* etrn_rset - RSET: nothing to reset before AUTH, but harmless */
static void
etrn_rset(struct etrn_session *s, const char *arg)
{
	(void)arg;
	etrn_auth_reset(s);
	etrn_reply(s, ETRN_R_OK);
}

/* etrn_noop - NOOP */
static void
etrn_noop(struct etrn_session *s, const char *arg)
{
	(void)arg;
	etrn_reply(s, ETRN_R_OK);
}

/* etrn_quit - QUIT */
static void
etrn_quit(struct etrn_session *s, const char *arg)
{
	(void)arg;
	etrn_reply(s, ETRN_R_BYE);
	etrn_close(s);
}

/* One row per verb: in which states it may be used and what runs it. */
struct etrn_verb {
	const char *name;
	unsigned states;
	void (*run)(struct etrn_session *s, const char *arg);
	const char *refusal;	/* the reply in any other state */
};

static const struct etrn_verb etrn_verbs[] = {
	{ "EHLO", ETRN_ST_INIT, etrn_ehlo, ETRN_R_NOT_NOW },
	{ "STARTTLS", ETRN_ST_INIT, etrn_starttls, ETRN_R_NOT_NOW },
	{ "AUTH", ETRN_ST_INIT, etrn_auth_cmd, ETRN_R_AUTH_ALREADY },
	{ "ATRN", ETRN_ST_AUTHED, etrn_atrn_cmd, ETRN_R_NEED_AUTH },
	{ "RSET", ETRN_ST_INIT, etrn_rset, ETRN_R_NOT_NOW },
	{ "NOOP", ETRN_ST_INIT, etrn_noop, ETRN_R_NOT_NOW },
	{ "QUIT", ETRN_ST_INIT | ETRN_ST_AUTHED, etrn_quit, ETRN_R_NOT_NOW },
	/* A mail transaction is refused in every state; run is never called. */
	{ "MAIL", 0, NULL, ETRN_R_NOT_SERVED },
	{ "RCPT", 0, NULL, ETRN_R_NOT_SERVED },
	{ "DATA", 0, NULL, ETRN_R_NOT_SERVED },
	{ NULL, 0, NULL, NULL },
};

/* etrn_cmd_line - one command line (r as from stream_read_line) */
static void
etrn_cmd_line(struct etrn_session *s, int r, const char *line, size_t len)
{
	struct smtp_cmd cmd;
	const struct etrn_verb *v;

	if (r < 0) {
		etrn_reply(s, ETRN_R_LINE_TOO_LONG);
		return;
	}
	if (smtp_cmd_split(line, len, &cmd) == SMTP_PARSE_NUL) {
		etrn_reply(s, ETRN_R_NUL_CMD);
		return;
	}
	s->ncmd++;
	/* An AUTH exchange in progress takes the line as a response. */
	if (s->sasl != NULL) {
		etrn_auth_line(s, cmd.text);
		return;
	}
	log_debug("%s[%s]: < %s", s->name, s->addr,
	    strcmp(cmd.verb, "AUTH") == 0 ? "AUTH ..." : cmd.text);
	for (v = etrn_verbs; v->name != NULL; v++)
		if (strcmp(v->name, cmd.verb) == 0)
			break;
	if (v->name == NULL) {
		s->ds.last_cmd = "UNKNOWN";
		etrn_reply(s, ETRN_R_UNKNOWN_CMD);
		return;
	}
	s->ds.last_cmd = v->name;
	if (!(v->states & s->state)) {
		etrn_reply(s, "%s", v->refusal);
		return;
	}
	v->run(s, cmd.arg);
}

/* etrn_input - run every whole command line that is buffered */
void
etrn_input(struct etrn_session *s)
{
	while (!s->ds.closing && s->auth_pause == NULL &&
	    (s->state == ETRN_ST_INIT || s->state == ETRN_ST_AUTHED)) {
		const char *line;
		size_t len;
		int r;

		if (stream_pending(s->st) > ETRN_OUTPUT_MAX) {
			/* The customer is not reading; wait until it does. */
			(void)stream_flush(s->st);
			if (stream_pending(s->st) > ETRN_OUTPUT_MAX)
				break;
		}
		r = stream_read_line(s->st, SMTP_CMD_LINE_MAX, &line, &len);
		if (r == 0)
			break;
		etrn_cmd_line(s, r, line, len);
	}
	if (s->st != NULL) {
		etrn_arm(s);
		(void)stream_flush(s->st);
	}
}

/* etrn_resume - run buffered commands from outside the stream callback */
void
etrn_resume(struct etrn_session *s)
{
	etrn_input(s);
	if (s->ds.closing && stream_pending(s->st) == 0)
		etrn_session_free(&s);
}

/* etrn_tls_done - the handshake is over: greet, or start over (RFC 3207) */
static void
etrn_tls_done(struct etrn_session *s)
{
	daemon_session_tls_log(&s->ds);
	if (s->tls_wrap) {
		s->tls_wrap = false;
		etrn_greet(s);
		return;
	}
	xfree(&s->helo);
	etrn_auth_reset(s);
	s->state = ETRN_ST_INIT;
}

/* etrn_session_event - the stream's callback */
static void
etrn_session_event(struct stream *st, unsigned events, void *ctx)
{
	struct etrn_session *s = ctx;

	/* After the turn the SMTP client engine owns the dialogue. */
	if (s->cl != NULL) {
		smtp_client_stream_io(st, events, s->cl);
		return;
	}
	/* Bound to qmgr, the session waits for it: the bind timer decides. */
	if (s->state == ETRN_ST_BINDING)
		events &= ~(STREAM_EV_TIMEOUT | STREAM_EV_DEADLINE |
		    STREAM_EV_LINE_DEADLINE);
	if (daemon_session_stopped(&s->ds, events))
		return;
	if (events & STREAM_EV_TLS)
		etrn_tls_done(s);
	if (events & (STREAM_EV_READ | STREAM_EV_FLUSHED | STREAM_EV_TLS))
		etrn_input(s);
	if (daemon_session_finished(&s->ds))
		return;
	if (!s->ds.closing && !s->tls_wrap && s->state != ETRN_ST_BINDING)
		stream_set_timeout(s->st, etrn_timeout_ms(s));
}
