/*
 * dnscheck - the DNS setup check of a customer domain, on the event loop
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>

#include "util/xmalloc.h"
#include "mail/conf.h"
#include "mail/dns.h"
#include "mail/dnscheck.h"
#include "mail/domains.h"
#include "mail/route.h"
#include "mail/selfaddr.h"

/* Addresses of one name: an MX host, a peer, the route's host, a PTR name. */
struct dc_name {
	struct dnscheck *c;
	struct dns_query *q;
	char *name;
	unsigned pref;		/* MX hosts */
	bool ours;		/* MX hosts: this host */
	enum dns_status st;
	char why[96];
	struct dns_addr_list addrs;
};

/* The reverse DNS of one address of one of our listed hosts. */
struct dc_ptr {
	struct dnscheck *c;
	struct dns_query *q;
	size_t host;		/* index into hosts */
	struct dns_addr addr;
	enum dns_status st;
	char why[96];
	char *name;		/* the PTR name kept: the MX name if listed, else the first */
	struct dc_name fwd;	/* the forward lookup of a name that is not the MX name */
};

enum dc_phase {
	DC_FIRST,		/* MX, peers, the route's host */
	DC_HOSTS,		/* every MX host's addresses */
	DC_PTR,			/* PTR of our listed addresses */
	DC_FORWARD,		/* PTR names back to addresses */
	DC_DONE,
};

struct dnscheck {
	struct dns *dns;
	const struct config *cfg;
	const struct self_addrs *self;
	dnscheck_done_fn *fn;
	void *ctx;
	struct dnscheck_result *res;
	const struct domain *dom;	/* in cfg's table, or NULL */
	enum dc_phase phase;
	size_t pending;
	struct dns_query *mxq;
	char mxwhy[96];
	bool implicit;		/* no MX: the domain itself */
	struct dc_name *hosts;
	size_t nhosts;
	struct dc_name *peers;
	size_t npeers;
	struct dc_name route;	/* a static route's host */
	struct dc_ptr *ptrs;
	size_t nptrs;
};

const char *
dnscheck_verdict_name(enum dnscheck_verdict v)
{
	static const char *const names[] = {
		[DNSCHECK_OK] = "ok",
		[DNSCHECK_INFO] = "info",
		[DNSCHECK_WARNING] = "warning",
		[DNSCHECK_ERROR] = "error",
	};

	return (size_t)v < sizeof(names) / sizeof(names[0]) ? names[v] : "error";
}

struct dnscheck_finding *
dnscheck_add(struct dnscheck_result *res, enum dnscheck_verdict v,
    const char *check, const char *host, const char *addr, const char *fmt, ...)
{
	struct dnscheck_finding *f;
	va_list ap;

	res->v = xreallocarray(res->v, res->n + 1, sizeof(*res->v));
	f = &res->v[res->n++];
	memset(f, 0, sizeof(*f));
	f->verdict = v;
	f->check = check;
	f->host = host != NULL ? xstrdup(host) : NULL;
	f->addr = addr != NULL ? xstrdup(addr) : NULL;
	f->pref = -1;
	f->ms = -1;
	va_start(ap, fmt);
	if (vasprintf(&f->text, fmt, ap) < 0)
		f->text = xstrdup("(no memory)");
	va_end(ap);
	return f;
}

enum dnscheck_verdict
dnscheck_worst(const struct dnscheck_result *res)
{
	enum dnscheck_verdict w = DNSCHECK_OK;
	size_t i;

	/* info is no worse than ok: it is a fact, not a problem. */
	for (i = 0; i < res->n; i++)
		if (res->v[i].verdict == DNSCHECK_WARNING && w != DNSCHECK_ERROR)
			w = DNSCHECK_WARNING;
		else if (res->v[i].verdict == DNSCHECK_ERROR)
			w = DNSCHECK_ERROR;
	return w;
}

void
dnscheck_result_free(struct dnscheck_result **resp)
{
	struct dnscheck_result *res = *resp;
	size_t i;

	if (res == NULL)
		return;
	*resp = NULL;
	for (i = 0; i < res->n; i++) {
		free(res->v[i].text);
		free(res->v[i].host);
		free(res->v[i].addr);
	}
	free(res->v);
	for (i = 0; i < res->ntargets; i++)
		free(res->targets[i].host);
	free(res->targets);
	free(res->domain);
	free(res);
}

/* dc_name_clear - cancel and free what n holds */
static void
dc_name_clear(struct dc_name *n)
{
	dns_query_cancel(&n->q);
	xfree(&n->name);
	xfree(&n->addrs.v);
	n->addrs.n = 0;
}

/* dc_free - free c and everything it holds (not the result) */
static void
dc_free(struct dnscheck *c)
{
	size_t i;

	dns_query_cancel(&c->mxq);
	for (i = 0; i < c->nhosts; i++)
		dc_name_clear(&c->hosts[i]);
	free(c->hosts);
	for (i = 0; i < c->npeers; i++)
		dc_name_clear(&c->peers[i]);
	free(c->peers);
	dc_name_clear(&c->route);
	for (i = 0; i < c->nptrs; i++) {
		dns_query_cancel(&c->ptrs[i].q);
		free(c->ptrs[i].name);
		dc_name_clear(&c->ptrs[i].fwd);
	}
	free(c->ptrs);
	free(c);
}

void
dnscheck_cancel(struct dnscheck **cp)
{
	struct dnscheck *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	dnscheck_result_free(&c->res);
	dc_free(c);
}

static void dc_advance(struct dnscheck *c);

/* dc_settle - one lookup of the phase is answered */
static void
dc_settle(struct dnscheck *c)
{
	if (--c->pending == 0)
		dc_advance(c);
}

/* dc_name_answer - the addresses of a dc_name */
static void
dc_name_answer(enum dns_status st, const struct dns_addr_list *addrs,
    const char *why, void *ctx)
{
	struct dc_name *n = ctx;

	n->q = NULL;
	n->st = st;
	snprintf(n->why, sizeof(n->why), "%s", why);
	if (st == DNS_OK) {
		n->addrs.v = xcalloc(addrs->n, sizeof(*n->addrs.v));
		memcpy(n->addrs.v, addrs->v, addrs->n * sizeof(*n->addrs.v));
		n->addrs.n = addrs->n;
	}
	dc_settle(n->c);
}

/* dc_name_lookup - start the address lookup of n (name set) */
static void
dc_name_lookup(struct dnscheck *c, struct dc_name *n)
{
	n->c = c;
	c->pending++;
	n->q = dns_lookup_addr(c->dns, n->name, dc_name_answer, n);
}

/* dc_mx_answer - the MX records of the domain */
static void
dc_mx_answer(enum dns_status st, const struct dns_mx_list *mx, const char *why,
    void *ctx)
{
	struct dnscheck *c = ctx;
	size_t i;

	c->mxq = NULL;
	c->res->mx_status = st;
	snprintf(c->mxwhy, sizeof(c->mxwhy), "%s", why);
	snprintf(c->res->mx_why, sizeof(c->res->mx_why), "%s", why);
	if (st == DNS_TEMPFAIL && dns_why_no_server(why))
		c->res->no_server = true;
	if (st == DNS_OK) {
		c->hosts = xcalloc(mx->n, sizeof(*c->hosts));
		for (i = 0; i < mx->n; i++) {
			c->hosts[i].name = xstrdup(mx->v[i].host);
			c->hosts[i].pref = mx->v[i].pref;
		}
		c->nhosts = mx->n;
	} else if (st == DNS_NODATA) {
		/* RFC 5321 5.1: no MX means the domain itself, preference 0. */
		c->implicit = true;
		c->hosts = xcalloc(1, sizeof(*c->hosts));
		c->hosts[0].name = xstrdup(c->res->domain);
		c->nhosts = 1;
	}
	dc_settle(c);
}

/* dc_host_of - the host part of a "host:port" or "[v6]:port" (new string) */
static char *
dc_host_of(const char *hostport)
{
	const char *colon;

	if (hostport[0] == '[') {
		const char *end = strchr(hostport, ']');

		return end != NULL ? xstrndup(hostport + 1, (size_t)(end - hostport - 1)) :
		    xstrdup(hostport);
	}
	colon = strrchr(hostport, ':');
	return colon != NULL ? xstrndup(hostport, (size_t)(colon - hostport)) :
	    xstrdup(hostport);
}

/* dc_our_name - is name one of this host's names (myhostname, fleet_name's host)? */
static bool
dc_our_name(const struct dnscheck *c, const char *name)
{
	bool ours = strcasecmp(name, c->cfg->myhostname) == 0;

	if (!ours && c->cfg->fleet_name[0] != '\0') {
		char *fleet = dc_host_of(c->cfg->fleet_name);

		ours = strcasecmp(name, fleet) == 0;
		free(fleet);
	}
	return ours;
}

/* dc_ptr_answer - the PTR names of one address */
static void
dc_ptr_answer(enum dns_status st, const struct dns_name_list *names,
    const char *why, void *ctx)
{
	struct dc_ptr *p = ctx;
	const char *host = p->c->hosts[p->host].name;
	size_t i;

	p->q = NULL;
	p->st = st;
	snprintf(p->why, sizeof(p->why), "%s", why);
	if (st == DNS_OK) {
		for (i = 0; i < names->n; i++)
			if (strcasecmp(names->v[i], host) == 0)
				break;
		p->name = xstrdup(names->v[i < names->n ? i : 0]);
	}
	dc_settle(p->c);
}

/* dc_start_ptrs - reverse DNS of every address of our listed hosts */
static void
dc_start_ptrs(struct dnscheck *c)
{
	size_t i, j;

	for (i = 0; i < c->nhosts; i++)
		if (c->hosts[i].ours)
			c->nptrs += c->hosts[i].addrs.n;
	if (c->nptrs == 0)
		return;
	c->ptrs = xcalloc(c->nptrs, sizeof(*c->ptrs));
	c->nptrs = 0;
	for (i = 0; i < c->nhosts; i++) {
		if (!c->hosts[i].ours)
			continue;
		for (j = 0; j < c->hosts[i].addrs.n; j++) {
			struct dc_ptr *p = &c->ptrs[c->nptrs++];

			p->c = c;
			p->host = i;
			p->addr = c->hosts[i].addrs.v[j];
			c->pending++;
			p->q = dns_lookup_ptr(c->dns, (const struct sockaddr *)&p->addr.sa,
			    dc_ptr_answer, p);
		}
	}
}

/* dc_start_forward - look up each PTR name that is not its MX host's name */
static void
dc_start_forward(struct dnscheck *c)
{
	size_t i;

	for (i = 0; i < c->nptrs; i++) {
		struct dc_ptr *p = &c->ptrs[i];

		if (p->name == NULL || strcasecmp(p->name, c->hosts[p->host].name) == 0)
			continue;
		p->fwd.name = xstrdup(p->name);
		dc_name_lookup(c, &p->fwd);
	}
}

static void dc_finish(struct dnscheck *c);

/* dc_advance - the lookups of a phase are in: start the next one's */
static void
dc_advance(struct dnscheck *c)
{
	size_t i, j;

	while (c->pending == 0 && c->phase != DC_DONE) {
		c->phase++;
		switch (c->phase) {
		case DC_HOSTS:
			for (i = 0; i < c->nhosts; i++)
				dc_name_lookup(c, &c->hosts[i]);
			break;
		case DC_PTR:
			for (i = 0; i < c->nhosts; i++) {
				struct dc_name *h = &c->hosts[i];

				h->ours = dc_our_name(c, h->name);
				for (j = 0; j < h->addrs.n; j++)
					if (self_addr_is_us(c->cfg, c->self,
					    (const struct sockaddr *)&h->addrs.v[j].sa,
					    (unsigned)c->cfg->smtp_mx_port, true))
						h->ours = true;
			}
			dc_start_ptrs(c);
			break;
		case DC_FORWARD:
			dc_start_forward(c);
			break;
		default:
			dc_finish(c);
			return;
		}
	}
}

/* dc_addrs_text - "127.0.0.1, ::1" (new string) */
static char *
dc_addrs_text(const struct dns_addr_list *l)
{
	char *s = xstrdup(""), *next, buf[64];
	size_t i;

	for (i = 0; i < l->n; i++) {
		dns_addr_format((const struct sockaddr *)&l->v[i].sa, buf, sizeof(buf));
		next = xasprintf("%s%s%s", s, i > 0 ? ", " : "", buf);
		free(s);
		s = next;
	}
	return s;
}

/* dc_target_add - a place where the site may be reached */
static void
dc_target_add(struct dnscheck_result *res, const char *host,
    const struct dns_addr *a, unsigned port)
{
	struct dnscheck_target *t;

	res->targets = xreallocarray(res->targets, res->ntargets + 1,
	    sizeof(*res->targets));
	t = &res->targets[res->ntargets++];
	memset(t, 0, sizeof(*t));
	t->host = xstrdup(host);
	memcpy(&t->sa, &a->sa, sizeof(t->sa));
	t->len = a->len;
	t->port = port;
	if (t->sa.ss_family == AF_INET)
		((struct sockaddr_in *)&t->sa)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&t->sa)->sin6_port = htons((uint16_t)port);
}

/* dc_report_mx - the MX lookup and each host; false when nothing more can be said */
static bool
dc_report_mx(struct dnscheck *c)
{
	struct dnscheck_result *res = c->res;
	const char *d = res->domain;
	struct dnscheck_finding *f;
	size_t i;

	switch (res->mx_status) {
	case DNS_OK:
		break;
	case DNS_NODATA:
		dnscheck_add(res, DNSCHECK_WARNING, DNSCHECK_MX, NULL, NULL,
		    "%s has no MX record: senders deliver to the address of %s "
		    "itself (RFC 5321 5.1); publish MX records for the site and "
		    "for this host", d, d);
		break;
	case DNS_NXDOMAIN:
		dnscheck_add(res, DNSCHECK_ERROR, DNSCHECK_MX, NULL, NULL,
		    "%s does not exist (NXDOMAIN): nobody can send it mail; check "
		    "the name and the delegation of its zone", d);
		return false;
	case DNS_NULLMX:
		dnscheck_add(res, DNSCHECK_ERROR, DNSCHECK_MX, NULL, NULL,
		    "%s publishes a null MX (RFC 7505): it accepts no mail at all; "
		    "replace it with MX records for the site and for this host", d);
		return false;
	default:
		dnscheck_add(res, DNSCHECK_ERROR, DNSCHECK_MX, NULL, NULL,
		    "MX lookup of %s failed: %s (%s); try again later", d,
		    c->mxwhy, res->no_server ? "no DNS server answered" :
		    "SERVFAIL or a malformed answer");
		return false;
	}
	for (i = 0; i < c->nhosts; i++) {
		const struct dc_name *h = &c->hosts[i];
		char *addrs;

		if (h->st != DNS_OK) {
			f = dnscheck_add(res, DNSCHECK_WARNING, DNSCHECK_MX, h->name,
			    NULL, "MX %u %s has no address: %s (%s)", h->pref,
			    h->name, dns_status_name(h->st), h->why);
			f->pref = h->pref;
			continue;
		}
		addrs = dc_addrs_text(&h->addrs);
		f = dnscheck_add(res, DNSCHECK_INFO, DNSCHECK_MX, h->name, addrs,
		    "%s %u %s: %s%s", c->implicit ? "no MX, the domain itself at" :
		    "MX", h->pref, h->name, addrs, h->ours ? " (this host)" : "");
		f->pref = h->pref;
		free(addrs);
	}
	return true;
}

/* dc_our_pref - the best preference of our listed hosts; false if not listed */
static bool
dc_our_pref(const struct dnscheck *c, unsigned *pref_r)
{
	bool listed = false;
	size_t i;

	for (i = 0; i < c->nhosts; i++)
		if (c->hosts[i].ours && (!listed || c->hosts[i].pref < *pref_r)) {
			*pref_r = c->hosts[i].pref;
			listed = true;
		}
	return listed;
}

/* dc_report_listed - is this host an MX host, and is the site's own MX better? */
static void
dc_report_listed(struct dnscheck *c)
{
	struct dnscheck_result *res = c->res;
	const struct route *r = c->dom != NULL ? &c->dom->route : NULL;
	const struct dc_name *better = NULL;
	struct dnscheck_finding *f;
	unsigned ours = 0;
	char *where;
	size_t i;

	if (!dc_our_pref(c, &ours)) {
		dnscheck_add(res, DNSCHECK_ERROR, DNSCHECK_LISTED, NULL, NULL,
		    "this host is not an MX host of %s (not as myhostname %s, nor "
		    "at an address of smtp_listen): senders never bring its mail "
		    "here; publish \"%s. MX 20 %s.\" with the site's own MX at a "
		    "lower preference", res->domain, c->cfg->myhostname,
		    res->domain, c->cfg->myhostname);
		return;
	}
	for (i = 0; i < c->nhosts; i++) {
		const struct dc_name *h = &c->hosts[i];

		if (h->ours) {
			f = dnscheck_add(res, DNSCHECK_OK, DNSCHECK_LISTED, h->name,
			    NULL, "this host is listed as %s, preference %u",
			    h->name, h->pref);
			f->pref = h->pref;
		} else if (h->pref < ours && better == NULL)
			better = h;
	}
	if (better != NULL) {
		f = dnscheck_add(res, DNSCHECK_OK, DNSCHECK_PREFERENCE, better->name,
		    NULL, "the site's own MX %s (preference %u) is preferred over "
		    "this host (preference %u)", better->name, better->pref, ours);
		f->pref = better->pref;
		return;
	}
	if (r != NULL && !r->mx) {
		char *rt = route_format(r);

		dnscheck_add(res, DNSCHECK_OK, DNSCHECK_PREFERENCE, NULL, NULL,
		    "this host is the best MX of %s (preference %u); its mail goes "
		    "by route=%s (%s:%u)", res->domain, ours, rt, c->dom->file,
		    c->dom->line);
		free(rt);
		return;
	}
	where = c->dom != NULL ? xasprintf(" (%s:%u)", c->dom->file,
	    c->dom->line) : xstrdup("");
	dnscheck_add(res, DNSCHECK_ERROR, DNSCHECK_PREFERENCE, NULL, NULL,
	    "this host is the best MX of %s (preference %u): its mail would loop "
	    "back here and never reach the site; give the site's own MX a "
	    "preference below %u, or set route=[host]:port for %s in the "
	    "domains file%s", res->domain, ours, ours, res->domain, where);
	free(where);
}

/* dc_peer_host - the MX host that is fleet peer p, or NULL */
static const struct dc_name *
dc_peer_host(const struct dnscheck *c, const struct dc_name *p)
{
	size_t i, j, k;

	for (i = 0; i < c->nhosts; i++) {
		const struct dc_name *h = &c->hosts[i];

		if (strcasecmp(h->name, p->name) == 0)
			return h;
		for (j = 0; j < h->addrs.n; j++)
			for (k = 0; k < p->addrs.n; k++)
				if (self_same_addr((const struct sockaddr *)&h->addrs.v[j].sa,
				    (const struct sockaddr *)&p->addrs.v[k].sa))
					return h;
	}
	return NULL;
}

/* dc_report_fleet - every peer of the fleet at our preference */
static void
dc_report_fleet(struct dnscheck *c)
{
	struct dnscheck_result *res = c->res;
	struct dnscheck_finding *f;
	unsigned ours = 0;
	bool listed = dc_our_pref(c, &ours);
	size_t i;

	for (i = 0; i < c->npeers; i++) {
		const struct dc_name *p = &c->peers[i];
		const struct dc_name *h = dc_peer_host(c, p);

		if (h == NULL) {
			dnscheck_add(res, DNSCHECK_WARNING, DNSCHECK_FLEET, p->name,
			    NULL, "fleet peer %s is not an MX host of %s: senders "
			    "never use it for this domain; list it at preference %u, "
			    "as this host", p->name, res->domain, listed ? ours : 20);
			continue;
		}
		if (listed && h->pref == ours) {
			f = dnscheck_add(res, DNSCHECK_OK, DNSCHECK_FLEET, p->name, NULL,
			    "fleet peer %s is listed as %s at preference %u, as this "
			    "host is", p->name, h->name, h->pref);
		} else {
			char *at = listed ? xasprintf("%u", ours) : xstrdup("(none: not listed)");

			f = dnscheck_add(res, DNSCHECK_WARNING, DNSCHECK_FLEET, p->name,
			    NULL, "fleet peer %s is listed as %s at preference %u, "
			    "not at this host's %s; the hosts of a fleet are MX "
			    "hosts of equal preference", p->name, h->name, h->pref, at);
			free(at);
		}
		f->pref = h->pref;
	}
}

/* dc_has_addr - does l hold the address of a? */
static bool
dc_has_addr(const struct dns_addr_list *l, const struct dns_addr *a)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (self_same_addr((const struct sockaddr *)&l->v[i].sa,
		    (const struct sockaddr *)&a->sa))
			return true;
	return false;
}

/* dc_report_ptr - the reverse DNS of our listed addresses */
static void
dc_report_ptr(struct dnscheck *c)
{
	struct dnscheck_result *res = c->res;
	char addr[64];
	size_t i;

	for (i = 0; i < c->nptrs; i++) {
		const struct dc_ptr *p = &c->ptrs[i];
		const char *host = c->hosts[p->host].name;

		dns_addr_format((const struct sockaddr *)&p->addr.sa, addr, sizeof(addr));
		if (p->st != DNS_OK)
			dnscheck_add(res, DNSCHECK_WARNING, DNSCHECK_PTR, host, addr,
			    "no reverse DNS for %s (of %s): %s (%s); have the holder "
			    "of the address publish PTR %s", addr, host,
			    dns_status_name(p->st), p->why, host);
		else if (strcasecmp(p->name, host) == 0)
			dnscheck_add(res, DNSCHECK_OK, DNSCHECK_PTR, host, addr,
			    "reverse DNS of %s is %s, which resolves back to it",
			    addr, host);
		else if (p->fwd.st != DNS_OK || !dc_has_addr(&p->fwd.addrs, &p->addr))
			dnscheck_add(res, DNSCHECK_WARNING, DNSCHECK_PTR, host, addr,
			    "reverse DNS of %s is %s, which does not resolve back to "
			    "it (not forward-confirmed); make its PTR %s", addr,
			    p->name, host);
		else if (dc_our_name(c, p->name))
			dnscheck_add(res, DNSCHECK_OK, DNSCHECK_PTR, host, addr,
			    "reverse DNS of %s is %s, which resolves back to it",
			    addr, p->name);
		else
			dnscheck_add(res, DNSCHECK_WARNING, DNSCHECK_PTR, host, addr,
			    "reverse DNS of %s is %s, not %s (it resolves back, but "
			    "names another host); make its PTR %s", addr, p->name,
			    host, host);
	}
}

/* dc_targets - where the site can be reached: the route's host, or the MX hosts better than us */
static void
dc_targets(struct dnscheck *c)
{
	struct dnscheck_result *res = c->res;
	const struct route *r = c->dom != NULL ? &c->dom->route : NULL;
	unsigned ours = 0;
	bool listed;
	size_t i, j;

	if (r != NULL && r->client) {
		dnscheck_add(res, DNSCHECK_INFO, DNSCHECK_REACH, NULL, NULL,
		    "route=client: mail goes to the address the site triggers "
		    "from; nothing to try before it does");
		return;
	}
	if (r != NULL && !r->mx) {
		if (c->route.st != DNS_OK) {
			dnscheck_add(res, DNSCHECK_ERROR, DNSCHECK_REACH, r->host, NULL,
			    "the route's host %s has no address: %s (%s)", r->host,
			    dns_status_name(c->route.st), c->route.why);
			return;
		}
		for (i = 0; i < c->route.addrs.n; i++)
			dc_target_add(res, r->host, &c->route.addrs.v[i], r->port);
		return;
	}
	/* As deliver does: only the hosts preferred over us, or all when we are not listed. */
	listed = dc_our_pref(c, &ours);
	for (i = 0; i < c->nhosts; i++) {
		const struct dc_name *h = &c->hosts[i];

		if (h->ours || (listed && h->pref >= ours))
			continue;
		for (j = 0; j < h->addrs.n; j++)
			dc_target_add(res, h->name, &h->addrs.v[j],
			    (unsigned)c->cfg->smtp_mx_port);
	}
}

/* dc_finish - every answer is in: the findings, then the owner's callback */
static void
dc_finish(struct dnscheck *c)
{
	struct dnscheck_result *res = c->res;

	if (dc_report_mx(c)) {
		dc_report_listed(c);
		dc_report_fleet(c);
		dc_report_ptr(c);
		dc_targets(c);
	} else if (c->dom != NULL && !c->dom->route.mx)
		dc_targets(c);
	c->res = NULL;
	c->fn(res, c->ctx);
	dc_free(c);
}

struct dnscheck *
dnscheck_start(struct dns *dns, const struct config *cfg,
    const struct self_addrs *self, const char *domain, dnscheck_done_fn *fn,
    void *ctx)
{
	struct dnscheck *c = xcalloc(1, sizeof(*c));
	struct dnscheck_result *res = xcalloc(1, sizeof(*res));
	size_t i;

	c->dns = dns;
	c->cfg = cfg;
	c->self = self;
	c->fn = fn;
	c->ctx = ctx;
	c->res = res;
	res->domain = xstrdup(domain);
	c->dom = domain_find(cfg->domains, domain);
	res->customer = c->dom != NULL;
	if (c->dom != NULL) {
		char *rt = route_format(&c->dom->route);

		dnscheck_add(res, DNSCHECK_OK, DNSCHECK_DOMAIN, NULL, NULL,
		    "%s is a customer domain (%s:%u: mode=%s route=%s)", domain,
		    c->dom->file, c->dom->line, domain_mode_name(c->dom->mode), rt);
		free(rt);
	} else
		dnscheck_add(res, DNSCHECK_ERROR, DNSCHECK_DOMAIN, NULL, NULL,
		    "%s is not in the domains file %s: this host refuses its mail; "
		    "add a line \"%s\" there and reload", domain,
		    cfg->domains_file, domain);
	c->phase = DC_FIRST;
	c->pending = 1;
	c->mxq = dns_lookup_mx(dns, domain, dc_mx_answer, c);
	if (cfg->peers.n > 0) {
		c->peers = xcalloc(cfg->peers.n, sizeof(*c->peers));
		c->npeers = cfg->peers.n;
		for (i = 0; i < cfg->peers.n; i++) {
			c->peers[i].name = xstrdup(cfg->peers.v[i].host);
			dc_name_lookup(c, &c->peers[i]);
		}
	}
	if (c->dom != NULL && c->dom->route.host != NULL) {
		c->route.name = xstrdup(c->dom->route.host);
		dc_name_lookup(c, &c->route);
	}
	return c;
}
