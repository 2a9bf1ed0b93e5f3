/*
 * pop3_session - one POP3 customer: I/O, the parser, the command table,
 * CAPA, STLS, replies, logging
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* lib/util */
#include "util/log.h"
#include "util/stream.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/daemon_server.h"
#include "mail/sasl.h"
/* pop3 */
#include "pop3/pop3.h"
#include "pop3/pop3_reply.h"

static void pop3_session_event(struct stream *st, unsigned events, void *ctx);

/* pop3_timeout_ms - the idle limit between commands (RFC 1939: >= 10 min) */
static uint64_t
pop3_timeout_ms(const struct pop3_session *s)
{
	return (uint64_t)s->srv->cfg->pop3_timeout * 1000u;
}

/* pop3_arm - the command line and the session deadlines */
static void
pop3_arm(struct pop3_session *s)
{
	stream_set_line_deadline(
	    s->st, (uint64_t)s->srv->cfg->pop3_command_deadline * 1000u);
	stream_set_deadline(s->st, s->session_end);
}

/* pop3_greet - the greeting, once the connection (and TLS) is up */
static void
pop3_greet(struct pop3_session *s)
{
	pop3_reply(s, POP3_R_GREETING, s->srv->cfg->myhostname);
	(void)stream_flush(s->st);
	stream_set_timeout(s->st, pop3_timeout_ms(s));
}

/* pop3_session_new - serve an accepted connection (pop3s: handshake first) */
void
pop3_session_new(
    struct pop3 *srv, int fd, const struct daemon_peer *peer, bool tls_wrap)
{
	struct pop3_session *s = xcalloc(1, sizeof(*s));

	s->srv = srv;
	s->qmgr_fd = -1;
	s->list_fd = -1;
	s->out.fd = -1;
	s->state = POP3_ST_AUTH;
	s->ds.last_cmd = "CONNECT";
	snprintf(s->addr, sizeof(s->addr), "%s", peer->addr);
	s->name = peer->name;
	s->st = daemon_session_begin(
	    srv->serve, &s->ds, s, fd, pop3_session_event, s->name, s->addr);
	if (s->st == NULL) {
		free(s);
		return;
	}
	log_info("connect from %s[%s]%s", s->name, s->addr,
	    tls_wrap ? " (TLS on connect)" : "");
	s->session_end =
	    ev_now() + (uint64_t)srv->cfg->pop3_session_deadline * 1000u;
	pop3_arm(s);
	if (!tls_wrap) {
		pop3_greet(s);
		return;
	}
	if (srv->tls == NULL) {
		log_warn(
		    "close connection from %s[%s]: no TLS context for pop3s",
		    s->name, s->addr);
		pop3_session_free(&s);
		return;
	}
	s->tls_wrap = true;
	(void)stream_starttls_server(s->st, srv->tls);
	stream_set_timeout(s->st, pop3_timeout_ms(s));
}

/* pop3_session_free - log the disconnect, drop the bind, free */
void
pop3_session_free(struct pop3_session **sp)
{
	struct pop3_session *s = *sp;

	if (s == NULL)
		return;
	*sp = NULL;
	log_info("disconnect from %s[%s]%s%s commands=%u collected=%u", s->name,
	    s->addr, s->user != NULL ? " user=" : "",
	    s->user != NULL ? s->user : "", s->ncmd, s->ncollected);
	/* Closing the bind frees the domains in qmgr: nothing was deleted. */
	pop3_drop_close(s);
	pop3_auth_reset(s);
	stream_free(&s->st);
	daemon_session_end(&s->ds);
	free(s->user_arg);
	free(s->user);
	free(s);
}

/* pop3_reply - queue one reply line */
void
pop3_reply(struct pop3_session *s, const char *fmt, ...)
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

/* pop3_close - close the session once its output is written */
void
pop3_close(struct pop3_session *s)
{
	daemon_session_close(&s->ds);
}

/* pop3_plain_allowed - TLS, or loopback if pop3_plaintext_loopback says so */
bool
pop3_plain_allowed(const struct pop3_session *s)
{
	if (stream_tls_active(s->st))
		return true;
	return s->srv->cfg->pop3_plaintext_loopback &&
	       (strncmp(s->addr, "127.", 4) == 0 ||
	           strcmp(s->addr, "::1") == 0);
}

/* pop3_cmd_parse - see pop3.h */
int
pop3_cmd_parse(const char *line, size_t len, struct pop3_cmd *cmd)
{
	size_t i, n, start;
	char *p;

	memset(cmd, 0, sizeof(*cmd));
	if (len > POP3_LINE_MAX || memchr(line, '\0', len) != NULL)
		return -1;
	for (n = 0; n < len && line[n] != ' '; n++)
		if (!isalpha((unsigned char)line[n]))
			return -1;
	if (n < 3 || n > 4)
		return -1;
	for (i = 0; i < n; i++)
		cmd->verb[i] = (char)toupper((unsigned char)line[i]);
	if (n == len)
		return 0;
	/* One space after the verb, then the arguments as RFC 1939 writes them.
	 */
	memcpy(cmd->rest, line + n + 1, len - n - 1);
	memcpy(cmd->args, line + n + 1, len - n - 1);
	for (p = cmd->args, start = 0, i = 0;; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c != ' ' && c != '\0') {
			if (c < 0x21 || c > 0x7e)
				return -1;
			continue;
		}
		if (i == start || cmd->narg >= 2 || i - start > POP3_ARG_MAX) {
			/* Empty, a third, or too long: only PASS and AUTH read
			 * rest. */
			cmd->narg = 3;
			return 0;
		}
		cmd->arg[cmd->narg++] = p + start;
		p[i] = '\0';
		if (c == '\0')
			return 0;
		start = i + 1;
	}
}

/* pop3_capa - CAPA (RFC 2449): in both states */
static void
pop3_capa(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	char mechs[64];

	(void)cmd;
	pop3_reply(s, POP3_R_CAPA);
	pop3_reply(s, "TOP");
	pop3_reply(s, "UIDL");
	pop3_reply(s, "RESP-CODES");
	pop3_reply(s, "AUTH-RESP-CODE");
	pop3_reply(s, "PIPELINING");
	pop3_reply(s, "EXPIRE NEVER");
	pop3_reply(s, "IMPLEMENTATION sluice");
	if (s->state == POP3_ST_AUTH) {
		if (pop3_plain_allowed(s))
			pop3_reply(s, "USER");
		pop3_auth_mechs(s, mechs, sizeof(mechs));
		pop3_reply(s, "SASL %s", mechs);
		if (s->srv->tls != NULL && !stream_tls_active(s->st))
			pop3_reply(s, "STLS");
	}
	pop3_reply(s, ".");
}

/* pop3_stls - STLS (RFC 2595) */
static void
pop3_stls(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	long discarded;

	(void)cmd;
	if (stream_tls_active(s->st)) {
		pop3_reply(s, POP3_R_TLS_ACTIVE);
		return;
	}
	if (s->srv->tls == NULL) {
		pop3_reply(s, POP3_R_TLS_UNAVAILABLE);
		return;
	}
	pop3_reply(s, POP3_R_TLS_READY);
	/* Lines pipelined after STLS came in the clear: never run them. */
	discarded = stream_starttls_server(s->st, s->srv->tls);
	if (discarded > 0)
		log_warn("discard %ld bytes pipelined after STLS from %s[%s]",
		    discarded, s->name, s->addr);
}

/* pop3_noop - NOOP */
static void
pop3_noop(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	(void)cmd;
	pop3_reply(s, POP3_R_OK);
}

/* pop3_quit - QUIT: in TRANSACTION the UPDATE state (RFC 1939 section 6) */
static void
pop3_quit(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	(void)cmd;
	if (s->state == POP3_ST_TRANS) {
		pop3_update(s);
		return;
	}
	pop3_reply(s, POP3_R_BYE, s->srv->cfg->myhostname);
	pop3_close(s);
}

/*
 * One row per command: in which states it may be used, how many
 * arguments it takes (min, max; AUTH reads rest), and what runs it.
 */
struct pop3_verb {
	const char *name;
	unsigned states;
	size_t min, max;
	void (*run)(struct pop3_session *s, const struct pop3_cmd *cmd);
	const char *usage;
};

static const struct pop3_verb pop3_verbs[] = {
    {"CAPA", POP3_ST_AUTH | POP3_ST_TRANS, 0, 0, pop3_capa, "CAPA"},
    {"STLS", POP3_ST_AUTH, 0, 0, pop3_stls, "STLS"},
    {"USER", POP3_ST_AUTH, 1, 1, pop3_user_cmd, "USER name"},
    {"PASS", POP3_ST_AUTH, 0, 3, pop3_pass_cmd, "PASS string"},
    {"AUTH", POP3_ST_AUTH, 0, 3, pop3_auth_cmd,
        "AUTH mechanism [initial-response]"},
    {"QUIT", POP3_ST_AUTH | POP3_ST_TRANS, 0, 0, pop3_quit, "QUIT"},
    {"NOOP", POP3_ST_TRANS, 0, 0, pop3_noop, "NOOP"},
    {"STAT", POP3_ST_TRANS, 0, 0, pop3_stat_cmd, "STAT"},
    {"LIST", POP3_ST_TRANS, 0, 1, pop3_list_cmd, "LIST [msg]"},
    {"UIDL", POP3_ST_TRANS, 0, 1, pop3_uidl_cmd, "UIDL [msg]"},
    {"RETR", POP3_ST_TRANS, 1, 1, pop3_retr_cmd, "RETR msg"},
    {"TOP", POP3_ST_TRANS, 2, 2, pop3_top_cmd, "TOP msg n"},
    {"DELE", POP3_ST_TRANS, 1, 1, pop3_dele_cmd, "DELE msg"},
    {"RSET", POP3_ST_TRANS, 0, 0, pop3_rset_cmd, "RSET"},
    {NULL, 0, 0, 0, NULL, NULL},
};

/* pop3_abuse - one more bad line: past POP3_ABUSE_MAX the session ends */
static void
pop3_abuse(struct pop3_session *s, const char *reply)
{
	pop3_reply(s, "%s", reply);
	if (++s->abuse >= POP3_ABUSE_MAX) {
		log_warn("too many bad commands from %s[%s]: %u; disconnecting",
		    s->name, s->addr, s->abuse);
		pop3_reply(s, POP3_R_TOO_MUCH_ABUSE);
		pop3_close(s);
	}
}

/* pop3_cmd_line - one command line (r as from stream_read_line) */
static void
pop3_cmd_line(struct pop3_session *s, int r, const char *line, size_t len)
{
	const struct pop3_verb *v;
	struct pop3_cmd cmd;
	char *copy;

	if (r < 0) {
		log_warn("command line too long from %s[%s]", s->name, s->addr);
		/* An AUTH response too long ends the exchange: the client takes
		 * the -ERR as its end and sends a command next (RFC 5034 4). */
		if (s->sasl != NULL) {
			sasl_free(&s->sasl);
			xfree(&s->mech);
		}
		pop3_abuse(s, POP3_R_LINE_TOO_LONG);
		return;
	}
	/* The line ending is not part of the command. */
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	s->ncmd++;
	if (s->sasl != NULL) {
		copy = xstrndup(line, len);
		pop3_auth_line(s, copy);
		free(copy);
		return;
	}
	if (pop3_cmd_parse(line, len, &cmd) < 0) {
		s->ds.last_cmd = "UNKNOWN";
		pop3_abuse(s, POP3_R_BAD_LINE);
		return;
	}
	log_debug("%s[%s]: < %s%s", s->name, s->addr, cmd.verb,
	    strcmp(cmd.verb, "PASS") == 0 || strcmp(cmd.verb, "AUTH") == 0
	        ? " ..."
	        : "");
	for (v = pop3_verbs; v->name != NULL; v++)
		if (strcmp(v->name, cmd.verb) == 0)
			break;
	if (v->name == NULL) {
		s->ds.last_cmd = "UNKNOWN";
		pop3_abuse(s, POP3_R_UNKNOWN_CMD);
	} else if (s->ds.last_cmd = v->name, !(v->states & s->state))
		pop3_reply(s, POP3_R_NOT_NOW);
	else if (cmd.narg < v->min || cmd.narg > v->max)
		pop3_reply(s, POP3_R_SYNTAX, v->usage);
	else
		v->run(s, &cmd);
}

/*
 * pop3_input - write what a RETR left, then run every whole command line;
 * while a failed login pauses or qmgr is asked, the lines wait
 */
static void
pop3_input(struct pop3_session *s)
{
	while (
	    !s->ds.closing && s->auth_pause == NULL && s->wait == POP3_W_NONE) {
		const char *line;
		size_t len;
		int r;

		if (pop3_out_pump(s))
			break;
		if (stream_pending(s->st) > POP3_OUTPUT_MAX) {
			(void)stream_flush(s->st);
			if (stream_pending(s->st) > POP3_OUTPUT_MAX)
				break;
		}
		r = stream_read_line(s->st,
		    s->sasl != NULL ? SASL_LINE_MAX : POP3_LINE_MAX, &line,
		    &len);
		if (r == 0)
			break;
		pop3_cmd_line(s, r, line, len);
	}
	if (s->st != NULL) {
		pop3_arm(s);
		(void)stream_flush(s->st);
	}
}

/* pop3_resume - run buffered commands from outside the stream callback */
void
pop3_resume(struct pop3_session *s)
{
	pop3_input(s);
	if (s->ds.closing && stream_pending(s->st) == 0)
		pop3_session_free(&s);
}

/* pop3_tls_done - the handshake is over: greet (pop3s), or start over (STLS) */
static void
pop3_tls_done(struct pop3_session *s)
{
	daemon_session_tls_log(&s->ds);
	if (s->tls_wrap) {
		s->tls_wrap = false;
		pop3_greet(s);
		return;
	}
	xfree(&s->user_arg);
	pop3_auth_reset(s);
}

/* pop3_session_event - the stream's callback */
static void
pop3_session_event(struct stream *st, unsigned events, void *ctx)
{
	struct pop3_session *s = ctx;

	(void)st;
	if (daemon_session_stopped(&s->ds, events))
		return;
	if (events & STREAM_EV_TLS)
		pop3_tls_done(s);
	if (events & (STREAM_EV_READ | STREAM_EV_FLUSHED | STREAM_EV_TLS))
		pop3_input(s);
	if (daemon_session_finished(&s->ds))
		return;
	if (!s->ds.closing && !s->tls_wrap)
		stream_set_timeout(s->st, pop3_timeout_ms(s));
}
