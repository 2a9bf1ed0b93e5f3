/*
 * smtp_reply - every reply sluice's SMTP server can send, in one place.
 *
 * Each reply is a printf format: "CODE ENHANCED text". Handlers send
 * them by name only (smtpd_reply(s, SMTP_R_RELAY_DENIED, addr)), so the
 * wording and the codes are reviewed here, and the unit test walks
 * SMTP_REPLY_LIST to check every entry: a 3-digit code of class 2-5 and,
 * where RFC 2034 asks for one, an enhanced code whose class matches.
 * The greeting, EHLO lines, the 354 and AUTH's 334 go without an
 * enhanced code (RFC 2034 section 3: only 2xx, 4xx and 5xx carry one).
 *
 * Add a reply: define it below and add its line to SMTP_REPLY_LIST (the
 * test fails on a define missing from the list).
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_SMTP_REPLY_H
#define SLUICE_SMTP_REPLY_H

/* Connection and session. */
#define SMTP_R_GREETING		"220 %s"
#define SMTP_R_HELO		"250 %s"
#define SMTP_R_EHLO_LINE	"250-%s"
#define SMTP_R_EHLO_LAST	"250 %s"
#define SMTP_R_BYE		"221 2.0.0 Bye"
#define SMTP_R_OK		"250 2.0.0 Ok"
#define SMTP_R_HELP		"214 2.0.0 Commands: %s"
#define SMTP_R_VRFY		"252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery"
#define SMTP_R_TLS_READY	"220 2.0.0 Ready to start TLS"
#define SMTP_R_TLS_UNAVAILABLE	"454 4.7.0 TLS not available due to local problem"
#define SMTP_R_TIMEOUT		"421 4.4.2 Error: timeout exceeded"
#define SMTP_R_TOO_MANY_CONN	"421 4.7.0 Error: too many connections"
#define SMTP_R_TOO_MANY_CONN_FROM "421 4.7.0 Error: too many connections from %s"
#define SMTP_R_TOO_MANY_ERRORS	"421 4.7.0 Error: too many errors"
#define SMTP_R_SHUTDOWN		"421 4.3.2 Service shutting down, try again later"
/* Not SMTP at all: the reply, then the session ends (smtpd_cmd.c). */
#define SMTP_R_PREGREET		"521 5.5.1 Protocol error"
#define SMTP_R_BARE_LF_CMD	"521 5.5.2 Error: bare <LF> received"
#define SMTP_R_FORBIDDEN_CMD	"521 5.7.0 Error: I can break rules, too. Goodbye."

/* Command syntax and sequence. */
#define SMTP_R_LINE_TOO_LONG	"500 5.5.0 Error: line too long"
#define SMTP_R_NUL_CMD		"500 5.5.2 Error: NUL character in command"
#define SMTP_R_UNKNOWN_CMD	"502 5.5.2 Error: command not recognized"
#define SMTP_R_SYNTAX		"501 5.5.4 Syntax: %s"
#define SMTP_R_BAD_SEQUENCE	"503 5.5.1 Error: bad sequence of commands"
#define SMTP_R_NEED_HELO	"503 5.5.1 Error: send HELO/EHLO first"
#define SMTP_R_NEED_MAIL	"503 5.5.1 Error: need MAIL command"
#define SMTP_R_NEED_RCPT	"503 5.5.1 Error: need RCPT command"
#define SMTP_R_NESTED_MAIL	"503 5.5.1 Error: nested MAIL command"
#define SMTP_R_TLS_ACTIVE	"503 5.5.1 Error: TLS already active"
#define SMTP_R_NO_VALID_RCPTS	"554 5.5.1 Error: no valid recipients"
#define SMTP_R_PARAM_UNKNOWN	"555 5.5.4 Unsupported option: %s"
#define SMTP_R_PARAM_BAD	"501 5.5.4 Bad %s parameter syntax"
#define SMTP_R_PARAM_DUP	"501 5.5.4 Duplicate %s parameter"

/* MAIL and RCPT. */
#define SMTP_R_MAIL_OK		"250 2.1.0 Ok"
#define SMTP_R_RCPT_OK		"250 2.1.5 Ok"
#define SMTP_R_BAD_SENDER	"501 5.1.7 Bad sender address syntax"
#define SMTP_R_BAD_RCPT		"501 5.1.3 Bad recipient address syntax"
#define SMTP_R_RELAY_DENIED	"550 5.7.1 <%s>: Relay access denied"
#define SMTP_R_USER_UNKNOWN	"550 5.1.1 <%s>: Recipient address rejected: User unknown in relay recipient table"
#define SMTP_R_TOO_MANY_RCPTS	"452 4.5.3 Error: too many recipients"
#define SMTP_R_8BIT_ADDR	"553 5.6.7 Error: non-ASCII address without SMTPUTF8"

/* DATA and the queue. */
#define SMTP_R_DATA_GO		"354 End data with <CR><LF>.<CR><LF>"
#define SMTP_R_QUEUED		"250 2.0.0 Ok: queued as %s"
#define SMTP_R_QUEUE_ERROR	"451 4.3.0 Error: queue file write error"
#define SMTP_R_NO_SPACE		"452 4.3.1 Insufficient system storage"
#define SMTP_R_TOO_BIG		"552 5.3.4 Message size exceeds fixed limit"
#define SMTP_R_BARE_LF		"550 5.5.2 Error: bare <LF> received"
#define SMTP_R_BARE_CR		"550 5.5.2 Error: bare <CR> received"
#define SMTP_R_NUL_DATA		"550 5.6.0 Error: NUL character in message content"
#define SMTP_R_DATA_LINE_TOO_LONG "552 5.6.0 Error: message line longer than %ld octets"
#define SMTP_R_TOO_MANY_HOPS	"554 5.4.6 Too many hops"
/* Per-domain caps (mail/quota.h): "DOM holds N messages (limit N)". */
#define SMTP_R_QUOTA_RCPT	"452 4.2.2 <%s>: Mailbox full: %s"
#define SMTP_R_QUOTA_DATA	"452 4.2.2 Mailbox full: %s; message not accepted for any recipient"

/* AUTH (RFC 4954) and the submission port. */
#define SMTP_R_AUTH_CHALLENGE	"334 %s"
#define SMTP_R_AUTH_OK		"235 2.7.0 Authentication successful"
#define SMTP_R_AUTH_FAILED	"535 5.7.8 Error: authentication failed"
#define SMTP_R_AUTH_ABORTED	"501 5.0.0 Authentication aborted"
#define SMTP_R_AUTH_UNDECODABLE	"501 5.5.2 Cannot decode response"
#define SMTP_R_AUTH_LINE_TOO_LONG "500 5.5.6 Authentication exchange line is too long"
#define SMTP_R_AUTH_MECH	"504 5.5.4 Unrecognized authentication type"
#define SMTP_R_AUTH_NEED_TLS	"530 5.7.0 Must issue a STARTTLS command first"
#define SMTP_R_AUTH_REQUIRED	"530 5.7.0 Authentication required"
#define SMTP_R_AUTH_ALREADY	"503 5.5.1 Error: already authenticated"
#define SMTP_R_AUTH_DISABLED	"503 5.5.1 Error: authentication not enabled"
#define SMTP_R_AUTH_NEED_EHLO	"503 5.5.1 Error: send EHLO first"
#define SMTP_R_AUTH_TOO_MANY	"421 4.7.0 Error: too many failed authentications"
#define SMTP_R_IN_TRANSACTION	"503 5.5.1 Error: MAIL transaction in progress"

/* ETRN (RFC 1985); %s is the node as the client gave it. */
#define SMTP_R_ETRN_STARTED	"250 2.0.0 OK, queuing for node %s started"
#define SMTP_R_ETRN_NONE	"251 2.0.0 OK, no messages waiting for node %s"
#define SMTP_R_ETRN_PENDING	"252 2.0.0 OK, pending messages for node %s started"
#define SMTP_R_ETRN_COUNT	"253 2.0.0 OK, %llu pending messages for node %s started"
#define SMTP_R_ETRN_BUSY	"458 4.7.0 Unable to queue messages for node %s: try again later"
#define SMTP_R_ETRN_TOO_MANY	"458 4.7.0 Unable to queue messages for node %s: too many ETRN commands in this session"
#define SMTP_R_ETRN_UNAVAILABLE	"458 4.3.0 Unable to queue messages for node %s: %s"
#define SMTP_R_ETRN_UNKNOWN	"459 4.7.1 <%s>: not a domain queued here"
#define SMTP_R_ETRN_DENIED	"459 4.7.1 <%s>: ETRN not allowed: %s"
#define SMTP_R_ETRN_NEED_ARG	"500 5.5.2 Syntax: ETRN domain"
#define SMTP_R_ETRN_BAD_ARG	"501 5.5.4 Error: invalid parameter syntax"

/* The fleet (mail/peer.h): the peer login on port 25 and XSUMMARY. */
#define SMTP_R_PEER_NEED_LOGIN	"503 5.7.0 Error: peer login required"
#define SMTP_R_PEER_SUMMARY_LINE "250-%s"
#define SMTP_R_PEER_SUMMARY_END	"250 2.0.0 %zu domains"
#define SMTP_R_PEER_SUMMARY_FAILED "451 4.3.0 Error: queue manager unavailable, try again later"

/*
 * Every reply above with whether it carries an enhanced status code,
 * for the test that walks the catalogue: X(NAME, HAS_ENHANCED).
 */
#define SMTP_REPLY_LIST(X) \
	X(SMTP_R_GREETING, 0) \
	X(SMTP_R_HELO, 0) \
	X(SMTP_R_EHLO_LINE, 0) \
	X(SMTP_R_EHLO_LAST, 0) \
	X(SMTP_R_BYE, 1) \
	X(SMTP_R_OK, 1) \
	X(SMTP_R_HELP, 1) \
	X(SMTP_R_VRFY, 1) \
	X(SMTP_R_TLS_READY, 1) \
	X(SMTP_R_TLS_UNAVAILABLE, 1) \
	X(SMTP_R_TIMEOUT, 1) \
	X(SMTP_R_TOO_MANY_CONN, 1) \
	X(SMTP_R_TOO_MANY_CONN_FROM, 1) \
	X(SMTP_R_TOO_MANY_ERRORS, 1) \
	X(SMTP_R_SHUTDOWN, 1) \
	X(SMTP_R_PREGREET, 1) \
	X(SMTP_R_BARE_LF_CMD, 1) \
	X(SMTP_R_FORBIDDEN_CMD, 1) \
	X(SMTP_R_LINE_TOO_LONG, 1) \
	X(SMTP_R_NUL_CMD, 1) \
	X(SMTP_R_UNKNOWN_CMD, 1) \
	X(SMTP_R_SYNTAX, 1) \
	X(SMTP_R_BAD_SEQUENCE, 1) \
	X(SMTP_R_NEED_HELO, 1) \
	X(SMTP_R_NEED_MAIL, 1) \
	X(SMTP_R_NEED_RCPT, 1) \
	X(SMTP_R_NESTED_MAIL, 1) \
	X(SMTP_R_TLS_ACTIVE, 1) \
	X(SMTP_R_NO_VALID_RCPTS, 1) \
	X(SMTP_R_PARAM_UNKNOWN, 1) \
	X(SMTP_R_PARAM_BAD, 1) \
	X(SMTP_R_PARAM_DUP, 1) \
	X(SMTP_R_MAIL_OK, 1) \
	X(SMTP_R_RCPT_OK, 1) \
	X(SMTP_R_BAD_SENDER, 1) \
	X(SMTP_R_BAD_RCPT, 1) \
	X(SMTP_R_RELAY_DENIED, 1) \
	X(SMTP_R_USER_UNKNOWN, 1) \
	X(SMTP_R_TOO_MANY_RCPTS, 1) \
	X(SMTP_R_8BIT_ADDR, 1) \
	X(SMTP_R_DATA_GO, 0) \
	X(SMTP_R_QUEUED, 1) \
	X(SMTP_R_QUEUE_ERROR, 1) \
	X(SMTP_R_NO_SPACE, 1) \
	X(SMTP_R_TOO_BIG, 1) \
	X(SMTP_R_BARE_LF, 1) \
	X(SMTP_R_BARE_CR, 1) \
	X(SMTP_R_NUL_DATA, 1) \
	X(SMTP_R_DATA_LINE_TOO_LONG, 1) \
	X(SMTP_R_TOO_MANY_HOPS, 1) \
	X(SMTP_R_AUTH_CHALLENGE, 0) \
	X(SMTP_R_AUTH_OK, 1) \
	X(SMTP_R_AUTH_FAILED, 1) \
	X(SMTP_R_AUTH_ABORTED, 1) \
	X(SMTP_R_AUTH_UNDECODABLE, 1) \
	X(SMTP_R_AUTH_LINE_TOO_LONG, 1) \
	X(SMTP_R_AUTH_MECH, 1) \
	X(SMTP_R_AUTH_NEED_TLS, 1) \
	X(SMTP_R_AUTH_REQUIRED, 1) \
	X(SMTP_R_AUTH_ALREADY, 1) \
	X(SMTP_R_AUTH_DISABLED, 1) \
	X(SMTP_R_AUTH_NEED_EHLO, 1) \
	X(SMTP_R_AUTH_TOO_MANY, 1) \
	X(SMTP_R_IN_TRANSACTION, 1) \
	X(SMTP_R_ETRN_STARTED, 1) \
	X(SMTP_R_ETRN_NONE, 1) \
	X(SMTP_R_ETRN_PENDING, 1) \
	X(SMTP_R_ETRN_COUNT, 1) \
	X(SMTP_R_ETRN_BUSY, 1) \
	X(SMTP_R_ETRN_TOO_MANY, 1) \
	X(SMTP_R_ETRN_UNAVAILABLE, 1) \
	X(SMTP_R_ETRN_UNKNOWN, 1) \
	X(SMTP_R_ETRN_DENIED, 1) \
	X(SMTP_R_ETRN_NEED_ARG, 1) \
	X(SMTP_R_ETRN_BAD_ARG, 1) \
	X(SMTP_R_PEER_NEED_LOGIN, 1) \
	X(SMTP_R_PEER_SUMMARY_LINE, 0) \
	X(SMTP_R_PEER_SUMMARY_END, 1) \
	X(SMTP_R_PEER_SUMMARY_FAILED, 1) \
	X(SMTP_R_QUOTA_RCPT, 1) \
	X(SMTP_R_QUOTA_DATA, 1)

#endif
