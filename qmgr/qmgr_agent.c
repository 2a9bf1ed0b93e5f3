/*
 * qmgr_agent - the deliver processes and ATRN sessions: accept, read their records, drop
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/events.h"
#include "util/htable.h"
#include "util/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "mail/conf.h"
#include "mail/proto.h"
#include "mail/proto_rec.h"
#include "qmgr/qmgr.h"

/* Jobs one deliver process may say it runs at once (type=hello slots=). */
#define QMGR_AGENT_SLOTS_MAX	1000
/* A longer dsn= than an enhanced status code ("5.1.1") needs is dropped. */
#define QMGR_DSN_MAX		15

static struct qmgr_job *
qmgr_agent_job(struct qmgr *q, struct qmgr_agent *a, uint64_t num)
{
	struct qmgr_job *j;
	char key[32];

	snprintf(key, sizeof(key), "%" PRIu64, num);
	j = htable_get(q->jobs, key);
	return j != NULL && j->agent == a ? j : NULL;
}

static int
qmgr_ready_one(const char *key, void *value, void *ctx)
{
	qmgr_ready_push(ctx, value);
	return 0;
}

void
qmgr_ready_all(struct qmgr *q)
{
	htable_walk(q->domains, qmgr_ready_one, q);
}

/* qmgr_agent_hello - type=hello: the agent's slots, and an ATRN session's domains */
static int
qmgr_agent_hello(struct qmgr *q, struct qmgr_agent *a, const struct ipc_rec *rec)
{
	struct proto_hello h;

	if (proto_hello_decode(rec, &h, "deliver agent") < 0 || h.slots == 0 ||
	    h.slots > QMGR_AGENT_SLOTS_MAX || a->slots != 0)
		return -1;
	a->slots = (unsigned)h.slots;
	if (h.maildrop)
		return h.bind != NULL && h.user != NULL ?
		    qmgr_pop3_bind(q, a, h.bind, h.user) : -1;
	if (h.bind != NULL)
		return qmgr_agent_bind(q, a, h.bind, h.user);
	qmgr_ready_all(q);
	return 0;
}

/* qmgr_agent_rcpt - type=rcpt: what became of one recipient of a job this agent holds */
static int
qmgr_agent_rcpt(struct qmgr *q, struct qmgr_agent *a, const struct ipc_rec *rec)
{
	static const enum qmgr_rstatus rstatus[PROTO_RESULT_N] = {
		[PROTO_RESULT_SENT] = QMGR_R_SENT,
		[PROTO_RESULT_BOUNCED] = QMGR_R_BOUNCED,
		[PROTO_RESULT_DEFERRED] = QMGR_R_DEFERRED,
	};
	struct proto_rcpt pr;
	struct qmgr_job *j;
	struct qmgr_rcpt *r = NULL;
	size_t i;

	if (proto_rcpt_decode(rec, &pr, "deliver agent") < 0 ||
	    (j = qmgr_agent_job(q, a, pr.job)) == NULL)
		return -1;
	for (i = 0; i < j->nrcpt; i++)
		if (j->rcpt[i].idx == pr.idx)
			r = &j->rcpt[i];
	if (r == NULL)
		return -1;
	r->status = rstatus[pr.status];
	free(r->dsn);
	free(r->reply);
	free(r->relay);
	r->dsn = strlen(pr.dsn) <= QMGR_DSN_MAX ? xstrdup(pr.dsn) : NULL;
	r->reply = xstrdup(pr.reply);
	r->relay = xstrdup(pr.relay);
	return 0;
}

/* qmgr_agent_done - type=done: a job this agent holds is over */
static int
qmgr_agent_done(struct qmgr *q, struct qmgr_agent *a, const struct ipc_rec *rec)
{
	struct proto_done pd;
	struct qmgr_job *j;

	if (proto_done_decode(rec, &pd, "deliver agent") < 0 ||
	    (j = qmgr_agent_job(q, a, pd.job)) == NULL)
		return -1;
	qmgr_job_finish(q, j, pd.conn_error, pd.complete);
	return 0;
}

/*
 * The records a deliver process (or ATRN session) sends. Those about a
 * job name it (job=N), and it must be one this agent holds.
 */
static const struct {
	const char *type;
	int (*fn)(struct qmgr *q, struct qmgr_agent *a, const struct ipc_rec *rec);
} qmgr_agent_records[] = {
	{ PROTO_T_HELLO, qmgr_agent_hello },
	{ PROTO_T_RCPT, qmgr_agent_rcpt },
	{ PROTO_T_DONE, qmgr_agent_done },
	{ PROTO_T_COLLECT, qmgr_pop3_collect },
};

/* qmgr_agent_record - one record from a deliver process; 0, or -1 to drop it */
static int
qmgr_agent_record(struct qmgr *q, struct qmgr_agent *a, const struct ipc_rec *rec)
{
	const char *type = ipc_rec_type(rec);
	size_t i;

	for (i = 0; i < sizeof(qmgr_agent_records) / sizeof(qmgr_agent_records[0]); i++)
		if (strcmp(type, qmgr_agent_records[i].type) == 0)
			return qmgr_agent_records[i].fn(q, a, rec);
	return -1;
}

struct qmgr_orphans {
	const struct qmgr_agent *agent;
	struct qmgr_job **job;
	size_t n;
};

static int
qmgr_agent_orphan(const char *key, void *value, void *ctx)
{
	struct qmgr_job *j = value;
	struct qmgr_orphans *o = ctx;

	if (j->agent == o->agent) {
		o->job = xreallocarray(o->job, o->n + 1, sizeof(*o->job));
		o->job[o->n++] = j;
	}
	return 0;
}

/* qmgr_agent_drop - a deliver process went away: its jobs are retried */
static void
qmgr_agent_drop(struct qmgr *q, struct qmgr_agent *a)
{
	struct qmgr_orphans o = { .agent = a };
	struct qmgr_agent **pp;
	bool atrn;
	size_t i;

	ev_io_del(q->loop, a->fd);
	close(a->fd);
	for (pp = &q->agents; *pp != NULL; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	htable_walk(q->jobs, qmgr_agent_orphan, &o);
	atrn = a->nbind > 0 && !a->maildrop;
	if (a->maildrop)
		qmgr_pop3_unbind(q, a);
	else
		qmgr_agent_unbind(q, a);
	for (i = 0; i < o.n; i++) {
		struct qmgr_job *j = o.job[i];
		struct qmgr_domain *dom = j->dom;
		char num[32];

		/*
		 * Recipients it delivered are in the journal already (deliver
		 * writes it before it reports); the rest stay queued. Re-read
		 * the journal and queue the domain again.
		 */
		snprintf(num, sizeof(num), "%" PRIu64, j->num);
		htable_del(q->jobs, num);
		htable_del(q->inflight, j->key);
		dom->active--;
		(void)qctl_index_message(&q->env, j->id);
		qmgr_job_free(&j);
		qmgr_domain_fill(q, dom);
	}
	free(o.job);
	free(a->user);
	free(a);
	if (!atrn || o.n > 0)
		log_warn("%s went away; %zu job%s queued again", atrn ? "ATRN session" :
		    "deliver process", o.n, o.n == 1 ? "" : "s");
	qmgr_dispatch(q);
}

static void
qmgr_agent_read(int fd, unsigned events, void *ctx)
{
	struct qmgr *q = ctx;
	struct qmgr_agent *a;
	struct ipc_rec *rec;
	int n;

	for (a = q->agents; a != NULL && a->fd != fd; a = a->next)
		;
	if (a == NULL) {
		ev_io_del(q->loop, fd);
		close(fd);
		return;
	}
	for (;;) {
		n = ipc_recv(fd, &rec);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			if (n < 0)
				log_warn("read from deliver: %s", errno == EBADMSG ?
				    "malformed record" : strerror(errno));
			qmgr_agent_drop(q, a);
			return;
		}
		if (qmgr_agent_record(q, a, rec) < 0) {
			log_warn("read from deliver: unexpected or bad %s record; dropping the "
			    "connection", ipc_rec_type(rec));
			ipc_rec_free(&rec);
			qmgr_agent_drop(q, a);
			return;
		}
		ipc_rec_free(&rec);
	}
	qmgr_dispatch(q);
}

void
qmgr_agent_accept(int lfd, unsigned events, void *ctx)
{
	struct qmgr *q = ctx;
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct qmgr_agent *a = xcalloc(1, sizeof(*a));

		a->fd = fd;
		a->next = q->agents;
		q->agents = a;
		if (ev_io_add(q->loop, fd, EV_READ, qmgr_agent_read, q) < 0) {
			log_warn("watch deliver connection: %s", strerror(errno));
			q->agents = a->next;
			close(fd);
			free(a);
		}
	}
}
