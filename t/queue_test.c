/* queue_test - queue IDs, the durable writer, the validating reader, journals;
 * damage and errors are queue_damage_test's
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

#define NIDS	10000

/* read_full - read exactly len bytes; 0/-1 */
static int
read_full(int fd, char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = read(fd, buf, len)) <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* str_eq - equal strings, or both NULL */
static bool
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* id_cmp - qsort comparison of queue IDs */
static int
id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* test_ids - IDs: grammar, 10,000 fresh ones unique */
static void
test_ids(void)
{
	static const struct {
		const char *id;
		bool ok;
	} cases[] = {
		{ "0123456789ABCDEF0123", true },
		{ "0123456789abcdef0123", false },
		{ "0123456789ABCDEF012", false },
		{ "0123456789ABCDEF01234", false },
		{ "../../../etc/passwdX", false },
		{ "0123456789ABCDEF012G", false },
		{ "", false },
	};
	char (*ids)[QUEUE_ID_LEN + 1];
	size_t i, bad = 0, dups = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(queue_id_ok(cases[i].id) == cases[i].ok, "queue_id_ok(\"%s\"): got %d, want %d",
		    cases[i].id, !cases[i].ok, cases[i].ok);
	ok(!queue_id_ok(NULL), "queue_id_ok(NULL) is false");
	ids = xcalloc(NIDS, sizeof(*ids));
	for (i = 0; i < NIDS; i++) {
		queue_id_new(ids[i]);
		if (!queue_id_ok(ids[i]))
			bad++;
	}
	ok(bad == 0, "%d new IDs: %zu fail queue_id_ok, want 0", NIDS, bad);
	qsort(ids, NIDS, sizeof(*ids), id_cmp);
	for (i = 1; i < NIDS; i++)
		if (strcmp(ids[i - 1], ids[i]) == 0)
			dups++;
	ok(dups == 0, "%d new IDs: %zu duplicates, want 0", NIDS, dups);
	free(ids);
}

/* test_envelope_ok - envelope_ok: one spoiled field at a time */
static void
test_envelope_ok(void)
{
	struct envelope *env;
	size_t i;
	bool want;
	/* Each case spoils one field of a good envelope. */
	static const char *const names[] = {
		"good", "bad sender", "bad rcpt", "never+success", "orcpt no type",
		"bad protocol", "space in client name", "CRLF in helo", "no rcpt",
		"control in envid", "unknown notify bit", "bad ret",
		"space in helo (allowed)",
	};

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		env = make_env("sender@example.org");
		switch (i) {
		case 1: free(env->sender); env->sender = xstrdup("no-at-sign"); break;
		case 2: free(env->rcpt[1].addr); env->rcpt[1].addr = xstrdup("bob@site..example"); break;
		case 3: env->rcpt[2].notify |= DSN_NOTIFY_SUCCESS; break;
		case 4: free(env->rcpt[0].orcpt); env->rcpt[0].orcpt = xstrdup(";x@y"); break;
		case 5: free(env->protocol); env->protocol = xstrdup("FOO"); break;
		case 6: free(env->client_name); env->client_name = xstrdup("a b"); break;
		case 7: free(env->helo); env->helo = xstrdup("x\r\nRCPT"); break;
		case 12: free(env->helo); env->helo = xstrdup("my host"); break;
		case 8: env->nrcpt = 0; break;
		case 9: free(env->envid); env->envid = xstrdup("a\tb"); break;
		case 10: env->rcpt[0].notify |= 0x10; break;
		case 11: env->ret = (enum dsn_ret)7; break;
		}
		want = i == 0 || i == 12;
		ok(envelope_ok(env) == want, "envelope_ok(%s): got %d, want %d",
		    names[i], !want, want);
		if (i == 8)
			env->nrcpt = 3;
		envelope_free(&env);
	}
	ok(env == NULL, "envelope_free clears the pointer");
}

/* test_init_dirs - the layout and its modes, twice */
static void
test_init_dirs(void)
{
	static const struct {
		const char *name;
		mode_t mode;
	} want[] = {
		{ "incoming", 0700 }, { "msg", 0700 }, { "msg/00", 0700 },
		{ "msg/FF", 0700 }, { "msg/A7", 0700 }, { "corrupt", 0700 },
		{ "index", 0700 }, { "private", 0700 }, { "public", 0711 },
		{ "pid", 0700 },
	};
	char path[512];
	struct stat st;
	size_t i;

	ok(queue_init_dirs(qdir) == 0, "queue_init_dirs: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/public", qdir);
	chmod(path, 0777);
	ok(queue_init_dirs(qdir) == 0, "queue_init_dirs again (idempotent): %s", strerror(errno));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", qdir, want[i].name);
		ok(lstat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
		    (st.st_mode & 07777) == want[i].mode,
		    "mode of %s: got %o, want %o", want[i].name,
		    (unsigned)(st.st_mode & 07777), (unsigned)want[i].mode);
	}
	ok(count_entries("msg") == 256, "msg/ has 256 buckets");
}

/* test_round_trip - every envelope field and the content survive write and read */
static void
test_round_trip(void)
{
	struct envelope *env, *got = NULL;
	char *content, *back, *path;
	size_t i, len = 200000;
	uint64_t clen = 0;
	int fd = -1;
	bool same;

	content = xmalloc(len);
	for (i = 0; i < len; i++)
		content[i] = (i % 80 == 78) ? '\r' : (i % 80 == 79) ? '\n' : (char)('A' + i % 26);
	env = make_env("");
	ok(commit_msg(env, content, len) == 0, "commit a message: %s", strerror(errno));
	ok(queue_id_ok(env->id), "commit fills env->id (%s)", env->id);
	ok(count_entries("incoming") == 0, "incoming/ is empty after commit");
	path = queue_path(qdir, env->id, false);
	ok(path != NULL && access(path, F_OK) == 0, "committed file at %s", path);
	free(path);
	ok(queue_read_envelope(qdir, env->id, &got) == 0, "read back: %s", strerror(errno));
	if (got == NULL) {
		free(content);
		envelope_free(&env);
		return;
	}
	ok(strcmp(got->id, env->id) == 0, "id: got %s, want %s", got->id, env->id);
	ok(got->arrival == env->arrival, "arrival: got %lld, want %lld",
	    (long long)got->arrival, (long long)env->arrival);
	ok(str_eq(got->sender, ""), "null sender: got <%s>, want <>", got->sender);
	ok(str_eq(got->envid, env->envid), "envid: got %s", got->envid);
	ok(got->ret == DSN_RET_HDRS, "ret: got %d, want %d", got->ret, DSN_RET_HDRS);
	ok(str_eq(got->client_name, env->client_name), "client_name: got %s", got->client_name);
	ok(str_eq(got->client_addr, env->client_addr), "client_addr: got %s", got->client_addr);
	ok(str_eq(got->helo, env->helo), "helo: got %s", got->helo);
	ok(str_eq(got->protocol, env->protocol), "protocol: got %s", got->protocol);
	ok(str_eq(got->auth_user, env->auth_user), "auth_user: got %s", got->auth_user);
	ok(got->nrcpt == env->nrcpt, "nrcpt: got %zu, want %zu", got->nrcpt, env->nrcpt);
	for (i = 0; i < got->nrcpt && i < env->nrcpt; i++)
		ok(str_eq(got->rcpt[i].addr, env->rcpt[i].addr) &&
		    str_eq(got->rcpt[i].orcpt, env->rcpt[i].orcpt) &&
		    got->rcpt[i].notify == env->rcpt[i].notify,
		    "rcpt %zu: got %s %s %u, want %s %s %u", i, got->rcpt[i].addr,
		    got->rcpt[i].orcpt ? got->rcpt[i].orcpt : "-", got->rcpt[i].notify,
		    env->rcpt[i].addr, env->rcpt[i].orcpt ? env->rcpt[i].orcpt : "-",
		    env->rcpt[i].notify);
	ok(got->content_size == len, "content_size: got %ju, want %zu",
	    (uintmax_t)got->content_size, len);
	ok(queue_open_content(qdir, env->id, &fd, &clen) == 0 && clen == len,
	    "open content: got %ju bytes, want %zu", (uintmax_t)clen, len);
	back = xmalloc(len + 1);
	same = fd != -1 && read_full(fd, back, len) == 0 && memcmp(back, content, len) == 0;
	ok(same, "content reads back byte for byte");
	if (fd != -1)
		close(fd);
	free(back);
	free(content);
	envelope_free(&got);
	envelope_free(&env);

	/* A message with no content at all is still a valid file. */
	env = make_env("a@b.example");
	ok(commit_msg(env, "", 0) == 0 && queue_read_envelope(qdir, env->id, &got) == 0 &&
	    got->content_size == 0, "empty content round trip");
	envelope_free(&got);
	envelope_free(&env);
}

/* test_journal - append, read, torn tails, damage, removal */
static void
test_journal(void)
{
	enum journal_status st[3];
	struct envelope *env, *got = NULL;
	char *jpath;
	unsigned char *buf;
	size_t len;
	int fd;

	env = make_env("a@b.example");
	if (commit_msg(env, "x\r\n", 3) == -1) {
		ok(false, "commit for journal tests: %s", strerror(errno));
		envelope_free(&env);
		return;
	}
	jpath = queue_path(qdir, env->id, true);
	ok(queue_journal_read(qdir, env->id, 3, st) == 0 &&
	    st[0] == JOURNAL_PENDING && st[1] == JOURNAL_PENDING && st[2] == JOURNAL_PENDING,
	    "no journal: all pending");
	ok(queue_journal_append(qdir, env->id, 0, JOURNAL_DONE) == 0 &&
	    queue_journal_append(qdir, env->id, 2, JOURNAL_BOUNCED) == 0, "append two records");
	ok(queue_journal_read(qdir, env->id, 3, st) == 0 &&
	    st[0] == JOURNAL_DONE && st[1] == JOURNAL_PENDING && st[2] == JOURNAL_BOUNCED,
	    "read: got %d %d %d, want %d %d %d", st[0], st[1], st[2],
	    JOURNAL_DONE, JOURNAL_PENDING, JOURNAL_BOUNCED);
	ok(queue_journal_append(qdir, env->id, 0, JOURNAL_PENDING) == -1 && errno == EINVAL,
	    "appending PENDING is refused");

	/* A torn last record: a few bytes of a record that never finished. */
	fd = open(jpath, O_WRONLY | O_APPEND);
	ok(fd != -1 && write(fd, "SJ\001", 3) == 3, "tear the journal");
	if (fd != -1)
		close(fd);
	ok(queue_journal_read(qdir, env->id, 3, st) == 0 &&
	    st[0] == JOURNAL_DONE && st[1] == JOURNAL_PENDING && st[2] == JOURNAL_BOUNCED,
	    "torn last record is ignored");
	ok(queue_journal_append(qdir, env->id, 1, JOURNAL_EXPIRED) == 0 &&
	    queue_journal_read(qdir, env->id, 3, st) == 0 && st[1] == JOURNAL_EXPIRED,
	    "append after a torn record repairs the tail");

	/* A full-sized last record whose bytes never reached the disk. */
	fd = open(jpath, O_WRONLY | O_APPEND);
	ok(fd != -1 && write(fd, "\0\0\0\0\0\0\0\0\0\0\0\0", 12) == 12, "zeroed last record");
	if (fd != -1)
		close(fd);
	ok(queue_journal_read(qdir, env->id, 3, st) == 0 && st[1] == JOURNAL_EXPIRED,
	    "zeroed last record is ignored");
	ok(queue_journal_append(qdir, env->id, 1, JOURNAL_DELETED) == 0 &&
	    queue_journal_read(qdir, env->id, 3, st) == 0 && st[1] == JOURNAL_DELETED,
	    "later record wins");

	ok(queue_journal_read(qdir, env->id, 2, st) == -1 && errno == EBADMSG,
	    "recipient index out of range: EBADMSG");
	buf = slurp(jpath, &len);
	if (buf != NULL && len >= 24) {
		buf[5] ^= 1;
		spit(jpath, buf, len);
	}
	ok(buf != NULL && queue_journal_read(qdir, env->id, 3, st) == -1 && errno == EBADMSG,
	    "damage before the last record: EBADMSG");
	free(buf);

	/* queue_remove takes message and journal. */
	ok(queue_remove(qdir, env->id) == 0, "queue_remove: %s", strerror(errno));
	ok(access(jpath, F_OK) == -1 && queue_read_envelope(qdir, env->id, &got) == -1 &&
	    errno == ENOENT, "removed message and journal are gone");
	ok(queue_remove(qdir, "00000000000000000000") == -1 && errno == ENOENT,
	    "removing a missing message: ENOENT");
	free(jpath);
	envelope_free(&env);
}

struct scan_ctx {
	char (*ids)[QUEUE_ID_LEN + 1];
	size_t n, max;
	int stop_after;
};

/* scan_collect - queue_scan callback */
static int
scan_collect(const char *id, void *ctx)
{
	struct scan_ctx *sc = ctx;

	if (sc->n < sc->max)
		memcpy(sc->ids[sc->n], id, QUEUE_ID_LEN + 1);
	sc->n++;
	return sc->stop_after > 0 && (int)sc->n >= sc->stop_after ? -1 : 0;
}

/* test_scan_and_purge - scan sees committed IDs only; purge empties incoming/ */
static void
test_scan_and_purge(void)
{
	enum { NMSG = 60 };
	char want[NMSG][QUEUE_ID_LEN + 1], got[NMSG + 10][QUEUE_ID_LEN + 1], path[512];
	struct scan_ctx sc = { .ids = got, .max = NMSG + 10 };
	struct envelope *env;
	struct queue_file *qf;
	size_t i, made = 0;
	bool same;

	/* A fresh queue: only what we commit here. */
	test_rmdir(qdir);
	queue_init_dirs(qdir);
	for (i = 0; i < NMSG; i++) {
		env = make_env("a@b.example");
		if (commit_msg(env, "x\r\n", 3) == 0)
			memcpy(want[made++], env->id, QUEUE_ID_LEN + 1);
		envelope_free(&env);
	}
	ok(made == NMSG, "committed %zu messages, want %d", made, NMSG);
	/* Noise the scan must skip: a journal, a stray, a partial in incoming/. */
	queue_journal_append(qdir, want[0], 0, JOURNAL_DONE);
	snprintf(path, sizeof(path), "%s/msg/00/junk", qdir);
	spit(path, "x", 1);
	snprintf(path, sizeof(path), "%s/msg/00/0123456789ABCDEF01FF", qdir);
	spit(path, "x", 1);
	env = make_env("a@b.example");
	qf = queue_file_create(qdir, env);
	ok(queue_scan(qdir, scan_collect, &sc) == 0, "queue_scan: %s", strerror(errno));
	qsort(want, made, sizeof(want[0]), id_cmp);
	qsort(got, sc.n < sc.max ? sc.n : sc.max, sizeof(got[0]), id_cmp);
	same = sc.n == made;
	for (i = 0; same && i < made; i++)
		same = strcmp(want[i], got[i]) == 0;
	ok(same, "scan found exactly the committed IDs: got %zu, want %zu", sc.n, made);
	sc.n = 0;
	sc.stop_after = 5;
	ok(queue_scan(qdir, scan_collect, &sc) == -1 && sc.n == 5, "scan stops when fn returns -1");

	/* The walk qmgr's reconcile takes a step at a time: the same IDs, orphans removed. */
	{
		struct queue_walk *w = queue_walk_open(qdir);
		char id[QUEUE_ID_LEN + 1];
		int rc;

		snprintf(path, sizeof(path), "%s/msg/AB/0123456789ABCDEF01AB.j", qdir);
		spit(path, "x", 1);
		sc.n = 0;
		sc.stop_after = 0;
		while ((rc = queue_walk_next(w, id)) == 1)
			(void)scan_collect(id, &sc);
		ok(rc == 0 && queue_walk_buckets_done(w) == QUEUE_BUCKETS,
		    "walk ends after every bucket: rc %d", rc);
		qsort(got, sc.n < sc.max ? sc.n : sc.max, sizeof(got[0]), id_cmp);
		same = sc.n == made;
		for (i = 0; same && i < made; i++)
			same = strcmp(want[i], got[i]) == 0;
		ok(same, "walk found exactly the committed IDs: got %zu, want %zu", sc.n, made);
		ok(queue_walk_orphans(w) == 1 && access(path, F_OK) < 0 && errno == ENOENT,
		    "walk removed the orphan journal, and only it: %zu", queue_walk_orphans(w));
		char *jpath = queue_path(qdir, want[0], true);

		ok(jpath != NULL && access(jpath, F_OK) == 0,
		    "the journal of a queued message stays");
		free(jpath);
		queue_walk_close(&w);
		ok(w == NULL, "queue_walk_close clears the pointer");
	}

	/*
	 * A quarantine in progress: the message is in corrupt/ already, its
	 * journal not yet. The walk leaves that journal to the quarantine.
	 */
	{
		struct queue_walk *w = queue_walk_open(qdir);
		char id[QUEUE_ID_LEN + 1], cpath[512];

		snprintf(path, sizeof(path), "%s/msg/CD/0123456789ABCDEF01CD.j", qdir);
		spit(path, "x", 1);
		snprintf(cpath, sizeof(cpath), "%s/corrupt/0123456789ABCDEF01CD", qdir);
		spit(cpath, "x", 1);
		while (queue_walk_next(w, id) == 1)
			;
		ok(queue_walk_orphans(w) == 0 && access(path, F_OK) == 0,
		    "the journal of a message moved to corrupt/ stays: %zu removed",
		    queue_walk_orphans(w));
		queue_walk_close(&w);
		unlink(cpath);
		ok(queue_remove_orphan_journals(qdir) == 1 && access(path, F_OK) < 0,
		    "without corrupt/ID it is an orphan again, and removed");
	}

	snprintf(path, sizeof(path), "%s/incoming/.leftover", qdir);
	spit(path, "x", 1);
	ok(queue_purge_incoming(qdir) == 2, "purge_incoming removed 2");
	ok(count_entries("incoming") == 0, "incoming/ is empty after purge");
	queue_file_abort(&qf);
	envelope_free(&env);
}

int
main(void)
{
	queue_files_setup("queue_test");
	test_ids();
	test_envelope_ok();
	test_init_dirs();
	test_round_trip();
	test_journal();
	test_scan_and_purge();
	return queue_files_done();
}
