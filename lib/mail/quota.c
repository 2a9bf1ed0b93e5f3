/*
 * quota - per-domain caps: arithmetic, notice levels, the usage file
 * (quota.h)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* lib/util */
#include "util/htable.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/address.h"
#include "mail/domains.h"
#include "mail/queue.h"
#include "mail/quota.h"

struct quota_file {
	pid_t pid;
	time_t written;
	struct htable *usage; /* domain -> struct quota_usage */
	char recent[QUOTA_RECENT_MAX][QUEUE_ID_LEN + 1];
	size_t nrecent, next; /* a ring: next is the oldest when full */
};

bool
quota_capped(const struct domain *d)
{
	return d != NULL && (d->max_messages > 0 || d->max_bytes > 0);
}

void
quota_usage_add(struct quota_usage *u, uint64_t messages, uint64_t bytes)
{
	/* At the top, not past it: a wrapped sum would look nearly empty. */
	u->messages = u->messages > UINT64_MAX - messages
	                  ? UINT64_MAX
	                  : u->messages + messages;
	u->bytes =
	    u->bytes > UINT64_MAX - bytes ? UINT64_MAX : u->bytes + bytes;
}

enum quota_verdict
quota_check(const struct domain *d, const struct quota_usage *u, uint64_t size)
{
	if (d == NULL)
		return QUOTA_OK;
	if (d->max_messages > 0 && u->messages >= (uint64_t)d->max_messages)
		return QUOTA_MESSAGES;
	/* Subtraction, not addition: a SIZE= near 2^64 must not wrap. */
	if (d->max_bytes > 0 && (u->bytes >= (uint64_t)d->max_bytes ||
	                            size > (uint64_t)d->max_bytes - u->bytes))
		return QUOTA_BYTES;
	return QUOTA_OK;
}

void
quota_reason(const struct domain *d, const struct quota_usage *u,
    enum quota_verdict v, char *buf, size_t size)
{
	if (v == QUOTA_BYTES)
		snprintf(buf, size, "%s holds %" PRIu64 " bytes (limit %ld)",
		    d->name, u->bytes, d->max_bytes);
	else
		snprintf(buf, size, "%s holds %" PRIu64 " messages (limit %ld)",
		    d->name, u->messages, d->max_messages);
}

/* quota_pct - is have at least pct percent of cap (cap > 0)? */
static bool
quota_pct(uint64_t have, long cap, unsigned pct)
{
	/* In 128 bits: no 64-bit have or cap overflows. */
	return (unsigned __int128)have * 100 >= (unsigned __int128)cap * pct;
}

/* quota_at_pct - has d reached pct percent of either cap at u? */
static bool
quota_at_pct(const struct domain *d, const struct quota_usage *u, unsigned pct)
{
	return (d->max_messages > 0 &&
	           quota_pct(u->messages, d->max_messages, pct)) ||
	       (d->max_bytes > 0 && quota_pct(u->bytes, d->max_bytes, pct));
}

enum quota_level
quota_level(const struct domain *d, const struct quota_usage *u)
{
	if (!quota_capped(d))
		return QUOTA_LEVEL_NONE;
	if (quota_at_pct(d, u, 100))
		return QUOTA_LEVEL_FULL;
	if (quota_at_pct(d, u, QUOTA_NEAR_PCT))
		return QUOTA_LEVEL_NEAR;
	return QUOTA_LEVEL_NONE;
}

enum quota_level
quota_notify_step(const struct domain *d, const struct quota_usage *u,
    enum quota_level *notified)
{
	enum quota_level now = quota_level(d, u);

	if (now == QUOTA_LEVEL_FULL) {
		if (*notified == QUOTA_LEVEL_FULL)
			return QUOTA_LEVEL_NONE;
		*notified = QUOTA_LEVEL_FULL;
		return QUOTA_LEVEL_FULL;
	}
	/* Below the caps: the full notice is armed again. */
	if (*notified == QUOTA_LEVEL_FULL)
		*notified = QUOTA_LEVEL_NEAR;
	if (now == QUOTA_LEVEL_NEAR) {
		if (*notified == QUOTA_LEVEL_NEAR)
			return QUOTA_LEVEL_NONE;
		*notified = QUOTA_LEVEL_NEAR;
		return QUOTA_LEVEL_NEAR;
	}
	/* Between the two levels nothing changes, so that it cannot flap. */
	if (!quota_capped(d) || !quota_at_pct(d, u, QUOTA_REARM_PCT))
		*notified = QUOTA_LEVEL_NONE;
	return QUOTA_LEVEL_NONE;
}

void
quota_text(uint64_t messages, uint64_t max_messages, uint64_t bytes,
    uint64_t max_bytes, char *buf, size_t size)
{
	char m[64], b[64];

	if (max_messages > 0)
		snprintf(m, sizeof(m), "%" PRIu64 " of %" PRIu64 " messages",
		    messages, max_messages);
	else
		snprintf(m, sizeof(m), "%" PRIu64 " message%s", messages,
		    messages == 1 ? "" : "s");
	if (max_bytes > 0)
		snprintf(b, sizeof(b), "%" PRIu64 " of %" PRIu64 " bytes",
		    bytes, max_bytes);
	else
		snprintf(b, sizeof(b), "%" PRIu64 " bytes", bytes);
	snprintf(buf, size, "%s, %s", m, b);
}

static const char *const quota_level_names[] = {"none", "near", "full"};

const char *
quota_level_name(enum quota_level l)
{
	return (unsigned)l < 3 ? quota_level_names[l] : "none";
}

bool
quota_level_parse(const char *word, enum quota_level *l_r)
{
	unsigned i;

	for (i = 0; i < 3; i++)
		if (strcmp(word, quota_level_names[i]) == 0) {
			*l_r = (enum quota_level)i;
			return true;
		}
	return false;
}

struct quota_file *
quota_file_new(void)
{
	struct quota_file *f = xcalloc(1, sizeof(*f));

	f->usage = htable_new();
	return f;
}

void
quota_file_free(struct quota_file **fp)
{
	if (*fp == NULL)
		return;
	htable_free_values(&(*fp)->usage, free);
	xfree(fp);
}

void
quota_file_set(
    struct quota_file *f, const char *name, const struct quota_usage *u)
{
	struct quota_usage *v = htable_get(f->usage, name);

	if (v == NULL) {
		v = xmalloc(sizeof(*v));
		htable_put(f->usage, name, v);
	}
	*v = *u;
}

void
quota_file_clear(struct quota_file *f)
{
	htable_free_values(&f->usage, free);
	f->usage = htable_new();
}

bool
quota_file_get(
    const struct quota_file *f, const char *name, struct quota_usage *u_r)
{
	const struct quota_usage *v = htable_get(f->usage, name);

	if (v == NULL)
		return false;
	*u_r = *v;
	return true;
}

void
quota_file_indexed(struct quota_file *f, const char *id)
{
	if (!queue_id_ok(id) || quota_file_has_indexed(f, id))
		return;
	memcpy(f->recent[f->next], id, QUEUE_ID_LEN + 1);
	f->next = (f->next + 1) % QUOTA_RECENT_MAX;
	if (f->nrecent < QUOTA_RECENT_MAX)
		f->nrecent++;
}

bool
quota_file_has_indexed(const struct quota_file *f, const char *id)
{
	size_t i;

	for (i = 0; i < f->nrecent; i++)
		if (strcmp(f->recent[i], id) == 0)
			return true;
	return false;
}

pid_t
quota_file_pid(const struct quota_file *f)
{
	return f->pid;
}

struct quota_out {
	FILE *fp;
};

static int
quota_write_one(const char *key, void *value, void *ctx)
{
	const struct quota_usage *u = value;
	struct quota_out *o = ctx;

	fprintf(o->fp, "domain %s %" PRIu64 " %" PRIu64 "\n", key, u->messages,
	    u->bytes);
	return 0;
}

int
quota_file_write(
    const char *qdir, const struct quota_file *f, pid_t pid, time_t now)
{
	char *path = xasprintf("%s/%s", qdir, QUOTA_FILE);
	char *tmp = xasprintf("%s.tmp", path);
	struct quota_out o;
	size_t i, k;
	int fd, ret = -1, saved;

	/*
	 * O_NOFOLLOW: private/ is ours, and nothing we write follows a link.
	 * A new file each time (unlink, O_EXCL): a temporary file left with
	 * another mode or owner would pass them on to the one readers trust.
	 */
	(void)unlink(tmp);
	fd = open(
	    tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || (o.fp = fdopen(fd, "w")) == NULL) {
		saved = errno;
		if (fd >= 0)
			close(fd);
		goto out;
	}
	fprintf(o.fp, "qmgr %ld %lld\n", (long)pid, (long long)now);
	htable_walk(f->usage, quota_write_one, &o);
	/* Oldest first, so that a reader's ring keeps the newest. */
	for (i = 0; i < f->nrecent; i++) {
		k = f->nrecent < QUOTA_RECENT_MAX
		        ? i
		        : (f->next + i) % QUOTA_RECENT_MAX;
		fprintf(o.fp, "indexed %s\n", f->recent[k]);
	}
	/*
	 * No fsync: the file is a cache of the index that qmgr rewrites at
	 * start; a crash can only leave the previous whole file.
	 */
	if (ferror(o.fp) | (fclose(o.fp) != 0)) {
		saved = errno;
		goto out;
	}
	if (rename(tmp, path) < 0) {
		saved = errno;
		goto out;
	}
	ret = 0;
	saved = 0;
out:
	if (ret < 0)
		(void)unlink(tmp);
	free(tmp);
	free(path);
	errno = saved;
	return ret;
}

/* quota_u64 - a decimal number that fits 64 bits, nothing else */
static bool
quota_u64(const char *s, uint64_t *v_r)
{
	uint64_t v = 0;

	if (*s == '\0' || strlen(s) > 20)
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' ||
		    v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*v_r = v;
	return true;
}

/* quota_parse_line - one line (NUL-terminated, no newline) into f; NULL or why
 */
static const char *
quota_parse_line(struct quota_file *f, char *line, bool first)
{
	char *w[5], *save = NULL;
	size_t n = 0;
	struct quota_usage u;
	uint64_t v, t;

	for (char *tok = strtok_r(line, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save)) {
		if (n == 4)
			return "too many fields";
		w[n++] = tok;
	}
	if (first != (n > 0 && strcmp(w[0], "qmgr") == 0))
		return first ? "the first line is not \"qmgr PID EPOCH\""
		             : "a second qmgr line";
	if (first) {
		if (n != 3 || !quota_u64(w[1], &v) || v == 0 || v > INT32_MAX ||
		    !quota_u64(w[2], &t) || t > INT64_MAX)
			return "bad qmgr line";
		f->pid = (pid_t)v;
		f->written = (time_t)t;
		return NULL;
	}
	if (n == 4 && strcmp(w[0], "domain") == 0) {
		if (!address_domain_ok(w[1], strlen(w[1])) || w[1][0] == '[' ||
		    !quota_u64(w[2], &u.messages) || !quota_u64(w[3], &u.bytes))
			return "bad domain line";
		quota_file_set(f, w[1], &u);
		return NULL;
	}
	if (n == 2 && strcmp(w[0], "indexed") == 0) {
		if (!queue_id_ok(w[1]))
			return "bad queue ID";
		quota_file_indexed(f, w[1]);
		return NULL;
	}
	return "unknown record";
}

int
quota_file_parse(
    const char *text, size_t len, struct quota_file **f_r, char **err_r)
{
	struct quota_file *f = quota_file_new();
	unsigned lineno = 0;
	size_t off = 0;

	*f_r = NULL;
	*err_r = NULL;
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl != NULL ? (size_t)(nl - text - off) : len - off;
		const char *why;
		char *line;

		lineno++;
		if (nl == NULL) {
			why = "last line not ended";
		} else if (n >= QUOTA_LINE_MAX ||
		           memchr(text + off, '\0', n) != NULL) {
			why = "line too long or with a NUL";
		} else {
			line = xstrndup(text + off, n);
			why = quota_parse_line(f, line, lineno == 1);
			free(line);
		}
		if (why != NULL) {
			*err_r = xasprintf("line %u: %s", lineno, why);
			quota_file_free(&f);
			return -1;
		}
		off += n + 1;
	}
	if (lineno == 0) {
		*err_r = xstrdup("line 1: empty file");
		quota_file_free(&f);
		return -1;
	}
	*f_r = f;
	return 0;
}

int
quota_private_open(const char *path, char **err_r)
{
	struct stat sb;
	int fd;

	*err_r = NULL;
	/*
	 * O_NOFOLLOW: no symbolic link; O_NONBLOCK: a FIFO put in its place
	 * must not stop the reader's event loop until someone writes to it.
	 */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP) {
			*err_r =
			    xstrdup("a symbolic link, not the file qmgr "
			            "writes: remove it (qmgr writes it anew)");
			errno = EBADMSG;
		}
		return -1;
	}
	if (fstat(fd, &sb) < 0) {
		*err_r = xasprintf("fstat: %s", strerror(errno));
	} else if (!S_ISREG(sb.st_mode)) {
		*err_r = xasprintf("not a regular file (mode %06o): remove it "
		                   "(qmgr writes it anew)",
		    (unsigned)sb.st_mode);
	} else if (sb.st_uid != geteuid()) {
		*err_r = xasprintf("owned by uid %u, not by uid %u that qmgr "
		                   "runs as: remove it (qmgr writes it anew)",
		    (unsigned)sb.st_uid, (unsigned)geteuid());
	} else if ((sb.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		*err_r =
		    xasprintf("writable by group or others (mode %04o), "
		              "so anyone could have written it: chmod "
		              "0600 it, or remove it (qmgr writes it anew)",
		        (unsigned)(sb.st_mode & 07777));
	} else if (sb.st_size > QUOTA_FILE_MAX) {
		*err_r = xasprintf("%lld bytes, more than the %d it may have: "
		                   "remove it (qmgr writes it anew)",
		    (long long)sb.st_size, QUOTA_FILE_MAX);
	} else {
		return fd;
	}
	close(fd);
	errno = EBADMSG;
	return -1;
}

int
quota_file_read(const char *qdir, struct quota_file **f_r, char **err_r)
{
	char *path = xasprintf("%s/%s", qdir, QUOTA_FILE), *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t r;
	int fd, saved;

	*f_r = NULL;
	*err_r = NULL;
	fd = quota_private_open(path, err_r);
	free(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	for (;;) {
		if (len == cap) {
			if (cap >= QUOTA_FILE_MAX) {
				*err_r = xstrdup("file too large");
				free(buf);
				close(fd);
				errno = EBADMSG;
				return -1;
			}
			cap = cap == 0 ? 4096 : cap * 2;
			buf = xrealloc(buf, cap);
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	saved = errno;
	close(fd);
	if (r < 0) {
		free(buf);
		errno = saved;
		return -1;
	}
	r = quota_file_parse(buf, len, f_r, err_r);
	free(buf);
	if (r < 0) {
		errno = EBADMSG;
		return -1;
	}
	return 1;
}
