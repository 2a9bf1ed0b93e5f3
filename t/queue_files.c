/*
 * queue_files - what the queue unit tests share (see queue_files.h)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

/* System. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Layer 1: util. */
#include "util/log.h"
#include "util/xmalloc.h"

/* Tests. */
#include "t/queue_files.h"
#include "t/tap.h"
#include "t/testutil.h"

char qdir[256];
char *logpath;

/* queue_files_setup - make qdir and send prog's log to logpath; no queue_init_dirs */
void
queue_files_setup(const char *prog)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(qdir, sizeof(qdir), "%s/%s.XXXXXX",
	    tmp != NULL && *tmp ? tmp : "/tmp", prog);
	test_tmpdir(qdir);
	logpath = test_log(qdir, prog);
}

/* queue_files_done - remove qdir and the log; tap_done()'s exit code */
int
queue_files_done(void)
{
	test_queue_done(qdir, &logpath);
	return tap_done();
}

/* count_entries - number of names in a directory other than . and .. */
int
count_entries(const char *sub)
{
	char path[512];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", qdir, sub);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* slurp - read a whole file into a new buffer */
unsigned char *
slurp(const char *path, size_t *len_r)
{
	unsigned char *buf;
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1)
		return NULL;
	buf = xmalloc((size_t)st.st_size + 1);
	if (read(fd, buf, (size_t)st.st_size) != st.st_size) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	*len_r = (size_t)st.st_size;
	return buf;
}

/* spit - replace a file with len bytes */
int
spit(const char *path, const void *buf, size_t len)
{
	int fd, rc = 0;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		return -1;
	if (write(fd, buf, len) != (ssize_t)len)
		rc = -1;
	close(fd);
	return rc;
}

/* exists - does QDIR/dir/name exist (as a name; links not followed)? */
bool
exists(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s/%s", qdir, dir, name);
	return lstat(path, &st) == 0;
}

/* make_env - an envelope using every field */
struct envelope *
make_env(const char *sender)
{
	struct envelope *env = test_envelope(sender);

	envelope_add_rcpt(env, "j\xc3\xbcrgen@site.example", "rfc822;j+FCrgen@site.example",
	    DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE);
	envelope_add_rcpt(env, "bob@site.example", NULL, 0);
	envelope_add_rcpt(env, "\"odd user\"@[127.0.0.1]", NULL, DSN_NOTIFY_NEVER);
	return env;
}

/* commit_msg - write a message with the given content; 0/-1 */
int
commit_msg(struct envelope *env, const char *content, size_t len)
{
	struct queue_file *qf;

	if ((qf = queue_file_create(qdir, env)) == NULL)
		return -1;
	if (queue_file_write(qf, content, len) == -1) {
		queue_file_abort(&qf);
		return -1;
	}
	return queue_file_commit(&qf);
}
