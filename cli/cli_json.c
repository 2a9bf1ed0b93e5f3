/*
 * cli_json - JSON strings for the machine-readable listings
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli/cli.h"

/*
 * cli_utf8_len - the length of the valid UTF-8 sequence at s, or 0.
 * Overlong forms, surrogates and code points past U+10FFFF are invalid:
 * JSON readers reject them, and a queue may hold any byte an SMTP client
 * sent.
 */
static size_t
cli_utf8_len(const unsigned char *s)
{
	unsigned long cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	/* The NUL terminator fails the continuation test, so no overrun. */
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* cli_json_string - write s as a JSON string; invalid UTF-8 becomes U+FFFD */
void
cli_json_string(FILE *fp, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	size_t len;

	putc('"', fp);
	while (*p != '\0') {
		switch (*p) {
		case '"':
			fputs("\\\"", fp);
			break;
		case '\\':
			fputs("\\\\", fp);
			break;
		case '\n':
			fputs("\\n", fp);
			break;
		case '\r':
			fputs("\\r", fp);
			break;
		case '\t':
			fputs("\\t", fp);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				fprintf(fp, "\\u%04x", *p);
				break;
			}
			len = cli_utf8_len(p);
			if (len == 0) {
				fputs("\\ufffd", fp);
				break;
			}
			fwrite(p, 1, len, fp);
			p += len;
			continue;
		}
		p++;
	}
	putc('"', fp);
}

/* cli_json_key - write "name": preceded by a comma unless first */
void
cli_json_key(FILE *fp, const char *name, bool first)
{
	if (!first)
		putc(',', fp);
	cli_json_string(fp, name);
	putc(':', fp);
}
