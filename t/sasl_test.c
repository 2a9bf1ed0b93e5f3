/*
 * sasl_test - PLAIN, LOGIN and CRAM-MD5 exchanges, base64, cancel
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
#include "mail/sasl.h"

#include "t/tap.h"

static const char *const status_names[] = {
	"CONTINUE", "DONE", "FAIL", "CANCEL", "MALFORMED",
};

/* b64 - base64 of len octets of s (a new string) */
static char *
b64(const char *s, size_t len)
{
	return sasl_base64_encode(s, len);
}

/* test_base64 - round trips and strictness */
static void
test_base64(void)
{
	static const struct {
		const char *plain, *text;
	} good[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" }, { "Username:", "VXNlcm5hbWU6" },
	};
	static const char *const bad[] = {
		"Zg=", "Zg", "Z===", "Zg==Zg==", "Zm9v\n", "Zm 9v", "Zm9*", "=Zg=",
		"Zm=v", "Zg=a",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *enc = b64(good[i].plain, strlen(good[i].plain));
		unsigned char *dec;
		size_t len;

		ok(strcmp(enc, good[i].text) == 0, "encode \"%s\": got %s, want %s",
		    good[i].plain, enc, good[i].text);
		ok(sasl_base64_decode(good[i].text, &dec, &len) == 0 &&
		    len == strlen(good[i].plain) &&
		    memcmp(dec, good[i].plain, len) == 0,
		    "decode %s", good[i].text);
		free(enc);
		free(dec);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned char *dec;
		size_t len;

		ok(sasl_base64_decode(bad[i], &dec, &len) == -1 && dec == NULL,
		    "refuse base64 case %zu (%.4s...)", i, bad[i]);
	}
}

/* run - an exchange: start with initial, then feed lines; the final status */
static enum sasl_status
run(enum sasl_mech mech, const char *initial, const char *const *lines,
    const struct passwd_table *pw, char **user_r, char **last_challenge_r)
{
	struct sasl *s;
	char *ch = NULL;
	enum sasl_status st;

	st = sasl_start(mech, initial, "mx.test", pw, &s, &ch);
	while (st == SASL_CONTINUE && *lines != NULL) {
		free(ch);
		st = sasl_step(s, *lines++, pw, &ch);
	}
	if (user_r != NULL)
		*user_r = sasl_user(s) != NULL ? xstrdup(sasl_user(s)) : NULL;
	if (last_challenge_r != NULL)
		*last_challenge_r = ch;
	else
		free(ch);
	sasl_free(&s);
	ok(s == NULL, "sasl_free clears the pointer");
	return st;
}

/* check - one exchange against the wanted result and user */
static void
check(const char *what, enum sasl_mech mech, const char *initial,
    const char *const *lines, const struct passwd_table *pw,
    enum sasl_status want, const char *want_user)
{
	char *user = NULL;
	enum sasl_status st = run(mech, initial, lines, pw, &user, NULL);

	ok(st == want, "%s: got %s, want %s", what, status_names[st],
	    status_names[want]);
	if (want_user != NULL)
		ok(user != NULL && strcmp(user, want_user) == 0,
		    "%s: user %s, want %s", what, user ? user : "(null)", want_user);
	free(user);
}

/* test_plain_login - PLAIN and LOGIN with and without initial responses */
static void
test_plain_login(const struct passwd_table *pw)
{
	char *good = b64("\0demo\0demo", 10), *authz = b64("demo\0demo\0demo", 14);
	char *other = b64("root\0demo\0demo", 14), *wrong = b64("\0demo\0nope", 10);
	char *three = b64("\0demo\0demo\0", 11), *nouser = b64("\0\0demo", 6);
	char *u = b64("demo", 4), *p = b64("demo", 4), *x = b64("nope", 4);
	char *ghost = b64("ghost", 5);
	const char *none[] = { NULL };
	const char *l_good[] = { good, NULL };
	const char *l_up[] = { u, p, NULL };
	const char *l_ux[] = { u, x, NULL };
	const char *l_p[] = { p, NULL };
	const char *l_cancel[] = { "*", NULL };
	const char *l_ucancel[] = { u, "*", NULL };
	const char *l_junk[] = { "not base64!", NULL };
	const char *l_ghost[] = { ghost, p, NULL };
	const struct {
		const char *what;
		enum sasl_mech mech;
		const char *initial;
		const char *const *lines;
		enum sasl_status want;
		const char *user;	/* NULL: not checked */
	} cases[] = {
		{ "PLAIN initial", SASL_MECH_PLAIN, good, none, SASL_DONE, "demo" },
		{ "PLAIN authzid=authcid", SASL_MECH_PLAIN, authz, none, SASL_DONE, "demo" },
		{ "PLAIN other authzid", SASL_MECH_PLAIN, other, none, SASL_FAIL, "demo" },
		{ "PLAIN wrong password", SASL_MECH_PLAIN, wrong, none, SASL_FAIL, "demo" },
		{ "PLAIN three NULs", SASL_MECH_PLAIN, three, none, SASL_MALFORMED, NULL },
		{ "PLAIN empty authcid", SASL_MECH_PLAIN, nouser, none, SASL_MALFORMED, NULL },
		{ "PLAIN empty initial", SASL_MECH_PLAIN, "=", none, SASL_MALFORMED, NULL },
		{ "PLAIN bad base64", SASL_MECH_PLAIN, "####", none, SASL_MALFORMED, NULL },
		{ "PLAIN no initial, then response", SASL_MECH_PLAIN, NULL, l_good, SASL_DONE,
		    "demo" },
		{ "PLAIN cancel", SASL_MECH_PLAIN, NULL, l_cancel, SASL_CANCEL, NULL },
		{ "PLAIN initial *", SASL_MECH_PLAIN, "*", none, SASL_CANCEL, NULL },
		{ "LOGIN", SASL_MECH_LOGIN, NULL, l_up, SASL_DONE, "demo" },
		{ "LOGIN initial user", SASL_MECH_LOGIN, u, l_p, SASL_DONE, "demo" },
		{ "LOGIN wrong password", SASL_MECH_LOGIN, NULL, l_ux, SASL_FAIL, "demo" },
		{ "LOGIN unknown user", SASL_MECH_LOGIN, NULL, l_ghost, SASL_FAIL, "ghost" },
		{ "LOGIN cancel at password", SASL_MECH_LOGIN, NULL, l_ucancel, SASL_CANCEL,
		    NULL },
		{ "LOGIN junk", SASL_MECH_LOGIN, NULL, l_junk, SASL_MALFORMED, NULL },
	};
	char *ch = NULL;
	enum sasl_status st;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(cases[i].what, cases[i].mech, cases[i].initial, cases[i].lines, pw,
		    cases[i].want, cases[i].user);
	/* The first challenge each asks for when no initial response came. */
	st = run(SASL_MECH_PLAIN, NULL, none, pw, NULL, &ch);
	ok(st == SASL_CONTINUE && ch != NULL && strcmp(ch, "") == 0,
	    "PLAIN without initial: empty 334");
	free(ch);
	st = run(SASL_MECH_LOGIN, NULL, none, pw, NULL, &ch);
	ok(st == SASL_CONTINUE && ch != NULL && strcmp(ch, "VXNlcm5hbWU6") == 0,
	    "LOGIN asks Username: (got %s)", ch != NULL ? ch : "");
	free(ch);
	free(good), free(authz), free(other), free(wrong), free(three);
	free(nouser), free(u), free(p), free(x), free(ghost);
}

/* cram_response - base64 of "user HMAC(challenge)" for the base64 challenge */
static char *
cram_response(const char *user, const char *key, const char *challenge64)
{
	unsigned char *chal, mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;
	size_t clen;
	char hex[33], *msg, *out;

	if (sasl_base64_decode(challenge64, &chal, &clen) < 0)
		return xstrdup("!");
	HMAC(EVP_md5(), key, (int)strlen(key), chal, clen, mac, &len);
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	msg = xasprintf("%s %s", user, hex);
	out = b64(msg, strlen(msg));
	free(msg);
	free(chal);
	return out;
}

/* test_cram - CRAM-MD5 against the stored secret */
static void
test_cram(const struct passwd_table *pw)
{
	static const struct {
		const char *user, *key;
		enum sasl_status want;
	} cases[] = {
		{ "demo", "demo", SASL_DONE },
		{ "demo", "wrong", SASL_FAIL },
		{ "ghost", "demo", SASL_FAIL },
		{ "nocram", "x", SASL_FAIL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sasl *s;
		char *ch, *resp, *next;
		unsigned char *plain;
		size_t len;
		enum sasl_status st = sasl_start(SASL_MECH_CRAM_MD5, NULL, "mx.test",
		    pw, &s, &ch);

		ok(st == SASL_CONTINUE && ch != NULL, "CRAM-MD5 sends a challenge");
		if (i == 0 && sasl_base64_decode(ch, &plain, &len) == 0) {
			ok(plain[0] == '<' && strstr((char *)plain, "@mx.test>") != NULL,
			    "challenge shape: %s", plain);
			free(plain);
		}
		resp = cram_response(cases[i].user, cases[i].key, ch);
		st = sasl_step(s, resp, pw, &next);
		ok(st == cases[i].want && next == NULL, "CRAM-MD5 %s/%s: got %s, want %s",
		    cases[i].user, cases[i].key, status_names[st],
		    status_names[cases[i].want]);
		ok(sasl_user(s) != NULL && strcmp(sasl_user(s), cases[i].user) == 0,
		    "CRAM-MD5 user %s", cases[i].user);
		free(resp);
		free(ch);
		sasl_free(&s);
	}
	{
		const char *none[] = { NULL }, *l_nospace[] = { "ZGVtbw==", NULL };
		const char *l_cancel[] = { "*", NULL };

		check("CRAM-MD5 with initial response", SASL_MECH_CRAM_MD5, "ZGVtbw==",
		    none, pw, SASL_MALFORMED, NULL);
		check("CRAM-MD5 without space", SASL_MECH_CRAM_MD5, NULL, l_nospace, pw,
		    SASL_MALFORMED, NULL);
		check("CRAM-MD5 cancel", SASL_MECH_CRAM_MD5, NULL, l_cancel, pw,
		    SASL_CANCEL, NULL);
	}
}

/* test_mechs - names */
static void
test_mechs(void)
{
	enum sasl_mech m;

	ok(sasl_mech_find("plain", &m) && m == SASL_MECH_PLAIN, "find plain");
	ok(sasl_mech_find("CRAM-MD5", &m) && m == SASL_MECH_CRAM_MD5, "find CRAM-MD5");
	ok(!sasl_mech_find("DIGEST-MD5", &m), "no DIGEST-MD5");
	ok(strcmp(sasl_mech_name(SASL_MECH_LOGIN), "LOGIN") == 0, "name LOGIN");
}

int
main(void)
{
	struct passwd_table *pw = NULL;
	struct config_errors errs = { 0 };
	char path[] = "/tmp/sasl_test.XXXXXX", *line, *text;
	const char *why;
	FILE *fp;
	int fd = mkstemp(path);

	if (fd < 0 || passwd_entry_make("demo", "demo", &line, &why) < 0)
		return 1;
	/* A customer whose line has no CRAM-MD5 secret. */
	text = xasprintf("%s\nnocram:%s", line, strchr(line, ':') + 1);
	*strrchr(text, ':') = '\0';
	fp = fdopen(fd, "w");
	fprintf(fp, "%s:\n", text);
	fclose(fp);
	ok(passwd_load(path, &pw, &errs) == 0 && passwd_count(pw) == 2,
	    "load the test passwd file (%s)", errs.n ? errs.msg[0] : "ok");
	test_base64();
	test_mechs();
	test_plain_login(pw);
	test_cram(pw);
	passwd_table_free(&pw);
	config_errors_clear(&errs);
	unlink(path);
	free(line);
	free(text);
	return tap_done();
}
