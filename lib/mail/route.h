/*
 * route - the route= and tls= vocabularies of a customer domain
 * (sluice-domains(5)), one parser each.
 *
 *	route=mx		look up the domain's MX hosts (the default)
 *	route=[host]:port	that host, no MX lookup: a host name or an
 *	route=[host]		IPv4 or IPv6 address; the port is 1-65535,
 *				25 when not given
 *	route=client[:port]	the address the domain's authenticated
 *				trigger came from (web login, ETRN after
 *				AUTH), for the life of its lease; qmgr puts
 *				that address in the job, so deliver never
 *				sees the word
 *	tls=may|encrypt|verify	what deliver demands of the server
 *
 * Words are case-insensitive. domains.c reads both from the domains
 * file, qmgr writes them into a job record (route_format, route_tls_name)
 * and deliver reads them back with the same parsers: whatever
 * `sluice config check` passes, deliver takes.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_MAIL_ROUTE_H
#define SLUICE_MAIL_ROUTE_H

#include <stdbool.h>

#define ROUTE_PORT_DEFAULT	25	/* of route=[host] */

/* A parsed route=. */
struct route {
	bool mx;		/* route=mx: look up the MX hosts */
	char *host;		/* without brackets; NULL if mx or client */
	unsigned port;		/* 1-65535; 0 if mx */
	bool client;		/* route=client: the trigger's address (mx false, host NULL) */
};

/* tls=: what deliver demands of the customer's server */
enum route_tls {
	ROUTE_TLS_MAY = 0,	/* STARTTLS if offered, else plain (the default) */
	ROUTE_TLS_ENCRYPT = 1,	/* STARTTLS required, certificate not checked */
	ROUTE_TLS_VERIFY = 2,	/* STARTTLS required, certificate verified */
};

/*
 * route_parse - text as a route. On success returns 0 and stores it in
 * *r (route_clear() frees the old value first); on failure returns -1,
 * leaves *r alone and sets *hint_r to a static "bad ...; use ..." text
 * for the error message.
 */
int route_parse(const char *text, struct route *r, const char **hint_r);

/* route_format - the text route_parse() reads back: "mx", "[host]:port" or "client:port" (new string) */
char *route_format(const struct route *r);

/* route_clear - free what r holds; it is route=mx afterwards */
void route_clear(struct route *r);

/* route_tls_parse - a tls= word; 0, or -1 with *hint_r as route_parse() */
int route_tls_parse(const char *text, enum route_tls *tls_r,
    const char **hint_r);

/* route_tls_name - the tls= word of a value */
const char *route_tls_name(enum route_tls tls);

#endif
