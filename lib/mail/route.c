/*
 * route - the route= and tls= grammars of a customer domain
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/address.h"
#include "mail/route.h"
#include "util/xmalloc.h"

#define ROUTE_HINT	"use route=[host]:port, route=[host], route=mx or route=client"

/* route_host_ok - a host name or an IP address, as the resolver takes it */
static bool
route_host_ok(const char *host)
{
	struct in6_addr a6;

	if (host[0] == '[')
		return false;
	return address_domain_ok(host, strlen(host)) ||
	    inet_pton(AF_INET6, host, &a6) == 1;
}

/* route_port_parse - 1-65535 in decimal, at most 5 digits */
static bool
route_port_parse(const char *s, unsigned *port_r)
{
	size_t len = strlen(s);
	long n;

	if (len < 1 || len > 5 || strspn(s, "0123456789") != len)
		return false;
	n = atol(s);
	if (n < 1 || n > 65535)
		return false;
	*port_r = (unsigned)n;
	return true;
}

int
route_parse(const char *text, struct route *r, const char **hint_r)
{
	const char *close;
	unsigned port = ROUTE_PORT_DEFAULT;
	char *host;

	if (strcasecmp(text, "mx") == 0) {
		route_clear(r);
		return 0;
	}
	/* No fixed address: the authenticated trigger's, port 25 unless given. */
	if (strncasecmp(text, "client", 6) == 0 && (text[6] == '\0' || text[6] == ':')) {
		if (text[6] == ':' && !route_port_parse(text + 7, &port)) {
			*hint_r = "bad route port; use a number from 1 to 65535 "
			    "after \"client:\"";
			return -1;
		}
		route_clear(r);
		r->mx = false;
		r->client = true;
		r->port = port;
		return 0;
	}
	/* Brackets as in Postfix: the host itself, no MX lookup. */
	if (text[0] != '[' || (close = strchr(text, ']')) == NULL ||
	    (close[1] != '\0' && close[1] != ':')) {
		*hint_r = "bad route; " ROUTE_HINT;
		return -1;
	}
	if (close[1] == ':' && !route_port_parse(close + 2, &port)) {
		*hint_r = "bad route port; use a number from 1 to 65535 "
		    "after \"]:\"";
		return -1;
	}
	host = xstrndup(text + 1, (size_t)(close - text - 1));
	if (!route_host_ok(host)) {
		free(host);
		*hint_r = "bad route host; put a host name or an IP address "
		    "between the brackets";
		return -1;
	}
	route_clear(r);
	r->mx = false;
	r->host = host;
	r->port = port;
	return 0;
}

char *
route_format(const struct route *r)
{
	if (r->mx)
		return xstrdup("mx");
	if (r->client)
		return xasprintf("client:%u", r->port);
	return xasprintf("[%s]:%u", r->host, r->port);
}

void
route_clear(struct route *r)
{
	xfree(&r->host);
	r->mx = true;
	r->client = false;
	r->port = 0;
}

/* The tls= words, indexed by enum route_tls. */
static const char *const route_tls_words[] = {
	[ROUTE_TLS_MAY] = "may",
	[ROUTE_TLS_ENCRYPT] = "encrypt",
	[ROUTE_TLS_VERIFY] = "verify",
};

#define NTLS (sizeof(route_tls_words) / sizeof(route_tls_words[0]))

int
route_tls_parse(const char *text, enum route_tls *tls_r, const char **hint_r)
{
	size_t i;

	for (i = 0; i < NTLS; i++)
		if (strcasecmp(route_tls_words[i], text) == 0) {
			*tls_r = (enum route_tls)i;
			return 0;
		}
	*hint_r = "bad value; use tls=may, tls=encrypt, tls=verify";
	return -1;
}

const char *
route_tls_name(enum route_tls tls)
{
	return (size_t)tls < NTLS ? route_tls_words[tls] : "may";
}
