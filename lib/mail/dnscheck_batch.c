/*
 * dnscheck_batch - the DNS setup check of every customer domain, a few at
 * a time, so that thousands of domains never flood the DNS servers
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util/events.h"
#include "util/xmalloc.h"
#include "mail/conf.h"
#include "mail/dnscheck.h"
#include "mail/domains.h"

struct dnscheck_batch;

/* One check in flight. */
struct dcb_slot {
	struct dnscheck_batch *b;
	struct dnscheck *c;	/* NULL: free */
};

struct dnscheck_batch {
	struct ev_loop *loop;
	struct dns *dns;
	const struct config *cfg;
	const struct self_addrs *self;
	dnscheck_each_fn *each;
	dnscheck_batch_done_fn *done;
	void *ctx;
	char **names;		/* every domain, in file order */
	size_t n, next, checked;
	struct dcb_slot *slots;
	size_t parallel, busy;
	unsigned interval_ms;
	struct ev_timer *tick;
};

/* dcb_collect - domain_table_walk(): keep each name */
static int
dcb_collect(const struct domain *d, void *ctx)
{
	struct dnscheck_batch *b = ctx;

	b->names[b->n++] = xstrdup(d->name);
	return 0;
}

/* dcb_free - free b and what it holds (no check may be in flight) */
static void
dcb_free(struct dnscheck_batch *b)
{
	size_t i;

	ev_timer_cancel(b->loop, &b->tick);
	for (i = 0; i < b->parallel; i++)
		dnscheck_cancel(&b->slots[i].c);
	for (i = 0; i < b->n; i++)
		free(b->names[i]);
	free(b->names);
	free(b->slots);
	free(b);
}

/* dcb_end - the batch is over: tell the owner, then go */
static void
dcb_end(struct dnscheck_batch *b, const char *skipped)
{
	size_t i;

	ev_timer_cancel(b->loop, &b->tick);
	for (i = 0; i < b->parallel; i++)
		dnscheck_cancel(&b->slots[i].c);
	b->done(b->checked, b->n, skipped, b->ctx);
	dcb_free(b);
}

static void dcb_tick(void *ctx);

/* dcb_arm - the next start, if a domain waits and a slot is free */
static void
dcb_arm(struct dnscheck_batch *b, unsigned ms)
{
	if (b->tick == NULL && b->next < b->n && b->busy < b->parallel)
		b->tick = ev_timer_add(b->loop, ms, dcb_tick, b);
}

/* dcb_result - one domain is checked */
static void
dcb_result(struct dnscheck_result *res, void *ctx)
{
	struct dcb_slot *slot = ctx;
	struct dnscheck_batch *b = slot->b;
	char *why;

	/* The check frees itself after this call: not ours to cancel. */
	slot->c = NULL;
	b->busy--;
	b->checked++;
	b->each(res, b->ctx);
	if (res->no_server) {
		why = xasprintf("no DNS server answered the MX lookup of %s (%s)",
		    res->domain, res->mx_why);
		dnscheck_result_free(&res);
		dcb_end(b, why);
		free(why);
		return;
	}
	dnscheck_result_free(&res);
	if (b->checked == b->n) {
		dcb_end(b, NULL);
		return;
	}
	dcb_arm(b, b->interval_ms);
}

/* dcb_tick - start the next domain's check */
static void
dcb_tick(void *ctx)
{
	struct dnscheck_batch *b = ctx;
	size_t i;

	b->tick = NULL;
	if (b->n == 0) {
		dcb_end(b, NULL);
		return;
	}
	for (i = 0; i < b->parallel && b->slots[i].c != NULL; i++)
		;
	if (i < b->parallel && b->next < b->n) {
		b->busy++;
		b->slots[i].c = dnscheck_start(b->dns, b->cfg, b->self,
		    b->names[b->next++], dcb_result, &b->slots[i]);
	}
	dcb_arm(b, b->interval_ms);
}

struct dnscheck_batch *
dnscheck_batch_start(struct ev_loop *loop, struct dns *dns,
    const struct config *cfg, const struct self_addrs *self, size_t parallel,
    unsigned interval_ms, dnscheck_each_fn *each, dnscheck_batch_done_fn *done,
    void *ctx)
{
	struct dnscheck_batch *b = xcalloc(1, sizeof(*b));
	size_t i;

	b->loop = loop;
	b->dns = dns;
	b->cfg = cfg;
	b->self = self;
	b->each = each;
	b->done = done;
	b->ctx = ctx;
	b->parallel = parallel > 0 ? parallel : 1;
	b->interval_ms = interval_ms;
	b->slots = xcalloc(b->parallel, sizeof(*b->slots));
	for (i = 0; i < b->parallel; i++)
		b->slots[i].b = b;
	b->names = xcalloc(domain_count(cfg->domains) + 1, sizeof(*b->names));
	(void)domain_table_walk(cfg->domains, dcb_collect, b);
	/* Even the first start comes from the loop: done never runs inside this call. */
	b->tick = ev_timer_add(loop, 0, dcb_tick, b);
	return b;
}

void
dnscheck_batch_cancel(struct dnscheck_batch **bp)
{
	struct dnscheck_batch *b = *bp;

	if (b == NULL)
		return;
	*bp = NULL;
	dcb_free(b);
}
