/*
 * route_test - the route= and tls= grammars (lib/mail/route.c)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/route.h"
#include "util/xmalloc.h"
#include "tap.h"

/* Routes the domains file takes, and the value each one is. */
static const struct {
	const char *text;
	bool mx;
	const char *host;
	unsigned port;
	bool client;
} good[] = {
	{ "mx", true, NULL, 0, false },
	{ "MX", true, NULL, 0, false },
	{ "[127.0.0.1]:2626", false, "127.0.0.1", 2626, false },
	{ "[mail.site.example]", false, "mail.site.example", 25, false },
	{ "[Mail.Site.Example]:587", false, "Mail.Site.Example", 587, false },
	{ "[localhost]:1", false, "localhost", 1, false },
	{ "[::1]:25", false, "::1", 25, false },
	{ "[2001:db8::25]", false, "2001:db8::25", 25, false },
	{ "[::ffff:192.0.2.1]:65535", false, "::ffff:192.0.2.1", 65535, false },
	{ "[host]:025", false, "host", 25, false },
	{ "client", false, NULL, 25, true },
	{ "Client:2626", false, NULL, 2626, true },
};

/* Routes it refuses: what deliver could not connect to. */
static const struct {
	const char *text;
	const char *hint;
} bad[] = {
	{ "", "bad route; use route=[host]:port, route=[host], route=mx or route=client" },
	{ "client:", "bad route port; use a number from 1 to 65535 after \"client:\"" },
	{ "client:0", "bad route port" },
	{ "clients", "bad route; use" },
	{ "client:[1.2.3.4]", "bad route port" },
	{ "host:25", "bad route; use" },
	{ "host", "bad route; use" },
	{ "mx:25", "bad route; use" },
	{ "[host", "bad route; use" },
	{ "[host]25", "bad route; use" },
	{ "[host]x", "bad route; use" },
	{ "[host]:", "bad route port; use a number from 1 to 65535" },
	{ "[host]:0", "bad route port" },
	{ "[host]:65536", "bad route port" },
	{ "[host]:123456", "bad route port" },
	{ "[host]:-1", "bad route port" },
	{ "[host]:+25", "bad route port" },
	{ "[host]: 25", "bad route port" },
	{ "[host]:25x", "bad route port" },
	{ "[]:25", "bad route host; put a host name or an IP address" },
	{ "[]", "bad route host" },
	{ "[mail host]:25", "bad route host" },
	{ "[mail\thost]", "bad route host" },
	{ "[host!]:25", "bad route host" },
	{ "[a..b]", "bad route host" },
	{ "[-host]", "bad route host" },
	{ "[[127.0.0.1]]", "bad route; use" },
	{ "[[127.0.0.1]", "bad route host" },
	{ "[mail/host]:25", "bad route host" },
	{ "[host.example.]", "bad route host" },
	{ "[a:b:c]", "bad route host" },
	{ "[1:2]", "bad route host" },
	{ "[::::::]", "bad route host" },
	{ "[fe80::1%eth0]", "bad route host" },
	{ "[2001:db8::g]", "bad route host" },
};

/* test_good - each parses to its value, and its text reads back the same */
static void
test_good(void)
{
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct route r = { .mx = true }, back = { .mx = true };
		const char *hint = NULL;
		char *text;

		int rc = route_parse(good[i].text, &r, &hint);

		if (!ok(rc == 0, "route %s: parsed (%s)", good[i].text,
		    rc == 0 ? "ok" : hint))
			continue;
		ok(r.mx == good[i].mx && r.port == good[i].port && r.client == good[i].client &&
		    (good[i].host == NULL ? r.host == NULL :
		    r.host != NULL && strcmp(r.host, good[i].host) == 0),
		    "route %s: got mx %d host %s port %u", good[i].text, r.mx,
		    r.host ? r.host : "(null)", r.port);
		/* What qmgr writes into a job is what deliver reads back. */
		text = route_format(&r);
		ok(route_parse(text, &back, &hint) == 0 && back.mx == r.mx &&
		    back.port == r.port && back.client == r.client &&
		    (r.mx || r.client || strcmp(back.host, r.host) == 0),
		    "route %s: formats as %s, which reads back the same",
		    good[i].text, text);
		free(text);
		route_clear(&r);
		route_clear(&back);
	}
}

/* test_bad - each is refused with the hint, and the old value stays */
static void
test_bad(void)
{
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct route r = { .mx = true };
		const char *hint = NULL;
		int rc;

		if (route_parse("[keep.example]:26", &r, &hint) < 0) {
			printf("Bail out! a good route is refused\n");
			exit(1);
		}
		hint = NULL;
		rc = route_parse(bad[i].text, &r, &hint);
		ok(rc < 0 && hint != NULL &&
		    strncmp(hint, bad[i].hint, strlen(bad[i].hint)) == 0,
		    "route \"%s\" refused: %s", bad[i].text,
		    rc < 0 ? hint : "(accepted)");
		ok(!r.mx && strcmp(r.host, "keep.example") == 0 && r.port == 26,
		    "route \"%s\": the old value stays", bad[i].text);
		route_clear(&r);
		ok(r.mx && r.host == NULL && r.port == 0,
		    "route_clear leaves route=mx");
	}
}

/* test_tls - the three words, any case; nothing else */
static void
test_tls(void)
{
	static const struct {
		const char *text;
		int want;		/* enum route_tls, or -1 */
	} words[] = {
		{ "may", ROUTE_TLS_MAY },
		{ "encrypt", ROUTE_TLS_ENCRYPT },
		{ "verify", ROUTE_TLS_VERIFY },
		{ "VERIFY", ROUTE_TLS_VERIFY },
		{ "Encrypt", ROUTE_TLS_ENCRYPT },
		{ "none", -1 },
		{ "", -1 },
		{ "must", -1 },
		{ "may ", -1 },
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		enum route_tls tls = ROUTE_TLS_VERIFY;
		const char *hint = NULL;
		int rc = route_tls_parse(words[i].text, &tls, &hint);

		if (words[i].want < 0)
			ok(rc < 0 && hint != NULL && strcmp(hint, "bad value; "
			    "use tls=may, tls=encrypt, tls=verify") == 0,
			    "tls=%s refused: %s", words[i].text,
			    hint ? hint : "(accepted)");
		else
			ok(rc == 0 && (int)tls == words[i].want &&
			    route_tls_parse(route_tls_name(tls), &tls, &hint) == 0 &&
			    (int)tls == words[i].want,
			    "tls=%s: %s, which reads back", words[i].text,
			    route_tls_name(tls));
	}
	ok(strcmp(route_tls_name((enum route_tls)7), "may") == 0,
	    "an out-of-range value is named may");
}

int
main(void)
{
	test_good();
	test_bad();
	test_tls();
	return tap_done();
}
