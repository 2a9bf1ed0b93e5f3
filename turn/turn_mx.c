/*
 * turn_mx - every MX host of the site's domains, without the site itself
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

/* lib/util */
#include "util/events.h"
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/dns.h"
/* turn */
#include "turn/turn.h"

/* The lookups of one resolve call, all on one event loop. */
struct turn_lookup {
	struct ev_loop *loop;
	struct dns *dns;
	const struct turn_opts *opts;
	struct ifaddrs *ifs;	/* this machine's addresses */
	size_t pending;		/* lookups whose callback has not run */
	int status;		/* the worst sysexits code so far */
	struct turn_mx **mx;	/* hosts found, each its own allocation */
	size_t nmx;
};

/* One MX answer is for one domain. */
struct turn_mx_ctx {
	struct turn_lookup *lk;
	char *domain;
};

/* One address answer is for one host. */
struct turn_host_ctx {
	struct turn_lookup *lk;
	struct turn_mx *mx;
};

/* turn_lookup_done - one lookup fewer; the loop ends with the last */
static void
turn_lookup_done(struct turn_lookup *lk)
{
	if (--lk->pending == 0)
		ev_stop(lk->loop);
}

/* turn_lookup_fail - keep the worse of two exit codes (TEMPFAIL wins) */
static void
turn_lookup_fail(struct turn_lookup *lk, int code)
{
	if (lk->status != EX_TEMPFAIL)
		lk->status = code;
}

/* turn_addr_same - the same IP address, ports aside? */
static bool
turn_addr_same(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)b)->sin6_addr,
		    sizeof(struct in6_addr)) == 0;
	return false;
}

/* turn_addr_is_self - one of this machine's addresses, or a --self one? */
static bool
turn_addr_is_self(const struct turn_lookup *lk, const struct sockaddr *sa)
{
	const struct ifaddrs *ifa;
	char text[INET6_ADDRSTRLEN];
	size_t i;

	for (ifa = lk->ifs; ifa != NULL; ifa = ifa->ifa_next)
		if (ifa->ifa_addr != NULL && turn_addr_same(ifa->ifa_addr, sa))
			return true;
	dns_addr_format(sa, text, sizeof(text));
	for (i = 0; i < lk->opts->nself; i++)
		if (strcmp(lk->opts->self[i], text) == 0)
			return true;
	return false;
}

/* turn_addr_found - the addresses of one MX host; the site's own go */
static void
turn_addr_found(enum dns_status st, const struct dns_addr_list *addrs,
    const char *why, void *ctx)
{
	struct turn_host_ctx *hc = ctx;
	struct turn_lookup *lk = hc->lk;
	struct turn_mx *mx = hc->mx;
	char text[INET6_ADDRSTRLEN];
	size_t i;

	free(hc);
	if (st != DNS_OK) {
		turn_report("%s: address lookup for MX of %s failed: %s",
		    mx->host, mx->domain, why);
		turn_lookup_fail(lk, dns_status_permanent(st) ? EX_NOHOST :
		    EX_TEMPFAIL);
		turn_lookup_done(lk);
		return;
	}
	mx->addr = xreallocarray(NULL, addrs->n, sizeof(*mx->addr));
	mx->addrlen = xreallocarray(NULL, addrs->n, sizeof(*mx->addrlen));
	for (i = 0; i < addrs->n; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&addrs->v[i].sa;

		if (turn_addr_is_self(lk, sa)) {
			dns_addr_format(sa, text, sizeof(text));
			turn_report("%s[%s]: skipped: an address of this site",
			    mx->host, text);
			continue;
		}
		memcpy(&mx->addr[mx->naddr], &addrs->v[i].sa, addrs->v[i].len);
		mx->addrlen[mx->naddr++] = addrs->v[i].len;
	}
	turn_lookup_done(lk);
}

/* turn_mx_found - the MX hosts of one domain; each gets its addresses */
static void
turn_mx_found(enum dns_status st, const struct dns_mx_list *mxl,
    const char *why, void *ctx)
{
	struct turn_mx_ctx *mc = ctx;
	struct turn_lookup *lk = mc->lk;
	struct dns_mx_list implicit;
	struct dns_mx one;
	size_t i;

	if (st == DNS_NODATA) {
		/* No MX: the domain is its own mail exchanger (RFC 5321 5.1). */
		one = (struct dns_mx){ .pref = 0, .host = mc->domain };
		implicit = (struct dns_mx_list){ .n = 1, .v = &one };
		mxl = &implicit;
	} else if (st != DNS_OK) {
		turn_report("%s: MX lookup failed: %s%s", mc->domain, why,
		    st == DNS_NULLMX ? " (the domain accepts no mail)" : "");
		turn_lookup_fail(lk, dns_status_permanent(st) ? EX_NOHOST :
		    EX_TEMPFAIL);
		turn_lookup_done(lk);
		free(mc);
		return;
	}
	for (i = 0; i < mxl->n; i++) {
		struct turn_mx *mx = xcalloc(1, sizeof(*mx));
		struct turn_host_ctx *hc = xcalloc(1, sizeof(*hc));

		mx->domain = mc->domain;
		mx->host = xstrdup(mxl->v[i].host);
		mx->pref = mxl->v[i].pref;
		hc->lk = lk;
		hc->mx = mx;
		lk->mx = xreallocarray(lk->mx, lk->nmx + 1, sizeof(*lk->mx));
		lk->mx[lk->nmx++] = mx;
		lk->pending++;
		(void)dns_lookup_addr(lk->dns, mx->host, turn_addr_found, hc);
	}
	turn_lookup_done(lk);
	free(mc);
}

/* turn_resolver - a resolver for -D (or resolv.conf); NULL on error */
static struct dns *
turn_resolver(struct ev_loop *loop, const char *arg)
{
	struct hostport_list servers = { 0 };
	const char *hint;
	char *err = NULL;
	struct dns *dns;

	if (arg != NULL && arg[0] != '\0' &&
	    config_parse_hostports(arg, &servers, &hint) < 0) {
		turn_report("-D \"%s\": %s; give addresses as 127.0.0.1:5353 or "
		    "[::1]:53", arg, hint);
		config_hostports_clear(&servers);
		return NULL;
	}
	dns = dns_new(loop, &servers, &err);
	config_hostports_clear(&servers);
	if (dns == NULL) {
		turn_report("start the resolver: %s", err);
		free(err);
	}
	return dns;
}

int
turn_mx_resolve(const struct turn_opts *opts, char *const *domains,
    size_t ndomains, struct turn_mx_set *set_r)
{
	struct turn_lookup lk = { .opts = opts };
	size_t i, d;

	memset(set_r, 0, sizeof(*set_r));
	lk.loop = ev_loop_new();
	lk.dns = turn_resolver(lk.loop, opts->dns_servers);
	if (lk.dns == NULL) {
		ev_loop_free(&lk.loop);
		return EX_CONFIG;
	}
	if (getifaddrs(&lk.ifs) < 0)
		lk.ifs = NULL;
	for (d = 0; d < ndomains; d++) {
		struct turn_mx_ctx *mc = xcalloc(1, sizeof(*mc));

		mc->lk = &lk;
		mc->domain = domains[d];
		lk.pending++;
		(void)dns_lookup_mx(lk.dns, domains[d], turn_mx_found, mc);
	}
	if (lk.pending > 0)
		(void)ev_run(lk.loop);
	dns_free(&lk.dns);
	ev_loop_free(&lk.loop);
	if (lk.ifs != NULL)
		freeifaddrs(lk.ifs);
	/* Hosts left without an address were all the site, or failed. */
	for (i = 0; i < lk.nmx; i++) {
		if (lk.mx[i]->naddr == 0) {
			free(lk.mx[i]->host);
			free(lk.mx[i]->addr);
			free(lk.mx[i]->addrlen);
		} else {
			set_r->v = xreallocarray(set_r->v, set_r->n + 1,
			    sizeof(*set_r->v));
			set_r->v[set_r->n++] = *lk.mx[i];
		}
		free(lk.mx[i]);
	}
	free(lk.mx);
	for (d = 0; d < ndomains && lk.status == 0; d++) {
		for (i = 0; i < set_r->n; i++)
			if (set_r->v[i].domain == domains[d])
				break;
		if (i == set_r->n) {
			turn_report("%s: no MX host other than this site", domains[d]);
			lk.status = EX_NOHOST;
		}
	}
	return lk.status;
}

void
turn_mx_set_clear(struct turn_mx_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		free(set->v[i].host);
		free(set->v[i].addr);
		free(set->v[i].addrlen);
	}
	free(set->v);
	memset(set, 0, sizeof(*set));
}

void
turn_addr_text(const struct turn_mx *mx, size_t i, unsigned port, char *buf,
    size_t size)
{
	char text[INET6_ADDRSTRLEN];

	dns_addr_format((const struct sockaddr *)&mx->addr[i], text, sizeof(text));
	snprintf(buf, size, "%s[%s]:%u", mx->host, text, port);
}
