/*
 * smtpd_cmd - the verb table and the command handlers of smtpd
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* lib/util */
#include "util/log.h"
#include "util/stream.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/address.h"
#include "mail/conf.h"
#include "mail/domains.h"
#include "mail/queue.h"
#include "mail/smtp_cmd.h"
#include "mail/smtp_reply.h"
/* smtpd */
#include "smtpd/smtpd.h"

#define SMTPD_HELO_MAX	255

/* smtpd_helo_ok - a HELO/EHLO argument we can put in a Received: header */
static bool
smtpd_helo_ok(const char *arg)
{
	size_t n = strlen(arg);

	if (n == 0 || n > SMTPD_HELO_MAX)
		return false;
	/* No controls: a bare CR here would end up inside our header. */
	for (; *arg != '\0'; arg++)
		if ((unsigned char)*arg < 0x20 || (unsigned char)*arg > 0x7e)
			return false;
	return true;
}

/* smtpd_greet - the part HELO and EHLO share */
static bool
smtpd_greet(struct smtpd_session *s, const char *arg, const char *syntax)
{
	if (!smtpd_helo_ok(arg)) {
		smtpd_reply(s, SMTP_R_SYNTAX, syntax);
		return false;
	}
	/* A new greeting starts over (RFC 5321 4.1.4). */
	free(s->helo);
	s->helo = xstrdup(arg);
	smtpd_reset(s);
	return true;
}

/* smtpd_helo - HELO hostname */
static void
smtpd_helo(struct smtpd_session *s, const char *arg)
{
	if (!smtpd_greet(s, arg, "HELO hostname"))
		return;
	s->esmtp = false;
	smtpd_reply(s, SMTP_R_HELO, s->srv->cfg->myhostname);
}

/* smtpd_ehlo - EHLO hostname, with our extensions */
static void
smtpd_ehlo(struct smtpd_session *s, const char *arg)
{
	const struct config *cfg = s->srv->cfg;
	char size[40];

	if (!smtpd_greet(s, arg, "EHLO hostname"))
		return;
	s->esmtp = true;
	smtpd_reply(s, SMTP_R_EHLO_LINE, cfg->myhostname);
	smtpd_reply(s, SMTP_R_EHLO_LINE, "PIPELINING");
	snprintf(size, sizeof(size), "SIZE %ld", cfg->message_size_limit);
	smtpd_reply(s, SMTP_R_EHLO_LINE, cfg->message_size_limit > 0 ? size : "SIZE");
	if (s->srv->tls != NULL && !stream_tls_active(s->st))
		smtpd_reply(s, SMTP_R_EHLO_LINE, "STARTTLS");
	/* The old "AUTH=" form too, for clients from before RFC 4954. */
	if (smtpd_auth_offered(s)) {
		smtpd_reply(s, SMTP_R_EHLO_LINE, "AUTH PLAIN LOGIN");
		smtpd_reply(s, SMTP_R_EHLO_LINE, "AUTH=PLAIN LOGIN");
	}
	if (smtpd_peer_offered(s))
		smtpd_reply(s, SMTP_R_EHLO_LINE, "AUTH CRAM-MD5");
	smtpd_reply(s, SMTP_R_EHLO_LINE, "ETRN");
	smtpd_reply(s, SMTP_R_EHLO_LINE, "ENHANCEDSTATUSCODES");
	smtpd_reply(s, SMTP_R_EHLO_LINE, "8BITMIME");
	smtpd_reply(s, SMTP_R_EHLO_LAST, "DSN");
}

/* smtpd_param_reply - the reply for a MAIL/RCPT parse failure */
static void
smtpd_param_reply(struct smtpd_session *s, enum smtp_parse r,
    const char *param, const char *syntax, const char *bad_path)
{
	switch (r) {
	case SMTP_PARSE_PATH:
		smtpd_reply(s, "%s", bad_path);
		break;
	case SMTP_PARSE_PARAM_UNKNOWN:
		smtpd_reply(s, SMTP_R_PARAM_UNKNOWN, param);
		break;
	case SMTP_PARSE_PARAM_DUP:
		smtpd_reply(s, SMTP_R_PARAM_DUP, param);
		break;
	case SMTP_PARSE_PARAM_BAD:
		smtpd_reply(s, SMTP_R_PARAM_BAD, param);
		break;
	case SMTP_PARSE_8BIT:
		smtpd_reply(s, SMTP_R_8BIT_ADDR);
		break;
	default:
		smtpd_reply(s, SMTP_R_SYNTAX, syntax);
		break;
	}
}

/* smtpd_mail - MAIL FROM:<sender> [params] */
static void
smtpd_mail(struct smtpd_session *s, const char *arg)
{
	const struct config *cfg = s->srv->cfg;
	struct smtp_mail_args m;
	enum smtp_parse r = smtp_parse_mail(arg, &m);
	struct envelope *env;

	if (r != SMTP_PARSE_OK) {
		smtpd_param_reply(s, r, m.param, "MAIL FROM:<address>",
		    SMTP_R_BAD_SENDER);
		return;
	}
	/*
	 * The submission port is for customers who log in (or relay
	 * networks): a stranger gets no transaction at all there, as with
	 * Postfix's submission service. Logging in needs TLS first.
	 */
	if (s->submission && !smtpd_relay_ok(s)) {
		smtpd_reply(s, cfg->smtpd_tls_auth_only && !stream_tls_active(s->st) ?
		    SMTP_R_AUTH_NEED_TLS : SMTP_R_AUTH_REQUIRED);
		smtpd_reject_log(s, "MAIL", NULL);
		smtp_mail_args_clear(&m);
		return;
	}
	if (m.size_given && cfg->message_size_limit > 0 &&
	    m.size > (uint64_t)cfg->message_size_limit) {
		smtpd_reply(s, SMTP_R_TOO_BIG);
		smtpd_reject_log(s, "MAIL", NULL);
		smtp_mail_args_clear(&m);
		return;
	}
	/* Refuse now, while the client can still try another MX, not at DATA. */
	if (!queue_space_ok(cfg->queue_directory, m.size_given ? m.size : 0,
	    (uint64_t)config_queue_minfree(cfg))) {
		smtpd_reply(s, SMTP_R_NO_SPACE);
		log_warn("not enough free space in %s for mail from %s[%s]",
		    cfg->queue_directory, s->name, s->addr);
		smtp_mail_args_clear(&m);
		return;
	}
	env = envelope_new();
	env->sender = m.sender;
	env->envid = m.envid;
	env->ret = m.ret;
	m.sender = m.envid = NULL;
	env->client_name = xstrdup(s->name);
	env->client_addr = xstrdup(s->addr);
	env->helo = xstrdup(s->helo);
	s->mail_size = m.size_given ? m.size : 0;
	smtp_mail_args_clear(&m);
	envelope_free(&s->env);
	s->env = env;
	s->state = SMTP_ST_MAIL;
	smtpd_reply(s, SMTP_R_MAIL_OK);
}

/* smtpd_rcpt - RCPT TO:<recipient> [params]: relay domains only */
static void
smtpd_rcpt(struct smtpd_session *s, const char *arg)
{
	const struct config *cfg = s->srv->cfg;
	struct smtp_rcpt_args r;
	enum smtp_parse pr = smtp_parse_rcpt(arg, &r);
	const struct domain *d;
	char *domain;

	if (pr != SMTP_PARSE_OK) {
		smtpd_param_reply(s, pr, r.param, "RCPT TO:<address>",
		    SMTP_R_BAD_RCPT);
		s->rcpt_refused = true;
		return;
	}
	if (cfg->smtpd_recipient_limit > 0 &&
	    s->env->nrcpt >= (size_t)cfg->smtpd_recipient_limit) {
		smtpd_reply(s, SMTP_R_TOO_MANY_RCPTS);
		goto refused;
	}
	/*
	 * The customer domains, from anyone; any other domain only from a
	 * customer who logged in or a client in smtpd_relay_networks (then
	 * deliver routes it by MX). sluice is never an open relay.
	 */
	domain = address_domain_lower(r.addr);
	d = domain_find(cfg->domains, domain);
	free(domain);
	if (d == NULL && !smtpd_relay_ok(s)) {
		smtpd_reply(s, SMTP_R_RELAY_DENIED, r.addr);
		goto refused;
	}
	if (d != NULL && !domain_rcpt_known(d, r.addr)) {
		smtpd_reply(s, SMTP_R_USER_UNKNOWN, r.addr);
		goto refused;
	}
	/* Past a cap: this recipient alone is refused, said in its own reply. */
	if (smtpd_quota_rcpt(s, d, r.addr) < 0)
		goto refused;
	envelope_add_rcpt(s->env, r.addr, r.orcpt, r.notify);
	s->state = SMTP_ST_RCPT;
	smtpd_reply(s, SMTP_R_RCPT_OK);
	smtp_rcpt_args_clear(&r);
	return;
refused:
	s->rcpt_refused = true;
	smtpd_reject_log(s, "RCPT", r.addr);
	smtp_rcpt_args_clear(&r);
}

/* smtpd_data - DATA: open the queue file, then 354 */
static void
smtpd_data(struct smtpd_session *s, const char *arg)
{
	if (*arg != '\0') {
		smtpd_reply(s, SMTP_R_SYNTAX, "DATA");
		return;
	}
	if (smtpd_data_begin(s) < 0)
		return;
	smtpd_reply(s, SMTP_R_DATA_GO);
}

/* smtpd_rset - RSET */
static void
smtpd_rset(struct smtpd_session *s, const char *arg)
{
	smtpd_reset(s);
	smtpd_reply(s, SMTP_R_OK);
}

/* smtpd_noop - NOOP */
static void
smtpd_noop(struct smtpd_session *s, const char *arg)
{
	smtpd_reply(s, SMTP_R_OK);
}

/* smtpd_vrfy - VRFY: never confirms (RFC 5321 3.5.3) */
static void
smtpd_vrfy(struct smtpd_session *s, const char *arg)
{
	smtpd_reply(s, SMTP_R_VRFY);
}

/* smtpd_help - HELP: the verbs of the table */
static void
smtpd_help(struct smtpd_session *s, const char *arg)
{
	char list[256] = "";
	size_t i;

	for (i = 0; smtpd_verbs[i].name != NULL; i++) {
		if (i > 0)
			strncat(list, " ", sizeof(list) - strlen(list) - 1);
		strncat(list, smtpd_verbs[i].name, sizeof(list) - strlen(list) - 1);
	}
	smtpd_reply(s, SMTP_R_HELP, list);
}

/* smtpd_quit - QUIT */
static void
smtpd_quit(struct smtpd_session *s, const char *arg)
{
	smtpd_reply(s, SMTP_R_BYE);
	s->quit = true;
	smtpd_close(s);
}

/* smtpd_starttls - STARTTLS (RFC 3207) */
static void
smtpd_starttls(struct smtpd_session *s, const char *arg)
{
	long discarded;

	if (*arg != '\0') {
		smtpd_reply(s, SMTP_R_SYNTAX, "STARTTLS");
		return;
	}
	if (stream_tls_active(s->st)) {
		smtpd_reply(s, SMTP_R_TLS_ACTIVE);
		return;
	}
	if (s->srv->tls == NULL) {
		smtpd_reply(s, SMTP_R_TLS_UNAVAILABLE);
		return;
	}
	smtpd_reply(s, SMTP_R_TLS_READY);
	/*
	 * Whatever the client sent after STARTTLS came in the clear and is
	 * thrown away here, never run as TLS-protected commands.
	 */
	discarded = stream_starttls_server(s->st, s->srv->tls);
	if (discarded > 0)
		log_warn("discard %ld bytes pipelined after STARTTLS from %s[%s]",
		    discarded, s->name, s->addr);
	smtpd_reset(s);
}

/*
 * The verbs: where each may be used and what runs it. The order is the
 * order of the counters in the "disconnect from" log line.
 */
const struct smtp_verb smtpd_verbs[] = {
	{ "EHLO", SMTP_ST_ANY, smtpd_ehlo },
	{ "HELO", SMTP_ST_ANY, smtpd_helo },
	{ "STARTTLS", SMTP_ST_CONNECT | SMTP_ST_HELO, smtpd_starttls },
	{ "AUTH", SMTP_ST_HELO, smtpd_auth },
	{ "ETRN", SMTP_ST_HELO, smtpd_etrn },
	{ "MAIL", SMTP_ST_HELO, smtpd_mail },
	{ "RCPT", SMTP_ST_MAIL | SMTP_ST_RCPT, smtpd_rcpt },
	{ "DATA", SMTP_ST_RCPT, smtpd_data },
	{ "RSET", SMTP_ST_ANY, smtpd_rset },
	{ "NOOP", SMTP_ST_ANY, smtpd_noop },
	{ "VRFY", SMTP_ST_ANY, smtpd_vrfy },
	{ "HELP", SMTP_ST_ANY, smtpd_help },
	{ "QUIT", SMTP_ST_ANY, smtpd_quit },
	{ "XSUMMARY", SMTP_ST_HELO, smtpd_xsummary },
	{ NULL, 0, NULL },
};
_Static_assert(sizeof(smtpd_verbs) / sizeof(smtpd_verbs[0]) == SMTPD_NVERBS + 1,
    "SMTPD_NVERBS must match the verb table");

/* smtpd_state_reply - the 503 for a verb used out of sequence */
static void
smtpd_state_reply(struct smtpd_session *s, const struct smtp_verb *v)
{
	if (s->state == SMTP_ST_CONNECT)
		smtpd_reply(s, SMTP_R_NEED_HELO);
	else if (strcmp(v->name, "MAIL") == 0)
		smtpd_reply(s, SMTP_R_NESTED_MAIL);
	else if (strcmp(v->name, "ETRN") == 0 || strcmp(v->name, "AUTH") == 0)
		smtpd_reply(s, SMTP_R_IN_TRANSACTION);
	else if (s->state == SMTP_ST_HELO)
		smtpd_reply(s, SMTP_R_NEED_MAIL);
	else if (strcmp(v->name, "DATA") == 0 && s->rcpt_refused)
		smtpd_reply(s, SMTP_R_NO_VALID_RCPTS);
	else if (strcmp(v->name, "DATA") == 0)
		smtpd_reply(s, SMTP_R_NEED_RCPT);
	else
		smtpd_reply(s, SMTP_R_BAD_SEQUENCE);
}

/*
 * smtpd_forbidden - is cmd an HTTP request line or header (a browser or a
 * proxy abuser talking to port 25)? Its verb is in
 * smtpd_forbidden_commands, or its first word ends in ":" as a header
 * name does ("Host:"), as Postfix's default smtpd_forbidden_commands.
 */
static bool
smtpd_forbidden(const struct smtpd_session *s, const struct smtp_cmd *cmd)
{
	const char *list = s->srv->cfg->smtpd_forbidden_commands;
	size_t n = strcspn(cmd->text, " \t"), vl = strlen(cmd->verb);

	if (n > 1 && cmd->text[n - 1] == ':')
		return true;
	if (vl == 0)
		return false;
	while (*list != '\0') {
		size_t wl;

		list += strspn(list, " \t,");
		wl = strcspn(list, " \t,");
		if (wl == vl && strncasecmp(list, cmd->verb, wl) == 0)
			return true;
		list += wl;
	}
	return false;
}

/*
 * smtpd_hangup - answer what is no SMTP at all with reply and end the
 * session (text: the offending line for the log, or NULL): a client that sends it is a browser, a proxy scanner or a
 * smuggler, and nothing it sends after deserves an answer.
 */
static void
smtpd_hangup(struct smtpd_session *s, const char *reply, const char *why,
    const char *text)
{
	if (text != NULL)
		log_warn("%s from %s[%s]: %.100s", why, s->name, s->addr, text);
	else
		log_warn("%s from %s[%s] after %s", why, s->name, s->addr,
		    s->ds.last_cmd);
	smtpd_reply(s, "%s", reply);
	smtpd_close(s);
}

bool
smtpd_bare_lf_refused(struct smtpd_session *s, const char *line, size_t len)
{
	/*
	 * RFC 5321 2.3.8: lines end in CRLF. A server that takes a bare LF
	 * as a line end reads a different conversation than one that does
	 * not, and that difference is what SMTP smuggling exploits
	 * (Postfix's smtpd_forbid_bare_newline, CVE-2023-51764).
	 */
	if (s->srv->cfg->smtpd_forbid_bare_newline != SMTPD_BARE_NEWLINE_YES ||
	    !smtp_line_bare_lf(line, len))
		return false;
	smtpd_hangup(s, SMTP_R_BARE_LF_CMD, "disconnect: bare <LF> received",
	    NULL);
	return true;
}

void
smtpd_cmd_line(struct smtpd_session *s, int r, const char *line, size_t len)
{
	struct smtp_cmd cmd;
	const struct smtp_verb *v;

	s->cur_verb = -1;
	if (r < 0) {
		smtpd_reply(s, SMTP_R_LINE_TOO_LONG);
		return;
	}
	if (smtpd_bare_lf_refused(s, line, len))
		return;
	if (smtp_cmd_split(line, len, &cmd) == SMTP_PARSE_NUL) {
		smtpd_reply(s, SMTP_R_NUL_CMD);
		return;
	}
	if (smtpd_forbidden(s, &cmd)) {
		smtpd_hangup(s, SMTP_R_FORBIDDEN_CMD, "non-SMTP command", cmd.text);
		return;
	}
	/* An AUTH initial response is a password: never in the log. */
	log_debug("%s[%s]: < %s", s->name, s->addr,
	    strcmp(cmd.verb, "AUTH") == 0 ? "AUTH ..." : cmd.text);
	v = cmd.verb[0] != '\0' ? smtp_verb_find(smtpd_verbs, cmd.verb) : NULL;
	if (v == NULL) {
		s->count_all[SMTPD_NVERBS]++;
		s->ds.last_cmd = "UNKNOWN";
		smtpd_reply(s, SMTP_R_UNKNOWN_CMD);
		return;
	}
	s->cur_verb = (int)(v - smtpd_verbs);
	s->count_all[s->cur_verb]++;
	s->ds.last_cmd = v->name;
	if (!(v->states & s->state)) {
		smtpd_state_reply(s, v);
		return;
	}
	v->run(s, cmd.arg);
}
