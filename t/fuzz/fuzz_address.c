/*
 * fuzz_address - the RFC 5321 path and mailbox grammar
 * (lib/mail/address.c). Input: what follows "MAIL FROM:" or "RCPT TO:",
 * or a stored address read back from a queue file or a record.
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

#include "t/fuzz/fuzz.h"

/* check_mailbox - the helpers of a stored mailbox, and their promises */
static void
check_mailbox(const char *mb)
{
	char *dom, *lp, *low;

	dom = address_domain_lower(mb);
	lp = address_localpart(mb);
	FUZZ_CHECK(address_domain_ok(dom, strlen(dom)));
	FUZZ_CHECK(strlen(lp) <= ADDRESS_LOCAL_MAX);
	FUZZ_CHECK(strlen(mb) <= ADDRESS_PATH_MAX);
	low = address_lower(address_domain(mb));
	FUZZ_CHECK(strcmp(low, dom) == 0);
	free(low);
	free(lp);
	free(dom);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *addr = NULL;
	const char *end = NULL;
	bool null_ok;

	if (size > 4096)
		return 0;
	s = fuzz_str(data, size);
	for (null_ok = false;; null_ok = true) {
		if (address_parse_path(s, null_ok, &addr, &end) == 0) {
			FUZZ_CHECK(end > s && end <= s + strlen(s) && end[-1] == '>');
			FUZZ_CHECK(address_stored_ok(addr, null_ok));
			if (*addr != '\0')
				check_mailbox(addr);
			else
				FUZZ_CHECK(null_ok);
			free(addr);
			addr = NULL;
		}
		if (null_ok)
			break;
	}
	/* The same bytes as a stored address and as a domain. */
	if (address_mailbox_ok(s))
		check_mailbox(s);
	(void)address_stored_ok(s, true);
	(void)address_domain_ok(s, strlen(s));
	(void)address_domain_ok((const char *)data, size);
	free(s);
	return 0;
}
