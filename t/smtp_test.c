/*
 * smtp_test - command parsing, ESMTP parameters, xtext, reply catalogue
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* lib/mail */
#include "mail/smtp_cmd.h"
#include "mail/smtp_reply.h"
#include "tap.h"

/* nz - NULL as "(null)" for messages */
static const char *
nz(const char *s)
{
	return s ? s : "(null)";
}

/* same - equal strings, NULL only equal to NULL */
static bool
same(const char *a, const char *b)
{
	return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

/*
 * check_status - what every MAIL and RCPT case checks first: the parse
 * status, and after a failure the parameter it names and that no path
 * (the sender or recipient) came back. True when there is more to check.
 */
static bool
check_status(const char *verb, const char *arg, enum smtp_parse got,
    enum smtp_parse want, const char *param, const char *want_param,
    const char *path)
{
	ok(got == want, "%s '%s': got %d, want %d", verb, arg, got, want);
	if (got == SMTP_PARSE_OK)
		return true;
	ok(strcmp(param, want_param) == 0 && path == NULL,
	    "%s '%s': got param '%s', want '%s'", verb, arg, param, want_param);
	return false;
}

static void
test_split(void)
{
	static const struct {
		const char *line;
		size_t len;		/* 0: strlen */
		enum smtp_parse want;
		const char *verb, *arg;
	} cases[] = {
		{ "mail FROM:<a@b.example>\r\n", 0, SMTP_PARSE_OK, "MAIL", "FROM:<a@b.example>" },
		{ "QUIT\r\n", 0, SMTP_PARSE_OK, "QUIT", "" },
		{ "Ehlo  client.example  \r\n", 0, SMTP_PARSE_OK, "EHLO", "client.example" },
		{ "noop\n", 0, SMTP_PARSE_OK, "NOOP", "" },
		{ "\r\n", 0, SMTP_PARSE_OK, "", "" },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZ x\r\n", 0, SMTP_PARSE_OK, "", "x" },
		{ "HELO\0x\r\n", 8, SMTP_PARSE_NUL, NULL, NULL },
		{ "\0\r\n", 3, SMTP_PARSE_NUL, NULL, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtp_cmd cmd;
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].line);
		enum smtp_parse got = smtp_cmd_split(cases[i].line, len, &cmd);

		ok(got == cases[i].want, "split %zu: got %d, want %d", i, got,
		    cases[i].want);
		if (got != SMTP_PARSE_OK || cases[i].want != SMTP_PARSE_OK)
			continue;
		ok(strcmp(cmd.verb, cases[i].verb) == 0 &&
		    strcmp(cmd.arg, cases[i].arg) == 0,
		    "split %zu: got verb '%s' arg '%s', want '%s' '%s'", i,
		    cmd.verb, cmd.arg, cases[i].verb, cases[i].arg);
	}
}

static void
test_bare_lf(void)
{
	static const struct {
		const char *line;
		bool want;
	} cases[] = {
		{ "NOOP\r\n", false },
		{ "NOOP\n", true },
		{ "\n", true },
		{ "\r\n", false },
		{ "NOOP", false },	/* no line end at all: not this test's business */
		{ "NOOP\r\r\n", false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = smtp_line_bare_lf(cases[i].line, strlen(cases[i].line));

		ok(got == cases[i].want, "bare LF %zu: got %d, want %d", i, got,
		    cases[i].want);
	}
}

static void
test_mail(void)
{
	static const struct {
		const char *arg;
		enum smtp_parse want;
		const char *sender;
		uint64_t size;
		enum smtp_body body;
		enum dsn_ret ret;
		const char *envid;
		const char *param;	/* keyword reported on failure */
	} cases[] = {
		{ "FROM:<a@b.example>", SMTP_PARSE_OK, "a@b.example", 0, 0, 0, NULL, "" },
		{ "from:<>", SMTP_PARSE_OK, "", 0, 0, 0, NULL, "" },
		{ "FROM: <a@b.example>", SMTP_PARSE_OK, "a@b.example", 0, 0, 0, NULL, "" },
		{ "FROM:<a@b.example> SIZE=12345", SMTP_PARSE_OK, "a@b.example", 12345, 0, 0, NULL, "" },
		{ "FROM:<j\xc3\xbcrgen@b.example>", SMTP_PARSE_8BIT, NULL, 0, 0, 0, NULL, "" },
		{ "FROM:<a@b\xe9.example>", SMTP_PARSE_8BIT, NULL, 0, 0, 0, NULL, "" },
		{ "FROM:<a@b.example> size=0 body=8bitmime", SMTP_PARSE_OK, "a@b.example", 0, SMTP_BODY_8BITMIME, 0, NULL, "" },
		{ "FROM:<a@b.example> BODY=7BIT", SMTP_PARSE_OK, "a@b.example", 0, SMTP_BODY_7BIT, 0, NULL, "" },
		{ "FROM:<a@b.example> RET=HDRS ENVID=QQ+2B1", SMTP_PARSE_OK, "a@b.example", 0, 0, DSN_RET_HDRS, "QQ+1", "" },
		{ "FROM:<a@b.example> RET=full", SMTP_PARSE_OK, "a@b.example", 0, 0, DSN_RET_FULL, NULL, "" },
		{ "FROM:<a@b.example>  SIZE=1  ", SMTP_PARSE_OK, "a@b.example", 1, 0, 0, NULL, "" },
		{ "FROM:<@relay.example:a@b.example>", SMTP_PARSE_OK, "a@b.example", 0, 0, 0, NULL, "" },
		{ "FROM:<a@b.example> SIZE=18446744073709551615", SMTP_PARSE_OK, "a@b.example", UINT64_MAX, 0, 0, NULL, "" },
		{ "FROM:<a@b.example> SIZE=18446744073709551616", SMTP_PARSE_PARAM_BAD, NULL, 0, 0, 0, NULL, "SIZE" },
		{ "FROM:<a@b.example> SIZE=12x", SMTP_PARSE_PARAM_BAD, NULL, 0, 0, 0, NULL, "SIZE" },
		{ "FROM:<a@b.example> SIZE=", SMTP_PARSE_PARAM_BAD, NULL, 0, 0, 0, NULL, "SIZE" },
		{ "FROM:<a@b.example> SIZE", SMTP_PARSE_PARAM_BAD, NULL, 0, 0, 0, NULL, "SIZE" },
		{ "FROM:<a@b.example> SIZE=1 SIZE=2", SMTP_PARSE_PARAM_DUP, NULL, 0, 0, 0, NULL, "SIZE" },
		{ "FROM:<a@b.example> body=8BITMIME BODY=7BIT", SMTP_PARSE_PARAM_DUP, NULL, 0, 0, 0, NULL, "BODY" },
		{ "FROM:<a@b.example> BODY=BINARYMIME", SMTP_PARSE_PARAM_BAD, NULL, 0, 0, 0, NULL, "BODY" },
		{ "FROM:<a@b.example> RET=ALL", SMTP_PARSE_PARAM_BAD, NULL, 0, 0, 0, NULL, "RET" },
		{ "FROM:<a@b.example> ENVID=a+2", SMTP_PARSE_PARAM_BAD, NULL, 0, 0, 0, NULL, "ENVID" },
		{ "FROM:<a@b.example> ENVID=a+0A", SMTP_PARSE_PARAM_BAD, NULL, 0, 0, 0, NULL, "ENVID" },
		{ "FROM:<a@b.example> ENVID=x ENVID=y", SMTP_PARSE_PARAM_DUP, NULL, 0, 0, 0, NULL, "ENVID" },
		{ "FROM:<a@b.example> AUTH=<>", SMTP_PARSE_PARAM_UNKNOWN, NULL, 0, 0, 0, NULL, "AUTH" },
		{ "FROM:<a@b.example> SMTPUTF8", SMTP_PARSE_PARAM_UNKNOWN, NULL, 0, 0, 0, NULL, "SMTPUTF8" },
		{ "FROM:<a@b.example> X=1=2", SMTP_PARSE_PARAM_UNKNOWN, NULL, 0, 0, 0, NULL, "X" },
		{ "FROM:<a@b.example> SIZE=1=2", SMTP_PARSE_PARAM_BAD, NULL, 0, 0, 0, NULL, "SIZE" },
		{ "FROM:<a@b.example> -X=1", SMTP_PARSE_PARAM_BAD, NULL, 0, 0, 0, NULL, "-X" },
		{ "FROM:<a@b.example>SIZE=1", SMTP_PARSE_SYNTAX, NULL, 0, 0, 0, NULL, "" },
		{ "FROM:a@b.example", SMTP_PARSE_PATH, NULL, 0, 0, 0, NULL, "" },
		{ "FROM:<a@b.example", SMTP_PARSE_PATH, NULL, 0, 0, 0, NULL, "" },
		{ "FROM:<a>", SMTP_PARSE_PATH, NULL, 0, 0, 0, NULL, "" },
		{ "FROM:<a b@c.example>", SMTP_PARSE_PATH, NULL, 0, 0, 0, NULL, "" },
		{ "TO:<a@b.example>", SMTP_PARSE_SYNTAX, NULL, 0, 0, 0, NULL, "" },
		{ "", SMTP_PARSE_SYNTAX, NULL, 0, 0, 0, NULL, "" },
		{ "FROM", SMTP_PARSE_SYNTAX, NULL, 0, 0, 0, NULL, "" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtp_mail_args m;
		enum smtp_parse got = smtp_parse_mail(cases[i].arg, &m);

		if (!check_status("mail", cases[i].arg, got, cases[i].want, m.param,
		    cases[i].param, m.sender))
			continue;
		ok(same(m.sender, cases[i].sender) &&
		    m.size == cases[i].size && m.body == cases[i].body &&
		    m.ret == cases[i].ret && same(m.envid, cases[i].envid),
		    "mail '%s': got <%s> size %llu body %d ret %d envid %s",
		    cases[i].arg, nz(m.sender), (unsigned long long)m.size,
		    m.body, m.ret, nz(m.envid));
		smtp_mail_args_clear(&m);
	}
}

static void
test_rcpt(void)
{
	static const struct {
		const char *arg;
		enum smtp_parse want;
		const char *addr;
		unsigned notify;
		const char *orcpt;
		const char *param;
	} cases[] = {
		{ "TO:<x@site.example>", SMTP_PARSE_OK, "x@site.example", 0, NULL, "" },
		{ "TO:<\xff@site.example>", SMTP_PARSE_8BIT, NULL, 0, NULL, "" },
		{ "to: <x@site.example>", SMTP_PARSE_OK, "x@site.example", 0, NULL, "" },
		{ "TO:<x@site.example> NOTIFY=NEVER", SMTP_PARSE_OK, "x@site.example", DSN_NOTIFY_NEVER, NULL, "" },
		{ "TO:<x@site.example> NOTIFY=success,FAILURE,Delay", SMTP_PARSE_OK, "x@site.example",
		    DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY, NULL, "" },
		{ "TO:<x@site.example> ORCPT=rfc822;x+40site.example", SMTP_PARSE_OK, "x@site.example", 0,
		    "rfc822;x+40site.example", "" },
		{ "TO:<x@site.example> ORCPT=rfc822;x@site.example NOTIFY=FAILURE", SMTP_PARSE_OK, "x@site.example",
		    DSN_NOTIFY_FAILURE, "rfc822;x@site.example", "" },
		{ "TO:<x@site.example> NOTIFY=NEVER,SUCCESS", SMTP_PARSE_PARAM_BAD, NULL, 0, NULL, "NOTIFY" },
		{ "TO:<x@site.example> NOTIFY=SUCCESS,SUCCESS", SMTP_PARSE_PARAM_BAD, NULL, 0, NULL, "NOTIFY" },
		{ "TO:<x@site.example> NOTIFY=SUCCESS,", SMTP_PARSE_PARAM_BAD, NULL, 0, NULL, "NOTIFY" },
		{ "TO:<x@site.example> NOTIFY=SOMETIMES", SMTP_PARSE_PARAM_BAD, NULL, 0, NULL, "NOTIFY" },
		{ "TO:<x@site.example> NOTIFY=DELAY NOTIFY=DELAY", SMTP_PARSE_PARAM_DUP, NULL, 0, NULL, "NOTIFY" },
		{ "TO:<x@site.example> ORCPT=x@site.example", SMTP_PARSE_PARAM_BAD, NULL, 0, NULL, "ORCPT" },
		{ "TO:<x@site.example> ORCPT=;x", SMTP_PARSE_PARAM_BAD, NULL, 0, NULL, "ORCPT" },
		{ "TO:<x@site.example> ORCPT=rfc822;", SMTP_PARSE_PARAM_BAD, NULL, 0, NULL, "ORCPT" },
		{ "TO:<x@site.example> ORCPT=rfc822;a+zz", SMTP_PARSE_PARAM_BAD, NULL, 0, NULL, "ORCPT" },
		{ "TO:<x@site.example> ORCPT=rfc 822;a", SMTP_PARSE_PARAM_BAD, NULL, 0, NULL, "ORCPT" },
		{ "TO:<x@site.example> SIZE=10", SMTP_PARSE_PARAM_UNKNOWN, NULL, 0, NULL, "SIZE" },
		{ "TO:<>", SMTP_PARSE_PATH, NULL, 0, NULL, "" },
		{ "TO:x@site.example", SMTP_PARSE_PATH, NULL, 0, NULL, "" },
		{ "FROM:<x@site.example>", SMTP_PARSE_SYNTAX, NULL, 0, NULL, "" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtp_rcpt_args r;
		enum smtp_parse got = smtp_parse_rcpt(cases[i].arg, &r);

		if (!check_status("rcpt", cases[i].arg, got, cases[i].want, r.param,
		    cases[i].param, r.addr))
			continue;
		ok(same(r.addr, cases[i].addr) && r.notify == cases[i].notify &&
		    same(r.orcpt, cases[i].orcpt),
		    "rcpt '%s': got <%s> notify %#x orcpt %s", cases[i].arg,
		    nz(r.addr), r.notify, nz(r.orcpt));
		smtp_rcpt_args_clear(&r);
	}
}

static void
test_xtext(void)
{
	static const struct {
		const char *in;
		const char *want;	/* NULL: must fail */
	} cases[] = {
		{ "abc", "abc" },
		{ "a+2Bb", "a+b" },
		{ "+3D", "=" },
		{ "x+20y", "x y" },
		{ "", "" },
		{ "+", NULL },
		{ "+2", NULL },
		{ "+2b", NULL },
		{ "+G0", NULL },
		{ "+00", NULL },
		{ "a=b", NULL },
		{ "a b", NULL },
		{ "a\x7f", NULL },
	};
	static const char *const roundtrip[] = {
		"plain", "with space", "a+b=c", "\x01\x7f\xff", "",
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = NULL;
		int r = smtp_xtext_decode(cases[i].in, strlen(cases[i].in), &got);

		ok(r == 0 ? same(got, cases[i].want) : cases[i].want == NULL,
		    "xtext decode '%s': got %s, want %s", cases[i].in,
		    r == 0 ? got : "failure", nz(cases[i].want));
		free(got);
	}
	for (i = 0; i < sizeof(roundtrip) / sizeof(roundtrip[0]); i++) {
		char *enc = smtp_xtext_encode(roundtrip[i]), *dec = NULL;
		int r = smtp_xtext_decode(enc, strlen(enc), &dec);

		ok(r == 0 && same(dec, roundtrip[i]),
		    "xtext round trip %zu: encoded '%s', decoded %s", i, enc,
		    r == 0 ? "back" : "failed");
		free(enc);
		free(dec);
	}
}

static const struct {
	const char *name;
	const char *text;
	bool enhanced;
} replies[] = {
#define X(name, enh) { #name, name, enh },
	SMTP_REPLY_LIST(X)
#undef X
};

/* reply_ok - a reply's code and enhanced code agree (RFC 5321, RFC 3463) */
static bool
reply_ok(const char *t, bool enhanced, char *why, size_t size)
{
	int a, b, c;
	char sep;

	if (!isdigit((unsigned char)t[0]) || !isdigit((unsigned char)t[1]) ||
	    !isdigit((unsigned char)t[2]) || t[0] < '2' || t[0] > '5' ||
	    (t[3] != ' ' && t[3] != '-')) {
		snprintf(why, size, "no 3-digit code of class 2-5");
		return false;
	}
	if (!enhanced)
		return true;
	if (sscanf(t + 4, "%1d.%3d.%3d%c", &a, &b, &c, &sep) != 4 || sep != ' ') {
		snprintf(why, size, "no enhanced status code");
		return false;
	}
	if (a != t[0] - '0' || t[0] == '3') {
		snprintf(why, size, "enhanced class %d, reply class %c", a, t[0]);
		return false;
	}
	return true;
}

static void
test_replies(void)
{
	const char *srcdir = getenv("SLUICE_SRCDIR");
	char *path, line[512], why[128];
	size_t i, defined = 0;
	FILE *fp;

	for (i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		why[0] = '\0';
		ok(reply_ok(replies[i].text, replies[i].enhanced, why, sizeof(why)),
		    "reply %s \"%s\": %s", replies[i].name, replies[i].text,
		    why[0] ? why : "ok");
	}
	/* Every defined reply must be in the list the loop above walks. */
	if (asprintf(&path, "%s/lib/mail/smtp_reply.h", srcdir ? srcdir : ".") < 0)
		return;
	fp = fopen(path, "r");
	if (fp == NULL) {
		tap_diag("cannot read %s: catalogue completeness not checked", path);
		free(path);
		return;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		char name[80];
		bool found = false;

		if (sscanf(line, "#define %79[A-Z0-9_]", name) != 1 ||
		    strncmp(name, "SMTP_R_", 7) != 0)
			continue;
		defined++;
		for (i = 0; i < sizeof(replies) / sizeof(replies[0]); i++)
			if (strcmp(replies[i].name, name) == 0)
				found = true;
		ok(found, "reply %s is in SMTP_REPLY_LIST", name);
	}
	fclose(fp);
	free(path);
	ok(defined == sizeof(replies) / sizeof(replies[0]),
	    "catalogue: got %zu defines, want %zu listed", defined,
	    sizeof(replies) / sizeof(replies[0]));
}

static void
test_verbs(void)
{
	static const struct smtp_verb table[] = {
		{ "HELO", SMTP_ST_ANY, NULL },
		{ "MAIL", SMTP_ST_HELO, NULL },
		{ NULL, 0, NULL },
	};
	const struct smtp_verb *v = smtp_verb_find(table, "MAIL");

	ok(v == &table[1], "verb MAIL: got row %td, want 1", v ? v - table : -1);
	ok(smtp_verb_find(table, "DATA") == NULL, "verb DATA: not in table");
	ok(smtp_verb_find(table, "") == NULL, "empty verb: not in table");
}

int
main(void)
{
	test_split();
	test_bare_lf();
	test_mail();
	test_rcpt();
	test_xtext();
	test_replies();
	test_verbs();
	return tap_done();
}
