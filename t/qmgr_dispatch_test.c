/*
 * qmgr_dispatch_test - qmgr's dispatch choices, linked from libqmgr and
 * driven without sockets: jobs are queued from a real index in a scratch
 * directory (qmgr_domain_fill) and handed out by qmgr_dispatch_next, the
 * choosing half of qmgr_dispatch; the test assigns each job as
 * qmgr_dispatch does after the write, and asserts who got what.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/events.h"
#include "util/htable.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "mail/conf.h"
#include "mail/proto.h"
#include "mail/qindex.h"
#include "mail/queue.h"
#include "qmgr/qmgr.h"
#include "t/tap.h"
#include "t/testutil.h"

/* Two jobs at once per domain; what the domains file says of each. */
static const char sluice_conf[] =
    "deliver_domain_concurrency_limit = 2\n";
static const char domains_file[] =
    "backup.example mode=backup\n"
    "held.example mode=hold\n"
    "atrn.example mode=hold\n";

static char dir[] = "/tmp/sluice-qmgr-dispatch-test.XXXXXX";
static struct qmgr q;
static unsigned next_msg;

/* What one dispatch round handed out. */
struct handed {
	size_t n;
	struct qmgr_job *job[64];
	struct qmgr_agent *agent[64];
};

/* entry - index message number n for domain with nrcpt recipients, due at next_try */
static void
entry(const char *domain, size_t nrcpt, time_t next_try, unsigned flags)
{
	char id[QUEUE_ID_LEN + 1], *rcpt;
	struct qindex_entry *e;
	size_t i;

	snprintf(id, sizeof(id), "%020X", ++next_msg);
	e = qindex_entry_new(id, domain);
	e->sender = xstrdup("sender@from.example");
	for (i = 0; i < nrcpt; i++) {
		rcpt = xasprintf("user%zu@%s", i, domain);
		qindex_entry_add_rcpt(e, rcpt, i);
		free(rcpt);
	}
	e->arrival = time(NULL);
	e->next_try = next_try;
	e->expiry = time(NULL) + 86400;
	e->flags = flags;
	if (qindex_put(q.env.qi, e) != 0)
		tap_diag("index %s/%s failed", id, domain);
	qindex_entry_free(&e);
}

/* dispatch - hand out every job that can go now, as qmgr_dispatch does */
static void
dispatch(struct handed *h)
{
	struct qmgr_agent *a;
	struct qmgr_job *j;

	memset(h, 0, sizeof(*h));
	while ((j = qmgr_dispatch_next(&q, &a)) != NULL && h->n < 64) {
		j->num = ++q.next_job;
		qmgr_job_assign(&q, a, j);
		h->job[h->n] = j;
		h->agent[h->n++] = a;
	}
}

/* count - jobs in h for domain (any agent if a is NULL) */
static size_t
count(const struct handed *h, const char *domain, const struct qmgr_agent *a)
{
	size_t i, n = 0;

	for (i = 0; i < h->n; i++)
		if (strcmp(h->job[i]->dom->name, domain) == 0 &&
		    (a == NULL || h->agent[i] == a))
			n++;
	return n;
}

/* finish - job i of h is over: the agent and the domain have room again */
static void
finish(struct handed *h, size_t i)
{
	h->job[i]->agent->busy--;
	h->job[i]->dom->active--;
}

/* fill - queue what may go now for domain */
static struct qmgr_domain *
fill(const char *domain)
{
	struct qmgr_domain *dom = qmgr_domain_get(&q, domain);

	qmgr_domain_fill(&q, dom);
	return dom;
}

/*
 * The per-domain limit, and round robin between two agents by free
 * slots. Deliver opens at most 2 connections to the domain; qmgr hands
 * out twice that, so that each connection's next job waits at deliver.
 */
static void
test_limit(struct qmgr_agent *a1, struct qmgr_agent *a2)
{
	struct qmgr_domain *dom;
	struct handed h;
	int i;

	for (i = 0; i < 5; i++)
		entry("backup.example", 1, time(NULL) - 1, 0);
	dom = fill("backup.example");
	ok(dom->nqueued == 5, "backup domain, due entries: 5 jobs queued, got %zu",
	    dom->nqueued);
	dispatch(&h);
	ok(h.n == 4 && dom->active == 4,
	    "concurrency limit 2, two jobs a connection: got %zu jobs out, %u active",
	    h.n, dom->active);
	ok(count(&h, "backup.example", a1) == 2 && count(&h, "backup.example", a2) == 2,
	    "the four jobs go to the two deliver processes (most free slots first)");
	ok(dom->nqueued == 1, "the fifth waits in its queue: got %zu", dom->nqueued);
	dispatch(&h);
	ok(h.n == 0, "at the limit nothing more goes: got %zu", h.n);
}

/* A held domain's jobs wait for its gate; a backup domain's for next_try. */
static void
test_gate(void)
{
	struct qmgr_domain *held, *later;
	struct handed h;

	entry("held.example", 1, time(NULL) - 1, 0);
	held = fill("held.example");
	ok(held->nqueued == 0, "held domain, gate closed: nothing queued, got %zu",
	    held->nqueued);
	dispatch(&h);
	ok(count(&h, "held.example", NULL) == 0, "held domain, gate closed: no job out");
	(void)qmgr_gate_mark_open(held, "etrn", 600, time(NULL));
	qmgr_domain_fill(&q, held);
	dispatch(&h);
	ok(count(&h, "held.example", NULL) == 1, "held domain, gate open: its job goes");

	/* A relay domain (not in the domains file) in back-off waits... */
	entry("later.example", 1, time(NULL) + 3600, 0);
	later = fill("later.example");
	ok(later->nqueued == 0 && later->retry_at != 0,
	    "relay domain, next_try in an hour: not queued, a retry set");
	/* ...unless its gate is open: a flush sends everything. */
	(void)qmgr_gate_mark_open(later, "operator", 600, time(NULL));
	qmgr_domain_fill(&q, later);
	dispatch(&h);
	ok(count(&h, "later.example", NULL) == 1, "relay domain, gate open: its job goes now");

	/* An entry on hold (sluice hold) never becomes a job. */
	entry("held.example", 1, time(NULL) - 1, QINDEX_F_HOLD);
	qmgr_domain_fill(&q, held);
	ok(held->nqueued == 0, "an entry on hold is not queued, even through an open gate");
}

/* An ATRN session gets its domain's jobs and nothing else; nobody else gets them. */
static void
test_atrn(struct qmgr_agent *a1, struct qmgr_agent *a2, struct qmgr_agent *atrn)
{
	struct qmgr_domain *dom = qmgr_domain_get(&q, "atrn.example");
	struct handed h;

	htable_put(q.bound, "atrn.example", atrn);
	entry("atrn.example", 1, time(NULL) - 1, 0);
	entry("atrn.example", 1, time(NULL) - 1, 0);
	entry("relay.example", 1, time(NULL) - 1, 0);
	(void)qmgr_gate_mark_open(dom, "atrn", 600, time(NULL));
	qmgr_domain_fill(&q, dom);
	fill("relay.example");
	dispatch(&h);
	ok(count(&h, "atrn.example", atrn) == 2 && count(&h, "atrn.example", NULL) == 2,
	    "the bound domain's two jobs go to its ATRN session only");
	ok(count(&h, "relay.example", atrn) == 0 && count(&h, "relay.example", NULL) == 1,
	    "another domain's job goes to a deliver process, not the ATRN session");
	ok(atrn->busy == 2 && count(&h, "relay.example", a1) + count(&h, "relay.example", a2) == 1,
	    "ATRN session busy 2");

	/* A bound session that is full holds its domain's jobs back. */
	entry("atrn.example", 1, time(NULL) - 1, 0);
	qmgr_domain_fill(&q, dom);
	atrn->slots = 2;
	dispatch(&h);
	ok(h.n == 0 && dom->nqueued == 1,
	    "ATRN session full: its domain's job waits (got %zu out), none to others", h.n);
}

/* A job carries at most PROTO_JOB_RCPT_MAX recipients. */
static void
test_rcpt_cap(void)
{
	struct handed h;

	entry("big.example", PROTO_JOB_RCPT_MAX + 5, time(NULL) - 1, 0);
	entry("small.example", PROTO_JOB_RCPT_MAX, time(NULL) - 1, 0);
	fill("big.example");
	fill("small.example");
	dispatch(&h);
	if (!ok(h.n == 2, "two jobs out: got %zu", h.n))
		return;
	ok(count(&h, "big.example", NULL) == 1 &&
	    h.job[0]->nrcpt == PROTO_JOB_RCPT_MAX && h.job[0]->partial,
	    "%d recipients: a job of %d, marked partial (got %zu, %d)",
	    PROTO_JOB_RCPT_MAX + 5, PROTO_JOB_RCPT_MAX, h.job[0]->nrcpt, h.job[0]->partial);
	ok(count(&h, "small.example", NULL) == 1 &&
	    h.job[1]->nrcpt == PROTO_JOB_RCPT_MAX && !h.job[1]->partial,
	    "%d recipients: one whole job", PROTO_JOB_RCPT_MAX);
	finish(&h, 0);
	finish(&h, 1);
}

int
main(void)
{
	struct qmgr_agent a1 = { .fd = -1, .slots = 10 }, a2 = { .fd = -1, .slots = 10 };
	char *bind = "atrn.example";
	struct qmgr_agent atrn = { .fd = -1, .slots = 5, .bind = &bind, .nbind = 1 };
	struct config_errors errs = { 0 };
	char *idx;

	log_init("qmgr_dispatch_test");
	log_set_dest(LOG_DEST_STDERR, NULL);
	test_tmpdir(dir);
	test_put(dir, "sluice.conf", sluice_conf);
	test_put(dir, "domains", domains_file);
	if (config_load(dir, &q.cfg, &errs) < 0) {
		printf("Bail out! config: %s\n", errs.n > 0 ? errs.msg[0] : "?");
		return 1;
	}
	idx = xasprintf("%s/index", dir);
	if (qindex_open(idx, QINDEX_CREATE | QINDEX_RECOVER, &q.env.qi) < 0) {
		printf("Bail out! qindex_open %s\n", idx);
		return 1;
	}
	q.loop = ev_loop_new();
	q.domains = htable_new();
	q.inflight = htable_new();
	q.jobs = htable_new();
	q.bound = htable_new();
	/* Listed first, a2 is tried first; both have 10 slots. */
	a1.next = &atrn;
	a2.next = &a1;
	q.agents = &a2;

	test_limit(&a1, &a2);
	test_gate();
	test_atrn(&a1, &a2, &atrn);
	test_rcpt_cap();

	qindex_close(&q.env.qi);
	free(idx);
	test_rmdir(dir);
	return tap_done();
}
