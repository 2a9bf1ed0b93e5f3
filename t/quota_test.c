/*
 * quota_test - the arithmetic of per-domain caps (lib/mail/quota): the
 * verdicts at RCPT and the end of DATA, the notice levels with their
 * re-arming, and the usage file's grammar.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/xmalloc.h"
#include "mail/domains.h"
#include "mail/quota.h"
#include "t/tap.h"
#include "t/testutil.h"

static void
test_check(void)
{
	static const struct {
		long max_messages, max_bytes;
		uint64_t messages, bytes, size;
		enum quota_verdict want;
	} cases[] = {
	    {0, 0, 1000000, UINT64_MAX / 2, 1000, QUOTA_OK}, /* no cap */
	    {5, 0, 4, 0, 0, QUOTA_OK},
	    {5, 0, 5, 0, 0, QUOTA_MESSAGES},
	    {5, 0, 6, 0, 0, QUOTA_MESSAGES},
	    {0, 3072, 0, 2000, 1072, QUOTA_OK}, /* exactly full */
	    {0, 3072, 0, 2000, 1073, QUOTA_BYTES},
	    {0, 3072, 0, 3072, 0, QUOTA_BYTES},       /* full, size unknown */
	    {0, 3072, 0, 5000, 0, QUOTA_BYTES},       /* over (cap lowered) */
	    {0, 3072, 0, 0, UINT64_MAX, QUOTA_BYTES}, /* SIZE= must not wrap */
	    {5, 3072, 5, 4000, 10, QUOTA_MESSAGES},   /* messages said first */
	    {5, 3072, 1, 100, 10, QUOTA_OK},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct domain d = {.name = (char *)"a.example",
		    .max_messages = cases[i].max_messages,
		    .max_bytes = cases[i].max_bytes};
		struct quota_usage u = {cases[i].messages, cases[i].bytes};
		enum quota_verdict got = quota_check(&d, &u, cases[i].size);

		ok(got == cases[i].want, "check case %zu: got %d, want %d", i,
		    got, cases[i].want);
	}
}

static void
test_reason(void)
{
	struct domain d = {
	    .name = (char *)"a.example", .max_messages = 5, .max_bytes = 3072};
	struct quota_usage u = {5, 2048};
	char buf[128];

	quota_reason(&d, &u, QUOTA_MESSAGES, buf, sizeof(buf));
	ok(strcmp(buf, "a.example holds 5 messages (limit 5)") == 0,
	    "reason: got %s", buf);
	quota_reason(&d, &u, QUOTA_BYTES, buf, sizeof(buf));
	ok(strcmp(buf, "a.example holds 2048 bytes (limit 3072)") == 0,
	    "reason: got %s", buf);
}

/* A domain filling up and draining: which notice each step sends. */
static void
test_notify(void)
{
	static const struct {
		uint64_t messages;
		enum quota_level send, notified;
	} steps[] = {
	    {1, QUOTA_LEVEL_NONE, QUOTA_LEVEL_NONE},
	    {7, QUOTA_LEVEL_NONE, QUOTA_LEVEL_NONE},
	    {8, QUOTA_LEVEL_NEAR, QUOTA_LEVEL_NEAR}, /* 80% */
	    {9, QUOTA_LEVEL_NONE, QUOTA_LEVEL_NEAR},
	    {10, QUOTA_LEVEL_FULL, QUOTA_LEVEL_FULL}, /* the cap */
	    {10, QUOTA_LEVEL_NONE, QUOTA_LEVEL_FULL}, /* once only */
	    {9, QUOTA_LEVEL_NONE, QUOTA_LEVEL_NEAR},  /* full re-armed */
	    {10, QUOTA_LEVEL_FULL, QUOTA_LEVEL_FULL}, /* full again */
	    {7, QUOTA_LEVEL_NONE, QUOTA_LEVEL_NEAR},  /* 70%: near stays */
	    {8, QUOTA_LEVEL_NONE, QUOTA_LEVEL_NEAR},  /* no flapping */
	    {6, QUOTA_LEVEL_NONE, QUOTA_LEVEL_NONE},  /* below 70%: re-armed */
	    {8, QUOTA_LEVEL_NEAR, QUOTA_LEVEL_NEAR},
	    {0, QUOTA_LEVEL_NONE, QUOTA_LEVEL_NONE},
	    {12, QUOTA_LEVEL_FULL, QUOTA_LEVEL_FULL}, /* a jump: full alone */
	};
	struct domain d = {.name = (char *)"a.example", .max_messages = 10};
	enum quota_level notified = QUOTA_LEVEL_NONE, send;
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct quota_usage u = {steps[i].messages, 0};

		send = quota_notify_step(&d, &u, &notified);
		ok(send == steps[i].send && notified == steps[i].notified,
		    "step %zu (%llu of 10): got send %s notified %s, want %s "
		    "%s",
		    i, (unsigned long long)steps[i].messages,
		    quota_level_name(send), quota_level_name(notified),
		    quota_level_name(steps[i].send),
		    quota_level_name(steps[i].notified));
	}
	/* Either cap: bytes at 80% while messages are low. */
	d.max_bytes = 1000;
	notified = QUOTA_LEVEL_NONE;
	send = quota_notify_step(&d, &(struct quota_usage){1, 800}, &notified);
	ok(send == QUOTA_LEVEL_NEAR, "80%% of max_bytes: got %s, want near",
	    quota_level_name(send));
}

static void
test_file(void)
{
	static const struct {
		const char *text;
		const char *err; /* NULL: parses */
	} cases[] = {
	    {"qmgr 12 1700000000\ndomain a.example 3 4096\nindexed "
	     "0123456789ABCDEF0123\n",
	        NULL},
	    {"qmgr 12 1700000000\n", NULL},
	    {"", "line 1: empty file"},
	    {"domain a.example 3 4096\n",
	        "line 1: the first line is not \"qmgr PID EPOCH\""},
	    {"qmgr 12 1700000000\ndomain a.example 3\n",
	        "line 2: unknown record"},
	    {"qmgr 12 1700000000\ndomain a.example x 1\n",
	        "line 2: bad domain line"},
	    {"qmgr 12 1700000000\ndomain bad..example 1 1\n",
	        "line 2: bad domain line"},
	    {"qmgr 12 1700000000\ndomain a.example 1 99999999999999999999999\n",
	        "line 2: bad domain line"},
	    {"qmgr 12 1700000000\nindexed ../../etc\n", "line 2: bad queue ID"},
	    {"qmgr 12 1700000000\nqmgr 13 1700000000\n",
	        "line 2: a second qmgr line"},
	    {"qmgr 12 1700000000", "line 1: last line not ended"},
	    {"qmgr 0 1700000000\n", "line 1: bad qmgr line"},
	};
	struct quota_file *f;
	struct quota_usage u;
	char *err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = quota_file_parse(
		    cases[i].text, strlen(cases[i].text), &f, &err);

		if (cases[i].err == NULL)
			ok(r == 0 && f != NULL,
			    "file case %zu parses: got %d (%s)", i, r,
			    err ? err : "");
		else
			ok(r < 0 && err != NULL &&
			        strcmp(err, cases[i].err) == 0,
			    "file case %zu: got %s, want %s", i,
			    err ? err : "(ok)", cases[i].err);
		if (i == 0 && f != NULL) {
			ok(quota_file_get(f, "a.example", &u) &&
			        u.messages == 3 && u.bytes == 4096,
			    "a.example: got %llu %llu, want 3 4096",
			    (unsigned long long)u.messages,
			    (unsigned long long)u.bytes);
			ok(!quota_file_get(f, "b.example", &u),
			    "b.example has no figures");
			ok(quota_file_has_indexed(f, "0123456789ABCDEF0123"),
			    "the indexed ID is named");
			ok(quota_file_pid(f) == 12, "the pid: got %ld",
			    (long)quota_file_pid(f));
		}
		quota_file_free(&f);
		free(err);
	}
}

/* The ring keeps the newest QUOTA_RECENT_MAX IDs. */
static void
test_ring(void)
{
	struct quota_file *f = quota_file_new();
	char id[32];
	int i;

	for (i = 0; i < QUOTA_RECENT_MAX + 10; i++) {
		snprintf(id, sizeof(id), "%020X", i + 1);
		quota_file_indexed(f, id);
	}
	snprintf(id, sizeof(id), "%020X", 1);
	ok(!quota_file_has_indexed(f, id), "the oldest ID left the ring");
	snprintf(id, sizeof(id), "%020X", QUOTA_RECENT_MAX + 10);
	ok(quota_file_has_indexed(f, id), "the newest is in it");
	quota_file_free(&f);
}

/* Sums stop at the top: a huge figure plus a little is not a little. */
static void
test_add(void)
{
	struct domain d = {.name = (char *)"a.example", .max_bytes = 3072};
	struct quota_usage u = {UINT64_MAX - 1, UINT64_MAX - 10};

	quota_usage_add(&u, 5, 1800);
	ok(u.messages == UINT64_MAX && u.bytes == UINT64_MAX,
	    "add saturates: got %llu messages, %llu bytes",
	    (unsigned long long)u.messages, (unsigned long long)u.bytes);
	ok(quota_check(&d, &u, 0) == QUOTA_BYTES, "and the sum is full");
	u = (struct quota_usage){1, 100};
	quota_usage_add(&u, 2, 50);
	ok(u.messages == 3 && u.bytes == 150, "add: got %llu, %llu",
	    (unsigned long long)u.messages, (unsigned long long)u.bytes);
}

/* refused - is path refused at once, with want in the reason? */
static void
refused(const char *path, const char *want, const char *what)
{
	char *err = NULL;
	int fd = quota_private_open(path, &err);

	ok(fd < 0 && errno == EBADMSG && err != NULL &&
	        strstr(err, want) != NULL,
	    "%s: got %s, want %s", what, err != NULL ? err : "(none)", want);
	if (fd >= 0)
		close(fd);
	free(err);
}

/*
 * The files of private/ that smtpd and qmgr read back are refused,
 * without blocking, when they are not what qmgr writes.
 */
static void
test_private_open(void)
{
	char dir[] = "/tmp/quota_test.XXXXXX", *path, *err = NULL;
	int fd;

	test_tmpdir(dir);
	path = xasprintf("%s/quota", dir);

	errno = 0;
	fd = quota_private_open(path, &err);
	ok(fd < 0 && errno == ENOENT && err == NULL,
	    "none: -1 with ENOENT, got %d, %s", fd, strerror(errno));

	test_put(dir, "quota", "qmgr 1 2\n");
	(void)chmod(path, 0600);
	fd = quota_private_open(path, &err);
	ok(fd >= 0 && err == NULL, "a 0600 file of ours opens");
	if (fd >= 0)
		close(fd);

	(void)chmod(path, 0622);
	refused(path, "writable by group or others (mode 0622)",
	    "group/world-writable refused");

	(void)unlink(path);
	ok(mkfifo(path, 0600) == 0, "a FIFO in its place");
	/* Without O_NONBLOCK the open waits for a writer: forever. */
	refused(path, "not a regular file", "a FIFO is refused at once");

	(void)unlink(path);
	ok(symlink("/etc/passwd", path) == 0, "a symbolic link in its place");
	refused(path, "symbolic link", "a symbolic link is refused");

	(void)unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ok(fd >= 0 && ftruncate(fd, (off_t)QUOTA_FILE_MAX + 1) == 0,
	    "a sparse file past the limit");
	if (fd >= 0)
		close(fd);
	refused(path, "more than the", "too large is refused before reading");

	free(path);
	test_rmdir(dir);
}

int
main(void)
{
	test_check();
	test_reason();
	test_notify();
	test_file();
	test_ring();
	test_add();
	test_private_open();
	return tap_done();
}
