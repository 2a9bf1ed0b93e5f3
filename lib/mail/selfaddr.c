/*
 * selfaddr - would a connection to an address reach our own SMTP service?
 * (moved here from deliver_route.c: the DNS setup check asks it too)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"
#include "mail/conf.h"
#include "mail/selfaddr.h"

int
self_addrs_refresh(struct self_addrs *l)
{
	struct ifaddrs *ifa, *p;

	self_addrs_clear(l);
	if (getifaddrs(&ifa) < 0)
		return -1;
	for (p = ifa; p != NULL; p = p->ifa_next) {
		if (p->ifa_addr == NULL || (p->ifa_addr->sa_family != AF_INET &&
		    p->ifa_addr->sa_family != AF_INET6))
			continue;
		l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
		memset(&l->v[l->n], 0, sizeof(*l->v));
		memcpy(&l->v[l->n], p->ifa_addr,
		    p->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
		    sizeof(struct sockaddr_in6));
		l->n++;
	}
	freeifaddrs(ifa);
	return 0;
}

void
self_addrs_clear(struct self_addrs *l)
{
	xfree(&l->v);
	l->n = 0;
}

/*
 * self_addr_norm - sa, or its IPv4 form in *buf when it is an
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d reaches a.b.c.d, so it must
 * compare equal to it)
 */
static const struct sockaddr *
self_addr_norm(const struct sockaddr *sa, struct sockaddr_storage *buf)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
	struct sockaddr_in *s4 = (struct sockaddr_in *)buf;

	if (sa->sa_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return sa;
	memset(buf, 0, sizeof(*buf));
	s4->sin_family = AF_INET;
	memcpy(&s4->sin_addr, &s6->sin6_addr.s6_addr[12], 4);
	return (const struct sockaddr *)buf;
}

/* self_same_addr - same IP address (ports ignored)? */
bool
self_same_addr(const struct sockaddr *a0, const struct sockaddr *b0)
{
	struct sockaddr_storage abuf = { 0 }, bbuf = { 0 };
	const struct sockaddr *a = self_addr_norm(a0, &abuf);
	const struct sockaddr *b = self_addr_norm(b0, &bbuf);

	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)(const void *)b)->sin_addr.s_addr;
	if (a->sa_family != AF_INET6)
		return false;
	return memcmp(&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
	    &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr,
	    sizeof(struct in6_addr)) == 0;
}

/* self_addr_this_host - 0.0.0.0/8 or "::": this host (RFC 1122 3.2.1.3)? */
static bool
self_addr_this_host(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr.s_addr) >> 24) == 0;
	return IN6_IS_ADDR_UNSPECIFIED(
	    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
}

/* self_addr_loopback - 127.0.0.0/8 or ::1? */
static bool
self_addr_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(
	    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
}

/* What our SMTP listeners on one port take (self_listener). */
#define LISTEN_PORT	0x1u	/* some listener has this port */
#define LISTEN_ANY	0x2u	/* one listens on every address (wildcard) */
#define LISTEN_ADDR	0x4u	/* one listens on exactly the address asked */

/* self_listener - LISTEN_* bits for our smtp_listen entries on port and sa */
static unsigned
self_listener(const struct config *cfg, unsigned port, const struct sockaddr *sa)
{
	unsigned bits = 0;
	size_t i;

	for (i = 0; i < cfg->smtp_listen.n; i++) {
		const struct hostport *hp = &cfg->smtp_listen.v[i];
		struct addrinfo hints = { .ai_flags = AI_NUMERICHOST,
		    .ai_socktype = SOCK_STREAM }, *res;
		struct servent *se;
		char *end;
		unsigned long n = strtoul(hp->port, &end, 10);

		if (*end != '\0' || end == hp->port)
			n = (se = getservbyname(hp->port, "tcp")) != NULL ?
			    ntohs((uint16_t)se->s_port) : 0;
		if (n != port)
			continue;
		bits |= LISTEN_PORT;
		if (hp->host[0] == '\0') {
			bits |= LISTEN_ANY;
			continue;
		}
		/* A listener named by host name is known by its interface address. */
		if (getaddrinfo(hp->host, NULL, &hints, &res) != 0)
			continue;
		if (self_addr_this_host(res->ai_addr))
			bits |= LISTEN_ANY;
		else if (self_same_addr(res->ai_addr, sa))
			bits |= LISTEN_ADDR;
		freeaddrinfo(res);
	}
	return bits;
}

bool
self_addr_is_us(const struct config *cfg, const struct self_addrs *l,
    const struct sockaddr *sa0, unsigned port, bool mx)
{
	struct sockaddr_storage buf;
	const struct sockaddr *sa = self_addr_norm(sa0, &buf);
	unsigned bits = self_listener(cfg, port, sa);
	size_t i;

	if (self_addr_this_host(sa))
		return mx || bits != 0;
	if (bits == 0)
		return false;
	if (bits & LISTEN_ADDR)
		return true;
	for (i = 0; i < l->n; i++)
		if (self_same_addr(sa, (const struct sockaddr *)&l->v[i]))
			return true;
	return (bits & LISTEN_ANY) && self_addr_loopback(sa);
}
