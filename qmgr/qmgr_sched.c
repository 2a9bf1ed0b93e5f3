/*
 * qmgr_sched - scheduling: per-domain job queues, dispatch, results (the agents' side is qmgr_agent.c)
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
#include "mail/address.h"
#include "mail/conf.h"
#include "mail/domains.h"
#include "mail/proto.h"
#include "mail/proto_rec.h"
#include "mail/qindex.h"
#include "mail/queue.h"
#include "mail/route.h"
#include "qmgr/qmgr.h"

/*
 * Jobs of one domain at the agents, per connection deliver may open to
 * it (deliver_domain_concurrency_limit): while a connection's transaction
 * runs, its next job waits at deliver already and takes the session the
 * moment it is free, without a round trip through qmgr between two
 * messages (deliver_conn_idle hands it over).
 */
#define QMGR_DOMAIN_PREFETCH	2
/* Deliver processes and ATRN sessions connecting at once. */
#define QMGR_DELIVER_BACKLOG	64
/* The last error of an entry, as kept in the index. */
#define QMGR_ERROR_MAX		1000
/* A job record: its own fields, then two a recipient. */
_Static_assert(8 + 2 * PROTO_JOB_RCPT_MAX <= IPC_FIELDS_MAX,
    "a job's recipients fit one ipc record");

struct qmgr_domain *
qmgr_domain_get(struct qmgr *q, const char *name)
{
	struct qmgr_domain *dom = htable_get(q->domains, name);

	if (dom == NULL) {
		dom = xcalloc(1, sizeof(*dom));
		dom->q = q;
		dom->name = xstrdup(name);
		htable_put(q->domains, name, dom);
	}
	return dom;
}

bool
qmgr_domain_is_held_mode(const struct qmgr *q, const char *name)
{
	const struct domain *d = domain_find(q->cfg->domains, name);

	return d != NULL && d->mode == DOMAIN_MODE_HOLD;
}

void
qmgr_job_free(struct qmgr_job **jp)
{
	struct qmgr_job *j = *jp;
	size_t i;

	if (j == NULL)
		return;
	for (i = 0; i < j->nrcpt; i++) {
		free(j->rcpt[i].addr);
		free(j->rcpt[i].dsn);
		free(j->rcpt[i].reply);
		free(j->rcpt[i].relay);
	}
	free(j->rcpt);
	free(j->home);
	free(j->key);
	free(j);
	*jp = NULL;
}

void
qmgr_ready_push(struct qmgr *q, struct qmgr_domain *dom)
{
	if (dom->on_ready || dom->head == NULL)
		return;
	dom->on_ready = true;
	dom->ready_next = NULL;
	if (q->ready_tail != NULL)
		q->ready_tail->ready_next = dom;
	else
		q->ready_head = dom;
	q->ready_tail = dom;
}

static struct qmgr_domain *
qmgr_ready_pop(struct qmgr *q)
{
	struct qmgr_domain *dom = q->ready_head;

	if (dom == NULL)
		return NULL;
	q->ready_head = dom->ready_next;
	if (q->ready_head == NULL)
		q->ready_tail = NULL;
	dom->on_ready = false;
	dom->ready_next = NULL;
	return dom;
}

/* qmgr_job_queue - make a job of entry e, unless it is in flight already; whether it did */
static bool
qmgr_job_queue(struct qmgr *q, struct qmgr_domain *dom, const struct qindex_entry *e)
{
	char *key = xasprintf("%s/%s", e->id, e->domain);
	struct qmgr_job *j;
	size_t i;

	if (htable_get(q->inflight, key) != NULL || (e->flags & QINDEX_F_HOLD) || e->nrcpt == 0) {
		free(key);
		return false;
	}
	j = xcalloc(1, sizeof(*j));
	snprintf(j->id, sizeof(j->id), "%s", e->id);
	j->key = key;
	j->dom = dom;
	j->nrcpt = e->nrcpt < PROTO_JOB_RCPT_MAX ? e->nrcpt : PROTO_JOB_RCPT_MAX;
	j->partial = e->nrcpt > j->nrcpt;
	j->rcpt = xcalloc(j->nrcpt, sizeof(*j->rcpt));
	for (i = 0; i < j->nrcpt; i++) {
		j->rcpt[i].addr = xstrdup(e->rcpt[i]);
		j->rcpt[i].idx = e->rcpt_index[i];
	}
	htable_put(q->inflight, key, j);
	if (dom->tail != NULL)
		dom->tail->next = j;
	else
		dom->head = j;
	dom->tail = j;
	dom->nqueued++;
	qmgr_ready_push(q, dom);
	return true;
}

/*
 * A fill pass reads a domain's entries from by_domain in queue ID order,
 * QMGR_FILL_BATCH jobs at a time, and reads on after the last message it
 * read (dom->fill_after) when fewer than QMGR_FILL_LOW of its jobs are
 * left waiting. The first job of a flush so goes out after one batch is
 * read, whatever the domain holds (ETRN to the first message with a
 * million queued), and qmgr keeps jobs only for the mail just ahead of
 * the deliver processes, never one per message waiting (issue 12). The
 * batch is two walk batches of the index and well above any domain's
 * concurrency, so that refills are rare and never leave a slot idle.
 */
#define QMGR_FILL_BATCH		128
#define QMGR_FILL_LOW		64

struct qmgr_fill {
	struct qmgr *q;
	struct qmgr_domain *dom;
	bool open;
	time_t now;
	size_t queued;
};

static int
qmgr_fill_one(const struct qindex_entry *e, void *ctx)
{
	struct qmgr_fill *f = ctx;
	struct qmgr_domain *dom = f->dom;

	snprintf(dom->fill_after, sizeof(dom->fill_after), "%s", e->id);
	if (f->open || e->next_try <= f->now) {
		if (qmgr_job_queue(f->q, dom, e))
			f->queued++;
	} else if (dom->fill_later == 0 || e->next_try < dom->fill_later)
		dom->fill_later = e->next_try;
	return f->queued >= QMGR_FILL_BATCH ? 1 : 0;
}

/* qmgr_fill_end - the pass has read dom's last entry, or stops */
static void
qmgr_fill_end(struct qmgr *q, struct qmgr_domain *dom)
{
	dom->filling = false;
	if (dom->fill_why != NULL)
		qmgr_home_note(q, dom, dom->fill_queued, dom->fill_why);
	xfree(&dom->fill_why);
}

/* qmgr_fill_more - the next batch of dom's pass */
static void
qmgr_fill_more(struct qmgr *q, struct qmgr_domain *dom)
{
	struct qmgr_fill f = { .q = q, .dom = dom, .now = time(NULL) };
	bool held = qmgr_domain_is_held_mode(q, dom->name);

	f.open = dom->fill_all || qmgr_gate_is_open(dom, f.now);
	/* The gate closed (or the domain became held) since the pass began. */
	if (!f.open && held) {
		qmgr_fill_end(q, dom);
		return;
	}
	if (qindex_walk_domain_after(q->env.qi, dom->name,
	    dom->fill_after[0] != '\0' ? dom->fill_after : NULL, qmgr_fill_one, &f) < 0) {
		log_warn("schedule %s: index walk failed", dom->name);
		qmgr_fill_end(q, dom);
		return;
	}
	dom->fill_queued += f.queued;
	if (f.queued >= QMGR_FILL_BATCH)
		return;
	if (dom->fill_later != 0 && !held)
		qmgr_domain_retry_at(q, dom, dom->fill_later);
	qmgr_fill_end(q, dom);
}

/* qmgr_fill_start - a new pass over dom from its first entry; why: for the relay=home line */
static void
qmgr_fill_start(struct qmgr *q, struct qmgr_domain *dom, bool all, const char *why)
{
	dom->filling = true;
	dom->fill_all = all;
	dom->fill_after[0] = '\0';
	dom->fill_later = 0;
	dom->fill_queued = 0;
	free(dom->fill_why);
	dom->fill_why = why != NULL ? xstrdup(why) : NULL;
	qmgr_fill_more(q, dom);
}

void
qmgr_domain_fill(struct qmgr *q, struct qmgr_domain *dom)
{
	bool open = qmgr_gate_is_open(dom, time(NULL));

	if (!open && qmgr_domain_is_held_mode(q, dom->name))
		return;
	/* A trigger here releases a held domain to its home host, if that is another. */
	qmgr_fill_start(q, dom, false,
	    !open ? NULL : dom->opened_by != NULL ? dom->opened_by : "trigger");
}

void
qmgr_domain_fill_all(struct qmgr *q, struct qmgr_domain *dom, const char *why)
{
	qmgr_fill_start(q, dom, true, why);
}

static void
qmgr_retry_fire(void *ctx)
{
	struct qmgr_domain *dom = ctx;
	struct qmgr *q = dom->q;

	dom->retry_timer = NULL;
	dom->retry_at = 0;
	qmgr_domain_fill(q, dom);
	qmgr_dispatch(q);
}

void
qmgr_domain_retry_at(struct qmgr *q, struct qmgr_domain *dom, time_t when)
{
	time_t now = time(NULL);

	if (dom->retry_timer != NULL && dom->retry_at <= when)
		return;
	ev_timer_cancel(q->loop, &dom->retry_timer);
	dom->retry_at = when;
	dom->retry_timer = ev_timer_add(q->loop, when > now ? (uint64_t)(when - now) * 1000 : 0,
	    qmgr_retry_fire, dom);
}

void
qmgr_domain_drop_queued(struct qmgr *q, struct qmgr_domain *dom)
{
	struct qmgr_job *j = dom->head, *next;

	for (; j != NULL; j = next) {
		next = j->next;
		htable_del(q->inflight, j->key);
		qmgr_job_free(&j);
	}
	dom->head = dom->tail = NULL;
	dom->nqueued = 0;
	/* Nothing more is read either: whoever queues the domain again starts a pass. */
	qmgr_fill_end(q, dom);
}

static int
qmgr_new_one(const struct qindex_entry *e, void *ctx)
{
	struct qmgr *q = ctx;
	struct qmgr_domain *dom = qmgr_domain_get(q, e->domain);

	qmgr_warn_schedule(q, e);
	/* New mail: the flush is not finished, and the prober may look soon. */
	dom->arrivals++;
	dom->finished = 0;
	/*
	 * New mail goes straight through an open gate; a backup or relay
	 * domain tries it now unless that domain is in back-off.
	 */
	if (qmgr_gate_is_open(dom, time(NULL)) ||
	    (!qmgr_domain_is_held_mode(q, e->domain) && dom->retry_timer == NULL))
		qmgr_job_queue(q, dom, e);
	return 0;
}

void
qmgr_message_new(struct qmgr *q, const char *id)
{
	if (qindex_walk_message(q->env.qi, id, qmgr_new_one, q) < 0)
		log_warn("%s: schedule: index walk failed", id);
	qmgr_quota_arrival(q, id);
	qmgr_dispatch(q);
}

/* qmgr_job_send - hand job j to agent a; 0/-1 */
static int
qmgr_job_send(struct qmgr *q, struct qmgr_agent *a, struct qmgr_job *j)
{
	static const struct route relay_route = { .mx = true };
	const struct domain *d = domain_find(q->cfg->domains, j->dom->name);
	struct qindex_entry *e = NULL;
	struct ipc_rec *rec;
	struct proto_job pj;
	char *route;
	size_t i;
	int ret;

	/* Sender and size come from the index: the job record is self-contained. */
	if (qindex_get(q->env.qi, j->id, j->dom->name, &e) != 1)
		return -1;
	j->num = ++q->next_job;
	/*
	 * A relay domain (not in the table) goes by MX, tls=may; a held
	 * domain whose home is another host goes there (an ATRN session
	 * bound here takes its own), tls=may.
	 */
	free(j->home);
	j->home = a->nbind == 0 ? qmgr_home_route(q, j->dom->name) : NULL;
	if (j->home != NULL)
		route = xstrdup(j->home);
	else if (d != NULL && d->route.client && a->nbind == 0)
		/* route=client: the lease's address, or nowhere (the entry stays). */
		route = j->dom->client_route != NULL ? xstrdup(j->dom->client_route) : NULL;
	else
		route = route_format(d != NULL ? &d->route : &relay_route);
	if (route == NULL) {
		qindex_entry_free(&e);
		return -1;
	}
	pj = (struct proto_job){ .job = j->num, .id = j->id, .domain = j->dom->name,
	    .sender = e->sender, .size = e->size, .route = route,
	    .tls = route_tls_name(d != NULL && j->home == NULL ? d->tls : ROUTE_TLS_MAY),
	    .nrcpt = j->nrcpt, .rcpt = xcalloc(j->nrcpt, sizeof(*pj.rcpt)) };
	for (i = 0; i < j->nrcpt; i++)
		pj.rcpt[i] = (struct proto_job_rcpt){ j->rcpt[i].addr, j->rcpt[i].idx };
	rec = proto_job_encode(&pj);
	ret = ipc_send(a->fd, rec);
	ipc_rec_free(&rec);
	proto_job_clear(&pj);
	free(route);
	qindex_entry_free(&e);
	if (ret < 0)
		return -1;
	qmgr_job_assign(q, a, j);
	return 0;
}

void
qmgr_job_assign(struct qmgr *q, struct qmgr_agent *a, struct qmgr_job *j)
{
	char num[32];

	snprintf(num, sizeof(num), "%" PRIu64, j->num);
	htable_put(q->jobs, num, j);
	j->agent = a;
	a->busy++;
	j->dom->active++;
}

/*
 * qmgr_agent_pick - who takes dom's next job: the ATRN session bound to
 * dom, if any (and nobody else; nobody at all while a POP3 session holds
 * it); otherwise the ordinary deliver process
 * with the most free slots.
 */
static struct qmgr_agent *
qmgr_agent_pick(struct qmgr *q, const struct qmgr_domain *dom)
{
	struct qmgr_agent *a, *best = NULL;

	/* A POP3 session holds its domains: their jobs wait until it ends. */
	if ((a = htable_get(q->bound, dom->name)) != NULL)
		return !a->maildrop && a->busy < a->slots ? a : NULL;
	for (a = q->agents; a != NULL; a = a->next)
		if (a->nbind == 0 && a->busy < a->slots &&
		    (best == NULL || best->slots - best->busy < a->slots - a->busy))
			best = a;
	return best;
}

void
qmgr_agent_check_idle(struct qmgr *q, struct qmgr_agent *a)
{
	struct ipc_rec *rec;
	size_t i;

	if (a->nbind == 0 || a->busy > 0)
		return;
	for (i = 0; i < a->nbind; i++) {
		struct qmgr_domain *dom = htable_get(q->domains, a->bind[i]);

		if (dom != NULL && (dom->head != NULL || dom->filling))
			return;
	}
	if (a->idle_sent)
		return;
	a->idle_sent = true;
	rec = proto_idle_encode();
	if (ipc_send(a->fd, rec) < 0)
		log_warn("tell ATRN session it is done: %s", strerror(errno));
	ipc_rec_free(&rec);
}

struct qmgr_job *
qmgr_dispatch_next(struct qmgr *q, struct qmgr_agent **a_r)
{
	unsigned limit = QMGR_DOMAIN_PREFETCH *
	    (unsigned)q->cfg->deliver_domain_concurrency_limit;
	struct qmgr_domain *dom;
	size_t rounds = htable_count(q->domains) + 1;

	/* Round robin over ready domains, one job each turn, within the limits. */
	while (rounds > 0 && (dom = qmgr_ready_pop(q)) != NULL) {
		struct qmgr_agent *a = qmgr_agent_pick(q, dom);
		struct qmgr_job *j;

		/*
		 * No agent free for this domain, or at its limit: it leaves the
		 * ready list until one of its jobs finishes or an agent arrives.
		 */
		if (a == NULL || dom->active >= limit) {
			rounds--;
			continue;
		}
		j = dom->head;
		dom->head = j->next;
		if (dom->head == NULL)
			dom->tail = NULL;
		dom->nqueued--;
		j->next = NULL;
		a->idle_sent = false;
		qmgr_ready_push(q, dom);
		*a_r = a;
		return j;
	}
	return NULL;
}

void
qmgr_dispatch(struct qmgr *q)
{
	struct qmgr_agent *a;
	struct qmgr_job *j;

	while ((j = qmgr_dispatch_next(q, &a)) != NULL) {
		struct qmgr_domain *dom = j->dom;

		if (qmgr_job_send(q, a, j) < 0) {
			/* The message went away, or the agent: forget the job; the index knows the rest. */
			htable_del(q->inflight, j->key);
			qmgr_job_free(&j);
		}
		/* The pass reads on before the domain's queue runs dry. */
		if (dom->filling && dom->nqueued < QMGR_FILL_LOW)
			qmgr_fill_more(q, dom);
	}
}

long
qmgr_backoff(const struct qmgr *q, unsigned attempts)
{
	long delay = q->cfg->minimal_backoff_time;

	while (attempts-- > 1 && delay < q->cfg->maximal_backoff_time)
		delay *= 2;
	return delay < q->cfg->maximal_backoff_time ? delay : q->cfg->maximal_backoff_time;
}

/*
 * qmgr_agent_ready_bound - an ATRN session's slot is free again: its other
 * domains go back on the ready list. qmgr_dispatch took each off while
 * the slot was busy, and with no job of theirs in flight nothing else
 * would put them back: an ATRN of two domains sent the first one's mail,
 * then neither the second's nor QUIT.
 */
static void
qmgr_agent_ready_bound(struct qmgr *q, const struct qmgr_agent *a)
{
	size_t i;

	for (i = 0; a != NULL && i < a->nbind; i++) {
		struct qmgr_domain *dom = htable_get(q->domains, a->bind[i]);

		if (dom != NULL)
			qmgr_ready_push(q, dom);
	}
}

/*
 * qmgr_job_remove - type=done complete=1: the job delivered every recipient
 * of the message the file and journal left pending, and nothing went to
 * the journal. Drop its entries and unlink it, without reading it again;
 * the directory's fsync waits for others (qmgr_sync.c). true when the
 * message is gone; false (logged) when the results do not agree or the
 * unlink failed: then the sent recipients are journalled here, and the
 * caller takes the ordinary path, which reads the journal.
 */
static bool
qmgr_job_remove(struct qmgr *q, const struct qmgr_job *j, size_t nsent)
{
	const char *why = NULL;
	size_t i;

	if (nsent != j->nrcpt || j->partial)
		why = "the job's results do not say so";
	else if (qindex_del_message(q->env.qi, j->id) < 0)
		why = "index update failed";
	else if (queue_unlink(q->env.qdir, j->id) < 0 && errno != ENOENT)
		why = strerror(errno);
	if (why == NULL) {
		log_info("%s: removed", j->id);
		qmgr_sync_note(q, j->id);
		return true;
	}
	/* The journal is what is left to say who has the message: write it now. */
	log_warn("%s: remove message finished by job %" PRIu64 ": %s; journalling its "
	    "sent recipients instead", j->id, j->num, why);
	for (i = 0; i < j->nrcpt; i++)
		if (j->rcpt[i].status == QMGR_R_SENT &&
		    queue_journal_append(q->env.qdir, j->id, j->rcpt[i].idx,
		    JOURNAL_DONE) < 0)
			log_warn("%s: append to journal: %s; the message may be sent "
			    "again", j->id, strerror(errno));
	return false;
}

void
qmgr_job_finish(struct qmgr *q, struct qmgr_job *j, const char *conn_error,
    bool complete)
{
	struct qmgr_domain *dom = j->dom;
	struct qindex_entry *e = NULL;
	struct envelope *msg = NULL;
	struct qmgr_rcpt *bounced = NULL;
	struct qmgr_agent *agent;
	size_t nbounced = 0, ndeferred = 0, nsent = 0, i;
	const char *first_error = NULL;
	char num[32], id[sizeof(j->id)], *failure = NULL;
	time_t now = time(NULL);
	bool held = qmgr_domain_is_held_mode(q, dom->name), more;

	for (i = 0; i < j->nrcpt; i++) {
		struct qmgr_rcpt *r = &j->rcpt[i];

		switch (r->status) {
		case QMGR_R_SENT:
			nsent++;
			break;
		case QMGR_R_BOUNCED:
			bounced = xreallocarray(bounced, nbounced + 1, sizeof(*bounced));
			bounced[nbounced++] = *r;
			break;
		default:
			ndeferred++;
			if (first_error == NULL)
				first_error = r->reply != NULL ? r->reply :
				    conn_error != NULL ? conn_error : "delivery not finished";
		}
	}
	dom->delivered += nsent;
	dom->sent += nsent;
	/*
	 * The site answered but took nothing (a 4xx to every recipient, to
	 * MAIL or to the dot): as much a failing delivery for the customer
	 * as a refused connection, so it is what the web page shows too.
	 */
	if (conn_error != NULL)
		failure = xstrdup(conn_error);
	else if (nsent == 0 && ndeferred > 0)
		failure = xstrdup(first_error);
	if (j->home != NULL)
		qmgr_home_done(j, conn_error, nsent, nbounced, ndeferred);
	/* The common case: the message is done, with no journal to read. */
	if (complete && qmgr_job_remove(q, j, nsent))
		goto forget;
	/*
	 * The queue file is read once after the job, for the bounces and the
	 * index rewrite. The rewrite trusts the journal, not the results
	 * above (lib/mail/job.h says why); they give the reasons and counts.
	 */
	if (queue_read_envelope(q->env.qdir, j->id, &msg) < 0)
		msg = NULL;
	if (nbounced > 0 && msg != NULL)
		(void)qmgr_bounce(q, msg, bounced, nbounced, "5.0.0", false);
	free(bounced);
	if (ndeferred > 0 && qindex_get(q->env.qi, j->id, dom->name, &e) == 1) {
		e->attempts++;
		free(e->last_error);
		e->last_error = xstrndup(first_error, QMGR_ERROR_MAX);
		if (!held)
			e->next_try = now + qmgr_backoff(q, e->attempts);
		(void)qindex_put(q->env.qi, e);
	}
	/* The journal now says who is done: rewrite the entries from it. */
	if ((msg != NULL ? qctl_index_envelope(&q->env, msg) :
	    qctl_index_message(&q->env, j->id)) < 0)
		log_warn("%s: update index after delivery: failed", j->id);
	envelope_free(&msg);
	if (e != NULL && e->next_try > now && !held)
		qmgr_domain_retry_at(q, dom, e->next_try);
	qindex_entry_free(&e);

forget:
	/*
	 * A job carries at most PROTO_JOB_RCPT_MAX recipients: while this one
	 * made progress, the rest of the entry follows in the same release
	 * instead of waiting for another trigger.
	 */
	more = j->partial && conn_error == NULL && nsent + nbounced > 0;
	snprintf(id, sizeof(id), "%s", j->id);
	snprintf(num, sizeof(num), "%" PRIu64, j->num);
	htable_del(q->jobs, num);
	htable_del(q->inflight, j->key);
	agent = j->agent;
	if (agent != NULL)
		agent->busy--;
	dom->active--;
	qmgr_job_free(&j);

	if (conn_error != NULL) {
		dom->fails++;
		if (held) {
			/* The site went away: back to queueing at once; the prober takes over. */
			char *why = xasprintf("connection failed: %s", conn_error);

			qmgr_gate_close(q, dom, why);
			free(why);
			qmgr_domain_drop_queued(q, dom);
		} else {
			qmgr_domain_drop_queued(q, dom);
			qmgr_domain_retry_at(q, dom, now + qmgr_backoff(q, dom->fails));
		}
	} else if (nsent > 0) {
		dom->fails = 0;
	}
	if (more && (qmgr_gate_is_open(dom, time(NULL)) || !held) &&
	    qindex_get(q->env.qi, id, dom->name, &e) == 1)
		qmgr_job_queue(q, dom, e);
	qindex_entry_free(&e);
	qmgr_ready_push(q, dom);
	qmgr_agent_ready_bound(q, agent);
	qmgr_dispatch(q);
	qmgr_domain_result(q, dom, failure, now);
	if (nsent > 0 || nbounced > 0)
		qmgr_quota_changed(q, dom->name);
	free(failure);
	if (agent != NULL)
		qmgr_agent_check_idle(q, agent);
}

struct qmgr_startup {
	struct qmgr *q;
	struct qmgr_domain *dom;
	time_t now;
};

/* qmgr_startup_one - an entry of a backup or relay domain: try it when it is due */
static int
qmgr_startup_one(const struct qindex_entry *e, void *ctx)
{
	struct qmgr_startup *s = ctx;

	if (!(e->flags & QINDEX_F_HOLD))
		qmgr_domain_retry_at(s->q, s->dom, e->next_try > s->now ? e->next_try : s->now);
	return 0;
}

/*
 * qmgr_startup_domain - a domain with mail: its state (the prober and a
 * flush of all look for it), and for a backup or relay domain when to
 * try it. A held domain's mail waits for a trigger: none of it is read.
 */
static int
qmgr_startup_domain(const char *domain, size_t entries, void *ctx)
{
	struct qmgr_startup *s = ctx;

	(void)entries;
	s->dom = qmgr_domain_get(s->q, domain);
	if (!qmgr_domain_is_held_mode(s->q, domain) &&
	    qindex_walk_domain(s->q->env.qi, domain, qmgr_startup_one, s) < 0)
		log_warn("schedule %s at start: index walk failed", domain);
	return 0;
}

void
qmgr_sched_init(struct qmgr *q)
{
	struct qmgr_startup s = { .q = q, .now = time(NULL) };
	char *path = xasprintf("%s/%s", q->cfg->queue_directory, PROTO_DELIVER_PRIVATE);

	q->domains = htable_new();
	q->inflight = htable_new();
	q->jobs = htable_new();
	q->clients = htable_new();
	q->bound = htable_new();
	q->deliver_fd = ipc_listen(path, QMGR_DELIVER_BACKLOG);
	if (q->deliver_fd < 0)
		log_fatal("listen on %s: %s", path, strerror(errno));
	free(path);
	if (ev_io_add(q->loop, q->deliver_fd, EV_READ, qmgr_agent_accept, q) < 0)
		log_fatal("watch deliver listener: %s", strerror(errno));
	/*
	 * At start (the reconcile walked the spool already) qmgr learns which
	 * domains have mail from by_domain's keys, and reads the entries of
	 * backup and relay domains only, for when to try them: held mail is
	 * not read (with a million queued, start-up walked a million
	 * records). The delay notices' timer finds its own time in by_expiry.
	 */
	if (qindex_walk_domains(q->env.qi, qmgr_startup_domain, &s) < 0)
		log_warn("schedule at start: index walk failed");
	qmgr_warn_reload(q);
	qmgr_gates_load(q);
}
