/* queue_damage_test - the queue refuses damage: truncated, flipped and
 * spoiled files rejected and quarantined, aborts, limits, collisions, bad
 * IDs, and a full disk
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

/* System. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>

/* Layer 1: util. */
#include "util/log.h"
#include "util/xmalloc.h"

/* Layer 2: mail. */
#include "mail/queue.h"

/* Tests. */
#include "t/queue_files.h"
#include "t/tap.h"
#include "t/testutil.h"


/*
 * expect_rejected - the file at msg/XX/id now holds buf; reading it must
 * fail with EBADMSG and move it to corrupt/. Cleans corrupt/ afterwards.
 */
static bool
expect_rejected(const char *id, const void *buf, size_t len)
{
	struct envelope *got = NULL;
	char *path, cpath[512];
	bool good;
	int rc;

	path = queue_path(qdir, id, false);
	if (spit(path, buf, len) == -1) {
		free(path);
		return false;
	}
	rc = queue_read_envelope(qdir, id, &got);
	good = rc == -1 && errno == EBADMSG && got == NULL &&
	    access(path, F_OK) == -1 && exists("corrupt", id);
	envelope_free(&got);
	snprintf(cpath, sizeof(cpath), "%s/corrupt/%s", qdir, id);
	unlink(cpath);
	free(path);
	return good;
}

/* log_mentions - does the log file contain both strings on one line? */
static bool
log_mentions(const char *a, const char *b)
{
	char line[1024];
	bool found = false;
	FILE *fp;

	if ((fp = fopen(logpath, "r")) == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), fp) != NULL)
		found = strstr(line, a) != NULL && strstr(line, b) != NULL;
	fclose(fp);
	return found;
}

/* test_damage - truncation, bit flips, bad fields: rejected and quarantined */
static void
test_damage(void)
{
	static const char body[] = "Subject: hi\r\n\r\nhello\r\n";
	unsigned char *orig, *copy;
	struct envelope *env, *got = NULL;
	char id[QUEUE_ID_LEN + 1], name1[QUEUE_ID_LEN + 3], cpath[512], *path, *at;
	size_t len, cut, bad = 0, bit, envlen, off;
	int firstbad = -1;

	env = make_env("sender@example.org");
	if (commit_msg(env, body, sizeof(body) - 1) == -1) {
		ok(false, "commit for damage tests: %s", strerror(errno));
		envelope_free(&env);
		return;
	}
	memcpy(id, env->id, sizeof(id));
	envelope_free(&env);
	path = queue_path(qdir, id, false);
	orig = slurp(path, &len);
	ok(orig != NULL && len > 28, "read committed file (%zu bytes)", len);
	if (orig == NULL) {
		free(path);
		return;
	}

	/* Every truncation: a partial write must never pass for a message. */
	for (cut = 0; cut < len; cut++)
		if (!expect_rejected(id, orig, cut)) {
			bad++;
			if (firstbad == -1)
				firstbad = (int)cut;
		}
	ok(bad == 0, "truncated at each of %zu offsets: %zu accepted or not quarantined "
	    "(first at %d), want 0", len, bad, firstbad);
	ok(log_mentions(id, "quarantine") && log_mentions(id, "trailer missing"),
	    "log line names the file and the reason");

	/* Extra bytes after the trailer. */
	copy = xmalloc(len + 1);
	memcpy(copy, orig, len);
	copy[len] = '\n';
	ok(expect_rejected(id, copy, len + 1), "one byte appended is rejected");

	/* Each bit of the envelope length, of the first record length, of the trailer. */
	envlen = (size_t)orig[12] << 24 | (size_t)orig[13] << 16 | (size_t)orig[14] << 8 | orig[15];
	ok(envlen + 28 < len, "envelope length %zu fits file", envlen);
	bad = 0;
	for (bit = 0; bit < 32; bit++) {
		memcpy(copy, orig, len);
		copy[12 + bit / 8] ^= (unsigned char)(1u << (bit % 8));
		bad += !expect_rejected(id, copy, len);
		memcpy(copy, orig, len);
		copy[17 + bit / 8] ^= (unsigned char)(1u << (bit % 8));
		bad += !expect_rejected(id, copy, len);
	}
	for (bit = 0; bit < 64; bit++) {
		memcpy(copy, orig, len);
		copy[len - 12 + bit / 8] ^= (unsigned char)(1u << (bit % 8));
		bad += !expect_rejected(id, copy, len);
	}
	ok(bad == 0, "bit flips in length fields: %zu accepted, want 0", bad);

	/* Magic, version, trailer word. */
	memcpy(copy, orig, len);
	copy[0] = 'X';
	ok(expect_rejected(id, copy, len), "bad magic is rejected");
	memcpy(copy, orig, len);
	copy[11] = 2;
	ok(expect_rejected(id, copy, len), "unknown version is rejected");
	memcpy(copy, orig, len);
	copy[len - 1] = 'X';
	ok(expect_rejected(id, copy, len), "bad END is rejected");

	/* Same-length edits keep every length right: only the grammar can object. */
	memcpy(copy, orig, len);
	at = memmem(copy, len, "bob@site.example", 16);
	if (at != NULL)
		memcpy(at, "bob@site..xample", 16);
	ok(at != NULL && expect_rejected(id, copy, len), "bad recipient address is rejected");
	memcpy(copy, orig, len);
	at = memmem(copy, len, "sender@example.org", 18);
	if (at != NULL)
		memcpy(at, "sender example.org", 18);
	ok(at != NULL && expect_rejected(id, copy, len), "bad sender address is rejected");
	memcpy(copy, orig, len);
	at = memmem(copy, len, "bob@", 4);
	if (at != NULL)
		at[1] = '\0';
	ok(at != NULL && expect_rejected(id, copy, len), "NUL inside a recipient is rejected");
	memcpy(copy, orig, len);
	at = memmem(copy, len, id, QUEUE_ID_LEN);
	if (at != NULL)
		at[0] = at[0] == '0' ? '1' : '0';
	ok(at != NULL && expect_rejected(id, copy, len), "ID record differing from the name is rejected");
	/* An unknown record type in the first record. */
	memcpy(copy, orig, len);
	off = 16;
	copy[off] = 0x7f;
	ok(expect_rejected(id, copy, len), "unknown record type is rejected");

	/* The content reader validates too. */
	{
		uint64_t clen;
		int cfd = -1;

		spit(path, orig, len - 1);
		ok(queue_open_content(qdir, id, &cfd, &clen) == -1 && errno == EBADMSG &&
		    cfd == -1 && exists("corrupt", id), "open_content refuses a truncated file");
		snprintf(cpath, sizeof(cpath), "%s/corrupt/%s", qdir, id);
		unlink(cpath);
	}

	/* A symbolic link is never followed. */
	unlink(path);
	ok(symlink("/etc/passwd", path) == 0 && queue_read_envelope(qdir, id, &got) == -1 &&
	    errno == EBADMSG && exists("corrupt", id), "symbolic link is quarantined");

	/* The original, put back, still reads. */
	unlink(path);
	spit(path, orig, len);
	ok(queue_read_envelope(qdir, id, &got) == 0, "undamaged file still reads");
	envelope_free(&got);
	/* Quarantine twice: the older corrupt file is kept. */
	ok(queue_quarantine(qdir, id, "test") == 0, "queue_quarantine: %s", strerror(errno));
	spit(path, orig, len);
	snprintf(name1, sizeof(name1), "%s.1", id);
	ok(queue_quarantine(qdir, id, "test") == 0 && exists("corrupt", name1),
	    "second quarantine of the same ID keeps the first");
	free(copy);
	free(orig);
	free(path);
}

/* test_abort_and_errors - abort, size limits, collisions, bad IDs, free space */
static void
test_abort_and_errors(void)
{
	struct envelope *env, *got = NULL;
	struct queue_file *qf;
	char big[100];

	env = make_env("a@b.example");
	qf = queue_file_create(qdir, env);
	ok(qf != NULL && count_entries("incoming") == 1, "create puts a file in incoming/");
	if (qf != NULL) {
		queue_file_write(qf, "hello\r\n", 7);
		ok(queue_file_size(qf) == 7, "queue_file_size: got %ju, want 7",
		    (uintmax_t)queue_file_size(qf));
		queue_file_abort(&qf);
	}
	ok(qf == NULL && count_entries("incoming") == 0, "abort leaves nothing in incoming/");
	ok(queue_read_envelope(qdir, env->id, &got) == -1 && errno == ENOENT,
	    "aborted message is not committed");

	qf = queue_file_create(qdir, env);
	memset(big, 'x', sizeof(big));
	if (qf != NULL) {
		queue_file_set_max_size(qf, 150);
		ok(queue_file_write(qf, big, sizeof(big)) == 0, "write within max_size");
		ok(queue_file_write(qf, big, sizeof(big)) == -1 && errno == EFBIG,
		    "write past max_size: EFBIG");
		ok(queue_file_commit(&qf) == -1 && errno == EFBIG && qf == NULL,
		    "commit after EFBIG fails with EFBIG");
	}
	ok(count_entries("incoming") == 0, "failed commit leaves nothing in incoming/");

	/* A name already in msg/ is never replaced, even by a colliding ID. */
	qf = queue_file_create(qdir, env);
	if (qf != NULL) {
		char *p = queue_path(qdir, env->id, false);
		unsigned char *back;
		size_t blen = 0;

		spit(p, "precious", 8);
		ok(queue_file_commit(&qf) == -1 && errno == EEXIST,
		    "commit onto an existing message: EEXIST");
		back = slurp(p, &blen);
		ok(back != NULL && blen == 8 && memcmp(back, "precious", 8) == 0,
		    "the existing message is untouched");
		ok(count_entries("incoming") == 0, "refused commit leaves nothing in incoming/");
		free(back);
		unlink(p);
		free(p);
	}

	free(env->sender);
	env->sender = xstrdup("bad sender");
	errno = 0;
	ok(queue_file_create(qdir, env) == NULL && errno == EINVAL, "invalid envelope: EINVAL");
	ok(count_entries("incoming") == 0, "invalid envelope leaves nothing");
	envelope_free(&env);

	ok(queue_path(qdir, "../x", false) == NULL && errno == EINVAL, "queue_path refuses bad IDs");
	ok(queue_read_envelope(qdir, "../../../etc/passwd", &got) == -1 && errno == EINVAL,
	    "read refuses bad IDs");
	ok(queue_read_envelope(qdir, "00000000000000000000", &got) == -1 && errno == ENOENT,
	    "read of a missing message: ENOENT");
	ok(queue_space_ok(qdir, 0, 0), "queue_space_ok with no need");
	ok(!queue_space_ok(qdir, UINT64_MAX, 0), "queue_space_ok refuses 2^64 bytes");
	ok(!queue_space_ok(qdir, 1, UINT64_MAX), "queue_space_ok honours the floor");
}

/* fsize_child - in a child with RLIMIT_FSIZE: the write path must fail cleanly */
static int
fsize_child(void)
{
	struct rlimit rl = { .rlim_cur = 32768, .rlim_max = 32768 };
	struct envelope *env;
	char *content;
	size_t len = 1 << 20;
	char *p;
	int rc;

	/* Past the limit write() fails with EFBIG instead of killing us. */
	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
		return 2;
	content = xmalloc(len);
	memset(content, 'y', len);
	env = make_env("a@b.example");
	rc = commit_msg(env, content, len);
	if (rc != -1 || (errno != EFBIG && errno != ENOSPC))
		return 3;
	if (count_entries("incoming") != 0)
		return 4;
	/* The failed message never reached its bucket. */
	if ((p = queue_path(qdir, env->id, false)) == NULL || access(p, F_OK) == 0)
		return 5;
	free(p);
	envelope_free(&env);
	free(content);
	return 0;
}

/* test_fsize - a full disk, simulated with RLIMIT_FSIZE */
static void
test_fsize(void)
{
	pid_t pid;
	int status = -1;

	fflush(stdout);
	if ((pid = fork()) == 0)
		_exit(fsize_child());
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "file size limit (EFBIG, as ENOSPC would): commit fails, nothing left (child status %d)",
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int
main(void)
{
	queue_files_setup("queue_damage_test");
	ok(queue_init_dirs(qdir) == 0, "queue_init_dirs: %s", strerror(errno));
	test_damage();
	test_abort_and_errors();
	test_fsize();
	return queue_files_done();
}
