/*
 * fuzz_queue_file - the queue file reader (lib/mail/queue_file.c): the
 * input is written as msg/XX/ID of a scratch queue and read back as
 * qmgr, deliver and the CLI read it, with queue_read_envelope() and
 * queue_open_content(). A file that fails is quarantined to corrupt/,
 * which is emptied again before the next input.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* lib/util */
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/queue.h"

#include "t/fuzz/fuzz.h"

#define FUZZ_ID	"0123456789ABCDEF0123"

static char *qdir, *msg_path, *corrupt_path;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet("fuzz_queue_file");
	qdir = xasprintf("%s/queue", fuzz_tmpdir());
	if (queue_init_dirs(qdir) < 0)
		log_panic("queue_init_dirs %s: %s", qdir, strerror(errno));
	msg_path = queue_path(qdir, FUZZ_ID, false);
	corrupt_path = xasprintf("%s/corrupt/%s", qdir, FUZZ_ID);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope *env = NULL;
	uint64_t len;
	int fd;

	if (size > 1024 * 1024)
		return 0;
	fuzz_write(msg_path, data, size);
	if (queue_read_envelope(qdir, FUZZ_ID, &env) == 0) {
		FUZZ_CHECK(envelope_ok(env));
		FUZZ_CHECK(strcmp(env->id, FUZZ_ID) == 0);
		FUZZ_CHECK(env->content_size <= size);
		if (queue_open_content(qdir, FUZZ_ID, &fd, &len) == 0) {
			FUZZ_CHECK(len == env->content_size);
			close(fd);
		}
		envelope_free(&env);
	} else {
		FUZZ_CHECK(env == NULL && errno == EBADMSG);
		FUZZ_CHECK(access(msg_path, F_OK) < 0);
	}
	(void)unlink(msg_path);
	(void)unlink(corrupt_path);
	return 0;
}
