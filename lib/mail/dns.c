/*
 * dns - asynchronous MX and address lookups with c-ares on the event loop
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <ares.h>

#include "util/events.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "mail/conf.h"
#include "mail/dns.h"

/* Defaults: three tries of 2s per server keep a dead server under 10s. */
#define DNS_TIMEOUT_MS	2000
#define DNS_TRIES	3
/* The most records kept from one answer: more is an attack or an error. */
#define DNS_RECORDS_MAX	64

/* A socket c-ares asked us to watch. */
struct dns_sock {
	int fd;
	unsigned events;
};

struct dns {
	struct ev_loop *loop;
	ares_channel channel;
	struct dns_sock *socks;
	size_t nsocks, socks_cap;
	struct ev_timer *timer;
	struct dns_query *queries;	/* every live query, for dns_free() */
	int flags;		/* ARES_FLAG_* of the channel */
};

struct dns_query {
	struct dns *dns;
	struct dns_query *prev, *next;
	dns_mx_fn *mx_fn;
	dns_addr_fn *addr_fn;
	dns_name_fn *name_fn;
	void *ctx;
	bool in_call;		/* inside the ares_* call that started it */
	bool answered;		/* c-ares is done with it */
	bool cancelled;
	struct ev_timer *defer;	/* delivery of an answer c-ares gave at once */
	enum dns_status status;
	char why[96];
	struct dns_mx_list mx;
	struct dns_addr_list addrs;
	struct dns_name_list names;
};

static void dns_timer_arm(struct dns *dns);

/* dns_status_permanent - does st mean that retrying cannot help? */
bool
dns_status_permanent(enum dns_status st)
{
	return st == DNS_NXDOMAIN || st == DNS_NODATA || st == DNS_NULLMX;
}

/* dns_why_no_server - is why c-ares' text for "no server answered"? */
bool
dns_why_no_server(const char *why)
{
	return strcmp(why, ares_strerror(ARES_ETIMEOUT)) == 0 ||
	    strcmp(why, ares_strerror(ARES_ECONNREFUSED)) == 0;
}

/* dns_status_name - a short keyword for logs and tests */
const char *
dns_status_name(enum dns_status st)
{
	static const char *const names[] = {
		[DNS_OK] = "ok",
		[DNS_NXDOMAIN] = "nxdomain",
		[DNS_NODATA] = "nodata",
		[DNS_NULLMX] = "nullmx",
		[DNS_TEMPFAIL] = "tempfail",
	};

	if ((size_t)st >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[st];
}

/* dns_addr_format - numeric text of an IPv4 or IPv6 socket address */
void
dns_addr_format(const struct sockaddr *sa, char *buf, size_t size)
{
	const void *a;

	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	else {
		snprintf(buf, size, "unknown");
		return;
	}
	if (inet_ntop(sa->sa_family, a, buf, (socklen_t)size) == NULL)
		snprintf(buf, size, "unknown");
}

/* dns_status_of - map a c-ares status to ours */
static enum dns_status
dns_status_of(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return DNS_OK;
	case ARES_ENOTFOUND:
		return DNS_NXDOMAIN;
	case ARES_ENODATA:
		return DNS_NODATA;
	default:
		/*
		 * SERVFAIL, REFUSED, timeouts, no server, malformed answers.
		 * ARES_EBADNAME too: the names we ask about are checked before,
		 * so it comes from a name in an answer that does not parse (a
		 * compression-pointer loop), which says nothing about the name
		 * we asked for: never "not found".
		 */
		return DNS_TEMPFAIL;
	}
}

/* dns_sock_state - c-ares says which sockets to watch, and how */
static void dns_io(int fd, unsigned events, void *ctx);

static void
dns_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns *dns = data;
	unsigned events = (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
	size_t i;

	for (i = 0; i < dns->nsocks; i++)
		if (dns->socks[i].fd == fd)
			break;
	if (events == 0) {
		if (i == dns->nsocks)
			return;
		ev_io_del(dns->loop, fd);
		dns->socks[i] = dns->socks[--dns->nsocks];
		return;
	}
	if (i < dns->nsocks) {
		if (ev_io_mod(dns->loop, fd, events) == 0)
			dns->socks[i].events = events;
		return;
	}
	if (ev_io_add(dns->loop, fd, events, dns_io, dns) < 0) {
		/* c-ares times the query out; nothing better to do here. */
		log_warn("watch dns socket %d: %s", fd, strerror(errno));
		return;
	}
	if (dns->nsocks == dns->socks_cap) {
		dns->socks_cap = dns->socks_cap ? dns->socks_cap * 2 : 4;
		dns->socks = xreallocarray(dns->socks, dns->socks_cap,
		    sizeof(*dns->socks));
	}
	dns->socks[dns->nsocks].fd = fd;
	dns->socks[dns->nsocks].events = events;
	dns->nsocks++;
}

/* dns_io - readiness of a c-ares socket */
static void
dns_io(int fd, unsigned events, void *ctx)
{
	struct dns *dns = ctx;

	ares_process_fd(dns->channel,
	    (events & (EV_READ | EV_ERROR)) ? fd : ARES_SOCKET_BAD,
	    (events & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	dns_timer_arm(dns);
}

/* dns_timer_fire - let c-ares retry or time out its queries */
static void
dns_timer_fire(void *ctx)
{
	struct dns *dns = ctx;

	dns->timer = NULL;
	ares_process_fd(dns->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_timer_arm(dns);
}

/* dns_timer_arm - one timer for c-ares' next deadline, none when idle */
static void
dns_timer_arm(struct dns *dns)
{
	struct timeval tv;
	uint64_t ms;

	ev_timer_cancel(dns->loop, &dns->timer);
	if (ares_timeout(dns->channel, NULL, &tv) == NULL)
		return;
	ms = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
	dns->timer = ev_timer_add(dns->loop, ms, dns_timer_fire, dns);
}

/* dns_servers_csv - "a:p,[v6]:p" for ares_set_servers_ports_csv() */
static char *
dns_servers_csv(const struct hostport_list *servers)
{
	char *csv = xstrdup(""), *next;
	size_t i;

	for (i = 0; i < servers->n; i++) {
		const struct hostport *hp = &servers->v[i];
		bool v6 = strchr(hp->host, ':') != NULL;

		next = xasprintf("%s%s%s%s%s:%s", csv, i > 0 ? "," : "",
		    v6 ? "[" : "", hp->host, v6 ? "]" : "",
		    hp->port[0] != '\0' ? hp->port : "53");
		free(csv);
		csv = next;
	}
	return csv;
}

struct dns *
dns_new(struct ev_loop *loop, const struct hostport_list *servers,
    char **err_r)
{
	static bool initialised;
	struct ares_options opts;
	struct dns *dns;
	int r;

	if (!initialised) {
		r = ares_library_init(ARES_LIB_INIT_ALL);
		if (r != ARES_SUCCESS) {
			*err_r = xasprintf("initialise c-ares: %s", ares_strerror(r));
			return NULL;
		}
		initialised = true;
	}
	dns = xcalloc(1, sizeof(*dns));
	dns->loop = loop;
	memset(&opts, 0, sizeof(opts));
	opts.sock_state_cb = dns_sock_state;
	opts.sock_state_cb_data = dns;
	opts.timeout = DNS_TIMEOUT_MS;
	opts.tries = DNS_TRIES;
	r = ares_init_options(&dns->channel, &opts,
	    ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (r != ARES_SUCCESS) {
		*err_r = xasprintf("initialise resolver: %s", ares_strerror(r));
		free(dns);
		return NULL;
	}
	if (servers != NULL && servers->n > 0) {
		char *csv = dns_servers_csv(servers);

		r = ares_set_servers_ports_csv(dns->channel, csv);
		if (r != ARES_SUCCESS) {
			*err_r = xasprintf("set dns servers %s: %s", csv,
			    ares_strerror(r));
			free(csv);
			ares_destroy(dns->channel);
			free(dns);
			return NULL;
		}
		free(csv);
	}
	return dns;
}

/* dns_reinit - a new channel with these options and the same servers */
static void
dns_reinit(struct dns *dns, int ms, int tries, int flags)
{
	struct ares_addr_port_node *list = NULL;
	struct ares_options opts;
	ares_channel ch;

	/*
	 * c-ares 1.18 cannot change the options of a live channel, so a new
	 * one takes over with the same servers; hence "only while idle".
	 */
	if (dns->queries != NULL)
		log_panic("dns_reinit: lookups in progress");
	if (ares_get_servers_ports(dns->channel, &list) != ARES_SUCCESS)
		return;
	memset(&opts, 0, sizeof(opts));
	opts.sock_state_cb = dns_sock_state;
	opts.sock_state_cb_data = dns;
	opts.timeout = ms;
	opts.tries = tries;
	opts.flags = flags;
	if (ares_init_options(&ch, &opts, ARES_OPT_SOCK_STATE_CB |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS) == ARES_SUCCESS) {
		if (ares_set_servers_ports(ch, list) == ARES_SUCCESS) {
			ares_destroy(dns->channel);
			dns->channel = ch;
			dns->flags = flags;
		} else
			ares_destroy(ch);
	}
	ares_free_data(list);
}

void
dns_set_timeout(struct dns *dns, int ms, int tries)
{
	dns_reinit(dns, ms, tries, dns->flags);
}

void
dns_report_servfail(struct dns *dns, int ms, int tries)
{
	/*
	 * By default c-ares 1.18 takes a SERVFAIL or REFUSED answer for a
	 * server that failed, tries again, and in the end says "Could not
	 * contact DNS servers": the same as when none answers at all.
	 */
	dns_reinit(dns, ms, tries, dns->flags | ARES_FLAG_NOCHECKRESP);
}

/* dns_query_free - take q out of the list of live queries and free it */
static void
dns_query_free(struct dns_query *q)
{
	size_t i;

	if (q->prev != NULL)
		q->prev->next = q->next;
	else if (q->dns->queries == q)
		q->dns->queries = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	ev_timer_cancel(q->dns->loop, &q->defer);
	for (i = 0; i < q->mx.n; i++)
		free(q->mx.v[i].host);
	free(q->mx.v);
	free(q->addrs.v);
	for (i = 0; i < q->names.n; i++)
		free(q->names.v[i]);
	free(q->names.v);
	free(q);
}

/* dns_query_deliver - give the answer to the owner, then forget q */
static void
dns_query_deliver(struct dns_query *q)
{
	if (!q->cancelled) {
		if (q->mx_fn != NULL)
			q->mx_fn(q->status, q->status == DNS_OK ? &q->mx : NULL,
			    q->why, q->ctx);
		else if (q->name_fn != NULL)
			q->name_fn(q->status, q->status == DNS_OK ? &q->names :
			    NULL, q->why, q->ctx);
		else
			q->addr_fn(q->status, q->status == DNS_OK ? &q->addrs :
			    NULL, q->why, q->ctx);
	}
	dns_query_free(q);
}

/* dns_defer_fire - deliver an answer that came inside the starting call */
static void
dns_defer_fire(void *ctx)
{
	struct dns_query *q = ctx;

	q->defer = NULL;
	dns_query_deliver(q);
}

/* dns_query_answered - c-ares is done with q: deliver now or next turn */
static void
dns_query_answered(struct dns_query *q, enum dns_status st, int ares_status,
    const char *why)
{
	q->answered = true;
	q->status = st;
	if (st != DNS_OK)
		snprintf(q->why, sizeof(q->why), "%s", why != NULL ? why :
		    ares_strerror(ares_status));
	/* The owner must never see its callback before the call returns. */
	if (q->in_call) {
		q->defer = ev_timer_add(q->dns->loop, 0, dns_defer_fire, q);
		return;
	}
	dns_query_deliver(q);
}

/* dns_host_copy - lowercase copy of a DNS name without its trailing dot */
static char *
dns_host_copy(const char *name)
{
	size_t len = strlen(name), i;
	char *s;

	if (len > 0 && name[len - 1] == '.')
		len--;
	s = xstrndup(name, len);
	for (i = 0; i < len; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	return s;
}

/* dns_mx_cmp - order MX records by preference, then by a random key */
static int
dns_mx_cmp(const void *a, const void *b)
{
	const struct dns_mx *x = a, *y = b;

	return x->pref < y->pref ? -1 : x->pref > y->pref ? 1 : 0;
}

/* dns_mx_shuffle - random order among records of equal preference */
static void
dns_mx_shuffle(struct dns_mx_list *l)
{
	size_t i, j, k;

	for (i = 0; i < l->n; i = j) {
		for (j = i + 1; j < l->n && l->v[j].pref == l->v[i].pref; j++)
			;
		for (k = j - 1; k > i; k--) {
			size_t r = i + arc4random_uniform((uint32_t)(k - i + 1));
			struct dns_mx t = l->v[k];

			l->v[k] = l->v[r];
			l->v[r] = t;
		}
	}
}

/* dns_mx_answer - the c-ares callback of an MX query */
static void
dns_mx_answer(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct dns_query *q = arg;
	struct ares_mx_reply *mx = NULL, *p;
	enum dns_status st;

	(void)timeouts;
	if (status == ARES_EDESTRUCTION) {
		dns_query_free(q);
		return;
	}
	st = dns_status_of(status);
	if (st == DNS_OK) {
		status = ares_parse_mx_reply(abuf, alen, &mx);
		if (status != ARES_SUCCESS && status != ARES_ENODATA) {
			dns_query_answered(q, DNS_TEMPFAIL, status,
			    "malformed DNS answer");
			return;
		}
		st = dns_status_of(status);
	}
	if (st == DNS_OK) {
		for (p = mx; p != NULL && q->mx.n < DNS_RECORDS_MAX; p = p->next) {
			if (q->mx.n == 0)
				q->mx.v = xcalloc(DNS_RECORDS_MAX, sizeof(*q->mx.v));
			q->mx.v[q->mx.n].pref = p->priority;
			q->mx.v[q->mx.n].host = dns_host_copy(p->host);
			q->mx.n++;
		}
		ares_free_data(mx);
		if (q->mx.n == 0) {
			st = DNS_NODATA;
			status = ARES_ENODATA;
		} else if (q->mx.n == 1 && q->mx.v[0].host[0] == '\0') {
			/* RFC 7505: "MX 0 ." says the domain takes no mail. */
			dns_query_answered(q, DNS_NULLMX, status,
			    "domain publishes a null MX (RFC 7505)");
			return;
		} else {
			qsort(q->mx.v, q->mx.n, sizeof(*q->mx.v), dns_mx_cmp);
			dns_mx_shuffle(&q->mx);
		}
	}
	dns_query_answered(q, st, status, NULL);
}

/* dns_addr_answer - the c-ares callback of an address lookup */
static void
dns_addr_answer(void *arg, int status, int timeouts,
    struct ares_addrinfo *res)
{
	struct dns_query *q = arg;
	struct ares_addrinfo_node *n;
	enum dns_status st;

	(void)timeouts;
	if (status == ARES_EDESTRUCTION) {
		if (res != NULL)
			ares_freeaddrinfo(res);
		dns_query_free(q);
		return;
	}
	st = dns_status_of(status);
	if (st == DNS_OK && res != NULL) {
		for (n = res->nodes; n != NULL && q->addrs.n < DNS_RECORDS_MAX;
		    n = n->ai_next) {
			struct dns_addr *a;

			if ((n->ai_family != AF_INET && n->ai_family != AF_INET6) ||
			    n->ai_addrlen > (ares_socklen_t)sizeof(a->sa))
				continue;
			if (q->addrs.n == 0)
				q->addrs.v = xcalloc(DNS_RECORDS_MAX,
				    sizeof(*q->addrs.v));
			a = &q->addrs.v[q->addrs.n++];
			memcpy(&a->sa, n->ai_addr, n->ai_addrlen);
			a->len = (socklen_t)n->ai_addrlen;
			if (a->sa.ss_family == AF_INET)
				((struct sockaddr_in *)&a->sa)->sin_port = 0;
			else
				((struct sockaddr_in6 *)&a->sa)->sin6_port = 0;
		}
	}
	if (res != NULL)
		ares_freeaddrinfo(res);
	if (st == DNS_OK && q->addrs.n == 0) {
		st = DNS_NODATA;
		status = ARES_ENODATA;
	}
	dns_query_answered(q, st, status, NULL);
}

/* dns_name_add - keep a name of a PTR answer (at most DNS_RECORDS_MAX) */
static void
dns_name_add(struct dns_query *q, const char *name)
{
	if (q->names.n == DNS_RECORDS_MAX || name == NULL)
		return;
	if (q->names.n == 0)
		q->names.v = xcalloc(DNS_RECORDS_MAX, sizeof(*q->names.v));
	q->names.v[q->names.n++] = dns_host_copy(name);
}

/* dns_ptr_answer - the c-ares callback of a PTR query */
static void
dns_ptr_answer(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct dns_query *q = arg;
	struct hostent *he = NULL;
	enum dns_status st;
	size_t i;

	(void)timeouts;
	if (status == ARES_EDESTRUCTION) {
		dns_query_free(q);
		return;
	}
	st = dns_status_of(status);
	if (st == DNS_OK) {
		/* The address is only copied into the hostent: any will do. */
		struct in_addr any = { 0 };

		status = ares_parse_ptr_reply(abuf, alen, &any, sizeof(any),
		    AF_INET, &he);
		if (status != ARES_SUCCESS && status != ARES_ENODATA) {
			dns_query_answered(q, DNS_TEMPFAIL, status,
			    "malformed DNS answer");
			return;
		}
		st = dns_status_of(status);
	}
	if (st == DNS_OK && he != NULL) {
		/* c-ares puts the first PTR name in h_name, the others in h_aliases. */
		dns_name_add(q, he->h_name);
		for (i = 0; he->h_aliases != NULL && he->h_aliases[i] != NULL; i++)
			dns_name_add(q, he->h_aliases[i]);
	}
	if (he != NULL)
		ares_free_hostent(he);
	if (st == DNS_OK && q->names.n == 0) {
		st = DNS_NODATA;
		status = ARES_ENODATA;
	}
	dns_query_answered(q, st, status, NULL);
}

/* dns_query_new - a live query of dns */
static struct dns_query *
dns_query_new(struct dns *dns, void *ctx)
{
	struct dns_query *q = xcalloc(1, sizeof(*q));

	q->dns = dns;
	q->ctx = ctx;
	q->next = dns->queries;
	if (q->next != NULL)
		q->next->prev = q;
	dns->queries = q;
	q->in_call = true;
	return q;
}

/* dns_query_started - after the ares_* call: settle an immediate answer */
static struct dns_query *
dns_query_started(struct dns_query *q)
{
	q->in_call = false;
	dns_timer_arm(q->dns);
	return q;
}

struct dns_query *
dns_lookup_mx(struct dns *dns, const char *domain, dns_mx_fn *fn, void *ctx)
{
	struct dns_query *q = dns_query_new(dns, ctx);

	q->mx_fn = fn;
	ares_query(dns->channel, domain, ns_c_in, ns_t_mx, dns_mx_answer, q);
	return dns_query_started(q);
}

/*
 * dns_addr_literal - host is an IP address (optionally "IPv6:..."): its
 * one address in q, true. c-ares 1.18 (Debian 12) asks the name servers
 * for A and AAAA records of "127.0.0.1" when given it with AF_UNSPEC: a
 * route of [192.0.2.1] then waited on DNS (2 s for a lost query, every
 * delivery without a cached connection) and failed when DNS was down.
 */
static bool
dns_addr_literal(struct dns_query *q, const char *host)
{
	struct dns_addr a;

	memset(&a, 0, sizeof(a));
	if (strncasecmp(host, "IPv6:", 5) == 0) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a.sa;

		if (inet_pton(AF_INET6, host + 5, &s6->sin6_addr) != 1)
			return false;
		s6->sin6_family = AF_INET6;
		a.len = sizeof(*s6);
	} else if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&a.sa)->sin_addr) == 1) {
		((struct sockaddr_in *)&a.sa)->sin_family = AF_INET;
		a.len = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&a.sa)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&a.sa)->sin6_family = AF_INET6;
		a.len = sizeof(struct sockaddr_in6);
	} else
		return false;
	q->addrs.v = xcalloc(DNS_RECORDS_MAX, sizeof(*q->addrs.v));
	q->addrs.v[0] = a;
	q->addrs.n = 1;
	/* Answered on the next turn, as every lookup is. */
	dns_query_answered(q, DNS_OK, ARES_SUCCESS, NULL);
	return true;
}

struct dns_query *
dns_lookup_addr(struct dns *dns, const char *host, dns_addr_fn *fn, void *ctx)
{
	struct dns_query *q = dns_query_new(dns, ctx);
	struct ares_addrinfo_hints hints;

	q->addr_fn = fn;
	if (dns_addr_literal(q, host))
		return dns_query_started(q);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	ares_getaddrinfo(dns->channel, host, NULL, &hints, dns_addr_answer, q);
	return dns_query_started(q);
}

/* dns_ptr_name - the reverse DNS name of sa (RFC 1035 3.5, RFC 3596 2.5) */
static char *
dns_ptr_name(const struct sockaddr *sa)
{
	const unsigned char *b;
	char *name, *next;
	int i;

	if (sa->sa_family == AF_INET) {
		b = (const unsigned char *)&((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr;
		return xasprintf("%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
	}
	b = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	name = xstrdup("");
	for (i = 15; i >= 0; i--) {
		next = xasprintf("%s%x.%x.", name, b[i] & 0xf, b[i] >> 4);
		free(name);
		name = next;
	}
	next = xasprintf("%sip6.arpa", name);
	free(name);
	return next;
}

struct dns_query *
dns_lookup_ptr(struct dns *dns, const struct sockaddr *sa, dns_name_fn *fn,
    void *ctx)
{
	struct dns_query *q = dns_query_new(dns, ctx);
	char *name;

	q->name_fn = fn;
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) {
		/* No reverse name exists: answered on the next turn, as always. */
		dns_query_answered(q, DNS_NXDOMAIN, ARES_ENOTFOUND,
		    "not an IP address");
		return dns_query_started(q);
	}
	name = dns_ptr_name(sa);
	ares_query(dns->channel, name, ns_c_in, ns_t_ptr, dns_ptr_answer, q);
	free(name);
	return dns_query_started(q);
}

void
dns_query_cancel(struct dns_query **qp)
{
	struct dns_query *q = *qp;

	if (q == NULL)
		return;
	*qp = NULL;
	q->cancelled = true;
	/* c-ares still owns an unanswered query: it is freed on its answer. */
	if (q->answered)
		dns_query_free(q);
}

void
dns_free(struct dns **dnsp)
{
	struct dns *dns = *dnsp;

	if (dns == NULL)
		return;
	*dnsp = NULL;
	/* Answered queries waiting for their turn; the rest die in ares_destroy. */
	{
		struct dns_query *q, *next;

		for (q = dns->queries; q != NULL; q = next) {
			next = q->next;
			if (q->answered)
				dns_query_free(q);
		}
	}
	ares_destroy(dns->channel);
	ev_timer_cancel(dns->loop, &dns->timer);
	while (dns->nsocks > 0)
		ev_io_del(dns->loop, dns->socks[--dns->nsocks].fd);
	free(dns->socks);
	free(dns);
}
