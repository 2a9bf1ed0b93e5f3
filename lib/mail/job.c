/*
 * job - one delivery job of qmgr's, run by an agent; see job.h
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
#include <sys/time.h>
#include <unistd.h>

/* lib/util */
#include "util/events.h"
#include "util/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/address.h"
#include "mail/job.h"
#include "mail/proto.h"
#include "mail/proto_rec.h"
#include "mail/queue.h"

/* job_parse_rcpts - the rcpt=ADDR idx=I pairs, in order; NULL or why not */
static const char *
job_parse_rcpts(struct job *job, const struct ipc_rec *rec)
{
	size_t i;

	job->rcpt = xcalloc(JOB_RCPT_MAX, sizeof(*job->rcpt));
	for (i = 1; i < rec->n; i++) {
		const struct ipc_field *f = &rec->f[i], *g;
		unsigned long idx;
		char *end;

		if (strcmp(f->name, "rcpt") != 0)
			continue;
		g = i + 1 < rec->n ? &rec->f[i + 1] : NULL;
		if (job->nrcpt == JOB_RCPT_MAX)
			return "too many rcpt=";
		if (!address_mailbox_ok(f->value) ||
		    strcasecmp(address_domain(f->value), job->domain) != 0)
			return "bad rcpt=";
		if (g == NULL || strcmp(g->name, "idx") != 0 ||
		    !isdigit((unsigned char)g->value[0]))
			return "rcpt= without idx=";
		errno = 0;
		idx = strtoul(g->value, &end, 10);
		if (errno != 0 || *end != '\0' || idx >= 100000)
			return "bad idx=";
		job->rcpt[job->nrcpt].addr = xstrdup(f->value);
		job->rcpt[job->nrcpt].idx = idx;
		job->nrcpt++;
		i++;
	}
	return job->nrcpt == 0 ? "no rcpt=" : NULL;
}

/* job_parse_fields - every field but the recipients; NULL or why not */
static const char *
job_parse_fields(struct job *job, const struct ipc_rec *rec)
{
	const char *id, *domain, *sender, *route, *tls;
	unsigned long long size;

	if (ipc_rec_get_num(rec, "job", ~0ULL, &job->no) < 0)
		return "bad job=";
	id = ipc_rec_get(rec, "id");
	if (id == NULL || !queue_id_ok(id))
		return "bad id=";
	memcpy(job->id, id, QUEUE_ID_LEN + 1);
	domain = ipc_rec_get(rec, "domain");
	if (domain == NULL || !address_domain_ok(domain, strlen(domain)))
		return "bad domain=";
	job->domain = address_lower(domain);
	sender = ipc_rec_get(rec, "sender");
	if (sender == NULL || !address_stored_ok(sender, true))
		return "bad sender=";
	job->sender = xstrdup(sender);
	if (ipc_rec_get_num(rec, "size", UINT64_MAX, &size) < 0)
		return "bad size=";
	job->size = size;
	if ((route = ipc_rec_get(rec, "route")) == NULL)
		return "bad route=";
	job->route = xstrdup(route);
	if ((tls = ipc_rec_get(rec, "tls")) != NULL)
		job->tls = xstrdup(tls);
	return job_parse_rcpts(job, rec);
}

struct job *
job_parse(const struct ipc_rec *rec, const char **why_r)
{
	struct job *job = xcalloc(1, sizeof(*job));

	/* Each value, then the record's shape: no unknown or repeated field. */
	if ((*why_r = job_parse_fields(job, rec)) == NULL && !proto_job_ok(rec, "qmgr"))
		*why_r = "malformed job record";
	if (*why_r != NULL)
		job_free(&job);
	return job;
}

void
job_free(struct job **jobp)
{
	struct job *job = *jobp;
	size_t i;

	if (job == NULL)
		return;
	*jobp = NULL;
	smtp_msg_clear(&job->msg);
	free(job->mrcpt);
	free(job->mmap);
	queue_msg_clear(&job->qm);
	free(job->qdir);
	for (i = 0; i < job->nrcpt; i++)
		free(job->rcpt[i].addr);
	free(job->rcpt);
	free(job->domain);
	free(job->sender);
	free(job->route);
	free(job->tls);
	free(job);
}

void
job_delay_format(double s, char *buf, size_t size)
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

/* job_ms_secs - monotonic interval [from, to] in seconds (0 if unset) */
static double
job_ms_secs(uint64_t from, uint64_t to)
{
	return from == 0 || to < from ? 0 : (double)(to - from) / 1000.0;
}

/*
 * job_log_rcpt - the Postfix-shaped line of one recipient's attempt:
 * delays=a/b/c/d are time in the queue before this job, waiting in the
 * agent (for a connection slot), connection setup (DNS, connect, EHLO,
 * TLS) and the transaction.
 */
static void
job_log_rcpt(const struct job *job, size_t i, const char *relay,
    const char *dsn, const char *status, const char *text)
{
	uint64_t now = ev_now();
	struct timeval tv;
	double total, a, b, c, d;
	char s0[16], s1[16], s2[16], s3[16], s4[16];

	gettimeofday(&tv, NULL);
	total = (double)tv.tv_sec + tv.tv_usec / 1e6 - (job->qm.env != NULL ?
	    (double)job->qm.env->arrival : (double)tv.tv_sec);
	if (total < 0)
		total = 0;
	b = job_ms_secs(job->t_job, job->t_start);
	c = job_ms_secs(job->t_start, job->t_ready != 0 ? job->t_ready : now);
	d = job_ms_secs(job->t_ready, now);
	a = total - job_ms_secs(job->t_job, now);
	if (a < 0)
		a = 0;
	job_delay_format(total, s0, sizeof(s0));
	job_delay_format(a, s1, sizeof(s1));
	job_delay_format(b, s2, sizeof(s2));
	job_delay_format(c, s3, sizeof(s3));
	job_delay_format(d, s4, sizeof(s4));
	log_info("%s: to=<%s>, relay=%s%s, delay=%s, delays=%s/%s/%s/%s, "
	    "dsn=%s, status=%s (%s)", job->id, job->rcpt[i].addr, relay,
	    strcmp(relay, "none") != 0 ? job->agent->relay_note : "", s0, s1,
	    s2, s3, s4, dsn, status, text);
}

void
job_rcpt_finish(struct job *job, size_t i, const char *status,
    const char *dsn, const char *relay, const char *log_text,
    const char *reply)
{
	struct ipc_rec *rec = ipc_rec_new(PROTO_T_RCPT);
	char text[IPC_VALUE_MAX];

	job_log_rcpt(job, i, relay, dsn, status, log_text);
	if (strcmp(status, "sent") == 0)
		job->nsent++;
	else
		job->nother++;
	/* A reply longer than an IPC field is cut, never the record dropped. */
	snprintf(text, sizeof(text), "%s", reply);
	ipc_rec_addf(rec, "job", "%llu", job->no);
	ipc_rec_addf(rec, "idx", "%zu", job->rcpt[i].idx);
	ipc_rec_add(rec, "status", status);
	ipc_rec_add(rec, "dsn", dsn);
	ipc_rec_add(rec, "relay", relay);
	ipc_rec_add(rec, "reply", text);
	/* qmgr may not hear it: job_finish must not claim the message complete. */
	if (job->agent->send(job->ctx, rec) < 0)
		job->report_lost = true;
	ipc_rec_free(&rec);
	job->rcpt[i].finished = true;
}

/* job_journal_sent - journal the transaction's 2xx recipients (report lost) */
static void
job_journal_sent(struct job *job)
{
	size_t j;

	for (j = 0; j < job->msg.nrcpt; j++)
		if (job->msg.result[j].code / 100 == 2 &&
		    queue_journal_append(job->qdir, job->id,
		    job->rcpt[job->mmap[j]].idx, JOURNAL_DONE) < 0)
			log_warn("%s: append to journal: %s; the message may be "
			    "sent again", job->id, strerror(errno));
}

void
job_finish(struct job *job, const char *status, const char *dsn,
    const char *why, const char *conn_error)
{
	struct ipc_rec *rec;
	char text[IPC_VALUE_MAX];
	size_t i;

	for (i = 0; i < job->nrcpt; i++)
		if (!job->rcpt[i].finished)
			job_rcpt_finish(job, i, status, dsn, "none", why, why);
	/*
	 * A recipient's report did not reach qmgr (it was busy past the send
	 * timeout, or gone): qmgr would refuse complete=1 and keep that
	 * recipient pending, to be sent again. The journal says who has it
	 * instead, and the message is not claimed complete.
	 */
	if (job->complete && job->report_lost) {
		job_journal_sent(job);
		job->complete = false;
	}
	/* A conn_error longer than an IPC field is cut, never the record dropped. */
	if (conn_error != NULL)
		snprintf(text, sizeof(text), "%s", conn_error);
	rec = proto_done_encode(&(struct proto_done){ .job = job->no,
	    .conn_error = conn_error != NULL ? text : NULL,
	    .complete = job->complete });
	/*
	 * qmgr went away before it heard that the message is done: nobody
	 * will remove it, so the journal says who has it after all.
	 */
	if (job->agent->send(job->ctx, rec) < 0 && job->complete)
		job_journal_sent(job);
	ipc_rec_free(&rec);
	job->agent->over(job->ctx, job);
}

/* job_check_rcpt - recipient i against the file and journal js; reported if not to send */
static void
job_check_rcpt(struct job *job, size_t i, const enum journal_status *js)
{
	const struct job_rcpt *r = &job->rcpt[i];
	const struct envelope *env = job->qm.env;
	const char *why;

	if (r->idx >= env->nrcpt || strcmp(env->rcpt[r->idx].addr, r->addr) != 0) {
		log_warn("%s: recipient %zu <%s> is not in the queue file",
		    job->id, r->idx, r->addr);
		why = "queue file and job disagree";
		job_rcpt_finish(job, i, "deferred", "4.3.0", "none", why, why);
	} else if (js[r->idx] == JOURNAL_DONE) {
		/* Delivered before a crash lost the result: do not send it twice. */
		why = "delivered before, as the journal says";
		job_rcpt_finish(job, i, "sent", "2.0.0", "none", why, why);
	} else if (js[r->idx] != JOURNAL_PENDING) {
		why = "recipient already finished in the journal";
		job_rcpt_finish(job, i, "deferred", "4.3.0", "none", why, why);
	}
}

int
job_open(struct job *job, const char *qdir)
{
	enum journal_status *js;
	char *why;
	size_t i;

	free(job->qdir);
	job->qdir = xstrdup(qdir);
	if (queue_open(qdir, job->id, &job->qm) < 0) {
		why = xasprintf("read queue file %s: %s", job->id, strerror(errno));
		log_warn("%s: %s", job->id, why);
		job_finish(job, "deferred", "4.3.0", why, NULL);
		free(why);
		return -1;
	}
	js = xcalloc(job->qm.env->nrcpt + 1, sizeof(*js));
	if (queue_journal_read(qdir, job->id, job->qm.env->nrcpt, js) < 0) {
		/*
		 * Without the journal nobody knows who has the message: send
		 * nothing. qmgr reads the journal again when the job is done
		 * and moves a message whose journal fails validation to
		 * corrupt/; any other failure is retried later.
		 */
		why = xasprintf("read journal of %s: %s; nothing sent", job->id,
		    errno == EBADMSG ? "it failed validation" : strerror(errno));
		log_warn("%s: %s", job->id, why);
		job_finish(job, "deferred", "4.3.0", why, NULL);
		free(why);
		free(js);
		return -1;
	}
	job->npending = 0;
	for (i = 0; i < job->qm.env->nrcpt; i++)
		if (js[i] == JOURNAL_PENDING)
			job->npending++;
	for (i = 0; i < job->nrcpt; i++)
		job_check_rcpt(job, i, js);
	free(js);
	for (i = 0; i < job->nrcpt; i++)
		if (!job->rcpt[i].finished)
			return 0;
	job_finish(job, "deferred", "4.3.0", "", NULL);
	return -1;
}

char *
job_too_big(const struct job *job, uint64_t limit, const char *host,
    const char *addr)
{
	if (limit == 0 || job->qm.content_len <= limit)
		return NULL;
	return xasprintf("message size %llu exceeds size limit %llu of server "
	    "%s[%s]", (unsigned long long)job->qm.content_len,
	    (unsigned long long)limit, host, addr);
}

int
job_send(struct job *job, struct smtp_client *cl)
{
	size_t i, n = 0;
	char *why;

	smtp_msg_clear(&job->msg);
	free(job->mrcpt);
	free(job->mmap);
	job->mrcpt = xcalloc(job->nrcpt, sizeof(*job->mrcpt));
	job->mmap = xcalloc(job->nrcpt, sizeof(*job->mmap));
	for (i = 0; i < job->nrcpt; i++) {
		const struct envelope_rcpt *er;

		if (job->rcpt[i].finished)
			continue;
		er = &job->qm.env->rcpt[job->rcpt[i].idx];
		job->mrcpt[n].addr = er->addr;
		job->mrcpt[n].notify = er->notify;
		job->mrcpt[n].orcpt = er->orcpt;
		job->mmap[n++] = i;
	}
	memset(&job->msg, 0, sizeof(job->msg));
	job->msg.sender = job->qm.env->sender;
	job->msg.ret = (int)job->qm.env->ret;
	job->msg.envid = job->qm.env->envid;
	job->msg.nrcpt = n;
	job->msg.rcpt = job->mrcpt;
	job->msg.content_fd = job->qm.fd;
	job->msg.content_len = job->qm.content_len;
	/* A retry on a fresh connection reads the content again from its start. */
	if (lseek(job->qm.fd, job->qm.content_off, SEEK_SET) < 0 ||
	    smtp_client_send(cl, &job->msg) < 0) {
		why = xasprintf("start transaction: %s", strerror(errno));
		job_finish(job, "deferred", "4.3.0", why, NULL);
		free(why);
		return -1;
	}
	job->sending = true;
	return 0;
}

/*
 * job_completes - did this transaction deliver every recipient the file
 * and journal left pending (each 2xx, each pending one in it once)?
 */
static bool
job_completes(const struct job *job)
{
	size_t nenv = job->qm.env->nrcpt, j, n = 0;
	bool *seen;

	if (job->npending == 0 || job->msg.nrcpt != job->npending ||
	    job->msg.result == NULL)
		return false;
	seen = xcalloc(nenv, sizeof(*seen));
	for (j = 0; j < job->msg.nrcpt; j++) {
		size_t idx = job->rcpt[job->mmap[j]].idx;

		if (job->msg.result[j].code / 100 != 2)
			break;
		/* job_check_rcpt sent only recipients of the file that were pending. */
		if (idx < nenv && !seen[idx]) {
			seen[idx] = true;
			n++;
		}
	}
	free(seen);
	return j == job->msg.nrcpt && n == job->npending;
}

void
job_results(struct job *job, const char *host, const char *addr,
    unsigned port)
{
	char relay[600];
	size_t j;

	snprintf(relay, sizeof(relay), "%s[%s]:%u", host, addr, port);
	/*
	 * Every pending recipient delivered: the message is done, and qmgr
	 * removes it on type=done complete=1. A journal would cost two
	 * fsyncs (file and directory) per message only to be unlinked.
	 */
	job->complete = job_completes(job) && (job->agent->reporting == NULL ||
	    job->agent->reporting(job->ctx));
	for (j = 0; j < job->msg.nrcpt; j++) {
		const struct smtp_rcpt_result *r = &job->msg.result[j];
		size_t i = job->mmap[j];
		char *text;

		if (r->code / 100 == 2) {
			/* The journal first: qmgr may drop the file once told. */
			if (!job->complete && queue_journal_append(job->qdir, job->id,
			    job->rcpt[i].idx, JOURNAL_DONE) < 0)
				log_warn("%s: append to journal: %s; the message may "
				    "be sent again", job->id, strerror(errno));
			job_rcpt_finish(job, i, "sent", r->dsn, relay, r->reply,
			    r->reply);
			continue;
		}
		text = r->code == 0 ? xstrdup(r->reply) : xasprintf("host %s[%s] "
		    "said: %s", host, addr, r->reply);
		job_rcpt_finish(job, i, r->code / 100 == 5 ? "bounced" :
		    "deferred", r->dsn, r->code == 0 ? "none" : relay, text,
		    r->reply);
		free(text);
	}
}
