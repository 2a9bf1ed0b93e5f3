/*
 * authlock - login and client lockout after failed logins, shared by file
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* lib/util */
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/authlock.h"
#include "mail/conf.h"
#include "mail/passwd.h"

#define AUTHLOCK_DIR		"private/authlock"
#define AUTHLOCK_RECORD_MAX	80

/* One key's state, as in its file. */
struct authlock_rec {
	long long failures;
	long long last;		/* time of the last counted failure */
	long long until;	/* locked until then; 0: not locked */
};

/* The two kinds of key: which limit applies and what the log calls it. */
enum authlock_kind {
	AUTHLOCK_LOGIN,
	AUTHLOCK_CLIENT,
};

static const struct {
	char prefix;
	const char *name;
	const char *why;
} authlock_kinds[] = {
	[AUTHLOCK_LOGIN] = { 'L', "login", "login locked out" },
	[AUTHLOCK_CLIENT] = { 'C', "client", "client locked out" },
};

/* authlock_limit - failures before kind is locked; 0 never */
static long
authlock_limit(const struct config *cfg, enum authlock_kind kind)
{
	return kind == AUTHLOCK_LOGIN ? cfg->auth_lockout_failures :
	    cfg->auth_client_lockout_failures;
}

/* authlock_key_ok - may key name a file? (logins by their grammar; addresses) */
static bool
authlock_key_ok(enum authlock_kind kind, const char *key)
{
	if (key == NULL || *key == '\0')
		return false;
	if (kind == AUTHLOCK_LOGIN)
		return passwd_login_ok(key);
	/* A numeric IPv4 or IPv6 address: no "/" and no ".." can get in. */
	return strlen(key) <= 64 && strspn(key, "0123456789abcdefABCDEF.:") ==
	    strlen(key);
}

/* authlock_path - the file of key (a new string), or NULL for no usable key */
static char *
authlock_path(const struct config *cfg, enum authlock_kind kind,
    const char *key)
{
	if (!authlock_key_ok(kind, key))
		return NULL;
	return xasprintf("%s/%s/%c-%s", cfg->queue_directory, AUTHLOCK_DIR,
	    authlock_kinds[kind].prefix, key);
}

/* authlock_read - parse the open file fd into r (zeros if it does not parse) */
static void
authlock_read(int fd, struct authlock_rec *r)
{
	char buf[AUTHLOCK_RECORD_MAX + 1];
	ssize_t n = pread(fd, buf, AUTHLOCK_RECORD_MAX, 0);

	memset(r, 0, sizeof(*r));
	if (n <= 0)
		return;
	buf[n] = '\0';
	if (sscanf(buf, "%lld %lld %lld", &r->failures, &r->last, &r->until) != 3 ||
	    r->failures < 0)
		memset(r, 0, sizeof(*r));
}

/* authlock_open - open (creating with create) and lock key's file; fd or -1 */
static int
authlock_open(const char *path, bool create)
{
	int fd;

	/* O_NOFOLLOW: the directory is ours, but a link in it is nobody's. */
	fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0),
	    0600);
	if (fd < 0 && create && errno == ENOENT) {
		/* First use: make the directory (private/ exists, 0700). */
		char *dir = xstrdup(path);

		*strrchr(dir, '/') = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			log_warn("create %s: %s", dir, strerror(errno));
		free(dir);
		fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("open %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX) < 0) {
		log_warn("lock %s: %s", path, strerror(errno));
		(void)close(fd);
		return -1;
	}
	return fd;
}

/* authlock_is_locked - is kind's key locked at now? */
static bool
authlock_is_locked(const struct config *cfg, enum authlock_kind kind,
    const char *key, time_t now)
{
	char *path;
	struct authlock_rec r;
	int fd;

	if (authlock_limit(cfg, kind) <= 0 ||
	    (path = authlock_path(cfg, kind, key)) == NULL)
		return false;
	fd = authlock_open(path, false);
	free(path);
	if (fd < 0)
		return false;
	authlock_read(fd, &r);
	(void)close(fd);
	return r.until > (long long)now;
}

bool
authlock_locked(const struct config *cfg, const char *login,
    const char *client, const char **why_r)
{
	static const enum authlock_kind kinds[] = { AUTHLOCK_LOGIN, AUTHLOCK_CLIENT };
	const char *keys[] = { login, client };
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (authlock_is_locked(cfg, kinds[i], keys[i], now)) {
			*why_r = authlock_kinds[kinds[i]].why;
			return true;
		}
	return false;
}

/* authlock_count - one failure for kind's key at now */
static void
authlock_count(const struct config *cfg, enum authlock_kind kind,
    const char *key, time_t now)
{
	long limit = authlock_limit(cfg, kind);
	char *path, buf[AUTHLOCK_RECORD_MAX];
	struct authlock_rec r;
	int fd, n;

	if (limit <= 0 || (path = authlock_path(cfg, kind, key)) == NULL)
		return;
	fd = authlock_open(path, true);
	if (fd < 0) {
		free(path);
		return;
	}
	authlock_read(fd, &r);
	if (r.until > (long long)now)
		goto done;	/* locked: attempts never prolong it */
	if (r.until != 0 || r.last + cfg->auth_lockout_time <= (long long)now)
		memset(&r, 0, sizeof(r));	/* a lockout ran out, or a quiet spell */
	r.failures++;
	r.last = now;
	if (r.failures >= limit) {
		r.until = (long long)now + cfg->auth_lockout_time;
		log_warn("lock out %s %s: %lld failed logins; for %lds",
		    authlock_kinds[kind].name, key, r.failures,
		    cfg->auth_lockout_time);
	}
	n = snprintf(buf, sizeof(buf), "%lld %lld %lld\n", r.failures, r.last,
	    r.until);
	/* Under the lock: a short pwrite, then cut what a longer record left. */
	if (pwrite(fd, buf, (size_t)n, 0) != n || ftruncate(fd, n) < 0)
		log_warn("write %s: %s", path, strerror(errno));
done:
	(void)close(fd);
	free(path);
}

/* authlock_sweep - remove the files of keys neither locked nor counting */
static void
authlock_sweep(const struct config *cfg, time_t now)
{
	static time_t last_sweep;
	char *dir;
	DIR *d;
	struct dirent *e;

	if (last_sweep != 0 && now - last_sweep < cfg->auth_lockout_time)
		return;
	last_sweep = now;
	dir = xasprintf("%s/%s", cfg->queue_directory, AUTHLOCK_DIR);
	d = opendir(dir);
	if (d == NULL) {
		free(dir);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		struct stat sb;

		if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &sb,
		    AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		/*
		 * Every write sets mtime, and a lockout ends auth_lockout_time
		 * after its last write: older files only hold spent counts.
		 */
		if (sb.st_mtime + 2 * cfg->auth_lockout_time < now)
			(void)unlinkat(dirfd(d), e->d_name, 0);
	}
	(void)closedir(d);
	free(dir);
}

void
authlock_fail(const struct config *cfg, const char *login, const char *client)
{
	time_t now = time(NULL);

	authlock_count(cfg, AUTHLOCK_LOGIN, login, now);
	authlock_count(cfg, AUTHLOCK_CLIENT, client, now);
	authlock_sweep(cfg, now);
}

void
authlock_success(const struct config *cfg, const char *login)
{
	char *path = authlock_path(cfg, AUTHLOCK_LOGIN, login);

	if (path != NULL && unlink(path) < 0 && errno != ENOENT)
		log_warn("remove %s: %s", path, strerror(errno));
	free(path);
}

uint64_t
authlock_delay_ms(const struct config *cfg, unsigned failures)
{
	uint64_t ms = (uint64_t)cfg->auth_failure_delay * 1000u;
	unsigned i;

	for (i = 1; i < failures && ms < AUTHLOCK_DELAY_MAX_MS; i++)
		ms *= 2;
	return ms < AUTHLOCK_DELAY_MAX_MS ? ms : AUTHLOCK_DELAY_MAX_MS;
}
