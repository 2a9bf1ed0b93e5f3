/*
 * disklimit - the disk's own commit rate, as a queue commits a message.
 *
 *	disklimit [-w WRITERS] [-t SECONDS] [-s SIZE] DIR
 *
 * Each of WRITERS processes (default 1) loops for SECONDS (default 2):
 * creates a file in DIR/incoming, writes SIZE bytes (default 4096),
 * fsync, close, renames it into one of 16 bucket directories DIR/b00..
 * DIR/b0f and fsyncs that directory: what smtpd does for each message
 * before its 250 (queue_file_commit). Prints one line:
 *
 *	writers N seconds S commits C rate R/s
 *
 * DIR must be on the filesystem of the queues being compared. The files
 * are removed at the end (not timed). bench/run compiles it with cc.
 * Exit (sysexits): 0; EX_USAGE; EX_CANTCREAT when a directory cannot be
 * made; EX_OSERR when fork or pipe fails; EX_IOERR on a failed write,
 * fsync or rename (the message names the file).
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define BUCKETS 16

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* writer - commit files until the deadline; the count, or -1 */
static long
writer(const char *dir, int w, double end, size_t size)
{
	char tmp[4200], final[4200], bucket[4200];
	unsigned b;
	char *buf;
	long n = 0;
	int fd, dfd;

	buf = malloc(size);
	if (buf == NULL)
		return -1;
	memset(buf, 'x', size);
	while (now() < end) {
		snprintf(tmp, sizeof(tmp), "%s/incoming/w%d.%ld", dir, w, n);
		b = (unsigned)((w + n) % BUCKETS);
		snprintf(bucket, sizeof(bucket), "%s/b%02x", dir, b);
		snprintf(
		    final, sizeof(final), "%s/b%02x/w%d.%ld", dir, b, w, n);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd == -1) {
			fprintf(stderr, "disklimit: %s: %s\n", tmp,
			    strerror(errno));
			return -1;
		}
		if (write(fd, buf, size) != (ssize_t)size || fsync(fd) == -1 ||
		    close(fd) == -1) {
			fprintf(stderr, "disklimit: %s: %s\n", tmp,
			    strerror(errno));
			return -1;
		}
		if (rename(tmp, final) == -1) {
			fprintf(stderr, "disklimit: rename %s %s: %s\n", tmp,
			    final, strerror(errno));
			return -1;
		}
		dfd = open(bucket, O_RDONLY | O_DIRECTORY);
		if (dfd == -1 || fsync(dfd) == -1) {
			fprintf(stderr, "disklimit: fsync %s: %s\n", bucket,
			    strerror(errno));
			return -1;
		}
		close(dfd);
		n++;
	}
	free(buf);
	return n;
}

/* cleanup - remove what the writers made (best effort) */
static void
cleanup(const char *dir, int writers, const long *counts)
{
	char path[4200];
	long n;
	int w, b;

	for (w = 0; w < writers; w++) {
		for (n = 0; n < counts[w]; n++) {
			snprintf(path, sizeof(path), "%s/b%02x/w%d.%ld", dir,
			    (unsigned)((w + n) % BUCKETS), w, n);
			unlink(path);
		}
		snprintf(path, sizeof(path), "%s/incoming/w%d.%ld", dir, w,
		    counts[w]);
		unlink(path);
	}
	for (b = 0; b < BUCKETS; b++) {
		snprintf(path, sizeof(path), "%s/b%02x", dir, (unsigned)b);
		rmdir(path);
	}
	snprintf(path, sizeof(path), "%s/incoming", dir);
	rmdir(path);
}

int
main(int argc, char **argv)
{
	int writers = 1, c, w, status, fds[2];
	double secs = 2, t0, el;
	size_t size = 4096;
	long *counts, total = 0;
	char path[4200];
	const char *dir;
	pid_t pid;

	while ((c = getopt(argc, argv, "w:t:s:")) != -1) {
		switch (c) {
		case 'w':
			writers = atoi(optarg);
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 's':
			size = strtoul(optarg, NULL, 10);
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || writers < 1 || writers > 1000 || secs <= 0 ||
	    size < 1)
		goto usage;
	dir = argv[optind];
	if (strlen(dir) > 4000) {
		fprintf(stderr, "disklimit: %s: path too long\n", dir);
		return EX_USAGE;
	}
	snprintf(path, sizeof(path), "%s/incoming", dir);
	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		fprintf(
		    stderr, "disklimit: mkdir %s: %s\n", path, strerror(errno));
		return EX_CANTCREAT;
	}
	for (w = 0; w < BUCKETS; w++) {
		snprintf(path, sizeof(path), "%s/b%02x", dir, (unsigned)w);
		if (mkdir(path, 0700) == -1 && errno != EEXIST) {
			fprintf(stderr, "disklimit: mkdir %s: %s\n", path,
			    strerror(errno));
			return EX_CANTCREAT;
		}
	}
	counts = calloc(writers, sizeof(*counts));
	if (counts == NULL || pipe(fds) == -1)
		return EX_OSERR;
	t0 = now();
	for (w = 0; w < writers; w++) {
		pid = fork();
		if (pid == -1)
			return EX_OSERR;
		if (pid == 0) {
			long n = writer(dir, w, t0 + secs, size);

			if (write(fds[1], &(long[2]){w, n}, 2 * sizeof(long)) <
			    0)
				_exit(EX_IOERR);
			_exit(n < 0 ? EX_IOERR : 0);
		}
	}
	close(fds[1]);
	for (w = 0; w < writers; w++) {
		long rec[2];

		if (read(fds[0], rec, sizeof(rec)) != sizeof(rec))
			break;
		if (rec[1] < 0 || rec[0] < 0 || rec[0] >= writers) {
			total = -1;
			continue;
		}
		counts[rec[0]] = rec[1];
		if (total >= 0)
			total += rec[1];
	}
	el = now() - t0;
	while (wait(&status) > 0)
		;
	cleanup(dir, writers, counts);
	if (total < 0)
		return EX_IOERR;
	printf("writers %d seconds %.2f commits %ld rate %.1f/s\n", writers, el,
	    total, total / el);
	return 0;
usage:
	fprintf(stderr,
	    "usage: disklimit [-w WRITERS] [-t SECONDS] [-s SIZE] DIR\n");
	return EX_USAGE;
}
