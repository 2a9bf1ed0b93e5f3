/*
 * odmr_client - log in to an ODMR server, send ATRN, turn the connection
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* lib/util */
#include "util/tls.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/odmr_client_int.h"
#include "mail/sasl.h"
#include "mail/smtp_cmd.h"

/* The exit code of each failure (sysexits.h), as the header lists them. */
static const int oc_exit_codes[] = {
	[OC_OK] = EX_OK,
	[OC_USAGE] = EX_USAGE,
	[OC_NOHOST] = EX_NOHOST,
	[OC_TEMP] = EX_TEMPFAIL,
	[OC_NOPERM] = EX_NOPERM,
	[OC_REFUSED] = EX_UNAVAILABLE,
	[OC_LOCAL] = EX_SOFTWARE,
};

void
oc_log(struct oc_session *ss, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (ss->o->log != NULL)
		ss->o->log(ss->o->log_ctx, line);
	else
		fprintf(stderr, "sluice-turn: %s\n", line);
}

int
oc_fail(struct oc_session *ss, enum oc_why why, const char *fmt, ...)
{
	va_list ap;

	if (ss->why != OC_OK)
		return -1;
	ss->why = why;
	va_start(ap, fmt);
	vsnprintf(ss->r->error, sizeof(ss->r->error), fmt, ap);
	va_end(ap);
	return -1;
}

/* oc_expect - fail unless the reply to what has class want (2, 3) */
static int
oc_expect(struct oc_session *ss, const struct oc_reply *rep, int want,
    const char *what)
{
	char flat[OC_REPLY_MAX];

	if (rep->code / 100 == want)
		return 0;
	oc_reply_flat(rep, flat, sizeof(flat));
	/* A class no command here takes (354 to EHLO) is out of protocol. */
	return oc_fail(ss, OC_TEMP, "%s %s: %s%.150s", what, ss->srv->name,
	    rep->code / 100 == 4 || rep->code / 100 == 5 ? "" :
	    "protocol error: ", flat);
}

/* oc_srv_cmd - one command to the server and its reply; -1 on I/O failure */
static int
oc_srv_cmd(struct oc_session *ss, const char *line, struct oc_reply *rep)
{
	if (oc_command(ss->srv, line, rep) < 0)
		return oc_fail(ss, OC_TEMP, "%s", ss->srv->err);
	return 0;
}

/* oc_ehlo - EHLO, and what the server offers; 0/-1 */
static int
oc_ehlo(struct oc_session *ss)
{
	struct oc_reply rep;
	char line[300];
	uint64_t size;

	snprintf(line, sizeof(line), "EHLO %s", ss->helo);
	if (oc_srv_cmd(ss, line, &rep) < 0 || oc_expect(ss, &rep, 2, "EHLO to") < 0)
		return -1;
	ss->srv_ext = oc_ehlo_ext(&rep, &size);
	return 0;
}

/* oc_tls_start - TLS on the server connection; 0/-1 */
static int
oc_tls_start(struct oc_session *ss)
{
	int rc = oc_conn_tls(ss->srv, ss->tls_ctx, ss->o->server, ss->o->verify);

	if (rc < 0)
		return oc_fail(ss, rc == -2 ? OC_NOPERM : OC_TEMP, "%s",
		    ss->srv->err);
	ss->tls_on = true;
	return 0;
}

/* oc_starttls - STARTTLS as the mode asks (RFC 3207), then EHLO again */
static int
oc_starttls(struct oc_session *ss)
{
	struct oc_reply rep;
	char flat[OC_REPLY_MAX];

	if (ss->tls_on || ss->o->tls == ODMR_TLS_NONE)
		return 0;
	if ((ss->srv_ext & OC_EXT_STARTTLS) == 0) {
		if (ss->o->tls == ODMR_TLS_REQUIRED)
			return oc_fail(ss, OC_NOPERM, "%s does not offer STARTTLS "
			    "and TLS is required", ss->srv->name);
		return 0;
	}
	if (oc_srv_cmd(ss, "STARTTLS", &rep) < 0)
		return -1;
	if (rep.code != 220) {
		if (ss->o->tls == ODMR_TLS_REQUIRED || rep.code / 100 == 2 ||
		    rep.code / 100 == 3)
			return oc_expect(ss, &rep, 0, "STARTTLS to");
		/* Opportunistic: a refused STARTTLS leaves us in the clear. */
		oc_log(ss, "atrn: %s: STARTTLS refused, going on in the clear: "
		    "%.150s", ss->srv->name, oc_reply_flat(&rep, flat,
		    sizeof(flat)));
		return 0;
	}
	if (oc_tls_start(ss) < 0)
		return -1;
	/* RFC 3207 4.2: forget what was offered in the clear. */
	return oc_ehlo(ss);
}

/* oc_auth_cram - CRAM-MD5 (RFC 2195): the response to the challenge */
static char *
oc_auth_cram(struct oc_session *ss, const char *challenge64)
{
	unsigned char *chal, mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0, i;
	size_t clen;
	char hex[2 * EVP_MAX_MD_SIZE + 1], *resp, *b64;
	size_t rlen;

	if (sasl_base64_decode(challenge64, &chal, &clen) < 0)
		return NULL;
	if (HMAC(EVP_md5(), ss->o->password, (int)strlen(ss->o->password), chal,
	    clen, mac, &maclen) == NULL) {
		free(chal);
		return NULL;
	}
	free(chal);
	for (i = 0; i < maclen; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	rlen = strlen(ss->o->user) + 1 + 2 * maclen;
	resp = xmalloc(rlen + 1);
	snprintf(resp, rlen + 1, "%s %s", ss->o->user, hex);
	b64 = sasl_base64_encode(resp, rlen);
	OPENSSL_cleanse(resp, rlen);
	OPENSSL_cleanse(mac, sizeof(mac));
	free(resp);
	return b64;
}

/* oc_auth_plain - PLAIN's message (RFC 4616): "\0user\0password" */
static char *
oc_auth_plain(struct oc_session *ss, const char *challenge64)
{
	size_t ulen = strlen(ss->o->user), plen = strlen(ss->o->password);
	char *msg = xmalloc(ulen + plen + 2), *b64;

	(void)challenge64;
	msg[0] = '\0';
	memcpy(msg + 1, ss->o->user, ulen);
	msg[1 + ulen] = '\0';
	memcpy(msg + 2 + ulen, ss->o->password, plen);
	b64 = sasl_base64_encode(msg, ulen + plen + 2);
	OPENSSL_cleanse(msg, ulen + plen + 2);
	free(msg);
	return b64;
}

/* oc_auth_login - LOGIN: the user name, then the password */
static char *
oc_auth_login(struct oc_session *ss, const char *challenge64)
{
	(void)challenge64;
	return sasl_base64_encode(ss->o->user, strlen(ss->o->user));
}

/* oc_auth_login2 - LOGIN's second step: the password */
static char *
oc_auth_login2(struct oc_session *ss, const char *challenge64)
{
	(void)challenge64;
	return sasl_base64_encode(ss->o->password, strlen(ss->o->password));
}

typedef char *oc_auth_step(struct oc_session *ss, const char *challenge64);

/*
 * The mechanisms in the order we prefer them. PLAIN and LOGIN carry the
 * password itself, so they are never used outside TLS, whatever the
 * server offers. Each step answers one 334 challenge.
 */
static const struct oc_mech {
	const char *name;
	unsigned bit;
	bool needs_tls;
	oc_auth_step *steps[2];
} oc_mechs[] = {
	{ "CRAM-MD5", OC_EXT_AUTH_CRAM, false, { oc_auth_cram, NULL } },
	{ "PLAIN", OC_EXT_AUTH_PLAIN, true, { oc_auth_plain, NULL } },
	{ "LOGIN", OC_EXT_AUTH_LOGIN, true, { oc_auth_login, oc_auth_login2 } },
};

/* oc_word_ok - a non-empty printable word without space: safe on a command line */
static bool
oc_word_ok(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (!isgraph((unsigned char)s[n]) || n >= max)
			return false;
	return n > 0;
}

/* oc_domain_ok - letters, digits, '-' and '.': what ATRN's list may hold */
static bool
oc_domain_ok(const char *d)
{
	size_t n = strlen(d);

	return n > 0 && n <= 253 && strspn(d, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") == n && d[0] != '.' &&
	    d[0] != '-';
}

/* oc_opts_check - the options, before anything is sent; 0/-1 */
static int
oc_opts_check(struct oc_session *ss)
{
	const struct odmr_client_opts *o = ss->o;
	size_t i;

	if (o->server == NULL || !oc_word_ok(o->server, 255))
		return oc_fail(ss, OC_USAGE, "no ODMR server named, or a bad name");
	if (o->user == NULL || !oc_word_ok(o->user, 255) || o->password == NULL
	    || o->password[0] == '\0' || strlen(o->password) > 1000)
		return oc_fail(ss, OC_USAGE, "an ODMR login needs a user name "
		    "(printable, no space) and a password");
	if (o->port > 65535 || o->mta_port > 65535 || o->timeout < 0 ||
	    (unsigned)o->tls > ODMR_TLS_WRAP)
		return oc_fail(ss, OC_USAGE, "bad port, timeout or TLS mode");
	if (o->mta_host != NULL && !oc_word_ok(o->mta_host, 255))
		return oc_fail(ss, OC_USAGE, "bad MTA host name");
	if (!oc_word_ok(ss->helo, 255))
		return oc_fail(ss, OC_USAGE, "bad HELO name \"%s\"", ss->helo);
	for (i = 0; o->auth_mech != NULL && i < sizeof(oc_mechs) /
	    sizeof(oc_mechs[0]); i++)
		if (strcasecmp(o->auth_mech, oc_mechs[i].name) == 0)
			break;
	if (o->auth_mech != NULL && i == sizeof(oc_mechs) / sizeof(oc_mechs[0]))
		return oc_fail(ss, OC_USAGE, "unknown AUTH mechanism \"%.50s\": "
		    "CRAM-MD5, PLAIN or LOGIN", o->auth_mech);
	if (o->ndomains > 100)
		return oc_fail(ss, OC_USAGE, "at most 100 domains in one ATRN");
	for (i = 0; i < o->ndomains; i++)
		if (!oc_domain_ok(o->domains[i]))
			return oc_fail(ss, OC_USAGE, "bad domain \"%.100s\": "
			    "letters, digits, '-' and '.' only", o->domains[i]);
	return 0;
}

/* oc_auth - AUTH with the best mechanism offered that is safe here */
static int
oc_auth(struct oc_session *ss)
{
	const struct oc_mech *m = NULL;
	struct oc_reply rep;
	char line[64], flat[OC_REPLY_MAX], *resp;
	bool withheld = false;
	size_t i, step;

	for (i = 0; i < sizeof(oc_mechs) / sizeof(oc_mechs[0]) && m == NULL; i++) {
		if ((ss->srv_ext & oc_mechs[i].bit) == 0 ||
		    (ss->o->auth_mech != NULL &&
		    strcasecmp(ss->o->auth_mech, oc_mechs[i].name) != 0))
			continue;
		if (oc_mechs[i].needs_tls && !ss->tls_on)
			withheld = true;
		else
			m = &oc_mechs[i];
	}
	if (m == NULL)
		return oc_fail(ss, OC_NOPERM, withheld ? "%s offers only "
		    "PLAIN/LOGIN, and not inside TLS: the password is not sent "
		    "in the clear" : "%s offers no AUTH mechanism we may use "
		    "(CRAM-MD5, PLAIN, LOGIN, or the one asked for)",
		    ss->srv->name);
	snprintf(line, sizeof(line), "AUTH %s", m->name);
	if (oc_srv_cmd(ss, line, &rep) < 0)
		return -1;
	for (step = 0; rep.code == 334; step++) {
		/* A challenge beyond the mechanism's steps is out of protocol. */
		if (step >= 2 || m->steps[step] == NULL ||
		    (resp = m->steps[step](ss, rep.text + (rep.text[3] == ' ' ?
		    4 : 3))) == NULL) {
			(void)oc_printf(ss->srv, "*");
			return oc_fail(ss, OC_TEMP, "AUTH %s with %s: protocol "
			    "error: unexpected challenge %.80s", m->name,
			    ss->srv->name, rep.text);
		}
		if (oc_command(ss->srv, resp, &rep) < 0) {
			OPENSSL_cleanse(resp, strlen(resp));
			free(resp);
			return oc_fail(ss, OC_TEMP, "%s", ss->srv->err);
		}
		OPENSSL_cleanse(resp, strlen(resp));
		free(resp);
	}
	if (rep.code == 235)
		return 0;
	oc_reply_flat(&rep, flat, sizeof(flat));
	if (rep.code / 100 == 5)
		return oc_fail(ss, OC_NOPERM, "login as %s refused by %s: %.150s",
		    ss->o->user, ss->srv->name, flat);
	return oc_expect(ss, &rep, 0, "AUTH to");
}

/* oc_atrn - ATRN; 1 when the connection turned, 0 for "no mail", -1 */
static int
oc_atrn(struct oc_session *ss)
{
	char line[SMTP_CMD_LINE_MAX], flat[OC_REPLY_MAX];
	struct oc_reply rep;
	size_t i, n;

	n = (size_t)snprintf(line, sizeof(line), "ATRN");
	for (i = 0; i < ss->o->ndomains && n < sizeof(line); i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%c%s",
		    i == 0 ? ' ' : ',', ss->o->domains[i]);
	if (n >= sizeof(line) - 2)
		return oc_fail(ss, OC_USAGE, "the domain list is too long for "
		    "one ATRN command");
	if (oc_srv_cmd(ss, line, &rep) < 0)
		return -1;
	oc_reply_flat(&rep, flat, sizeof(flat));
	oc_log(ss, "atrn: %s: %s: %.200s", ss->srv->name, line, flat);
	if (rep.code == 453)
		return 0;
	if (rep.code / 100 == 5)
		return oc_fail(ss, rep.code == 530 ? OC_NOPERM : OC_REFUSED,
		    "%s refused ATRN: %.150s", ss->srv->name, flat);
	if (rep.code != 250)
		return oc_expect(ss, &rep, 0, "ATRN to");
	/* RFC 2645 4.3: the server waits for our 220; it may not speak first. */
	if (oc_pending(ss->srv))
		return oc_fail(ss, OC_TEMP, "protocol error: %s sent data before "
		    "our greeting", ss->srv->name);
	return 1;
}

/* oc_session_run - connect, log in, ATRN, serve; 0/-1 */
static int
oc_session_run(struct oc_session *ss)
{
	const struct odmr_client_opts *o = ss->o;
	struct oc_reply rep;
	char err[300];
	enum oc_why why;
	int rc;

	if (o->tls != ODMR_TLS_NONE) {
		char *e = NULL;

		if ((ss->tls_ctx = tls_client_ctx_new(o->verify, &e)) == NULL ||
		    (o->ca_file != NULL && SSL_CTX_load_verify_locations(
		    ss->tls_ctx, o->ca_file, NULL) != 1)) {
			oc_fail(ss, OC_LOCAL, "TLS client context: %s",
			    e != NULL ? e : o->ca_file);
			free(e);
			return -1;
		}
	}
	/* The MTA first: when it is down, release nothing. */
	if (oc_mta_open(ss, err, sizeof(err)) < 0)
		return oc_fail(ss, OC_TEMP, "local MTA: %s; not turning", err);
	ss->srv = oc_conn_open(o->server, o->port != 0 ? o->port :
	    ODMR_CLIENT_PORT, ss->timeout_ms, &why, err, sizeof(err));
	if (ss->srv == NULL)
		return oc_fail(ss, why, "%s", err);
	if (o->tls == ODMR_TLS_WRAP && oc_tls_start(ss) < 0)
		return -1;
	if (oc_reply_read(ss->srv, &rep) < 0)
		return oc_fail(ss, OC_TEMP, "%s", ss->srv->err);
	if (rep.code != 220)
		return oc_expect(ss, &rep, 0, "greeting of");
	if (oc_ehlo(ss) < 0 || oc_starttls(ss) < 0 || oc_auth(ss) < 0)
		return -1;
	if ((rc = oc_atrn(ss)) <= 0)
		return rc;
	return oc_turn_serve(ss);
}

int
odmr_client_run(const struct odmr_client_opts *o,
    struct odmr_client_result *r)
{
	struct oc_session ss = { .o = o, .r = r };
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	int code;

	memset(r, 0, sizeof(*r));
	ss.helo = o->helo_name;
	if (ss.helo == NULL) {
		if (gethostname(ss.helo_buf, sizeof(ss.helo_buf) - 1) < 0)
			snprintf(ss.helo_buf, sizeof(ss.helo_buf), "localhost");
		ss.helo = ss.helo_buf;
	}
	ss.timeout_ms = (uint64_t)(o->timeout > 0 ? o->timeout :
	    ODMR_CLIENT_TIMEOUT) * 1000u;
	/* A peer that closes must be an error return, not a SIGPIPE. */
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, &old);
	if (oc_opts_check(&ss) == 0)
		(void)oc_session_run(&ss);
	oc_conn_free(&ss.srv);
	oc_mta_close(&ss, ss.why == OC_OK);
	tls_ctx_free(&ss.tls_ctx);
	sigaction(SIGPIPE, &old, NULL);
	if (ss.why == OC_OK && r->deferred > 0)
		oc_fail(&ss, OC_TEMP, "%lu recipient%s deferred: they wait at the "
		    "server for the next session", r->deferred,
		    r->deferred == 1 ? "" : "s");
	code = oc_exit_codes[ss.why];
	oc_log(&ss, "atrn: %s: user=%s, messages=%lu, recipients=%lu, "
	    "refused=%lu, deferred=%lu, status=%s%s%s", o->server != NULL ?
	    o->server : "?", o->user != NULL ? o->user : "?", r->messages,
	    r->recipients, r->refused, r->deferred, code == 0 ? "done" :
	    "failed", code == 0 ? "" : ": ", r->error);
	return code;
}
