/*
 * header_test - lib/mail/header: the Subject a customer's list of held
 * mail shows (found in a bounded head, unfolded, RFC 2047 decoded where
 * simple, made valid printable UTF-8 and cut).
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* lib/mail */
#include "mail/header.h"

#include "t/tap.h"

static const struct {
	const char *text;
	int found;
	const char *want;
} subjects[] = {
    {"From: a@b\r\nSubject: hello\r\n\r\nbody", 1, "hello"},
    {"subject:   spaced  \r\nTo: x\r\n\r\n", 1, "spaced"},
    {"SUBJECT: upper\r\n\r\n", 1, "upper"},
    {"Subject: folded\r\n  line\r\nTo: x\r\n\r\n", 1, "folded  line"},
    {"Subject: lf only\nTo: x\n\n", 1, "lf only"},
    {"From: a@b\r\n\r\nSubject: in the body\r\n", 0, ""},
    {"X-Subject: not this\r\n\r\n", 0, ""},
    {"Subject: first\r\nSubject: second\r\n\r\n", 1, "first"},
    /* Cut off by the bounded read: not used. */
    {"From: a@b\r\nSubject: cut", 0, ""},
    /* Its continuation cut off: not whole, not used (and buf is ""). */
    {"Subject: head\r\n and a cut tail", 0, ""},
    /* The next field cut off: the Subject is whole (and terminated). */
    {"Subject: hi\r\nFrom: a@b", 1, "hi"},
    {"Subject: two\r\n lines\r\nDKIM-Signature: v=1; a=rsa", 1, "two lines"},
    {"Subject:\r\n\r\n", 1, ""},
};

static const struct {
	const char *raw;
	size_t max;
	const char *want;
} displays[] = {
    {"plain text", 80, "plain text"},
    {"=?UTF-8?B?w6l0w6k=?=", 80, "\xc3\xa9t\xc3\xa9"},
    {"=?utf-8?q?caf=C3=A9_au_lait?=", 80, "caf\xc3\xa9 au lait"},
    {"=?ISO-8859-1?Q?caf=E9?=", 80, "caf\xc3\xa9"},
    {"=?utf-8?b?YQ==?= =?utf-8?b?Yg==?=", 80, "ab"},
    {"=?utf-8?q?a?=  tail", 80, "a  tail"},
    {"head =?utf-8?q?a?=", 80, "head a"},
    {"=?utf-8*en?q?lang?=", 80, "lang"},
    /* What we do not decode stays as written. */
    {"=?koi8-r?B?8NLJ18XU?=", 80, "=?koi8-r?B?8NLJ18XU?="},
    {"=?utf-8?x?abc?=", 80, "=?utf-8?x?abc?="},
    {"=?utf-8?b?@@@@?=", 80, "=?utf-8?b?@@@@?="},
    {"=?utf-8?q?bad=Z1?=", 80, "=?utf-8?q?bad=Z1?="},
    {"=?utf-8?q?a b?=", 80, "=?utf-8?q?a b?="},
    /* Controls and bad octets become '?', a tab a space. */
    {"=?utf-8?q?a=00b=0Dc=1Bd?=", 80, "a?b?c?d"},
    {"bad \xff\xfe octets", 80, "bad ?? octets"},
    {"tab\there", 80, "tab here"},
    {"=?utf-8?q?=C2=85?=", 80, "??"},
    {"=?utf-8?q?=ED=A0=80?=", 80, "???"},
    /* The HTML metacharacters pass: escaping is the page's job. */
    {"<script>alert(1)</script>", 80, "<script>alert(1)</script>"},
    /* Cut at max characters, never inside one. */
    {"abcdefghij", 5, "abcde..."},
    {"\xc3\xa9\xc3\xa9\xc3\xa9", 2, "\xc3\xa9\xc3\xa9..."},
    {"abcde", 5, "abcde"},
};

int
main(void)
{
	char buf[256];
	size_t i;

	for (i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
		int got;

		/* What the buffer held before must never show through. */
		memset(buf, 'Z', sizeof(buf) - 1);
		buf[sizeof(buf) - 1] = '\0';
		got = header_subject(subjects[i].text, strlen(subjects[i].text),
		    buf, sizeof(buf));

		ok(got == subjects[i].found &&
		        strcmp(buf, subjects[i].want) == 0,
		    "subject %zu: got %d \"%s\", want %d \"%s\"", i, got, buf,
		    subjects[i].found, subjects[i].want);
	}
	/* The buffer bounds the value. */
	ok(header_subject("Subject: 0123456789\r\n\r\n", 23, buf, 5) == 1 &&
	        strcmp(buf, "0123") == 0,
	    "subject cut to the buffer: got \"%s\"", buf);
	for (i = 0; i < sizeof(displays) / sizeof(displays[0]); i++) {
		header_display(
		    displays[i].raw, displays[i].max, buf, sizeof(buf));
		ok(strcmp(buf, displays[i].want) == 0,
		    "display %zu: got \"%s\", want \"%s\"", i, buf,
		    displays[i].want);
	}
	/* A small buffer: still terminated, still cut with "...". */
	header_display("abcdefghij", 80, buf, 8);
	ok(strcmp(buf, "abcd...") == 0, "display into 8 bytes: got \"%s\"",
	    buf);
	header_display("abc", 80, buf, 3);
	ok(buf[0] == '\0', "display into 3 bytes: empty, got \"%s\"", buf);
	return tap_done();
}
