/*
 * queue - the message queue on disk: the files are the truth.
 *
 * Layout under queue_directory:
 *
 *	incoming/ID	being received; only garbage after a crash (purged at start)
 *	msg/XX/ID	committed message; XX = last two characters of ID
 *	msg/XX/ID.j	journal: one appended record per finished recipient
 *	corrupt/	files that failed validation; kept for a human, never deleted
 *	index/		Berkeley DB environment (lib/mail/qindex.h); rebuildable
 *	private/	internal sockets (0700)
 *	public/		control socket for the CLI (0711)
 *	pid/		master.pid, flock()ed by the running master
 *	hold/ID		an empty file per message on operator hold
 *
 * Queue file format (all integers big-endian):
 *
 *	header   "SLUICEQ\n" (8) | u32 version (1) | u32 envelope length
 *	envelope records: u8 type | u32 length | bytes     (see queue.c)
 *	content  the message as received, CRLF lines, dot-unstuffed,
 *	         with our Received: header first
 *	trailer  u64 content length | "END\n"
 *
 * A file is valid only if every length agrees with the file size and the
 * trailer is present: a partial write can never pass for a message.
 *
 * State diagram of one message (the durability protocol, in this order;
 * any failure before step 5 leaves nothing behind and makes smtpd answer
 * 451/452, or 552 for size):
 *
 *	1 queue_file_create()	open incoming/ID O_CREAT|O_EXCL|O_NOFOLLOW 0600,
 *				write header and envelope
 *	2 queue_file_write()	append content (buffered; ENOSPC reported)
 *	3 queue_file_commit()	trailer, flush, fsync, close (each checked),
 *				rename to msg/XX/ID, fsync msg/XX (smtpd runs
 *				the waiting part in a worker thread, below)
 *	4 (caller)		tell qmgr (best effort: qmgr also finds it at start)
 *	5 (caller)		reply 250 with the queue ID
 *	6 queue_journal_append() per finished recipient, fsync'd
 *	7 queue_remove()	unlink ID and ID.j, fsync msg/XX (or
 *				queue_unlink() now and queue_bucket_sync() of
 *				msg/XX shortly after, for many messages at once)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_QUEUE_H
#define SLUICE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* 13 hex digits of microseconds since the epoch + 7 random hex digits. */
#define QUEUE_ID_LEN	20
#define QUEUE_FORMAT_VERSION 1

/* DSN NOTIFY bits (RFC 3461); 0 means "not given" (default: FAILURE). */
#define DSN_NOTIFY_NEVER	0x1u
#define DSN_NOTIFY_SUCCESS	0x2u
#define DSN_NOTIFY_FAILURE	0x4u
#define DSN_NOTIFY_DELAY	0x8u

enum dsn_ret {
	DSN_RET_UNSET = 0,
	DSN_RET_FULL,
	DSN_RET_HDRS,
};

struct envelope_rcpt {
	char *addr;		/* mailbox, passes address_mailbox_ok() */
	char *orcpt;		/* DSN ORCPT as given ("rfc822;x@y"), or NULL */
	unsigned notify;	/* DSN_NOTIFY_* bits */
};

struct envelope {
	char id[QUEUE_ID_LEN + 1];
	time_t arrival;
	char *sender;		/* "" is the null sender */
	char *envid;		/* DSN ENVID (xtext-decoded) or NULL */
	enum dsn_ret ret;
	char *client_name;	/* reverse name or "unknown" */
	char *client_addr;	/* numeric address */
	char *helo;		/* EHLO/HELO argument, or NULL */
	char *protocol;		/* SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA, LOCAL */
	char *auth_user;	/* SASL user, or NULL */
	size_t nrcpt;
	struct envelope_rcpt *rcpt;
	uint64_t content_size;	/* filled in by the reader */
};

/* queue_id_ok - is id exactly QUEUE_ID_LEN uppercase hex digits? */
bool queue_id_ok(const char *id);
/* queue_id_new - a fresh ID (time + getrandom) */
void queue_id_new(char id_r[QUEUE_ID_LEN + 1]);

/* envelope_new - an empty envelope; envelope_add_rcpt copies its arguments */
struct envelope *envelope_new(void);
void envelope_add_rcpt(struct envelope *env, const char *addr, const char *orcpt, unsigned notify);
void envelope_free(struct envelope **envp);
/* envelope_ok - every field passes its grammar (addresses, IDs, lengths) */
bool envelope_ok(const struct envelope *env);

/* queue_path - new string "QDIR/msg/XX/ID" (or the journal with ".j") */
char *queue_path(const char *qdir, const char *id, bool journal);
/*
 * queue_gone - is message id no longer in msg/ (ENOENT)? False when it is
 * there or when that cannot be told: a name seen a moment ago may have
 * been delivered and removed since (the watch, the reconcile's walk).
 */
bool queue_gone(const char *qdir, const char *id);
/* queue_init_dirs - create the layout above with safe modes; 0/-1 (errno) */
int queue_init_dirs(const char *qdir);

struct queue_file;
/* queue_file_create - step 1; fills env->id; NULL with errno */
struct queue_file *queue_file_create(const char *qdir, struct envelope *env);
/* queue_file_write - step 2; 0/-1 with errno (ENOSPC, EFBIG past max_size) */
int queue_file_write(struct queue_file *qf, const void *buf, size_t len);
/* queue_file_set_max_size - content past max bytes fails with EFBIG; 0 = no limit */
void queue_file_set_max_size(struct queue_file *qf, uint64_t max);
/* queue_file_size - content bytes written so far */
uint64_t queue_file_size(const struct queue_file *qf);
/* queue_file_commit - step 3; frees *qfp; 0, or -1 with errno and nothing left behind */
int queue_file_commit(struct queue_file **qfp);
/* queue_file_abort - unlink the temporary file, free *qfp */
void queue_file_abort(struct queue_file **qfp);
/*
 * Step 3 in two parts, for a server that must not wait on the disk in its
 * event loop (smtpd: util/workq.h). In order:
 *   queue_file_commit_begin(qf)	in the loop: trailer, flush; 0, or -1
 *					with errno (then queue_file_abort)
 *   queue_file_commit_sync(qf)	in any one thread, system calls only:
 *					fsync, close, rename, fsync msg/XX; 0,
 *					or -1 with errno and nothing left behind
 *   queue_file_commit_end(&qf)	in the loop: free, whatever sync said
 * Only a 0 from the sync allows the 250. queue_file_abort() is safe
 * between begin and sync (nothing committed yet).
 */
int queue_file_commit_begin(struct queue_file *qf);
int queue_file_commit_sync(struct queue_file *qf);
void queue_file_commit_end(struct queue_file **qfp);

/* One committed message, opened and validated once (queue_open). */
struct queue_msg {
	struct envelope *env;
	int fd;			/* blocking reads, positioned at the content */
	off_t content_off;	/* where the content starts in the file */
	uint64_t content_len;	/* content bytes from there */
};

/*
 * queue_open - open msg/XX/ID and validate it in full (header, every
 * envelope record through envelope_ok(), content length, trailer), once:
 * *m gets the envelope and the open file at its content. 0 on success;
 * -1 with errno ENOENT (no such message) or EBADMSG (the file failed
 * validation: it has been moved to corrupt/ and logged), *m untouched.
 * A reader that needs the envelope and the content (an agent's job)
 * calls this once, never the two functions below one after the other.
 */
int queue_open(const char *qdir, const char *id, struct queue_msg *m);
/* queue_msg_clear - close and free what queue_open() put in m; a zeroed m is left alone */
void queue_msg_clear(struct queue_msg *m);
/* queue_read_envelope - queue_open() for the envelope only; 0/-1 as there */
int queue_read_envelope(const char *qdir, const char *id, struct envelope **env_r);
/* queue_open_content - queue_open() for the content only: the fd and *len_r bytes; 0/-1 */
int queue_open_content(const char *qdir, const char *id, int *fd_r, uint64_t *len_r);
/* queue_remove - step 7: unlink message and journal, fsync the directory; 0/-1 */
int queue_remove(const char *qdir, const char *id);
/*
 * queue_unlink - step 7 without its commit: unlink message and journal
 * (and a hold marker). The removal is durable only after the caller's
 * queue_bucket_sync() of the ID's bucket (the last two characters of the
 * ID); until then a crash of the machine (not of a process: the kernel
 * has the unlink) may bring the message back, to be delivered again.
 * qmgr batches those fsyncs (qmgr_sync.c). 0/-1
 */
int queue_unlink(const char *qdir, const char *id);
/* queue_bucket_sync - fsync msg/XX, bucket being XX (two of an ID's hex digits); 0/-1 */
int queue_bucket_sync(const char *qdir, const char *bucket);
/* queue_quarantine - move message (and journal) to corrupt/ with a log line; 0/-1 */
int queue_quarantine(const char *qdir, const char *id, const char *why);

/* queue_hold_set - put (on) or take (off) an operator hold on id; 0/-1 */
int queue_hold_set(const char *qdir, const char *id, bool on);
/* queue_hold_get - is id on operator hold? */
bool queue_hold_get(const char *qdir, const char *id);

/* queue_scan - call fn for every committed message ID; stops early if fn returns -1 */
int queue_scan(const char *qdir, int (*fn)(const char *id, void *ctx), void *ctx);

#define QUEUE_BUCKETS	256	/* msg/00 .. msg/FF */
/* What queue_scan_changed saw last: each bucket's modification time. */
struct queue_scan_state {
	struct timespec mtime[QUEUE_BUCKETS];
};
/*
 * queue_scan_changed - call fn for every message ID in the buckets that
 * changed since the last call with st (zeroed at first: all of them),
 * once the message has been there a couple of seconds (a later call
 * passes the younger ones). Cheap when nothing changed: one stat per
 * bucket. 0/-1 (errno).
 */
int queue_scan_changed(const char *qdir, struct queue_scan_state *st,
    int (*fn)(const char *id, void *ctx), void *ctx);
/* queue_remove_orphan_journals - unlink every ID.j whose ID is gone, each logged; count or -1 */
int queue_remove_orphan_journals(const char *qdir);

/*
 * A walk over msg/ that the caller takes a step at a time (qmgr's
 * reconcile runs in its event loop): one bucket directory is open at a
 * time, and memory stays flat however large the queue. On its way it
 * removes every journal whose message is gone (each logged, the bucket
 * fsynced). A message committed or removed during the walk may or may
 * not be returned; one that stays put is returned once.
 *
 * queue_walk_open - a walk from msg/00
 * queue_walk_next - the next message ID into id_r: 1, 0 at the end, or
 *	-1 (errno) when a bucket could not be read (the next call goes on
 *	with the next bucket)
 * queue_walk_buckets_done - buckets read to the end so far (of QUEUE_BUCKETS)
 * queue_walk_orphans - journals removed so far
 * queue_walk_close - close what is open and free the walk; NULLs *wp
 */
struct queue_walk;
struct queue_walk *queue_walk_open(const char *qdir);
int queue_walk_next(struct queue_walk *w, char id_r[QUEUE_ID_LEN + 1]);
unsigned queue_walk_buckets_done(const struct queue_walk *w);
size_t queue_walk_orphans(const struct queue_walk *w);
void queue_walk_close(struct queue_walk **wp);
/* queue_purge_incoming - remove everything in incoming/; count removed, or -1 */
int queue_purge_incoming(const char *qdir);
/* queue_space_ok - is there room for need bytes above the floor of minfree bytes? */
bool queue_space_ok(const char *qdir, uint64_t need, uint64_t minfree);

/* Journal: what happened to each recipient, so no state lives only in the index. */
enum journal_status {
	JOURNAL_PENDING = 0,	/* no record: still to do */
	JOURNAL_DONE,		/* delivered (remote 2xx) */
	JOURNAL_BOUNCED,	/* returned to sender (5xx, or queue bounce) */
	JOURNAL_EXPIRED,	/* lifetime ran out; returned to sender */
	JOURNAL_DELETED,	/* removed by the operator */
};
/* queue_journal_append - record rcpt index's fate, fsync'd; 0/-1 */
int queue_journal_append(const char *qdir, const char *id, size_t rcpt, enum journal_status st);
/*
 * queue_journal_read - fill status_r[0..nrcpt-1] from ID.j (JOURNAL_PENDING
 * where no record). A torn last record (crash mid-append) is ignored; any
 * other damage returns -1 with EBADMSG. A missing journal is all pending.
 */
int queue_journal_read(const char *qdir, const char *id, size_t nrcpt, enum journal_status *status_r);

#endif
