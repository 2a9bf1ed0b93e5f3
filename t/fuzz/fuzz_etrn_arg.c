/*
 * fuzz_etrn_arg - the arguments of ETRN (smtpd, RFC 1985: "dom",
 * "@dom", "#group") and of ATRN (etrn, RFC 2645: "d1,d2,..."), through
 * the programs' convenience libraries. Input: the argument.
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
#include "mail/address.h"
#include "mail/proto.h"
/* the programs (their convenience libraries, STYLE rule 3) */
#include "etrn/etrn.h"
#include "smtpd/smtpd.h"

#include "t/fuzz/fuzz.h"

/* check_etrn - smtpd's grammar; a domain it accepts must be one */
static void
check_etrn(const char *arg)
{
	const char *name;
	enum smtpd_etrn_kind kind = smtpd_etrn_arg(arg, &name);

	if (kind == SMTPD_ETRN_BAD || kind == SMTPD_ETRN_ALL) {
		FUZZ_CHECK(name == NULL);
		FUZZ_CHECK(kind != SMTPD_ETRN_ALL || strcmp(arg, PROTO_PEER_ETRN_ALL) == 0);
		return;
	}
	FUZZ_CHECK(name != NULL && *name != '\0');
	FUZZ_CHECK(name >= arg && name <= arg + strlen(arg));
	if (kind != SMTPD_ETRN_GROUP)
		FUZZ_CHECK(address_domain_ok(name, strlen(name)) &&
		    strchr(name, ' ') == NULL);
}

/* check_atrn - etrn's list grammar; each domain listed once, lowercase */
static void
check_atrn(const char *arg)
{
	struct etrn_session *s = xcalloc(1, sizeof(*s));
	size_t i, j;

	if (etrn_domains_parse(s, arg) == 0) {
		FUZZ_CHECK(s->ndomains <= ETRN_ATRN_DOMAINS_MAX);
		for (i = 0; i < s->ndomains; i++) {
			const char *d = s->domains[i];

			FUZZ_CHECK(address_domain_ok(d, strlen(d)));
			for (j = 0; d[j] != '\0'; j++)
				FUZZ_CHECK(!(d[j] >= 'A' && d[j] <= 'Z'));
			for (j = 0; j < i; j++)
				FUZZ_CHECK(strcmp(s->domains[j], d) != 0);
		}
	}
	etrn_domains_clear(s);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *arg;

	if (size > 4096)
		return 0;
	arg = fuzz_str(data, size);
	if (*arg != '\0')
		check_etrn(arg);
	check_atrn(arg);
	free(arg);
	return 0;
}
