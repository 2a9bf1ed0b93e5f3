/*
 * sasl - server-side SASL PLAIN, LOGIN and CRAM-MD5 exchanges
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

/* lib/util */
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/passwd.h"
#include "mail/sasl.h"

/* LOGIN's prompts, "Username:" and "Password:", as every client expects. */
#define SASL_LOGIN_USER		"VXNlcm5hbWU6"
#define SASL_LOGIN_PASS		"UGFzc3dvcmQ6"

struct sasl {
	enum sasl_mech mech;
	unsigned step;		/* client messages taken so far */
	char *user;		/* login given (LOGIN: after step 1) */
	char *challenge;	/* CRAM-MD5: the challenge we sent, decoded */
};

static const char *const sasl_mech_names[] = {
	[SASL_MECH_PLAIN] = "PLAIN",
	[SASL_MECH_LOGIN] = "LOGIN",
	[SASL_MECH_CRAM_MD5] = "CRAM-MD5",
};

static const char sasl_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool
sasl_mech_find(const char *name, enum sasl_mech *mech_r)
{
	size_t i;

	for (i = 0; i < sizeof(sasl_mech_names) / sizeof(sasl_mech_names[0]); i++)
		if (strcasecmp(name, sasl_mech_names[i]) == 0) {
			*mech_r = (enum sasl_mech)i;
			return true;
		}
	return false;
}

const char *
sasl_mech_name(enum sasl_mech mech)
{
	return sasl_mech_names[mech];
}

char *
sasl_base64_encode(const void *data, size_t len)
{
	const unsigned char *p = data;
	char *out, *o;
	size_t i;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		abort();
	out = o = xmalloc((len + 2) / 3 * 4 + 1);
	for (i = 0; i + 2 < len; i += 3) {
		unsigned long v = (unsigned long)p[i] << 16 | p[i + 1] << 8 | p[i + 2];

		*o++ = sasl_b64[v >> 18 & 63];
		*o++ = sasl_b64[v >> 12 & 63];
		*o++ = sasl_b64[v >> 6 & 63];
		*o++ = sasl_b64[v & 63];
	}
	if (i < len) {
		unsigned long v = (unsigned long)p[i] << 16 |
		    (i + 1 < len ? p[i + 1] << 8 : 0);

		*o++ = sasl_b64[v >> 18 & 63];
		*o++ = sasl_b64[v >> 12 & 63];
		*o++ = i + 1 < len ? sasl_b64[v >> 6 & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

int
sasl_base64_decode(const char *text, unsigned char **data_r, size_t *len_r)
{
	size_t n = strlen(text), i, k, out = 0;
	unsigned char *buf;

	*data_r = NULL;
	*len_r = 0;
	if (n % 4 != 0 || n > SASL_LINE_MAX)
		return -1;
	buf = xmalloc(n / 4 * 3 + 1);
	for (i = 0; i < n; i += 4) {
		unsigned long v = 0;
		unsigned pad = 0;

		for (k = 0; k < 4; k++) {
			const char *c = text[i + k] != '\0' ?
			    strchr(sasl_b64, text[i + k]) : NULL;

			/* "=" only at the end: one or two of them, nothing after. */
			if (text[i + k] == '=' && i + 4 == n && k >= 2 &&
			    (k == 3 || text[i + 3] == '=')) {
				pad++;
				v <<= 6;
				continue;
			}
			if (c == NULL || pad > 0)
				goto bad;
			v = v << 6 | (unsigned long)(c - sasl_b64);
		}
		buf[out++] = (unsigned char)(v >> 16);
		if (pad < 2)
			buf[out++] = (unsigned char)(v >> 8);
		if (pad < 1)
			buf[out++] = (unsigned char)v;
	}
	buf[out] = '\0';
	*data_r = buf;
	*len_r = out;
	return 0;
bad:
	OPENSSL_cleanse(buf, n / 4 * 3 + 1);
	free(buf);
	return -1;
}

/* sasl_wipe_free - overwrite len octets of a decoded secret, then free it */
static void
sasl_wipe_free(unsigned char *buf, size_t len)
{
	if (buf == NULL)
		return;
	OPENSSL_cleanse(buf, len);
	free(buf);
}

/* sasl_plain - "authzid NUL authcid NUL passwd" (RFC 4616) */
static enum sasl_status
sasl_plain(struct sasl *s, const unsigned char *msg, size_t len,
    const struct passwd_table *pw)
{
	const char *authz = (const char *)msg, *authc, *pass;
	size_t la = strlen(authz), lc, lp;

	if (la >= len)
		return SASL_MALFORMED;
	authc = authz + la + 1;
	lc = strlen(authc);
	if (la + 1 + lc >= len)
		return SASL_MALFORMED;
	pass = authc + lc + 1;
	lp = strlen(pass);
	/* Exactly two NULs: anything after the password is not PLAIN. */
	if (la + 1 + lc + 1 + lp != len || lc == 0)
		return SASL_MALFORMED;
	s->user = xstrdup(authc);
	/* We act for nobody else: an authzid must name the same login. */
	if (la > 0 && strcmp(authz, authc) != 0) {
		(void)passwd_verify(pw, NULL, pass);
		return SASL_FAIL;
	}
	return passwd_verify(pw, authc, pass) ? SASL_DONE : SASL_FAIL;
}

/* sasl_cram - "login SP 32 hex digits" (RFC 2195) */
static enum sasl_status
sasl_cram(struct sasl *s, const unsigned char *msg, size_t len,
    const struct passwd_table *pw)
{
	const char *sp = strrchr((const char *)msg, ' ');

	if (strlen((const char *)msg) != len || sp == NULL ||
	    sp == (const char *)msg)
		return SASL_MALFORMED;
	s->user = xstrndup((const char *)msg, (size_t)(sp - (const char *)msg));
	return passwd_cram_verify(pw, s->user, s->challenge, sp + 1) ?
	    SASL_DONE : SASL_FAIL;
}

/* sasl_cram_challenge - "<random.time@hostname>", new in s, base64 in *challenge_r */
static void
sasl_cram_challenge(struct sasl *s, const char *hostname, char **challenge_r)
{
	unsigned char r[8];
	unsigned long long v = 0;
	size_t i;

	/* Unpredictable, so that a recorded response is never good again. */
	if (RAND_bytes(r, sizeof(r)) != 1)
		abort();
	for (i = 0; i < sizeof(r); i++)
		v = v << 8 | r[i];
	s->challenge = xasprintf("<%llu.%lld@%s>", v, (long long)time(NULL),
	    hostname != NULL && *hostname != '\0' ? hostname : "localhost");
	*challenge_r = sasl_base64_encode(s->challenge, strlen(s->challenge));
}

/* sasl_take - one client message (base64 text) for the exchange's next step */
static enum sasl_status
sasl_take(struct sasl *s, const char *text, const struct passwd_table *pw,
    char **challenge_r)
{
	enum sasl_status st = SASL_MALFORMED;
	unsigned char *msg;
	size_t len;

	if (strcmp(text, "*") == 0)
		return SASL_CANCEL;
	/* "=" is an empty initial response; as a later line it is "" too. */
	if (strcmp(text, "=") == 0)
		text = "";
	if (sasl_base64_decode(text, &msg, &len) < 0)
		return SASL_MALFORMED;
	s->step++;
	switch (s->mech) {
	case SASL_MECH_PLAIN:
		st = sasl_plain(s, msg, len, pw);
		break;
	case SASL_MECH_LOGIN:
		if (strlen((char *)msg) != len || (s->step == 1 && len == 0))
			break;
		if (s->step == 1) {
			s->user = xstrdup((char *)msg);
			*challenge_r = xstrdup(SASL_LOGIN_PASS);
			st = SASL_CONTINUE;
		} else
			st = passwd_verify(pw, s->user, (char *)msg) ?
			    SASL_DONE : SASL_FAIL;
		break;
	case SASL_MECH_CRAM_MD5:
		st = sasl_cram(s, msg, len, pw);
		break;
	}
	sasl_wipe_free(msg, len);
	return st;
}

enum sasl_status
sasl_start(enum sasl_mech mech, const char *initial, const char *hostname,
    const struct passwd_table *pw, struct sasl **sasl_r, char **challenge_r)
{
	struct sasl *s = xcalloc(1, sizeof(*s));

	s->mech = mech;
	*sasl_r = s;
	*challenge_r = NULL;
	if (initial == NULL) {
		switch (mech) {
		case SASL_MECH_PLAIN:
			*challenge_r = xstrdup("");
			break;
		case SASL_MECH_LOGIN:
			*challenge_r = xstrdup(SASL_LOGIN_USER);
			break;
		case SASL_MECH_CRAM_MD5:
			sasl_cram_challenge(s, hostname, challenge_r);
			break;
		}
		return SASL_CONTINUE;
	}
	/* CRAM-MD5 starts with the server's challenge: no initial response. */
	if (mech == SASL_MECH_CRAM_MD5)
		return strcmp(initial, "*") == 0 ? SASL_CANCEL : SASL_MALFORMED;
	return sasl_take(s, initial, pw, challenge_r);
}

enum sasl_status
sasl_step(struct sasl *s, const char *line, const struct passwd_table *pw,
    char **challenge_r)
{
	*challenge_r = NULL;
	return sasl_take(s, line, pw, challenge_r);
}

const char *
sasl_user(const struct sasl *s)
{
	return s->user;
}

enum sasl_mech
sasl_mech(const struct sasl *s)
{
	return s->mech;
}

void
sasl_free(struct sasl **sp)
{
	struct sasl *s = *sp;

	if (s == NULL)
		return;
	free(s->user);
	free(s->challenge);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
	*sp = NULL;
}
