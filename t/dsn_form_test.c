/* dsn_form_test - the form of notices: line lengths, the RET=FULL size cap,
 * 8-bit originals, the customer notice, and a parser we did not write
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

/* System. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

/* Layer 1: util. */
#include "util/xmalloc.h"

/* Layer 2: mail. */
#include "mail/dsn.h"
#include "mail/queue.h"

/* Tests. */
#include "t/dsn_notice.h"
#include "t/tap.h"

/* test_long_lines - huge header and body lines, long diagnostics: none over 998 */
static void
test_long_lines(void)
{
	struct dsn_rcpt r = { .addr = "bob@site.example", .notify = 0,
	    .action = DSN_ACTION_FAILED, .status = "5.3.4" };
	char *content, *diag, *text;
	size_t clen, i;
	struct notice n;
	enum dsn_ret ret;

	/* One unbroken 5000-octet header, a folded 3000-octet one, a 3000-octet body line. */
	content = xmalloc(20000);
	clen = (size_t)sprintf(content, "X-Huge: ");
	for (i = 0; i < 5000; i++)
		content[clen++] = (char)('a' + i % 26);
	clen += (size_t)sprintf(content + clen, "\r\nX-Words:");
	for (i = 0; i < 500; i++)
		clen += (size_t)sprintf(content + clen, " word%zu", i % 10);
	clen += (size_t)sprintf(content + clen, "\r\nSubject: long\r\n\r\n");
	for (i = 0; i < 3000; i++)
		content[clen++] = 'b';
	clen += (size_t)sprintf(content + clen, "\r\nBODY-MARKER\r\n");
	diag = xmalloc(3100);
	i = (size_t)sprintf(diag, "smtp; 552 5.3.4 ");
	memset(diag + i, 'x', 3000);
	diag[i + 3000] = '\0';
	r.diagnostic = diag;
	for (ret = DSN_RET_FULL; ret <= DSN_RET_HDRS; ret++) {
		ok(make_dsn(SENDER, content, clen, ret, &r, 1, &params, &n, NULL) == 0,
		    "long lines, ret %d: notice created", (int)ret);
		check_lines(ret == DSN_RET_FULL ? "long lines, RET=FULL" : "long lines, RET=HDRS",
		    n.data, n.len);
		ok(n.nparts == 3 && n.closed, "long lines, ret %d: three parts", (int)ret);
		if (n.nparts == 3) {
			text = part_copy(&n, 2);
			ok(strstr(text, "\r\n abcdef") != NULL || strstr(text, "\r\n ") != NULL,
			    "long lines, ret %d: the long header was folded", (int)ret);
			ok((strstr(text, "BODY-MARKER") != NULL) == (ret == DSN_RET_FULL),
			    "long lines, ret %d: body only with RET=FULL", (int)ret);
			free(text);
		}
		notice_free(&n);
	}
	free(diag);
	free(content);
}

/* test_big - RET=FULL past DSN_FULL_MAX falls back to the headers */
static void
test_big(void)
{
	const struct dsn_rcpt r = { .addr = "bob@site.example", .action = DSN_ACTION_FAILED };
	size_t clen = DSN_FULL_MAX + 100, i;
	char *content = xmalloc(clen), *text;
	struct notice n;

	memcpy(content, plain_msg, plain_msg_len);
	/* Body lines of 78 octets up to the end. */
	for (i = plain_msg_len; i < clen; i++)
		content[i] = (i - plain_msg_len) % 80 == 78 ? '\r' :
		    (i - plain_msg_len) % 80 == 79 ? '\n' : 'z';
	memcpy(content + clen - 2, "\r\n", 2);
	ok(make_dsn(SENDER, content, clen, DSN_RET_FULL, &r, 1, &params, &n, NULL) == 0,
	    "big: notice created");
	ok(n.nparts == 3 && header_is(n.part[2], "Content-Type", "text/rfc822-headers"),
	    "big: over DSN_FULL_MAX, RET=FULL returns the headers");
	ok(n.len < 64 * 1024, "big: notice is small: %zu octets", n.len);
	if (n.nparts == 3) {
		text = part_copy(&n, 2);
		ok(strstr(text, "Subject: quarterly report\r\n") != NULL &&
		    strstr(text, "BODY-MARKER") == NULL, "big: headers, no body");
		free(text);
	}
	notice_free(&n);
	/* Just under the limit, the whole message comes back. */
	ok(make_dsn(SENDER, content, DSN_FULL_MAX, DSN_RET_FULL, &r, 1, &params, &n, NULL) == 0,
	    "big: notice at DSN_FULL_MAX created");
	ok(n.nparts == 3 && header_is(n.part[2], "Content-Type", "message/rfc822") &&
	    n.len > DSN_FULL_MAX, "big: at DSN_FULL_MAX, the whole message: %zu octets", n.len);
	check_lines("big", n.data, n.len);
	notice_free(&n);
	free(content);
}

/* test_8bit - an 8-bit original makes the report say Content-Transfer-Encoding: 8bit */
static void
test_8bit(void)
{
	static const char msg8[] = "Subject: caf\xc3\xa9\r\n\r\nna\xc3\xafve\r\n";
	const struct dsn_rcpt r = { .addr = "bob@site.example", .action = DSN_ACTION_FAILED,
	    .diagnostic = "smtp; 550 \xff\x01 bad\r\n550 second line" };
	struct notice n;

	char *v;

	ok(make_dsn(SENDER, msg8, sizeof(msg8) - 1, DSN_RET_FULL, &r, 1, &params, &n, NULL) == 0,
	    "8bit: notice created");
	ok(header_is(n.data, "Content-Transfer-Encoding", "8bit"), "8bit: top-level 8bit");
	ok(n.nparts == 3 && header_is(n.part[2], "Content-Transfer-Encoding", "8bit"),
	    "8bit: part 3 8bit");
	ok(n.nparts == 3 && !has_header(n.part[1], "Content-Transfer-Encoding"),
	    "8bit: part 2 stays 7bit");
	check_lines("8bit", n.data, n.len);
	if (n.nparts == 3) {
		char *st = part_body(&n, 1);
		char *g = rcpt_group(st, "bob@site.example");

		v = g != NULL ? header_value(g, "Diagnostic-Code") : NULL;
		ok(v != NULL && strcmp(v, "smtp; 550 ? bad 550 second line") == 0,
		    "8bit: diagnostic cleaned to one ASCII line: got %s", v ? v : "(none)");
		free(v);
		free(g);
		free(st);
	}
	notice_free(&n);
}

/* test_notify - the daily customer notice */
static void
test_notify(void)
{
	char id[QUEUE_ID_LEN + 1];
	struct notice n;

	char *s;

	ok(dsn_create_notify(qdir, "site.example", "admin@site.example", 0, 5, &params, id) == 1,
	    "notify: nothing expiring, nothing sent");
	ok(dsn_create_notify(qdir, "site.example", "admin@site.example", 3, 17, &params, id) == 0,
	    "notify: created");
	if (notice_read(id, &n) == -1) {
		ok(false, "notify: read back: %s", strerror(errno));
		return;
	}
	ok(strcmp(n.env->sender, "") == 0 && n.env->nrcpt == 1 &&
	    strcmp(n.env->rcpt[0].addr, "admin@site.example") == 0 &&
	    n.env->rcpt[0].notify == DSN_NOTIFY_NEVER, "notify: envelope <> -> admin, NEVER");
	check_lines("notify", n.data, n.len);
	ok(header_is(n.data, "Content-Type", "text/plain; charset=us-ascii"), "notify: text/plain");
	ok(header_is(n.data, "Auto-Submitted", "auto-generated"), "notify: auto-generated");
	ok(header_is(n.data, "To", "<admin@site.example>"), "notify: To");
	s = header_value(n.data, "Message-ID");
	ok(s != NULL && strncmp(s + 1, id, QUEUE_ID_LEN) == 0, "notify: Message-ID has the ID");
	free(s);
	s = header_value(n.data, "Subject");
	ok(s != NULL && strstr(s, "3 messages") != NULL, "notify: subject counts: %s", s ? s : "");
	free(s);
	ok(strstr(body_of(n.data), "17") != NULL, "notify: body gives the total");
	notice_free(&n);
	ok(dsn_create_notify(qdir, "site.example", "not an address", 3, 17, &params, id) == -1 &&
	    errno == EINVAL, "notify: bad address refused with EINVAL");
}

/*
 * test_python_parse - a mail library we did not write parses the report
 * (Python's email package), when python3 is installed.
 */
static void
test_python_parse(void)
{
	static const char script[] =
	    "import sys, email\n"
	    "m = email.message_from_binary_file(open(sys.argv[1], 'rb'))\n"
	    "assert m.get_content_type() == 'multipart/report', m.get_content_type()\n"
	    "assert m.get_param('report-type') == 'delivery-status'\n"
	    "p = m.get_payload()\n"
	    "assert [x.get_content_type() for x in p] == ['text/plain', "
	    "'message/delivery-status', 'message/rfc822'], [x.get_content_type() for x in p]\n"
	    "ds = p[1].get_payload()\n"
	    "assert ds[1]['Final-Recipient'] == 'rfc822; bob@site.example', ds[1]['Final-Recipient']\n"
	    "assert ds[1]['Action'] == 'failed' and ds[1]['Status'] == '5.1.1'\n"
	    "assert p[2].get_payload()[0]['Subject'] == 'quarterly report'\n";
	const struct dsn_rcpt r = { .addr = "bob@site.example", .action = DSN_ACTION_FAILED,
	    .status = "5.1.1" };
	char path[300], spath[300], *cmd;
	struct notice n;
	FILE *f;
	int st;

	if (system("python3 -c 'import email' >/dev/null 2>&1") != 0) {
		printf("ok %d - # SKIP python3 not installed\n", ++tap_count);
		return;
	}
	if (make_dsn(SENDER, plain_msg, plain_msg_len, DSN_RET_FULL, &r, 1, &params,
	    &n, NULL) != 0) {
		ok(false, "python: notice created");
		return;
	}
	snprintf(path, sizeof(path), "%s.eml", qdir);
	snprintf(spath, sizeof(spath), "%s.py", qdir);
	if ((f = fopen(path, "wb")) != NULL) {
		fwrite(n.data, 1, n.len, f);
		fclose(f);
	}
	if ((f = fopen(spath, "w")) != NULL) {
		fputs(script, f);
		fclose(f);
	}
	cmd = xasprintf("python3 %s %s", spath, path);
	st = system(cmd);
	ok(st == 0, "python's email package parses the report as expected");
	free(cmd);
	unlink(path);
	unlink(spath);
	notice_free(&n);
}

int
main(void)
{
	dsn_notice_setup("dsn_form_test");
	test_long_lines();
	test_big();
	test_8bit();
	test_notify();
	test_python_parse();
	return dsn_notice_done();
}
