/*
 * deliver_conn - sessions: per-domain limits and the idle-session cache
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util/events.h"
#include "util/log.h"
#include "util/tls.h"
#include "util/xmalloc.h"
#include "mail/conf.h"
#include "deliver/deliver.h"

/* deliver_conn_unlink - take sess out of the session list */
static void
deliver_conn_unlink(struct deliver_session *sess)
{
	struct deliver_session **pp;

	for (pp = &sess->d->sessions; *pp != NULL; pp = &(*pp)->next)
		if (*pp == sess) {
			*pp = sess->next;
			return;
		}
}

struct deliver_session *
deliver_conn_cached(struct deliver_job *job)
{
	struct deliver_session *sess;

	for (sess = job->d->sessions; sess != NULL; sess = sess->next) {
		if (sess->job != NULL || strcmp(sess->key, job->key) != 0 ||
		    !smtp_client_idle(sess->cl))
			continue;
		ev_timer_cancel(sess->d->loop, &sess->idle_timer);
		sess->job = job;
		sess->reused = true;
		job->sess = sess;
		return sess;
	}
	return NULL;
}

bool
deliver_conn_room(const struct deliver_job *job)
{
	struct deliver_session *sess, *spare = NULL;
	long n = 0;

	for (sess = job->d->sessions; sess != NULL; sess = sess->next) {
		if (strcmp(sess->domain, job->j->domain) != 0)
			continue;
		n++;
		if (sess->job == NULL && smtp_client_idle(sess->cl))
			spare = sess;
	}
	if (n < job->d->domain_limit)
		return true;
	/*
	 * At the limit, an idle session of the domain to another route (or
	 * TLS policy) gives its place up: a waiting job beats a cached one.
	 */
	if (spare != NULL) {
		ev_timer_cancel(spare->d->loop, &spare->idle_timer);
		smtp_client_quit(spare->cl);
		spare->job = NULL;
	}
	return false;
}

struct deliver_session *
deliver_conn_open(struct deliver_job *job, const struct deliver_target *t,
    enum smtp_client_tls tls)
{
	struct deliver *d = job->d;
	struct deliver_session *sess = xcalloc(1, sizeof(*sess));
	struct smtp_client_params p;
	char *err = NULL;

	sess->d = d;
	sess->key = xstrdup(job->key);
	sess->domain = xstrdup(job->j->domain);
	deliver_target_copy(&sess->target, t);
	sess->job = job;
	job->sess = sess;
	memset(&p, 0, sizeof(p));
	p.helo_name = d->cfg->smtp_helo_name;
	p.peer_name = t->host;
	p.tls = tls;
	p.tls_ctx = d->tls_ctx;
	if (tls == SMTP_CLIENT_TLS_VERIFY) {
		if (d->tls_verify_ctx == NULL &&
		    (d->tls_verify_ctx = tls_client_ctx_new(true, &err)) == NULL) {
			/* The handshake fails and says so; no CA store means no trust. */
			log_warn("load the system trust store: %s", err);
			free(err);
		} else
			p.tls_ctx = d->tls_verify_ctx;
	}
	p.timeouts = d->to;
	sess->next = d->sessions;
	d->sessions = sess;
	sess->cl = smtp_client_connect(d->loop, (const struct sockaddr *)&t->sa,
	    t->salen, &p, deliver_session_event, sess);
	return sess;
}

/* deliver_conn_idle_fire - an idle session was not wanted: QUIT it */
static void
deliver_conn_idle_fire(void *ctx)
{
	struct deliver_session *sess = ctx;

	sess->idle_timer = NULL;
	smtp_client_quit(sess->cl);
}

void
deliver_conn_idle(struct deliver_session *sess)
{
	struct deliver *d = sess->d;
	char *domain;

	sess->job = NULL;
	sess->reused = false;
	sess->idle_timer = ev_timer_add(d->loop, DELIVER_IDLE_MS,
	    deliver_conn_idle_fire, sess);
	domain = xstrdup(sess->domain);
	deliver_conn_wake(d, domain);
	free(domain);
}

/* deliver_conn_destroy - unlink and free sess, dropping its connection */
static void
deliver_conn_destroy(struct deliver_session *sess)
{
	deliver_conn_unlink(sess);
	ev_timer_cancel(sess->d->loop, &sess->idle_timer);
	if (sess->job != NULL)
		sess->job->sess = NULL;
	smtp_client_free(&sess->cl);
	deliver_target_clear(&sess->target);
	free(sess->key);
	free(sess->domain);
	free(sess);
}

void
deliver_conn_close(struct deliver_session *sess)
{
	struct deliver *d = sess->d;
	char *domain = xstrdup(sess->domain);

	deliver_conn_destroy(sess);
	deliver_conn_wake(d, domain);
	free(domain);
}

void
deliver_conn_close_all(struct deliver *d)
{
	while (d->sessions != NULL)
		deliver_conn_destroy(d->sessions);
}

void
deliver_conn_wake(struct deliver *d, const char *domain)
{
	struct deliver_job *job;

	for (job = d->jobs; job != NULL; job = job->next)
		if (job->waiting && strcmp(job->j->domain, domain) == 0) {
			job->waiting = false;
			deliver_job_proceed(job);
			return;
		}
}
