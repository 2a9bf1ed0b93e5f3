/*
 * smtp_cmd - SMTP command lines: verb and argument, MAIL and RCPT with
 * their ESMTP parameters, xtext, and the type of a server's verb table.
 *
 * Grammar (RFC 5321 4.1.1, 4.1.2; RFC 1870 SIZE; RFC 6152 8BITMIME;
 * RFC 3461 DSN):
 *
 *	command   = verb [ SP argument ] CRLF
 *	mail      = "FROM:" Reverse-path *( SP esmtp-param )
 *	rcpt      = "TO:" Forward-path *( SP esmtp-param )
 *	esmtp-param = keyword [ "=" value ]     ; keyword case-insensitive
 *	MAIL params: SIZE=1*20DIGIT  BODY=7BIT|8BITMIME  RET=FULL|HDRS
 *	             ENVID=xtext (at most 100 octets decoded, printable)
 *	RCPT params: NOTIFY=NEVER | 1#(SUCCESS|FAILURE|DELAY)
 *	             ORCPT=addr-type ";" xtext (at most 500 octets decoded)
 *	xtext     = *( %d33-42 / %d44-60 / %d62-126 / "+" 2HEXDIG(upper) )
 *
 * Paths go through address_parse_path() (mail/address.h), the one
 * address grammar. We are lenient where RFC 5321 4.1.2 lets a server be
 * (spaces after the colon, any case in verbs and keywords) and strict
 * where a mistake could hide an attack: NUL anywhere, a parameter given
 * twice, an unknown parameter (555 5.5.4), a value outside its grammar,
 * and an octet over 127 in MAIL or RCPT: we do not offer SMTPUTF8 (RFC
 * 6531), so a non-ASCII address is refused (553 5.6.7), never guessed at.
 *
 * Line ends: a command ends in CRLF (RFC 5321 2.3.8). smtp_line_bare_lf()
 * tells a line that ends in a bare LF, which a server refuses before it
 * looks at the verb (see smtpd_forbid_bare_newline in sluice.conf(5)).
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_SMTP_CMD_H
#define SLUICE_SMTP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mail/queue.h"

/* The longest command line, CRLF included: 512 (RFC 5321 4.5.3.1.4)
 * plus room for ESMTP parameters. */
#define SMTP_CMD_LINE_MAX	2048
#define SMTP_VERB_MAX		15
#define SMTP_ENVID_MAX		100
#define SMTP_ORCPT_MAX		500
#define SMTP_PARAM_NAME_MAX	31

enum smtp_parse {
	SMTP_PARSE_OK = 0,
	SMTP_PARSE_NUL,			/* NUL octet in the line */
	SMTP_PARSE_SYNTAX,		/* not "FROM:<path>" / "TO:<path>" */
	SMTP_PARSE_PATH,		/* the path fails the address grammar */
	SMTP_PARSE_PARAM_UNKNOWN,	/* 555 5.5.4 */
	SMTP_PARSE_PARAM_DUP,		/* the same keyword twice */
	SMTP_PARSE_PARAM_BAD,		/* a value outside its grammar */
	SMTP_PARSE_8BIT,		/* a non-ASCII octet: needs SMTPUTF8 */
};

enum smtp_body {
	SMTP_BODY_UNSET = 0,
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
};

/* One command line split into verb and argument (copies, NUL-terminated). */
struct smtp_cmd {
	char verb[SMTP_VERB_MAX + 1];	/* uppercased; "" if too long or empty */
	const char *arg;		/* into text: after the verb and spaces */
	char text[SMTP_CMD_LINE_MAX + 1];
};

struct smtp_mail_args {
	char *sender;		/* "" for <>; new string */
	uint64_t size;		/* SIZE=, if size_given */
	bool size_given;
	enum smtp_body body;
	enum dsn_ret ret;
	char *envid;		/* xtext-decoded, or NULL */
	char param[SMTP_PARAM_NAME_MAX + 1]; /* keyword of a failed parameter */
};

struct smtp_rcpt_args {
	char *addr;		/* mailbox; new string */
	unsigned notify;	/* DSN_NOTIFY_* bits, 0 if not given */
	char *orcpt;		/* "addr-type;xtext" as given, or NULL */
	char param[SMTP_PARAM_NAME_MAX + 1];
};

/*
 * smtp_cmd_split - split line (len octets, its CRLF or LF included or
 * not) into cmd. SMTP_PARSE_OK, or SMTP_PARSE_NUL for a NUL octet.
 * Trailing white space is removed from the argument.
 */
enum smtp_parse smtp_cmd_split(const char *line, size_t len,
    struct smtp_cmd *cmd);

/* smtp_line_bare_lf - does line (len octets, from a line reader) end in LF without CR? */
bool smtp_line_bare_lf(const char *line, size_t len);

/* smtp_parse_mail - parse a MAIL argument; on failure m holds nothing to free */
enum smtp_parse smtp_parse_mail(const char *arg, struct smtp_mail_args *m);
/* smtp_mail_args_clear - free what smtp_parse_mail() stored */
void smtp_mail_args_clear(struct smtp_mail_args *m);
/* smtp_parse_rcpt - parse a RCPT argument; on failure r holds nothing to free */
enum smtp_parse smtp_parse_rcpt(const char *arg, struct smtp_rcpt_args *r);
/* smtp_rcpt_args_clear - free what smtp_parse_rcpt() stored */
void smtp_rcpt_args_clear(struct smtp_rcpt_args *r);

/* smtp_xtext_decode - decode len octets of xtext into a new string; 0/-1 */
int smtp_xtext_decode(const char *s, size_t len, char **out_r);
/* smtp_xtext_encode - a new xtext string for s */
char *smtp_xtext_encode(const char *s);

/*
 * The verb table of an SMTP server (one row per verb, STYLE rule 7):
 * in which session states the verb is allowed and what runs it, on the
 * session of the program that has such a table (smtpd's struct
 * smtpd_session; etrn's few verbs have a table of their own).
 */
struct smtpd_session;
typedef void smtp_cmd_fn(struct smtpd_session *s, const char *arg);

#define SMTP_ST_CONNECT	0x1u	/* before HELO/EHLO */
#define SMTP_ST_HELO	0x2u	/* greeted, no transaction */
#define SMTP_ST_MAIL	0x4u	/* MAIL accepted, no recipient yet */
#define SMTP_ST_RCPT	0x8u	/* at least one recipient accepted */
#define SMTP_ST_ANY	(SMTP_ST_CONNECT | SMTP_ST_HELO | SMTP_ST_MAIL | SMTP_ST_RCPT)

struct smtp_verb {
	const char *name;	/* uppercase */
	unsigned states;	/* SMTP_ST_* in which it may be used */
	smtp_cmd_fn *run;
};

/* smtp_verb_find - the row for verb (uppercase) in a NULL-name-terminated table, or NULL */
const struct smtp_verb *smtp_verb_find(const struct smtp_verb *table,
    const char *verb);

#endif
