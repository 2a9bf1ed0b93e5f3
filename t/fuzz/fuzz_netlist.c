/*
 * fuzz_netlist - client network lists (lib/mail/netlist.c): mynetworks
 * and a domain's etrn_from=. Input: the list's text.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* lib/mail */
#include "mail/netlist.h"

#include "t/fuzz/fuzz.h"

static struct sockaddr_in v4;
static struct sockaddr_in6 v6, mapped;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet("fuzz_netlist");
	v4.sin_family = AF_INET;
	inet_pton(AF_INET, "10.1.2.3", &v4.sin_addr);
	v6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &v6.sin6_addr);
	mapped.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &mapped.sin6_addr);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netlist *nl = NULL;
	char *text, *err = NULL;
	bool m4, mm;

	if (size > 16 * 1024)
		return 0;
	text = fuzz_str(data, size);
	if (netlist_parse(text, &nl, &err) < 0) {
		FUZZ_CHECK(nl == NULL && err != NULL);
		free(err);
		free(text);
		return 0;
	}
	FUZZ_CHECK(netlist_count(nl) <= size);
	m4 = netlist_match(nl, (const struct sockaddr *)&v4);
	mm = netlist_match(nl, (const struct sockaddr *)&mapped);
	/* An IPv4 entry matches its IPv4-mapped form too (netlist.h). */
	if (m4)
		FUZZ_CHECK(mm);
	(void)netlist_match(nl, (const struct sockaddr *)&v6);
	netlist_free(&nl);
	free(text);
	return 0;
}
