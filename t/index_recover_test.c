/*
 * index_recover_test - the queue index (lib/mail/qindex.c) recovers: the
 * entries a writer killed with SIGKILL committed survive, a database file
 * of garbage fails the open and remove_env recovers, commits leave few log
 * files behind, and qindex_check finds damage without harm to the caller.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

/* system */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <db.h>

/* lib/util */
#include "util/log.h"
#include "util/xmalloc.h"

/* lib/mail */
#include "mail/qindex.h"
#include "mail/queue.h"

/* tests */
#include "t/index_entry.h"
#include "t/tap.h"
#include "t/testutil.h"

/* count_files - files in dir whose names start with prefix (or end in it, for ".db") */
static size_t
count_files(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0, plen = strlen(prefix), len;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (strncmp(de->d_name, prefix, plen) == 0 ||
		    (len >= plen && strcmp(de->d_name + len - plen, prefix) == 0))
			n++;
	}
	closedir(d);
	return n;
}

/* child_write - the killed writer: put n entries, report, wait for SIGKILL */
static _Noreturn void
child_write(const char *dir, int fd, unsigned n)
{
	struct qindex *qi;
	struct qindex_entry *e;
	unsigned i;
	char c = 'k';

	if (qindex_open(dir, QINDEX_CREATE | QINDEX_RECOVER, &qi) < 0)
		_exit(1);
	for (i = 0; i < n; i++) {
		e = test_entry(2000 + i, domains[i % NDOMAINS]);
		if (qindex_put(qi, e) < 0)
			_exit(1);
		qindex_entry_free(&e);
	}
	if (write(fd, &c, 1) != 1)
		_exit(1);
	for (;;)
		pause();
}

/* test_killed_writer - entries committed before a SIGKILL survive recovery */
static void
test_killed_writer(const char *base)
{
	struct qindex *qi;
	struct seen s = { 0 };
	char *dir = xasprintf("%s/killed", base);
	int fds[2], status, rc;
	pid_t pid;
	char c = 0;
	const unsigned n = 300;

	if (pipe(fds) < 0 || (pid = fork()) < 0) {
		ok(false, "fork writer: %s", strerror(errno));
		free(dir);
		return;
	}
	if (pid == 0) {
		close(fds[0]);
		child_write(dir, fds[1], n);
	}
	close(fds[1]);
	ok(read(fds[0], &c, 1) == 1 && c == 'k', "writer committed %u entries", n);
	close(fds[0]);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "writer killed");
	ok(count_files(dir, "__db.") > 0, "killed writer left its regions behind");
	if (qindex_open(dir, QINDEX_CREATE | QINDEX_RECOVER, &qi) < 0) {
		ok(false, "recover after kill");
		free(dir);
		return;
	}
	rc = qindex_walk_all(qi, seen_fn, &s);
	ok(rc == 0 && s.n == n,
	    "entries after recovery: got %zu, want %u", s.n, n);
	qindex_close(&qi);
	ok(qi == NULL, "close NULLs the handle");
	ok(qindex_remove_env(dir) == 0 && count_files(dir, "__db.") == 0 &&
	    count_files(dir, "log.") == 0 && count_files(dir, ".db") == 0,
	    "remove_env leaves no environment files");
	ok(qindex_open(dir, QINDEX_CREATE | QINDEX_RECOVER, &qi) == 0,
	    "reopen after remove_env");
	s = (struct seen){ 0 };
	rc = qi != NULL ? qindex_walk_all(qi, seen_fn, &s) : -1;
	ok(rc == 0 && s.n == 0,
	    "rebuilt index is empty: got %zu", s.n);
	qindex_close(&qi);
	free(dir);
}

/* test_garbage_file - a database file of garbage fails the open, remove_env recovers */
static void
test_garbage_file(const char *base)
{
	struct qindex *qi = NULL;
	struct qindex_entry *e;
	char *dir = xasprintf("%s/garbage", base), *path;
	char junk[8192];
	FILE *fp;
	int rc;

	if (qindex_open(dir, QINDEX_CREATE | QINDEX_RECOVER, &qi) < 0) {
		ok(false, "open garbage test index");
		free(dir);
		return;
	}
	e = test_entry(7, "a.example");
	qindex_put(qi, e);
	qindex_entry_free(&e);
	qindex_close(&qi);
	memset(junk, 0x5a, sizeof(junk));
	path = xasprintf("%s/entries.db", dir);
	if ((fp = fopen(path, "w")) != NULL) {
		fwrite(junk, 1, sizeof(junk), fp);
		fclose(fp);
	}
	free(path);
	rc = qindex_open(dir, QINDEX_CREATE | QINDEX_RECOVER, &qi);
	ok(rc == -1 && qi == NULL, "open over a garbage database: got %d, want -1", rc);
	qindex_close(&qi);
	rc = qindex_remove_env(dir);
	ok(rc == 0 && qindex_open(dir, QINDEX_CREATE | QINDEX_RECOVER, &qi) == 0,
	    "remove_env then open starts clean");
	qindex_close(&qi);
	free(dir);
}

/* test_noop_walk - a walk callback that only counts */
static int
test_noop_walk(const struct qindex_entry *e, void *ctx)
{
	(void)e;
	++*(size_t *)ctx;
	return 0;
}

/*
 * test_damage - qindex_check passes a sound index and fails a bad record
 * or a page of garbage without harm to the caller; a walk over a bad
 * record marks the index damaged; set_aside keeps the files and the lock.
 */
static void
test_damage(const char *base)
{
	struct qindex *qi = NULL;
	struct qindex_entry *e;
	char *dir = xasprintf("%s/damage", base), *path, *kept = NULL, why[128];
	unsigned char junk[4096];
	size_t i, n = 0;
	FILE *fp;
	int rc;

	if (qindex_open(dir, QINDEX_CREATE | QINDEX_RECOVER, &qi) < 0) {
		ok(false, "open damage test index");
		free(dir);
		return;
	}
	for (i = 0; i < 300; i++) {
		e = test_entry(9000 + (unsigned)i, domains[i % NDOMAINS]);
		qindex_put(qi, e);
		qindex_entry_free(&e);
	}
	qindex_close(&qi);
	rc = qindex_check(dir, why, sizeof(why));
	ok(rc == 0, "check a sound index: got %d (%s), want 0", rc, why);

	/* A record that fails decoding. */
	if (qindex_open(dir, QINDEX_RECOVER, &qi) == 0) {
		ok(!qindex_damaged(qi), "a fresh open is not damaged");
		qindex_put_raw(qi, "00000000000000009999/a.example", "garbage", 7);
		qindex_walk_all(qi, test_noop_walk, &n);
		ok(qindex_damaged(qi), "a walk over a bad record marks the index damaged");
		qindex_close(&qi);
	}
	rc = qindex_check(dir, why, sizeof(why));
	ok(rc == -1 && strstr(why, "record") != NULL,
	    "check a bad record: got %d (%s), want -1 (a record ...)", rc, why);

	/* set_aside moves the databases and keeps the lock file. */
	path = xasprintf("%s/.lock", dir);
	if ((fp = fopen(path, "w")) != NULL)
		fclose(fp);
	rc = qindex_set_aside(dir, &kept);
	ok(rc == 0 && kept != NULL && access(path, F_OK) == 0,
	    "set aside: got %d, lock file stays", rc);
	free(path);
	path = xasprintf("%s/entries.db", kept != NULL ? kept : dir);
	ok(access(path, F_OK) == 0, "the damaged entries.db is kept in %s", kept ? kept : "?");
	free(path);
	free(kept);
	path = xasprintf("%s/entries.db", dir);
	ok(access(path, F_OK) == -1 && errno == ENOENT, "no entries.db left in the index directory");
	free(path);

	/* A page of garbage in a secondary: the check fails, we live. */
	if (qindex_open(dir, QINDEX_CREATE | QINDEX_RECOVER, &qi) == 0) {
		for (i = 0; i < 300; i++) {
			e = test_entry(9000 + (unsigned)i, domains[i % NDOMAINS]);
			qindex_put(qi, e);
			qindex_entry_free(&e);
		}
		qindex_close(&qi);
	}
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 37 + 11);
	path = xasprintf("%s/by_domain.db", dir);
	if ((fp = fopen(path, "r+")) != NULL) {
		fseek(fp, 4096, SEEK_SET);
		fwrite(junk, 1, sizeof(junk), fp);
		fclose(fp);
	}
	free(path);
	rc = qindex_check(dir, why, sizeof(why));
	ok(rc == -1, "check a garbage page in by_domain.db: got %d (%s), want -1", rc, why);
	free(dir);
}

/* raw_open - the environment of dir and one of its databases, outside qindex; 0/-1 */
static int
raw_open(const char *dir, const char *file, u_int32_t dbflags, DB_ENV **env_r, DB **db_r)
{
	*env_r = NULL;
	*db_r = NULL;
	if (db_env_create(env_r, 0) != 0 || (*env_r)->open(*env_r, dir, DB_CREATE |
	    DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL | DB_INIT_TXN | DB_RECOVER, 0600) != 0 ||
	    db_create(db_r, *env_r, 0) != 0 || (dbflags != 0 && (*db_r)->set_flags(*db_r,
	    dbflags) != 0) || (*db_r)->open(*db_r, NULL, file, NULL, DB_BTREE,
	    DB_AUTO_COMMIT, 0) != 0)
		return -1;
	return 0;
}

static void
raw_close(DB_ENV *env, DB *db)
{
	if (db != NULL)
		db->close(db, 0);
	if (env != NULL)
		env->close(env, 0);
}

/* fill - a new index in dir with 300 entries over the test domains; 0/-1 */
static int
fill(const char *dir)
{
	struct qindex *qi = NULL;
	struct qindex_entry *e;
	size_t i;

	if (qindex_open(dir, QINDEX_CREATE | QINDEX_RECOVER, &qi) < 0)
		return -1;
	for (i = 0; i < 300; i++) {
		e = test_entry(9000 + (unsigned)i, domains[i % NDOMAINS]);
		qindex_put(qi, e);
		qindex_entry_free(&e);
	}
	qindex_close(&qi);
	return 0;
}

/*
 * test_counts - damage that verify cannot see: every tree sound, but a
 * secondary lost a pair (a message never flushed, or never expired) or
 * a domain's figure is wrong. The check counts and compares.
 */
static void
test_counts(const char *base)
{
	static const char *const secondaries[] = { "by_domain.db", "by_expiry.db" };
	char *dir, why[160];
	DB_ENV *env;
	DB *db;
	DB_TXN *txn;
	DBC *dbc;
	DBT k, d;
	size_t i;
	int rc;

	for (i = 0; i < 2; i++) {
		dir = xasprintf("%s/counts%zu", base, i);
		ok(fill(dir) == 0, "fill an index for %s", secondaries[i]);
		rc = qindex_check(dir, why, sizeof(why));
		ok(rc == 0, "%s: the sound index passes: %d (%s)", secondaries[i], rc, why);
		rc = -1;
		if (raw_open(dir, secondaries[i], DB_DUPSORT, &env, &db) == 0 &&
		    env->txn_begin(env, NULL, &txn, 0) == 0) {
			if (db->cursor(db, txn, &dbc, 0) == 0) {
				memset(&k, 0, sizeof(k));
				memset(&d, 0, sizeof(d));
				if (dbc->get(dbc, &k, &d, DB_FIRST) == 0 && dbc->del(dbc, 0) == 0)
					rc = 0;
				dbc->close(dbc);
			}
			if (txn->commit(txn, 0) != 0)
				rc = -1;
		}
		raw_close(env, db);
		ok(rc == 0, "%s: one pair deleted behind the index's back", secondaries[i]);
		rc = qindex_check(dir, why, sizeof(why));
		ok(rc == -1 && strstr(why, "disagree") != NULL,
		    "%s: the check finds it: got %d (%s), want -1 (... disagree ...)",
		    secondaries[i], rc, why);
		free(dir);
	}

	/* A domain's figure one too high. */
	dir = xasprintf("%s/counts-figures", base);
	ok(fill(dir) == 0, "fill an index for domains.db");
	rc = -1;
	if (raw_open(dir, "domains.db", 0, &env, &db) == 0) {
		unsigned char rec[17] = { 1 };

		memset(&k, 0, sizeof(k));
		memset(&d, 0, sizeof(d));
		k.data = (void *)domains[0];
		k.size = (u_int32_t)strlen(domains[0]);
		/* 300 entries over 3 domains: 100 each; say 101. */
		rec[8] = 101;
		d.data = rec;
		d.size = sizeof(rec);
		if (db->put(db, NULL, &k, &d, DB_AUTO_COMMIT) == 0)
			rc = 0;
	}
	raw_close(env, db);
	ok(rc == 0, "domains.db: %s's figure set to 101 behind the index's back", domains[0]);
	rc = qindex_check(dir, why, sizeof(why));
	ok(rc == -1 && strstr(why, "disagree") != NULL,
	    "domains.db: the check finds it: got %d (%s), want -1", rc, why);
	free(dir);
}

/* test_log_removal - many commits leave few log files behind */
static void
test_log_removal(const char *base)
{
	struct qindex *qi;
	struct qindex_entry *e;
	char *dir = xasprintf("%s/logs", base);
	unsigned i;
	size_t nlogs;

	if (qindex_open(dir, QINDEX_CREATE | QINDEX_RECOVER, &qi) < 0) {
		ok(false, "open log test index");
		free(dir);
		return;
	}
	for (i = 0; i < 4000; i++) {
		e = test_entry(5000 + i % 50, domains[i % NDOMAINS]);
		free(e->last_error);
		e->last_error = xasprintf("%0900u", i);
		qindex_put(qi, e);
		qindex_entry_free(&e);
	}
	nlogs = count_files(dir, "log.");
	ok(nlogs <= 3, "log files after 4000 puts: got %zu, want <= 3", nlogs);
	qindex_close(&qi);
	free(dir);
}

int
main(void)
{
	char tmpl[] = "/tmp/index_recover_test.XXXXXX";

	/* A walk that deadlocked would hang "make check": fail instead. */
	alarm(120);
	log_init("index_recover_test");
	log_set_dest(LOG_DEST_STDERR, NULL);
	test_tmpdir(tmpl);
	test_killed_writer(tmpl);
	test_garbage_file(tmpl);
	test_log_removal(tmpl);
	test_damage(tmpl);
	test_counts(tmpl);
	test_rmdir(tmpl);
	return tap_done();
}
