/*
 * passwd - customer credentials (sluice-passwd(5)).
 *
 * One line per customer, "#" comments and blank lines ignored:
 *
 *	login:crypt-hash:cram-md5-secret
 *
 *	login		1 to 64 of [A-Za-z0-9._@+-], not starting with "-"
 *	crypt-hash	a crypt(3) hash from libxcrypt (yescrypt "$y$..." as
 *			written by `sluice passwd`); "*" or "!..." locks the
 *			login for PLAIN, LOGIN and the web page
 *	cram-md5-secret	64 hex digits, the HMAC-MD5 state after the outer
 *			and after the inner pad block (4 little-endian 32-bit
 *			words each, outer first: Dovecot's CRAM-MD5 scheme),
 *			or empty: no CRAM-MD5 for this login
 *
 * No plaintext password is stored anywhere. The CRAM-MD5 secret is
 * password-equivalent for CRAM-MD5 only (RFC 2195 needs the key on the
 * server side), hence the file's mode 0640.
 *
 * Verification costs a crypt(3) run (tens of milliseconds for yescrypt)
 * and takes the same time for an unknown login as for a known one, so
 * that timing does not reveal which logins exist; comparisons are
 * constant-time.
 *
 * A table is immutable once loaded. passwd_reload() replaces it when the
 * file changed on disk (a program calls it before each login, and with
 * force on SIGHUP), so `sluice passwd` takes effect at once.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_MAIL_PASSWD_H
#define SLUICE_MAIL_PASSWD_H

#include <stdbool.h>
#include <stddef.h>

struct config_errors;
struct passwd_table;

#define PASSWD_LOGIN_MAX	64
#define PASSWD_PASSWORD_MAX	1024	/* longer input is refused, not truncated */
#define PASSWD_CRAM_HEX_LEN	64

/*
 * passwd_load - read path into a new table in *t_r. A missing file gives
 * an empty table (nobody can log in), not an error. 0 ok; -1 with
 * "FILE:LINE: ..." messages added to errs (*t_r NULL).
 */
int passwd_load(const char *path, struct passwd_table **t_r,
    struct config_errors *errs);

/* passwd_table_free - free a table; sets *tp to NULL */
void passwd_table_free(struct passwd_table **tp);

/*
 * passwd_reload - reload *tp from path if the file changed since it was
 * loaded (inode, size or mtime), or always with force; *tp may be NULL
 * (first load). 1 reloaded, 0 unchanged, -1 the file has errors: they are
 * logged as warnings and the old table is kept (an empty one if none).
 */
int passwd_reload(struct passwd_table **tp, const char *path, bool force);

/* passwd_count - how many logins the table holds */
size_t passwd_count(const struct passwd_table *t);

/* passwd_has - is login in the table (locked or not)? */
bool passwd_has(const struct passwd_table *t, const char *login);

/*
 * passwd_verify - is password right for login? False for an unknown or
 * locked login, after the same work as for a known one. t may be NULL.
 */
bool passwd_verify(const struct passwd_table *t, const char *login,
    const char *password);

/*
 * passwd_cram_verify - is response_hex (32 hex digits, any case) the
 * HMAC-MD5 of challenge under login's CRAM-MD5 secret (RFC 2195)? False
 * for an unknown login or one without a secret. t may be NULL.
 */
bool passwd_cram_verify(const struct passwd_table *t, const char *login,
    const char *challenge, const char *response_hex);

/* passwd_login_ok - does login fit the grammar above? */
bool passwd_login_ok(const char *login);

/*
 * passwd_entry_make - the file line (no newline) for login with
 * password: a fresh yescrypt hash and the CRAM-MD5 secret, in a new
 * string *line_r. 0 ok; -1 (bad login, password over the limit or with
 * a NUL/newline, or crypt failure) with a static reason in *why_r.
 */
int passwd_entry_make(const char *login, const char *password,
    char **line_r, const char **why_r);

/*
 * passwd_cram_secret - the 64-hex-digit secret of password (a new
 * string), as stored in the third field; used by passwd_entry_make()
 * and by tests.
 */
char *passwd_cram_secret(const char *password);

/*
 * passwd_table_cram - a table of one login that only CRAM-MD5 with
 * password's secret opens (the fleet's peer login, mail/peer.h).
 */
struct passwd_table *passwd_table_cram(const char *login, const char *password);

/*
 * passwd_cram_response - the client's side of CRAM-MD5 (RFC 2195): the
 * HMAC-MD5 of challenge under password, as 32 lowercase hex digits in a
 * new string.
 */
char *passwd_cram_response(const char *password, const char *challenge);

#endif
