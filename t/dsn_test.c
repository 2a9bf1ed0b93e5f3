/*
 * dsn_test - delivery status notifications: envelope, MIME structure, fields
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
#include "t/testutil.h"

/* test_needed - the dsn_needed() truth table */
static void
test_needed(void)
{
	static const struct {
		const char *sender;
		unsigned notify;
		enum dsn_action action;
		bool want;
	} cases[] = {
		{ "", 0, DSN_ACTION_FAILED, false },
		{ "", DSN_NOTIFY_FAILURE, DSN_ACTION_FAILED, false },
		{ "", DSN_NOTIFY_SUCCESS, DSN_ACTION_DELIVERED, false },
		{ SENDER, DSN_NOTIFY_NEVER, DSN_ACTION_FAILED, false },
		{ SENDER, DSN_NOTIFY_NEVER, DSN_ACTION_DELAYED, false },
		{ SENDER, DSN_NOTIFY_NEVER, DSN_ACTION_DELIVERED, false },
		{ SENDER, 0, DSN_ACTION_FAILED, true },
		{ SENDER, 0, DSN_ACTION_DELAYED, true },
		{ SENDER, 0, DSN_ACTION_DELIVERED, false },
		{ SENDER, 0, DSN_ACTION_EXPANDED, false },
		{ SENDER, DSN_NOTIFY_FAILURE, DSN_ACTION_FAILED, true },
		{ SENDER, DSN_NOTIFY_FAILURE, DSN_ACTION_DELAYED, false },
		{ SENDER, DSN_NOTIFY_FAILURE, DSN_ACTION_DELIVERED, false },
		{ SENDER, DSN_NOTIFY_DELAY, DSN_ACTION_DELAYED, true },
		{ SENDER, DSN_NOTIFY_DELAY, DSN_ACTION_FAILED, false },
		{ SENDER, DSN_NOTIFY_SUCCESS, DSN_ACTION_DELIVERED, true },
		{ SENDER, DSN_NOTIFY_SUCCESS, DSN_ACTION_EXPANDED, true },
		{ SENDER, DSN_NOTIFY_SUCCESS, DSN_ACTION_FAILED, false },
		{ SENDER, DSN_NOTIFY_SUCCESS, DSN_ACTION_DELAYED, false },
		{ SENDER, DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY,
		    DSN_ACTION_DELAYED, true },
		{ NULL, 0, DSN_ACTION_FAILED, false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = dsn_needed(cases[i].sender, cases[i].notify, cases[i].action);

		ok(got == cases[i].want, "dsn_needed(<%s>, notify %#x, action %d): got %d, want %d",
		    cases[i].sender != NULL ? cases[i].sender : "NULL", cases[i].notify,
		    (int)cases[i].action, got, cases[i].want);
	}
}

/* test_failure - a bounce with RET=FULL: fields per recipient, body attached */
static void
test_failure(void)
{
	const struct dsn_rcpt r[] = {
		{ .addr = "bob@site.example", .orcpt = "rfc822;bob+2Bx@site.example",
		  .notify = DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY, .action = DSN_ACTION_FAILED,
		  .status = "5.1.1", .remote_mta = "mx.site.example",
		  .diagnostic = "smtp; 550 5.1.1 <bob@site.example>: no such user",
		  .last_attempt = params.now - 60 },
		{ .addr = "carol@site.example", .notify = 0, .action = DSN_ACTION_FAILED,
		  .status = "4.4.7" },
		{ .addr = "dave@site.example", .notify = DSN_NOTIFY_NEVER,
		  .action = DSN_ACTION_FAILED, .status = "5.0.0" },
	};
	struct notice n;
	char *st, *g, *text;

	if (!notice_made("failure", DSN_RET_FULL, r, 3, "Undelivered Mail Returned to Sender",
	    "message/rfc822", &n))
		goto out;
	/* DSN_TEST_DUMP=1 shows a whole notice, for a human to read. */
	if (getenv("DSN_TEST_DUMP") != NULL)
		fwrite(n.data, 1, n.len, stderr);
	text = part_copy(&n, 0);
	ok(strstr(text, "<bob@site.example>") != NULL && strstr(text, "550 5.1.1") != NULL,
	    "failure: text names bob and the reason");
	ok(strstr(text, "<carol@site.example>") != NULL, "failure: text names carol");
	ok(strstr(text, "dave@") == NULL, "failure: NOTIFY=NEVER dave left out of the text");
	free(text);
	st = part_body(&n, 1);
	ok(header_is(st, "Reporting-MTA", "dns; mx.test"), "failure: Reporting-MTA");
	ok(header_is(st, "Original-Envelope-Id", TEST_ENVID), "failure: Original-Envelope-Id");
	ok(has_header(st, "Arrival-Date"), "failure: Arrival-Date");
	g = rcpt_group(st, "bob@site.example");
	ok(g != NULL, "failure: group for bob");
	if (g != NULL) {
		ok(header_is(g, "Original-Recipient", "rfc822;bob+x@site.example"),
		    "failure: bob Original-Recipient xtext-decoded");
		ok(header_is(g, "Action", "failed"), "failure: bob Action");
		ok(header_is(g, "Status", "5.1.1"), "failure: bob Status");
		ok(header_is(g, "Remote-MTA", "dns; mx.site.example"), "failure: bob Remote-MTA");
		ok(header_is(g, "Diagnostic-Code",
		    "smtp; 550 5.1.1 <bob@site.example>: no such user"), "failure: bob Diagnostic-Code");
		ok(has_header(g, "Last-Attempt-Date"), "failure: bob Last-Attempt-Date");
		ok(!has_header(g, "Will-Retry-Until"), "failure: no Will-Retry-Until");
	}
	free(g);
	g = rcpt_group(st, "carol@site.example");
	ok(g != NULL, "failure: group for carol (absent NOTIFY means FAILURE)");
	if (g != NULL) {
		ok(!has_header(g, "Original-Recipient"), "failure: carol without ORCPT");
		ok(header_is(g, "Status", "4.4.7"), "failure: carol Status");
		ok(header_is(g, "Action", "failed"), "failure: carol Action");
	}
	free(g);
	ok(rcpt_group(st, "dave@site.example") == NULL, "failure: dave (NEVER) left out");
	free(st);
	text = part_copy(&n, 2);
	ok(strstr(text, "BODY-MARKER") != NULL, "failure: RET=FULL attaches the body");
	ok(strstr(text, "Subject: quarterly report\r\n") != NULL, "failure: and the headers");
	free(text);
out:
	notice_free(&n);
}

/* test_delay - a delay notice: Will-Retry-Until, headers only even with RET=FULL */
static void
test_delay(void)
{
	const struct dsn_rcpt r[] = {
		{ .addr = "bob@site.example", .orcpt = "rfc822;bob+2Bx@site.example",
		  .notify = DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY, .action = DSN_ACTION_DELAYED,
		  .status = "4.4.1", .diagnostic = "connect to site.example: refused" },
		{ .addr = "erin@site.example", .notify = DSN_NOTIFY_SUCCESS,
		  .action = DSN_ACTION_DELAYED, .status = "4.4.1" },
	};
	struct notice n;
	char *st, *g, *text;

	if (!notice_made("delay", DSN_RET_FULL, r, 2, "Delayed Mail (still being retried)",
	    "text/rfc822-headers", &n))
		goto out;
	text = part_copy(&n, 0);
	ok(strstr(text, "5 days") != NULL, "delay: text says how long we keep trying");
	free(text);
	st = part_body(&n, 1);
	g = rcpt_group(st, "bob@site.example");
	ok(g != NULL && header_is(g, "Action", "delayed"), "delay: bob Action delayed");
	ok(g != NULL && header_is(g, "Diagnostic-Code", "smtp; connect to site.example: refused"),
	    "delay: a diagnostic without a type gets smtp;");
	ok(g != NULL && has_header(g, "Will-Retry-Until"), "delay: Will-Retry-Until");
	free(g);
	ok(rcpt_group(st, "erin@site.example") == NULL, "delay: NOTIFY=SUCCESS erin left out");
	free(st);
	text = part_copy(&n, 2);
	ok(strstr(text, "BODY-MARKER") == NULL && strstr(text, "Subject: quarterly report") != NULL,
	    "delay: headers only, even with RET=FULL");
	free(text);
out:
	notice_free(&n);
}

/* test_ret - RET=HDRS and an absent RET attach the headers only */
static void
test_ret(void)
{
	const struct dsn_rcpt r[] = {
		{ .addr = "bob@site.example", .notify = DSN_NOTIFY_FAILURE,
		  .action = DSN_ACTION_FAILED, .status = "5.1.1" },
	};
	const enum dsn_ret rets[] = { DSN_RET_HDRS, DSN_RET_UNSET };
	struct notice n;
	char *text;
	size_t i;

	for (i = 0; i < 2; i++) {
		if (notice_made(rets[i] == DSN_RET_HDRS ? "RET=HDRS" : "RET unset", rets[i],
		    r, 1, "Undelivered Mail Returned to Sender", "text/rfc822-headers", &n)) {
			text = part_copy(&n, 2);
			ok(strstr(text, "BODY-MARKER") == NULL &&
			    strstr(text, "Message-ID: <orig.1@sender.example>\r\n") != NULL,
			    "ret %d: headers, no body", (int)rets[i]);
			free(text);
		}
		notice_free(&n);
	}
}

/* test_none_due - null sender, NEVER, nobody wanting it: 1 and no file */
static void
test_none_due(void)
{
	const struct dsn_rcpt fail = { .addr = "bob@site.example", .notify = 0,
	    .action = DSN_ACTION_FAILED };
	const struct dsn_rcpt never = { .addr = "dave@site.example",
	    .notify = DSN_NOTIFY_NEVER, .action = DSN_ACTION_FAILED };
	const struct dsn_rcpt success = { .addr = "bob@site.example", .notify = 0,
	    .action = DSN_ACTION_DELIVERED };
	struct dsn_params pm = params;
	struct envelope *orig;
	struct notice n;
	char id[QUEUE_ID_LEN + 1];

	ok(make_dsn("", plain_msg, plain_msg_len, DSN_RET_FULL, &fail, 1, &params,
	    &n, NULL) == 1, "null sender: no notice");
	ok(make_dsn(SENDER, plain_msg, plain_msg_len, DSN_RET_FULL, &never, 1,
	    &params, &n, NULL) == 1, "NOTIFY=NEVER: no notice");
	ok(make_dsn(SENDER, plain_msg, plain_msg_len, DSN_RET_FULL, &success, 1,
	    &params, &n, NULL) == 1, "success without NOTIFY=SUCCESS: no notice");
	ok(make_dsn(SENDER, plain_msg, plain_msg_len, DSN_RET_FULL, &fail, 0,
	    &params, &n, NULL) == 1, "no recipients: no notice");

	/* Null-sender mail may be reported to the postmaster instead. */
	pm.recipient = "postmaster@mx.test";
	ok(make_dsn("", plain_msg, plain_msg_len, DSN_RET_FULL, &fail, 1, &pm,
	    &n, NULL) == 0, "null sender with recipient override: notice created");
	ok(n.env != NULL && strcmp(n.env->rcpt[0].addr, "postmaster@mx.test") == 0 &&
	    strcmp(n.env->sender, "") == 0, "override: to the postmaster from <>");
	ok(header_is(n.data, "To", "<postmaster@mx.test>"), "override: To header");
	notice_free(&n);

	/* The original must still be there. */
	orig = queue_original(SENDER, plain_msg, plain_msg_len, DSN_RET_FULL);
	queue_remove(qdir, orig->id);
	errno = 0;
	ok(dsn_create(qdir, orig->id, orig, &fail, 1, &params, id) == -1 && errno == ENOENT,
	    "original gone: -1 with ENOENT: got %s", strerror(errno));
	envelope_free(&orig);
}

/* test_success - NOTIFY=SUCCESS and a delivery: a success report */
static void
test_success(void)
{
	const struct dsn_rcpt r = { .addr = "erin@site.example", .notify = DSN_NOTIFY_SUCCESS,
	    .action = DSN_ACTION_DELIVERED, .remote_mta = "dns; mx.site.example",
	    .diagnostic = "smtp; 250 2.0.0 ok" };
	struct notice n;
	char *st, *g;

	if (notice_made("success", DSN_RET_FULL, &r, 1, "Successful Mail Delivery Report",
	    "text/rfc822-headers", &n)) {
		st = part_body(&n, 1);
		g = rcpt_group(st, "erin@site.example");
		ok(g != NULL && header_is(g, "Action", "delivered") &&
		    header_is(g, "Status", "2.0.0") &&
		    header_is(g, "Remote-MTA", "dns; mx.site.example"),
		    "success: delivered, 2.0.0 by default, typed Remote-MTA kept");
		free(g);
		free(st);
	}
	notice_free(&n);
}

int
main(void)
{
	dsn_notice_setup("dsn_test");
	test_needed();
	test_failure();
	test_delay();
	test_ret();
	test_none_due();
	test_success();
	return dsn_notice_done();
}
