/*
 * smtpd_pregreet - hold the 220 back for smtpd_pregreet_wait, and drop a
 * client that talks before it (postscreen's pregreet test, inside smtpd).
 *
 * RFC 5321 4.3.1: the client waits for the greeting. Spam engines that
 * save a round trip send EHLO (or the whole transaction) at once; a real
 * MTA never does. Only the MX port waits: the submission port serves
 * mail programs, which a pause would only slow.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* lib/util */
#include "util/events.h"
#include "util/log.h"
#include "util/stream.h"
/* lib/mail */
#include "mail/smtp_reply.h"
/* smtpd */
#include "smtpd/smtpd.h"

/* smtpd_greeting - the 220 */
static void
smtpd_greeting(struct smtpd_session *s)
{
	smtpd_reply(s, SMTP_R_GREETING, s->srv->cfg->smtpd_banner);
	(void)stream_flush(s->st);
}

/* smtpd_pregreet_over - the client kept quiet: greet it */
static void
smtpd_pregreet_over(void *ctx)
{
	struct smtpd_session *s = ctx;

	s->pregreet = NULL;
	smtpd_greeting(s);
}

void
smtpd_greet_start(struct smtpd_session *s)
{
	long wait = s->srv->cfg->smtpd_pregreet_wait;

	s->connect_ms = ev_now();
	if (wait <= 0 || s->submission) {
		smtpd_greeting(s);
		return;
	}
	s->pregreet = ev_timer_add(s->srv->loop, (uint64_t)wait * 1000u,
	    smtpd_pregreet_over, s);
}

bool
smtpd_pregreet_caught(struct smtpd_session *s)
{
	size_t n = stream_buffered(s->st);
	uint64_t ms = ev_now() - s->connect_ms;
	const char *line = "";
	size_t len = 0;

	if (s->pregreet == NULL || n == 0)
		return false;
	ev_timer_cancel(s->srv->loop, &s->pregreet);
	if (stream_read_line(s->st, SMTP_CMD_LINE_MAX, &line, &len) != 1)
		len = 0;
	/* The log escapes whatever control octets the client sent. */
	log_info("PREGREET %zu after %llu.%02llu from [%s]:%u: %.*s", n,
	    (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000 / 10),
	    s->addr, s->port, (int)(len > 100 ? 100 : len), line);
	s->ds.last_cmd = "CONNECT";
	smtpd_reply(s, SMTP_R_PREGREET);
	smtpd_close(s);
	return true;
}
