/*
 * queue - queue IDs, envelopes, the directory layout, scanning and removal.
 *
 * The writer and reader of one message file live in queue_file.c, the
 * per-recipient journal in queue_journal.c. The state diagram of a message
 * is the header comment of queue.h.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

/* System. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

/* Layer 1: util. */
#include "util/log.h"
#include "util/xmalloc.h"

/* Layer 2: mail. */
#include "mail/address.h"
#include "mail/queue.h"
#include "mail/queue_int.h"

/* RFC 3461: ENVID at most 100 characters, ORCPT at most 500. */
#define ENVID_MAX	100
#define ORCPT_MAX	500
/* Host names, HELO arguments, SASL user names. */
#define TOKEN_MAX	255

/* queue_id_ok - is id exactly QUEUE_ID_LEN uppercase hex digits? */
bool
queue_id_ok(const char *id)
{
	size_t i;

	if (id == NULL)
		return false;
	for (i = 0; i < QUEUE_ID_LEN; i++) {
		char c = id[i];

		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return id[QUEUE_ID_LEN] == '\0';
}

/* queue_random32 - 32 random bits from the kernel */
static uint32_t
queue_random32(void)
{
	uint32_t r;
	ssize_t n;

	do {
		n = getrandom(&r, sizeof(r), 0);
	} while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(r))
		log_fatal("read random bytes: %s", n == -1 ? strerror(errno) : "short read");
	return r;
}

/* queue_id_new - a fresh ID (time + getrandom) */
void
queue_id_new(char id_r[QUEUE_ID_LEN + 1])
{
	static uint64_t last_us;
	struct timeval tv;
	uint64_t us;

	gettimeofday(&tv, NULL);
	us = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
	/*
	 * Never reuse a time stamp within this process, even if the clock
	 * steps back, so that one process cannot repeat an ID; the random
	 * part separates processes and hosts.
	 */
	if (us <= last_us)
		us = last_us + 1;
	last_us = us;
	snprintf(id_r, QUEUE_ID_LEN + 1, "%013" PRIX64 "%07" PRIX32,
	    us & UINT64_C(0xFFFFFFFFFFFFF), queue_random32() & 0xFFFFFFFu);
}

/* envelope_new - an empty envelope */
struct envelope *
envelope_new(void)
{
	return xcalloc(1, sizeof(struct envelope));
}

/* envelope_add_rcpt - append a recipient, copying its arguments */
void
envelope_add_rcpt(struct envelope *env, const char *addr, const char *orcpt, unsigned notify)
{
	struct envelope_rcpt *r;

	env->rcpt = xreallocarray(env->rcpt, env->nrcpt + 1, sizeof(*env->rcpt));
	r = &env->rcpt[env->nrcpt++];
	r->addr = xstrdup(addr);
	r->orcpt = orcpt != NULL ? xstrdup(orcpt) : NULL;
	r->notify = notify;
}

/* envelope_free - free an envelope and everything it owns */
void
envelope_free(struct envelope **envp)
{
	struct envelope *env = *envp;
	size_t i;

	if (env == NULL)
		return;
	for (i = 0; i < env->nrcpt; i++) {
		free(env->rcpt[i].addr);
		free(env->rcpt[i].orcpt);
	}
	free(env->rcpt);
	free(env->sender);
	free(env->envid);
	free(env->client_name);
	free(env->client_addr);
	free(env->helo);
	free(env->protocol);
	free(env->auth_user);
	free(env);
	*envp = NULL;
}

/*
 * envelope_chars_ok - is s 1..max bytes, each in lo..0x7e, or also any
 * byte >= 0x80 when high_ok? Control characters are refused everywhere:
 * these fields end up in log lines and in the headers of bounces.
 */
static bool
envelope_chars_ok(const char *s, size_t max, unsigned char lo, bool high_ok)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= max)
			return false;
		if (c >= 0x80 ? !high_ok : (c < lo || c > 0x7e))
			return false;
	}
	return i > 0;
}

/* envelope_protocol_ok - one of the protocol names Received: may carry */
static bool
envelope_protocol_ok(const char *p)
{
	static const char *const names[] = {
		"SMTP", "ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA",
		"UTF8SMTP", "UTF8SMTPS", "UTF8SMTPA", "UTF8SMTPSA", "LOCAL",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(p, names[i]) == 0)
			return true;
	return false;
}

/* envelope_rcpt_ok - mailbox grammar, ORCPT shape, NOTIFY bits */
static bool
envelope_rcpt_ok(const struct envelope_rcpt *r)
{
	const unsigned all = DSN_NOTIFY_NEVER | DSN_NOTIFY_SUCCESS |
	    DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY;
	const char *semi;

	if (r->addr == NULL || !address_mailbox_ok(r->addr))
		return false;
	if ((r->notify & ~all) != 0)
		return false;
	/* RFC 3461 4.1: NEVER excludes every other keyword. */
	if ((r->notify & DSN_NOTIFY_NEVER) && r->notify != DSN_NOTIFY_NEVER)
		return false;
	if (r->orcpt != NULL) {
		/* "addr-type;xtext", kept as given (still xtext-encoded). */
		if (!envelope_chars_ok(r->orcpt, ORCPT_MAX, 0x21, false))
			return false;
		semi = strchr(r->orcpt, ';');
		if (semi == NULL || semi == r->orcpt)
			return false;
	}
	return true;
}

/* envelope_ok - every field passes its grammar (addresses, IDs, lengths) */
bool
envelope_ok(const struct envelope *env)
{
	size_t i;

	if (env == NULL)
		return false;
	/* An envelope not yet written has no ID. */
	if (env->id[0] != '\0' && !queue_id_ok(env->id))
		return false;
	if (env->arrival < 0)
		return false;
	if (env->sender == NULL || !address_stored_ok(env->sender, true))
		return false;
	/* The decoded ENVID may hold spaces, never control characters. */
	if (env->envid != NULL && !envelope_chars_ok(env->envid, ENVID_MAX, 0x20, false))
		return false;
	if (env->ret != DSN_RET_UNSET && env->ret != DSN_RET_FULL && env->ret != DSN_RET_HDRS)
		return false;
	if (env->client_name == NULL ||
	    !envelope_chars_ok(env->client_name, TOKEN_MAX, 0x21, false))
		return false;
	if (env->client_addr == NULL ||
	    !envelope_chars_ok(env->client_addr, TOKEN_MAX, 0x21, false))
		return false;
	/*
	 * Whatever smtpd accepted as the HELO argument (clients send odd
	 * things, even spaces; UTF-8 names per RFC 6531), but no controls.
	 */
	if (env->helo != NULL && !envelope_chars_ok(env->helo, TOKEN_MAX, 0x20, true))
		return false;
	if (env->protocol == NULL || !envelope_protocol_ok(env->protocol))
		return false;
	/* SASL user names may be UTF-8 (RFC 4616) and hold spaces. */
	if (env->auth_user != NULL && !envelope_chars_ok(env->auth_user, TOKEN_MAX, 0x20, true))
		return false;
	if (env->nrcpt == 0 || env->rcpt == NULL)
		return false;
	for (i = 0; i < env->nrcpt; i++)
		if (!envelope_rcpt_ok(&env->rcpt[i]))
			return false;
	return true;
}

/* queue_path - new string "QDIR/msg/XX/ID" (or the journal with ".j") */
char *
queue_path(const char *qdir, const char *id, bool journal)
{
	/* Validate before building any path: an ID is never a path fragment. */
	if (!queue_id_ok(id)) {
		errno = EINVAL;
		return NULL;
	}
	return xasprintf("%s/msg/%s/%s%s", qdir, id + QUEUE_ID_LEN - 2, id,
	    journal ? ".j" : "");
}

/* queue_gone - see queue.h */
bool
queue_gone(const char *qdir, const char *id)
{
	char *path = queue_path(qdir, id, false);
	bool gone = path != NULL && access(path, F_OK) == -1 && errno == ENOENT;

	free(path);
	return gone;
}

/* queue_bucket_path - new string "QDIR/msg/XX" for a valid id */
char *
queue_bucket_path(const char *qdir, const char *id)
{
	return xasprintf("%s/msg/%s", qdir, id + QUEUE_ID_LEN - 2);
}

/* queue_dir_fsync - make a directory's entries durable; 0/-1 with errno */
int
queue_dir_fsync(const char *path)
{
	int fd, saved;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fsync(fd) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return close(fd);
}

/*
 * queue_io_done - what a read(2) or write(2) of a whole buffer may count
 * of result n: n itself, 0 to try again after EINTR, or -1 (errno set;
 * a result of 0 is an error too, short_errno: the buffer can never fill)
 */
static ssize_t
queue_io_done(ssize_t n, int short_errno)
{
	if (n == -1 && errno == EINTR)
		return 0;
	if (n == 0)
		errno = short_errno;
	return n > 0 ? n : -1;
}

/* queue_write_all - write len bytes, retrying short writes and EINTR; 0/-1 */
int
queue_write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	ssize_t n;

	/* A regular file that takes nothing is a full disk. */
	while (len > 0) {
		if ((n = queue_io_done(write(fd, p, len), ENOSPC)) == -1)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* queue_read_at - read exactly len bytes at off; -1 with EBADMSG if short */
int
queue_read_at(int fd, void *buf, size_t len, off_t off)
{
	unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = queue_io_done(pread(fd, p, len, off), EBADMSG)) == -1)
			return -1;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* queue_rename_noreplace - rename that refuses to replace an existing name */
int
queue_rename_noreplace(const char *from, const char *to)
{
	/*
	 * A committed message is never overwritten: an ID collision, however
	 * unlikely, must fail the new message, not destroy an accepted one.
	 */
#ifdef RENAME_NOREPLACE
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
#endif
	/* Filesystems without RENAME_NOREPLACE: link() refuses EEXIST too. */
	if (link(from, to) == -1)
		return -1;
	/* XXX a leftover name in incoming/ is only garbage, purged at start. */
	(void)unlink(from);
	return 0;
}

/* queue_mkdir - create (or fix up) one directory with exactly mode */
static int
queue_mkdir(const char *path, mode_t mode)
{
	struct stat st;
	int fd, saved;

	if (mkdir(path, mode) == -1 && errno != EEXIST)
		return -1;
	/*
	 * O_NOFOLLOW: a symbolic link planted in place of a queue directory
	 * must not make us chmod, or later write into, someone else's files.
	 */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -1;
	/* mkdir() honours the umask; fchmod() makes the mode exact. */
	if (fstat(fd, &st) == -1 ||
	    ((st.st_mode & 07777) != mode && fchmod(fd, mode) == -1)) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return close(fd);
}

/* queue_init_dirs - create the layout of queue.h with safe modes; 0/-1 (errno) */
int
queue_init_dirs(const char *qdir)
{
	static const struct {
		const char *name;
		mode_t mode;
	} dirs[] = {
		{ "incoming", 0700 },
		{ "msg", 0700 },
		{ "corrupt", 0700 },
		{ "index", 0700 },
		{ "private", 0700 },
		/* The CLI's control socket: others may traverse, not list. */
		{ "public", 0711 },
		{ "pid", 0700 },
		/* Operator holds: an empty file per held message. */
		{ "hold", 0700 },
	};
	char *path;
	size_t i;
	int rc;

	/* The top directory must be traversable to reach public/. */
	if (mkdir(qdir, 0711) == -1 && errno != EEXIST)
		return -1;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		path = xasprintf("%s/%s", qdir, dirs[i].name);
		rc = queue_mkdir(path, dirs[i].mode);
		free(path);
		if (rc == -1)
			return -1;
	}
	for (i = 0; i < 256; i++) {
		path = xasprintf("%s/msg/%02zX", qdir, i);
		rc = queue_mkdir(path, 0700);
		free(path);
		if (rc == -1)
			return -1;
	}
	/* The buckets must survive a crash before the first commit relies on them. */
	path = xasprintf("%s/msg", qdir);
	rc = queue_dir_fsync(path);
	free(path);
	if (rc == -1 || queue_dir_fsync(qdir) == -1)
		return -1;
	return 0;
}

/*
 * queue_scan_bucket - call fn for every committed message ID in msg/XX
 * (b is the bucket number); 0, or -1 when fn stopped or reading failed.
 */
static int
queue_scan_bucket(const char *qdir, int b, int (*fn)(const char *id, void *ctx), void *ctx)
{
	char name[QUEUE_ID_LEN + 1], bucket[3];
	struct dirent *de;
	char *path;
	DIR *d;
	int saved;

	snprintf(bucket, sizeof(bucket), "%02X", (unsigned)b & 0xffu);
	path = xasprintf("%s/msg/%s", qdir, bucket);
	d = opendir(path);
	free(path);
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		/* Journals (ID.j), dot files and strays fail the ID grammar. */
		if (!queue_id_ok(de->d_name))
			continue;
		if (strcmp(de->d_name + QUEUE_ID_LEN - 2, bucket) != 0) {
			log_warn("%s: skip message in wrong directory msg/%s",
			    de->d_name, bucket);
			continue;
		}
		memcpy(name, de->d_name, sizeof(name));
		if (fn(name, ctx) == -1) {
			closedir(d);
			return -1;
		}
	}
	saved = errno;
	closedir(d);
	errno = saved;
	return saved != 0 ? -1 : 0;
}

/* queue_scan - call fn for every committed message ID; stops early if fn returns -1 */
int
queue_scan(const char *qdir, int (*fn)(const char *id, void *ctx), void *ctx)
{
	int b;

	/* Streaming on purpose: memory stays flat however large the queue. */
	for (b = 0; b < QUEUE_BUCKETS; b++)
		if (queue_scan_bucket(qdir, b, fn, ctx) < 0)
			return -1;
	return 0;
}

/* What queue_scan_changed passes on: messages settled for QUEUE_SETTLE_SECS. */
#define QUEUE_SETTLE_SECS	2

struct queue_settled {
	const char *qdir;
	time_t before;		/* pass messages whose ctime is older than this */
	int (*fn)(const char *id, void *ctx);
	void *ctx;
};

/* queue_scan_settled - call the caller's fn only for a message that has settled */
static int
queue_scan_settled(const char *id, void *ctx)
{
	struct queue_settled *st = ctx;
	char *path = queue_path(st->qdir, id, false);
	struct stat sb;
	int rc;

	rc = stat(path, &sb);
	free(path);
	if (rc < 0 || sb.st_ctim.tv_sec >= st->before)
		return 0;
	return st->fn(id, st->ctx);
}

/*
 * queue_scan_changed - queue_scan over the buckets whose directory
 * changed since the last call: a stat per bucket when nothing did.
 *
 * A message renamed in during the last QUEUE_SETTLE_SECS is left for a
 * later call: its commit notice is probably on its way, and a file
 * timestamp has the granularity of the kernel's clock tick. For the same
 * reason a bucket's time is remembered (the bucket counted as seen) only
 * once it is that old too, so a message passed over now is seen later.
 */
int
queue_scan_changed(const char *qdir, struct queue_scan_state *st,
    int (*fn)(const char *id, void *ctx), void *ctx)
{
	struct queue_settled settled = { .qdir = qdir, .fn = fn, .ctx = ctx };
	struct stat sb;
	char *path;
	int b, rc = 0;

	settled.before = time(NULL) - QUEUE_SETTLE_SECS;
	for (b = 0; b < QUEUE_BUCKETS; b++) {
		path = xasprintf("%s/msg/%02X", qdir, (unsigned)b);
		if (stat(path, &sb) < 0) {
			free(path);
			continue;
		}
		free(path);
		if (sb.st_mtim.tv_sec == st->mtime[b].tv_sec &&
		    sb.st_mtim.tv_nsec == st->mtime[b].tv_nsec)
			continue;
		if (queue_scan_bucket(qdir, b, queue_scan_settled, &settled) < 0) {
			rc = -1;
			continue;
		}
		if (sb.st_mtim.tv_sec < settled.before)
			st->mtime[b] = sb.st_mtim;
	}
	return rc;
}

/* A walk over msg/, one bucket directory open at a time (queue_walk_open). */
struct queue_walk {
	char *qdir;
	int b;			/* the bucket open in d, or the next one */
	DIR *d;
	char *path;		/* of bucket b while d is open */
	char bucket[3];
	bool dirty;		/* an orphan journal was removed from bucket b */
	size_t orphans;
};

struct queue_walk *
queue_walk_open(const char *qdir)
{
	struct queue_walk *w = xcalloc(1, sizeof(*w));

	w->qdir = xstrdup(qdir);
	return w;
}

/* queue_walk_bucket_end - close bucket b (its removals made durable) and go to the next */
static void
queue_walk_bucket_end(struct queue_walk *w)
{
	closedir(w->d);
	w->d = NULL;
	if (w->dirty && queue_dir_fsync(w->path) < 0)
		log_warn("fsync %s: %s", w->path, strerror(errno));
	free(w->path);
	w->path = NULL;
	w->b++;
}

/*
 * queue_walk_orphan - name in the open bucket is a journal whose message
 * is gone: it says nothing true any more, and a message reusing the name
 * must not inherit it. Remove it, with a log line.
 */
static void
queue_walk_orphan(struct queue_walk *w, const char *name)
{
	char *moved = xasprintf("%s/corrupt/%.*s", w->qdir, QUEUE_ID_LEN, name);
	bool quarantined = access(moved, F_OK) == 0;

	free(moved);
	/*
	 * queue_quarantine moves the message, then its journal: in between,
	 * the journal is not an orphan but on its way to corrupt/ beside it
	 * (a walk runs for minutes while deliver works, at a start-up with a
	 * large queue). Leave it to the quarantine.
	 */
	if (quarantined)
		return;
	if (unlinkat(dirfd(w->d), name, 0) == -1) {
		log_warn("remove orphan journal %s/%s: %s", w->path, name, strerror(errno));
		return;
	}
	log_info("%.*s: removed orphan journal %s/%s (its message is gone)", QUEUE_ID_LEN,
	    name, w->path, name);
	w->dirty = true;
	w->orphans++;
}

int
queue_walk_next(struct queue_walk *w, char id_r[QUEUE_ID_LEN + 1])
{
	struct dirent *de;
	int saved;

	for (;;) {
		if (w->d == NULL) {
			if (w->b >= QUEUE_BUCKETS)
				return 0;
			snprintf(w->bucket, sizeof(w->bucket), "%02X", (unsigned)w->b);
			w->path = xasprintf("%s/msg/%s", w->qdir, w->bucket);
			w->dirty = false;
			if ((w->d = opendir(w->path)) == NULL) {
				saved = errno;
				free(w->path);
				w->path = NULL;
				w->b++;
				if (saved == ENOENT)
					continue;
				errno = saved;
				return -1;
			}
		}
		errno = 0;
		if ((de = readdir(w->d)) == NULL) {
			saved = errno;
			queue_walk_bucket_end(w);
			if (saved != 0) {
				errno = saved;
				return -1;
			}
			continue;
		}
		if (!queue_id_ok(de->d_name)) {
			/* Journals (ID.j), dot files and strays fail the ID grammar. */
			if (queue_journal_orphan(dirfd(w->d), de->d_name))
				queue_walk_orphan(w, de->d_name);
			continue;
		}
		if (strcmp(de->d_name + QUEUE_ID_LEN - 2, w->bucket) != 0) {
			log_warn("%s: skip message in wrong directory msg/%s", de->d_name,
			    w->bucket);
			continue;
		}
		memcpy(id_r, de->d_name, QUEUE_ID_LEN + 1);
		return 1;
	}
}

unsigned
queue_walk_buckets_done(const struct queue_walk *w)
{
	return (unsigned)w->b;
}

size_t
queue_walk_orphans(const struct queue_walk *w)
{
	return w->orphans;
}

void
queue_walk_close(struct queue_walk **wp)
{
	struct queue_walk *w = *wp;

	if (w == NULL)
		return;
	if (w->d != NULL)
		queue_walk_bucket_end(w);
	free(w->qdir);
	free(w);
	*wp = NULL;
}

/* queue_purge_incoming - remove everything in incoming/; count removed, or -1 */
int
queue_purge_incoming(const char *qdir)
{
	struct dirent *de;
	char *path;
	DIR *d;
	int count = 0;

	path = xasprintf("%s/incoming", qdir);
	d = opendir(path);
	if (d == NULL) {
		free(path);
		return -1;
	}
	/*
	 * Nothing in incoming/ was ever acknowledged with 250: a crash leaves
	 * only partial files here, so all of it goes.
	 */
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == -1) {
			log_warn("remove %s/%s: %s", path, de->d_name, strerror(errno));
			continue;
		}
		count++;
	}
	closedir(d);
	free(path);
	return count;
}

/* queue_space_ok - is there room for need bytes above the floor of minfree bytes? */
bool
queue_space_ok(const char *qdir, uint64_t need, uint64_t minfree)
{
	struct statvfs sv;
	uint64_t avail;

	if (statvfs(qdir, &sv) == -1) {
		/* Unknown space is treated as none: 452 now beats a lost message. */
		log_warn("check free space %s: %s", qdir, strerror(errno));
		return false;
	}
	if (sv.f_frsize != 0 && sv.f_bavail > UINT64_MAX / sv.f_frsize)
		avail = UINT64_MAX;
	else
		avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	return need <= avail && minfree <= avail - need;
}

/* queue_unlink - step 7 without its commit: unlink message and journal; 0/-1 */
int
queue_unlink(const char *qdir, const char *id)
{
	char *msg, *jnl;
	int rc = 0, saved = 0;

	if ((msg = queue_path(qdir, id, false)) == NULL)
		return -1;
	jnl = queue_path(qdir, id, true);
	/*
	 * The message goes first: a crash in between leaves an orphan journal
	 * (harmless), never a message without the journal that says which
	 * recipients are done (that would deliver them twice).
	 */
	if (unlink(msg) == -1) {
		saved = errno;
		rc = -1;
	}
	if (unlink(jnl) == -1 && errno != ENOENT && rc == 0) {
		saved = errno;
		rc = -1;
	}
	(void)queue_hold_set(qdir, id, false);
	free(msg);
	free(jnl);
	if (rc == -1)
		errno = saved;
	return rc;
}

/* queue_bucket_sync - fsync msg/XX, bucket being XX (two of an ID's hex digits); 0/-1 */
int
queue_bucket_sync(const char *qdir, const char *bucket)
{
	char *path;
	int rc;

	/* Validated like an ID: a bucket name is never a path fragment. */
	if (strlen(bucket) != 2 || strspn(bucket, "0123456789ABCDEF") != 2) {
		errno = EINVAL;
		return -1;
	}
	path = xasprintf("%s/msg/%s", qdir, bucket);
	rc = queue_dir_fsync(path);
	free(path);
	return rc;
}

/* queue_remove - step 7: unlink message and journal, fsync the directory; 0/-1 */
int
queue_remove(const char *qdir, const char *id)
{
	char *bucket;
	int rc, saved = 0;

	if (!queue_id_ok(id)) {
		errno = EINVAL;
		return -1;
	}
	if ((rc = queue_unlink(qdir, id)) == -1)
		saved = errno;
	bucket = queue_bucket_path(qdir, id);
	/* Make the removal durable so a crash cannot resurrect delivered mail. */
	if (queue_dir_fsync(bucket) == -1 && rc == 0) {
		saved = errno;
		rc = -1;
	}
	free(bucket);
	if (rc == -1)
		errno = saved;
	return rc;
}

/* queue_quarantine_move - rename from into corrupt/, never over an older file */
static int
queue_quarantine_move(const char *from, const char *cdir, const char *id, const char *suffix)
{
	char *to;
	int i, rc;

	for (i = 0; i < 100; i++) {
		if (i == 0)
			to = xasprintf("%s/%s%s", cdir, id, suffix);
		else
			to = xasprintf("%s/%s.%d%s", cdir, id, i, suffix);
		rc = queue_rename_noreplace(from, to);
		free(to);
		if (rc == 0 || errno != EEXIST)
			return rc;
	}
	return -1;
}

/* queue_quarantine - move message (and journal) to corrupt/ with a log line; 0/-1 */
int
queue_quarantine(const char *qdir, const char *id, const char *why)
{
	char *msg, *jnl, *bucket, *cdir;
	int rc = -1, saved;

	if ((msg = queue_path(qdir, id, false)) == NULL)
		return -1;
	jnl = queue_path(qdir, id, true);
	bucket = queue_bucket_path(qdir, id);
	cdir = xasprintf("%s/corrupt", qdir);
	/* Kept for a human, never deleted: the file may be someone's mail. */
	if (queue_quarantine_move(msg, cdir, id, "") == -1) {
		saved = errno;
		log_warn("%s: quarantine %s: %s (move to corrupt/ failed: %s)",
		    id, msg, why, strerror(saved));
		errno = saved;
		goto out;
	}
	if (queue_quarantine_move(jnl, cdir, id, ".j") == -1 && errno != ENOENT)
		log_warn("%s: quarantine %s.j: %s", id, msg, strerror(errno));
	/* Durable, so the bad file cannot come back into msg/ after a crash. */
	(void)queue_dir_fsync(cdir);
	(void)queue_dir_fsync(bucket);
	log_warn("%s: quarantine %s: %s", id, msg, why);
	rc = 0;
out:
	free(msg);
	free(jnl);
	free(bucket);
	free(cdir);
	return rc;
}

/*
 * queue_hold_path - QDIR/hold/ID. An operator hold lives in the spool, not
 * only in the index, so that a reindex keeps it.
 */
static char *
queue_hold_path(const char *qdir, const char *id)
{
	return queue_id_ok(id) ? xasprintf("%s/hold/%s", qdir, id) : NULL;
}

int
queue_hold_set(const char *qdir, const char *id, bool on)
{
	char *path = queue_hold_path(qdir, id), *dir;
	int fd, ret = 0;
	bool changed = true;

	if (path == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (on) {
		fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || close(fd) < 0)
			ret = -1;
	} else if (unlink(path) < 0) {
		/* Not held: hold/ did not change, and an fsync of it is a wasted commit. */
		if (errno == ENOENT)
			changed = false;
		else
			ret = -1;
	}
	if (ret == 0 && changed) {
		dir = xasprintf("%s/hold", qdir);
		(void)queue_dir_fsync(dir);
		free(dir);
	}
	free(path);
	return ret;
}

bool
queue_hold_get(const char *qdir, const char *id)
{
	char *path = queue_hold_path(qdir, id);
	struct stat sb;
	bool held;

	if (path == NULL)
		return false;
	held = lstat(path, &sb) == 0;
	free(path);
	return held;
}
