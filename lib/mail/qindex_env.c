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

/* Exit codes of the checking child (qindex_check). */
enum qindex_check_rc {
	QCHECK_OK = 0,
	QCHECK_VERIFY = 1,	/* DB->verify failed on a database */
	QCHECK_OPEN = 2,	/* recovery or open failed */
	QCHECK_RECORD = 3,	/* a record failed decoding, or a walk failed */
};

static const char *const qindex_check_why[] = {
	[QCHECK_OK] = "ok",
	[QCHECK_VERIFY] = "a database failed verification",
	[QCHECK_OPEN] = "it will not open or recover",
	[QCHECK_RECORD] = "a record failed decoding",
};

/* qindex_check_count - walk callback of the check: decoding is the check */
static int
qindex_check_count(const struct qindex_entry *e, void *ctx)
{
	(void)e;
	++*(size_t *)ctx;
	return 0;
}

/* qindex_check_child - recover, verify every database, decode every record */
static int
qindex_check_child(const char *dir)
{
	static const char *const files[] = { DB_ENTRIES, DB_BY_DOMAIN, DB_BY_EXPIRY, DB_DOMAINS };
	struct qindex *qi = xcalloc(1, sizeof(*qi));
	size_t i, n = 0;
	int ret;

	qi->dir = xstrdup(dir);
	if (qindex_env_open(qi, QINDEX_RECOVER) < 0)
		return QCHECK_OPEN;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *path = xasprintf("%s/%s", dir, files[i]);
		struct stat sb;
		DB *db;
		bool exists = stat(path, &sb) == 0;

		free(path);
		if (!exists)
			continue;
		/* Verification reports every bad item; one line says enough. */
		qi->env->set_errcall(qi->env, NULL);
		if ((ret = db_create(&db, qi->env, 0)) == 0)
			ret = db->verify(db, files[i], NULL, NULL, 0);
		qi->env->set_errcall(qi->env, qindex_errcall);
		/*
		 * Out of cache is not damage: verifying a large database (a
		 * million entries) needs more than the index's cache holds.
		 * Setting it aside for that cost a rebuild of the whole queue
		 * at every start; the walk below still decodes every record.
		 */
		if (ret == ENOMEM) {
			log_warn("verify queue index %s/%s: %s; not verified (every record is "
			    "still read and decoded)", dir, files[i], db_strerror(ret));
			continue;
		}
		if (ret != 0) {
			log_warn("verify queue index %s/%s: %s", dir, files[i], db_strerror(ret));
			return QCHECK_VERIFY;
		}
	}
	if (qi->env->close(qi->env, 0) != 0)
		return QCHECK_OPEN;
	qi->env = NULL;
	qindex_close(&qi);
	if (qindex_open(dir, QINDEX_RECOVER, &qi) < 0)
		return QCHECK_OPEN;
	ret = qindex_walk_all(qi, qindex_check_count, &n) < 0 || qi->damaged ?
	    QCHECK_RECORD : QCHECK_OK;
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
