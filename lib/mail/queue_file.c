/*
 * queue_file - write and read one queue file (format in queue.h).
 *
 * Envelope records are "u8 type | u32 length | bytes". Every record but
 * RCPT appears at most once; ID, ARRIVAL, SENDER, CLIENT_NAME,
 * CLIENT_ADDR, PROTOCOL and at least one RCPT must appear. Strings are
 * stored without a terminating NUL and may not contain one. A RCPT record
 * is "u8 notify | u8 has_orcpt | u16 addr length | addr | orcpt".
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

/* System. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Layer 1: util. */
#include "util/chunk.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* Layer 2: mail. */
#include "mail/queue.h"
#include "mail/queue_int.h"

#define QUEUE_MAGIC		"SLUICEQ\n"
#define QUEUE_MAGIC_LEN		8
#define QUEUE_HEADER_LEN	16	/* magic, version, envelope length */
#define QUEUE_TRAILER_LEN	12	/* content length, "END\n" */
#define QUEUE_END		"END\n"
#define QUEUE_WBUF_SIZE		65536
#define QUEUE_CREATE_TRIES	10

enum queue_rec {
	QREC_ID = 1,
	QREC_ARRIVAL,		/* i64 seconds since the epoch */
	QREC_SENDER,
	QREC_ENVID,
	QREC_RET,		/* u8 enum dsn_ret */
	QREC_CLIENT_NAME,
	QREC_CLIENT_ADDR,
	QREC_HELO,
	QREC_PROTOCOL,
	QREC_AUTH_USER,
	QREC_RCPT,
	QREC_MAX = QREC_RCPT,
};

struct queue_file {
	char *qdir;
	char id[QUEUE_ID_LEN + 1];
	char *tmp_path;
	int fd;
	int err;		/* first write error, sticky; 0 if none */
	uint64_t size;		/* content bytes accepted */
	uint64_t max_size;	/* 0: no limit */
	char *final_path;	/* msg/XX/ID, from queue_file_commit_begin */
	char *bucket_path;	/* msg/XX */
	bool committed;		/* queue_file_commit_sync succeeded */
	size_t buf_len;
	unsigned char buf[QUEUE_WBUF_SIZE];
};

/* A growing byte string for encoding the envelope. */
struct qbuf {
	unsigned char *data;
	size_t len, cap;
};

/* qbuf_add - append n bytes */
static void
qbuf_add(struct qbuf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 256;
		b->data = xrealloc(b->data, b->cap);
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

/* put_be - store v big-endian in n bytes */
static void
put_be(unsigned char *p, uint64_t v, size_t n)
{
	while (n-- > 0) {
		p[n] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

/* get_be - load a big-endian n-byte integer */
static uint64_t
get_be(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* qbuf_rec - append one record of type with len bytes of data */
static void
qbuf_rec(struct qbuf *b, enum queue_rec type, const void *data, size_t len)
{
	unsigned char hdr[5];

	hdr[0] = (unsigned char)type;
	put_be(hdr + 1, len, 4);
	qbuf_add(b, hdr, sizeof(hdr));
	qbuf_add(b, data, len);
}

/* qbuf_str - append a string record, or nothing for NULL */
static void
qbuf_str(struct qbuf *b, enum queue_rec type, const char *s)
{
	if (s != NULL)
		qbuf_rec(b, type, s, strlen(s));
}

/* envelope_encode - the envelope records of env (already validated) */
static void
envelope_encode(const struct envelope *env, struct qbuf *b)
{
	unsigned char num[8], ret;
	struct qbuf r = { 0 };
	size_t i, alen;

	qbuf_rec(b, QREC_ID, env->id, QUEUE_ID_LEN);
	put_be(num, (uint64_t)(int64_t)env->arrival, 8);
	qbuf_rec(b, QREC_ARRIVAL, num, 8);
	qbuf_str(b, QREC_SENDER, env->sender);
	qbuf_str(b, QREC_ENVID, env->envid);
	ret = (unsigned char)env->ret;
	qbuf_rec(b, QREC_RET, &ret, 1);
	qbuf_str(b, QREC_CLIENT_NAME, env->client_name);
	qbuf_str(b, QREC_CLIENT_ADDR, env->client_addr);
	qbuf_str(b, QREC_HELO, env->helo);
	qbuf_str(b, QREC_PROTOCOL, env->protocol);
	qbuf_str(b, QREC_AUTH_USER, env->auth_user);
	for (i = 0; i < env->nrcpt; i++) {
		const struct envelope_rcpt *rc = &env->rcpt[i];

		r.len = 0;
		alen = strlen(rc->addr);
		num[0] = (unsigned char)rc->notify;
		num[1] = rc->orcpt != NULL;
		put_be(num + 2, alen, 2);
		qbuf_add(&r, num, 4);
		qbuf_add(&r, rc->addr, alen);
		if (rc->orcpt != NULL)
			qbuf_add(&r, rc->orcpt, strlen(rc->orcpt));
		qbuf_rec(b, QREC_RCPT, r.data, r.len);
	}
	free(r.data);
}

/* rec_str - a record's bytes as a new string; NULL if it holds a NUL */
static char *
rec_str(const unsigned char *p, size_t len)
{
	if (memchr(p, '\0', len) != NULL)
		return NULL;
	return xstrndup((const char *)p, len);
}

/* envelope_decode_rcpt - one RCPT record into env; 0/-1 */
static int
envelope_decode_rcpt(struct envelope *env, const unsigned char *p, size_t len)
{
	char *addr = NULL, *orcpt = NULL;
	size_t alen;
	int rc = -1;

	if (len < 4 || p[1] > 1)
		return -1;
	alen = get_be(p + 2, 2);
	if (alen > len - 4 || (p[1] == 0 && alen != len - 4))
		return -1;
	if ((addr = rec_str(p + 4, alen)) == NULL)
		goto out;
	if (p[1] == 1 && (orcpt = rec_str(p + 4 + alen, len - 4 - alen)) == NULL)
		goto out;
	envelope_add_rcpt(env, addr, orcpt, p[0]);
	rc = 0;
out:
	free(addr);
	free(orcpt);
	return rc;
}

/*
 * envelope_decode - parse len bytes of records into env. Each record's
 * length is checked against what is left before it is used. 0, or -1
 * with a reason in why.
 */
static int
envelope_decode(const unsigned char *p, size_t len, struct envelope *env, char *why, size_t whysz)
{
	unsigned seen[QREC_MAX + 1] = { 0 };
	char **strp;
	size_t off = 0, rlen;
	unsigned type;

	while (off < len) {
		if (len - off < 5) {
			snprintf(why, whysz, "truncated record header at envelope offset %zu", off);
			return -1;
		}
		type = p[off];
		rlen = get_be(p + off + 1, 4);
		off += 5;
		if (rlen > len - off) {
			snprintf(why, whysz, "record type %u length %zu exceeds envelope", type, rlen);
			return -1;
		}
		if (type == 0 || type > QREC_MAX) {
			snprintf(why, whysz, "unknown record type %u", type);
			return -1;
		}
		if (type != QREC_RCPT && seen[type] > 0) {
			snprintf(why, whysz, "duplicate record type %u", type);
			return -1;
		}
		seen[type]++;
		strp = NULL;
		switch ((enum queue_rec)type) {
		case QREC_ID:
			if (rlen != QUEUE_ID_LEN) {
				snprintf(why, whysz, "bad queue id record");
				return -1;
			}
			memcpy(env->id, p + off, QUEUE_ID_LEN);
			env->id[QUEUE_ID_LEN] = '\0';
			break;
		case QREC_ARRIVAL:
			if (rlen != 8) {
				snprintf(why, whysz, "bad arrival record");
				return -1;
			}
			env->arrival = (time_t)(int64_t)get_be(p + off, 8);
			break;
		case QREC_RET:
			if (rlen != 1) {
				snprintf(why, whysz, "bad ret record");
				return -1;
			}
			env->ret = (enum dsn_ret)p[off];
			break;
		case QREC_RCPT:
			if (envelope_decode_rcpt(env, p + off, rlen) == -1) {
				snprintf(why, whysz, "bad recipient record %zu", env->nrcpt + 1);
				return -1;
			}
			break;
		case QREC_SENDER: strp = &env->sender; break;
		case QREC_ENVID: strp = &env->envid; break;
		case QREC_CLIENT_NAME: strp = &env->client_name; break;
		case QREC_CLIENT_ADDR: strp = &env->client_addr; break;
		case QREC_HELO: strp = &env->helo; break;
		case QREC_PROTOCOL: strp = &env->protocol; break;
		case QREC_AUTH_USER: strp = &env->auth_user; break;
		}
		if (strp != NULL && (*strp = rec_str(p + off, rlen)) == NULL) {
			snprintf(why, whysz, "record type %u holds a NUL byte", type);
			return -1;
		}
		off += rlen;
	}
	if (!seen[QREC_ID] || !seen[QREC_ARRIVAL] || !seen[QREC_SENDER] ||
	    !seen[QREC_CLIENT_NAME] || !seen[QREC_CLIENT_ADDR] ||
	    !seen[QREC_PROTOCOL] || !seen[QREC_RCPT]) {
		snprintf(why, whysz, "required envelope record missing");
		return -1;
	}
	return 0;
}

/* queue_file_flush - write out the buffer; 0/-1 with errno, sticky */
static int
queue_file_flush(struct queue_file *qf)
{
	if (qf->err != 0) {
		errno = qf->err;
		return -1;
	}
	if (qf->buf_len > 0 && queue_write_all(qf->fd, qf->buf, qf->buf_len) == -1) {
		qf->err = errno;
		return -1;
	}
	qf->buf_len = 0;
	return 0;
}

/* queue_file_flush_cb - queue_file_flush as chunk_put calls it */
static int
queue_file_flush_cb(void *ctx)
{
	return queue_file_flush(ctx);
}

/* queue_file_put - buffer len bytes, flushing as the buffer fills; 0/-1 */
static int
queue_file_put(struct queue_file *qf, const void *data, size_t len)
{
	if (chunk_put(qf->buf, sizeof(qf->buf), &qf->buf_len, data, len,
	    queue_file_flush_cb, qf) == -1)
		return -1;
	return qf->err != 0 ? (errno = qf->err, -1) : 0;
}

/* queue_file_open - pick a fresh ID and open incoming/ID exclusively */
static int
queue_file_open(const char *qdir, char id_r[QUEUE_ID_LEN + 1], char **tmp_r)
{
	struct stat st;
	char *final, *tmp;
	int fd, tries, exists;

	for (tries = 0; tries < QUEUE_CREATE_TRIES; tries++) {
		queue_id_new(id_r);
		/* A committed message with this ID already: draw again. */
		final = queue_path(qdir, id_r, false);
		exists = lstat(final, &st) == 0;
		free(final);
		if (exists)
			continue;
		tmp = xasprintf("%s/incoming/%s", qdir, id_r);
		/*
		 * O_EXCL: never share or reuse a file another receiver has
		 * open. O_NOFOLLOW: a symbolic link planted in incoming/ must
		 * not redirect our write elsewhere. 0600: mail is private to
		 * the sluice user.
		 */
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd != -1) {
			*tmp_r = tmp;
			return fd;
		}
		free(tmp);
		if (errno != EEXIST)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

/* queue_file_create - step 1; fills env->id; NULL with errno */
struct queue_file *
queue_file_create(const char *qdir, struct envelope *env)
{
	struct queue_file *qf;
	struct qbuf b = { 0 };
	unsigned char hdr[QUEUE_HEADER_LEN];
	char *tmp;
	int fd, saved;

	if (env == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if (env->arrival == 0)
		env->arrival = time(NULL);
	/* What we write must pass what the reader will demand of it. */
	env->id[0] = '\0';
	if (!envelope_ok(env)) {
		errno = EINVAL;
		return NULL;
	}
	if ((fd = queue_file_open(qdir, env->id, &tmp)) == -1) {
		saved = errno;
		env->id[0] = '\0';
		errno = saved;
		return NULL;
	}
	envelope_encode(env, &b);
	if (b.len > QUEUE_ENVELOPE_MAX) {
		free(b.data);
		close(fd);
		unlink(tmp);
		free(tmp);
		env->id[0] = '\0';
		errno = E2BIG;
		return NULL;
	}
	qf = xmalloc(sizeof(*qf));
	qf->qdir = xstrdup(qdir);
	memcpy(qf->id, env->id, sizeof(qf->id));
	qf->tmp_path = tmp;
	qf->fd = fd;
	qf->err = 0;
	qf->size = 0;
	qf->max_size = 0;
	qf->final_path = NULL;
	qf->bucket_path = NULL;
	qf->committed = false;
	qf->buf_len = 0;
	memcpy(hdr, QUEUE_MAGIC, QUEUE_MAGIC_LEN);
	put_be(hdr + 8, QUEUE_FORMAT_VERSION, 4);
	put_be(hdr + 12, b.len, 4);
	if (queue_file_put(qf, hdr, sizeof(hdr)) == -1 ||
	    queue_file_put(qf, b.data, b.len) == -1) {
		saved = errno;
		free(b.data);
		queue_file_abort(&qf);
		env->id[0] = '\0';
		errno = saved;
		return NULL;
	}
	free(b.data);
	return qf;
}

/* queue_file_set_max_size - refuse content past max bytes with EFBIG; 0 = no limit */
void
queue_file_set_max_size(struct queue_file *qf, uint64_t max)
{
	qf->max_size = max;
}

/* queue_file_write - step 2; 0/-1 with errno (ENOSPC, EFBIG past max_size) */
int
queue_file_write(struct queue_file *qf, const void *buf, size_t len)
{
	if (qf->err != 0) {
		errno = qf->err;
		return -1;
	}
	if (qf->max_size != 0 && (len > qf->max_size || qf->size > qf->max_size - len)) {
		qf->err = EFBIG;
		errno = EFBIG;
		return -1;
	}
	if (queue_file_put(qf, buf, len) == -1)
		return -1;
	qf->size += len;
	return 0;
}

/* queue_file_size - content bytes written so far */
uint64_t
queue_file_size(const struct queue_file *qf)
{
	return qf->size;
}

/* queue_file_release - free qf without touching the file system */
static void
queue_file_release(struct queue_file *qf)
{
	free(qf->qdir);
	free(qf->tmp_path);
	free(qf->final_path);
	free(qf->bucket_path);
	free(qf);
}

/*
 * queue_file_commit_begin - step 3, the part that runs where the file was
 * written: the trailer, the last buffer, and the paths the sync needs
 * (so that the sync allocates nothing). 0, or -1 with errno (the caller
 * then aborts qf).
 */
int
queue_file_commit_begin(struct queue_file *qf)
{
	unsigned char trailer[QUEUE_TRAILER_LEN];

	put_be(trailer, qf->size, 8);
	memcpy(trailer + 8, QUEUE_END, 4);
	if (queue_file_put(qf, trailer, sizeof(trailer)) == -1 ||
	    queue_file_flush(qf) == -1)
		return -1;
	free(qf->final_path);
	free(qf->bucket_path);
	qf->final_path = queue_path(qf->qdir, qf->id, false);
	qf->bucket_path = queue_bucket_path(qf->qdir, qf->id);
	return 0;
}

/*
 * queue_file_commit_sync - step 3, the waiting part: fsync, close,
 * rename into msg/XX/, fsync msg/XX. System calls only, on what qf
 * owns: safe in a worker thread (util/workq.h). 0, or -1 with errno and
 * nothing left behind (neither the temporary file nor the message).
 */
int
queue_file_commit_sync(struct queue_file *qf)
{
	int saved, rc;

	if (qf->final_path == NULL || qf->bucket_path == NULL) {
		errno = EINVAL;
		goto fail;
	}
	/*
	 * The data must be on disk before the name appears in msg/: after a
	 * crash a committed name with missing data would be a lost message
	 * that we acknowledged. A failed fsync is a failed commit: the page
	 * cache may have dropped the data, so retrying fsync proves nothing.
	 */
	if (fsync(qf->fd) == -1)
		goto fail;
	/* close() can report a deferred write error (NFS): check it too. */
	rc = close(qf->fd);
	qf->fd = -1;
	if (rc == -1)
		goto fail;
	/*
	 * The rename is the commit point: the file is complete or absent.
	 * incoming/ itself is not fsync'd: a name that lingers there after
	 * a crash is only garbage, purged at start.
	 */
	if (queue_rename_noreplace(qf->tmp_path, qf->final_path) == -1)
		goto fail;
	/*
	 * Only the directory fsync makes the new name durable; until it
	 * succeeds we may not answer 250. If it fails, take the message back
	 * out so that nothing we refused can be delivered later.
	 */
	if (queue_dir_fsync(qf->bucket_path) == -1) {
		saved = errno;
		(void)unlink(qf->final_path);
		(void)queue_dir_fsync(qf->bucket_path);
		errno = saved;
		return -1;
	}
	qf->committed = true;
	return 0;
fail:
	saved = errno;
	if (qf->fd != -1)
		(void)close(qf->fd);
	qf->fd = -1;
	(void)unlink(qf->tmp_path);
	errno = saved;
	return -1;
}

/* queue_file_commit_end - free *qfp after queue_file_commit_sync, whatever it returned */
void
queue_file_commit_end(struct queue_file **qfp)
{
	struct queue_file *qf = *qfp;

	if (qf == NULL)
		return;
	*qfp = NULL;
	queue_file_release(qf);
}

/* queue_file_commit - step 3 in one go; frees *qfp; 0, or -1 with errno and nothing left behind */
int
queue_file_commit(struct queue_file **qfp)
{
	struct queue_file *qf = *qfp;
	int saved;

	*qfp = NULL;
	if (queue_file_commit_begin(qf) == -1) {
		queue_file_abort(&qf);
		return -1;
	}
	if (queue_file_commit_sync(qf) == -1) {
		saved = errno;
		queue_file_commit_end(&qf);
		errno = saved;
		return -1;
	}
	queue_file_commit_end(&qf);
	return 0;
}

/* queue_file_abort - unlink the temporary file, free *qfp */
void
queue_file_abort(struct queue_file **qfp)
{
	struct queue_file *qf = *qfp;
	int saved = errno;

	if (qf == NULL)
		return;
	*qfp = NULL;
	if (qf->fd != -1)
		close(qf->fd);
	/* Once committed, the temporary name is gone and is no longer ours. */
	if (!qf->committed)
		(void)unlink(qf->tmp_path);
	queue_file_release(qf);
	errno = saved;
}

/*
 * queue_file_check - validate an open queue file in full. 0 with *env_r,
 * the content offset and length; -1 with errno EBADMSG and a reason in
 * why when the file is invalid, or another errno for an I/O error.
 */
static int
queue_file_check(int fd, const char *id, struct envelope **env_r, off_t *off_r,
    uint64_t *len_r, char *why, size_t whysz)
{
	unsigned char hdr[QUEUE_HEADER_LEN], trailer[QUEUE_TRAILER_LEN];
	unsigned char *envbuf = NULL;
	struct envelope *env = NULL;
	uint64_t size, envlen, clen;
	uint32_t version;
	struct stat st;

	if (fstat(fd, &st) == -1)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whysz, "not a regular file");
		goto bad;
	}
	size = (uint64_t)st.st_size;
	if (size < QUEUE_HEADER_LEN + QUEUE_TRAILER_LEN) {
		snprintf(why, whysz, "file size %ju below the minimum", (uintmax_t)size);
		goto bad;
	}
	if (queue_read_at(fd, hdr, sizeof(hdr), 0) == -1)
		goto io;
	if (memcmp(hdr, QUEUE_MAGIC, QUEUE_MAGIC_LEN) != 0) {
		snprintf(why, whysz, "bad magic");
		goto bad;
	}
	version = (uint32_t)get_be(hdr + 8, 4);
	if (version != QUEUE_FORMAT_VERSION) {
		snprintf(why, whysz, "unsupported version %u", version);
		goto bad;
	}
	envlen = get_be(hdr + 12, 4);
	if (envlen > QUEUE_ENVELOPE_MAX ||
	    envlen > size - QUEUE_HEADER_LEN - QUEUE_TRAILER_LEN) {
		snprintf(why, whysz, "envelope length %ju exceeds file size %ju",
		    (uintmax_t)envlen, (uintmax_t)size);
		goto bad;
	}
	if (queue_read_at(fd, trailer, sizeof(trailer), (off_t)(size - QUEUE_TRAILER_LEN)) == -1)
		goto io;
	if (memcmp(trailer + 8, QUEUE_END, 4) != 0) {
		snprintf(why, whysz, "trailer missing");
		goto bad;
	}
	clen = get_be(trailer, 8);
	if (clen != size - QUEUE_HEADER_LEN - QUEUE_TRAILER_LEN - envlen) {
		snprintf(why, whysz, "content length %ju disagrees with file size %ju",
		    (uintmax_t)clen, (uintmax_t)size);
		goto bad;
	}
	envbuf = xmalloc(envlen > 0 ? envlen : 1);
	if (queue_read_at(fd, envbuf, envlen, QUEUE_HEADER_LEN) == -1)
		goto io;
	env = envelope_new();
	if (envelope_decode(envbuf, envlen, env, why, whysz) == -1)
		goto bad;
	if (strcmp(env->id, id) != 0) {
		snprintf(why, whysz, "queue id record %.*s differs from file name",
		    QUEUE_ID_LEN, env->id);
		goto bad;
	}
	/* Everything read back passes the same grammar as on the wire. */
	if (!envelope_ok(env)) {
		snprintf(why, whysz, "envelope field fails validation");
		goto bad;
	}
	env->content_size = clen;
	free(envbuf);
	*env_r = env;
	*off_r = (off_t)(QUEUE_HEADER_LEN + envlen);
	*len_r = clen;
	return 0;
io:
	/* A short read means the file shrank under us: invalid, not I/O. */
	if (errno == EBADMSG)
		snprintf(why, whysz, "file truncated while reading");
	free(envbuf);
	envelope_free(&env);
	return -1;
bad:
	free(envbuf);
	envelope_free(&env);
	errno = EBADMSG;
	return -1;
}

/*
 * queue_file_load - open and validate msg/XX/ID; on a validation failure
 * quarantine it and fail with EBADMSG. 0 with the open fd, or -1.
 */
static int
queue_file_load(const char *qdir, const char *id, struct envelope **env_r,
    int *fd_r, off_t *off_r, uint64_t *len_r)
{
	char why[200], *path;
	int fd, saved;

	if ((path = queue_path(qdir, id, false)) == NULL)
		return -1;
	/*
	 * O_NOFOLLOW: a symbolic link in the queue must not make us read (and
	 * deliver) some other file. O_NONBLOCK: a FIFO planted there must not
	 * hang us on open; fstat() then refuses anything but a regular file.
	 */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	free(path);
	if (fd == -1) {
		if (errno != ELOOP)
			return -1;
		snprintf(why, sizeof(why), "symbolic link");
		goto bad;
	}
	if (queue_file_check(fd, id, env_r, off_r, len_r, why, sizeof(why)) == -1) {
		saved = errno;
		close(fd);
		if (saved == EBADMSG)
			goto bad;
		errno = saved;
		return -1;
	}
	*fd_r = fd;
	return 0;
bad:
	(void)queue_quarantine(qdir, id, why);
	errno = EBADMSG;
	return -1;
}

/* queue_open - open and validate msg/XX/ID once; see queue.h */
int
queue_open(const char *qdir, const char *id, struct queue_msg *m)
{
	struct envelope *env = NULL;
	uint64_t len;
	off_t off;
	int fd, flags, saved;

	if (queue_file_load(qdir, id, &env, &fd, &off, &len) == -1)
		return -1;
	/* Back to blocking reads for the caller. */
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1 ||
	    lseek(fd, off, SEEK_SET) == (off_t)-1) {
		saved = errno;
		close(fd);
		envelope_free(&env);
		errno = saved;
		return -1;
	}
	m->env = env;
	m->fd = fd;
	m->content_off = off;
	m->content_len = len;
	return 0;
}

/* queue_msg_clear - close the file and free the envelope of m */
void
queue_msg_clear(struct queue_msg *m)
{
	/* The envelope says whether queue_open() filled m: a zeroed m has fd 0. */
	if (m->env == NULL)
		return;
	(void)close(m->fd);
	m->fd = -1;
	envelope_free(&m->env);
	m->content_off = 0;
	m->content_len = 0;
}

/* queue_read_envelope - queue_open() for the envelope only; see queue.h */
int
queue_read_envelope(const char *qdir, const char *id, struct envelope **env_r)
{
	uint64_t len;
	off_t off;
	int fd;

	if (queue_file_load(qdir, id, env_r, &fd, &off, &len) == -1)
		return -1;
	close(fd);
	return 0;
}

/* queue_open_content - queue_open() for the content only; see queue.h */
int
queue_open_content(const char *qdir, const char *id, int *fd_r, uint64_t *len_r)
{
	struct queue_msg m;

	if (queue_open(qdir, id, &m) == -1)
		return -1;
	envelope_free(&m.env);
	*fd_r = m.fd;
	*len_r = m.content_len;
	return 0;
}
