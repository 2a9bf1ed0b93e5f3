/*
 * etrn_turn - after ATRN: the SMTP client on the customer's connection
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* lib/util */
#include "util/events.h"
#include "util/ipc.h"
#include "util/log.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/job.h"
#include "mail/proto.h"
#include "mail/proto_rec.h"
#include "mail/smtp_client.h"
/* etrn */
#include "etrn/etrn.h"
#include "etrn/etrn_reply.h"

/* The reply to the final "." may take long (filters): Postfix's 600s. */
#define ETRN_DOT_TIMEOUT_S	600

static void etrn_turn_next(struct etrn_session *s);

/* etrn_bound - is domain one of the session's? */
static bool
etrn_bound(const struct etrn_session *s, const char *domain)
{
	size_t i;

	for (i = 0; i < s->ndomains; i++)
		if (strcasecmp(s->domains[i], domain) == 0)
			return true;
	return false;
}

/* etrn_job_parse - a job record for a domain bound to this session */
struct job *
etrn_job_parse(const struct etrn_session *s, const struct ipc_rec *rec,
    const char **why_r)
{
	struct job *job = job_parse(rec, why_r);

	if (job != NULL && !etrn_bound(s, job->domain)) {
		*why_r = "domain= is not bound to this session";
		job_free(&job);
	}
	return job;
}

/* etrn_job_send_rec - a job's record to qmgr (job_agent.send) */
static int
etrn_job_send_rec(void *ctx, const struct ipc_rec *rec)
{
	return etrn_qmgr_send(ctx, rec);
}

/* etrn_job_over - the job reported type=done (job_agent.over) */
static void
etrn_job_over(void *ctx, struct job *job)
{
	struct etrn_session *s = ctx;

	s->nsent += job->nsent;
	s->ndeferred += job->nother;
	job_free(&s->job);
}

static const struct job_agent etrn_job_agent = {
	.send = etrn_job_send_rec,
	.over = etrn_job_over,
	/* The relay is the customer's own server, over its connection. */
	.relay_note = " (ODMR)",
};

/*
 * etrn_job_prepare - take the job qmgr gave: its queue file and journal
 * (job_open). 0 if something is left to send; -1 if the job is over.
 */
static int
etrn_job_prepare(struct etrn_session *s)
{
	struct job *job = s->job;

	job->agent = &etrn_job_agent;
	job->ctx = s;
	job->t_job = job->t_start = ev_now();
	return job_open(job, s->srv->cfg->queue_directory);
}

/* etrn_job_send - start the job's transaction on the customer's connection */
static void
etrn_job_send(struct etrn_session *s)
{
	struct job *job = s->job;
	char *why = job_too_big(job, smtp_client_size_limit(s->cl),
	    s->helo != NULL ? s->helo : "unknown", s->addr);

	if (why != NULL) {
		job_finish(job, "bounced", "5.3.4", why, NULL);
		free(why);
		return;
	}
	job->t_ready = ev_now();
	(void)job_send(job, s->cl);
}

/* etrn_job_results - the transaction is over, or cut short: each recipient's result */
static void
etrn_job_results(struct etrn_session *s)
{
	job_results(s->job, s->helo != NULL ? s->helo : "unknown", s->addr,
	    s->port);
}

/* etrn_turn_next - send the next message, or QUIT when qmgr has no more */
static void
etrn_turn_next(struct etrn_session *s)
{
	while (s->client_ready && !s->quitting && s->job != NULL &&
	    !s->job->sending) {
		etrn_job_send(s);
		if (s->job != NULL && s->job->sending)
			return;
	}
	if (s->client_ready && !s->quitting && s->job == NULL && s->qmgr_idle) {
		s->quitting = true;
		smtp_client_quit(s->cl);
	}
}

/* etrn_turn_event - the SMTP client engine's callback */
static void
etrn_turn_event(struct smtp_client *cl, enum smtp_client_event ev, void *ctx)
{
	struct etrn_session *s = ctx;
	enum smtp_client_fail f;
	const char *text;

	switch (ev) {
	case SMTP_CLIENT_READY:
		if (!s->client_ready)
			log_info("%s: customer greeted: %s", s->relay,
			    smtp_client_banner(cl));
		s->client_ready = true;
		etrn_turn_next(s);
		return;
	case SMTP_CLIENT_DONE:
		if (s->job != NULL) {
			etrn_job_results(s);
			job_finish(s->job, "deferred", "4.3.0", "no result", NULL);
		}
		etrn_turn_next(s);
		return;
	case SMTP_CLIENT_FAILED:
		f = smtp_client_failure(cl, &text);
		log_info("ATRN session of %s with %s ended: %s", s->user, s->relay,
		    text);
		/*
		 * Results of a transaction cut short. A job not yet started is
		 * deferred for the same reason (a site that broke the protocol
		 * before our MAIL is named in the log, not only re-queued).
		 */
		if (s->job != NULL) {
			if (s->job->sending)
				etrn_job_results(s);
			job_finish(s->job, "deferred", smtp_client_fail_dsn(f), text,
			    text);
		}
		etrn_session_free(&s);
		return;
	case SMTP_CLIENT_CLOSED:
		log_info("ATRN session of %s with %s done: sent=%u, deferred=%u",
		    s->user, s->relay, s->nsent, s->ndeferred);
		etrn_session_free(&s);
		return;
	}
}

/* etrn_turn_start - answer 250 and become the SMTP client on the connection */
void
etrn_turn_start(struct etrn_session *s, struct job *first)
{
	const struct config *cfg = s->srv->cfg;
	struct smtp_client_params p = {
		.helo_name = cfg->smtp_helo_name,
		.peer_name = s->helo != NULL ? s->helo : "unknown",
		/* TLS, if any, is already on this connection and stays. */
		.tls = SMTP_CLIENT_TLS_NONE,
		.tls_ctx = NULL,
		.timeouts = {
			.connect_ms = (uint64_t)cfg->smtp_connect_timeout * 1000u,
			.helo_ms = (uint64_t)cfg->smtp_helo_timeout * 1000u,
			.cmd_ms = (uint64_t)cfg->smtp_timeout * 1000u,
			.data_ms = (uint64_t)cfg->smtp_data_timeout * 1000u,
			.dot_ms = (uint64_t)ETRN_DOT_TIMEOUT_S * 1000u,
		},
	};

	snprintf(s->relay, sizeof(s->relay), "%s[%s]:%u", p.peer_name, s->addr,
	    s->port);
	etrn_reply(s, ETRN_R_ATRN_TURN);
	(void)stream_flush(s->st);
	stream_set_timeout(s->st, 0);
	s->state = ETRN_ST_TURNED;
	log_info("ATRN from %s[%s]: user=%s: reversing the connection", s->name,
	    s->addr, s->user);
	/* The customer now greets us: we wait for its 220 as a client would. */
	s->cl = smtp_client_adopt(s->srv->loop, s->st, true, false, &p,
	    etrn_turn_event, s);
	s->job = first;
	(void)etrn_job_prepare(s);
}

/* etrn_turn_record - a record from qmgr after the turn: a job or idle */
int
etrn_turn_record(struct etrn_session *s, const struct ipc_rec *rec)
{
	const char *type = ipc_rec_type(rec), *why;

	if (strcmp(type, PROTO_T_IDLE) == 0) {
		s->qmgr_idle = true;
		etrn_turn_next(s);
		return 0;
	}
	if (strcmp(type, PROTO_T_JOB) != 0) {
		log_warn("read from qmgr: unexpected record type=%s", type);
		return -1;
	}
	if (s->job != NULL) {
		/* We said slots=1: a second job at once breaks the protocol. */
		log_warn("read from qmgr: a job beyond our one slot");
		return -1;
	}
	if ((s->job = etrn_job_parse(s, rec, &why)) == NULL) {
		log_warn("read job from qmgr: %s", why);
		return -1;
	}
	s->qmgr_idle = false;
	if (etrn_job_prepare(s) == 0)
		etrn_turn_next(s);
	return 0;
}

/* etrn_turn_qmgr_lost - qmgr is gone: finish the message in flight, QUIT */
void
etrn_turn_qmgr_lost(struct etrn_session *s)
{
	log_warn("ATRN session of %s: qmgr went away; ending after the current "
	    "message", s->user);
	/* A message not yet started stays queued: qmgr re-reads the journal. */
	if (s->job != NULL && !s->job->sending)
		job_free(&s->job);
	s->qmgr_idle = true;
	etrn_turn_next(s);
}
