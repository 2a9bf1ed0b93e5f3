/* etrn_turn - after ATRN: the SMTP client on the customer's connection */
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
#include "mail/config.h"
#include "mail/proto.h"
#include "mail/proto_rec.h"
#include "mail/queue.h"
#include "mail/smtp_client.h"
/* etrn */
#include "etrn/etrn.h"
#include "etrn/etrn_reply.h"

/* The reply to the final "." may take long (filters): Postfix's 600s. */
#define ETRN_DOT_TIMEOUT_S	600

static void etrn_turn_next(struct etrn_session *s);

/* etrn_job_free - free a job without reporting it */
void
etrn_job_free(struct etrn_job **jobp)
{
	struct etrn_job *job = *jobp;
	size_t i;

	if (job == NULL)
		return;
	*jobp = NULL;
	smtp_msg_clear(&job->msg);
	if (job->content_fd >= 0)
		(void)close(job->content_fd);
	envelope_free(&job->env);
	for (i = 0; i < job->nrcpt; i++)
		free(job->rcpt[i]);
	free(job->rcpt);
	free(job->idx);
	free(job->finished);
	free(job->mrcpt);
	free(job->mmap);
	free(job);
}

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

/* etrn_job_parse - a job record for this session, every field checked */
struct etrn_job *
etrn_job_parse(const struct etrn_session *s, const struct ipc_rec *rec,
    const char **why_r)
{
	struct etrn_job *job = xcalloc(1, sizeof(*job));
	const char *id = ipc_rec_get(rec, "id");
	const char *domain = ipc_rec_get(rec, "domain");
	size_t i;

	job->content_fd = -1;
	*why_r = NULL;
	if (!proto_job_ok(rec, "qmgr"))
		*why_r = "malformed job record";
	else if (ipc_rec_get_num(rec, "job", ~0ULL, &job->no) < 0)
		*why_r = "bad job=";
	else if (id == NULL || !queue_id_ok(id))
		*why_r = "bad id=";
	else if (domain == NULL || !address_domain_ok(domain, strlen(domain)) ||
	    !etrn_bound(s, domain))
		*why_r = "domain= is not bound to this session";
	if (*why_r != NULL) {
		etrn_job_free(&job);
		return NULL;
	}
	memcpy(job->id, id, QUEUE_ID_LEN + 1);
	/* rcpt=ADDR idx=I pairs, each a recipient of the job's domain. */
	for (i = 1; i < rec->n && *why_r == NULL; i++) {
		const struct ipc_field *f = &rec->f[i];
		unsigned long long idx;
		char *end;

		if (strcmp(f->name, "rcpt") != 0)
			continue;
		if (job->nrcpt == PROTO_JOB_RCPT_MAX)
			*why_r = "too many rcpt=";
		else if (!address_mailbox_ok(f->value) ||
		    strcasecmp(address_domain(f->value), domain) != 0)
			*why_r = "bad rcpt=";
		else if (i + 1 >= rec->n || strcmp(rec->f[i + 1].name, "idx") != 0 ||
		    !isdigit((unsigned char)rec->f[i + 1].value[0]))
			*why_r = "rcpt= without idx=";
		if (*why_r != NULL)
			break;
		errno = 0;
		idx = strtoull(rec->f[i + 1].value, &end, 10);
		if (errno != 0 || *end != '\0' || idx >= 100000) {
			*why_r = "bad idx=";
			break;
		}
		job->rcpt = xreallocarray(job->rcpt, job->nrcpt + 1,
		    sizeof(*job->rcpt));
		job->idx = xreallocarray(job->idx, job->nrcpt + 1, sizeof(*job->idx));
		job->rcpt[job->nrcpt] = xstrdup(f->value);
		job->idx[job->nrcpt] = (size_t)idx;
		job->nrcpt++;
		i++;
	}
	if (*why_r == NULL && job->nrcpt == 0)
		*why_r = "no rcpt=";
	if (*why_r != NULL) {
		etrn_job_free(&job);
		return NULL;
	}
	job->finished = xcalloc(job->nrcpt, sizeof(*job->finished));
	return job;
}

/* etrn_secs - seconds for delay=, as Postfix prints them */
static void
etrn_secs(double secs, char *buf, size_t size)
{
	if (secs < 0)
		secs = 0;
	snprintf(buf, size, secs < 10 ? "%.2g" : "%.0f", secs);
}

/*
 * etrn_rcpt_finish - log recipient i's result in deliver's shape and
 * tell qmgr (type=rcpt). For status=sent the journal must already say
 * so: qmgr may remove the message as soon as it reads this.
 */
static void
etrn_rcpt_finish(struct etrn_session *s, struct etrn_job *job, size_t i,
    const char *status, const char *dsn, const char *relay, const char *text)
{
	struct ipc_rec *rec;
	char reply[IPC_VALUE_MAX], delay[32];
	struct timeval tv;

	gettimeofday(&tv, NULL);
	etrn_secs(job->env != NULL ? (double)tv.tv_sec + tv.tv_usec / 1e6 -
	    (double)job->env->arrival : 0, delay, sizeof(delay));
	log_info("%s: to=<%s>, relay=%s%s, delay=%s, dsn=%s, status=%s (%s)",
	    job->id, job->rcpt[i], relay, strcmp(relay, "none") != 0 ?
	    " (ODMR)" : "", delay, dsn, status, text);
	if (strcmp(status, "sent") == 0)
		s->nsent++;
	else
		s->ndeferred++;
	/* A reply longer than an IPC field is cut, never the record dropped. */
	snprintf(reply, sizeof(reply), "%s", text);
	rec = ipc_rec_new(PROTO_T_RCPT);
	ipc_rec_addf(rec, "job", "%llu", job->no);
	ipc_rec_addf(rec, "idx", "%zu", job->idx[i]);
	ipc_rec_add(rec, "status", status);
	ipc_rec_add(rec, "dsn", dsn);
	ipc_rec_add(rec, "relay", relay);
	ipc_rec_add(rec, "reply", reply);
	(void)etrn_qmgr_send(s, rec);
	ipc_rec_free(&rec);
	job->finished[i] = true;
}

/*
 * etrn_job_done - every recipient without a result gets status, then
 * type=done goes to qmgr and the job is over. conn_error: the customer's
 * connection failed (qmgr closes the gate).
 */
static void
etrn_job_done(struct etrn_session *s, const char *status, const char *dsn,
    const char *why, const char *conn_error)
{
	struct etrn_job *job = s->job;
	struct ipc_rec *rec;
	char text[IPC_VALUE_MAX];
	size_t i;

	for (i = 0; i < job->nrcpt; i++)
		if (!job->finished[i])
			etrn_rcpt_finish(s, job, i, status, dsn, "none", why);
	rec = ipc_rec_new(PROTO_T_DONE);
	ipc_rec_addf(rec, "job", "%llu", job->no);
	if (conn_error != NULL) {
		snprintf(text, sizeof(text), "%s", conn_error);
		ipc_rec_add(rec, "conn_error", text);
	}
	(void)etrn_qmgr_send(s, rec);
	ipc_rec_free(&rec);
	etrn_job_free(&s->job);
}

/*
 * etrn_job_prepare - read the job's queue file and check it against the
 * job (trust nothing we are told), skip recipients the journal has
 * finished. 0 if something is left to send; -1 if the job is over
 * (reported).
 */
static int
etrn_job_prepare(struct etrn_session *s)
{
	struct etrn_job *job = s->job;
	const char *qdir = s->srv->cfg->queue_directory;
	enum journal_status *js;
	char *why;
	size_t i;

	job->t_start = ev_now();
	if (queue_read_envelope(qdir, job->id, &job->env) < 0 ||
	    queue_open_content(qdir, job->id, &job->content_fd,
	    &job->content_len) < 0) {
		why = xasprintf("read queue file %s: %s", job->id, strerror(errno));
		log_warn("%s: %s", job->id, why);
		etrn_job_done(s, "deferred", "4.3.0", why, NULL);
		free(why);
		return -1;
	}
	js = xcalloc(job->env->nrcpt, sizeof(*js));
	if (queue_journal_read(qdir, job->id, job->env->nrcpt, js) < 0)
		log_warn("%s: read journal: %s; trying every recipient", job->id,
		    strerror(errno));
	for (i = 0; i < job->nrcpt; i++) {
		size_t x = job->idx[i];

		if (x >= job->env->nrcpt ||
		    strcmp(job->env->rcpt[x].addr, job->rcpt[i]) != 0) {
			log_warn("%s: recipient %zu <%s> is not in the queue file",
			    job->id, x, job->rcpt[i]);
			etrn_rcpt_finish(s, job, i, "deferred", "4.3.0", "none",
			    "queue file and job disagree");
		} else if (js[x] == JOURNAL_DONE)
			/* Delivered before a crash lost the result: not twice. */
			etrn_rcpt_finish(s, job, i, "sent", "2.0.0", "none",
			    "delivered before, as the journal says");
		else if (js[x] != JOURNAL_PENDING)
			etrn_rcpt_finish(s, job, i, "deferred", "4.3.0", "none",
			    "recipient already finished in the journal");
	}
	free(js);
	for (i = 0; i < job->nrcpt; i++)
		if (!job->finished[i])
			return 0;
	etrn_job_done(s, "deferred", "4.3.0", "", NULL);
	return -1;
}

/* etrn_job_send - start the job's transaction on the customer's connection */
static void
etrn_job_send(struct etrn_session *s)
{
	struct etrn_job *job = s->job;
	uint64_t limit = smtp_client_size_limit(s->cl);
	size_t i, n = 0;
	char *why;

	if (limit > 0 && job->content_len > limit) {
		why = xasprintf("message size %llu exceeds size limit %llu of "
		    "server %s", (unsigned long long)job->content_len,
		    (unsigned long long)limit, s->relay);
		etrn_job_done(s, "bounced", "5.3.4", why, NULL);
		free(why);
		return;
	}
	job->mrcpt = xcalloc(job->nrcpt, sizeof(*job->mrcpt));
	job->mmap = xcalloc(job->nrcpt, sizeof(*job->mmap));
	for (i = 0; i < job->nrcpt; i++) {
		const struct envelope_rcpt *er;

		if (job->finished[i])
			continue;
		er = &job->env->rcpt[job->idx[i]];
		job->mrcpt[n].addr = er->addr;
		job->mrcpt[n].notify = er->notify;
		job->mrcpt[n].orcpt = er->orcpt;
		job->mmap[n++] = i;
	}
	job->msg.sender = job->env->sender;
	job->msg.ret = (int)job->env->ret;
	job->msg.envid = job->env->envid;
	job->msg.nrcpt = n;
	job->msg.rcpt = job->mrcpt;
	job->msg.content_fd = job->content_fd;
	job->msg.content_len = job->content_len;
	if (smtp_client_send(s->cl, &job->msg) < 0) {
		why = xasprintf("start transaction: %s", strerror(errno));
		etrn_job_done(s, "deferred", "4.3.0", why, NULL);
		free(why);
		return;
	}
	job->sending = true;
}

/*
 * etrn_job_results - the transaction is over (or the connection failed
 * during it): each recipient's result. A 2xx is journalled before qmgr
 * hears of it, so that a crash in between never loses the fact.
 */
static void
etrn_job_results(struct etrn_session *s)
{
	struct etrn_job *job = s->job;
	const char *qdir = s->srv->cfg->queue_directory;
	size_t j;

	for (j = 0; j < job->msg.nrcpt; j++) {
		const struct smtp_rcpt_result *r = &job->msg.result[j];
		size_t i = job->mmap[j];

		if (r->code / 100 == 2) {
			if (queue_journal_append(qdir, job->id, job->idx[i],
			    JOURNAL_DONE) < 0)
				log_warn("%s: append to journal: %s; the message may "
				    "be sent again", job->id, strerror(errno));
			etrn_rcpt_finish(s, job, i, "sent", r->dsn, s->relay,
			    r->reply);
		} else
			etrn_rcpt_finish(s, job, i, r->code / 100 == 5 ?
			    "bounced" : "deferred", r->dsn, r->code == 0 ? "none" :
			    s->relay, r->reply);
	}
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
			etrn_job_done(s, "deferred", "4.3.0", "no result", NULL);
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
			etrn_job_done(s, "deferred", smtp_client_fail_dsn(f), text,
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
etrn_turn_start(struct etrn_session *s, struct etrn_job *first)
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
		etrn_job_free(&s->job);
	s->qmgr_idle = true;
	etrn_turn_next(s);
}
