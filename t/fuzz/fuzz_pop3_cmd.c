/*
 * fuzz_pop3_cmd - the POP3 command parser (pop3_cmd_parse, RFC 1939
 * section 3) through pop3's convenience library. Input: one command
 * line without its CRLF.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* the program (its convenience library, STYLE rule 3) */
#include "pop3/pop3.h"

#include "t/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pop3_cmd cmd;
	size_t i, j;

	if (size > 4096)
		return 0;
	if (pop3_cmd_parse((const char *)data, size, &cmd) < 0)
		return 0;
	/* What an accepted line promises the command table. */
	FUZZ_CHECK(size <= POP3_LINE_MAX);
	FUZZ_CHECK(strlen(cmd.verb) == 3 || strlen(cmd.verb) == 4);
	for (i = 0; cmd.verb[i] != '\0'; i++)
		FUZZ_CHECK(cmd.verb[i] >= 'A' && cmd.verb[i] <= 'Z');
	FUZZ_CHECK(cmd.narg <= 3);
	FUZZ_CHECK(strlen(cmd.rest) < size || size == 0);
	/* narg 3 marks a line no fixed-argument command takes: no promise. */
	for (i = 0; cmd.narg <= 2 && i < cmd.narg; i++) {
		const char *a = cmd.arg[i];

		FUZZ_CHECK(
		    a != NULL && *a != '\0' && strlen(a) <= POP3_ARG_MAX);
		FUZZ_CHECK(a >= cmd.args && a < cmd.args + sizeof(cmd.args));
		for (j = 0; a[j] != '\0'; j++)
			FUZZ_CHECK((unsigned char)a[j] >= 0x21 &&
			           (unsigned char)a[j] <= 0x7e);
	}
	return 0;
}
