/*
 * queue_journal - msg/XX/ID.j: the fate of each recipient of a message.
 *
 * The journal is a sequence of fixed-size records, appended and fsync'd
 * one at a time:
 *
 *	"SJ" | u8 status | u8 0 | u32 recipient index | u32 CRC-32 of bytes 0..7
 *
 * (integers big-endian). A later record for the same recipient wins.
 * A crash mid-append can leave a partial record, or a full-sized one
 * whose bytes never reached the disk; either can only be the last one,
 * so a torn last record is ignored (that recipient stays pending and is
 * tried again: at-least-once). Damage anywhere else is EBADMSG.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

/* System. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Layer 1: util. */
#include "util/log.h"
#include "util/xmalloc.h"

/* Layer 2: mail. */
#include "mail/queue.h"
#include "mail/queue_int.h"

#define JREC_LEN	12

/* journal_crc32 - CRC-32 (IEEE 802.3, reflected); records are tiny */
static uint32_t
journal_crc32(const unsigned char *p, size_t len)
{
	uint32_t crc = 0xFFFFFFFFu;
	size_t i;
	int k;

	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

/* journal_u32 - big-endian load */
static uint32_t
journal_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* journal_put_u32 - big-endian store */
static void
journal_put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* journal_rec_ok - magic, known status and checksum of one record */
static bool
journal_rec_ok(const unsigned char *r)
{
	return r[0] == 'S' && r[1] == 'J' && r[3] == 0 &&
	    r[2] >= JOURNAL_DONE && r[2] <= JOURNAL_DELETED &&
	    journal_crc32(r, 8) == journal_u32(r + 8);
}

/*
 * journal_trim - cut a torn tail off before appending, so that a crash
 * in an earlier append cannot put damage in the middle of the journal.
 */
static int
journal_trim(int fd)
{
	unsigned char last[JREC_LEN];
	struct stat st;
	off_t size, keep;

	if (fstat(fd, &st) == -1)
		return -1;
	size = st.st_size;
	keep = size - size % JREC_LEN;
	if (keep >= JREC_LEN) {
		if (queue_read_at(fd, last, JREC_LEN, keep - JREC_LEN) == -1)
			return -1;
		if (!journal_rec_ok(last))
			keep -= JREC_LEN;
	}
	if (keep != size && ftruncate(fd, keep) == -1)
		return -1;
	return 0;
}

/* journal_open - open ID.j for appending, creating it; *created_r if new */
static int
journal_open(const char *path, bool *created_r)
{
	/*
	 * O_APPEND: every record lands at the end even with several writers
	 * (read access is for checking the tail before appending).
	 * O_NOFOLLOW: a planted symbolic link must not make us append to
	 * another file. 0600: private to the sluice user.
	 */
	const int flags = O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC;
	int fd;

	*created_r = false;
	for (;;) {
		if ((fd = open(path, flags)) != -1 || errno != ENOENT)
			return fd;
		if ((fd = open(path, flags | O_CREAT | O_EXCL, 0600)) != -1) {
			*created_r = true;
			return fd;
		}
		if (errno != EEXIST)
			return -1;
	}
}

/* queue_journal_append - record rcpt index's fate, fsync'd; 0/-1 */
int
queue_journal_append(const char *qdir, const char *id, size_t rcpt, enum journal_status st)
{
	unsigned char rec[JREC_LEN];
	char *path, *bucket;
	bool created;
	int fd, saved;

	if (st < JOURNAL_DONE || st > JOURNAL_DELETED || rcpt > UINT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	if ((path = queue_path(qdir, id, true)) == NULL)
		return -1;
	fd = journal_open(path, &created);
	/*
	 * No journal without its message (moved to corrupt/ or deleted
	 * meanwhile): it would be an orphan that tells a lie.
	 */
	if (fd != -1 && created) {
		char *msg = queue_path(qdir, id, false);
		bool gone = access(msg, F_OK) == -1 && errno == ENOENT;

		free(msg);
		if (gone) {
			(void)unlink(path);
			close(fd);
			free(path);
			errno = ENOENT;
			return -1;
		}
	}
	free(path);
	if (fd == -1)
		return -1;
	rec[0] = 'S';
	rec[1] = 'J';
	rec[2] = (unsigned char)st;
	rec[3] = 0;
	journal_put_u32(rec + 4, (uint32_t)rcpt);
	journal_put_u32(rec + 8, journal_crc32(rec, 8));
	/*
	 * The lock keeps trim and append of two writers from interleaving.
	 * The fsync is the promise that a delivered recipient is never
	 * delivered again after a crash; it must succeed before we return.
	 */
	if (flock(fd, LOCK_EX) == -1 || journal_trim(fd) == -1 ||
	    queue_write_all(fd, rec, sizeof(rec)) == -1 || fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1)
		return -1;
	/* A new journal's name must be durable too, or the record is lost with it. */
	if (created) {
		bucket = queue_bucket_path(qdir, id);
		saved = queue_dir_fsync(bucket);
		free(bucket);
		if (saved == -1)
			return -1;
	}
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* queue_journal_read - fill status_r[0..nrcpt-1] from ID.j; see queue.h */
int
queue_journal_read(const char *qdir, const char *id, size_t nrcpt, enum journal_status *status_r)
{
	unsigned char *buf = NULL, *r;
	struct stat sb;
	size_t i, n, size;
	uint32_t idx;
	char *path;
	int fd, saved;

	for (i = 0; i < nrcpt; i++)
		status_r[i] = JOURNAL_PENDING;
	if ((path = queue_path(qdir, id, true)) == NULL)
		return -1;
	/* O_NOFOLLOW and O_NONBLOCK: no symbolic link or FIFO fools the reader. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	free(path);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &sb) == -1)
		goto fail;
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > QUEUE_JOURNAL_MAX) {
		log_warn("%s: read journal: %s", id,
		    S_ISREG(sb.st_mode) ? "too large" : "not a regular file");
		errno = EBADMSG;
		goto fail;
	}
	size = (size_t)sb.st_size;
	buf = xmalloc(size > 0 ? size : 1);
	if (queue_read_at(fd, buf, size, 0) == -1)
		goto fail;
	n = size / JREC_LEN;
	for (i = 0; i < n; i++) {
		r = buf + i * JREC_LEN;
		if (!journal_rec_ok(r)) {
			/* Torn: only possible for the last whole record without a partial one after it. */
			if (i == n - 1 && size % JREC_LEN == 0)
				break;
			log_warn("%s: read journal %s.j: bad record %zu of %zu", id, id, i, n);
			errno = EBADMSG;
			goto fail;
		}
		idx = journal_u32(r + 4);
		if (idx >= nrcpt) {
			log_warn("%s: read journal %s.j: record %zu names recipient %u of %zu",
			    id, id, i, idx, nrcpt);
			errno = EBADMSG;
			goto fail;
		}
		status_r[idx] = (enum journal_status)r[2];
	}
	free(buf);
	close(fd);
	return 0;
fail:
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return -1;
}

/* queue_journal_orphan - see queue_int.h */
bool
queue_journal_orphan(int dfd, const char *name)
{
	char id[QUEUE_ID_LEN + 1];
	struct stat sb;

	if (strlen(name) != QUEUE_ID_LEN + 2 || strcmp(name + QUEUE_ID_LEN, ".j") != 0)
		return false;
	memcpy(id, name, QUEUE_ID_LEN);
	id[QUEUE_ID_LEN] = '\0';
	return queue_id_ok(id) &&
	    fstatat(dfd, id, &sb, AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOENT;
}

/*
 * queue_remove_orphan_journals - a journal outlives its message when a
 * crash falls between the two unlinks of queue_remove(), or when a
 * delivery agent appends after the operator deleted the message: a walk
 * over msg/ removes each (queue_walk_next).
 */
int
queue_remove_orphan_journals(const char *qdir)
{
	struct queue_walk *w = queue_walk_open(qdir);
	char id[QUEUE_ID_LEN + 1];
	size_t n;

	while (queue_walk_next(w, id) != 0)
		;
	n = queue_walk_orphans(w);
	queue_walk_close(&w);
	return (int)n;
}
