/*
 * home - the home host of a customer domain in a fleet (sluice.conf(5)
 * "peers", sluice-domains(5) "home=").
 *
 * ATRN delivers over the site's own connection, so in a fleet of sluice
 * hosts each held domain has one home host, where the site's ATRN (or
 * ETRN) session finds all of its mail; the other hosts relay the
 * domain's held mail to the home host's SMTP listener.
 *
 * The fleet's members are this host and every entry of peers. Each is
 * named "host:port" as the peers lists write it (host lowercase, an IPv6
 * address in brackets): this host's own name is fleet_name, or else the
 * first smtp_listen address (myhostname when that address is a wildcard:
 * "*", "0.0.0.0" or "::").
 * Every host must name itself as the others' peers lists name it, so that
 * all of them see the same set of names and compute the same home.
 *
 * The home of a domain is its home= in the domains file, or else the
 * member with the highest weight for the domain (rendezvous hashing,
 * RFC 7069's "highest random weight"): weight = fmix64(FNV-1a-64(member
 * NUL domain)), both lowercase; a tie goes to the name that sorts first.
 * Adding a host moves only the domains it now wins; removing one moves
 * only its own. The function has no state and no randomness: every host
 * and every version computes the same answer from the same names.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_MAIL_HOME_H
#define SLUICE_MAIL_HOME_H

#include <stdbool.h>
#include <stdint.h>

#include "mail/route.h"

struct config;
struct config_errors;
struct hostport;

/* home_name - the fleet name of a listen address: "host:port", "[v6]:port" (new string) */
char *home_name(const struct hostport *hp);

/* home_self - this host's fleet name: fleet_name, else from smtp_listen (new string) */
char *home_self(const struct config *cfg);

/* home_weight - the rendezvous weight of member (a fleet name) for domain */
uint64_t home_weight(const char *member, const char *domain);

/*
 * home_member - the fleet name of text ("host:port" or "[host]:port") if
 * it names this host or one of peers: 0 and a new string in *name_r;
 * -1 if it names no member (or is no host:port at all).
 */
int home_member(const struct config *cfg, const char *text, char **name_r);

/*
 * home_of - the fleet name of domain's home host (new string): the home=
 * of its entry in cfg's domains table, else the member of highest weight.
 * Without peers that is always this host.
 */
char *home_of(const struct config *cfg, const char *domain);

/*
 * home_route - where another host's share goes: 1 and the route to
 * domain's home host (its SMTP listener from peers) in *r when that is a
 * peer; 0 when the home is this host (r untouched).
 */
int home_route(const struct config *cfg, const char *domain, struct route *r);

/*
 * home_check - the fleet parameters of cfg, read from file: a peer's port
 * must be a number (it is a route), and fleet_name is one host:port.
 * "FILE: name ..." errors go to errs.
 */
void home_check(const struct config *cfg, const char *file, struct config_errors *errs);

#endif
