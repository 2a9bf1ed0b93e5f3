/*
 * fuzz_sasl - the server side of SASL PLAIN, LOGIN and CRAM-MD5 and its
 * base64 (lib/mail/sasl.c), against a real passwd table.
 *
 * Input: one octet choosing the mechanism (low two bits) and whether the
 * AUTH command carries an initial response (bit 2), then the client's
 * lines separated by LF: the initial response if any, then one line per
 * challenge. The table holds logins with a fast MD5-crypt hash, so that
 * an input costs microseconds, not a yescrypt run.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <crypt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* lib/util */
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/passwd.h"
#include "mail/sasl.h"

#include "t/fuzz/fuzz.h"

/* At most this many exchange steps per input. */
#define FUZZ_SASL_STEPS	8

static struct passwd_table *pw;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct config_errors errs = { 0 };
	char *path, *cram, *text;
	const char *hash;

	fuzz_quiet("fuzz_sasl");
	/* "$1$" (MD5-crypt) is weak but quick; passwd.c takes any crypt(3) hash. */
	hash = crypt("secret", "$1$fuzzsalt$");
	if (hash == NULL || hash[0] != '$')
		log_panic("crypt of the test password failed");
	cram = passwd_cram_secret("secret");
	text = xasprintf("# fuzz_sasl\nalice:%s:%s\nbob:%s:\nlocked:*:%s\n",
	    hash, cram, hash, cram);
	path = xasprintf("%s/passwd", fuzz_tmpdir());
	fuzz_write(path, (const uint8_t *)text, strlen(text));
	if (passwd_load(path, &pw, &errs) < 0 || passwd_count(pw) != 3)
		log_panic("load %s: %s", path, errs.n > 0 ? errs.msg[0] : "count");
	config_errors_clear(&errs);
	free(path);
	free(text);
	free(cram);
	return 0;
}

/*
 * check_base64 - what decodes must encode and decode back to the same
 * octets. (Not to the same text: the decoder accepts non-zero bits after
 * the last octet, "Gq7=" as well as "Gq4=", which RFC 4648 3.5 allows.)
 */
static void
check_base64(const char *line)
{
	unsigned char *dec, *again;
	size_t len, len2;
	char *enc;

	if (sasl_base64_decode(line, &dec, &len) < 0)
		return;
	FUZZ_CHECK(len <= strlen(line) / 4 * 3 && dec[len] == '\0');
	enc = sasl_base64_encode(dec, len);
	FUZZ_CHECK(strlen(enc) == strlen(line));
	FUZZ_CHECK(sasl_base64_decode(enc, &again, &len2) == 0);
	FUZZ_CHECK(len2 == len && memcmp(again, dec, len) == 0);
	free(again);
	free(enc);
	free(dec);
}

/* next_line - the next LF-terminated line of the input (a new string), or NULL */
static char *
next_line(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nl;
	char *line;

	if (*p >= end)
		return NULL;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	if (nl == NULL)
		nl = end;
	line = fuzz_str(*p, (size_t)(nl - *p));
	*p = nl < end ? nl + 1 : end;
	return line;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum sasl_mech mechs[] = {
		SASL_MECH_PLAIN, SASL_MECH_LOGIN, SASL_MECH_CRAM_MD5, SASL_MECH_PLAIN,
	};
	const uint8_t *p = data + 1, *end = data + size;
	struct sasl *sasl = NULL;
	enum sasl_status st;
	char *line = NULL, *challenge = NULL;
	enum sasl_mech mech;
	int steps;

	if (size < 1 || size > 4 * SASL_LINE_MAX)
		return 0;
	/* The mechanism name as a client would send it, found again. */
	FUZZ_CHECK(sasl_mech_find(sasl_mech_name(mechs[data[0] & 3]), &mech));
	if (data[0] & 4)
		line = next_line(&p, end);
	if (line != NULL)
		check_base64(line);
	st = sasl_start(mech, line, "mx.example", pw, &sasl, &challenge);
	free(line);
	for (steps = 0; st == SASL_CONTINUE && steps < FUZZ_SASL_STEPS; steps++) {
		FUZZ_CHECK(challenge != NULL);
		check_base64(challenge);
		free(challenge);
		challenge = NULL;
		if ((line = next_line(&p, end)) == NULL)
			break;
		check_base64(line);
		st = sasl_step(sasl, line, pw, &challenge);
		free(line);
	}
	if (st == SASL_DONE)
		FUZZ_CHECK(sasl_user(sasl) != NULL && passwd_has(pw, sasl_user(sasl)));
	else if (st != SASL_CONTINUE)
		FUZZ_CHECK(challenge == NULL);
	free(challenge);
	sasl_free(&sasl);
	FUZZ_CHECK(sasl == NULL);
	return 0;
}
