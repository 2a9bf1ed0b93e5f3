/*
 * deliver_route - from a job's route to the addresses to try, in order
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/log.h"
#include "util/xmalloc.h"
#include "mail/conf.h"
#include "mail/dns.h"
#include "mail/domains.h"
#include "mail/selfaddr.h"
#include "deliver/deliver.h"

void
deliver_local_refresh(struct deliver *d)
{
	if (self_addrs_refresh(&d->local) < 0)
		log_warn("list interface addresses: %m; only myhostname detects "
		    "MX loops");
}

void
deliver_target_copy(struct deliver_target *dst, const struct deliver_target *src)
{
	*dst = *src;
	dst->host = xstrdup(src->host);
}

void
deliver_target_clear(struct deliver_target *t)
{
	xfree(&t->host);
}

/* deliver_target_add - append host's address a (port set here) */
static void
deliver_target_add(struct deliver_job *job, const char *host,
    const struct dns_addr *a, unsigned port)
{
	struct deliver_target *t;

	job->targets = xreallocarray(job->targets, job->ntargets + 1,
	    sizeof(*job->targets));
	t = &job->targets[job->ntargets++];
	memset(t, 0, sizeof(*t));
	t->host = xstrdup(host);
	memcpy(&t->sa, &a->sa, sizeof(t->sa));
	t->salen = a->len;
	t->port = port;
	if (t->sa.ss_family == AF_INET)
		((struct sockaddr_in *)&t->sa)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&t->sa)->sin6_port = htons((uint16_t)port);
	dns_addr_format((const struct sockaddr *)&t->sa, t->addr, sizeof(t->addr));
}

/*
 * deliver_customer - is the job's domain in our domains file? Mail we
 * hold for a customer is never bounced for what DNS says, nor for a loop:
 * the customer's DNS may be wrong for a while, and the message's
 * lifetime (then a DSN) is the limit. Other domains (outgoing relay mail)
 * get Postfix's answers.
 */
static bool
deliver_customer(const struct deliver_job *job)
{
	return domain_find(job->d->cfg->domains, job->j->domain) != NULL;
}

/*
 * deliver_dns_fail - a DNS answer ends the job: st is the lookup's
 * status, perm_dsn/text what Postfix would say. A permanent answer
 * bounces for a relay domain and defers (4.4.3) for a customer's; a
 * temporary one (SERVFAIL, timeout, malformed answer) always defers.
 */
static void
deliver_dns_fail(struct deliver_job *job, bool permanent, const char *perm_dsn,
    const char *text)
{
	if (permanent && !deliver_customer(job))
		deliver_job_targets(job, "bounced", perm_dsn, text, false);
	else
		deliver_job_targets(job, "deferred", "4.4.3", text, true);
}

/* deliver_route_port - the port of this job's deliveries */
static unsigned
deliver_route_port(const struct deliver_job *job)
{
	return job->route.mx ? job->d->mx_port : job->route.port;
}

/*
 * deliver_route_select - every host's addresses are known: drop those as
 * preferred as we are or less (RFC 5321 5.1: a relay delivers only to
 * better MX hosts, so a secondary never loops mail to itself or its
 * peers), and list the others' addresses in preference order.
 */
static void
deliver_route_select(struct deliver_job *job)
{
	struct deliver *d = job->d;
	unsigned port = deliver_route_port(job), ours = UINT_MAX;
	bool permanent = true;
	char *why;
	size_t i, j;

	for (i = 0; i < job->nhosts; i++)
		if (job->hosts[i].self && job->hosts[i].pref < ours)
			ours = job->hosts[i].pref;
	for (i = 0; i < job->nhosts; i++) {
		struct deliver_mxhost *h = &job->hosts[i];

		if (h->pref >= ours)
			continue;
		for (j = 0; j < h->addrs.n; j++)
			deliver_target_add(job, h->name, &h->addrs.v[j], port);
		if (!dns_status_permanent(h->status))
			permanent = false;
	}
	job->resolved = true;
	if (job->ntargets > 0) {
		deliver_job_targets(job, NULL, NULL, NULL, false);
		return;
	}
	/*
	 * We are the best host (by name, or an address that reaches us): a
	 * customer's mail is held (the gate shuts; nothing retries it at
	 * once), a relay domain's bounces 5.4.6, as Postfix does.
	 */
	if (ours != UINT_MAX) {
		bool hold = deliver_customer(job);

		why = xasprintf("mail for %s loops back to myself", job->j->domain);
		log_warn("%s: %s: %s is its best MX host (preference %u); %s",
		    job->j->id, why, d->cfg->myhostname, ours, hold ?
		    "holding the mail" : "returning the mail");
		deliver_job_targets(job, hold ? "deferred" : "bounced",
		    hold ? "4.4.6" : "5.4.6", why, hold);
		free(why);
		return;
	}
	/* A domain with no MX whose name has no address takes no mail. */
	if (job->implicit_mx && permanent) {
		why = xasprintf("Host or domain name not found. Name service error "
		    "for name=%s type=A: Host not found", job->j->domain);
		deliver_dns_fail(job, true, "5.4.4", why);
	} else {
		why = xasprintf("no address found for any mail host of %s (%s)",
		    job->j->domain, job->nhosts > 0 && job->hosts[0].status != DNS_OK ?
		    dns_status_name(job->hosts[0].status) : "all skipped");
		deliver_job_targets(job, "deferred", "4.4.3", why, true);
	}
	free(why);
}

/* deliver_host_answer - the addresses of one host (MX or static) */
static void
deliver_host_answer(enum dns_status st, const struct dns_addr_list *addrs,
    const char *why, void *ctx)
{
	struct deliver_mxhost *h = ctx;
	struct deliver_job *job = h->job;
	unsigned port = deliver_route_port(job);
	size_t i;

	h->q = NULL;
	h->status = st;
	if (st == DNS_OK) {
		h->addrs.v = xcalloc(addrs->n, sizeof(*h->addrs.v));
		h->addrs.n = addrs->n;
		memcpy(h->addrs.v, addrs->v, addrs->n * sizeof(*h->addrs.v));
		for (i = 0; i < addrs->n; i++)
			if (self_addr_is_us(job->d->cfg, &job->d->local,
			    (const struct sockaddr *)&addrs->v[i].sa, port,
			    job->route.mx))
				h->self = true;
	} else
		log_debug("%s: look up %s: %s", job->j->id, h->name, why);
	if (--job->pending == 0)
		deliver_route_select(job);
}

/* deliver_hosts_lookup - look up the addresses of every host of the job */
static void
deliver_hosts_lookup(struct deliver_job *job)
{
	struct deliver *d = job->d;
	size_t i;

	job->pending = job->nhosts;
	for (i = 0; i < job->nhosts; i++) {
		struct deliver_mxhost *h = &job->hosts[i];

		h->job = job;
		/* For a static route only address and port say "us". */
		if (job->route.mx && strcasecmp(h->name, d->cfg->myhostname) == 0)
			h->self = true;
		h->q = dns_lookup_addr(d->dns, h->name, deliver_host_answer, h);
	}
}

/* deliver_hosts_set - the job's host list: n entries, to be filled */
static void
deliver_hosts_set(struct deliver_job *job, size_t n)
{
	job->hosts = xcalloc(n, sizeof(*job->hosts));
	job->nhosts = n;
}

/* deliver_mx_answer - the MX records of the job's domain */
static void
deliver_mx_answer(enum dns_status st, const struct dns_mx_list *mx,
    const char *why, void *ctx)
{
	struct deliver_job *job = ctx;
	char *text;
	size_t i;

	job->mxq = NULL;
	switch (st) {
	case DNS_OK:
		deliver_hosts_set(job, mx->n);
		for (i = 0; i < mx->n; i++) {
			job->hosts[i].name = xstrdup(mx->v[i].host);
			job->hosts[i].pref = mx->v[i].pref;
		}
		deliver_hosts_lookup(job);
		return;
	case DNS_NODATA:
		/* RFC 5321 5.1: no MX means the domain itself, preference 0. */
		job->implicit_mx = true;
		deliver_hosts_set(job, 1);
		job->hosts[0].name = xstrdup(job->j->domain);
		deliver_hosts_lookup(job);
		return;
	case DNS_NULLMX:
		text = xasprintf("nullMX: domain %s does not accept mail", job->j->domain);
		deliver_dns_fail(job, true, "5.1.10", text);
		break;
	case DNS_NXDOMAIN:
		text = xasprintf("Host or domain name not found. Name service error "
		    "for name=%s type=MX: Host not found", job->j->domain);
		deliver_dns_fail(job, true, "5.4.4", text);
		break;
	default:
		text = xasprintf("Host or domain name not found. Name service error "
		    "for name=%s type=MX: %s", job->j->domain, why);
		deliver_dns_fail(job, false, NULL, text);
		break;
	}
	free(text);
}

void
deliver_route_start(struct deliver_job *job)
{
	struct deliver *d = job->d;

	deliver_route_cancel(job);
	if (job->route.mx) {
		job->mxq = dns_lookup_mx(d->dns, job->j->domain, deliver_mx_answer, job);
		return;
	}
	/*
	 * A static route is one host of "preference 0": the same loop check
	 * applies, so a route pointing at ourselves is held, not looped.
	 */
	deliver_hosts_set(job, 1);
	job->hosts[0].name = xstrdup(job->route.host);
	deliver_hosts_lookup(job);
}

void
deliver_route_cancel(struct deliver_job *job)
{
	size_t i;

	dns_query_cancel(&job->mxq);
	for (i = 0; i < job->nhosts; i++) {
		dns_query_cancel(&job->hosts[i].q);
		free(job->hosts[i].name);
		free(job->hosts[i].addrs.v);
	}
	xfree(&job->hosts);
	job->nhosts = job->pending = 0;
	for (i = 0; i < job->ntargets; i++)
		deliver_target_clear(&job->targets[i]);
	xfree(&job->targets);
	job->ntargets = job->next_target = 0;
	job->resolved = job->implicit_mx = false;
}
