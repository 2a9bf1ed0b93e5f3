/*
 * prober_sched - which domains to probe and when; the trigger on success
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* lib/util */
#include "util/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/address.h"
#include "mail/dns.h"
#include "mail/domains.h"
#include "mail/proto.h"
#include "mail/proto_rec.h"
/* prober */
#include "prober/prober.h"

/* prober_state_name - the word for a state in log lines */
static const char *
prober_state_name(enum probe_state st)
{
	static const char *const names[] = {
		[PROBE_UNKNOWN] = "unknown",
		[PROBE_REACHABLE] = "reachable",
		[PROBE_UNREACHABLE] = "unreachable",
	};

	return names[st];
}

/* prober_backoff - the next interval after a probe */
long
prober_backoff(bool ok, enum probe_state prev, long interval, long base, long max)
{
	/* A probe= longer than probe_max is kept as given, never doubled. */
	if (max < base)
		max = base;
	if (ok || prev != PROBE_UNREACHABLE || interval < base)
		return base;
	/* Each failure in a row doubles the wait, up to probe_max. */
	return interval > max / 2 ? max : interval * 2;
}

/* prober_domain_free - free one schedule (its probe, if any, cancelled) */
static void
prober_domain_free(struct probe_domain **pdp)
{
	struct probe_domain *pd = *pdp;

	probe_cancel(&pd->run);
	free(pd->name);
	free(pd);
	*pdp = NULL;
}

/* prober_tell - tell qmgr when pd is probed next (for finger and the web page) */
static void
prober_tell(struct prober *pr, struct probe_domain *pd)
{
	uint64_t now = ev_now();
	struct ipc_rec *req, *rep = NULL;
	struct proto_reply r;

	pd->tell = false;
	req = proto_probed_encode(&(struct proto_probed){ .domain = pd->name,
	    .next_probe = (uint64_t)time(NULL) +
	    (pd->next_ms > now ? (pd->next_ms - now + 999) / 1000 : 0) });
	/* Best effort: the schedule works without; finger shows no time then. */
	if (qmgr_call(pr->cfg->queue_directory, req, PROBER_QMGR_TIMEOUT_MS, &rep) < 0)
		log_debug("tell qmgr the next probe of %s: %s", pd->name, strerror(errno));
	else if (proto_reply_decode(rep, PROTO_T_END, &r, "qmgr") == 0 &&
	    r.status != PROTO_STATUS_OK)
		log_debug("tell qmgr the next probe of %s: %s", pd->name,
		    proto_status_name(r.status));
	ipc_rec_free(&req);
	ipc_rec_free(&rep);
}

/* prober_jitter - a random number of milliseconds below max */
static uint64_t
prober_jitter(uint64_t max)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)ev_now();
	return max > 0 ? r % max : 0;
}

/*
 * prober_soon - new mail for pd: probe it within seconds, with jitter,
 * unless it is due sooner anyway or was probed within PROBER_SOON_GAP_MS.
 */
static void
prober_soon(struct probe_domain *pd, uint64_t now)
{
	uint64_t when = now + PROBER_SOON_MS + prober_jitter(PROBER_SOON_JITTER_MS);

	if (pd->started_ms != 0 && when < pd->started_ms + PROBER_SOON_GAP_MS)
		when = pd->started_ms + PROBER_SOON_GAP_MS;
	if (when >= pd->next_ms)
		return;
	log_debug("probe: domain=%s, new mail, next in %llums", pd->name,
	    (unsigned long long)(when - now));
	pd->next_ms = when;
	pd->tell = true;
}

/* prober_trigger - ask qmgr to release the domain: the site answered */
static void
prober_trigger(struct prober *pr, const char *name)
{
	struct ipc_rec *req, *rep = NULL;
	struct proto_triggered t;

	req = proto_trigger_encode(&(struct proto_trigger){ .domain = name,
	    .source = PROTO_SOURCE_PROBE });
	if (qmgr_call(pr->cfg->queue_directory, req, PROBER_QMGR_TIMEOUT_MS, &rep) < 0) {
		log_warn("trigger domain %s: qmgr: %s", name, strerror(errno));
		ipc_rec_free(&req);
		return;
	}
	if (proto_triggered_decode(rep, &t, "qmgr") < 0)
		log_warn("trigger domain %s: bad reply from qmgr", name);
	else if (t.status != PROTO_STATUS_OK && t.status != PROTO_STATUS_NONE)
		log_warn("trigger domain %s: %s (%s)", name, proto_status_name(t.status),
		    t.reason != NULL ? t.reason : "no reason");
	ipc_rec_free(&req);
	ipc_rec_free(&rep);
}

/* prober_done - a probe is over: schedule, log a change, trigger */
void
prober_done(struct prober *pr, struct probe_domain *pd, const struct probe_result *r)
{
	const struct domain *d = domain_find(pr->cfg->domains, pd->name);
	long base = d != NULL && d->probe > 0 ? d->probe : pr->cfg->default_probe_interval;
	enum probe_state prev = pd->state;

	pd->run = NULL;
	pr->inflight--;
	pd->interval = prober_backoff(r->ok, prev, pd->interval, base, pr->cfg->probe_max);
	/* Start to start: the poll that starts the next one is then on time. */
	pd->next_ms = pd->started_ms + (uint64_t)pd->interval * 1000;
	pd->state = r->ok ? PROBE_REACHABLE : PROBE_UNREACHABLE;
	if (!r->ok)
		prober_tell(pr, pd);
	/* One line per change of state, not per probe: a dead site stays quiet. */
	if (pd->state != prev) {
		if (r->ok)
			log_info("probe: domain=%s, state=%s, next=%lds, host=%s",
			    pd->name, prober_state_name(pd->state), pd->interval,
			    r->where);
		else
			log_info("probe: domain=%s, state=%s, next=%lds, reason=%s",
			    pd->name, prober_state_name(pd->state), pd->interval,
			    r->why);
	} else if (!r->ok) {
		log_debug("probe: domain=%s, still unreachable, next=%lds: %s",
		    pd->name, pd->interval, r->why);
	}
	if (r->ok)
		prober_trigger(pr, pd->name);
}

/* prober_listed - one type=probe record: the domain wants probing */
static int
prober_listed(const struct ipc_rec *rec, void *ctx)
{
	struct prober *pr = ctx;
	struct proto_probe p;
	const char *name;
	const struct domain *d;
	struct probe_domain *pd;

	if (proto_probe_decode(rec, &p, "qmgr") < 0 ||
	    !address_domain_ok(p.domain, strlen(p.domain))) {
		log_warn("read probe list: malformed record from qmgr");
		return -1;
	}
	name = p.domain;
	/* qmgr's table may be newer or older than ours: we probe only ours. */
	d = domain_find(pr->cfg->domains, name);
	if (d == NULL || d->probe <= 0)
		return 0;
	pd = htable_get(pr->domains, d->name);
	if (pd == NULL) {
		/* New in the list: the site may be up already; look now. */
		pd = xcalloc(1, sizeof(*pd));
		pd->name = xstrdup(d->name);
		pd->interval = d->probe;
		pd->next_ms = ev_now();
		pd->arrivals = p.arrivals;
		htable_put(pr->domains, pd->name, pd);
	} else if (p.arrivals != pd->arrivals) {
		pd->arrivals = p.arrivals;
		prober_soon(pd, ev_now());
	}
	pd->listed = true;
	pd->seen_ms = ev_now();
	return 0;
}

struct prober_walk {
	struct prober *pr;
	uint64_t now;
	struct probe_domain **gone;	/* schedules to drop */
	size_t ngone;
	struct probe_domain **due;	/* probes to start */
	size_t ndue;
};

/* prober_unlist_one - before a new list: nobody is listed */
static int
prober_unlist_one(const char *key, void *value, void *ctx)
{
	struct probe_domain *pd = value;

	pd->listed = false;
	return 0;
}

/* prober_due_one - sort a schedule into due, kept or gone */
static int
prober_due_one(const char *key, void *value, void *ctx)
{
	struct prober_walk *w = ctx;
	struct probe_domain *pd = value;
	const struct domain *d = domain_find(w->pr->cfg->domains, pd->name);
	uint64_t keep_ms = (uint64_t)(w->pr->cfg->probe_max > pd->interval ?
	    w->pr->cfg->probe_max : pd->interval) * 1000;

	if (pd->run != NULL)
		return 0;
	/*
	 * A schedule out of the list is kept a while (the gate may close
	 * again soon), and dropped once it is old or its domain is gone.
	 */
	if (d == NULL || d->probe <= 0 ||
	    (!pd->listed && w->now - pd->seen_ms > keep_ms)) {
		w->gone = xreallocarray(w->gone, w->ngone + 1, sizeof(*w->gone));
		w->gone[w->ngone++] = pd;
	} else if (pd->listed && w->now + PROBER_SLACK_MS >= pd->next_ms) {
		w->due = xreallocarray(w->due, w->ndue + 1, sizeof(*w->due));
		w->due[w->ndue++] = pd;
	}
	return 0;
}

/* prober_tell_one - tell qmgr a schedule that moved and is not running */
static int
prober_tell_one(const char *key, void *value, void *ctx)
{
	struct probe_domain *pd = value;

	if (pd->tell && pd->run == NULL)
		prober_tell(ctx, pd);
	return 0;
}

/* prober_poll - ask qmgr for the list, start the probes that are due */
static void
prober_poll(void *ctx)
{
	struct prober *pr = ctx;
	struct prober_walk w = { .pr = pr, .now = ev_now() };
	struct ipc_rec *req = ipc_rec_new(PROTO_T_PROBELIST);
	size_t i;
	int ret;

	pr->poll = NULL;
	htable_walk(pr->domains, prober_unlist_one, NULL);
	ret = qmgr_call_multi(pr->cfg->queue_directory, req, PROBER_QMGR_TIMEOUT_MS,
	    prober_listed, pr);
	ipc_rec_free(&req);
	if (ret < 0) {
		/* qmgr restarting is normal; say so once, not every poll. */
		if (!pr->qmgr_down)
			log_warn("read probe list from qmgr: %s", strerror(errno));
		pr->qmgr_down = true;
		pr->poll = ev_timer_add(pr->loop, PROBER_POLL_MS, prober_poll, pr);
		return;
	}
	if (pr->qmgr_down)
		log_info("read probe list from qmgr: ok again");
	pr->qmgr_down = false;
	/* htable_walk forbids changes during the walk: sort first, act after. */
	htable_walk(pr->domains, prober_due_one, &w);
	for (i = 0; i < w.ngone; i++) {
		htable_del(pr->domains, w.gone[i]->name);
		prober_domain_free(&w.gone[i]);
	}
	for (i = 0; i < w.ndue && pr->inflight < PROBER_INFLIGHT_MAX; i++) {
		pr->inflight++;
		w.due[i]->started_ms = w.now;
		probe_start(pr, w.due[i]);
	}
	/* Schedules moved by new mail, told now that qmgr's list is read. */
	htable_walk(pr->domains, prober_tell_one, pr);
	free(w.gone);
	free(w.due);
	pr->poll = ev_timer_add(pr->loop, PROBER_POLL_MS, prober_poll, pr);
}

/* prober_reload - SIGHUP: a new config, or the old one if broken */
void
prober_reload(struct config *cfg, void *ctx)
{
	struct prober *pr = ctx;

	/*
	 * Probes in flight keep no pointer into the config. Schedules of
	 * domains gone from the table are dropped at the next poll.
	 * XXX a changed dns_servers takes a restart: the resolver may
	 * have lookups pending and cannot be swapped under them.
	 */
	config_free(&pr->cfg);
	pr->cfg = cfg;
}

/* prober_new - the prober, polling qmgr from the next tick */
struct prober *
prober_new(struct ev_loop *loop, const char *confdir, struct config *cfg)
{
	struct prober *pr = xcalloc(1, sizeof(*pr));

	pr->loop = loop;
	pr->confdir = confdir;
	pr->cfg = cfg;
	pr->domains = htable_new();
	/* Give qmgr a moment to start with master; then poll for ever. */
	pr->poll = ev_timer_add(loop, PROBER_POLL_MS / 2, prober_poll, pr);
	return pr;
}

/* prober_free_one - free one schedule (table teardown) */
static int
prober_free_one(const char *key, void *value, void *ctx)
{
	struct probe_domain *pd = value;

	prober_domain_free(&pd);
	return 0;
}

/* prober_free - cancel probes and free every schedule */
void
prober_free(struct prober **prp)
{
	struct prober *pr = *prp;

	if (pr == NULL)
		return;
	ev_timer_cancel(pr->loop, &pr->poll);
	htable_walk(pr->domains, prober_free_one, NULL);
	htable_free(&pr->domains);
	dns_free(&pr->dns);
	config_free(&pr->cfg);
	free(pr);
	*prp = NULL;
}
