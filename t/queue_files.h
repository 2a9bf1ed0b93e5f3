/*
 * queue_files.h - what the queue unit tests (queue_test,
 * queue_damage_test) share: a scratch queue, an envelope using every
 * field, a message committed with it, and files read, written and
 * counted below the queue directory.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_T_QUEUE_FILES_H
#define SLUICE_T_QUEUE_FILES_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/queue.h"

/* The scratch queue ($TMPDIR/PROG.XXXXXX) and its log (QDIR.log). */
extern char qdir[256];
extern char *logpath;

/* queue_files_setup - make qdir and send prog's log to logpath; no queue_init_dirs */
void queue_files_setup(const char *prog);

/* queue_files_done - remove qdir and the log; tap_done()'s exit code */
int queue_files_done(void);

/* count_entries - number of names in QDIR/sub other than . and ..; -1 if unreadable */
int count_entries(const char *sub);

/* slurp - read a whole file into a new buffer, its length in len_r; NULL on error */
unsigned char *slurp(const char *path, size_t *len_r);

/* spit - replace a file with len bytes; 0/-1 */
int spit(const char *path, const void *buf, size_t len);

/* exists - does QDIR/dir/name exist (as a name; links not followed)? */
bool exists(const char *dir, const char *name);

/* make_env - an envelope using every field (envelope_free) */
struct envelope *make_env(const char *sender);

/* commit_msg - write a message with the given content; 0/-1 */
int commit_msg(struct envelope *env, const char *content, size_t len);

#endif
