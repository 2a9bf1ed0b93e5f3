/*
 * quota - per-domain caps on held mail (max_messages=, max_bytes=):
 * the arithmetic, the notice levels, and the shared usage file.
 *
 * A domain's usage is what the queue index holds for it: one message per
 * (message, domain) entry, and the sum of those messages' sizes. qmgr
 * owns the index, so qmgr computes the usage of every capped domain and
 * writes it to QUEUE_DIR/private/quota (quota_file_write): smtpd reads
 * that file when it changed (quota_file_read), never asking qmgr in its
 * event loop, and adds what it accepted itself that the file does not
 * show yet (the file names the messages qmgr indexed last).
 *
 * The file, text, one record per line, written whole and renamed:
 *
 *	qmgr PID EPOCH
 *	domain NAME MESSAGES BYTES	(one per capped domain)
 *	indexed ID			(the last QUOTA_RECENT_MAX messages
 *					 qmgr indexed for capped domains)
 *
 * Notices: a domain with notify= hears once when it passes
 * QUOTA_NEAR_PCT of either cap, and once when it is full; the first is
 * re-armed when both figures drop below QUOTA_REARM_PCT, the second when
 * the domain is below both caps again (quota_notify_step).
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_MAIL_QUOTA_H
#define SLUICE_MAIL_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct domain;

#define QUOTA_FILE		"private/quota"
#define QUOTA_NOTIFIED_FILE	"private/quota-notified"
/* The "near" notice, and the level below which it is re-armed (percent). */
#define QUOTA_NEAR_PCT		80
#define QUOTA_REARM_PCT		70
/* Message IDs the file names as recently indexed. */
#define QUOTA_RECENT_MAX	256
/* Longest line of either file. */
#define QUOTA_LINE_MAX		512
/* The largest of these files read back (the domains and recent IDs, with room). */
#define QUOTA_FILE_MAX		(16 * 1024 * 1024)

/* What the index holds for a domain. */
struct quota_usage {
	uint64_t messages;
	uint64_t bytes;
};

/* Why a message is refused. */
enum quota_verdict {
	QUOTA_OK = 0,
	QUOTA_MESSAGES,		/* max_messages reached */
	QUOTA_BYTES,		/* max_bytes would be passed */
};

/* How far a domain is filled, and which notice it had. */
enum quota_level {
	QUOTA_LEVEL_NONE = 0,
	QUOTA_LEVEL_NEAR,	/* QUOTA_NEAR_PCT of a cap or more */
	QUOTA_LEVEL_FULL,	/* a cap reached */
};

/* quota_capped - has d a cap at all (max_messages= or max_bytes=)? */
bool quota_capped(const struct domain *d);
/*
 * quota_usage_add - add to u, stopping at UINT64_MAX: figures read back
 * from a file or added from several sources never wrap to a small sum.
 */
void quota_usage_add(struct quota_usage *u, uint64_t messages, uint64_t bytes);

/*
 * quota_check - may a message of size bytes (0: not known yet) for d be
 * accepted while d holds u? QUOTA_MESSAGES when u has max_messages
 * already, QUOTA_BYTES when u's bytes plus size pass max_bytes (or u
 * holds max_bytes already).
 */
enum quota_verdict quota_check(const struct domain *d, const struct quota_usage *u,
    uint64_t size);

/*
 * quota_reason - "DOMAIN holds N messages (limit N)" or "... N bytes
 * (limit N)" for a refusal v, into buf
 */
void quota_reason(const struct domain *d, const struct quota_usage *u,
    enum quota_verdict v, char *buf, size_t size);

/* quota_level - how full d is at u */
enum quota_level quota_level(const struct domain *d, const struct quota_usage *u);

/*
 * quota_notify_step - d holds u and last had the notice *notified: the
 * notice to send now (QUOTA_LEVEL_NONE: none), and *notified updated
 * (re-armed when u dropped back). A domain that jumps from nothing to
 * full gets the full notice alone.
 */
enum quota_level quota_notify_step(const struct domain *d, const struct quota_usage *u,
    enum quota_level *notified);

/*
 * quota_text - "N of M messages, X of Y bytes" for a customer (finger,
 * the web page); a figure without a cap is "N messages" or "X bytes"
 */
void quota_text(uint64_t messages, uint64_t max_messages, uint64_t bytes, uint64_t max_bytes,
    char *buf, size_t size);

/* quota_level_name - "none", "near" or "full"; quota_level_parse its inverse */
const char *quota_level_name(enum quota_level l);
bool quota_level_parse(const char *word, enum quota_level *l_r);

/* The usage file as read back (quota_file_read). */
struct quota_file;

/* quota_file_new - an empty one, for qmgr to fill and write */
struct quota_file *quota_file_new(void);
/* quota_file_free - free it and NULL *fp */
void quota_file_free(struct quota_file **fp);
/* quota_file_set - the usage of domain name (lowercase) */
void quota_file_set(struct quota_file *f, const char *name, const struct quota_usage *u);
/* quota_file_clear - forget every domain's usage (the indexed IDs stay) */
void quota_file_clear(struct quota_file *f);
/* quota_file_get - the usage of name: true, or false if the file has none */
bool quota_file_get(const struct quota_file *f, const char *name, struct quota_usage *u_r);
/* quota_file_indexed - qmgr indexed message id (kept among the last QUOTA_RECENT_MAX) */
void quota_file_indexed(struct quota_file *f, const char *id);
/* quota_file_has_indexed - does f name id as indexed? */
bool quota_file_has_indexed(const struct quota_file *f, const char *id);
/* quota_file_pid - the pid of the qmgr that wrote f (0 for a new one) */
pid_t quota_file_pid(const struct quota_file *f);
/*
 * quota_file_write - write f as qmgr pid at now to QDIR/QUOTA_FILE
 * (a temporary file, then rename); 0/-1 with errno
 */
int quota_file_write(const char *qdir, const struct quota_file *f, pid_t pid, time_t now);
/*
 * quota_file_parse - the file's text (len bytes): 0 with a new *f_r, or
 * -1 with "line N: why" in *err_r (new string). Every field is checked
 * (domain grammar, queue ID grammar, numbers).
 */
int quota_file_parse(const char *text, size_t len, struct quota_file **f_r, char **err_r);
/*
 * quota_file_read - read QDIR/QUOTA_FILE: 1 with a new *f_r, 0 when there
 * is none (no qmgr has written it), -1 with errno or EBADMSG (then a
 * "why" in *err_r).
 */
int quota_file_read(const char *qdir, struct quota_file **f_r, char **err_r);
/*
 * quota_private_open - open path, a file qmgr writes in private/, for
 * reading: a descriptor, or -1 with errno (ENOENT: there is none), and
 * for a file that is no such file (a symbolic link, a FIFO or other
 * non-regular file, another owner than this process's user, writable
 * by group or others, larger than QUOTA_FILE_MAX) errno EBADMSG and
 * why, with the fix, in *err_r (new string). Never blocks.
 */
int quota_private_open(const char *path, char **err_r);

#endif
