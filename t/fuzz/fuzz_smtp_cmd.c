/*
 * fuzz_smtp_cmd - SMTP command lines (lib/mail/smtp_cmd.c): the verb and
 * argument split, MAIL and RCPT with their ESMTP parameters, xtext.
 * Input: one command line as a client sends it.
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
#include "mail/smtp_cmd.h"

#include "t/fuzz/fuzz.h"

/* check_mail - parse arg as MAIL's, and check what an OK promises */
static void
check_mail(const char *arg)
{
	struct smtp_mail_args m;

	memset(&m, 0, sizeof(m));
	if (smtp_parse_mail(arg, &m) != SMTP_PARSE_OK)
		return;
	FUZZ_CHECK(m.sender != NULL && address_stored_ok(m.sender, true));
	FUZZ_CHECK(m.envid == NULL || strlen(m.envid) <= SMTP_ENVID_MAX);
	smtp_mail_args_clear(&m);
}

/* check_rcpt - parse arg as RCPT's, and check what an OK promises */
static void
check_rcpt(const char *arg)
{
	struct smtp_rcpt_args r;

	memset(&r, 0, sizeof(r));
	if (smtp_parse_rcpt(arg, &r) != SMTP_PARSE_OK)
		return;
	FUZZ_CHECK(r.addr != NULL && address_mailbox_ok(r.addr));
	smtp_rcpt_args_clear(&r);
}

/* check_xtext - decode arg as xtext; what decodes must encode and decode back */
static void
check_xtext(const char *arg)
{
	char *dec = NULL, *enc, *again = NULL;

	if (smtp_xtext_decode(arg, strlen(arg), &dec) < 0)
		return;
	enc = smtp_xtext_encode(dec);
	FUZZ_CHECK(smtp_xtext_decode(enc, strlen(enc), &again) == 0);
	FUZZ_CHECK(strcmp(again, dec) == 0);
	free(again);
	free(enc);
	free(dec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_cmd *cmd;

	if (size > SMTP_CMD_LINE_MAX)
		return 0;
	cmd = calloc(1, sizeof(*cmd));
	if (smtp_cmd_split((const char *)data, size, cmd) == SMTP_PARSE_OK) {
		FUZZ_CHECK(strlen(cmd->verb) <= SMTP_VERB_MAX);
		FUZZ_CHECK(cmd->arg >= cmd->text &&
		    cmd->arg <= cmd->text + strlen(cmd->text));
		/* Every argument through both grammars: a verb in the input
		 * is not needed to reach them. */
		check_mail(cmd->arg);
		check_rcpt(cmd->arg);
		check_xtext(cmd->arg);
	}
	free(cmd);
	return 0;
}
