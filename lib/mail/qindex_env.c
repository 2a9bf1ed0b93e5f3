/*
 * qindex_env - the index's environment as files: set aside, remove, and
 * the check in a child process before an owner uses it (see qindex.h).
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
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <db.h>

/* lib/util */
#include "util/log.h"
#include "util/xmalloc.h"

/* lib/mail */
#include "mail/qindex.h"
#include "mail/qindex_int.h"

/* qindex_env_file - is name one of the files an environment leaves? */
static bool
qindex_env_file(const char *name)
{
	return strncmp(name, "__db.", 5) == 0 || strncmp(name, "log.", 4) == 0 ||
	    strcmp(name, DB_ENTRIES) == 0 || strcmp(name, DB_BY_DOMAIN) == 0 ||
	    strcmp(name, DB_BY_EXPIRY) == 0 || strcmp(name, DB_DOMAINS) == 0;
}

/*
 * qindex_move_env - unlink (to NULL) or move into directory to the
 * regions, logs and databases of the environment in dir; the lock file
 * stays, so that the flock which says who owns the index keeps working.
 */
static int
qindex_move_env(const char *dir, const char *to)
{
	DIR *d;
	struct dirent *de;
	int dfd, tfd = -1, rc = 0;

	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		log_warn("open index directory %s: %s", dir, strerror(errno));
		return -1;
	}
	dfd = dirfd(d);
	if (to != NULL && (tfd = open(to, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		log_warn("open directory %s: %s", to, strerror(errno));
		closedir(d);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!qindex_env_file(de->d_name))
			continue;
		if (to != NULL ? renameat(dfd, de->d_name, tfd, de->d_name) == 0 :
		    unlinkat(dfd, de->d_name, 0) == 0 || errno == ENOENT)
			continue;
		log_warn("%s index file %s/%s: %s", to != NULL ? "move" : "remove", dir,
		    de->d_name, strerror(errno));
		rc = -1;
	}
	if (tfd >= 0)
		close(tfd);
	closedir(d);
	return rc;
}

/* qindex_remove_env - unlink regions, logs and databases; the lock file stays */
int
qindex_remove_env(const char *dir)
{
	return qindex_move_env(dir, NULL);
}

/* qindex_set_aside - move the environment into DIR.damaged.TIMESTAMP[-N] */
int
qindex_set_aside(const char *dir, char **kept_r)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	char *kept = NULL;
	unsigned n;

	*kept_r = NULL;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	/* Never over an earlier one: each is kept for a human. */
	for (n = 0; n < 100; n++) {
		kept = n == 0 ? xasprintf("%s.damaged.%s", dir, stamp) :
		    xasprintf("%s.damaged.%s-%u", dir, stamp, n);
		if (mkdir(kept, 0700) == 0)
			break;
		if (errno != EEXIST) {
			log_warn("create directory %s: %s", kept, strerror(errno));
			free(kept);
			return -1;
		}
		xfree(&kept);
	}
	if (kept == NULL) {
		log_warn("create directory %s.damaged.%s: too many in one second", dir, stamp);
		return -1;
	}
	if (qindex_move_env(dir, kept) < 0) {
		free(kept);
		return -1;
	}
	*kept_r = kept;
	return 0;
}

/*
 * The clean mark: index/.clean, written by the owner after a clean close
 * (qindex_close_owner), one line a database: name, inode, size and mtime
 * in ns ("-" when absent). The next owner reads it once and removes it
 * before it opens anything, so that it never outlives the open that
 * follows; a file that changed since (a write, a replacement, damage
 * made by hand as t/85 does) no longer matches and is checked in full.
 */
#define QINDEX_CLEAN		".clean"
#define QINDEX_CLEAN_MAX	4096

static const char *const qindex_db_files[] = {
	DB_ENTRIES, DB_BY_DOMAIN, DB_BY_EXPIRY, DB_DOMAINS
};

/* qindex_signature - the databases' identities in buf; fsync each first if sync; 0/-1 */
static int
qindex_signature(const char *dir, bool sync, char *buf, size_t len)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(qindex_db_files) / sizeof(qindex_db_files[0]); i++) {
		char *path = xasprintf("%s/%s", dir, qindex_db_files[i]);
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), n;
		struct stat sb;

		free(path);
		if (fd < 0 && errno != ENOENT)
			return -1;
		if (fd < 0) {
			n = snprintf(buf + used, len - used, "%s -\n", qindex_db_files[i]);
		} else {
			if ((sync && fsync(fd) < 0) || fstat(fd, &sb) < 0) {
				close(fd);
				return -1;
			}
			close(fd);
			n = snprintf(buf + used, len - used, "%s %ju %jd %jd.%09ld\n",
			    qindex_db_files[i], (uintmax_t)sb.st_ino, (intmax_t)sb.st_size,
			    (intmax_t)sb.st_mtim.tv_sec, (long)sb.st_mtim.tv_nsec);
		}
		if (n < 0 || (size_t)n >= len - used)
			return -1;
		used += (size_t)n;
	}
	return 0;
}

/* qindex_dir_sync - fsync the index directory; 0/-1 */
static int
qindex_dir_sync(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret;

	if (fd < 0)
		return -1;
	ret = fsync(fd);
	close(fd);
	return ret;
}

void
qindex_mark_clean(const char *dir)
{
	char sig[QINDEX_CLEAN_MAX];
	char *tmp = xasprintf("%s/%s.tmp", dir, QINDEX_CLEAN);
	char *path = xasprintf("%s/%s", dir, QINDEX_CLEAN);
	size_t len;
	int fd = -1;

	/* The databases on disk first: the mark speaks for what is durable. */
	if (qindex_signature(dir, true, sig, sizeof(sig)) < 0)
		goto fail;
	len = strlen(sig);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600)) < 0 || write(fd, sig, len) != (ssize_t)len || fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0 || qindex_dir_sync(dir) < 0)
		goto fail;
	free(tmp);
	free(path);
	return;
fail:
	/* No mark: the next start checks the index in full, as after a crash. */
	log_warn("mark queue index %s clean: %s; the next start checks it in full", dir,
	    strerror(errno));
	if (fd >= 0)
		close(fd);
	(void)unlink(tmp);
	(void)unlink(path);
	free(tmp);
	free(path);
}

/*
 * qindex_clean_marked - did the last owner close the index in dir
 * cleanly, untouched since? The mark is removed either way (durably)
 * before the answer: whatever the open that follows does, it is never
 * read twice.
 */
static bool
qindex_clean_marked(const char *dir)
{
	char mark[QINDEX_CLEAN_MAX + 1], now[QINDEX_CLEAN_MAX];
	char *path = xasprintf("%s/%s", dir, QINDEX_CLEAN);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n = -1;
	bool match;

	if (fd >= 0) {
		n = read(fd, mark, sizeof(mark) - 1);
		close(fd);
	}
	if (fd < 0 && errno == ENOENT) {
		free(path);
		return false;
	}
	if (unlink(path) < 0 || qindex_dir_sync(dir) < 0) {
		/* A mark we cannot remove might speak for a later, unclean stop. */
		log_warn("remove %s: %s; checking the index in full", path, strerror(errno));
		free(path);
		return false;
	}
	free(path);
	if (n <= 0 || n >= (ssize_t)sizeof(mark) - 1)
		return false;
	mark[n] = '\0';
	match = qindex_signature(dir, false, now, sizeof(now)) == 0 && strcmp(mark, now) == 0;
	return match;
}

/* Exit codes of the checking child (qindex_check). */
enum qindex_check_rc {
	QCHECK_OK = 0,
	QCHECK_VERIFY = 1,	/* DB->verify failed on a database */
	QCHECK_OPEN = 2,	/* recovery or open failed */
	QCHECK_RECORD = 3,	/* a record failed decoding, or a walk failed */
	QCHECK_COUNTS = 4,	/* secondaries or figures disagree with the entries */
};

static const char *const qindex_check_why[] = {
	[QCHECK_OK] = "ok",
	[QCHECK_VERIFY] = "a database failed verification",
	[QCHECK_OPEN] = "it will not open or recover",
	[QCHECK_RECORD] = "a record failed decoding",
	[QCHECK_COUNTS] = "its secondary databases or domain figures disagree with its entries",
};

/*
 * The check's own cache: DB->verify of a database of a million entries
 * runs out of the index's 4 MB (ENOMEM) and was then skipped. The check
 * runs once, in a child that exits after it.
 */
#define QINDEX_CHECK_CACHE	(64L * 1024 * 1024)

/* qindex_check_domain - add a domain's by_domain count to the sum */
static int
qindex_check_domain(const char *domain, size_t entries, void *ctx)
{
	(void)domain;
	*(uint64_t *)ctx += entries;
	return 0;
}

/*
 * qindex_check_counts - the entries (n, counted by the walk) against
 * by_domain's and by_expiry's pairs and domains.db's figures. Berkeley
 * DB keeps the secondaries in the same transactions as the entries, and
 * the figures are ours in the same transactions too, so any difference
 * is damage that verify cannot see (each tree sound, one pair missing):
 * a message missing from by_domain is never flushed, from by_expiry
 * never expired. true when they agree.
 */
static bool
qindex_check_counts(struct qindex *qi, size_t n)
{
	DB_BTREE_STAT *sp = NULL;
	uint64_t by_domain = 0, by_expiry = 0, figures = 0;
	int ret;

	if (qindex_walk_domains(qi, qindex_check_domain, &by_domain) < 0)
		return false;
	if ((ret = qi->by_expiry->stat(qi->by_expiry, NULL, &sp, 0)) != 0) {
		log_warn("check queue index %s: count %s: %s", qi->dir, DB_BY_EXPIRY,
		    db_strerror(ret));
		return false;
	}
	by_expiry = sp->bt_ndata;
	free(sp);
	if (qi->stats_ok && qindex_stats_total(qi, &figures) < 0)
		return false;
	if (by_domain == n && by_expiry == n && (!qi->stats_ok || figures == n))
		return true;
	log_warn("check queue index %s: %zu entries, but %llu in %s, %llu in %s, %llu in "
	    "%s's figures", qi->dir, n, (unsigned long long)by_domain, DB_BY_DOMAIN,
	    (unsigned long long)by_expiry, DB_BY_EXPIRY, qi->stats_ok ?
	    (unsigned long long)figures : (unsigned long long)n, DB_DOMAINS);
	return false;
}

/* qindex_check_count - walk callback of the check: decoding is the check */
static int
qindex_check_count(const struct qindex_entry *e, void *ctx)
{
	(void)e;
	++*(size_t *)ctx;
	return 0;
}

/*
 * qindex_check_verify - DB->verify of each database, in an environment of
 * its own: a private memory pool and nothing else, as db_verify(1) does
 * (the files were recovered and checkpointed just before). Verifying a
 * database of a million entries inside the index's transactional
 * environment ran out of its cache (ENOMEM) and, with a larger cache,
 * crashed Berkeley DB 5.3 in its error path (__db_vrfy_dbinfo_create ->
 * __lock_id_free). QCHECK_OK or QCHECK_VERIFY.
 */
static int
qindex_check_verify(const char *dir)
{
	static const char *const files[] = { DB_ENTRIES, DB_BY_DOMAIN, DB_BY_EXPIRY, DB_DOMAINS };
	DB_ENV *env;
	size_t i;
	int ret;

	if ((ret = db_env_create(&env, 0)) != 0 ||
	    (ret = env->set_cachesize(env, 0, (u_int32_t)QINDEX_CHECK_CACHE, 1)) != 0 ||
	    (ret = env->open(env, dir, DB_CREATE | DB_INIT_MPOOL | DB_PRIVATE, 0600)) != 0) {
		log_warn("verify queue index %s: open an environment: %s", dir, db_strerror(ret));
		return QCHECK_VERIFY;
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *path = xasprintf("%s/%s", dir, files[i]);
		struct stat sb;
		DB *db;
		bool exists = stat(path, &sb) == 0;

		free(path);
		if (!exists)
			continue;
		/* Verification reports every bad item; one line says enough. */
		if ((ret = db_create(&db, env, 0)) == 0)
			ret = db->verify(db, files[i], NULL, NULL, 0);
		/*
		 * Out of memory is not damage: setting the index aside for it
		 * cost a rebuild of the whole queue at every start; the walk
		 * still decodes every record, and the counts compare every
		 * database with the entries.
		 */
		if (ret == ENOMEM) {
			log_warn("verify queue index %s/%s: %s; not verified (every record is "
			    "still read and decoded)", dir, files[i], db_strerror(ret));
			continue;
		}
		if (ret != 0) {
			log_warn("verify queue index %s/%s: %s", dir, files[i], db_strerror(ret));
			env->close(env, 0);
			return QCHECK_VERIFY;
		}
	}
	env->close(env, 0);
	return QCHECK_OK;
}

/* qindex_check_child - recover, verify every database, decode every record */
static int
qindex_check_child(const char *dir)
{
	struct qindex *qi = xcalloc(1, sizeof(*qi));
	size_t n = 0;
	int ret;

	qi->dir = xstrdup(dir);
	/* Recovery, then a checkpoint at close: the files are whole for verify. */
	if (qindex_env_open(qi, QINDEX_RECOVER) < 0)
		return QCHECK_OPEN;
	if ((ret = qi->env->txn_checkpoint(qi->env, 0, 0, DB_FORCE)) != 0 ||
	    qi->env->close(qi->env, 0) != 0) {
		if (ret != 0)
			log_warn("check queue index %s: checkpoint: %s", dir, db_strerror(ret));
		return QCHECK_OPEN;
	}
	qi->env = NULL;
	qindex_close(&qi);
	if (qindex_check_verify(dir) != QCHECK_OK)
		return QCHECK_VERIFY;
	if (qindex_open_cache(dir, QINDEX_RECOVER, QINDEX_CHECK_CACHE, &qi) < 0)
		return QCHECK_OPEN;
	ret = qindex_walk_all(qi, qindex_check_count, &n) < 0 || qi->damaged ?
	    QCHECK_RECORD : !qindex_check_counts(qi, n) ? QCHECK_COUNTS : QCHECK_OK;
	qindex_close(&qi);
	return ret;
}

/*
 * qindex_check - run the check in a child process: a damaged page can
 * make Berkeley DB read out of its mapped regions (SIGBUS) or panic,
 * and only a separate process survives that. 0 sound (or absent), -1
 * damaged with the reason in why.
 */
int
qindex_check(const char *dir, char *why, size_t len)
{
	struct stat sb;
	char *path = xasprintf("%s/%s", dir, DB_ENTRIES);
	pid_t pid;
	int st, exists = stat(path, &sb) == 0;

	free(path);
	snprintf(why, len, "ok");
	if (!exists)
		return 0;
	if (qindex_clean_marked(dir)) {
		log_info("queue index %s: closed cleanly and unchanged since; not checked", dir);
		return 0;
	}
	if ((pid = fork()) < 0) {
		/* Not a sign of damage: the open that follows decides. */
		log_warn("check queue index %s: fork: %s", dir, strerror(errno));
		return 0;
	}
	if (pid == 0)
		_exit(qindex_check_child(dir));
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			log_warn("check queue index %s: wait: %s", dir, strerror(errno));
			return 0;
		}
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == QCHECK_OK)
		return 0;
	if (WIFEXITED(st) && (size_t)WEXITSTATUS(st) <
	    sizeof(qindex_check_why) / sizeof(qindex_check_why[0]))
		snprintf(why, len, "%s", qindex_check_why[WEXITSTATUS(st)]);
	else if (WIFSIGNALED(st))
		snprintf(why, len, "reading it was killed by signal %d", WTERMSIG(st));
	else
		snprintf(why, len, "its check ended with status %d", st);
	return -1;
}
