/*
 * domains_test - the domains table, recipient lists, network lists and home hosts
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "mail/conf.h"
#include "mail/domains.h"
#include "mail/home.h"
#include "mail/route.h"
#include "mail/netlist.h"
#include "util/xmalloc.h"
#include "tap.h"
#include "testutil.h"

static char dir[] = "/tmp/sluice-domains-test.XXXXXX";

/* load_domains - a config whose domains file is text; NULL on errors,
 * with the messages joined in *err_r */
static struct config *
load_domains(const char *conf, const char *text, char **err_r)
{
	struct config_errors errs = { 0 };
	struct config *cfg;
	char *tmp;
	size_t i;

	test_put(dir, "sluice.conf", conf);
	test_put(dir, "domains", text);
	/* A fleet (peers) needs its shared secret at load. */
	test_put(dir, "peer_secret", "domains-test-secret-0123456789\n");
	config_load(dir, &cfg, &errs);
	*err_r = xstrdup("");
	for (i = 0; i < errs.n; i++) {
		tmp = xasprintf("%s%s%s", *err_r, i ? " | " : "", errs.msg[i]);
		free(*err_r);
		*err_r = tmp;
	}
	config_errors_clear(&errs);
	return cfg;
}

/* sa_of - a sockaddr for a textual IPv4 or IPv6 address */
static const struct sockaddr *
sa_of(const char *addr, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	else {
		printf("Bail out! bad test address %s\n", addr);
		exit(1);
	}
	return (const struct sockaddr *)ss;
}

static const struct {
	const char *list;
	const char *addr;
	bool want;
} matches[] = {
	{ "127.0.0.0/8 [::1]/128", "127.0.0.1", true },
	{ "127.0.0.0/8 [::1]/128", "127.255.1.2", true },
	{ "127.0.0.0/8 [::1]/128", "128.0.0.1", false },
	{ "127.0.0.0/8 [::1]/128", "::1", true },
	{ "127.0.0.0/8 [::1]/128", "::2", false },
	{ "127.0.0.0/8 [::1]/128", "::ffff:127.0.0.1", true },
	{ "127.0.0.0/8 [::1]/128", "::ffff:10.0.0.1", false },
	{ "10.1.2.3", "10.1.2.3", true },
	{ "10.1.2.3", "10.1.2.4", false },
	{ "10.1.2.3,192.168.0.0/16", "192.168.77.1", true },
	{ "10.1.2.3/24", "10.1.2.200", true },
	{ "10.1.2.0/23", "10.1.3.1", true },
	{ "10.1.2.0/23", "10.1.4.1", false },
	{ "0.0.0.0/0", "203.0.113.9", true },
	{ "0.0.0.0/0", "2001:db8::1", false },
	{ "[::]/0", "2001:db8::1", true },
	{ "2001:db8::/32", "2001:db8:ffff::1", true },
	{ "2001:db8::/32", "2001:db9::1", false },
	{ "[2001:db8:1::]/48", "2001:db8:1:ff::1", true },
	{ "2001:db8::1", "2001:db8::1", true },
	{ "203.0.113.0/25", "::ffff:203.0.113.127", true },
	{ "203.0.113.0/25", "::ffff:203.0.113.128", false },
	{ "", "127.0.0.1", false },
};

static const char *const bad_nets[] = {
	"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "10.0.0", "[10.0.0.1",
	"[::1]x", "::1/129", "host.example", "10.0.0.0/8/8", "[::1]/-1",
};

static void
test_netlist(void)
{
	struct sockaddr_storage ss;
	struct netlist *nl;
	char *err;
	size_t i;

	for (i = 0; i < sizeof(matches) / sizeof(matches[0]); i++) {
		if (netlist_parse(matches[i].list, &nl, &err) < 0) {
			ok(0, "parse \"%s\": %s", matches[i].list, err);
			free(err);
			continue;
		}
		bool got = netlist_match(nl, sa_of(matches[i].addr, &ss));
		ok(got == matches[i].want, "\"%s\" matches %s: got %d, want %d",
		    matches[i].list, matches[i].addr, got, matches[i].want);
		netlist_free(&nl);
	}
	for (i = 0; i < sizeof(bad_nets) / sizeof(bad_nets[0]); i++) {
		int rc = netlist_parse(bad_nets[i], &nl, &err);

		ok(rc == -1 && nl == NULL && strstr(err, "bad network") != NULL,
		    "parse \"%s\": got %d, want -1", bad_nets[i], rc);
		if (rc == 0)
			netlist_free(&nl);
		else
			free(err);
	}
	ok(!netlist_match(NULL, sa_of("127.0.0.1", &ss)), "NULL list matches nothing");
}

static void
test_keys(void)
{
	struct config *cfg;
	struct sockaddr_storage ss;
	const struct domain *d;
	char *err;

	test_put(dir, "rcpts", "# users of site.example\nAlice\nbob@Site.Example\n\n  carol  # the boss\n");
	cfg = load_domains("default_lease = 20m\ndelay_warning_time = 4h\n",
	    "# customers\n"
	    "site.example mode=hold route=[127.0.0.1]:2626 finger=yes owner=demo\n"
	    "\n"
	    "Other.Example\tmode=backup route=mx lease=1h lifetime=2d warn=no "
	    "probe=no tls=verify etrn_from=192.0.2.0/24,[2001:db8::]/32 "
	    "group=dialup notify=ops@example.net recipients=rcpts   # trailing\n"
	    "third.example route=[mail.third.example] probe=30m tls=encrypt\n"
	    "v6.example route=[::1]:25\n",
	    &err);
	ok(cfg != NULL, "load keys: got \"%s\"", err);
	free(err);
	if (cfg == NULL)
		return;
	ok(domain_count(cfg->domains) == 4, "count: got %zu, want 4",
	    domain_count(cfg->domains));

	d = domain_find(cfg->domains, "SITE.example");
	ok(d != NULL && strcmp(d->name, "site.example") == 0,
	    "find case-insensitive");
	if (d != NULL) {
		ok(d->mode == DOMAIN_MODE_HOLD && !d->route.mx &&
		    strcmp(d->route.host, "127.0.0.1") == 0 &&
		    d->route.port == 2626,
		    "site route: got %s %s:%u", domain_mode_name(d->mode),
		    d->route.host, d->route.port);
		ok(d->finger && strcmp(d->owner, "demo") == 0 &&
		    d->group == NULL && d->notify == NULL,
		    "site finger/owner: got %d %s", d->finger, d->owner);
		ok(d->lease == 1200 && d->lifetime == 432000 &&
		    d->warn == 14400 && d->probe == 900,
		    "site defaults from sluice.conf: got lease %ld lifetime "
		    "%ld warn %ld probe %ld, want 1200 432000 14400 900",
		    d->lease, d->lifetime, d->warn, d->probe);
		ok(d->tls == ROUTE_TLS_MAY && d->recipients == NULL &&
		    d->etrn_from == NULL, "site tls and lists: defaults");
		ok(domain_rcpt_known(d, "anyone@site.example"),
		    "no recipients= accepts anyone");
		ok(d->line == 2, "site line: got %u, want 2", d->line);
	}

	d = domain_find(cfg->domains, "other.example");
	ok(d != NULL, "find other.example");
	if (d != NULL) {
		ok(d->mode == DOMAIN_MODE_BACKUP && d->route.mx &&
		    d->route.host == NULL, "other mode and route: got %s, mx %d",
		    domain_mode_name(d->mode), d->route.mx);
		ok(d->lease == 3600 && d->lifetime == 172800 && d->warn == 0 &&
		    d->probe == 0, "other times: got %ld %ld %ld %ld",
		    d->lease, d->lifetime, d->warn, d->probe);
		ok(d->tls == ROUTE_TLS_VERIFY, "other tls: got %s",
		    route_tls_name(d->tls));
		ok(strcmp(d->group, "dialup") == 0 &&
		    strcmp(d->notify, "ops@example.net") == 0,
		    "other group, notify: got %s %s", d->group, d->notify);
		ok(netlist_match(d->etrn_from, sa_of("192.0.2.77", &ss)) &&
		    netlist_match(d->etrn_from, sa_of("2001:db8::5", &ss)) &&
		    !netlist_match(d->etrn_from, sa_of("198.51.100.1", &ss)),
		    "other etrn_from");
		static const struct {
			const char *rcpt;
			bool want;
		} rcpts[] = {
			{ "alice@other.example", true },
			{ "ALICE@other.example", true },
			{ "bob@site.example", true },
			{ "BOB@SITE.EXAMPLE", true },
			{ "bob@other.example", false },
			{ "carol@other.example", true },
			{ "dave@other.example", false },
			{ "", false },
		};
		for (size_t i = 0; i < sizeof(rcpts) / sizeof(rcpts[0]); i++) {
			bool got = domain_rcpt_known(d, rcpts[i].rcpt);

			ok(got == rcpts[i].want, "rcpt %s: got %d, want %d",
			    rcpts[i].rcpt, got, rcpts[i].want);
		}
	}

	d = domain_find(cfg->domains, "third.example");
	ok(d != NULL && !d->route.mx &&
	    strcmp(d->route.host, "mail.third.example") == 0 &&
	    d->route.port == 25 && d->probe == 1800 &&
	    d->tls == ROUTE_TLS_ENCRYPT, "third: route [host], probe, tls");
	d = domain_find(cfg->domains, "v6.example");
	ok(d != NULL && strcmp(d->route.host, "::1") == 0 &&
	    d->route.port == 25, "v6 route");
	ok(domain_find(cfg->domains, "nosuch.example") == NULL &&
	    domain_find(cfg->domains, "example") == NULL &&
	    domain_find(cfg->domains, "") == NULL, "unknown domains");
	config_free(&cfg);
}

/* walk_names - collect the names in walk order; stop at "stop" */
static int
walk_names(const struct domain *d, void *ctx)
{
	char **s = ctx, *t = xasprintf("%s%s ", *s, d->name);

	free(*s);
	*s = t;
	return strcmp(d->name, "c.example") == 0 ? 7 : 0;
}

static void
test_walk(void)
{
	struct config *cfg;
	char *err, *names = xstrdup("");
	int rc;

	cfg = load_domains("", "b.example\na.example\nc.example\nd.example\n",
	    &err);
	free(err);
	if (!ok(cfg != NULL, "load walk table"))
		return;
	rc = domain_table_walk(cfg->domains, walk_names, &names);
	ok(rc == 7 && strcmp(names, "b.example a.example c.example ") == 0,
	    "walk: got %d \"%s\"", rc, names);
	free(names);
	config_free(&cfg);
}

static const struct {
	const char *line;
	const char *want;
} bad[] = {
	{ "bad_domain..example\n", "domains:1: bad domain name \"bad_domain..example\"" },
	{ "[127.0.0.1]\n", "bad domain name" },
	{ "a.example mode=park\n", "domains:1: mode=park: bad value; use mode=hold, mode=backup" },
	{ "a.example tls=must\n", "tls=must: bad value; use tls=may, tls=encrypt, tls=verify" },
	{ "a.example route=client\n", "domains:1: route=client needs owner=" },
	{ "a.example route=client:99999 owner=x\n", "route=client:99999: bad route port" },
	{ "a.example route=host:25\n", "route=host:25: bad route; use route=[host]:port, route=[host], route=mx or route=client" },
	{ "a.example route=[host]:0\n", "bad route" },
	{ "a.example route=[host]:x\n", "bad route" },
	{ "a.example route=[]:25\n", "bad route" },
	{ "a.example route=[host]25\n", "bad route" },
	/* What deliver could not use is refused here (route.h). */
	{ "a.example route=[mail!host]:25\n", "domains:1: route=[mail!host]:25: bad route host; put a host name or an IP address between the brackets" },
	{ "a.example route=[a:b:c]\n", "route=[a:b:c]: bad route host" },
	{ "a.example route=[host]:65536\n", "route=[host]:65536: bad route port; use a number from 1 to 65535" },
	{ "a.example lease=5x\n", "lease=5x: bad time value; use a number with s, m, h, d or w" },
	{ "a.example lease=0\n", "lease=0: value too small; use 1s or more" },
	{ "a.example lifetime=no\n", "lifetime=no: bad time value" },
	{ "a.example probe=often\n", "probe=often: bad time value; use a number with s, m, h, d or w, or no" },
	{ "a.example finger=maybe\n", "finger=maybe: bad boolean value; use yes or no" },
	{ "a.example etrn_from=10.0.0.0/40\n", "etrn_from=10.0.0.0/40: bad network" },
	{ "a.example group=a/b\n", "group=a/b: bad name" },
	{ "a.example owner=\n", "owner=: bad name" },
	{ "a.example notify=nobody\n", "notify=nobody: bad address; use local@domain" },
	{ "a.example colour=red\n", "domains:1: unknown key \"colour\"; see sluice-domains(5)" },
	{ "a.example hold\n", "\"hold\" is not key=value" },
	{ "a.example lease=1m lease=2m\n", "lease= given twice" },
	{ "a.example\n# x\nA.EXAMPLE\n", "domains:3: domain \"a.example\" is already listed at line 1; merge the two lines" },
	{ "a.example recipients=nosuch\n", "domains:1: recipients=" },
	{ "a.example recipients=badrcpts\n", "/badrcpts:2: bad recipient \"a@\"; use local@domain or a local part" },
	/* Per-domain caps (quota.h). */
	{ "a.example max_messages=0\n", "domains:1: max_messages=0: a cap of 0 would refuse all mail; use a number of 1 or more, or none" },
	{ "a.example max_messages=1k\n", "max_messages=1k: bad value; use a number of 1 or more, or none" },
	{ "a.example max_bytes=lots\n", "max_bytes=lots: bad value; use a size of 1 or more (with k, M or G), or none" },
	{ "a.example max_bytes=-1\n", "max_bytes=-1: bad value" },
};

/* max_messages= and max_bytes=: their own, sluice.conf's defaults, or none. */
static void
test_caps(void)
{
	struct config *cfg;
	const struct domain *d;
	char *err;

	cfg = load_domains("default_max_messages = 100\ndefault_max_bytes = 10M\n",
	    "a.example\nb.example max_messages=5 max_bytes=3k\n"
	    "c.example max_messages=none max_bytes=NONE\n", &err);
	ok(cfg != NULL, "caps load: got \"%s\"", err ? err : "");
	free(err);
	d = cfg ? domain_find(cfg->domains, "a.example") : NULL;
	ok(d && d->max_messages == 100 && d->max_bytes == 10485760,
	    "a.example takes the defaults: got %ld %ld", d ? d->max_messages : -1,
	    d ? d->max_bytes : -1);
	d = cfg ? domain_find(cfg->domains, "b.example") : NULL;
	ok(d && d->max_messages == 5 && d->max_bytes == 3072,
	    "b.example its own: got %ld %ld", d ? d->max_messages : -1, d ? d->max_bytes : -1);
	d = cfg ? domain_find(cfg->domains, "c.example") : NULL;
	ok(d && d->max_messages == 0 && d->max_bytes == 0,
	    "c.example none: got %ld %ld", d ? d->max_messages : -1, d ? d->max_bytes : -1);
	config_free(&cfg);
	cfg = load_domains("", "a.example\n", &err);
	d = cfg ? domain_find(cfg->domains, "a.example") : NULL;
	ok(d && d->max_messages == 0 && d->max_bytes == 0,
	    "no cap by default: got %ld %ld", d ? d->max_messages : -1, d ? d->max_bytes : -1);
	free(err);
	config_free(&cfg);
}

static void
test_bad(void)
{
	struct config *cfg;
	char *err;
	size_t i;

	test_put(dir, "badrcpts", "good\na@\n");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *name = test_esc(bad[i].line);

		cfg = load_domains("", bad[i].line, &err);
		ok(cfg == NULL && strstr(err, bad[i].want) != NULL,
		    "%s: got \"%s\", want \"%s\"", name, err,
		    bad[i].want);
		free(err);
		free(name);
		config_free(&cfg);
	}
	cfg = load_domains("", "a.example recipients=nosuch\n", &err);
	ok(strstr(err, "/nosuch: open: No such file or directory") != NULL,
	    "missing recipients file: got \"%s\"", err);
	free(err);
	config_free(&cfg);
}

/* Thousands of customer domains load quickly (O(1) per line). */
static void
test_many(void)
{
	struct config *cfg;
	char *text, *err, name[64];
	size_t i, cap = 20000 * 80, len = 0;

	text = xmalloc(cap);
	for (i = 0; i < 20000; i++)
		len += (size_t)snprintf(text + len, cap - len,
		    "customer%zu.example mode=hold route=[10.%zu.%zu.1]:25 "
		    "lease=%zum\n", i, i / 256 % 256, i % 256, i % 50 + 1);
	cfg = load_domains("", text, &err);
	ok(cfg != NULL && domain_count(cfg->domains) == 20000,
	    "20000 domains: got %zu, errors \"%s\"",
	    cfg ? domain_count(cfg->domains) : 0, err);
	if (cfg != NULL) {
		bool all = true;

		for (i = 0; i < 20000; i += 97) {
			snprintf(name, sizeof(name), "CUSTOMER%zu.example", i);
			if (domain_find(cfg->domains, name) == NULL)
				all = false;
		}
		ok(all, "every sampled domain found");
	}
	free(err);
	free(text);
	config_free(&cfg);
}

/* The home host of a domain in a fleet (lib/mail/home.h). */
/*
 * The weight is part of the fleet's protocol: hosts of different
 * versions must agree. Values computed apart from this code (Python).
 */
static const struct {
	const char *member, *domain;
	uint64_t want;
} weights[] = {
	{ "192.0.2.1:25", "site.example", 0xc3578cd0b1ff7821ULL },
	{ "mx2.isp.example:25", "Site.Example", 0x9ed736fab6dbdf59ULL },
	{ "[2001:db8::1]:25", "a.example", 0xc0be6dd662f102e6ULL },
};

#define NDOMAINS 1000

static void
test_home_weight(void)
{
	size_t i;

	for (i = 0; i < sizeof(weights) / sizeof(weights[0]); i++) {
		uint64_t got = home_weight(weights[i].member, weights[i].domain);

		ok(got == weights[i].want, "weight(%s, %s): got %#" PRIx64 ", want %#" PRIx64,
		    weights[i].member, weights[i].domain, got, weights[i].want);
	}
}

/* home_all - the home of d0..d(NDOMAINS-1).example under conf, into out[] */
static void
home_all(const char *conf, char **out)
{
	struct config *cfg;
	char *err, name[64];
	size_t i;

	cfg = load_domains(conf, "", &err);
	ok(cfg != NULL, "load \"%s\": errors \"%s\"", conf, err);
	free(err);
	for (i = 0; i < NDOMAINS; i++) {
		snprintf(name, sizeof(name), "d%zu.example", i);
		out[i] = cfg != NULL ? home_of(cfg, name) : xstrdup("?");
	}
	config_free(&cfg);
}

/* Every host names the same home; a new host takes only its own share. */
static void
test_home_agree(void)
{
	static char *a[NDOMAINS], *b[NDOMAINS], *c[NDOMAINS], *d[NDOMAINS];
	size_t i, same = 0, moved_right = 0, moved = 0, share = 0;

	home_all("fleet_name = 192.0.2.1:25\npeers = 192.0.2.2:25, mx3.example:25\n", a);
	home_all("smtp_listen = 192.0.2.2:25\npeers = MX3.example:25 192.0.2.1:25\n", b);
	home_all("smtp_listen = *:25\nmyhostname = mx3.example\n"
	    "peers = 192.0.2.1:25 192.0.2.2:25\n", c);
	home_all("fleet_name = 192.0.2.1:25\n"
	    "peers = 192.0.2.2:25, mx3.example:25, [2001:db8::4]:25\n", d);
	for (i = 0; i < NDOMAINS; i++) {
		if (strcmp(a[i], b[i]) == 0 && strcmp(a[i], c[i]) == 0)
			same++;
		if (strcmp(a[i], "192.0.2.1:25") == 0)
			share++;
		if (strcmp(a[i], d[i]) != 0) {
			moved++;
			if (strcmp(d[i], "[2001:db8::4]:25") == 0)
				moved_right++;
		}
	}
	ok(same == NDOMAINS, "three hosts agree on %zu of %d homes", same, NDOMAINS);
	ok(share > NDOMAINS / 5 && share < NDOMAINS / 2,
	    "one host of three is home of %zu of %d domains", share, NDOMAINS);
	ok(moved == moved_right && moved > NDOMAINS / 10 && moved < NDOMAINS * 2 / 5,
	    "a fourth host takes %zu domains, all of them moved to it (%zu)", moved_right,
	    moved);
	for (i = 0; i < NDOMAINS; i++) {
		free(a[i]);
		free(b[i]);
		free(c[i]);
		free(d[i]);
	}
}

static void
test_home_override(void)
{
	struct config *cfg;
	struct route r = { .mx = true };
	char *err, *h, *rt;
	int n;

	cfg = load_domains("fleet_name = 192.0.2.1:25\npeers = 192.0.2.2:2525, [2001:DB8::3]:25\n",
	    "one.example home=192.0.2.2:2525\n"
	    "two.example home=[2001:db8::3]:25\n"
	    "three.example home=[192.0.2.1]:25\n", &err);
	ok(cfg != NULL, "home= of each member loads: errors \"%s\"", err);
	free(err);
	if (cfg == NULL)
		return;
	h = home_of(cfg, "ONE.example");
	ok(strcmp(h, "192.0.2.2:2525") == 0, "home= wins: got %s", h);
	free(h);
	n = home_route(cfg, "one.example", &r);
	rt = route_format(&r);
	ok(n == 1 && strcmp(rt, "[192.0.2.2]:2525") == 0, "route to a peer: got %d %s", n, rt);
	free(rt);
	n = home_route(cfg, "two.example", &r);
	rt = route_format(&r);
	ok(n == 1 && strcmp(rt, "[2001:DB8::3]:25") == 0, "route to an IPv6 peer: got %d %s",
	    n, rt);
	free(rt);
	route_clear(&r);
	n = home_route(cfg, "three.example", &r);
	ok(n == 0 && r.mx, "no route when this host is home: got %d", n);
	config_free(&cfg);

	cfg = load_domains("myhostname = mx.example\n", "one.example home=192.0.2.9:25\n", &err);
	ok(cfg == NULL && strstr(err, "home=192.0.2.9:25: not this host (mx.example:25)") != NULL,
	    "a home that is no member is refused: got \"%s\"", err);
	free(err);
	config_free(&cfg);
}

static const struct {
	const char *conf, *want;
} home_bad[] = {
	{ "peers = *:25\n", "sluice.conf: peers: \"*:25\": a peer is" },
	{ "peers = 192.0.2.2:smtp\n", "peers: \"192.0.2.2:smtp\"" },
	{ "fleet_name = :25\n", "sluice.conf: fleet_name = \":25\": bad name" },
	{ "fleet_name = a:25 b:25\n", "fleet_name = \"a:25 b:25\": bad name" },
};

static void
test_home_bad(void)
{
	struct config *cfg;
	char *err;
	size_t i;

	for (i = 0; i < sizeof(home_bad) / sizeof(home_bad[0]); i++) {
		char *name = test_esc(home_bad[i].conf);

		cfg = load_domains(home_bad[i].conf, "", &err);
		ok(cfg == NULL && strstr(err, home_bad[i].want) != NULL,
		    "%s: got \"%s\", want \"%s\"", name, err, home_bad[i].want);
		free(name);
		free(err);
		config_free(&cfg);
	}
}

int
main(void)
{
	test_tmpdir(dir);
	test_netlist();
	test_keys();
	test_walk();
	test_bad();
	test_caps();
	test_many();
	test_home_weight();
	test_home_agree();
	test_home_override();
	test_home_bad();
	test_rmdir(dir);
	return tap_done();
}
