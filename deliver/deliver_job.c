/* deliver_job - one job: envelope, route, session, per-recipient results */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "util/events.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "mail/config.h"
#include "mail/queue.h"
#include "deliver/deliver.h"

/* deliver_secs - a delay for the log, as Postfix shows it: "0", "0.05", "1.2", "37" */
static void
deliver_secs(double s, char *buf, size_t size)
{
	char *p;

	if (s < 0.005) {
		snprintf(buf, size, "0");
		return;
	}
	snprintf(buf, size, s < 1 ? "%.2f" : s < 10 ? "%.1f" : "%.0f", s);
	/* "0.10" -> "0.1", "2.0" -> "2" */
	if (strchr(buf, '.') != NULL) {
		for (p = buf + strlen(buf) - 1; *p == '0'; p--)
			*p = '\0';
		if (*p == '.')
			*p = '\0';
	}
}

/* deliver_ms_secs - monotonic interval [from, to] in seconds (0 if unset) */
static double
deliver_ms_secs(uint64_t from, uint64_t to)
{
	return from == 0 || to < from ? 0 : (double)(to - from) / 1000.0;
}

/*
 * deliver_log_rcpt - the Postfix-shaped line of one recipient's attempt:
 * delays=a/b/c/d are time in the queue before this job, waiting in
 * deliver (for a connection slot), connection setup (DNS, connect, EHLO,
 * TLS) and the transaction.
 */
static void
deliver_log_rcpt(const struct deliver_job *job, size_t i, const char *relay,
    const char *dsn, const char *status, const char *text)
{
	uint64_t now = ev_now();
	struct timeval tv;
	double total, a, b, c, dd;
	char s0[16], s1[16], s2[16], s3[16], s4[16];

	gettimeofday(&tv, NULL);
	total = (double)tv.tv_sec + tv.tv_usec / 1e6 -
	    (job->env != NULL ? (double)job->env->arrival : (double)tv.tv_sec);
	if (total < 0)
		total = 0;
	b = deliver_ms_secs(job->t_job, job->t_start);
	c = deliver_ms_secs(job->t_start, job->t_ready != 0 ? job->t_ready : now);
	dd = deliver_ms_secs(job->t_ready, now);
	a = total - deliver_ms_secs(job->t_job, now);
	if (a < 0)
		a = 0;
	deliver_secs(total, s0, sizeof(s0));
	deliver_secs(a, s1, sizeof(s1));
	deliver_secs(b, s2, sizeof(s2));
	deliver_secs(c, s3, sizeof(s3));
	deliver_secs(dd, s4, sizeof(s4));
	log_info("%s: to=<%s>, relay=%s, delay=%s, delays=%s/%s/%s/%s, dsn=%s, "
	    "status=%s (%s)", job->id, job->rcpt[i].addr, relay, s0, s1, s2, s3,
	    s4, dsn, status, text);
}

/* deliver_rcpt_finish - log recipient i's result and tell qmgr */
static void
deliver_rcpt_finish(struct deliver_job *job, size_t i, const char *status,
    const char *dsn, const char *relay, const char *log_text,
    const char *reply)
{
	deliver_log_rcpt(job, i, relay, dsn, status, log_text);
	deliver_report_rcpt(job, i, status, dsn, relay, reply);
}

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
	size_t i;

	if (job == NULL)
		return;
	*jobp = NULL;
	deliver_route_cancel(job);
	if (job->sess != NULL) {
		/* A session in the middle of this job cannot serve another. */
		job->sess->job = NULL;
		deliver_conn_close(job->sess);
	}
	smtp_msg_clear(&job->msg);
	free(job->mrcpt);
	free(job->mmap);
	if (job->content_fd >= 0)
		(void)close(job->content_fd);
	envelope_free(&job->env);
	for (i = 0; i < job->nrcpt; i++)
		free(job->rcpt[i].addr);
	free(job->rcpt);
	free(job->domain);
	free(job->sender);
	route_clear(&job->route);
	free(job->key);
	free(job->last_error);
	free(job);
}

/*
 * deliver_job_finish - every recipient without a result gets status
 * (deferred unless said otherwise), then type=done, and the job is gone.
 */
static void
deliver_job_finish(struct deliver_job *job, const char *status,
    const char *dsn, const char *why, const char *conn_error)
{
	size_t i;

	for (i = 0; i < job->nrcpt; i++)
		if (!job->rcpt[i].finished)
			deliver_rcpt_finish(job, i, status, dsn, "none", why, why);
	deliver_report_done(job, conn_error);
	deliver_job_unlink(job);
	deliver_job_free(&job);
}

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

/* deliver_job_envelope - read and cross-check the queue file; 0/-1 (finished) */
static int
deliver_job_envelope(struct deliver_job *job)
{
	const char *qdir = job->d->cfg->queue_directory;
	enum journal_status *js;
	char *why;
	size_t i;

	if (queue_read_envelope(qdir, job->id, &job->env) < 0 ||
	    queue_open_content(qdir, job->id, &job->content_fd,
	    &job->content_len) < 0) {
		why = xasprintf("read queue file %s: %s", job->id, strerror(errno));
		log_warn("%s: %s", job->id, why);
		deliver_job_finish(job, "deferred", "4.3.0", why, NULL);
		free(why);
		return -1;
	}
	job->content_off = (uint64_t)lseek(job->content_fd, 0, SEEK_CUR);
	js = xcalloc(job->env->nrcpt, sizeof(*js));
	if (queue_journal_read(qdir, job->id, job->env->nrcpt, js) < 0)
		log_warn("%s: read journal: %s; trying every recipient", job->id,
		    strerror(errno));
	for (i = 0; i < job->nrcpt; i++) {
		struct deliver_rcpt *r = &job->rcpt[i];

		/* The job must agree with the file: trust nothing we are told. */
		if (r->idx >= job->env->nrcpt ||
		    strcmp(job->env->rcpt[r->idx].addr, r->addr) != 0) {
			log_warn("%s: recipient %zu <%s> is not in the queue file",
			    job->id, r->idx, r->addr);
			deliver_rcpt_finish(job, i, "deferred", "4.3.0", "none",
			    "queue file and job disagree", "queue file and job disagree");
			continue;
		}
		/* Delivered before a crash lost the result: do not send it twice. */
		if (js[r->idx] == JOURNAL_DONE)
			deliver_rcpt_finish(job, i, "sent", "2.0.0", "none",
			    "delivered before, as the journal says",
			    "delivered before, as the journal says");
		else if (js[r->idx] != JOURNAL_PENDING)
			deliver_rcpt_finish(job, i, "deferred", "4.3.0", "none",
			    "recipient already finished in the journal",
			    "recipient already finished in the journal");
	}
	free(js);
	for (i = 0; i < job->nrcpt; i++)
		if (!job->rcpt[i].finished)
			return 0;
	deliver_job_finish(job, "deferred", "4.3.0", "", NULL);
	return -1;
}

/* deliver_job_send - start the transaction on the job's session */
static void
deliver_job_send(struct deliver_job *job)
{
	struct smtp_client *cl = job->sess->cl;
	uint64_t limit = smtp_client_size_limit(cl);
	size_t i, n = 0;

	smtp_msg_clear(&job->msg);
	free(job->mrcpt);
	free(job->mmap);
	job->mrcpt = xcalloc(job->nrcpt, sizeof(*job->mrcpt));
	job->mmap = xcalloc(job->nrcpt, sizeof(*job->mmap));
	for (i = 0; i < job->nrcpt; i++) {
		const struct envelope_rcpt *er;

		if (job->rcpt[i].finished)
			continue;
		er = &job->env->rcpt[job->rcpt[i].idx];
		job->mrcpt[n].addr = er->addr;
		job->mrcpt[n].notify = er->notify;
		job->mrcpt[n].orcpt = er->orcpt;
		job->mmap[n++] = i;
	}
	memset(&job->msg, 0, sizeof(job->msg));
	job->msg.sender = job->env->sender;
	job->msg.ret = (int)job->env->ret;
	job->msg.envid = job->env->envid;
	job->msg.nrcpt = n;
	job->msg.rcpt = job->mrcpt;
	job->msg.content_fd = job->content_fd;
	job->msg.content_len = job->content_len;
	if (limit > 0 && job->content_len > limit) {
		char *why = xasprintf("message size %llu exceeds size limit %llu of "
		    "server %s[%s]", (unsigned long long)job->content_len,
		    (unsigned long long)limit, job->sess->target.host,
		    job->sess->target.addr);
		struct deliver_session *sess = job->sess;

		job->sess = NULL;
		deliver_conn_idle(sess);
		deliver_job_finish(job, "bounced", "5.3.4", why, NULL);
		free(why);
		return;
	}
	if (lseek(job->content_fd, (off_t)job->content_off, SEEK_SET) < 0 ||
	    smtp_client_send(cl, &job->msg) < 0) {
		char *why = xasprintf("start transaction: %s", strerror(errno));

		deliver_job_finish(job, "deferred", "4.3.0", why, NULL);
		free(why);
	}
}

/* deliver_job_attach - the job has a session: greet or go */
static void
deliver_job_attach(struct deliver_job *job)
{
	if (job->t_start == 0)
		job->t_start = ev_now();
	if (job->sess->reused) {
		job->t_ready = ev_now();
		deliver_job_send(job);
	}
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

		deliver_job_finish(job, "deferred", job->last_error != NULL ?
		    smtp_client_fail_dsn(job->last_fail) : "4.4.1", why, why);
		return;
	}
	if (!deliver_conn_room(job)) {
		job->waiting = true;
		return;
	}
	t = &job->targets[job->next_target];
	if (job->t_start == 0)
		job->t_start = ev_now();
	(void)deliver_conn_open(job, t, job->tls_fallback ?
	    SMTP_CLIENT_TLS_NONE : job->tls);
}

void
deliver_job_targets(struct deliver_job *job, const char *status,
    const char *dsn, const char *why, bool conn_error)
{
	if (status != NULL) {
		deliver_job_finish(job, status, dsn, why, conn_error ? why : NULL);
		return;
	}
	job->next_target = 0;
	deliver_job_proceed(job);
}

void
deliver_job_start(struct deliver_job *job)
{
	job->t_job = ev_now();
	if (deliver_job_envelope(job) < 0)
		return;
	deliver_job_proceed(job);
}

/* deliver_job_results - per-recipient results of a transaction */
static void
deliver_job_results(struct deliver_job *job, const struct deliver_session *sess)
{
	const char *qdir = job->d->cfg->queue_directory;
	char relay[128];
	size_t j;

	snprintf(relay, sizeof(relay), "%s[%s]:%u", sess->target.host,
	    sess->target.addr, sess->target.port);
	for (j = 0; j < job->msg.nrcpt; j++) {
		const struct smtp_rcpt_result *r = &job->msg.result[j];
		size_t i = job->mmap[j];
		char *text;

		if (r->code / 100 == 2) {
			/* The journal first: qmgr may drop the file once told. */
			if (queue_journal_append(qdir, job->id, job->rcpt[i].idx,
			    JOURNAL_DONE) < 0)
				log_warn("%s: append to journal: %s; the message may "
				    "be sent again", job->id, strerror(errno));
			deliver_rcpt_finish(job, i, "sent", r->dsn, relay, r->reply,
			    r->reply);
			continue;
		}
		text = r->code == 0 ? xstrdup(r->reply) : xasprintf("host %s[%s] "
		    "said: %s", sess->target.host, sess->target.addr, r->reply);
		deliver_rcpt_finish(job, i, r->code / 100 == 5 ? "bounced" :
		    "deferred", r->dsn, r->code == 0 ? "none" : relay, text, r->reply);
		free(text);
	}
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
	in_tx = job->msg.result != NULL;
	for (j = 0; in_tx && j < job->msg.nrcpt; j++)
		if (job->msg.result[j].code != 0)
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
		smtp_msg_clear(&job->msg);
		deliver_conn_close(sess);
		deliver_job_proceed(job);
		return;
	}
	if (in_tx) {
		deliver_job_results(job, sess);
		deliver_conn_close(sess);
		deliver_job_finish(job, "deferred", "4.4.2", text, text);
		return;
	}
	log_info("%s: %s", job->id, text);
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
		job->t_ready = ev_now();
		deliver_job_send(job);
		return;
	case SMTP_CLIENT_DONE:
		if (job == NULL)
			return;
		deliver_job_results(job, sess);
		job->sess = NULL;
		deliver_conn_idle(sess);
		deliver_job_finish(job, "deferred", "4.3.0", "no result", NULL);
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
