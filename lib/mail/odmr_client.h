/*
 * odmr_client - the customer's side of On-Demand Mail Relay (RFC 2645):
 * log in to an ODMR server, send ATRN, and once the connection has turned
 * around, be the SMTP server the held mail is delivered to, handing each
 * message to the site's own MTA by SMTP or LMTP. What `sluice-turn atrn`
 * runs; one blocking call, one session.
 *
 * The session, in order:
 *
 *	connect (TLS first with ODMR_TLS_WRAP) -> 220 -> EHLO
 *	  -> STARTTLS if offered (ODMR_TLS_MAY) or required -> EHLO again
 *	  -> AUTH CRAM-MD5 when offered; else PLAIN, else LOGIN, and these
 *	     two only inside TLS: a password never crosses in the clear
 *	  -> ATRN [domain,...] -> 250: the connection turns (453: no mail,
 *	     success with nothing done)
 *	  -> we send 220 and serve EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP,
 *	     QUIT until the server's QUIT
 *
 * The local MTA is connected (and greeted) before we log in: when it is
 * down nothing is released, and the call fails with EX_TEMPFAIL. During
 * the session MAIL and RCPT are relayed to it in step, each answered with
 * the MTA's own answer (a recipient the MTA refuses is refused to the
 * server at RCPT), and the content line by line; the server's final "."
 * is answered only after the MTA answered ours: 250 when the MTA took the
 * message for every accepted recipient (LMTP: each of them said 2xx);
 * else the failure (4xx wins over 5xx, so nothing is bounced that a retry
 * could deliver). A message the MTA has not taken is never acknowledged.
 * If the MTA goes away mid-session, each message is answered 451 4.4.1
 * (one reconnection is tried at each MAIL).
 *
 * Every reply of the server and of the MTA is matched to the one command
 * it answers: a reply before its command was sent (input already buffered
 * when we are about to send), a reply of the wrong class (354 to anything
 * but DATA, 334 outside AUTH), a malformed or over-long reply, is a
 * protocol error: a temporary failure, the connection dropped. Bytes the
 * server sent before our STARTTLS was answered, or before our 220 after
 * the turn, are such an error too.
 *
 * Limits: each read and write must finish within timeout seconds (a
 * deadline per line or per write, which a trickle does not move); a
 * command line is at most SMTP_CMD_LINE_MAX octets; a message at most
 * max_size octets (552 past it, the MTA's transaction dropped); a reply
 * at most ODMR_CLIENT_REPLY_LINES lines; ODMR_CLIENT_ERRORS_MAX bad
 * commands end the session with 421.
 *
 * Log lines (to opts->log, else stderr as "sluice-turn: LINE"), one per
 * recipient of each message, in Postfix's shape:
 *	from=<s>, to=<r>, relay=local[127.0.0.1]:25, size=N, delay=S,
 *	    dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as X)
 * with status=deferred or bounced and the answer the server got; and one
 * line for the session ("atrn: server[addr]:port: ...").
 *
 * Exit codes (sysexits.h): 0 when the session ended with QUIT and every
 * message was answered (5xx counts: the server owns the bounce), or on
 * 453; EX_TEMPFAIL when something may work later (server or MTA down,
 * timeouts, protocol errors, ATRN 4xx, any message answered 4xx);
 * EX_NOPERM when the login was refused or could not be done safely (only
 * PLAIN/LOGIN offered without TLS, TLS required and not offered, the
 * certificate not verified); EX_NOHOST for an unknown host name;
 * EX_UNAVAILABLE for an ATRN refused with 5xx; EX_USAGE for bad options.
 * result->error says why, in a sentence.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_MAIL_ODMR_CLIENT_H
#define SLUICE_MAIL_ODMR_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ODMR_CLIENT_PORT	366	/* RFC 2645 section 5 */
#define ODMR_CLIENT_SMTP_PORT	25
#define ODMR_CLIENT_LMTP_PORT	24
#define ODMR_CLIENT_TIMEOUT	300	/* seconds, Postfix's smtp_*_timeout */
#define ODMR_CLIENT_SIZE	(50u * 1024u * 1024u)
#define ODMR_CLIENT_REPLY_LINES	100
#define ODMR_CLIENT_ERRORS_MAX	20

enum odmr_client_tls {
	ODMR_TLS_MAY = 0,	/* STARTTLS when the server offers it */
	ODMR_TLS_NONE,		/* never (then only CRAM-MD5 can log in) */
	ODMR_TLS_REQUIRED,	/* STARTTLS, or fail */
	ODMR_TLS_WRAP,		/* TLS on connect (an odmrs listener) */
};

/* odmr_client_log_fn - one log line, without program name or newline */
typedef void odmr_client_log_fn(void *ctx, const char *line);

/* Zero is each field's default, except server, user and password. */
struct odmr_client_opts {
	const char *server;	/* ODMR server host name or address */
	unsigned port;		/* default ODMR_CLIENT_PORT */
	const char *user;	/* the customer's ODMR login */
	const char *password;
	const char *auth_mech;	/* "CRAM-MD5", "PLAIN" or "LOGIN": that one
				   only (still never PLAIN/LOGIN in the
				   clear); default the best offered */
	const char *const *domains;	/* ATRN's arguments; none: all of */
	size_t ndomains;		/* the account's domains */
	enum odmr_client_tls tls;
	const char *ca_file;	/* PEM trust anchors added for verify
				   (the system store is always loaded) */
	bool verify;		/* verify the certificate and the name */
	const char *mta_host;	/* default 127.0.0.1 */
	unsigned mta_port;	/* default 25, or 24 with lmtp */
	bool lmtp;		/* speak LMTP (RFC 2033) to the MTA */
	const char *helo_name;	/* our name; default gethostname() */
	int timeout;		/* seconds per read/write; default 300 */
	uint64_t max_size;	/* octets per message; default 50 MiB */
	odmr_client_log_fn *log;	/* default: stderr */
	void *log_ctx;
};

struct odmr_client_result {
	unsigned long messages;		/* answered 250: the MTA has them */
	unsigned long recipients;	/* of those, recipients delivered */
	unsigned long refused;		/* recipients answered 5xx */
	unsigned long deferred;		/* recipients answered 4xx */
	char error[256];		/* why the call did not return 0 */
};

/*
 * odmr_client_run - one ODMR session as described above; fills *r
 * (zeroed first). Returns 0 or a sysexits code. SIGPIPE is ignored
 * while it runs (a peer that closes is an error return) and restored.
 */
int odmr_client_run(const struct odmr_client_opts *o,
    struct odmr_client_result *r);

#endif
