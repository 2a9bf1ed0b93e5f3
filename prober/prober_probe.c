/* prober_probe - one probe: the route's address, connect, the 220 banner, QUIT */
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

struct probe {
	struct prober *pr;
	struct probe_domain *pd;
	struct ev_timer *deadline;	/* probe_timeout for all of it */
	struct ev_timer *later;		/* reports a failure found at once */
	struct dns_query *query;
	int fd;				/* while connecting, before the stream */
	struct stream *st;
	char host[256];
	unsigned port;
	bool greeted;			/* the 220 came: the site is up */
	struct probe_result r;
};

/* probe_release - close and cancel whatever the probe still holds */
static void
probe_release(struct probe *p)
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

/* probe_fail - record why the probe failed and finish it */
static void
probe_fail(struct probe *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
probe_fail(struct probe *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	probe_why(p, fmt, ap);
	va_end(ap);
	probe_finish(p);
}

/* probe_later_fire - report a failure that was found inside probe_start */
static void
probe_later_fire(void *ctx)
{
	struct probe *p = ctx;

	p->later = NULL;
	probe_finish(p);
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
	probe_fail(p, "%s: timeout after %lds", p->st != NULL ?
	    "read banner" : p->fd >= 0 ? "connect" : "look up route",
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
	/* The first address only: a probe asks "is the site up", not "which host". */
	probe_connect(p, (const struct sockaddr *)&addrs->v[0].sa, addrs->v[0].len);
	if (p->later != NULL) {
		/* A failure at once: in a callback already, report it now. */
		ev_timer_cancel(p->pr->loop, &p->later);
		probe_finish(p);
	}
}

/* probe_dns - the resolver, made at first use; NULL with *err_r */
static struct dns *
probe_dns(struct prober *pr, char **err_r)
{
	if (pr->dns == NULL)
		pr->dns = dns_new(pr->loop, &pr->cfg->dns_servers, err_r);
	return pr->dns;
}

/* probe_resolve - find host's address (a literal needs no lookup), then connect */
static void
probe_resolve(struct probe *p, const char *host, unsigned port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct dns *dns;
	char *err = NULL;

	snprintf(p->host, sizeof(p->host), "%s", host);
	p->port = port;
	snprintf(p->r.where, sizeof(p->r.where), "%s:%u", host, port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
		probe_connect(p, (struct sockaddr *)&sin, sizeof(sin));
		return;
	}
	if (inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1) {
		probe_connect(p, (struct sockaddr *)&sin6, sizeof(sin6));
		return;
	}
	if ((dns = probe_dns(p->pr, &err)) == NULL) {
		probe_fail_later(p, "start resolver: %s", err);
		free(err);
		return;
	}
	p->query = dns_lookup_addr(dns, host, probe_addr_found, p);
}

/* probe_mx_found - the MX answer for a route=mx domain */
static void
probe_mx_found(enum dns_status st, const struct dns_mx_list *mx, const char *why,
    void *ctx)
{
	struct probe *p = ctx;
	const char *me = p->pr->cfg->myhostname;
	size_t i;

	p->query = NULL;
	if (st != DNS_OK || mx == NULL) {
		probe_fail(p, "look up MX of %s: %s", p->pd->name,
		    *why ? why : dns_status_name(st));
		return;
	}
	/*
	 * The best MX that is not this host: that is the customer's own
	 * server (we are its secondary). Probing ourselves proves nothing.
	 */
	for (i = 0; i < mx->n; i++)
		if (strcasecmp(mx->v[i].host, me) != 0)
			break;
	if (i == mx->n) {
		probe_fail(p, "no MX host of %s other than %s", p->pd->name, me);
		return;
	}
	/* The port deliver would use: smtp_mx_port. */
	probe_resolve(p, mx->v[i].host, (unsigned)p->pr->cfg->smtp_mx_port);
	if (p->later != NULL) {
		ev_timer_cancel(p->pr->loop, &p->later);
		probe_finish(p);
	}
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
	p->deadline = ev_timer_add(pr->loop, (uint64_t)pr->cfg->probe_timeout * 1000,
	    probe_deadline, p);
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
