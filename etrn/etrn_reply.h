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
 */
#ifndef SLUICE_ETRN_REPLY_H
#define SLUICE_ETRN_REPLY_H

/* Connection and session. */
#define ETRN_R_GREETING		"220 %s ESMTP on-demand mail relay server ready"
#define ETRN_R_EHLO_LINE	"250-%s"
#define ETRN_R_EHLO_LAST	"250 %s"
#define ETRN_R_BYE		"221 2.0.0 Bye"
#define ETRN_R_OK		"250 2.0.0 Ok"
#define ETRN_R_TLS_READY	"220 2.0.0 Ready to start TLS"
#define ETRN_R_TLS_UNAVAILABLE	"454 4.7.0 TLS not available due to local problem"
#define ETRN_R_TLS_ACTIVE	"503 5.5.1 Error: TLS already active"
#define ETRN_R_TIMEOUT		"421 4.4.2 Error: timeout exceeded"
#define ETRN_R_TOO_MANY_CONN	"421 4.7.0 Error: too many connections"
#define ETRN_R_SHUTDOWN		"421 4.3.2 Service shutting down, try again later"

/* Command syntax and sequence. */
#define ETRN_R_LINE_TOO_LONG	"500 5.5.0 Error: line too long"
#define ETRN_R_NUL_CMD		"500 5.5.2 Error: NUL character in command"
#define ETRN_R_UNKNOWN_CMD	"502 5.5.1 Error: command not recognized"
#define ETRN_R_NOT_NOW		"502 5.5.1 Error: command not allowed in this state"
#define ETRN_R_SYNTAX		"501 5.5.4 Syntax: %s"
#define ETRN_R_NEED_EHLO	"503 5.5.1 Error: send EHLO first"

/* AUTH (RFC 4954). */
#define ETRN_R_AUTH_CHALLENGE	"334 %s"
#define ETRN_R_AUTH_OK		"235 2.7.0 Authentication successful"
#define ETRN_R_AUTH_FAILED	"535 5.7.8 Error: authentication failed"
#define ETRN_R_AUTH_MECH	"504 5.5.4 Unrecognized authentication type"
#define ETRN_R_AUTH_NEED_TLS	"538 5.7.11 Encryption required for requested authentication mechanism"
#define ETRN_R_AUTH_CANCELLED	"501 5.7.0 Authentication aborted"
#define ETRN_R_AUTH_MALFORMED	"501 5.5.2 Cannot decode response"
#define ETRN_R_AUTH_ALREADY	"503 5.5.1 Error: already authenticated"
#define ETRN_R_AUTH_UNAVAILABLE	"454 4.7.0 Temporary authentication failure"
#define ETRN_R_AUTH_TOO_MANY	"421 4.7.0 Error: too many failed authentication attempts"
#define ETRN_R_NEED_AUTH	"530 5.7.0 Authentication required"

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
