/*
 * smtpd_session - one SMTP client: I/O, dispatch, replies, logging
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
#include <unistd.h>

/* lib/util */
#include "util/log.h"
#include "util/stream.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/netlist.h"
#include "mail/queue.h"
#include "mail/smtp_reply.h"
/* smtpd */
#include "smtpd/smtpd.h"

static void smtpd_session_event(struct stream *st, unsigned events, void *ctx);

/* smtpd_timeout_ms - the idle limit for the session's current phase */
static uint64_t
smtpd_timeout_ms(const struct smtpd_session *s)
{
	long t = s->in_data ? s->srv->cfg->smtpd_data_timeout :
	    s->srv->cfg->smtpd_timeout;

	return (uint64_t)(t > 0 ? t : 1) * 1000u;
}

/*
 * smtpd_arm - the idle timer, and the deadlines of the current phase:
 * outside DATA each command line has smtpd_command_deadline from its
 * first octet; DATA as a whole has smtpd_data_deadline from its 354;
 * the session has smtpd_session_deadline from its connect.
 */
static void
smtpd_arm(struct smtpd_session *s)
{
	const struct config *cfg = s->srv->cfg;

	stream_set_timeout(s->st, smtpd_timeout_ms(s));
	stream_set_line_deadline(s->st, s->in_data ? 0 :
	    (uint64_t)cfg->smtpd_command_deadline * 1000u);
	stream_set_deadline(s->st, s->in_data && s->data_end < s->session_end ?
	    s->data_end : s->session_end);
}

/* smtpd_deadline_why - the reason of a timeout, for its log line */
void
smtpd_deadline_why(void *owner, unsigned events, char *buf, size_t size)
{
	const struct smtpd_session *s = owner;
	const struct config *cfg = s->srv->cfg;
	bool data = s->in_data && s->data_end < s->session_end;

	daemon_deadline_why(events, cfg->smtpd_command_deadline,
	    data ? "DATA" : "session", data ? cfg->smtpd_data_deadline :
	    cfg->smtpd_session_deadline, buf, size);
}

void
smtpd_session_new(struct smtpd *srv, int fd, const struct daemon_peer *peer,
    bool submission)
{
	struct smtpd_session *s = xcalloc(1, sizeof(*s));

	s->srv = srv;
	snprintf(s->addr, sizeof(s->addr), "%s", peer->addr);
	s->peer = peer->ss;
	s->port = peer->port;
	s->submission = submission;
	s->peer_addr = !submission && srv->peer_nets != NULL &&
	    netlist_match(srv->peer_nets, (const struct sockaddr *)&peer->ss);
	s->name = peer->name;
	s->state = SMTP_ST_CONNECT;
	s->ds.last_cmd = "CONNECT";
	s->cur_verb = -1;
	s->session_end = ev_now() + (uint64_t)srv->cfg->smtpd_session_deadline * 1000u;
	s->st = daemon_session_begin(srv->serve, &s->ds, s, fd, smtpd_session_event,
	    s->name, s->addr);
	if (s->st == NULL) {
		free(s);
		return;
	}
	log_info("connect from %s[%s]", s->name, s->addr);
	smtpd_greet_start(s);
	smtpd_arm(s);
}

/* smtpd_counts - the "ehlo=1 mail=1 ... commands=N" part of the disconnect line */
static void
smtpd_counts(const struct smtpd_session *s, char *buf, size_t size)
{
	unsigned ok = 0, all = 0;
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i <= SMTPD_NVERBS; i++) {
		const char *name = i < SMTPD_NVERBS ? smtpd_verbs[i].name : "unknown";
		char word[16];
		size_t k;
		int n;

		if (s->count_all[i] == 0)
			continue;
		for (k = 0; name[k] != '\0' && k < sizeof(word) - 1; k++)
			word[k] = (char)(name[k] >= 'A' && name[k] <= 'Z' ?
			    name[k] - 'A' + 'a' : name[k]);
		word[k] = '\0';
		if (s->count_ok[i] == s->count_all[i])
			n = snprintf(buf + used, size - used, " %s=%u", word,
			    s->count_all[i]);
		else
			n = snprintf(buf + used, size - used, " %s=%u/%u", word,
			    s->count_ok[i], s->count_all[i]);
		if (n < 0 || (size_t)n >= size - used)
			return;
		used += (size_t)n;
		ok += s->count_ok[i];
		all += s->count_all[i];
	}
	if (ok == all)
		snprintf(buf + used, size - used, " commands=%u", all);
	else
		snprintf(buf + used, size - used, " commands=%u/%u", ok, all);
}

void
smtpd_session_free(struct smtpd_session **sp)
{
	struct smtpd_session *s = *sp;
	char counts[512];

	if (s == NULL)
		return;
	*sp = NULL;
	smtpd_counts(s, counts, sizeof(counts));
	log_info("disconnect from %s[%s]%s", s->name, s->addr, counts);
	ev_timer_cancel(s->srv->loop, &s->tarpit);
	ev_timer_cancel(s->srv->loop, &s->auth_delay);
	ev_timer_cancel(s->srv->loop, &s->pregreet);
	smtpd_auth_reset(s);
	stream_free(&s->st);
	daemon_session_end(&s->ds);
	/*
	 * A worker is still making the message durable: its end must still
	 * announce it to qmgr (or know it removed), so the transaction
	 * outlives the connection until then.
	 */
	if (s->commit != NULL) {
		s->gone = true;
		return;
	}
	smtpd_session_release(s);
}

void
smtpd_session_release(struct smtpd_session *s)
{
	if (s->qf != NULL)
		queue_file_abort(&s->qf);
	envelope_free(&s->env);
	smtpd_quota_release(s);
	free(s->msgid);
	free(s->helo);
	free(s);
}

void
smtpd_reply(struct smtpd_session *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s->last_reply, sizeof(s->last_reply), fmt, ap);
	va_end(ap);
	if (n < 0)
		log_panic("format reply: %s", fmt);
	stream_printf(s->st, "%s\r\n", s->last_reply);
	log_debug("%s[%s]: > %s", s->name, s->addr, s->last_reply);
	if (s->last_reply[0] == '2' && s->cur_verb >= 0) {
		s->count_ok[s->cur_verb]++;
		s->cur_verb = -1;
	} else if (s->last_reply[0] == '4' || s->last_reply[0] == '5')
		s->errors++;
}

void
smtpd_reject_log(struct smtpd_session *s, const char *verb, const char *rcpt)
{
	const char *id = s->env != NULL && s->env->id[0] != '\0' ?
	    s->env->id : "NOQUEUE";

	log_info("%s: reject: %s from %s[%s]: %s; from=<%s>%s%s%s proto=%s helo=<%s>",
	    id, verb, s->name, s->addr, s->last_reply,
	    s->env != NULL ? s->env->sender : "", rcpt ? " to=<" : "",
	    rcpt ? rcpt : "", rcpt ? ">" : "", smtpd_protocol(s),
	    s->helo ? s->helo : "");
}

void
smtpd_close(struct smtpd_session *s)
{
	daemon_session_close(&s->ds);
}

const char *
smtpd_protocol(const struct smtpd_session *s)
{
	/* RFC 3848: "S" for TLS, "A" for an authenticated client. */
	if (!s->esmtp)
		return "SMTP";
	if (s->auth_user != NULL)
		return stream_tls_active(s->st) ? "ESMTPSA" : "ESMTPA";
	return stream_tls_active(s->st) ? "ESMTPS" : "ESMTP";
}

void
smtpd_reset(struct smtpd_session *s)
{
	if (s->qf != NULL)
		queue_file_abort(&s->qf);
	envelope_free(&s->env);
	smtpd_quota_release(s);
	s->mail_size = 0;
	xfree(&s->msgid);
	s->in_msgid = false;
	s->rcpt_refused = false;
	s->in_data = false;
	s->state = s->helo != NULL ? SMTP_ST_HELO : SMTP_ST_CONNECT;
}

void
smtpd_input_resume(struct smtpd_session *s)
{
	smtpd_session_event(s->st, STREAM_EV_READ, s);
}

/* smtpd_tarpit_fire - the soft-error pause is over: read commands again */
static void
smtpd_tarpit_fire(void *ctx)
{
	struct smtpd_session *s = ctx;

	s->tarpit = NULL;
	smtpd_input_resume(s);
}

/*
 * smtpd_input - run every whole line that is buffered. Replies to a
 * pipelined group accumulate and go out together once the input buffer
 * holds no further whole line (RFC 2920), or once DATA has answered.
 */
static void
smtpd_input(struct smtpd_session *s)
{
	const struct config *cfg = s->srv->cfg;

	while (!s->ds.closing && s->tarpit == NULL && s->auth_delay == NULL &&
	    s->commit == NULL) {
		const char *line;
		size_t len;
		unsigned errors = s->errors;
		bool was_data = s->in_data;
		int r;

		if (stream_pending(s->st) > SMTPD_OUTPUT_MAX) {
			/* The client is not reading; stop until it does. */
			(void)stream_flush(s->st);
			if (stream_pending(s->st) > SMTPD_OUTPUT_MAX)
				break;
		}
		r = stream_read_line(s->st, s->in_data ?
		    (size_t)cfg->smtpd_line_limit : SMTP_CMD_LINE_MAX, &line, &len);
		if (r == 0)
			break;
		if (s->in_data)
			smtpd_data_line(s, r, line, len);
		else if (s->sasl != NULL)
			smtpd_auth_line(s, r, line, len);
		else
			smtpd_cmd_line(s, r, line, len);
		if (s->ds.closing)
			break;
		if (s->errors > errors && cfg->smtpd_hard_error_limit > 0 &&
		    s->errors >= (unsigned)cfg->smtpd_hard_error_limit) {
			smtpd_reply(s, SMTP_R_TOO_MANY_ERRORS);
			log_info("too many errors after %s from %s[%s]",
			    s->ds.last_cmd, s->name, s->addr);
			smtpd_close(s);
			break;
		}
		/* DATA ends a group: the 354 (or the refusal) goes out now. */
		if (s->in_data != was_data) {
			if (s->in_data)
				s->data_end = ev_now() +
				    (uint64_t)cfg->smtpd_data_deadline * 1000u;
			smtpd_arm(s);
			(void)stream_flush(s->st);
		}
		if (s->errors > errors && cfg->smtpd_soft_error_limit > 0 &&
		    s->errors > (unsigned)cfg->smtpd_soft_error_limit) {
			/* Past the soft limit each error costs the client a second. */
			(void)stream_flush(s->st);
			s->tarpit = ev_timer_add(s->srv->loop, 1000,
			    smtpd_tarpit_fire, s);
		}
	}
	(void)stream_flush(s->st);
}

/* smtpd_tls_done - the handshake is over: start again as RFC 3207 4.2 says */
static void
smtpd_tls_done(struct smtpd_session *s)
{
	daemon_session_tls_log(&s->ds);
	smtpd_reset(s);
	xfree(&s->helo);
	/* RFC 3207 4.2: nothing learnt before TLS counts after it. */
	smtpd_auth_reset(s);
	s->esmtp = false;
	s->state = SMTP_ST_CONNECT;
}

/* smtpd_session_event - the stream's callback */
static void
smtpd_session_event(struct stream *st, unsigned events, void *ctx)
{
	struct smtpd_session *s = ctx;

	if (daemon_session_stopped(&s->ds, events))
		return;
	if (events & STREAM_EV_TLS)
		smtpd_tls_done(s);
	if (s->pregreet != NULL)
		(void)smtpd_pregreet_caught(s);	/* nothing runs before the 220 */
	else if (events & (STREAM_EV_READ | STREAM_EV_FLUSHED | STREAM_EV_TLS))
		smtpd_input(s);
	/*
	 * A commit in flight: what follows the dot waits, and so does the
	 * judgement of an EOF that came with it (the client's QUIT is still
	 * to be answered); the commit's end resumes the input.
	 */
	if (s->commit != NULL)
		return;
	if (daemon_session_finished(&s->ds))
		return;
	if (!s->ds.closing)
		smtpd_arm(s);
}
