/*
 * fuzz_passwd - the customer credentials loader (lib/mail/passwd.c,
 * sluice-passwd(5)), and the CRAM-MD5 check against what it loaded.
 * The input is written as a passwd file and loaded. No crypt(3) runs: a
 * hash from the input could ask for any cost.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* lib/util */
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/passwd.h"

#include "t/fuzz/fuzz.h"

static char *path;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet("fuzz_passwd");
	path = xasprintf("%s/passwd", fuzz_tmpdir());
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors errs = { 0 };
	struct passwd_table *t = NULL;
	char *text, *line, *colon, *save = NULL;

	if (size > 64 * 1024)
		return 0;
	fuzz_write(path, data, size);
	if (passwd_load(path, &t, &errs) < 0) {
		FUZZ_CHECK(t == NULL && errs.n > 0);
		config_errors_clear(&errs);
		return 0;
	}
	config_errors_clear(&errs);
	/* Every login the file names is in the table (NUL ends a C line early). */
	text = fuzz_str(data, size);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((colon = strchr(line, ':')) == NULL || *line == '#')
			continue;
		*colon = '\0';
		if (!passwd_login_ok(line))
			continue;
		FUZZ_CHECK(passwd_has(t, line));
		(void)passwd_cram_verify(t, line, "<1.2@mx.example>",
		    "0123456789abcdef0123456789abcdef");
	}
	FUZZ_CHECK(passwd_count(t) <= size);
	free(text);
	passwd_table_free(&t);
	return 0;
}
