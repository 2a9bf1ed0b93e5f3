/*
 * passwd - customer credentials: crypt(3) hashes and CRAM-MD5 secrets
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <crypt.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/md5.h>

/* lib/util */
#include "util/htable.h"
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/passwd.h"

/* The longest line we read; a yescrypt line is about 170 octets. */
#define PASSWD_LINE_MAX		4096
#define PASSWD_MD5_BLOCK	64
#define PASSWD_MD5_LEN		16
/* The hash prefix `sluice passwd` writes: yescrypt, libxcrypt's default cost. */
#define PASSWD_HASH_PREFIX	"$y$"

struct passwd_entry {
	char *hash;		/* crypt(3) hash, or a locked marker */
	bool has_cram;
	uint32_t cram_outer[4];	/* MD5 state after key ^ opad */
	uint32_t cram_inner[4];	/* MD5 state after key ^ ipad */
};

struct passwd_table {
	struct htable *logins;	/* login -> struct passwd_entry */
	char *dummy;		/* a setting to hash unknown logins with */
	bool exists;		/* the file was there when loaded */
	struct stat st;		/* of the file as loaded */
};

/* passwd_wipe_free - overwrite a secret string, then free it */
static void
passwd_wipe_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

/*
 * passwd_md5 - MD5 over data, resumed from state (NULL: from the start,
 * else as if one 64-octet block had gone before). Stores the chaining
 * state after data in state_r (len a multiple of 64), or else the digest
 * in digest_r.
 *
 * XXX OpenSSL 3 deprecates the low-level MD5 interface, but EVP can
 * neither start from a given chaining state nor give one out, and those
 * states are exactly what a CRAM-MD5 secret is (so that no plaintext
 * password need be stored). This is the one place that uses it.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static void
passwd_md5(const uint32_t *state, const unsigned char *data, size_t len,
    uint32_t *state_r, unsigned char *digest_r)
{
	MD5_CTX c;

	MD5_Init(&c);
	if (state != NULL) {
		c.A = state[0];
		c.B = state[1];
		c.C = state[2];
		c.D = state[3];
		c.Nl = PASSWD_MD5_BLOCK * 8;
	}
	MD5_Update(&c, data, len);
	if (state_r != NULL) {
		state_r[0] = c.A;
		state_r[1] = c.B;
		state_r[2] = c.C;
		state_r[3] = c.D;
	} else
		MD5_Final(digest_r, &c);
	OPENSSL_cleanse(&c, sizeof(c));
}
#pragma GCC diagnostic pop

/* passwd_cram_states - the HMAC-MD5 pad-block states for password */
static void
passwd_cram_states(const char *password, uint32_t outer[4], uint32_t inner[4])
{
	unsigned char key[PASSWD_MD5_BLOCK] = { 0 }, pad[PASSWD_MD5_BLOCK];
	size_t len = strlen(password), i;

	/* RFC 2104: a key longer than the block is hashed first. */
	if (len > PASSWD_MD5_BLOCK)
		passwd_md5(NULL, (const unsigned char *)password, len, NULL, key);
	else
		memcpy(key, password, len);
	for (i = 0; i < PASSWD_MD5_BLOCK; i++)
		pad[i] = key[i] ^ 0x36;
	passwd_md5(NULL, pad, sizeof(pad), inner, NULL);
	for (i = 0; i < PASSWD_MD5_BLOCK; i++)
		pad[i] = key[i] ^ 0x5c;
	passwd_md5(NULL, pad, sizeof(pad), outer, NULL);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(pad, sizeof(pad));
}

/* passwd_hexval - the value of one hex digit, or -1 */
static int
passwd_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* passwd_words_put - 4 words as 32 lowercase hex digits, little-endian */
static void
passwd_words_put(const uint32_t w[4], char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, b;

	for (i = 0; i < 4; i++)
		for (b = 0; b < 4; b++) {
			unsigned v = (w[i] >> (8 * b)) & 0xffu;

			*out++ = hex[v >> 4];
			*out++ = hex[v & 0xf];
		}
}

/* passwd_words_get - 32 hex digits into 4 words, little-endian; 0/-1 */
static int
passwd_words_get(const char *in, uint32_t w[4])
{
	size_t i, b;

	for (i = 0; i < 4; i++) {
		w[i] = 0;
		for (b = 0; b < 4; b++) {
			int hi = passwd_hexval(in[0]), lo = hi < 0 ? -1 :
			    passwd_hexval(in[1]);

			if (hi < 0 || lo < 0)
				return -1;
			w[i] |= (uint32_t)(hi << 4 | lo) << (8 * b);
			in += 2;
		}
	}
	return 0;
}

char *
passwd_cram_secret(const char *password)
{
	uint32_t outer[4], inner[4];
	char *hex = xmalloc(PASSWD_CRAM_HEX_LEN + 1);

	passwd_cram_states(password, outer, inner);
	/* Outer first, then inner: the order of Dovecot's CRAM-MD5 scheme. */
	passwd_words_put(outer, hex);
	passwd_words_put(inner, hex + PASSWD_CRAM_HEX_LEN / 2);
	hex[PASSWD_CRAM_HEX_LEN] = '\0';
	OPENSSL_cleanse(outer, sizeof(outer));
	OPENSSL_cleanse(inner, sizeof(inner));
	return hex;
}

bool
passwd_login_ok(const char *login)
{
	size_t n = strlen(login), i;

	if (n == 0 || n > PASSWD_LOGIN_MAX || login[0] == '-')
		return false;
	for (i = 0; i < n; i++) {
		char c = login[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("._@+-", c) != NULL))
			return false;
	}
	return true;
}

/* passwd_hash_ok - a crypt(3) hash field: printable, no ':' */
static bool
passwd_hash_ok(const char *hash)
{
	if (*hash == '\0')
		return false;
	for (; *hash != '\0'; hash++)
		if (*hash <= ' ' || *hash > '~' || *hash == ':')
			return false;
	return true;
}

/* passwd_entry_free - wipe and free one entry */
static int
passwd_entry_free(const char *key, void *value, void *ctx)
{
	struct passwd_entry *e = value;

	passwd_wipe_free(e->hash);
	OPENSSL_cleanse(e, sizeof(*e));
	free(e);
	return 0;
}

void
passwd_table_free(struct passwd_table **tp)
{
	struct passwd_table *t = *tp;

	if (t == NULL)
		return;
	htable_walk(t->logins, passwd_entry_free, NULL);
	htable_free(&t->logins);
	free(t->dummy);
	free(t);
	*tp = NULL;
}

/* passwd_parse_line - one "login:hash:secret" line into t; 0/-1 (error added) */
static int
passwd_parse_line(struct passwd_table *t, char *line, const char *path,
    unsigned lineno, struct config_errors *errs)
{
	char *login = line, *hash, *cram;
	struct passwd_entry *e;

	hash = strchr(login, ':');
	cram = hash != NULL ? strchr(hash + 1, ':') : NULL;
	if (cram == NULL || strchr(cram + 1, ':') != NULL) {
		config_errors_add(errs, "%s:%u: want login:crypt-hash:cram-md5-secret",
		    path, lineno);
		return -1;
	}
	*hash++ = '\0';
	*cram++ = '\0';
	if (!passwd_login_ok(login)) {
		config_errors_add(errs, "%s:%u: bad login \"%.64s\": use 1 to %d of "
		    "letters, digits and ._@+-", path, lineno, login, PASSWD_LOGIN_MAX);
		return -1;
	}
	if (htable_get(t->logins, login) != NULL) {
		config_errors_add(errs, "%s:%u: login %s given twice", path, lineno,
		    login);
		return -1;
	}
	if (!passwd_hash_ok(hash)) {
		config_errors_add(errs, "%s:%u: bad crypt hash for %s: write the "
		    "line with `sluice passwd %s`", path, lineno, login, login);
		return -1;
	}
	e = xcalloc(1, sizeof(*e));
	if (*cram != '\0') {
		if (strlen(cram) != PASSWD_CRAM_HEX_LEN ||
		    passwd_words_get(cram, e->cram_outer) < 0 ||
		    passwd_words_get(cram + PASSWD_CRAM_HEX_LEN / 2,
		    e->cram_inner) < 0) {
			config_errors_add(errs, "%s:%u: bad CRAM-MD5 secret for %s: "
			    "want %d hex digits or nothing", path, lineno, login,
			    PASSWD_CRAM_HEX_LEN);
			free(e);
			return -1;
		}
		e->has_cram = true;
	}
	e->hash = xstrdup(hash);
	/* Unknown logins are hashed like the first real one: same cost. */
	if (t->dummy == NULL && hash[0] == '$')
		t->dummy = xstrdup(hash);
	htable_put(t->logins, login, e);
	return 0;
}

int
passwd_load(const char *path, struct passwd_table **t_r,
    struct config_errors *errs)
{
	struct passwd_table *t = xcalloc(1, sizeof(*t));
	char *line = NULL;
	size_t cap = 0, nerr = errs->n;
	unsigned lineno = 0;
	ssize_t len;
	FILE *fp;

	*t_r = NULL;
	t->logins = htable_new();
	fp = fopen(path, "re");
	if (fp == NULL) {
		if (errno == ENOENT) {
			*t_r = t;
			return 0;
		}
		config_errors_add(errs, "%s: open: %s", path, strerror(errno));
		passwd_table_free(&t);
		return -1;
	}
	t->exists = true;
	if (fstat(fileno(fp), &t->st) < 0)
		config_errors_add(errs, "%s: stat: %s", path, strerror(errno));
	while ((len = getline(&line, &cap, fp)) > 0) {
		char *p;

		lineno++;
		if ((size_t)len > PASSWD_LINE_MAX) {
			config_errors_add(errs, "%s:%u: line longer than %d octets",
			    path, lineno, PASSWD_LINE_MAX);
			continue;
		}
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
		    line[len - 1] == ' ' || line[len - 1] == '\t'))
			line[--len] = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '\0' || *p == '#')
			continue;
		(void)passwd_parse_line(t, p, path, lineno, errs);
	}
	if (ferror(fp))
		config_errors_add(errs, "%s: read: %s", path, strerror(errno));
	if (line != NULL)
		OPENSSL_cleanse(line, cap);
	free(line);
	(void)fclose(fp);
	if (errs->n > nerr) {
		passwd_table_free(&t);
		return -1;
	}
	*t_r = t;
	return 0;
}

int
passwd_reload(struct passwd_table **tp, const char *path, bool force)
{
	struct config_errors errs = { 0 };
	struct passwd_table *t;
	struct stat st;
	bool exists = stat(path, &st) == 0;
	size_t i;

	if (!force && *tp != NULL && exists == (*tp)->exists &&
	    (!exists || (st.st_ino == (*tp)->st.st_ino &&
	    st.st_dev == (*tp)->st.st_dev && st.st_size == (*tp)->st.st_size &&
	    st.st_mtim.tv_sec == (*tp)->st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == (*tp)->st.st_mtim.tv_nsec)))
		return 0;
	if (passwd_load(path, &t, &errs) < 0) {
		for (i = 0; i < errs.n; i++)
			log_warn("load passwd file: %s", errs.msg[i]);
		log_warn("load passwd file %s: %zu errors; %s", path, errs.n,
		    *tp != NULL ? "keeping the logins loaded before" :
		    "no logins until it is fixed");
		config_errors_clear(&errs);
		if (*tp == NULL) {
			*tp = xcalloc(1, sizeof(**tp));
			(*tp)->logins = htable_new();
		}
		/* Report this version of the file once, not at every login. */
		(*tp)->exists = exists;
		if (exists)
			(*tp)->st = st;
		return -1;
	}
	config_errors_clear(&errs);
	passwd_table_free(tp);
	*tp = t;
	return 1;
}

size_t
passwd_count(const struct passwd_table *t)
{
	return t != NULL ? htable_count(t->logins) : 0;
}

bool
passwd_has(const struct passwd_table *t, const char *login)
{
	return t != NULL && htable_get(t->logins, login) != NULL;
}

/* passwd_crypt_eq - does password hash to hash under its own setting? */
static bool
passwd_crypt_eq(const char *password, const char *hash)
{
	void *data = NULL;
	int size = 0;
	const char *got = crypt_ra(password, hash, &data, &size);
	bool eq = false;

	/* libxcrypt returns NULL or a "*"-string for a setting it refuses. */
	if (got != NULL && got[0] != '*' && strlen(got) == strlen(hash))
		eq = CRYPTO_memcmp(got, hash, strlen(hash)) == 0;
	if (data != NULL)
		OPENSSL_cleanse(data, (size_t)size);
	free(data);
	return eq;
}

/* passwd_dummy_setting - a yescrypt setting for logins that do not exist */
static const char *
passwd_dummy_setting(const struct passwd_table *t)
{
	static char *made;

	if (t != NULL && t->dummy != NULL)
		return t->dummy;
	if (made == NULL)
		made = crypt_gensalt_ra(PASSWD_HASH_PREFIX, 0, NULL, 0);
	return made != NULL ? made : PASSWD_HASH_PREFIX;
}

bool
passwd_verify(const struct passwd_table *t, const char *login,
    const char *password)
{
	const struct passwd_entry *e = t != NULL && login != NULL ?
	    htable_get(t->logins, login) : NULL;

	if (password == NULL || strlen(password) > PASSWD_PASSWORD_MAX)
		return false;
	/*
	 * An unknown or locked login costs the same crypt(3) run as a real
	 * one, so that the time of a failure says nothing about the login.
	 */
	if (e == NULL || e->hash[0] != '$') {
		(void)passwd_crypt_eq(password, passwd_dummy_setting(t));
		return false;
	}
	return passwd_crypt_eq(password, e->hash);
}

bool
passwd_cram_verify(const struct passwd_table *t, const char *login,
    const char *challenge, const char *response_hex)
{
	static const uint32_t zero[4];
	const struct passwd_entry *e = t != NULL && login != NULL ?
	    htable_get(t->logins, login) : NULL;
	unsigned char inner[PASSWD_MD5_LEN], mac[PASSWD_MD5_LEN];
	char want[2 * PASSWD_MD5_LEN], got[2 * PASSWD_MD5_LEN];
	bool known = e != NULL && e->has_cram;
	size_t i;

	if (strlen(response_hex) != sizeof(got))
		return false;
	for (i = 0; i < sizeof(got); i++) {
		char c = response_hex[i];

		if (passwd_hexval(c) < 0)
			return false;
		got[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
	}
	/* The same work for an unknown login as for a known one. */
	passwd_md5(known ? e->cram_inner : zero, (const unsigned char *)challenge,
	    strlen(challenge), NULL, inner);
	passwd_md5(known ? e->cram_outer : zero, inner, sizeof(inner), NULL, mac);
	for (i = 0; i < PASSWD_MD5_LEN; i++) {
		static const char hex[] = "0123456789abcdef";

		want[2 * i] = hex[mac[i] >> 4];
		want[2 * i + 1] = hex[mac[i] & 0xf];
	}
	return CRYPTO_memcmp(want, got, sizeof(want)) == 0 && known;
}

int
passwd_entry_make(const char *login, const char *password, char **line_r,
    const char **why_r)
{
	void *data = NULL;
	int size = 0;
	char *salt, *cram;
	const char *hash;

	*line_r = NULL;
	if (!passwd_login_ok(login)) {
		*why_r = "bad login: use 1 to 64 of letters, digits and ._@+-";
		return -1;
	}
	if (strlen(password) > PASSWD_PASSWORD_MAX ||
	    strpbrk(password, "\r\n") != NULL) {
		*why_r = "bad password: at most 1024 octets, no line breaks";
		return -1;
	}
	salt = crypt_gensalt_ra(PASSWD_HASH_PREFIX, 0, NULL, 0);
	if (salt == NULL) {
		*why_r = "cannot make a yescrypt salt (libxcrypt)";
		return -1;
	}
	hash = crypt_ra(password, salt, &data, &size);
	free(salt);
	if (hash == NULL || hash[0] != '$' || !passwd_hash_ok(hash)) {
		*why_r = "crypt(3) failed (libxcrypt without yescrypt?)";
		free(data);
		return -1;
	}
	cram = passwd_cram_secret(password);
	*line_r = xasprintf("%s:%s:%s", login, hash, cram);
	passwd_wipe_free(cram);
	OPENSSL_cleanse(data, (size_t)size);
	free(data);
	return 0;
}

struct passwd_table *
passwd_table_cram(const char *login, const char *password)
{
	struct passwd_table *t = xcalloc(1, sizeof(*t));
	struct passwd_entry *e = xcalloc(1, sizeof(*e));

	t->logins = htable_new();
	/* "*": locked for PLAIN and LOGIN; only the CRAM-MD5 secret counts. */
	e->hash = xstrdup("*");
	e->has_cram = true;
	passwd_cram_states(password, e->cram_outer, e->cram_inner);
	htable_put(t->logins, login, e);
	return t;
}

char *
passwd_cram_response(const char *password, const char *challenge)
{
	static const char hex[] = "0123456789abcdef";
	uint32_t outer[4], inner[4];
	unsigned char in[PASSWD_MD5_LEN], mac[PASSWD_MD5_LEN];
	char *out = xmalloc(2 * PASSWD_MD5_LEN + 1);
	size_t i;

	passwd_cram_states(password, outer, inner);
	passwd_md5(inner, (const unsigned char *)challenge, strlen(challenge), NULL, in);
	passwd_md5(outer, in, sizeof(in), NULL, mac);
	for (i = 0; i < PASSWD_MD5_LEN; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 0xf];
	}
	out[2 * PASSWD_MD5_LEN] = '\0';
	OPENSSL_cleanse(outer, sizeof(outer));
	OPENSSL_cleanse(inner, sizeof(inner));
	return out;
}
