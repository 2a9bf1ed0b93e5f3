/*
 * sasl - server side of SASL PLAIN (RFC 4616), LOGIN and CRAM-MD5
 * (RFC 2195), as used by SMTP AUTH (RFC 4954) and ODMR (RFC 2645).
 *
 * The caller owns the protocol lines; this module owns the exchange.
 * "AUTH MECH [initial]" maps to sasl_start(); each later client line to
 * sasl_step(). Either returns:
 *
 *	SASL_CONTINUE	send "334 " and *challenge_r (base64, possibly
 *			empty), then read one line and call sasl_step()
 *	SASL_DONE	authenticated as sasl_user(): 235 2.7.0
 *	SASL_FAIL	wrong credentials: 535 5.7.8 (sasl_user() is the
 *			login tried, for the log, or NULL)
 *	SASL_CANCEL	the client sent "*": 501 5.0.0
 *	SASL_MALFORMED	not base64, or not the mechanism's message: 501 5.5.2
 *
 * The initial response "=" means an empty one (RFC 4954 section 4).
 * After DONE, FAIL, CANCEL or MALFORMED the exchange is over: free it.
 * Credentials are checked with mail/passwd.h; the table is passed to
 * each call (not kept), so a reload between two steps is harmless.
 * Decoded secrets are wiped from memory before they are freed.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_MAIL_SASL_H
#define SLUICE_MAIL_SASL_H

#include <stdbool.h>
#include <stddef.h>

struct passwd_table;
struct sasl;

enum sasl_mech {
	SASL_MECH_PLAIN,
	SASL_MECH_LOGIN,
	SASL_MECH_CRAM_MD5,
};

enum sasl_status {
	SASL_CONTINUE,
	SASL_DONE,
	SASL_FAIL,
	SASL_CANCEL,
	SASL_MALFORMED,
};

/* The longest client line we decode (RFC 4954 allows 12288 octets). */
#define SASL_LINE_MAX	12288

/* sasl_mech_find - the mechanism named name (any case); false if none */
bool sasl_mech_find(const char *name, enum sasl_mech *mech_r);

/* sasl_mech_name - "PLAIN", "LOGIN" or "CRAM-MD5" */
const char *sasl_mech_name(enum sasl_mech mech);

/*
 * sasl_start - begin an exchange of mech in a new *sasl_r (always set;
 * free it with sasl_free()). initial is the AUTH command's initial
 * response or NULL; hostname goes into the CRAM-MD5 challenge. On
 * SASL_CONTINUE, *challenge_r is a new base64 string to send; else NULL.
 */
enum sasl_status sasl_start(enum sasl_mech mech, const char *initial,
    const char *hostname, const struct passwd_table *pw,
    struct sasl **sasl_r, char **challenge_r);

/* sasl_step - the client's next line (without CRLF); as sasl_start */
enum sasl_status sasl_step(struct sasl *sasl, const char *line,
    const struct passwd_table *pw, char **challenge_r);

/* sasl_user - the authenticated login after SASL_DONE, the tried one after SASL_FAIL, or NULL */
const char *sasl_user(const struct sasl *sasl);

/* sasl_mech - the exchange's mechanism */
enum sasl_mech sasl_mech(const struct sasl *sasl);

/* sasl_free - wipe and free; sets *saslp to NULL */
void sasl_free(struct sasl **saslp);

/* sasl_base64_encode - len octets as a new base64 string (no newlines) */
char *sasl_base64_encode(const void *data, size_t len);

/*
 * sasl_base64_decode - strict base64 (padding required, no white space)
 * into a new NUL-terminated buffer *data_r of *len_r octets. 0/-1.
 */
int sasl_base64_decode(const char *text, unsigned char **data_r,
    size_t *len_r);

#endif
