/*
 * prober_probe - one probe: the route's address, connect, the 220 banner, QUIT
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* lib/util */
#include "util/log.h"
#include "util/stream.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/dns.h"
#include "mail/domains.h"
/* prober */
#include "prober/prober.h"

/*
 * A probe walks a list of hosts (the route's one, or every MX host above
 * ours) and, for each, every address the lookup gave, until one greets
 * with 220 or PROBER_ADDRS_MAX were tried. Each lookup and each address
 * has probe_timeout.
 */
struct probe {
	struct prober *pr;
	struct probe_domain *pd;
	struct ev_timer *deadline;	/* probe_timeout for this step */
	struct ev_timer *later;		/* a failure found at once: the next step from the loop */
	struct dns_query *query;
	int fd;				/* while connecting, before the stream */
	struct stream *st;
	char host[256];			/* the host being tried */
	unsigned port;
	char (*hosts)[256];		/* hosts still to try, after this one */
	size_t nhosts, ihost;
	struct dns_addr addr[PROBER_ADDRS_MAX]; /* the addresses of host still to try */
	size_t naddr, iaddr;
	unsigned tried;			/* addresses tried so far */
	bool greeted;			/* the 220 came: the site is up */
	struct probe_result r;
};

static void probe_next(struct probe *p);
static void probe_deadline(void *ctx);

/* probe_step_end - close and cancel what the step (a lookup, an address) holds */
static void
probe_step_end(struct probe *p)
{
	struct ev_loop *loop = p->pr->loop;

	ev_timer_cancel(loop, &p->deadline);
	ev_timer_cancel(loop, &p->later);
	dns_query_cancel(&p->query);
	if (p->fd >= 0) {
		ev_io_del(loop, p->fd);
		(void)close(p->fd);
		p->fd = -1;
	}
	stream_free(&p->st);
}

/* probe_step - a new step: probe_timeout from now */
static void
probe_step(struct probe *p)
{
	probe_step_end(p);
	p->deadline = ev_timer_add(p->pr->loop, (uint64_t)p->pr->cfg->probe_timeout * 1000,
	    probe_deadline, p);
}

/* probe_release - close and cancel whatever the probe still holds */
static void
probe_release(struct probe *p)
{
	probe_step_end(p);
	free(p->hosts);
	p->hosts = NULL;
}

/* probe_cancel - abandon a probe; its result is never reported */
void
probe_cancel(struct probe **pp)
{
	struct probe *p = *pp;

	if (p == NULL)
		return;
	probe_release(p);
	free(p);
	*pp = NULL;
}

/* probe_finish - the probe is over: report to the scheduler and free it */
static void
probe_finish(struct probe *p)
{
	struct prober *pr = p->pr;
	struct probe_domain *pd = p->pd;
	struct probe_result r = p->r;

	probe_release(p);
	free(p);
	prober_done(pr, pd, &r);
}

/* probe_why - record why the probe failed */
static void
probe_why(struct probe *p, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
probe_why(struct probe *p, const char *fmt, va_list ap)
{
	vsnprintf(p->r.why, sizeof(p->r.why), fmt, ap);
	p->r.ok = false;
}

/* probe_fail - record why this step failed and go on to the next (from the loop only) */
static void
probe_fail(struct probe *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
probe_fail(struct probe *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	probe_why(p, fmt, ap);
	va_end(ap);
	probe_next(p);
}

/* probe_later_fire - go on after a failure that was found inside a call */
static void
probe_later_fire(void *ctx)
{
	struct probe *p = ctx;

	p->later = NULL;
	probe_next(p);
}

/* probe_fail_later - as probe_fail, but from the loop, never from the caller */
static void
probe_fail_later(struct probe *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
probe_fail_later(struct probe *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	probe_why(p, fmt, ap);
	va_end(ap);
	p->later = ev_timer_add(p->pr->loop, 0, probe_later_fire, p);
}

/* probe_deadline - probe_timeout ran out */
static void
probe_deadline(void *ctx)
{
	struct probe *p = ctx;

	p->deadline = NULL;
	/* After the 220 the site is up; a slow answer to QUIT changes nothing. */
	if (p->greeted) {
		probe_finish(p);
		return;
	}
	probe_fail(p, "%s %s: timeout after %lds", p->st != NULL ? "read banner from" :
	    p->fd >= 0 ? "connect to" : "look up", p->st != NULL || p->fd >= 0 ?
	    p->r.where : p->host[0] != '\0' ? p->host : p->pd->name,
	    p->pr->cfg->probe_timeout);
}

/*
 * probe_line - one line from the server: the banner, then QUIT's reply.
 * -1 the banner was bad (the probe is finished and freed), 0 more lines
 * wanted, 1 the reply to QUIT came (the caller finishes the probe).
 */
static int
probe_line(struct probe *p, const char *line, size_t len)
{
	if (p->greeted)
		return 1;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	/* A multi-line banner is "220-..." lines, then "220 ...". */
	if (len < 3 || strncmp(line, "220", 3) != 0 ||
	    (len > 3 && line[3] != ' ' && line[3] != '-')) {
		probe_fail(p, "banner from %s: %.*s", p->r.where,
		    (int)(len > 200 ? 200 : len), line);
		return -1;
	}
	if (len > 3 && line[3] == '-')
		return 0;
	p->greeted = true;
	p->r.ok = true;
	stream_printf(p->st, "QUIT\r\n");
	(void)stream_flush(p->st);
	return 0;
}

/* probe_event - the connected stream has news */
static void
probe_event(struct stream *st, unsigned events, void *ctx)
{
	struct probe *p = ctx;
	const char *line;
	size_t len;
	int r;

	if (events & STREAM_EV_ERROR) {
		if (p->greeted)
			probe_finish(p);
		else
			probe_fail(p, "read banner from %s: %s", p->r.where,
			    stream_error(st));
		return;
	}
	if (events & STREAM_EV_READ) {
		while ((r = stream_read_line(st, PROBER_LINE_MAX, &line, &len)) != 0) {
			if (r < 0) {
				probe_fail(p, "banner from %s: line too long", p->r.where);
				return;
			}
			r = probe_line(p, line, len);
			if (r < 0)
				return;
			if (r > 0) {
				probe_finish(p);
				return;
			}
		}
	}
	if (events & STREAM_EV_EOF) {
		if (p->greeted)
			probe_finish(p);
		else
			probe_fail(p, "%s closed the connection before its banner",
			    p->r.where);
	}
}

/* probe_writable - the connect() finished, one way or the other */
static void
probe_writable(int fd, unsigned events, void *ctx)
{
	struct probe *p = ctx;
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		probe_fail(p, "connect to %s: %s", p->r.where, strerror(err));
		return;
	}
	ev_io_del(p->pr->loop, fd);
	p->fd = -1;
	p->st = stream_new(p->pr->loop, fd, probe_event, p);
}

/* probe_connect - start a non-blocking connect to sa, port p->port */
static void
probe_connect(struct probe *p, const struct sockaddr *sa, socklen_t salen)
{
	struct sockaddr_storage ss;
	char addr[INET6_ADDRSTRLEN] = "";

	memcpy(&ss, sa, salen);
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_port = htons((uint16_t)p->port);
		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_port = htons((uint16_t)p->port);
		inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
	}
	snprintf(p->r.where, sizeof(p->r.where), "%s[%s]:%u", p->host, addr, p->port);
	p->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		probe_fail_later(p, "make socket: %s", strerror(errno));
		return;
	}
	if (connect(p->fd, (struct sockaddr *)&ss, salen) < 0 && errno != EINPROGRESS) {
		probe_fail_later(p, "connect to %s: %s", p->r.where, strerror(errno));
		(void)close(p->fd);
		p->fd = -1;
		return;
	}
	if (ev_io_add(p->pr->loop, p->fd, EV_WRITE, probe_writable, p) < 0) {
		probe_fail_later(p, "watch socket: %s", strerror(errno));
		(void)close(p->fd);
		p->fd = -1;
	}
}

/* probe_addr_found - the A/AAAA answer for p->host */
static void
probe_addr_found(enum dns_status st, const struct dns_addr_list *addrs,
    const char *why, void *ctx)
{
	struct probe *p = ctx;

	p->query = NULL;
	if (st != DNS_OK || addrs == NULL || addrs->n == 0) {
		probe_fail(p, "look up %s: %s", p->host, *why ? why : dns_status_name(st));
		return;
	}
	/* Every address: one that is down does not hide the others. */
	for (p->naddr = p->iaddr = 0; p->naddr < addrs->n &&
	    p->naddr < sizeof(p->addr) / sizeof(p->addr[0]); p->naddr++)
		p->addr[p->naddr] = addrs->v[p->naddr];
	probe_next(p);
}

/* probe_dns - the resolver, made at first use; NULL with *err_r */
static struct dns *
probe_dns(struct prober *pr, char **err_r)
{
	if (pr->dns == NULL)
		pr->dns = dns_new(pr->loop, &pr->cfg->dns_servers, err_r);
	return pr->dns;
}

/* probe_resolve - find host's addresses (a literal needs no lookup), then try them */
static void
probe_resolve(struct probe *p, const char *host, unsigned port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct dns *dns;
	char *err = NULL;

	snprintf(p->host, sizeof(p->host), "%s", host);
	p->port = port;
	p->naddr = p->iaddr = 0;
	snprintf(p->r.where, sizeof(p->r.where), "%s:%u", host, port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
		p->addr[p->naddr].len = sizeof(sin);
		memcpy(&p->addr[p->naddr++].sa, &sin, sizeof(sin));
		probe_next(p);
		return;
	}
	if (inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1) {
		p->addr[p->naddr].len = sizeof(sin6);
		memcpy(&p->addr[p->naddr++].sa, &sin6, sizeof(sin6));
		probe_next(p);
		return;
	}
	if ((dns = probe_dns(p->pr, &err)) == NULL) {
		probe_fail_later(p, "start resolver: %s", err);
		free(err);
		return;
	}
	p->query = dns_lookup_addr(dns, host, probe_addr_found, p);
}

/*
 * probe_mx_hosts - the MX hosts to probe: every one whose preference is
 * better (lower) than ours, in the answer's order (by preference, ties
 * shuffled). Ours is the best preference of an MX named myhostname; when
 * we are not in the set, every host but us counts.
 */
static size_t
probe_mx_hosts(const struct dns_mx_list *mx, const char *me, char (*hosts)[256],
    size_t max)
{
	unsigned ours = ~0u;
	size_t i, n = 0;

	for (i = 0; i < mx->n; i++)
		if (strcasecmp(mx->v[i].host, me) == 0 && mx->v[i].pref < ours)
			ours = mx->v[i].pref;
	for (i = 0; i < mx->n && n < max; i++)
		if (mx->v[i].pref < ours && strcasecmp(mx->v[i].host, me) != 0 &&
		    strlen(mx->v[i].host) < sizeof(*hosts))
			snprintf(hosts[n++], sizeof(*hosts), "%s", mx->v[i].host);
	return n;
}

/* probe_mx_found - the MX answer for a route=mx domain */
static void
probe_mx_found(enum dns_status st, const struct dns_mx_list *mx, const char *why,
    void *ctx)
{
	struct probe *p = ctx;
	const char *me = p->pr->cfg->myhostname;

	p->query = NULL;
	if (st != DNS_OK || mx == NULL) {
		probe_fail(p, "look up MX of %s: %s", p->pd->name,
		    *why ? why : dns_status_name(st));
		return;
	}
	/*
	 * The hosts above ours are the customer's own servers (we are their
	 * backup). Probing ourselves, or a backup below us, proves nothing.
	 */
	p->hosts = xcalloc(PROBER_ADDRS_MAX, sizeof(*p->hosts));
	p->nhosts = probe_mx_hosts(mx, me, p->hosts, PROBER_ADDRS_MAX);
	p->ihost = 0;
	/* The port deliver would use: smtp_mx_port. */
	p->port = (unsigned)p->pr->cfg->smtp_mx_port;
	if (p->nhosts == 0)
		probe_fail(p, "no MX host of %s above %s", p->pd->name, me);
	else
		probe_next(p);
}

/*
 * probe_next - the step after a failure (or a lookup): the next address
 * of this host, else the next host, else the probe is over and failed.
 */
static void
probe_next(struct probe *p)
{
	char tried[64];

	if (p->iaddr < p->naddr && p->tried < PROBER_ADDRS_MAX) {
		probe_step(p);
		p->tried++;
		probe_connect(p, (const struct sockaddr *)&p->addr[p->iaddr].sa,
		    p->addr[p->iaddr].len);
		p->iaddr++;
		return;
	}
	if (p->ihost < p->nhosts && p->tried < PROBER_ADDRS_MAX) {
		probe_step(p);
		probe_resolve(p, p->hosts[p->ihost++], p->port);
		return;
	}
	/* Several addresses failed: the reason is the last one's, and how many. */
	if (p->tried > 1) {
		snprintf(tried, sizeof(tried), " (%u addresses tried)", p->tried);
		if (strlen(p->r.why) + strlen(tried) < sizeof(p->r.why))
			strcat(p->r.why, tried);
	}
	probe_finish(p);
}

/* probe_start - look up the route of pd and connect to it */
void
probe_start(struct prober *pr, struct probe_domain *pd)
{
	const struct domain *d = domain_find(pr->cfg->domains, pd->name);
	struct probe *p = xcalloc(1, sizeof(*p));
	struct dns *dns;
	char *err = NULL;

	p->pr = pr;
	p->pd = pd;
	p->fd = -1;
	pd->run = p;
	probe_step(p);
	if (d == NULL) {
		probe_fail_later(p, "not in the domains table");
		return;
	}
	/* route=client has no address of its own: only its trigger gives one. */
	if (d->route.client) {
		probe_fail_later(p, "route=client: no fixed address to probe");
		return;
	}
	if (!d->route.mx) {
		probe_resolve(p, d->route.host, d->route.port);
		return;
	}
	snprintf(p->r.where, sizeof(p->r.where), "mx");
	if ((dns = probe_dns(pr, &err)) == NULL) {
		probe_fail_later(p, "start resolver: %s", err);
		free(err);
		return;
	}
	p->query = dns_lookup_mx(dns, pd->name, probe_mx_found, p);
}
