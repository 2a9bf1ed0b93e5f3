/*
 * queue_int - helpers shared by the queue_*.c files; not for other modules.
 *
 * The queue module is split over queue.c (IDs, envelopes, layout, scan),
 * queue_file.c (the writer and the reader of one message) and
 * queue_journal.c (per-recipient journals). Everything else includes only
 * mail/queue.h.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_QUEUE_INT_H
#define SLUICE_QUEUE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Bounds on what a reader will believe before it allocates anything. */
#define QUEUE_ENVELOPE_MAX	(16u * 1024 * 1024)
#define QUEUE_JOURNAL_MAX	(16u * 1024 * 1024)

/* queue_bucket_path - new string "QDIR/msg/XX" for a valid id */
char *queue_bucket_path(const char *qdir, const char *id);
/* queue_dir_fsync - make a directory's entries durable; 0/-1 with errno */
int queue_dir_fsync(const char *path);
/* queue_write_all - write len bytes, retrying short writes and EINTR; 0/-1 */
int queue_write_all(int fd, const void *buf, size_t len);
/* queue_read_at - read exactly len bytes at off; -1 with EBADMSG if short */
int queue_read_at(int fd, void *buf, size_t len, off_t off);
/* queue_rename_noreplace - rename that refuses to replace an existing name */
int queue_rename_noreplace(const char *from, const char *to);
/* queue_journal_orphan - is name "ID.j" with no message ID beside it in directory dfd? */
bool queue_journal_orphan(int dfd, const char *name);

#endif
