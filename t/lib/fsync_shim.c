/*
 * fsync_shim - an LD_PRELOAD library that makes the queue's fsyncs
 * misbehave on cue, for t/17-smtpd-commit.t.
 *
 * It acts only on fsync() of a file under incoming/ (a message being
 * committed) and of a bucket directory msg/XX, and only in a process
 * whose environment names a cue directory in SLUICE_FSYNC_SHIM. There
 * the test creates or removes files to say what the next fsyncs do:
 *
 *	fail-file	an incoming/ file's fsync fails with EIO
 *	fail-dir	a msg/XX fsync fails with EIO
 *	block		an incoming/ file's fsync waits until "block" is
 *			removed; the file "blocked" exists meanwhile
 *	hold		an incoming/ file's fsync waits until as many are in
 *			flight at once as "hold" says (a number; at most 60 s)
 *
 * and it writes what happened, for the test to read:
 *
 *	count-file, count-dir	fsyncs of each kind so far (a number)
 *	max-inflight		most incoming/ fsyncs in flight at once
 *
 * Every fsync still reaches the kernel unless it is made to fail: the
 * shim changes timing and results, never durability.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static unsigned inflight, max_inflight, count_file, count_dir;

/* cue - does DIR/name exist? Its first number in *n_r if asked */
static int
cue(const char *dir, const char *name, unsigned *n_r)
{
	char path[4096];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n_r == NULL)
		return access(path, F_OK) == 0;
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	ok = fscanf(f, "%u", n_r) == 1;
	fclose(f);
	return ok;
}

/* note - write DIR/name with the number n (replaced whole) */
static void
note(const char *dir, const char *name, unsigned n)
{
	char path[4096], tmp[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.%d", dir, name, (int)getpid());
	if ((f = fopen(tmp, "w")) == NULL)
		return;
	fprintf(f, "%u\n", n);
	if (fclose(f) == 0)
		(void)rename(tmp, path);
}

/* kind - 1 for a file under incoming/, 2 for a msg/XX directory, else 0 */
static int
kind(int fd)
{
	char link[64], path[4096];
	ssize_t n;
	size_t len;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) <= 0)
		return 0;
	path[n] = '\0';
	len = (size_t)n;
	if (strstr(path, "/incoming/") != NULL)
		return 1;
	if (len > 7 && memcmp(path + len - 7, "/msg/", 5) == 0)
		return 2;
	return 0;
}

int
fsync(int fd)
{
	static int (*real_fsync)(int);
	const char *dir = getenv("SLUICE_FSYNC_SHIM");
	struct timespec until;
	unsigned want = 0;
	int k, rc;

	if (real_fsync == NULL)
		real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	if (dir == NULL || (k = kind(fd)) == 0)
		return real_fsync(fd);
	pthread_mutex_lock(&mu);
	if (k == 2) {
		note(dir, "count-dir", ++count_dir);
		pthread_mutex_unlock(&mu);
		if (cue(dir, "fail-dir", NULL)) {
			errno = EIO;
			return -1;
		}
		return real_fsync(fd);
	}
	note(dir, "count-file", ++count_file);
	if (++inflight > max_inflight) {
		max_inflight = inflight;
		note(dir, "max-inflight", max_inflight);
	}
	pthread_cond_broadcast(&cv);
	if (cue(dir, "hold", &want)) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 60;
		while (max_inflight < want &&
		       pthread_cond_timedwait(&cv, &mu, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&mu);
	if (cue(dir, "block", NULL)) {
		note(dir, "blocked", 1);
		while (cue(dir, "block", NULL))
			usleep(10000);
	}
	if (cue(dir, "fail-file", NULL)) {
		errno = EIO;
		rc = -1;
	} else
		rc = real_fsync(fd);
	pthread_mutex_lock(&mu);
	inflight--;
	pthread_mutex_unlock(&mu);
	return rc;
}
