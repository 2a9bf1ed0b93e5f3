/*
 * pop3_auth - USER/PASS (RFC 1939) and AUTH (RFC 5034) with the ODMR
 * customers' logins: the same passwd file, the same lockout
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
/* pop3 */
#include "pop3/pop3.h"
#include "pop3/pop3_reply.h"

/* pop3_passwd_reload - reread passwd_file; keep the old logins on errors */
void
pop3_passwd_reload(struct pop3 *srv)
{
	if (passwd_reload(&srv->passwd, srv->cfg->passwd_file, true) < 0)
		log_warn("load %s: errors; keeping the logins loaded before",
		    srv->cfg->passwd_file);
}

/* pop3_auth_mechs - CRAM-MD5 always; PLAIN, LOGIN where passwords may go */
void
pop3_auth_mechs(const struct pop3_session *s, char *buf, size_t size)
{
	snprintf(buf, size, "%sCRAM-MD5",
	    pop3_plain_allowed(s) ? "PLAIN LOGIN " : "");
}

/* pop3_auth_reset - forget an exchange in progress and its pause */
void
pop3_auth_reset(struct pop3_session *s)
{
	sasl_free(&s->sasl);
	xfree(&s->mech);
	ev_timer_cancel(s->srv->loop, &s->auth_pause);
}

/* pop3_auth_pause_over - the failed login has waited: answer -ERR [AUTH] */
static void
pop3_auth_pause_over(void *ctx)
{
	struct pop3_session *s = ctx;
	long limit = s->srv->cfg->auth_failure_limit;

	s->auth_pause = NULL;
	pop3_reply(s, POP3_R_AUTH_FAILED);
	if (limit > 0 && s->auth_failures >= (unsigned long)limit) {
		log_warn(
		    "too many failed logins from %s[%s]: %u; disconnecting",
		    s->name, s->addr, s->auth_failures);
		pop3_reply(s, POP3_R_AUTH_TOO_MANY);
		pop3_close(s);
	}
	pop3_resume(s);
}

/*
 * pop3_auth_failed - count a failed login and answer it only after
 * authlock_delay_ms() (auth_failure_delay, doubling, as at every door);
 * the log line has Postfix's shape, which fail2ban reads.
 */
static void
pop3_auth_failed(struct pop3_session *s, const char *user, const char *why)
{
	s->auth_failures++;
	log_warn("%s[%s]: SASL %s authentication failed: %s, sasl_username=%s",
	    s->name, s->addr, s->mech != NULL ? s->mech : "USER", why,
	    user != NULL ? user : "");
	s->auth_pause = ev_timer_add(s->srv->loop,
	    authlock_delay_ms(s->srv->cfg, s->auth_failures),
	    pop3_auth_pause_over, s);
}

/* pop3_auth_done - right credentials: lockout check, then the maildrop */
static void
pop3_auth_done(struct pop3_session *s, const char *user, const char *mech)
{
	const char *why;

	/* The right password, but too many wrong ones came before. */
	if (authlock_locked(s->srv->cfg, user, s->addr, &why)) {
		pop3_auth_failed(s, user, why);
		return;
	}
	authlock_success(s->srv->cfg, user);
	free(s->user);
	s->user = xstrdup(user);
	log_info("client=%s[%s], sasl_method=%s, sasl_username=%s", s->name,
	    s->addr, mech, user);
	pop3_drop_open(s, mech);
}

/* pop3_user_cmd - USER name */
void
pop3_user_cmd(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	if (!pop3_plain_allowed(s)) {
		pop3_reply(s, POP3_R_NEED_TLS);
		return;
	}
	free(s->user_arg);
	s->user_arg = xstrdup(cmd->arg[0]);
	pop3_reply(s, POP3_R_USER_OK);
}

/* pop3_pass_cmd - PASS string (the whole rest: a password may hold spaces) */
void
pop3_pass_cmd(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	char *user = s->user_arg;
	const char *pass = cmd->rest;

	if (user == NULL) {
		pop3_reply(s, POP3_R_NEED_USER);
		return;
	}
	s->user_arg = NULL;
	(void)passwd_reload(&s->srv->passwd, s->srv->cfg->passwd_file, false);
	s->mech = xstrdup("USER");
	if (*pass == '\0' || strlen(pass) > PASSWD_PASSWORD_MAX ||
	    !passwd_login_ok(user) ||
	    !passwd_verify(s->srv->passwd, user, pass)) {
		authlock_fail(
		    s->srv->cfg, passwd_login_ok(user) ? user : NULL, s->addr);
		pop3_auth_failed(s, user, "authentication failure");
	} else
		pop3_auth_done(s, user, "USER");
	xfree(&s->mech);
	free(user);
}

/* pop3_auth_status - act on what sasl_start()/sasl_step() said */
static void
pop3_auth_status(struct pop3_session *s, enum sasl_status st, char *challenge)
{
	char *user;

	switch (st) {
	case SASL_CONTINUE:
		pop3_reply(s, POP3_R_AUTH_CHALLENGE,
		    challenge != NULL ? challenge : "");
		free(challenge);
		return;
	case SASL_DONE:
		user = xstrdup(
		    sasl_user(s->sasl) != NULL ? sasl_user(s->sasl) : "");
		sasl_free(&s->sasl);
		pop3_auth_done(s, user, s->mech);
		free(user);
		break;
	case SASL_FAIL:
		authlock_fail(s->srv->cfg, sasl_user(s->sasl), s->addr);
		pop3_auth_failed(
		    s, sasl_user(s->sasl), "authentication failure");
		break;
	case SASL_CANCEL:
		pop3_reply(s, POP3_R_AUTH_CANCELLED);
		break;
	case SASL_MALFORMED:
		pop3_reply(s, POP3_R_AUTH_MALFORMED);
		break;
	}
	free(challenge);
	sasl_free(&s->sasl);
	xfree(&s->mech);
}

/* pop3_auth_cmd - AUTH [mechanism [initial-response]] (RFC 5034) */
void
pop3_auth_cmd(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	const struct config *cfg = s->srv->cfg;
	char name[32], *challenge = NULL, mechs[64], *p;
	const char *arg = cmd->rest, *initial;
	enum sasl_mech mech;
	enum sasl_status st;
	size_t n = strcspn(arg, " ");

	if (n == 0) {
		/* AUTH alone lists the mechanisms (RFC 5034 says CAPA; clients
		 * still ask). */
		pop3_auth_mechs(s, mechs, sizeof(mechs));
		pop3_reply(s, POP3_R_OK);
		for (p = strtok(mechs, " "); p != NULL; p = strtok(NULL, " "))
			pop3_reply(s, "%s", p);
		pop3_reply(s, ".");
		return;
	}
	if (n >= sizeof(name)) {
		pop3_reply(s, POP3_R_AUTH_MECH);
		return;
	}
	memcpy(name, arg, n);
	name[n] = '\0';
	initial = arg[n] == ' ' ? arg + n + 1 : NULL;
	if (!sasl_mech_find(name, &mech)) {
		pop3_reply(s, POP3_R_AUTH_MECH);
		return;
	}
	if (mech != SASL_MECH_CRAM_MD5 && !pop3_plain_allowed(s)) {
		pop3_reply(s, POP3_R_NEED_TLS);
		return;
	}
	/* RFC 5034 4: "=" is an empty initial response. */
	(void)passwd_reload(&s->srv->passwd, cfg->passwd_file, false);
	s->mech = xstrdup(sasl_mech_name(mech));
	st = sasl_start(mech, initial, cfg->myhostname, s->srv->passwd,
	    &s->sasl, &challenge);
	pop3_auth_status(s, st, challenge);
}

/* pop3_auth_line - one response line of an exchange in progress */
void
pop3_auth_line(struct pop3_session *s, const char *line)
{
	char *challenge = NULL;
	enum sasl_status st;

	st = sasl_step(s->sasl, line, s->srv->passwd, &challenge);
	pop3_auth_status(s, st, challenge);
}
