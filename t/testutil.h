/*
 * testutil.h - scaffolding shared by the C unit tests (beside tap.h): a
 * scratch directory, files written into it, and text made fit for one
 * TAP line. A step that cannot be done prints "Bail out!" and exits 1,
 * since no later result of the test could be trusted.
 *
 *	static char dir[] = "/tmp/sluice-NAME-test.XXXXXX";
 *
 *	test_tmpdir(dir);
 *	test_put(dir, "sluice.conf", "myhostname = mx.example\n");
 *	...
 *	test_rmdir(dir);
 *	return tap_done();
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_TESTUTIL_H
#define SLUICE_TESTUTIL_H

/* test_esc - s with newlines shown as \n, for one-line test names (new string) */
char *test_esc(const char *s);

/* test_put - dir/name := text */
void test_put(const char *dir, const char *name, const char *text);

/* test_tmpdir - make the directory tmpl names (mkdtemp's XXXXXX filled in) */
void test_tmpdir(char *tmpl);

/* test_rmdir - remove dir and all below it; a diagnostic if that fails */
void test_rmdir(const char *dir);

/* test_log - prog's log written to DIR.log, whose name it returns (new string) */
char *test_log(const char *dir, const char *prog);

/*
 * test_queue - a scratch queue: the directory tmpl names (mkdtemp), the
 * queue's directories in it, and prog's log written to TMPL.log, whose
 * name it returns (new string, for test_queue_done)
 */
char *test_queue(char *tmpl, const char *prog);

/* test_queue_done - remove the queue dir and the log *logpathp; NULLs it */
void test_queue_done(const char *dir, char **logpathp);

/*
 * test_envelope - an envelope from sender with every field but the
 * recipients set (envid TEST_ENVID, RET=HDRS, an SMTP client with an IPv6
 * address and a UTF-8 login), for envelope_free
 */
#define TEST_ENVID	"env id 42"
struct envelope *test_envelope(const char *sender);

#endif
