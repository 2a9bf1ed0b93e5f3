/*
 * smtpd_data - DATA: content into the queue file, and the end of data
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* lib/util */
#include "util/log.h"
#include "util/stream.h"
#include "util/workq.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/proto.h"
#include "mail/queue.h"
#include "mail/smtp_reply.h"
/* smtpd */
#include "smtpd/smtpd.h"

/* The longest Message-ID: value logged (a header line's limit, RFC 5322 2.1.1). */
#define SMTPD_MSGID_MAX		998

/* Any of these refuses the message at its end; none is worth writing on. */
#define SMTPD_DATA_REFUSE	(SMTPD_DATA_BARE_LF | SMTPD_DATA_BARE_CR | \
    SMTPD_DATA_NUL | SMTPD_DATA_LONG_LINE | SMTPD_DATA_TOO_BIG | \
    SMTPD_DATA_WRITE_ERR | SMTPD_DATA_HOPS)

/* smtpd_data_write - append to the queue file, noting the first failure */
static void
smtpd_data_write(struct smtpd_session *s, const void *buf, size_t len)
{
	if (s->data_flags & SMTPD_DATA_REFUSE)
		return;
	if (queue_file_write(s->qf, buf, len) < 0) {
		s->data_errno = errno;
		s->data_flags |= SMTPD_DATA_WRITE_ERR;
		log_warn("%s: write queue file: %s", s->env->id, strerror(errno));
	}
}

/* smtpd_received - our Received: header, the first line of the content */
static void
smtpd_received(struct smtpd_session *s)
{
	const struct envelope *env = s->env;
	char date[64], *hdr;
	struct tm tm;
	time_t now = time(NULL);

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	if (env->nrcpt == 1)
		hdr = xasprintf("Received: from %s (%s [%s])\r\n"
		    "\tby %s (sluice) with %s id %s\r\n\tfor <%s>; %s\r\n",
		    s->helo, s->name, s->addr, s->srv->cfg->myhostname,
		    env->protocol, env->id, env->rcpt[0].addr, date);
	else
		hdr = xasprintf("Received: from %s (%s [%s])\r\n"
		    "\tby %s (sluice) with %s id %s;\r\n\t%s\r\n",
		    s->helo, s->name, s->addr, s->srv->cfg->myhostname,
		    env->protocol, env->id, date);
	smtpd_data_write(s, hdr, strlen(hdr));
	free(hdr);
}

int
smtpd_data_begin(struct smtpd_session *s)
{
	struct envelope *env = s->env;

	free(env->protocol);
	env->protocol = xstrdup(smtpd_protocol(s));
	env->arrival = time(NULL);
	s->qf = queue_file_create(s->srv->cfg->queue_directory, env);
	if (s->qf == NULL) {
		int e = errno;

		log_warn("create queue file for %s[%s]: %s", s->name, s->addr,
		    strerror(e));
		smtpd_reply(s, e == ENOSPC ? SMTP_R_NO_SPACE : SMTP_R_QUEUE_ERROR);
		return -1;
	}
	if (s->auth_user != NULL)
		log_info("%s: client=%s[%s], sasl_method=%s, sasl_username=%s",
		    env->id, s->name, s->addr, sasl_mech_name(s->auth_mech),
		    s->auth_user);
	else
		log_info("%s: client=%s[%s]", env->id, s->name, s->addr);
	s->in_data = true;
	s->data_flags = 0;
	s->data_errno = 0;
	s->data_size = 0;
	s->prev_crlf = true;	/* the CRLF of the DATA command line */
	s->after_long = false;
	s->in_header = true;
	s->hops = 0;
	smtpd_received(s);
	return 0;
}

/* smtpd_msgid_add - append len bytes of the Message-ID: value, up to the cap */
static void
smtpd_msgid_add(struct smtpd_session *s, const char *text, size_t len)
{
	size_t have = strlen(s->msgid);
	char *tmp;

	if (len > SMTPD_MSGID_MAX - have)
		len = SMTPD_MSGID_MAX - have;
	if (len == 0)
		return;
	tmp = xasprintf("%s%.*s", s->msgid, (int)len, text);
	free(s->msgid);
	s->msgid = tmp;
}

/* smtpd_msgid_log - "ID: message-id=<...>", or message-id=<> without one */
static void
smtpd_msgid_log(const struct smtpd_session *s)
{
	const char *v = s->msgid != NULL ? s->msgid : "";
	size_t len;

	v += strspn(v, " \t");
	for (len = strlen(v); len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'); len--)
		;
	if (len == 0)
		log_info("%s: message-id=<>", s->env->id);
	else
		log_info("%s: message-id=%.*s", s->env->id, (int)len, v);
}

/*
 * One commit in flight. The worker gets the queue file and nothing else;
 * the session, with its envelope, waits in the loop for done().
 */
struct smtpd_commit {
	struct workq_job job;		/* first: the job is the commit */
	struct smtpd_session *s;	/* reads no input meanwhile */
	struct queue_file *qf;		/* the worker's until done() */
	int err;			/* 0, or why the sync failed */
};

/* smtpd_commit_run - in a worker: fsync, close, rename, fsync msg/XX */
static void
smtpd_commit_run(struct workq_job *job)
{
	struct smtpd_commit *c = (struct smtpd_commit *)job;

	/* A failure that left errno 0 is still a failure: never a 250. */
	c->err = queue_file_commit_sync(c->qf) == 0 ? 0 : errno != 0 ? errno : EIO;
}

/*
 * smtpd_commit_finish - the message is durable (err 0) or gone: log,
 * count, tell qmgr, and answer a client that is still there
 */
static void
smtpd_commit_finish(struct smtpd_session *s, int err)
{
	struct envelope *env = s->env;
	/* Gone, or timed out meanwhile (its 421 is out): no reply of ours. */
	bool answer = !s->gone && !s->ds.closing;

	if (err != 0) {
		log_warn("%s: commit queue file: %s", env->id, strerror(err));
		if (answer)
			smtpd_reply(s, err == ENOSPC ? SMTP_R_NO_SPACE :
			    SMTP_R_QUEUE_ERROR);
		smtpd_reset(s);
		return;
	}
	/*
	 * Postfix's cleanup line, before qmgr can log the message's from=
	 * line (qmgr owns that one: pflogsumm counts senders and bytes from
	 * it, and only once).
	 */
	smtpd_msgid_log(s);
	smtpd_quota_committed(s, env->id, s->data_size);
	/*
	 * The message is committed whatever happens here, so the client still
	 * gets 250; qmgr's periodic scan of msg/ finds what it was not told.
	 */
	if (qmgr_notify_queued(s->srv->cfg->queue_directory, env->id) < 0)
		log_warn("%s: notify qmgr: %s; the message waits for qmgr's scan of the spool",
		    env->id, strerror(errno));
	if (answer)
		smtpd_reply(s, SMTP_R_QUEUED, env->id);
	smtpd_reset(s);
}

/* smtpd_commit_done - in the loop: the worker is through with the commit */
static void
smtpd_commit_done(struct workq_job *job)
{
	struct smtpd_commit *c = (struct smtpd_commit *)job;
	struct smtpd_session *s = c->s;
	int err = c->err;

	queue_file_commit_end(&c->qf);
	free(c);
	s->commit = NULL;
	smtpd_commit_finish(s, err);
	if (s->gone) {
		smtpd_session_release(s);
		return;
	}
	/* Stopping (SIGTERM): the reply goes out now; nothing more is read. */
	if (s->srv->stopping) {
		(void)stream_flush(s->st);
		return;
	}
	/* What the client pipelined after the dot runs now (may free s). */
	stream_pause(s->st, false);
	smtpd_input_resume(s);
}

/*
 * smtpd_commit_start - the order of DESIGN.md: commit (fsync, rename,
 * fsync dir), then tell qmgr, then 250. The waiting part goes to a
 * worker, so that other sessions are served meanwhile and their commits
 * overlap; this session reads nothing until it is over. A failed
 * commit leaves nothing and gets no 250.
 */
static void
smtpd_commit_start(struct smtpd_session *s)
{
	struct smtpd_commit *c;

	if (queue_file_commit_begin(s->qf) < 0) {
		int e = errno;

		log_warn("%s: commit queue file: %s", s->env->id, strerror(e));
		smtpd_reply(s, e == ENOSPC ? SMTP_R_NO_SPACE : SMTP_R_QUEUE_ERROR);
		smtpd_reset(s);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->job.run = smtpd_commit_run;
	c->job.done = smtpd_commit_done;
	c->s = s;
	c->qf = s->qf;
	s->qf = NULL;
	s->commit = c;
	stream_pause(s->st, true);
	workq_submit(s->srv->commits, &c->job);
}

/* smtpd_data_end - the final "." arrived: commit, tell qmgr, then 250 */
static void
smtpd_data_end(struct smtpd_session *s)
{
	struct envelope *env = s->env;
	unsigned f = s->data_flags;

	s->in_data = false;
	s->ds.last_cmd = "END-OF-MESSAGE";
	if (f & SMTPD_DATA_REFUSE) {
		/* The smuggling-related refusals first: they say the most. */
		if (f & SMTPD_DATA_BARE_LF)
			smtpd_reply(s, SMTP_R_BARE_LF);
		else if (f & SMTPD_DATA_BARE_CR)
			smtpd_reply(s, SMTP_R_BARE_CR);
		else if (f & SMTPD_DATA_NUL)
			smtpd_reply(s, SMTP_R_NUL_DATA);
		else if (f & SMTPD_DATA_HOPS)
			smtpd_reply(s, SMTP_R_TOO_MANY_HOPS);
		else if (f & SMTPD_DATA_LONG_LINE)
			smtpd_reply(s, SMTP_R_DATA_LINE_TOO_LONG,
			    s->srv->cfg->smtpd_line_limit - 2);
		else if (f & SMTPD_DATA_TOO_BIG)
			smtpd_reply(s, SMTP_R_TOO_BIG);
		else
			smtpd_reply(s, s->data_errno == ENOSPC ? SMTP_R_NO_SPACE :
			    SMTP_R_QUEUE_ERROR);
		smtpd_reject_log(s, "END-OF-MESSAGE",
		    env->nrcpt > 0 ? env->rcpt[0].addr : NULL);
		smtpd_reset(s);
		return;
	}
	/*
	 * max_bytes with the real size: the whole message is refused, since
	 * after DATA one reply speaks for every recipient.
	 */
	if (smtpd_quota_data_end(s, s->data_size) < 0) {
		smtpd_reject_log(s, "END-OF-MESSAGE",
		    env->nrcpt > 0 ? env->rcpt[0].addr : NULL);
		smtpd_reset(s);
		return;
	}
	smtpd_commit_start(s);
}

/*
 * smtpd_data_header - one line of the message's header: count the
 * Received: lines (the hop count, as Postfix's hopcount_limit) and keep
 * the first Message-ID: value, unfolded, for the log, until the empty
 * line, or a line that is neither a field nor its continuation, ends the
 * header.
 */
static void
smtpd_data_header(struct smtpd_session *s, const char *line, size_t len)
{
	static const char name[] = "received", msgid[] = "message-id";
	size_t n = strcspn(line, ": \t\r\n"), colon = n;

	/* Unfolding (RFC 5322 2.2.3) is the removal of the CRLF alone. */
	if (len > 0 && (line[0] == ' ' || line[0] == '\t')) {
		if (s->in_msgid)
			smtpd_msgid_add(s, line, len);
		return;
	}
	s->in_msgid = false;
	if (len == 0 || n == 0 || n >= len || line[n] != ':') {
		/* Obsolete syntax allows blanks before the colon (RFC 5322 4.5). */
		colon = n + strspn(line + n, " \t");

		if (len == 0 || n == 0 || colon >= len || line[colon] != ':') {
			s->in_header = false;
			return;
		}
	}
	if (n == sizeof(msgid) - 1 && strncasecmp(line, msgid, n) == 0 &&
	    s->msgid == NULL) {
		s->msgid = xstrdup("");
		s->in_msgid = true;
		smtpd_msgid_add(s, line + colon + 1, len - colon - 1);
	}
	if (n == sizeof(name) - 1 && strncasecmp(line, name, n) == 0 &&
	    ++s->hops > (unsigned long)s->srv->cfg->hopcount_limit &&
	    !(s->data_flags & SMTPD_DATA_HOPS)) {
		s->data_flags |= SMTPD_DATA_HOPS;
		log_warn("%s: message from %s[%s] rejected: hopcount exceeded "
		    "(more than hopcount_limit = %ld Received: headers)",
		    s->env->id, s->name, s->addr, s->srv->cfg->hopcount_limit);
	}
}

void
smtpd_data_line(struct smtpd_session *s, int r, const char *line, size_t len)
{
	long limit = s->srv->cfg->message_size_limit;
	bool crlf;
	size_t clen;

	if (r < 0) {
		/* Over-long: the stream drops it; how it ended is known later. */
		s->data_flags |= SMTPD_DATA_LONG_LINE;
		s->after_long = true;
		return;
	}
	if (s->after_long) {
		s->prev_crlf = stream_discarded_crlf(s->st);
		s->after_long = false;
	}
	/*
	 * End of data only on CRLF "." CRLF. LF "." LF, LF "." CRLF and the
	 * like are content here (and refused), so that no two servers on a
	 * mail's path can disagree about where it ends (SMTP smuggling).
	 */
	if (s->prev_crlf && len == 3 && memcmp(line, ".\r\n", 3) == 0) {
		smtpd_data_end(s);
		return;
	}
	crlf = len >= 2 && line[len - 2] == '\r';
	clen = len - (crlf ? 2 : 1);
	if (!crlf)
		s->data_flags |= SMTPD_DATA_BARE_LF;
	if (memchr(line, '\r', clen) != NULL)
		s->data_flags |= SMTPD_DATA_BARE_CR;
	if (memchr(line, '\0', clen) != NULL)
		s->data_flags |= SMTPD_DATA_NUL;
	/* Dot-stuffing (RFC 5321 4.5.2): a leading dot was doubled. */
	if (s->prev_crlf && line[0] == '.') {
		line++;
		clen--;
	}
	s->prev_crlf = crlf;
	if (s->in_header)
		smtpd_data_header(s, line, clen);
	s->data_size += clen + 2;
	if (limit > 0 && s->data_size > (uint64_t)limit)
		s->data_flags |= SMTPD_DATA_TOO_BIG;
	if (crlf)
		smtpd_data_write(s, line, clen + 2);
}
