/*
 * fuzz_queue_journal - the per-recipient journal reader
 * (lib/mail/queue_journal.c). Input: one octet, the number of
 * recipients (1 to 64), then the bytes of msg/XX/ID.j in a scratch queue.
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

#define FUZZ_ID		"0123456789ABCDEF0123"
#define FUZZ_RCPT_MAX	64

static char *qdir, *jnl_path;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet("fuzz_queue_journal");
	qdir = xasprintf("%s/queue", fuzz_tmpdir());
	if (queue_init_dirs(qdir) < 0)
		log_panic("queue_init_dirs %s: %s", qdir, strerror(errno));
	jnl_path = queue_path(qdir, FUZZ_ID, true);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum journal_status st[FUZZ_RCPT_MAX + 1];
	size_t nrcpt, i;

	if (size < 1 || size > 1024 * 1024)
		return 0;
	nrcpt = (size_t)data[0] % FUZZ_RCPT_MAX + 1;
	fuzz_write(jnl_path, data + 1, size - 1);
	/* One guard entry past the end: the reader must not touch it. */
	st[nrcpt] = (enum journal_status)0x5a;
	if (queue_journal_read(qdir, FUZZ_ID, nrcpt, st) == 0)
		for (i = 0; i < nrcpt; i++)
			FUZZ_CHECK(st[i] >= JOURNAL_PENDING && st[i] <= JOURNAL_DELETED);
	else
		FUZZ_CHECK(errno == EBADMSG);
	FUZZ_CHECK(st[nrcpt] == (enum journal_status)0x5a);
	(void)unlink(jnl_path);
	return 0;
}
