/*
 * home - the home host of a customer domain in a fleet (rendezvous hashing)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "mail/conf.h"
#include "mail/domains.h"
#include "mail/home.h"
#include "util/xmalloc.h"

char *
home_name(const struct hostport *hp)
{
	char *name, *p;

	name = strchr(hp->host, ':') != NULL ?
	    xasprintf("[%s]:%s", hp->host, hp->port) :
	    xasprintf("%s:%s", hp->host, hp->port);
	for (p = name; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return name;
}

/* home_parse_one - text as exactly one host:port with a host; 0/-1 */
static int
home_parse_one(const char *text, struct hostport_list *l_r)
{
	const char *hint;

	if (config_parse_hostports(text, l_r, &hint) < 0)
		return -1;
	if (l_r->n != 1 || l_r->v[0].host[0] == '\0') {
		config_hostports_clear(l_r);
		return -1;
	}
	return 0;
}

char *
home_self(const struct config *cfg)
{
	struct hostport_list l = { 0, NULL };
	struct hostport hp;
	char *name;

	if (cfg->fleet_name[0] != '\0' && home_parse_one(cfg->fleet_name, &l) == 0) {
		name = home_name(&l.v[0]);
		config_hostports_clear(&l);
		return name;
	}
	if (cfg->smtp_listen.n == 0)
		return xasprintf("%s:25", cfg->myhostname);
	/* A wildcard listener answers on every address: name the host. */
	hp = cfg->smtp_listen.v[0];
	if (hp.host[0] == '\0' || strcmp(hp.host, "0.0.0.0") == 0 || strcmp(hp.host, "::") == 0)
		hp.host = cfg->myhostname;
	return home_name(&hp);
}

/* home_fmix64 - MurmurHash3's 64-bit finaliser: every input bit moves every output bit */
static uint64_t
home_fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* home_fnv - FNV-1a-64 over the lowercased bytes of s, continuing from h */
static uint64_t
home_fnv(uint64_t h, const char *s)
{
	for (; *s != '\0'; s++) {
		h ^= (uint64_t)tolower((unsigned char)*s);
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t
home_weight(const char *member, const char *domain)
{
	uint64_t h = home_fnv(0xcbf29ce484222325ULL, member);

	/* The NUL between them: ("ab", "c") and ("a", "bc") differ. */
	h *= 0x100000001b3ULL;
	return home_fmix64(home_fnv(h, domain));
}

/* home_better - does member a (weight wa) beat b (weight wb)? */
static bool
home_better(const char *a, uint64_t wa, const char *b, uint64_t wb)
{
	return wa > wb || (wa == wb && strcmp(a, b) < 0);
}

int
home_member(const struct config *cfg, const char *text, char **name_r)
{
	struct hostport_list l = { 0, NULL };
	char *name, *self, *peer;
	size_t i;
	bool found;

	if (home_parse_one(text, &l) < 0)
		return -1;
	name = home_name(&l.v[0]);
	config_hostports_clear(&l);
	self = home_self(cfg);
	found = strcmp(name, self) == 0;
	free(self);
	for (i = 0; !found && i < cfg->peers.n; i++) {
		peer = home_name(&cfg->peers.v[i]);
		found = strcmp(name, peer) == 0;
		free(peer);
	}
	if (!found) {
		free(name);
		return -1;
	}
	*name_r = name;
	return 0;
}

char *
home_of(const struct config *cfg, const char *domain)
{
	const struct domain *d = cfg->domains != NULL ?
	    domain_find(cfg->domains, domain) : NULL;
	char *best, *peer;
	uint64_t wbest, w;
	size_t i;

	if (d != NULL && d->home != NULL)
		return xstrdup(d->home);
	best = home_self(cfg);
	wbest = home_weight(best, domain);
	for (i = 0; i < cfg->peers.n; i++) {
		peer = home_name(&cfg->peers.v[i]);
		w = home_weight(peer, domain);
		if (home_better(peer, w, best, wbest)) {
			free(best);
			best = peer;
			wbest = w;
		} else {
			free(peer);
		}
	}
	return best;
}

int
home_route(const struct config *cfg, const char *domain, struct route *r)
{
	char *home, *self, *peer, *text = NULL;
	const char *hint;
	size_t i;
	int ret = 0;

	if (cfg->peers.n == 0)
		return 0;
	home = home_of(cfg, domain);
	self = home_self(cfg);
	for (i = 0; text == NULL && strcmp(home, self) != 0 && i < cfg->peers.n; i++) {
		peer = home_name(&cfg->peers.v[i]);
		if (strcmp(peer, home) == 0)
			text = xasprintf("[%s]:%s", cfg->peers.v[i].host,
			    cfg->peers.v[i].port);
		free(peer);
	}
	/* home_check() saw to it that the peer is a valid route. */
	if (text != NULL && route_parse(text, r, &hint) == 0)
		ret = 1;
	free(text);
	free(self);
	free(home);
	return ret;
}

void
home_check(const struct config *cfg, const char *file, struct config_errors *errs)
{
	struct hostport_list l = { 0, NULL };
	struct route r = { .mx = true };
	const char *hint;
	char *text;
	size_t i;

	if (cfg->fleet_name[0] != '\0') {
		if (home_parse_one(cfg->fleet_name, &l) < 0)
			config_errors_add(errs, "%s: fleet_name = \"%s\": bad name; write this "
			    "host's SMTP listener as the other hosts' peers lists name it, "
			    "host:port", file, cfg->fleet_name);
		config_hostports_clear(&l);
	}
	for (i = 0; i < cfg->peers.n; i++) {
		const struct hostport *hp = &cfg->peers.v[i];

		text = xasprintf("[%s]:%s", hp->host, hp->port);
		if (hp->host[0] == '\0' || route_parse(text, &r, &hint) < 0)
			config_errors_add(errs, "%s: peers: \"%s:%s\": a peer is the "
			    "host:port of its SMTP listener, a host and a port number "
			    "(mail for the domains it is home of goes there)", file,
			    hp->host[0] != '\0' ? hp->host : "*", hp->port);
		route_clear(&r);
		free(text);
	}
}
