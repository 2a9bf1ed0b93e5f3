/*
 * qmgr_home - relaying a held domain's mail to its home host in a fleet
 * (lib/mail/home.h chooses the home; route.h is how the jobs say where).
 *
 * On a host that is not a held domain's home, the domain's mail goes to
 * the home host's SMTP listener: when a trigger opens the gate here (any
 * source, a peer's too: qmgr_domain_fill queues it and qmgr_job_send
 * gives the jobs the home's route) and every fleet_relay_interval. The
 * home takes it as any mail for a customer domain and holds it, so one
 * ATRN session there gets all of it. A home that is down costs nothing:
 * the jobs fail as a site's do, the entries stay (deferred, held domains
 * never get a next_try, only the lifetime counts) and the next tick or
 * trigger tries again. The journal makes every copy go once: an entry is
 * gone here only after the home's 250.
 *
 * XXX Two hosts whose peers lists disagree may each take the other for a
 * domain's home and pass its mail back and forth, one hop per interval,
 * until hopcount_limit returns it to the sender. Nothing here can see
 * that from one side; sluice.conf(5) says to compare the homes that
 * `sluice queue summary --json` shows on every host.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util/events.h"
#include "util/htable.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "mail/conf.h"
#include "mail/domains.h"
#include "mail/home.h"
#include "mail/qindex.h"
#include "mail/route.h"
#include "qmgr/qmgr.h"

/* How often a fleet_relay_interval of 0 (no schedule) is looked at again, after a reload. */
#define QMGR_HOME_IDLE_MS	60000

char *
qmgr_home_route(const struct qmgr *q, const char *domain)
{
	struct route r = { .mx = true };
	char *text;

	if (!qmgr_domain_is_held_mode(q, domain) || home_route(q->cfg, domain, &r) != 1)
		return NULL;
	text = route_format(&r);
	route_clear(&r);
	return text;
}

void
qmgr_home_note(struct qmgr *q, const struct qmgr_domain *dom, size_t n, const char *why)
{
	char *route;

	if (n == 0 || (route = qmgr_home_route(q, dom->name)) == NULL)
		return;
	log_info("relay=home: domain=%s, home=%s, queued=%zu, why=%s", dom->name, route, n,
	    why != NULL ? why : "trigger");
	free(route);
}

void
qmgr_home_done(const struct qmgr_job *j, const char *conn_error, size_t nsent,
    size_t nbounced, size_t ndeferred)
{
	/* A connection that failed leaves every recipient here, deferred. */
	if (conn_error != NULL)
		log_info("%s: relay=home, domain=%s, home=%s, status=deferred (%s)", j->id,
		    j->dom->name, j->home, conn_error);
	else
		log_info("%s: relay=home, domain=%s, home=%s, status=%s, sent=%zu, bounced=%zu, "
		    "deferred=%zu", j->id, j->dom->name, j->home, ndeferred > 0 ? "deferred" :
		    nbounced > 0 ? "bounced" : "sent", nsent, nbounced, ndeferred);
}

/* qmgr_home_one - the scheduled relay of customer domain d, if another host is its home */
static int
qmgr_home_one(const struct domain *d, void *ctx)
{
	struct qmgr *q = ctx;
	struct qmgr_domain *dom;
	size_t n = 0;
	char *route;

	/* A site in an ATRN session here takes its mail itself. */
	if (d->mode != DOMAIN_MODE_HOLD || htable_get(q->bound, d->name) != NULL ||
	    (route = qmgr_home_route(q, d->name)) == NULL)
		return 0;
	free(route);
	/* No state for the many domains with no mail here. */
	if (qindex_count_domain(q->env.qi, d->name, &n) < 0 || n == 0)
		return 0;
	dom = qmgr_domain_get(q, d->name);
	qmgr_domain_fill_all(q, dom, "schedule");
	return 0;
}

static void
qmgr_home_fire(void *ctx)
{
	struct qmgr *q = ctx;
	long every = q->cfg->fleet_relay_interval;

	q->home_timer = NULL;
	if (q->cfg->peers.n > 0 && every > 0) {
		domain_table_walk(q->cfg->domains, qmgr_home_one, q);
		qmgr_dispatch(q);
	}
	/* Read afresh each time: a reload may change the interval. */
	q->home_timer = ev_timer_add(q->loop, every > 0 ? (uint64_t)every * 1000 :
	    QMGR_HOME_IDLE_MS, qmgr_home_fire, q);
}

void
qmgr_home_init(struct qmgr *q)
{
	long every = q->cfg->fleet_relay_interval;

	q->home_timer = ev_timer_add(q->loop, every > 0 ? (uint64_t)every * 1000 :
	    QMGR_HOME_IDLE_MS, qmgr_home_fire, q);
}
