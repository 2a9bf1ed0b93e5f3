/*
 * config_test - sluice.conf: types, expansion, errors, printing, man page
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/conf.h"
#include "util/xmalloc.h"
#include "tap.h"
#include "testutil.h"

static char tmpdir[] = "/tmp/sluice-config-test.XXXXXX";

/* load - load text as sluice.conf (with an empty domains file) */
static int
load(const char *text, struct config **cfg_r, struct config_errors *errs)
{
	test_put(tmpdir, "sluice.conf", text);
	test_put(tmpdir, "domains", "");
	memset(errs, 0, sizeof(*errs));
	return config_load(tmpdir, cfg_r, errs);
}

/* errors_text - every message joined with " | ", for diagnostics */
static char *
errors_text(const struct config_errors *errs, bool warnings)
{
	char *s = xstrdup(""), *t;
	size_t i, n = warnings ? errs->nwarn : errs->n;

	for (i = 0; i < n; i++) {
		t = xasprintf("%s%s%s", s, i ? " | " : "",
		    warnings ? errs->warn[i] : errs->msg[i]);
		free(s);
		s = t;
	}
	return s;
}

/* Numbers of every type, each read back from its field. */
static const struct {
	const char *line;
	size_t offset;
	long want;
} numbers[] = {
	{ "smtpd_timeout = 45", offsetof(struct config, smtpd_timeout), 45 },
	{ "smtpd_timeout = 45s", offsetof(struct config, smtpd_timeout), 45 },
	{ "smtpd_timeout = 5m", offsetof(struct config, smtpd_timeout), 300 },
	{ "smtpd_timeout = 2h", offsetof(struct config, smtpd_timeout), 7200 },
	{ "maximal_queue_lifetime = 5d", offsetof(struct config, maximal_queue_lifetime), 432000 },
	{ "maximal_queue_lifetime = 1w", offsetof(struct config, maximal_queue_lifetime), 604800 },
	{ "delay_warning_time = 0", offsetof(struct config, delay_warning_time), 0 },
	{ "message_size_limit = 123", offsetof(struct config, message_size_limit), 123 },
	{ "message_size_limit = 10k", offsetof(struct config, message_size_limit), 10240 },
	{ "message_size_limit = 10K", offsetof(struct config, message_size_limit), 10240 },
	{ "message_size_limit = 3M", offsetof(struct config, message_size_limit), 3145728 },
	{ "message_size_limit = 2G", offsetof(struct config, message_size_limit), 2147483648L },
	{ "smtpd_process_limit = 4", offsetof(struct config, smtpd_process_limit), 4 },
	{ "smtpd_line_limit = 1000", offsetof(struct config, smtpd_line_limit), 1000 },
	{ "smtpd_soft_error_limit = 0", offsetof(struct config, smtpd_soft_error_limit), 0 },
	{ "smtpd_tls_security_level = none", offsetof(struct config, smtpd_tls_security_level), SMTPD_TLS_NONE },
	{ "smtpd_tls_security_level = MAY", offsetof(struct config, smtpd_tls_security_level), SMTPD_TLS_MAY },
	{ "default_domain_mode = backup", offsetof(struct config, default_domain_mode), DOMAIN_MODE_BACKUP },
};

static void
test_numbers(void)
{
	struct config *cfg;
	struct config_errors errs;
	size_t i;
	long got;
	char *text;

	for (i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		text = xasprintf("%s\n", numbers[i].line);
		if (load(text, &cfg, &errs) < 0) {
			char *e = errors_text(&errs, false);

			ok(0, "%s: got errors %s, want none", numbers[i].line, e);
			free(e);
		} else {
			const char *field = (const char *)cfg + numbers[i].offset;

			/* Enums are int-sized; the rest are long. */
			if (strstr(numbers[i].line, "level") != NULL ||
			    strstr(numbers[i].line, "mode") != NULL)
				got = *(const int *)(const void *)field;
			else
				got = *(const long *)(const void *)field;
			ok(got == numbers[i].want, "%s: got %ld, want %ld",
			    numbers[i].line, got, numbers[i].want);
		}
		config_free(&cfg);
		config_errors_clear(&errs);
		free(text);
	}
}

/* Bad input, and the message (a substring) it must produce. */
static const struct {
	const char *text;
	const char *want;
} bad[] = {
	{ "smtpd_timeout = 5x\n",
	  "/sluice.conf:1: smtpd_timeout = \"5x\": bad time value; use a number with s, m, h, d or w" },
	{ "smtpd_timeout = 5mm\n", "bad time value" },
	{ "smtpd_timeout =\n", "smtpd_timeout = \"\": bad time value" },
	{ "smtpd_timeout = -5\n", "bad time value" },
	{ "smtpd_timeout = 99999999999999999999\n", "bad time value" },
	{ "smtpd_timeout = 9999999999999999w\n", "bad time value" },
	{ "smtpd_timeout = 0\n", "value too small; use 1s or more" },
	{ "message_size_limit = 10T\n", "bad size value; use a number of bytes, optionally with k, M or G" },
	{ "message_size_limit = 1.5M\n", "bad size value" },
	{ "smtpd_process_limit = 0\n", "smtpd_process_limit = \"0\": value too small; use 1 or more" },
	{ "smtpd_process_limit = 2k\n", "bad number" },
	{ "default_max_messages = 0\n", "default_max_messages = \"0\": value too small; use 1 or more" },
	{ "default_max_messages = lots\n", "bad number; use a whole number, or none" },
	{ "default_max_bytes = 10T\n", "bad size value; use a number of bytes, optionally with k, M or G, or none" },
	{ "smtpd_line_limit = 512\n", "value too small; use 1000 or more" },
	{ "smtpd_tls_security_level = must\n", "bad value; use one of: none may" },
	{ "syslog_facility = kern\n", "syslog_facility = \"kern\": bad value; use one of: mail" },
	{ "syslog_name = mx 2\n", "/sluice.conf:1: syslog_name = \"mx 2\": bad value; use 1 to 32 "
	  "letters, digits, \".\", \"_\", \"-\" or \"/\", such as sluice" },
	{ "syslog_name =\n", "syslog_name = \"\": bad value; use 1 to 32" },
	{ "syslog_name = abcdefghijklmnopqrstuvwxyz0123456\n", "bad value; use 1 to 32" },
	{ "syslog_name = sluice:x\n", "bad value; use 1 to 32" },
	{ "smtp_listen = 1.2.3.4\n", "bad listen address; use host:port, [ipv6]:port or *:port" },
	{ "smtp_listen = ::1:25\n", "bad listen address" },
	{ "smtp_listen = 127.0.0.1:99999\n", "bad listen address" },
	{ "smtp_listen = []:25\n", "bad listen address" },
	{ "smtp_listen = 127.0.0.1:\n", "bad listen address" },
	{ "mynetworks = 10.0.0.0/33\n", "bad network \"10.0.0.0/33\"" },
	{ "mynetworks = 10.0.0.300\n", "bad network" },
	{ "foo = 1\n", "/sluice.conf:1: unknown parameter \"foo\"; see sluice.conf(5)" },
	{ "\n# comment\n\nfoo_bar = 1\n", "/sluice.conf:4: unknown parameter \"foo_bar\"" },
	{ "smtpd_timeout 300\n", "/sluice.conf:1: bad line \"smtpd_timeout 300\"; write name = value" },
	{ "= 300\n", "bad line" },
	{ "  smtpd_timeout = 3\n", "/sluice.conf:1: line starts with white space but continues nothing" },
	{ "myhostname = mx\nsmtpd_timeout = 3\n   x\n", "/sluice.conf:2: smtpd_timeout = \"3 x\": bad time value" },
	{ "smtpd_banner = $nosuch\n", "smtpd_banner = \"$nosuch\": unknown parameter \"$nosuch\"" },
	{ "smtpd_banner = ${myhostname\n", "missing \"}\"" },
	{ "smtpd_banner = cost $5\n", "unknown parameter \"$5\"" },
	{ "smtpd_banner = cost $ 5\n", "\"$\" without a parameter name; write $$" },
	{ "smtpd_banner = cost $\n", "\"$\" without a parameter name" },
	{ "log_file = $log_file\n", "log_file = \"$log_file\": $log_file refers back to itself" },
	{ "myhostname = $smtpd_banner\nsmtpd_banner = $myhostname x\n", "refers back to itself" },
	{ "myhostname = mx.$mydomain\n", "$mydomain refers back to itself" },
	/* Found by t/fuzz/fuzz_config: its mydomain printed and read back differently. */
	{ "myhostname = rgPTeeting and in Received: headers. The default is\n",
	  "/sluice.conf:1: myhostname = \"rgPTeeting and in Received: headers. The default is\": bad value; use a domain name" },
	{ "myhostname = mx\tone.example\n", "myhostname = \"mx\tone.example\": bad value" },
	{ "myhostname = [192.0.2.1]\n", "bad value; use a domain name such as mx.example.net" },
	{ "mydomain = example..net\n", "mydomain = \"example..net\": bad value; use a domain name" },
	{ "smtpd_timeout = $delay_warning_time\ndelay_warning_time = 2x\n", "/sluice.conf:2: delay_warning_time = \"2x\"" },
	{ "domains_file = $config_directory/nonexistent\n", "/nonexistent: open: No such file or directory; create it" },
};

static void
test_bad(void)
{
	struct config *cfg;
	struct config_errors errs;
	size_t i;
	int rc;
	char *got;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *name = test_esc(bad[i].text);

		rc = load(bad[i].text, &cfg, &errs);
		got = errors_text(&errs, false);
		ok(rc == -1 && cfg == NULL && strstr(got, bad[i].want) != NULL,
		    "%s: got rc %d, \"%s\"; want -1, \"%s\"", name,
		    rc, got, bad[i].want);
		free(got);
		free(name);
		config_free(&cfg);
		config_errors_clear(&errs);
	}
}

/* Every error of a file is collected, not just the first. */
static void
test_all_errors(void)
{
	struct config *cfg;
	struct config_errors errs;
	int rc;

	rc = load("a = 1\nsmtpd_timeout = x\nb = 2\n", &cfg, &errs);
	ok(rc == -1 && errs.n == 3, "three errors: got rc %d, n %zu; want -1, 3",
	    rc, errs.n);
	config_errors_clear(&errs);
}

/* Values that double at each reference stop at a limit, not at OOM. */
static void
test_expansion_limit(void)
{
	static const char *chain[] = { "mail_owner", "log_file",
	    "smtpd_tls_cert_file", "smtpd_tls_key_file", "passwd_file",
	    "daemon_directory", "queue_directory", "smtpd_banner", "mydomain",
	    "myhostname", "config_directory" };
	struct config *cfg;
	struct config_errors errs;
	char *text = xstrdup(""), *tmp, *got;
	size_t i;
	int rc;

	tmp = xasprintf("%s = %0100d\n", chain[0], 0);
	free(text);
	text = tmp;
	for (i = 1; i < sizeof(chain) / sizeof(chain[0]); i++) {
		tmp = xasprintf("%s%s = $%s$%s\n", text, chain[i],
		    chain[i - 1], chain[i - 1]);
		free(text);
		text = tmp;
	}
	rc = load(text, &cfg, &errs);
	got = errors_text(&errs, false);
	ok(rc == -1 && strstr(got, "value too long after expansion") != NULL,
	    "doubling chain: got rc %d, \"%.200s\"", rc, got);
	free(got);
	free(text);
	config_free(&cfg);
	config_errors_clear(&errs);
}

/* String values: expansion, continuation, duplicates, defaults. */
static const struct {
	const char *text;
	const char *name;
	const char *want;
} strings[] = {
	{ "mydomain = example.org\nmyhostname = mx.$mydomain\n", "myhostname", "mx.example.org" },
	{ "myhostname = mx.example.org\nsmtpd_banner = ${myhostname} hi $$5\n", "smtpd_banner", "mx.example.org hi $5" },
	{ "myhostname = a.b.example\n", "mydomain", "b.example" },
	{ "myhostname = a.b.example\n", "smtpd_banner", "a.b.example ESMTP sluice" },
	{ "myhostname = single\n", "mydomain", "localdomain" },
	{ "smtpd_banner = one\n  two\n# between\n\tthree\n", "smtpd_banner", "one two three" },
	{ "smtpd_banner = first\nsmtpd_banner = second\n", "smtpd_banner", "second" },
	{ "smtpd_banner =   padded   \n", "smtpd_banner", "padded" },
	{ "smtpd_banner = x\r\n", "smtpd_banner", "x" },
	{ "syslog_facility = LOCAL3\n", "syslog_facility", "LOCAL3" },
	{ "", "syslog_name", "sluice" },
	{ "syslog_name = postfix-mx_2/in.a\n", "syslog_name", "postfix-mx_2/in.a" },
	{ "syslog_name = abcdefghijklmnopqrstuvwxyz012345\n", "syslog_name",
	  "abcdefghijklmnopqrstuvwxyz012345" },
	{ "", "smtpd_timeout", "300s" },
	{ "", "smtp_listen", "0.0.0.0:25" },
	{ "", "mynetworks", "127.0.0.0/8 [::1]/128" },
	{ "", "message_size_limit", "10240000" },
	{ "", "mail_owner", "sluice" },
	{ "", "log_file", "" },
};

static void
test_strings(void)
{
	struct config *cfg;
	struct config_errors errs;
	size_t i;
	char *got = NULL, *e, *name;

	for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		name = test_esc(strings[i].text);
		if (load(strings[i].text, &cfg, &errs) < 0) {
			e = errors_text(&errs, false);
			ok(0, "%s: got errors %s, want none", name, e);
			free(e);
		} else {
			config_get(cfg, strings[i].name, &got);
			ok(strcmp(got, strings[i].want) == 0,
			    "%s -> %s: got \"%s\", want \"%s\"",
			    name, strings[i].name, got,
			    strings[i].want);
			free(got);
		}
		config_free(&cfg);
		config_errors_clear(&errs);
		free(name);
	}
}

static void
test_fields(void)
{
	struct config *cfg;
	struct config_errors errs;
	char *w, *want;
	int rc;

	rc = load("smtp_listen = 127.0.0.1:2525,\n    [::1]:25\n"
	    "  *:587 :26 27\n"
	    "smtpd_timeout = 1\nsmtpd_timeout = 2\n", &cfg, &errs);
	ok(rc == 0, "load listen list: got %d, want 0", rc);
	if (rc < 0)
		return;
	ok(cfg->smtp_listen.n == 5, "listen entries: got %zu, want 5",
	    cfg->smtp_listen.n);
	if (cfg->smtp_listen.n == 5) {
		static const char *want_hp[5][2] = { { "127.0.0.1", "2525" },
		    { "::1", "25" }, { "", "587" }, { "", "26" }, { "", "27" } };
		for (size_t i = 0; i < 5; i++)
			ok(strcmp(cfg->smtp_listen.v[i].host, want_hp[i][0]) == 0 &&
			    strcmp(cfg->smtp_listen.v[i].port, want_hp[i][1]) == 0,
			    "listen %zu: got %s/%s, want %s/%s", i,
			    cfg->smtp_listen.v[i].host, cfg->smtp_listen.v[i].port,
			    want_hp[i][0], want_hp[i][1]);
	}
	ok(cfg->submission_listen.n == 0, "empty listen: got %zu, want 0",
	    cfg->submission_listen.n);
	w = errors_text(&errs, true);
	ok(errs.nwarn == 1 && strstr(w, "sluice.conf:5: smtpd_timeout is "
	    "also set at line 4; the last setting wins") != NULL,
	    "duplicate warning: got \"%s\"", w);
	free(w);
	ok(cfg->smtpd_timeout == 2, "last wins: got %ld, want 2",
	    cfg->smtpd_timeout);
	ok(strcmp(cfg->config_directory, tmpdir) == 0,
	    "config_directory: got %s, want %s", cfg->config_directory, tmpdir);
	want = xasprintf("%s/domains", tmpdir);
	ok(strcmp(cfg->domains_file, want) == 0,
	    "domains_file: got %s, want %s", cfg->domains_file, want);
	free(want);
	ok(cfg->mynetworks != NULL && netlist_count(cfg->mynetworks) == 2,
	    "mynetworks entries: got %zu, want 2",
	    netlist_count(cfg->mynetworks));
	ok(cfg->domains != NULL && domain_count(cfg->domains) == 0,
	    "empty domains table: got %zu", domain_count(cfg->domains));
	ok(config_queue_minfree(cfg) == 15360000,
	    "queue_minfree 0: got %ld, want 15360000", config_queue_minfree(cfg));
	ok(config_get(cfg, "nosuch", &w) == -1, "config_get unknown: want -1");
	config_free(&cfg);
	ok(cfg == NULL, "config_free NULLs the pointer");
	config_errors_clear(&errs);
}

/* print_to_string - config_print into a new string */
static char *
print_to_string(const struct config *cfg, enum config_print_mode mode)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	config_print(fp, cfg, mode);
	fclose(fp);
	return buf;
}

static void
test_print(void)
{
	static const char *conf =
	    "# a config with something of every type\n"
	    "smtpd_timeout = 5m\n"
	    "message_size_limit = 20M\n"
	    "smtp_listen = 127.0.0.1:2525 [::1]:2525\n"
	    "mynetworks = 10.0.0.0/8, [2001:db8::]/32\n"
	    "smtpd_banner = $myhostname says $$hi\n"
	    "myhostname = mx.example.net\n"
	    "smtpd_tls_security_level = none\n"
	    "syslog_facility = local1\n";
	struct config *a, *b;
	struct config_errors errs;
	char *pa, *pb, *na, *d;

	if (load(conf, &a, &errs) < 0) {
		ok(0, "load print config");
		return;
	}
	na = print_to_string(a, CONFIG_PRINT_NONDEFAULT);
	if (!ok(strcmp(na,
	    "message_size_limit = 20M\n"
	    "myhostname = mx.example.net\n"
	    "mynetworks = 10.0.0.0/8, [2001:db8::]/32\n"
	    "smtp_listen = 127.0.0.1:2525 [::1]:2525\n"
	    "smtpd_banner = mx.example.net says $$hi\n"
	    "smtpd_timeout = 5m\n"
	    "smtpd_tls_security_level = none\n"
	    "syslog_facility = local1\n") == 0,
	    "print non-default: sorted settings of the file"))
		tap_diag("got:\n%s", na);

	/* Round trip: print everything, read it back, print again. */
	pa = print_to_string(a, CONFIG_PRINT_ALL);
	test_put(tmpdir, "sluice.conf", pa);
	memset(&errs, 0, sizeof(errs));
	if (config_load(tmpdir, &b, &errs) < 0) {
		char *e = errors_text(&errs, false);

		ok(0, "reload printout: got %s", e);
		free(e);
		free(pa);
		free(na);
		config_free(&a);
		return;
	}
	pb = print_to_string(b, CONFIG_PRINT_ALL);
	if (!ok(strcmp(pa, pb) == 0, "round trip: print, load, print"))
		tap_diag("got:\n%s\nwant:\n%s", pb, pa);
	ok(a->smtpd_timeout == b->smtpd_timeout &&
	    a->message_size_limit == b->message_size_limit &&
	    a->smtp_listen.n == b->smtp_listen.n &&
	    a->smtpd_tls_security_level == b->smtpd_tls_security_level &&
	    strcmp(a->smtpd_banner, b->smtpd_banner) == 0 &&
	    strcmp(a->mydomain, b->mydomain) == 0,
	    "round trip fields: got banner \"%s\", want \"%s\"",
	    b->smtpd_banner, a->smtpd_banner);
	ok(strcmp(b->smtpd_banner, "mx.example.net says $hi") == 0,
	    "banner after round trip: got \"%s\"", b->smtpd_banner);

	/* Defaults are printed unexpanded, as postconf -d does. */
	d = print_to_string(a, CONFIG_PRINT_DEFAULTS);
	if (!ok(strstr(d, "\nsmtpd_banner = $myhostname ESMTP sluice\n") != NULL &&
	    strstr(d, "\nsmtpd_timeout = 300s\n") != NULL &&
	    strstr(d, "\ndomains_file = $config_directory/domains\n") != NULL &&
	    strstr(d, "\nsubmission_listen =\n") != NULL,
	    "print defaults: unexpanded default values"))
		tap_diag("got:\n%s", d);
	free(d);
	d = print_to_string(NULL, CONFIG_PRINT_DEFAULTS);
	ok(strstr(d, "\nmaximal_queue_lifetime = 5d\n") != NULL,
	    "print defaults without a config");
	free(d);
	free(pa);
	free(pb);
	free(na);
	config_free(&a);
	config_free(&b);
	config_errors_clear(&errs);
}

/* Sorted output, and every name of the table appears exactly once. */
static void
test_print_sorted(void)
{
	const char *const *names = config_param_names();
	char *d = print_to_string(NULL, CONFIG_PRINT_DEFAULTS), *line, *save;
	char prev[128] = "";
	size_t n = 0, want = 0;
	bool sorted = true;

	while (names[want] != NULL)
		want++;
	for (line = strtok_r(d, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char name[128];

		if (sscanf(line, "%127[a-z0-9_] =", name) != 1)
			continue;
		if (strcmp(prev, name) >= 0)
			sorted = false;
		snprintf(prev, sizeof(prev), "%s", name);
		n++;
	}
	ok(sorted && n == want, "defaults sorted: got %zu lines, want %zu", n,
	    want);
	free(d);
}

/* man/sluice.conf.5 must describe every parameter of the table. */
static void
test_man_page(void)
{
	const char *const *names = config_param_names();
	const char *srcdir = getenv("SLUICE_SRCDIR");
	char *path, *text = NULL, *want;
	size_t len = 0, i, missing = 0;
	FILE *fp;

	path = xasprintf("%s/man/sluice.conf.5", srcdir ? srcdir : "..");
	if ((fp = fopen(path, "r")) == NULL) {
		ok(0, "open %s", path);
		free(path);
		return;
	}
	if (getdelim(&text, &len, '\0', fp) < 0)
		text = xstrdup("");
	fclose(fp);
	for (i = 0; names[i] != NULL; i++) {
		want = xasprintf("\n.B %s\n", names[i]);
		if (!ok(strstr(text, want) != NULL, "%s lists %s", path,
		    names[i]))
			missing++;
		free(want);
	}
	free(text);
	free(path);
	(void)missing;
}

static void
test_missing(void)
{
	struct config *cfg;
	struct config_errors errs = { 0 };
	char *dir = xasprintf("%s/nonexistent", tmpdir), *e;
	int rc;

	rc = config_load(dir, &cfg, &errs);
	e = errors_text(&errs, false);
	ok(rc == -1 && strstr(e, "/nonexistent/sluice.conf: open: ") != NULL,
	    "missing sluice.conf: got %d, \"%s\"", rc, e);
	free(e);
	free(dir);
	config_errors_clear(&errs);

	setenv("SLUICE_CONFIG_DIR", "/some/where", 1);
	ok(strcmp(config_default_dir(), "/some/where") == 0,
	    "SLUICE_CONFIG_DIR: got %s", config_default_dir());
	unsetenv("SLUICE_CONFIG_DIR");
	ok(strcmp(config_default_dir(), SLUICE_SYSCONFDIR) == 0,
	    "default dir: got %s, want %s", config_default_dir(),
	    SLUICE_SYSCONFDIR);
}

int
main(void)
{
	test_tmpdir(tmpdir);
	test_numbers();
	test_bad();
	test_all_errors();
	test_expansion_limit();
	test_strings();
	test_fields();
	test_print();
	test_print_sorted();
	test_man_page();
	test_missing();
	test_rmdir(tmpdir);
	return tap_done();
}
