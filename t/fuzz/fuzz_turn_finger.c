/*
 * fuzz_turn_finger - sluice-turn's parser of an MX's finger status answer
 * (turn/turn_finger.c), through turn's convenience library. Input: the
 * answer, as an MX (not trusted) would send it.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <string.h>

/* turn (its convenience library, STYLE rule 3) */
#include "turn/turn.h"

#include "t/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct turn_status st;
	char why[160];
	int r;

	if (size > TURN_FINGER_MAX)
		return 0;
	why[0] = '\0';
	r = turn_finger_parse((const char *)data, size, "site.example", &st, why,
	    sizeof(why));
	FUZZ_CHECK(r >= -1 && r <= 1);
	/* A refusal always says why; a status is always within its bounds. */
	FUZZ_CHECK(r == 0 || why[0] != '\0');
	if (r != 0)
		return 0;
	FUZZ_CHECK(st.waiting <= TURN_MESSAGES_MAX);
	FUZZ_CHECK(st.in_flight <= TURN_MESSAGES_MAX);
	FUZZ_CHECK(st.delivered <= TURN_MESSAGES_MAX);
	FUZZ_CHECK(st.bytes <= TURN_BYTES_MAX);
	FUZZ_CHECK(st.oldest >= -1 && st.oldest <= TURN_AGE_MAX);
	FUZZ_CHECK(memchr(st.detail, '\0', sizeof(st.detail)) != NULL);
	return 0;
}
