/*
 * fuzz_header - the Subject of a held message as the customer's list
 * shows it (lib/mail/header.c): found in the head of content from the
 * network, then decoded for display. Input: one byte of sizes, then the
 * head of a message's content.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* lib/mail */
#include "mail/header.h"

#include "t/fuzz/fuzz.h"

/*
 * shown_ok - is s valid UTF-8 without control characters (C0, DEL, C1),
 * of at most max characters? Written apart from header.c's own test.
 */
static bool
shown_ok(const unsigned char *s, size_t max)
{
	size_t chars = 0, len, i;
	unsigned cp;

	while (*s != '\0') {
		if (*s < 0x80) {
			if (*s < 0x20 || *s == 0x7f)
				return false;
			s++;
			chars++;
			continue;
		}
		if (*s >= 0xc2 && *s <= 0xdf)
			len = 2, cp = *s & 0x1f;
		else if (*s >= 0xe0 && *s <= 0xef)
			len = 3, cp = *s & 0x0f;
		else if (*s >= 0xf0 && *s <= 0xf4)
			len = 4, cp = *s & 0x07;
		else
			return false;
		for (i = 1; i < len; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
		    (cp >= 0x80 && cp <= 0x9f))
			return false;
		s += len;
		chars++;
	}
	/* The cut adds "..." after at most max characters. */
	return chars <= max + 3;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char raw[HEADER_SUBJECT_RAW_MAX + 1], *shown;
	size_t max, bufsize;
	int found;

	if (size < 1 || size > HEADER_HEAD_MAX + 1)
		return 0;
	/* Sizes from the first byte: the web's 80 is among them. */
	max = (size_t)(data[0] & 0x7f) + 1;
	bufsize = (size_t)(data[0] >> 7 ? 4 * max + 4 : data[0] % 64);
	data++;
	size--;
	/* No NUL in raw but header_subject's: an unended result overreads. */
	memset(raw, 'Z', sizeof(raw));
	found = header_subject((const char *)data, size, raw, sizeof(raw));
	FUZZ_CHECK(found == 0 || found == 1);
	FUZZ_CHECK(strlen(raw) < sizeof(raw));
	if (found == 0)
		FUZZ_CHECK(raw[0] == '\0');
	shown = malloc(bufsize > 0 ? bufsize : 1);
	if (shown == NULL)
		abort();
	if (bufsize > 0)
		memset(shown, 'Z', bufsize);
	header_display(raw, max, shown, bufsize);
	if (bufsize > 0) {
		FUZZ_CHECK(memchr(shown, '\0', bufsize) != NULL);
		FUZZ_CHECK(shown_ok((const unsigned char *)shown, max));
	}
	free(shown);
	return 0;
}
