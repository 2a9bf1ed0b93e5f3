/*
 * fuzz_util - helpers of the libFuzzer harnesses (t/fuzz/fuzz.h)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* lib/util */
#include "util/log.h"
#include "util/xmalloc.h"

#include "t/fuzz/fuzz.h"

static char *tmpdir;

void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
	abort();
}

/*
 * LLVMFuzzerInitialize - the set-up of a harness that needs none of its
 * own: quiet the log under the program's name. Weak, so that a harness
 * with state to prepare defines its own in its place.
 */
__attribute__((weak)) int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *slash = strrchr((*argv)[0], '/');

	fuzz_quiet(slash != NULL ? slash + 1 : (*argv)[0]);
	return 0;
}

void
fuzz_quiet(const char *progname)
{
	const char *v = getenv("FUZZ_LOG");

	log_init(progname);
	if (v != NULL && strcmp(v, "1") == 0)
		(void)log_set_dest(LOG_DEST_STDERR, NULL);
	else if (log_set_dest(LOG_DEST_FILE, "/dev/null") < 0)
		log_panic("log to /dev/null: %s", strerror(errno));
}

char *
fuzz_str(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);

	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* fuzz_cleanup - remove the scratch directory (atexit) */
static void
fuzz_cleanup(void)
{
	char *cmd;

	if (tmpdir == NULL)
		return;
	/* Only ever a mkdtemp() name of ours: nothing to quote. */
	cmd = xasprintf("rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz: could not remove %s\n", tmpdir);
	free(cmd);
}

const char *
fuzz_tmpdir(void)
{
	const char *base;

	if (tmpdir != NULL)
		return tmpdir;
	/* tmpfs when there is one: the queue harnesses fsync every input. */
	if ((base = getenv("FUZZ_TMPDIR")) == NULL || *base == '\0')
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	tmpdir = xasprintf("%s/sluice-fuzz.XXXXXX", base);
	if (mkdtemp(tmpdir) == NULL)
		log_panic("mkdtemp %s: %s", tmpdir, strerror(errno));
	atexit(fuzz_cleanup);
	return tmpdir;
}

void
fuzz_write(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t off = 0;

	if (fd < 0)
		log_panic("open %s: %s", path, strerror(errno));
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			log_panic("write %s: %s", path, strerror(errno));
		off += (size_t)n;
	}
	if (close(fd) < 0)
		log_panic("close %s: %s", path, strerror(errno));
}
