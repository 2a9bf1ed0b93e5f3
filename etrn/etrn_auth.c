/*
 * etrn_auth - AUTH for ODMR: CRAM-MD5, and PLAIN/LOGIN inside TLS
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* lib/util */
#include "util/events.h"
#include "util/log.h"
#include "util/stream.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/authlock.h"
#include "mail/conf.h"
#include "mail/passwd.h"
#include "mail/sasl.h"
/* etrn */
#include "etrn/etrn.h"
#include "etrn/etrn_reply.h"

/* etrn_passwd_reload - reread passwd_file; keep the old logins on errors */
void
etrn_passwd_reload(struct etrn *srv)
{
	if (passwd_reload(&srv->passwd, srv->cfg->passwd_file, true) < 0)
		log_warn("load %s: errors; keeping the logins loaded before",
		    srv->cfg->passwd_file);
}

/* etrn_auth_mechs - the AUTH line of EHLO for this session */
void
etrn_auth_mechs(const struct etrn_session *s, char *buf, size_t size)
{
	/*
	 * CRAM-MD5 never shows the password, so it is offered in the clear
	 * (RFC 2645 makes it mandatory, and fetchmail's ODMR mode speaks
	 * nothing else); PLAIN and LOGIN carry it, so only inside TLS.
	 */
	snprintf(buf, size, "AUTH CRAM-MD5%s",
	    stream_tls_active(s->st) ? " PLAIN LOGIN" : "");
}

/* etrn_auth_reset - forget an exchange in progress and its pause */
void
etrn_auth_reset(struct etrn_session *s)
{
	sasl_free(&s->sasl);
	xfree(&s->mech);
	ev_timer_cancel(s->srv->loop, &s->auth_pause);
}

/* etrn_auth_pause_over - the failed login has waited: answer 535 */
static void
etrn_auth_pause_over(void *ctx)
{
	struct etrn_session *s = ctx;
	long limit = s->srv->cfg->auth_failure_limit;

	s->auth_pause = NULL;
	etrn_reply(s, ETRN_R_AUTH_FAILED);
	if (limit > 0 && s->auth_failures >= (unsigned long)limit) {
		log_warn("too many failed logins from %s[%s]: %u; disconnecting",
		    s->name, s->addr, s->auth_failures);
		etrn_reply(s, ETRN_R_AUTH_TOO_MANY);
		etrn_close(s);
		etrn_resume(s);
		return;
	}
	/* Commands that came during the pause run now. */
	etrn_resume(s);
}

/*
 * etrn_auth_failed - count a failed login and answer it only after
 * auth_failure_delay, doubled for each failure before: guessing costs
 * the guesser time, never us (the session waits on a timer). why is for
 * the log only (Postfix's shape, which fail2ban's postfix-sasl filter
 * reads); the client gets the same 535 whatever it is.
 */
static void
etrn_auth_failed(struct etrn_session *s, const char *user, const char *why)
{
	s->auth_failures++;
	log_warn("%s[%s]: SASL %s authentication failed: %s, sasl_username=%s",
	    s->name, s->addr, s->mech != NULL ? s->mech : "?", why,
	    user != NULL ? user : "");
	s->auth_pause = ev_timer_add(s->srv->loop,
	    authlock_delay_ms(s->srv->cfg, s->auth_failures), etrn_auth_pause_over, s);
}

/* etrn_auth_status - act on what sasl_start()/sasl_step() said */
static void
etrn_auth_status(struct etrn_session *s, enum sasl_status st, char *challenge)
{
	const struct config *cfg = s->srv->cfg;
	const char *user, *why;

	switch (st) {
	case SASL_CONTINUE:
		etrn_reply(s, ETRN_R_AUTH_CHALLENGE, challenge != NULL ?
		    challenge : "");
		free(challenge);
		return;
	case SASL_DONE:
		user = sasl_user(s->sasl);
		/* The right password, but too many wrong ones came before. */
		if (authlock_locked(cfg, user, s->addr, &why)) {
			etrn_auth_failed(s, user, why);
			break;
		}
		authlock_success(cfg, user);
		s->user = xstrdup(user != NULL ? user : "");
		s->state = ETRN_ST_AUTHED;
		log_info("client=%s[%s], sasl_method=%s, sasl_username=%s",
		    s->name, s->addr, s->mech, s->user);
		etrn_reply(s, ETRN_R_AUTH_OK);
		break;
	case SASL_FAIL:
		authlock_fail(cfg, sasl_user(s->sasl), s->addr);
		etrn_auth_failed(s, sasl_user(s->sasl), "authentication failure");
		break;
	case SASL_CANCEL:
		etrn_reply(s, ETRN_R_AUTH_CANCELLED);
		break;
	case SASL_MALFORMED:
		etrn_reply(s, ETRN_R_AUTH_MALFORMED);
		break;
	}
	free(challenge);
	sasl_free(&s->sasl);
	xfree(&s->mech);
}

/* etrn_auth_cmd - AUTH mechanism [initial-response] (RFC 4954) */
void
etrn_auth_cmd(struct etrn_session *s, const char *arg)
{
	const struct config *cfg = s->srv->cfg;
	char name[32], *challenge = NULL;
	const char *initial;
	enum sasl_mech mech;
	enum sasl_status st;
	size_t n = strcspn(arg, " ");

	if (s->helo == NULL) {
		etrn_reply(s, ETRN_R_NEED_EHLO);
		return;
	}
	if (n == 0 || n >= sizeof(name)) {
		etrn_reply(s, ETRN_R_SYNTAX, "AUTH mechanism [initial-response]");
		return;
	}
	memcpy(name, arg, n);
	name[n] = '\0';
	initial = arg[n] == ' ' ? arg + n + 1 : NULL;
	if (!sasl_mech_find(name, &mech)) {
		etrn_reply(s, ETRN_R_AUTH_MECH);
		return;
	}
	if (mech != SASL_MECH_CRAM_MD5 && !stream_tls_active(s->st)) {
		etrn_reply(s, ETRN_R_AUTH_NEED_TLS);
		return;
	}
	/* `sluice passwd` takes effect at the next login, without a reload. */
	(void)passwd_reload(&s->srv->passwd, cfg->passwd_file, false);
	s->mech = xstrdup(sasl_mech_name(mech));
	st = sasl_start(mech, initial, cfg->myhostname, s->srv->passwd,
	    &s->sasl, &challenge);
	etrn_auth_status(s, st, challenge);
}

/* etrn_auth_line - one response line of an exchange in progress */
void
etrn_auth_line(struct etrn_session *s, const char *line)
{
	char *challenge = NULL;
	enum sasl_status st;

	st = sasl_step(s->sasl, line, s->srv->passwd, &challenge);
	etrn_auth_status(s, st, challenge);
}
