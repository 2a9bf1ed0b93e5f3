/*
 * fuzz_peer - the fleet's client dialogue (lib/mail/peer.c): what a peer,
 * or whoever answers at its address, sends back to our login, ETRN and
 * XSUMMARY. Input: the server's whole side of the session, written at
 * once into a socketpair.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* lib/mail */
#include "mail/peer.h"

#include "t/fuzz/fuzz.h"

/* each_line - the summary callback: a line of a reply, bounded */
static void
each_line(const char *line, void *ctx)
{
	size_t *n = ctx;

	FUZZ_CHECK(strlen(line) < 1000);
	(*n)++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct peer_result r;
	size_t lines = 0;
	int sv[2], rc;

	if (size > 32768 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 0;
	if (size > 0 && write(sv[1], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	(void)shutdown(sv[1], SHUT_WR);
	rc = peer_session(sv[0], "mx1.fuzz.test", "fuzz-secret-0123456789",
	    size % 2 ? "XSUMMARY" : "ETRN site.example", 2000, each_line, &lines, &r);
	/* A reply is a code of the grammar; a failure says what it was. */
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(rc < 0 || (r.code >= 200 && r.code <= 599));
	FUZZ_CHECK(rc == 0 || r.text[0] != '\0');
	FUZZ_CHECK(strlen(r.text) < sizeof(r.text));
	FUZZ_CHECK(!r.temporary || rc < 0 || r.code == 421);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
