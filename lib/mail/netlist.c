/*
 * netlist - client network lists (mynetworks, etrn_from=)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/conf.h"
#include "mail/netlist.h"
#include "util/xmalloc.h"

struct net {
	int family;		/* AF_INET or AF_INET6 */
	unsigned int bits;	/* prefix length */
	uint8_t addr[16];	/* network address, host bits cleared */
};

struct netlist {
	size_t n;
	struct net *v;
};

/* net_mask - clear the bits of addr past the prefix */
static void
net_mask(uint8_t *addr, size_t len, unsigned int bits)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (bits >= 8)
			bits -= 8;
		else {
			addr[i] &= (uint8_t)(0xff << (8 - bits));
			bits = 0;
		}
	}
}

/* net_parse - one entry: "10.0.0.0/8", "10.1.2.3", "[::1]/128", "::1" */
static int
net_parse(const char *s, size_t len, struct net *net)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *host, *end;
	unsigned long bits;
	size_t alen;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	host = buf;
	slash = NULL;
	if (host[0] == '[') {
		/* "[v6]" or "[v6]/bits": the brackets are Postfix's notation. */
		end = strchr(host, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != '/'))
			return -1;
		*end = '\0';
		host++;
		if (end[1] == '/')
			slash = end + 1;
	} else if ((slash = strchr(host, '/')) != NULL)
		*slash = '\0';
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET, host, net->addr) == 1) {
		net->family = AF_INET;
		alen = 4;
	} else if (inet_pton(AF_INET6, host, net->addr) == 1) {
		net->family = AF_INET6;
		alen = 16;
	} else
		return -1;
	net->bits = (unsigned int)alen * 8;
	if (slash != NULL) {
		slash++;
		if (*slash < '0' || *slash > '9')
			return -1;
		bits = strtoul(slash, &end, 10);
		if (*end != '\0' || bits > alen * 8)
			return -1;
		net->bits = (unsigned int)bits;
	}
	net_mask(net->addr, alen, net->bits);
	return 0;
}

/* netlist_parse - parse a list of networks */
int
netlist_parse(const char *text, struct netlist **nl_r, char **err_r)
{
	struct netlist *nl;
	const char *p = text, *tok;
	size_t len;

	nl = xcalloc(1, sizeof(*nl));
	while ((tok = config_list_next(&p, &len)) != NULL) {
		nl->v = xreallocarray(nl->v, nl->n + 1, sizeof(*nl->v));
		if (net_parse(tok, len, &nl->v[nl->n]) < 0) {
			*err_r = xasprintf("bad network \"%.*s\"; use an "
			    "address or address/bits, e.g. 10.0.0.0/8 or "
			    "[2001:db8::]/32", (int)len, tok);
			netlist_free(&nl);
			*nl_r = NULL;
			return -1;
		}
		nl->n++;
	}
	*nl_r = nl;
	return 0;
}

/* netlist_free - free a list, NULL the pointer */
void
netlist_free(struct netlist **nlp)
{
	if (*nlp == NULL)
		return;
	free((*nlp)->v);
	xfree(nlp);
}

/* net_match - does addr (len bytes, family) fall in net? */
static bool
net_match(const struct net *net, int family, const uint8_t *addr)
{
	uint8_t copy[16];
	size_t len = family == AF_INET ? 4 : 16;

	if (net->family != family)
		return false;
	memcpy(copy, addr, len);
	net_mask(copy, len, net->bits);
	return memcmp(copy, net->addr, len) == 0;
}

/* netlist_match - is the address in one of the networks? */
bool
netlist_match(const struct netlist *nl, const struct sockaddr *sa)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	const uint8_t *a4 = NULL, *a6 = NULL;
	size_t i;

	if (nl == NULL || sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		a4 = (const uint8_t *)&sin->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		a6 = sin6->sin6_addr.s6_addr;
		/* A dual-stack socket shows IPv4 clients as ::ffff:a.b.c.d. */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			a4 = a6 + 12;
	} else
		return false;
	for (i = 0; i < nl->n; i++) {
		if (a4 != NULL && net_match(&nl->v[i], AF_INET, a4))
			return true;
		if (a6 != NULL && net_match(&nl->v[i], AF_INET6, a6))
			return true;
	}
	return false;
}

/* netlist_count - number of entries */
size_t
netlist_count(const struct netlist *nl)
{
	return nl == NULL ? 0 : nl->n;
}
