/*
 * pop3_reply - every reply the POP3 server sends, in one place.
 *
 * RFC 1939 replies are "+OK text" or "-ERR text"; RFC 2449 adds the
 * response codes in brackets after -ERR ([IN-USE], [AUTH], [SYS/TEMP],
 * [SYS/PERM], RFC 3206) that clients such as fetchmail act on. AUTH's
 * challenges are "+ base64" (RFC 5034). Handlers send them by name only.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_POP3_REPLY_H
#define SLUICE_POP3_REPLY_H

/* Connection. */
#define POP3_R_GREETING		"+OK %s POP3 maildrop server ready"
#define POP3_R_BYE		"+OK %s POP3 server signing off"
#define POP3_R_BYE_DELETED	"+OK %s POP3 server signing off (%u messages collected)"
#define POP3_R_TIMEOUT		"-ERR [SYS/TEMP] timeout; closing connection"
#define POP3_R_TOO_MANY_CONN	"-ERR [SYS/TEMP] too many connections; try again later"
#define POP3_R_CAPA		"+OK capability list follows"

/* Command syntax and sequence. */
#define POP3_R_LINE_TOO_LONG	"-ERR command line too long (255 octets at most)"
#define POP3_R_BAD_LINE		"-ERR malformed command"
#define POP3_R_UNKNOWN_CMD	"-ERR unknown command"
#define POP3_R_NOT_NOW		"-ERR command not valid in this state"
#define POP3_R_SYNTAX		"-ERR syntax: %s"
#define POP3_R_TOO_MUCH_ABUSE	"-ERR too many bad commands; closing connection"
#define POP3_R_OK		"+OK"

/* STLS (RFC 2595). */
#define POP3_R_TLS_READY	"+OK begin TLS negotiation"
#define POP3_R_TLS_ACTIVE	"-ERR TLS already active"
#define POP3_R_TLS_UNAVAILABLE	"-ERR TLS not available"

/* Authorization. */
#define POP3_R_USER_OK		"+OK send PASS"
#define POP3_R_NEED_USER	"-ERR USER first"
#define POP3_R_NEED_TLS		"-ERR [AUTH] plaintext passwords need TLS first: use STLS"
#define POP3_R_AUTH_FAILED	"-ERR [AUTH] authentication failed"
#define POP3_R_AUTH_TOO_MANY	"-ERR [AUTH] too many failed authentication attempts; closing connection"
#define POP3_R_AUTH_MECH	"-ERR unrecognized authentication mechanism"
#define POP3_R_AUTH_CHALLENGE	"+ %s"
#define POP3_R_AUTH_CANCELLED	"-ERR authentication aborted"
#define POP3_R_AUTH_MALFORMED	"-ERR invalid base64 data"
#define POP3_R_MAILDROP		"+OK maildrop of %s has %zu messages (%llu octets)"
#define POP3_R_IN_USE		"-ERR [IN-USE] the maildrop of %s is in use: %s"
#define POP3_R_NO_DOMAINS	"-ERR [SYS/PERM] no domain of %s is collected by POP3"
#define POP3_R_UNAVAILABLE	"-ERR [SYS/TEMP] maildrop unavailable now; try again later"

/* Transaction. */
#define POP3_R_STAT		"+OK %zu %llu"
#define POP3_R_LIST_ONE		"+OK %zu %llu"
#define POP3_R_LIST_HEAD	"+OK %zu messages (%llu octets)"
#define POP3_R_UIDL_ONE		"+OK %zu %s-%zu"
#define POP3_R_UIDL_HEAD	"+OK unique-id listing follows"
#define POP3_R_RETR		"+OK %llu octets"
#define POP3_R_TOP		"+OK top of message follows"
#define POP3_R_NO_MSG		"-ERR no such message"
#define POP3_R_DELETED		"-ERR message %zu already deleted"
#define POP3_R_DELE		"+OK message %zu deleted"
#define POP3_R_RSET		"+OK maildrop has %zu messages (%llu octets)"
#define POP3_R_GONE		"-ERR [SYS/TEMP] message %zu is no longer available"
#define POP3_R_UPDATE_FAILED	"-ERR [SYS/TEMP] some deleted messages not removed: %zu of %zu (%u collected); they stay in the maildrop"

#endif
