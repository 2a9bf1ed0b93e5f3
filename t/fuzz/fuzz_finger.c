/*
 * fuzz_finger - fingerd's query line (RFC 1288) and the answer built
 * from it, through fingerd's convenience library. Input: the query line.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* lib/mail */
#include "mail/address.h"
/* fingerd (its convenience library, STYLE rule 3) */
#include "fingerd/fingerd.h"

#include "t/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct finger_query q;
	struct finger_status fs;
	char *answer;
	size_t i, n;

	if (size > FINGERD_LINE_MAX)
		return 0;
	fingerd_query_parse((const char *)data, size, &q);
	if (q.kind != FINGER_Q_DOMAIN)
		return 0;
	n = strlen(q.domain);
	FUZZ_CHECK(n > 0 && n < sizeof(q.domain));
	FUZZ_CHECK(address_domain_ok(q.domain, n) && q.domain[0] != '[');
	for (i = 0; i < n; i++)
		FUZZ_CHECK(!(q.domain[i] >= 'A' && q.domain[i] <= 'Z') &&
		    q.domain[i] != '@' && (unsigned char)q.domain[i] >= ' ');
	/* The answer echoes the domain: it must come out whole. */
	memset(&fs, 0, sizeof(fs));
	fs.domain = q.domain;
	fs.pending = size;
	fs.bytes = (unsigned long long)size << 20;
	fs.oldest = 1000000000 - (time_t)size * 3600;
	fs.next_expiry = 1000000000 + (time_t)size * 86400;
	fs.state = FINGERD_S_NONE;
	answer = fingerd_answer(&fs, q.verbose, 1000000000);
	FUZZ_CHECK(strstr(answer, q.domain) != NULL);
	free(answer);
	return 0;
}
