/*
 * deliver_job - one job: route, session; the job itself is lib/mail/job.c
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util/events.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "mail/conf.h"
#include "mail/job.h"
#include "deliver/deliver.h"

/* deliver_job_unlink - take job out of the job list */
static void
deliver_job_unlink(struct deliver_job *job)
{
	struct deliver_job **pp;

	for (pp = &job->d->jobs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == job) {
			*pp = job->next;
			job->d->njobs--;
			return;
		}
}

void
deliver_job_free(struct deliver_job **jobp)
{
	struct deliver_job *job = *jobp;

	if (job == NULL)
		return;
	*jobp = NULL;
	deliver_route_cancel(job);
	if (job->sess != NULL) {
		/* A session in the middle of this job cannot serve another. */
		job->sess->job = NULL;
		deliver_conn_close(job->sess);
	}
	job_free(&job->j);
	route_clear(&job->route);
	free(job->key);
	free(job->last_error);
	free(job);
}

/* deliver_job_send_rec - a job's record to qmgr (job_agent.send) */
static int
deliver_job_send_rec(void *ctx, const struct ipc_rec *rec)
{
	struct deliver_job *job = ctx;

	return deliver_send(job->d, rec);
}

/* deliver_job_over - the job reported type=done (job_agent.over) */
static void
deliver_job_over(void *ctx, struct job *j)
{
	struct deliver_job *job = ctx;

	(void)j;
	deliver_job_unlink(job);
	deliver_job_free(&job);
}

/* deliver_job_reporting - is qmgr there to hear of results (job_agent.reporting) */
static bool
deliver_job_reporting(void *ctx)
{
	struct deliver_job *job = ctx;

	return job->d->qmgr_fd >= 0;
}

static const struct job_agent deliver_job_agent = {
	.send = deliver_job_send_rec,
	.over = deliver_job_over,
	.relay_note = "",
	.reporting = deliver_job_reporting,
};

void
deliver_jobs_abort(struct deliver *d)
{
	struct deliver_job *job;

	for (job = d->jobs; job != NULL; job = job->next)
		job->waiting = false;
	while ((job = d->jobs) != NULL) {
		d->jobs = job->next;
		d->njobs--;
		deliver_job_free(&job);
	}
}

/* deliver_job_send - start the transaction on the job's session */
static void
deliver_job_send(struct deliver_job *job)
{
	char *why = job_too_big(job->j, smtp_client_size_limit(job->sess->cl),
	    job->sess->target.host, job->sess->target.addr);

	if (why != NULL) {
		struct deliver_session *sess = job->sess;

		job->sess = NULL;
		deliver_conn_idle(sess);
		job_finish(job->j, "bounced", "5.3.4", why, NULL);
		free(why);
		return;
	}
	(void)job_send(job->j, job->sess->cl);
}

/* deliver_job_attach - the job has a session: greet or go */
static void
deliver_job_attach(struct deliver_job *job)
{
	if (job->j->t_start == 0)
		job->j->t_start = ev_now();
	if (job->sess->reused) {
		job->j->t_ready = ev_now();
		deliver_job_send(job);
	}
}

/*
 * deliver_job_unreachable - job failed to reach its domain (conn_error):
 * finish it, and with it the jobs of the same domain, route and TLS
 * policy waiting for a connection slot. qmgr hands us more jobs of a
 * domain than we open connections to it (one waiting per connection);
 * against a dead site each would try and fail in turn.
 */
static void
deliver_job_unreachable(struct deliver_job *job, const char *dsn,
    const char *why)
{
	struct deliver *d = job->d;
	char *key = xstrdup(job->key), *text = xstrdup(why);
	struct deliver_job *w;

	job_finish(job->j, "deferred", dsn, text, text);
	for (;;) {
		for (w = d->jobs; w != NULL; w = w->next)
			if (w->waiting && strcmp(w->key, key) == 0)
				break;
		if (w == NULL)
			break;
		w->waiting = false;
		job_finish(w->j, "deferred", dsn, text, text);
	}
	free(key);
	free(text);
}

void
deliver_job_proceed(struct deliver_job *job)
{
	const struct deliver_target *t;

	if (deliver_conn_cached(job) != NULL) {
		deliver_job_attach(job);
		return;
	}
	if (!job->resolved) {
		deliver_route_start(job);
		return;
	}
	if (job->next_target >= job->ntargets) {
		const char *why = job->last_error != NULL ? job->last_error :
		    "no mail host to try";

		deliver_job_unreachable(job, job->last_error != NULL ?
		    smtp_client_fail_dsn(job->last_fail) : "4.4.1", why);
		return;
	}
	if (!deliver_conn_room(job)) {
		job->waiting = true;
		return;
	}
	t = &job->targets[job->next_target];
	if (job->j->t_start == 0)
		job->j->t_start = ev_now();
	(void)deliver_conn_open(job, t, job->tls_fallback ?
	    SMTP_CLIENT_TLS_NONE : job->tls);
}

void
deliver_job_targets(struct deliver_job *job, const char *status,
    const char *dsn, const char *why, bool conn_error)
{
	if (status != NULL) {
		job_finish(job->j, status, dsn, why, conn_error ? why : NULL);
		return;
	}
	job->next_target = 0;
	deliver_job_proceed(job);
}

void
deliver_job_start(struct deliver_job *job)
{
	job->j->agent = &deliver_job_agent;
	job->j->ctx = job;
	job->j->t_job = ev_now();
	if (job_open(job->j, job->d->cfg->queue_directory) < 0)
		return;
	deliver_job_proceed(job);
}

/* deliver_job_results - per-recipient results of a transaction */
static void
deliver_job_results(struct deliver_job *job, const struct deliver_session *sess)
{
	job_results(job->j, sess->target.host, sess->target.addr,
	    sess->target.port);
}

/* deliver_session_failed - the session's connection failed */
static void
deliver_session_failed(struct deliver_session *sess)
{
	struct deliver_job *job = sess->job;
	enum smtp_client_fail f;
	const char *text;
	bool in_tx, any_reply = false;
	size_t j;

	f = smtp_client_failure(sess->cl, &text);
	if (job == NULL) {
		deliver_conn_close(sess);
		return;
	}
	in_tx = job->j->msg.result != NULL;
	for (j = 0; in_tx && j < job->j->msg.nrcpt; j++)
		if (job->j->msg.result[j].code != 0)
			any_reply = true;
	free(job->last_error);
	job->last_error = xstrdup(text);
	job->last_fail = f;
	/*
	 * A cached session the server had quietly dropped fails at once:
	 * that says nothing about the host, so try a fresh connection.
	 */
	if (sess->reused && !any_reply && !job->retried_fresh) {
		job->retried_fresh = true;
		smtp_msg_clear(&job->j->msg);
		deliver_conn_close(sess);
		deliver_job_proceed(job);
		return;
	}
	if (in_tx) {
		deliver_job_results(job, sess);
		deliver_conn_close(sess);
		job_finish(job->j, "deferred", "4.4.2", text, text);
		return;
	}
	log_info("%s: %s", job->j->id, text);
	deliver_conn_close(sess);
	/* Opportunistic TLS that fails is retried in the clear, as Postfix does. */
	if (f == SMTP_FAIL_TLS && job->tls == SMTP_CLIENT_TLS_MAY &&
	    !job->tls_fallback)
		job->tls_fallback = true;
	else {
		job->tls_fallback = false;
		job->next_target++;
	}
	deliver_job_proceed(job);
}

void
deliver_session_event(struct smtp_client *cl, enum smtp_client_event ev,
    void *ctx)
{
	struct deliver_session *sess = ctx;
	struct deliver_job *job = sess->job;

	(void)cl;
	switch (ev) {
	case SMTP_CLIENT_READY:
		sess->ready = true;
		if (job == NULL)
			return;
		job->j->t_ready = ev_now();
		deliver_job_send(job);
		return;
	case SMTP_CLIENT_DONE:
		if (job == NULL)
			return;
		deliver_job_results(job, sess);
		job->sess = NULL;
		deliver_conn_idle(sess);
		job_finish(job->j, "deferred", "4.3.0", "no result", NULL);
		return;
	case SMTP_CLIENT_FAILED:
		deliver_session_failed(sess);
		return;
	case SMTP_CLIENT_CLOSED:
		if (job != NULL) {
			/* Closed under a job that had not started: try afresh. */
			job->sess = NULL;
			sess->job = NULL;
			deliver_conn_close(sess);
			deliver_job_proceed(job);
			return;
		}
		deliver_conn_close(sess);
		return;
	}
}
