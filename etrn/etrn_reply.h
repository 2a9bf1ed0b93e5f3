/*
 * etrn_reply - every reply the ODMR server sends, in one place.
 *
 * Each reply is a printf format "CODE ENHANCED text"; handlers send them
 * by name only (etrn_reply(s, ETRN_R_ATRN_NO_MAIL)). Codes follow RFC
 * 2645 (450, 451, 453 for ATRN, 530 before AUTH, 502 for verbs the state
 * does not allow), RFC 4954 (334, 235, 535, 538) and RFC 3207 (220, 454).
 * As in smtpd, the greeting, EHLO lines and 334 carry no enhanced code
 * (RFC 2034 section 3). ETRN_REPLY_LIST names them all with that flag,
 * for whoever walks the catalogue.
 *
 * A reply the SMTP server sends too is not written twice: it is the
 * SMTP_R_ reply of lib/mail/smtp_reply.h by name, so the two servers
 * cannot drift apart (they did: 502 5.5.1 here, 502 5.5.2 there, for an
 * unrecognized command; RFC 3463 3.6 makes that X.5.2, and X.5.1 the
 * command out of sequence, ETRN_R_NOT_NOW). Only what is ODMR's own
 * (RFC 2645) is written out here.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_ETRN_REPLY_H
#define SLUICE_ETRN_REPLY_H

#include "mail/smtp_reply.h"

/* Connection and session. */
#define ETRN_R_GREETING		"220 %s ESMTP on-demand mail relay server ready"
#define ETRN_R_EHLO_LINE	SMTP_R_EHLO_LINE
#define ETRN_R_EHLO_LAST	SMTP_R_EHLO_LAST
#define ETRN_R_BYE		SMTP_R_BYE
#define ETRN_R_OK		SMTP_R_OK
#define ETRN_R_TLS_READY	SMTP_R_TLS_READY
#define ETRN_R_TLS_UNAVAILABLE	SMTP_R_TLS_UNAVAILABLE
#define ETRN_R_TLS_ACTIVE	SMTP_R_TLS_ACTIVE
#define ETRN_R_TIMEOUT		SMTP_R_TIMEOUT
#define ETRN_R_TOO_MANY_CONN	SMTP_R_TOO_MANY_CONN
#define ETRN_R_SHUTDOWN		SMTP_R_SHUTDOWN

/* Command syntax and sequence. */
#define ETRN_R_LINE_TOO_LONG	SMTP_R_LINE_TOO_LONG
#define ETRN_R_NUL_CMD		SMTP_R_NUL_CMD
#define ETRN_R_UNKNOWN_CMD	SMTP_R_UNKNOWN_CMD
#define ETRN_R_NOT_NOW		"502 5.5.1 Error: command not allowed in this state"
/* An SMTP mail transaction verb: known, and never served here (RFC 3463 X.5.1). */
#define ETRN_R_NOT_SERVED	"502 5.5.1 Error: command not supported by this on-demand relay"
#define ETRN_R_SYNTAX		SMTP_R_SYNTAX
#define ETRN_R_NEED_EHLO	SMTP_R_AUTH_NEED_EHLO

/* AUTH (RFC 4954). */
#define ETRN_R_AUTH_CHALLENGE	SMTP_R_AUTH_CHALLENGE
#define ETRN_R_AUTH_OK		SMTP_R_AUTH_OK
#define ETRN_R_AUTH_FAILED	SMTP_R_AUTH_FAILED
#define ETRN_R_AUTH_MECH	SMTP_R_AUTH_MECH
#define ETRN_R_AUTH_NEED_TLS	"538 5.7.11 Encryption required for requested authentication mechanism"
#define ETRN_R_AUTH_CANCELLED	"501 5.7.0 Authentication aborted"
#define ETRN_R_AUTH_MALFORMED	SMTP_R_AUTH_UNDECODABLE
#define ETRN_R_AUTH_ALREADY	SMTP_R_AUTH_ALREADY
#define ETRN_R_AUTH_UNAVAILABLE	"454 4.7.0 Temporary authentication failure"
#define ETRN_R_AUTH_TOO_MANY	"421 4.7.0 Error: too many failed authentication attempts"
#define ETRN_R_NEED_AUTH	SMTP_R_AUTH_REQUIRED

/* ATRN (RFC 2645 section 4.3). */
#define ETRN_R_ATRN_TURN	"250 2.0.0 OK now reversing the connection"
#define ETRN_R_ATRN_SYNTAX	"501 5.5.4 Syntax: ATRN [domain[,domain...]]"
#define ETRN_R_ATRN_NOT_YOURS	"450 4.7.1 ATRN request refused: %s is not a domain of %s"
#define ETRN_R_ATRN_NO_DOMAINS	"450 4.7.1 ATRN request refused: no domain belongs to %s"
#define ETRN_R_ATRN_TOO_SOON	"450 4.7.0 ATRN request refused: one ATRN per %lld seconds"
#define ETRN_R_ATRN_BUSY	"450 4.7.0 ATRN request refused: %s is being served by another session"
#define ETRN_R_ATRN_UNAVAILABLE	"451 4.3.0 Unable to process ATRN request now"
#define ETRN_R_ATRN_NO_MAIL	"453 4.7.0 No messages waiting"

#define ETRN_REPLY_LIST(X) \
	X(ETRN_R_GREETING, 0) \
	X(ETRN_R_EHLO_LINE, 0) \
	X(ETRN_R_EHLO_LAST, 0) \
	X(ETRN_R_BYE, 1) \
	X(ETRN_R_OK, 1) \
	X(ETRN_R_TLS_READY, 1) \
	X(ETRN_R_TLS_UNAVAILABLE, 1) \
	X(ETRN_R_TLS_ACTIVE, 1) \
	X(ETRN_R_TIMEOUT, 1) \
	X(ETRN_R_TOO_MANY_CONN, 1) \
	X(ETRN_R_SHUTDOWN, 1) \
	X(ETRN_R_LINE_TOO_LONG, 1) \
	X(ETRN_R_NUL_CMD, 1) \
	X(ETRN_R_UNKNOWN_CMD, 1) \
	X(ETRN_R_NOT_NOW, 1) \
	X(ETRN_R_NOT_SERVED, 1) \
	X(ETRN_R_SYNTAX, 1) \
	X(ETRN_R_NEED_EHLO, 1) \
	X(ETRN_R_AUTH_CHALLENGE, 0) \
	X(ETRN_R_AUTH_OK, 1) \
	X(ETRN_R_AUTH_FAILED, 1) \
	X(ETRN_R_AUTH_MECH, 1) \
	X(ETRN_R_AUTH_NEED_TLS, 1) \
	X(ETRN_R_AUTH_CANCELLED, 1) \
	X(ETRN_R_AUTH_MALFORMED, 1) \
	X(ETRN_R_AUTH_ALREADY, 1) \
	X(ETRN_R_AUTH_UNAVAILABLE, 1) \
	X(ETRN_R_AUTH_TOO_MANY, 1) \
	X(ETRN_R_NEED_AUTH, 1) \
	X(ETRN_R_ATRN_TURN, 1) \
	X(ETRN_R_ATRN_SYNTAX, 1) \
	X(ETRN_R_ATRN_NOT_YOURS, 1) \
	X(ETRN_R_ATRN_NO_DOMAINS, 1) \
	X(ETRN_R_ATRN_TOO_SOON, 1) \
	X(ETRN_R_ATRN_BUSY, 1) \
	X(ETRN_R_ATRN_UNAVAILABLE, 1) \
	X(ETRN_R_ATRN_NO_MAIL, 1)

#endif
