/*
 * smtpd_auth - AUTH on the submission port: SASL exchanges and failure delays
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* lib/util */
#include "util/log.h"
#include "util/stream.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/authlock.h"
#include "mail/conf.h"
#include "mail/netlist.h"
#include "mail/passwd.h"
#include "mail/peer.h"
#include "mail/sasl.h"
#include "mail/smtp_reply.h"
/* smtpd */
#include "smtpd/smtpd.h"

/* The longest pause after a failed login, however many came before. */

bool
smtpd_auth_offered(const struct smtpd_session *s)
{
	/* Passwords never cross the wire in the clear (smtpd_tls_auth_only). */
	return s->submission && s->auth_user == NULL &&
	    (!s->srv->cfg->smtpd_tls_auth_only || stream_tls_active(s->st));
}

bool
smtpd_relay_ok(const struct smtpd_session *s)
{
	const struct netlist *nl = s->srv->cfg->smtpd_relay_networks;

	return s->auth_user != NULL ||
	    (nl != NULL && netlist_match(nl, (const struct sockaddr *)&s->peer));
}

void
smtpd_auth_reset(struct smtpd_session *s)
{
	sasl_free(&s->sasl);
	xfree(&s->auth_user);
	s->peer_login = false;
}

/* smtpd_auth_table - the logins of this session's exchange: a peer's or the customers' */
static const struct passwd_table *
smtpd_auth_table(const struct smtpd_session *s)
{
	return s->peer_exchange ? s->srv->peer_pw : s->srv->pw;
}

/* smtpd_auth_delay_fire - the pause after a failed login is over: answer */
static void
smtpd_auth_delay_fire(void *ctx)
{
	struct smtpd_session *s = ctx;
	long limit = s->srv->cfg->auth_failure_limit;

	s->auth_delay = NULL;
	smtpd_reply(s, SMTP_R_AUTH_FAILED);
	if (limit > 0 && s->auth_failures >= (unsigned long)limit) {
		log_info("too many failed authentications from %s[%s]", s->name,
		    s->addr);
		smtpd_reply(s, SMTP_R_AUTH_TOO_MANY);
		smtpd_close(s);
		return;
	}
	/* Go on with whatever the client sent meanwhile. */
	smtpd_input_resume(s);
}

/*
 * smtpd_auth_failed - log (why: for the log only, in the shape fail2ban's
 * postfix-sasl filter reads), then answer 535 after the doubling delay
 */
static void
smtpd_auth_failed(struct smtpd_session *s, const char *user, const char *why)
{
	log_warn("%s[%s]: SASL %s authentication failed: %s, sasl_username=%s",
	    s->name, s->addr, sasl_mech_name(sasl_mech(s->sasl)), why,
	    user != NULL ? user : "");
	s->auth_failures++;
	/*
	 * Each failure doubles the pause before the 535, so that guessing
	 * passwords costs more the longer it goes on; the client's further
	 * commands wait unread meanwhile.
	 */
	s->auth_delay = ev_timer_add(s->srv->loop,
	    authlock_delay_ms(s->srv->cfg, s->auth_failures), smtpd_auth_delay_fire, s);
}

/* smtpd_auth_result - act on where an exchange stands */
static void
smtpd_auth_result(struct smtpd_session *s, enum sasl_status st, char *challenge)
{
	const struct config *cfg = s->srv->cfg;
	const char *why;

	switch (st) {
	case SASL_CONTINUE:
		smtpd_reply(s, SMTP_R_AUTH_CHALLENGE, challenge);
		free(challenge);
		return;
	case SASL_DONE:
		/* The right password, but too many wrong ones came before. */
		if (authlock_locked(cfg, sasl_user(s->sasl), s->addr, &why)) {
			smtpd_auth_failed(s, sasl_user(s->sasl), why);
			break;
		}
		authlock_success(cfg, sasl_user(s->sasl));
		if (s->peer_exchange) {
			/* A peer: its ETRN is source=peer; it may not relay. */
			s->peer_login = true;
			log_info("%s[%s]: peer login, sasl_method=CRAM-MD5, sasl_username=%s",
			    s->name, s->addr, PEER_LOGIN);
			smtpd_reply(s, SMTP_R_AUTH_OK);
			break;
		}
		s->auth_user = xstrdup(sasl_user(s->sasl));
		s->auth_mech = sasl_mech(s->sasl);
		log_info("%s[%s]: sasl_method=%s, sasl_username=%s", s->name,
		    s->addr, sasl_mech_name(s->auth_mech), s->auth_user);
		smtpd_reply(s, SMTP_R_AUTH_OK);
		break;
	case SASL_FAIL:
		authlock_fail(cfg, sasl_user(s->sasl), s->addr);
		smtpd_auth_failed(s, sasl_user(s->sasl), "authentication failure");
		break;
	case SASL_CANCEL:
		smtpd_reply(s, SMTP_R_AUTH_ABORTED);
		break;
	case SASL_MALFORMED:
		smtpd_reply(s, SMTP_R_AUTH_UNDECODABLE);
		break;
	}
	free(challenge);
	sasl_free(&s->sasl);
}

void
smtpd_auth(struct smtpd_session *s, const char *arg)
{
	const struct config *cfg = s->srv->cfg;
	char mech[SMTP_VERB_MAX + 1], *challenge = NULL;
	const char *sp = strchr(arg, ' ');
	size_t n = sp != NULL ? (size_t)(sp - arg) : strlen(arg);
	enum sasl_mech m;
	enum sasl_status st;

	/* Port 25 knows one login: a peer's, from an address of peers. */
	if (!s->submission && (!s->peer_addr || s->srv->peer_pw == NULL)) {
		if (s->srv->cfg->peers.n > 0)
			log_warn("%s[%s]: peer login refused: not an address of peers",
			    s->name, s->addr);
		smtpd_reply(s, SMTP_R_AUTH_DISABLED);
		return;
	}
	if (s->auth_user != NULL || s->peer_login) {
		smtpd_reply(s, SMTP_R_AUTH_ALREADY);
		return;
	}
	if (!s->esmtp) {
		smtpd_reply(s, SMTP_R_AUTH_NEED_EHLO);
		return;
	}
	if (s->submission && !smtpd_auth_offered(s)) {
		smtpd_reply(s, SMTP_R_AUTH_NEED_TLS);
		return;
	}
	if (n == 0 || n >= sizeof(mech)) {
		smtpd_reply(s, n == 0 ? SMTP_R_SYNTAX : SMTP_R_AUTH_MECH,
		    "AUTH mechanism");
		return;
	}
	memcpy(mech, arg, n);
	mech[n] = '\0';
	/*
	 * CRAM-MD5 is ODMR's and the peers' (the secret never crosses the
	 * wire); submission offers what TLS makes safe.
	 */
	if (!sasl_mech_find(mech, &m) || (m == SASL_MECH_CRAM_MD5) == s->submission) {
		smtpd_reply(s, SMTP_R_AUTH_MECH);
		return;
	}
	s->peer_exchange = !s->submission;
	/* A changed file counts at once: `sluice passwd` needs no reload. */
	if (!s->peer_exchange)
		(void)passwd_reload(&s->srv->pw, cfg->passwd_file, false);
	/*
	 * XXX crypt(3) runs here in the event loop: a yescrypt check holds
	 * every session of this process for some tens of milliseconds. That
	 * is acceptable at submission rates (a few logins a second), and
	 * auth_failure_delay throttles a guesser far more than that.
	 */
	st = sasl_start(m, sp != NULL ? sp + 1 : NULL, cfg->myhostname,
	    smtpd_auth_table(s), &s->sasl, &challenge);
	smtpd_auth_result(s, st, challenge);
}

void
smtpd_auth_line(struct smtpd_session *s, int r, const char *line, size_t len)
{
	char *text, *challenge = NULL;
	enum sasl_status st;

	if (r < 0) {
		sasl_free(&s->sasl);
		smtpd_reply(s, SMTP_R_AUTH_LINE_TOO_LONG);
		return;
	}
	if (smtpd_bare_lf_refused(s, line, len)) {
		sasl_free(&s->sasl);
		return;
	}
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	text = xstrndup(line, len);
	st = sasl_step(s->sasl, text, smtpd_auth_table(s), &challenge);
	/* Base64 of a password is the password: wipe it. */
	explicit_bzero(text, len);
	free(text);
	smtpd_auth_result(s, st, challenge);
}
