/*
 * fuzz_quota_file - the usage file qmgr writes and smtpd reads
 * (lib/mail/quota.c, QUEUE_DIR/private/quota). Input: the file's bytes.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* lib/mail */
#include "mail/quota.h"

#include "t/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct quota_file *f = NULL;
	struct quota_usage u;
	char *err = NULL;

	if (size > 64 * 1024)
		return 0;
	if (quota_file_parse((const char *)data, size, &f, &err) < 0) {
		/* A refusal says where: "line N: why". */
		FUZZ_CHECK(
		    f == NULL && err != NULL && strncmp(err, "line ", 5) == 0);
		free(err);
		return 0;
	}
	FUZZ_CHECK(f != NULL && err == NULL && quota_file_pid(f) > 0);
	/* Whatever it read, the lookups stay in bounds. */
	(void)quota_file_get(f, "a.example", &u);
	(void)quota_file_has_indexed(f, "0123456789ABCDEF0123");
	quota_file_free(&f);
	return 0;
}
