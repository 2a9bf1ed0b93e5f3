/*
 * authlock_test - login and client lockout: counting, locking, clearing
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* lib/util */
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/authlock.h"
#include "mail/conf.h"

#include "t/tap.h"
#include "t/testutil.h"

/* record - failures and locked-until of a key's file; -1 -1 if none */
static void
record(const struct config *cfg, const char *name, long long *failures_r,
    long long *until_r)
{
	char *path = xasprintf("%s/private/authlock/%s", cfg->queue_directory, name);
	FILE *fp = fopen(path, "r");
	long long last;

	*failures_r = *until_r = -1;
	if (fp != NULL) {
		if (fscanf(fp, "%lld %lld %lld", failures_r, &last, until_r) != 3)
			*failures_r = *until_r = -1;
		fclose(fp);
	}
	free(path);
}

/* expect - is login from client locked as want says ("not locked" or why)? */
static void
expect(const struct config *cfg, const char *login, const char *client,
    const char *want, const char *name)
{
	const char *why = NULL;
	const char *got = authlock_locked(cfg, login, client, &why) ? why :
	    "not locked";

	ok(strcmp(got, want) == 0, "%s: got %s, want %s", name, got, want);
}

int
main(void)
{
	char tmpl[] = "/tmp/authlock-test-XXXXXX", *priv;
	struct config cfg;
	long long failures, until;
	int i;

	test_tmpdir(tmpl);
	priv = xasprintf("%s/private", tmpl);
	(void)mkdir(priv, 0700);
	memset(&cfg, 0, sizeof(cfg));
	cfg.queue_directory = tmpl;
	cfg.auth_lockout_failures = 3;
	cfg.auth_client_lockout_failures = 5;
	cfg.auth_lockout_time = 600;

	expect(&cfg, "demo", "192.0.2.1", "not locked", "nothing locked at first");
	for (i = 1; i <= 2; i++)
		authlock_fail(&cfg, "demo", "192.0.2.1");
	expect(&cfg, "demo", "192.0.2.1", "not locked", "two failures of three");
	authlock_fail(&cfg, "demo", "192.0.2.1");
	expect(&cfg, "demo", "192.0.2.2", "login locked out",
	    "the third locks the login, from any address");
	expect(&cfg, "other", "192.0.2.2", "not locked",
	    "another login from another address");
	record(&cfg, "L-demo", &failures, &until);
	authlock_fail(&cfg, "demo", "192.0.2.1");
	{
		long long f2, u2;

		record(&cfg, "L-demo", &f2, &u2);
		ok(f2 == failures && u2 == until,
		    "a failure during the lockout neither counts nor prolongs it "
		    "(got %lld/%lld, want %lld/%lld)", f2, u2, failures, until);
	}
	/* The client: 4 failures so far (the last one counted), one more. */
	expect(&cfg, "other", "192.0.2.1", "not locked",
	    "four failures of five from the address");
	authlock_fail(&cfg, "other", "192.0.2.1");
	expect(&cfg, "other", "192.0.2.1", "client locked out",
	    "the fifth locks the address for any login");
	expect(&cfg, "other", "192.0.2.9", "not locked",
	    "that login from elsewhere");

	authlock_success(&cfg, "demo");
	record(&cfg, "L-demo", &failures, &until);
	ok(failures == -1, "a good login clears its count");

	/* Names that cannot be file names are never used as such. */
	authlock_fail(&cfg, "../../etc/x", "192.0.2.3");
	authlock_fail(&cfg, "x", "../../etc/y");
	{
		char *p = xasprintf("%s/etc", tmpl);

		ok(access(p, F_OK) != 0, "no file outside private/authlock");
		free(p);
	}

	cfg.auth_lockout_failures = 0;
	cfg.auth_client_lockout_failures = 0;
	for (i = 0; i < 10; i++)
		authlock_fail(&cfg, "nolimit", "192.0.2.4");
	expect(&cfg, "nolimit", "192.0.2.4", "not locked",
	    "with both limits 0 nothing is ever locked");

	/* The pause before the answer to a failed login, at every door. */
	cfg.auth_failure_delay = 2;
	{
		static const struct { unsigned failures; uint64_t ms; } d[] = {
			{ 1, 2000 }, { 2, 4000 }, { 3, 8000 }, { 5, 32000 },
			{ 6, AUTHLOCK_DELAY_MAX_MS }, { 1000, AUTHLOCK_DELAY_MAX_MS },
		};

		for (i = 0; i < (int)(sizeof(d) / sizeof(d[0])); i++)
			ok(authlock_delay_ms(&cfg, d[i].failures) == d[i].ms,
			    "delay after failure %u: got %llu ms, want %llu", d[i].failures,
			    (unsigned long long)authlock_delay_ms(&cfg, d[i].failures),
			    (unsigned long long)d[i].ms);
	}

	test_rmdir(tmpl);
	free(priv);
	return tap_done();
}
