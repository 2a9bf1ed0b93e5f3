/*
 * odmr_client_int - what the parts of odmr_client share: the blocking
 * connection (odmr_client_io.c), the session, the failures and their exit
 * codes (odmr_client.c), the MTA client (odmr_client_mta.c) and the
 * turned-around server (odmr_client_turn.c).
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_MAIL_ODMR_CLIENT_INT_H
#define SLUICE_MAIL_ODMR_CLIENT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "mail/odmr_client.h"
#include "mail/smtp_reply.h"

/* Input buffer of a connection: the longest line handed out whole. */
#define OC_IN_SIZE		16384
/* One reply line, CRLF included, and a whole reply as kept. */
#define OC_REPLY_LINE_MAX	1024
#define OC_REPLY_MAX		4096

/*
 * One blocking connection: a non-blocking socket driven through poll()
 * against a deadline, so that a read or write never waits longer than
 * the timeout, in TLS or not.
 */
struct oc_conn {
	int fd;
	SSL *ssl;
	char name[264];		/* "host[addr]:port", for logs */
	uint64_t timeout_ms;
	char in[OC_IN_SIZE];
	size_t in_off, in_len;
	bool eof;
	char err[512];		/* why the last call failed */
};

/* A reply: its code and its lines (without CRLF), joined by "\n". */
struct oc_reply {
	int code;
	size_t nlines;
	char text[OC_REPLY_MAX];
};

/* Extensions an EHLO/LHLO reply announced. */
#define OC_EXT_STARTTLS		0x01u
#define OC_EXT_AUTH_CRAM	0x02u
#define OC_EXT_AUTH_PLAIN	0x04u
#define OC_EXT_AUTH_LOGIN	0x08u
#define OC_EXT_ATRN		0x10u
#define OC_EXT_8BITMIME		0x20u
#define OC_EXT_SIZE		0x40u
#define OC_EXT_PIPELINING	0x80u

/*
 * Every reply we send on the turned connection (STYLE rule 6), by name;
 * where smtpd sends the same, it is smtpd's (mail/smtp_reply.h). The
 * answers to MAIL, RCPT, DATA and "." that the MTA gave are relayed as
 * it gave them (sanitized, one line), and are not listed here.
 */
#define OC_R_GREETING		"220 %s ESMTP sluice-turn"
#define OC_R_HELO		SMTP_R_HELO
#define OC_R_EHLO_LINE		SMTP_R_EHLO_LINE
#define OC_R_EHLO_LAST		SMTP_R_EHLO_LAST
#define OC_R_OK			SMTP_R_OK
#define OC_R_BYE		SMTP_R_BYE
#define OC_R_MAIL_OK		SMTP_R_MAIL_OK
#define OC_R_RCPT_OK		SMTP_R_RCPT_OK
#define OC_R_DATA_GO		SMTP_R_DATA_GO
#define OC_R_MTA_DOWN		"451 4.4.1 local MTA unavailable: %.300s"
#define OC_R_TOO_BIG		SMTP_R_TOO_BIG
#define OC_R_TOO_BIG_N		"552 5.3.4 Message size exceeds fixed limit of %llu octets"
#define OC_R_TOO_MANY_RCPTS	SMTP_R_TOO_MANY_RCPTS
#define OC_R_NO_VALID_RCPTS	SMTP_R_NO_VALID_RCPTS
#define OC_R_NESTED_MAIL	SMTP_R_NESTED_MAIL
#define OC_R_NEED_MAIL		SMTP_R_NEED_MAIL
#define OC_R_NEED_RCPT		SMTP_R_NEED_RCPT
#define OC_R_NEED_HELO		SMTP_R_NEED_HELO
#define OC_R_UNKNOWN_CMD	SMTP_R_UNKNOWN_CMD
#define OC_R_NOT_HERE		"502 5.5.1 Error: command not implemented"
#define OC_R_LINE_TOO_LONG	SMTP_R_LINE_TOO_LONG
#define OC_R_TOO_MANY_ERRORS	SMTP_R_TOO_MANY_ERRORS
#define OC_R_NUL_CMD		SMTP_R_NUL_CMD
#define OC_R_SYNTAX		"501 5.5.4 Syntax error in parameters"
#define OC_R_BAD_PATH		"501 5.1.3 Bad address syntax"
#define OC_R_PARAM_UNKNOWN	"555 5.5.4 Unsupported option"
#define OC_R_PARAM_DUP		"501 5.5.4 Duplicate parameter"
#define OC_R_PARAM_BAD		"501 5.5.4 Bad parameter syntax"
#define OC_R_8BIT_ADDR		SMTP_R_8BIT_ADDR

/* Why a session failed: each has its exit code (odmr_client.c's table). */
enum oc_why {
	OC_OK = 0,
	OC_USAGE,		/* bad options */
	OC_NOHOST,		/* a host name that does not resolve */
	OC_TEMP,		/* connect, timeout, lost, protocol, MTA down */
	OC_NOPERM,		/* login refused, or not possible safely */
	OC_REFUSED,		/* ATRN refused with 5xx */
	OC_LOCAL,		/* our side: TLS context, resources */
};

struct oc_session {
	const struct odmr_client_opts *o;
	struct odmr_client_result *r;
	const char *helo;	/* our name */
	uint64_t timeout_ms;
	char helo_buf[256];
	struct oc_conn *srv;	/* the ODMR server */
	unsigned srv_ext;
	struct oc_conn *mta;	/* the local MTA, or NULL while down */
	unsigned mta_ext;
	uint64_t mta_size;	/* its SIZE, 0 if none */
	char mta_relay[300];	/* "local[addr]:port" for the log */
	SSL_CTX *tls_ctx;
	bool tls_on;
	enum oc_why why;	/* the first failure */
};

/* odmr_client.c */
/* oc_log - one line to the caller's log function or stderr */
void oc_log(struct oc_session *ss, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* oc_fail - record the session's first failure (why and text); -1 */
int oc_fail(struct oc_session *ss, enum oc_why why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* odmr_client_io.c */
/*
 * oc_conn_open - connect to host:port within timeout_ms; NULL with
 * *why_r (OC_NOHOST or OC_TEMP) and err (size errlen) on failure.
 */
struct oc_conn *oc_conn_open(const char *host, unsigned port,
    uint64_t timeout_ms, enum oc_why *why_r, char *err, size_t errlen);
/* oc_conn_free - close and free; sets *cp to NULL */
void oc_conn_free(struct oc_conn **cp);
/*
 * oc_conn_tls - a TLS handshake as a client on c (SNI and, with verify,
 * the name checked against peer). Buffered plaintext input is an error:
 * it was sent before the handshake (CVE-2011-0411). 0, -1 (c->err), or
 * -2 when the certificate or its name failed verification.
 */
int oc_conn_tls(struct oc_conn *c, SSL_CTX *ctx, const char *peer,
    bool verify);
/*
 * oc_read_line - the next input line, LF included, whole within the
 * timeout. 1: a line; 2: the first max octets of a longer line (the
 * rest follows in later calls); 0: EOF at a line boundary; -1: error,
 * timeout or EOF inside a line (c->err). *line_r is valid until the
 * next call on c.
 */
int oc_read_line(struct oc_conn *c, size_t max, const char **line_r,
    size_t *len_r);
/* oc_write - write all of buf within the timeout; 0/-1 (c->err) */
int oc_write(struct oc_conn *c, const void *buf, size_t len);
/* oc_printf - a formatted line plus CRLF, written; 0/-1 */
int oc_printf(struct oc_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* oc_pending - is unread input buffered? */
bool oc_pending(const struct oc_conn *c);
/*
 * oc_reply_read - one whole reply: every line "DDD-text" or "DDD text"
 * (or "DDD") with one code of class 2-5, printable, each line at most
 * OC_REPLY_LINE_MAX octets, at most ODMR_CLIENT_REPLY_LINES lines.
 * 0, or -1 with c->err (EOF, timeout, or out of the grammar).
 */
int oc_reply_read(struct oc_conn *c, struct oc_reply *rep);
/*
 * oc_command - send line (no CRLF) and read its reply, after checking
 * that nothing arrived before it was sent. 0/-1 (c->err).
 */
int oc_command(struct oc_conn *c, const char *line, struct oc_reply *rep);
/* oc_reply_flat - the reply on one line (lines joined by a space), into buf */
const char *oc_reply_flat(const struct oc_reply *rep, char *buf, size_t size);
/* oc_ehlo_ext - the OC_EXT_* bits of an EHLO reply; *size_r its SIZE */
unsigned oc_ehlo_ext(const struct oc_reply *rep, uint64_t *size_r);

/* odmr_client_mta.c */
/* oc_mta_open - connect to and greet the MTA (EHLO or LHLO); 0/-1 */
int oc_mta_open(struct oc_session *ss, char *err, size_t errlen);
/* oc_mta_close - QUIT (when quit) and close */
void oc_mta_close(struct oc_session *ss, bool quit);

/* odmr_client_turn.c */
/* oc_turn_serve - after ATRN's 250: serve the server until QUIT; 0/-1 */
int oc_turn_serve(struct oc_session *ss);

#endif
