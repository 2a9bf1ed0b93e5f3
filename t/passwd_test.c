/*
 * passwd_test - customer credentials: hashes, CRAM-MD5 secrets, the file
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* lib/util */
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/passwd.h"

#include "t/tap.h"

/* hmac_hex - HMAC-MD5 of msg under key, the ordinary way, as lowercase hex */
static void
hmac_hex(const char *key, const char *msg, char out[33])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	HMAC(EVP_md5(), key, (int)strlen(key), (const unsigned char *)msg,
	    strlen(msg), mac, &len);
	for (i = 0; i < len && i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
	out[32] = '\0';
}

/* write_file - a temporary file holding text; its new path */
static char *
write_file(const char *text)
{
	char *path = xstrdup("/tmp/passwd_test.XXXXXX");
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	return path;
}

/* test_cram - the stored states give HMAC-MD5 as RFC 2104 computes it */
static void
test_cram(void)
{
	static const char *const passwords[] = {
		"demo", "", "tanstaaftanstaaf",
		"a password of exactly sixty-four octets, padded to the block..!",
		"a password longer than the MD5 block of sixty-four octets is hashed first",
	};
	static const char *const challenges[] = {
		"<1896.697170952@postoffice.reston.mci.net>", "", "x",
	};
	size_t i, j;

	for (i = 0; i < sizeof(passwords) / sizeof(passwords[0]); i++) {
		char *line, *path, want[33], *secret;
		const char *why = NULL;
		struct passwd_table *t = NULL;
		struct config_errors errs = { 0 };
		char *file;

		if (passwd_entry_make("cust", passwords[i], &line, &why) < 0) {
			ok(0, "entry_make(%s): %s", passwords[i], why);
			continue;
		}
		secret = passwd_cram_secret(passwords[i]);
		ok(strlen(secret) == PASSWD_CRAM_HEX_LEN &&
		    strstr(line, secret) != NULL,
		    "line for \"%s\" carries its 64-digit secret", passwords[i]);
		ok(strncmp(line, "cust:$y$", 8) == 0, "yescrypt hash: got %.12s",
		    line);
		ok(passwords[i][0] == '\0' || strstr(line, passwords[i]) == NULL,
		    "no plaintext in the line");
		file = xasprintf("# test\n\n%s\n", line);
		path = write_file(file);
		ok(passwd_load(path, &t, &errs) == 0 && passwd_count(t) == 1,
		    "load the line back (%zu errors)", errs.n);
		for (j = 0; t != NULL && j < sizeof(challenges) / sizeof(challenges[0]); j++) {
			hmac_hex(passwords[i], challenges[j], want);
			ok(passwd_cram_verify(t, "cust", challenges[j], want),
			    "cram \"%s\"/\"%s\": HMAC %s accepted", passwords[i],
			    challenges[j], want);
			want[0] = want[0] == '0' ? '1' : '0';
			ok(!passwd_cram_verify(t, "cust", challenges[j], want),
			    "cram: a wrong digest is refused");
		}
		if (t != NULL) {
			hmac_hex(passwords[i], challenges[0], want);
			for (j = 0; j < 32; j++)
				if (want[j] >= 'a')
					want[j] = (char)(want[j] - 'a' + 'A');
			ok(passwd_cram_verify(t, "cust", challenges[0], want),
			    "cram: upper-case hex accepted");
			ok(!passwd_cram_verify(t, "other", challenges[0], want),
			    "cram: unknown login refused");
			ok(!passwd_cram_verify(t, "cust", challenges[0], "abc"),
			    "cram: short digest refused");
			ok(passwd_verify(t, "cust", passwords[i]),
			    "verify right password for \"%s\"", passwords[i]);
			ok(!passwd_verify(t, "cust", "wrong"), "verify wrong password");
			ok(!passwd_verify(t, "nobody", passwords[i]),
			    "verify unknown login");
		}
		passwd_table_free(&t);
		config_errors_clear(&errs);
		unlink(path);
		free(path);
		free(file);
		free(secret);
		free(line);
	}
}

/*
 * test_cram_peer - the fleet's two halves of CRAM-MD5: the client's
 * response (RFC 2195's own example first) opens the one-login table,
 * and nothing else does
 */
static void
test_cram_peer(void)
{
	static const char *const challenges[] = {
		"<1896.697170952@postoffice.reston.mci.net>", "<1.2@mx2.isp.example>", "",
	};
	struct passwd_table *t = passwd_table_cram("sluice-peer", "fleet-secret-0123456789");
	char *r = passwd_cram_response("tanstaaftanstaaf", challenges[0]), want[33];
	size_t i;

	ok(strcmp(r, "b913a602c7eda7a495b4e6e7334d3890") == 0,
	    "cram response: RFC 2195's example: got %s", r);
	free(r);
	for (i = 0; i < sizeof(challenges) / sizeof(challenges[0]); i++) {
		r = passwd_cram_response("fleet-secret-0123456789", challenges[i]);
		hmac_hex("fleet-secret-0123456789", challenges[i], want);
		ok(strcmp(r, want) == 0, "cram response \"%s\": HMAC-MD5 %s", challenges[i], r);
		ok(passwd_cram_verify(t, "sluice-peer", challenges[i], r),
		    "the peer table takes the right response");
		ok(!passwd_cram_verify(t, "cust", challenges[i], r),
		    "the peer table knows no other login");
		free(r);
		r = passwd_cram_response("another-secret-0123456789", challenges[i]);
		ok(!passwd_cram_verify(t, "sluice-peer", challenges[i], r),
		    "a response under another secret is refused");
		free(r);
	}
	ok(passwd_count(t) == 1 && !passwd_verify(t, "sluice-peer", "fleet-secret-0123456789"),
	    "one login, and PLAIN/LOGIN never open it");
	passwd_table_free(&t);
}

/* test_file - grammar errors name file and line; locked and cram-less logins */
static void
test_file(void)
{
	static const struct {
		const char *text;
		int want;		/* passwd_load result */
		const char *msg;	/* part of the first error */
	} cases[] = {
		{ "", 0, NULL },
		{ "# only a comment\n   \n", 0, NULL },
		{ "a:$y$j9T$x$y:\n", 0, NULL },
		{ "a:*:\nb:!$y$x:\n", 0, NULL },
		{ "a:$y$x\n", -1, ":1: want login:crypt-hash" },
		{ "\n\nbad login:$y$x:\n", -1, ":3: bad login" },
		{ "a:$y$x:\na:$y$z:\n", -1, ":2: login a given twice" },
		{ "a::\n", -1, ":1: bad crypt hash" },
		{ "a:$y$x:00ff\n", -1, ":1: bad CRAM-MD5 secret" },
		{ "a:$y$x:b:c\n", -1, ":1: want login" },
		{ "-a:$y$x:\n", -1, ":1: bad login" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct passwd_table *t = NULL;
		struct config_errors errs = { 0 };
		char *path = write_file(cases[i].text);
		int r = passwd_load(path, &t, &errs);

		ok(r == cases[i].want, "load case %zu: got %d, want %d", i, r,
		    cases[i].want);
		if (cases[i].msg != NULL)
			ok(errs.n > 0 && strncmp(errs.msg[0], path, strlen(path)) == 0 &&
			    strstr(errs.msg[0], cases[i].msg) != NULL,
			    "case %zu error: got \"%s\", want \"%s\"", i,
			    errs.n > 0 ? errs.msg[0] : "", cases[i].msg);
		passwd_table_free(&t);
		config_errors_clear(&errs);
		unlink(path);
		free(path);
	}
}

/* test_locked_reload - locked logins fail; reload follows the file */
static void
test_locked_reload(void)
{
	struct passwd_table *t = NULL;
	char *line, *text, *path;
	const char *why = "";
	FILE *fp;
	int r;

	if (passwd_entry_make("demo", "demo", &line, &why) < 0) {
		ok(0, "entry_make: %s", why);
		return;
	}
	text = xasprintf("%s\nlocked:*:\n", line);
	free(line);
	path = write_file(text);
	ok(passwd_reload(&t, path, false) == 1, "first reload loads");
	ok(passwd_reload(&t, path, false) == 0, "unchanged file: no reload");
	ok(passwd_verify(t, "demo", "demo"), "demo/demo verifies");
	ok(!passwd_verify(t, "locked", ""), "locked login refused");
	ok(passwd_has(t, "locked") && !passwd_has(t, "nobody"), "passwd_has");
	ok(passwd_reload(&t, path, true) == 1, "forced reload loads");
	fp = fopen(path, "w");
	fputs("broken line\n", fp);
	fclose(fp);
	ok(passwd_reload(&t, path, true) == -1 && passwd_verify(t, "demo", "demo"),
	    "a broken file keeps the old table");
	unlink(path);
	ok(passwd_reload(&t, path, false) == 1 && passwd_count(t) == 0,
	    "a removed file empties the table");
	ok(!passwd_verify(NULL, "demo", "demo"), "NULL table refuses");
	r = passwd_entry_make("bad:login", "x", &line, &why);
	ok(r == -1 && line == NULL, "bad login refused by entry_make: %s", why);
	r = passwd_entry_make("x", "two\nlines", &line, &why);
	ok(r == -1, "password with a newline refused: %s", why);
	passwd_table_free(&t);
	free(text);
	free(path);
}

int
main(void)
{
	test_cram();
	test_cram_peer();
	test_file();
	test_locked_reload();
	return tap_done();
}
