/*
 * fuzz_domains - the domains table loader (lib/mail/domains.c) with the
 * route, time, TLS, netlist and recipients= grammars it uses. The input
 * is written as the domains file of a scratch configuration and loaded
 * as config_load() loads it.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* lib/util */
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/address.h"
#include "mail/conf.h"
#include "mail/domains.h"

#include "t/fuzz/fuzz.h"

static struct config *cfg;
static char *path;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char conf[] = "myhostname = mx.example\ndomains_file =\n";
	static const char rcpts[] = "alice\nbob@site.example\n";
	struct config_errors errs = { 0 };
	char *p;

	fuzz_quiet("fuzz_domains");
	p = xasprintf("%s/sluice.conf", fuzz_tmpdir());
	fuzz_write(p, (const uint8_t *)conf, sizeof(conf) - 1);
	free(p);
	/* A recipients= file the input may name. */
	p = xasprintf("%s/rcpts", fuzz_tmpdir());
	fuzz_write(p, (const uint8_t *)rcpts, sizeof(rcpts) - 1);
	free(p);
	if (config_load(fuzz_tmpdir(), &cfg, &errs) < 0)
		log_panic("load the scratch sluice.conf: %s",
		    errs.n > 0 ? errs.msg[0] : "?");
	path = xasprintf("%s/domains", fuzz_tmpdir());
	return 0;
}

/* check_one - what the loader promises of every domain it keeps */
static int
check_one(const struct domain *d, void *ctx)
{
	const struct domain_table *t = ctx;
	size_t i;

	FUZZ_CHECK(address_domain_ok(d->name, strlen(d->name)));
	for (i = 0; d->name[i] != '\0'; i++)
		FUZZ_CHECK(!(d->name[i] >= 'A' && d->name[i] <= 'Z'));
	FUZZ_CHECK(domain_find(t, d->name) == d);
	FUZZ_CHECK(d->route.mx == (d->route.host == NULL));
	FUZZ_CHECK(d->route.mx == (d->route.port == 0));
	FUZZ_CHECK(d->lease >= 0 && d->lifetime >= 0 && d->warn >= 0 &&
	    d->probe >= 0);
	(void)domain_mode_name(d->mode);
	(void)route_tls_name(d->tls);
	(void)domain_rcpt_known(d, "alice@site.example");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors errs = { 0 };
	struct domain_table *t = NULL;
	size_t n = 0;

	if (size > 64 * 1024)
		return 0;
	fuzz_write(path, data, size);
	if (domain_table_load(path, cfg, &t, &errs) < 0) {
		FUZZ_CHECK(t == NULL && errs.n > 0);
	} else {
		FUZZ_CHECK(domain_table_walk(t, check_one, t) == 0);
		n = domain_count(t);
		FUZZ_CHECK(n <= size);
		domain_table_free(&t);
	}
	config_errors_clear(&errs);
	return 0;
}
