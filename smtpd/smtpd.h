/*
 * smtpd.h - what smtpd's modules share: the server and the session.
 *
 *	smtpd.c		main(): options, config, listeners, the loop
 *	smtpd_server.c	limits and refusals for the serving skeleton
 *			(mail/daemon_server.h), TLS context
 *	smtpd_session.c	one client: I/O, command dispatch, replies, logging
 *	smtpd_cmd.c	the verb table and the command handlers
 *	smtpd_data.c	DATA: content into the queue file, end of data
 *	smtpd_auth.c	AUTH (submission): SASL exchanges, failure delays
 *	smtpd_etrn.c	ETRN: release a customer domain through qmgr
 *	smtpd_pregreet.c the greeting, and clients that talk before it
 *	smtpd_peer.c	the fleet: who may log in as a peer, XSUMMARY
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_SMTPD_H
#define SLUICE_SMTPD_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

/* lib/util */
#include "util/events.h"
#include "util/stream.h"
#include "util/workq.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/daemon.h"
#include "mail/daemon_server.h"
#include "mail/passwd.h"
#include "mail/queue.h"
#include "mail/sasl.h"
#include "mail/smtp_cmd.h"

/* Rows in the verb table (smtpd_cmd.c checks it). */
#define SMTPD_NVERBS	14
/* Output a client leaves unread before we stop reading its commands. */
#define SMTPD_OUTPUT_MAX	(64 * 1024)

struct smtpd {
	struct ev_loop *loop;
	struct config *cfg;
	const char *confdir;
	SSL_CTX *tls;			/* NULL: STARTTLS is not offered */
	struct daemon_server *serve;	/* listeners, accept, limits */
	struct passwd_table *pw;	/* customer logins, reloaded on change */
	bool stopping;
	/* The fleet (mail/peer.h); both NULL when peers is empty or broken. */
	struct netlist *peer_nets;	/* addresses that may log in as a peer */
	struct passwd_table *peer_pw;	/* the one peer login, CRAM-MD5 only */
	struct smtpd_quota *quota;	/* capped domains' figures (smtpd_quota.c) */
	struct workq *commits;		/* workers for queue_file_commit_sync */
};

/* Why DATA content is refused at its end (bits, all noted while reading). */
#define SMTPD_DATA_BARE_LF	0x01u
#define SMTPD_DATA_BARE_CR	0x02u
#define SMTPD_DATA_NUL		0x04u
#define SMTPD_DATA_LONG_LINE	0x08u
#define SMTPD_DATA_TOO_BIG	0x10u
#define SMTPD_DATA_WRITE_ERR	0x20u
#define SMTPD_DATA_HOPS		0x40u	/* more Received: than hopcount_limit */

struct smtpd_session {
	struct smtpd *srv;
	struct daemon_session ds;	/* in the server's list */
	struct stream *st;
	char addr[INET6_ADDRSTRLEN];
	struct sockaddr_storage peer;	/* for the network lists */
	unsigned port;			/* the client's, for the pregreet line */
	const char *name;		/* "localhost" or "unknown" */
	bool submission;		/* came in on the submission port */

	unsigned state;			/* SMTP_ST_* */
	char *helo;
	bool esmtp;
	int cur_verb;			/* row counting a success, or -1 */
	unsigned count_ok[SMTPD_NVERBS + 1], count_all[SMTPD_NVERBS + 1];
	unsigned errors;
	struct ev_timer *tarpit;	/* soft error limit: pause input */
	struct ev_timer *pregreet;	/* the 220 waits on it (smtpd_pregreet.c) */
	uint64_t connect_ms;		/* ev_now() at connect */
	bool quit;

	/* AUTH and ETRN. */
	struct sasl *sasl;		/* an exchange in progress, or NULL */
	char *auth_user;		/* authenticated login, or NULL */
	enum sasl_mech auth_mech;
	unsigned auth_failures;
	struct ev_timer *auth_delay;	/* a failed AUTH's reply waits on it */
	unsigned etrn_count;
	bool peer_addr;			/* the client is an address of peers */
	bool peer_exchange;		/* the AUTH in progress is a peer's */
	bool peer_login;		/* logged in as PEER_LOGIN: ETRN is source=peer */

	/* The mail transaction. */
	struct envelope *env;
	bool rcpt_refused;		/* some RCPT got a 4xx/5xx */
	uint64_t mail_size;		/* MAIL FROM's SIZE=, or 0 */
	char **quota_doms;		/* capped domains the transaction counts against */
	size_t quota_ndoms;

	/*
	 * A commit in flight (smtpd_data.c): no input is read until it is
	 * over. gone: the client left meanwhile; the commit's end frees s.
	 */
	struct smtpd_commit *commit;
	bool gone;

	/* DATA in progress. */
	bool in_data;
	struct queue_file *qf;
	unsigned data_flags;		/* SMTPD_DATA_* */
	int data_errno;
	bool prev_crlf;			/* the line before ended in CRLF */
	bool after_long;		/* the line before was over-long */
	bool in_header;			/* still in the message's header */
	unsigned long hops;		/* Received: headers seen so far */
	char *msgid;			/* the first Message-ID: value, unfolded, or NULL */
	bool in_msgid;			/* the header line before was (part of) it */
	uint64_t data_size;

	char last_reply[512];		/* for reject log lines */

	/* Deadlines (ev_now() ms) that no trickle of octets moves. */
	uint64_t session_end;		/* smtpd_session_deadline */
	uint64_t data_end;		/* smtpd_data_deadline, while in DATA */
};

/* smtpd_server.c */
/* smtpd_server_new - serve d's listeners in its loop with its config
 * (both taken over) */
struct smtpd *smtpd_server_new(struct daemon *d);
/* smtpd_server_free - close listeners and sessions, free everything */
void smtpd_server_free(struct smtpd **srvp);
/* smtpd_tls_setup - (re)build the TLS context from the config */
void smtpd_tls_setup(struct smtpd *srv);

/* smtpd_session.c */
/* smtpd_session_new - serve the accepted socket fd from peer, on the
 * submission port or not (mail/daemon_server.h counts it until freed) */
void smtpd_session_new(struct smtpd *srv, int fd,
    const struct daemon_peer *peer, bool submission);
/* smtpd_deadline_why - the log reason of a timeout (daemon_serve_ops) */
void smtpd_deadline_why(void *owner, unsigned events, char *buf, size_t size);
/*
 * smtpd_session_free - log the disconnect, abort any queue file, free;
 * with a commit in flight only the connection goes, and the commit's
 * end frees the rest (smtpd_session_release)
 */
void smtpd_session_free(struct smtpd_session **sp);
/* smtpd_session_release - free what is left of a session whose connection is gone */
void smtpd_session_release(struct smtpd_session *s);
/* smtpd_reply - send one reply line (format from mail/smtp_reply.h) */
void smtpd_reply(struct smtpd_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* smtpd_reject_log - "NOQUEUE: reject: VERB from ..." for the last reply */
void smtpd_reject_log(struct smtpd_session *s, const char *verb,
    const char *rcpt);
/* smtpd_close - close the session once its output is written */
void smtpd_close(struct smtpd_session *s);
/* smtpd_protocol - "SMTP", "ESMTP", "ESMTPS", "ESMTPA" or "ESMTPSA" */
const char *smtpd_protocol(const struct smtpd_session *s);
/* smtpd_input_resume - run the buffered input after a pause (may free s) */
void smtpd_input_resume(struct smtpd_session *s);
/* smtpd_reset - forget the mail transaction (RSET, end of DATA) */
void smtpd_reset(struct smtpd_session *s);

/* smtpd_cmd.c */
extern const struct smtp_verb smtpd_verbs[];
/* smtpd_cmd_line - handle one command line (r as from stream_read_line) */
void smtpd_cmd_line(struct smtpd_session *s, int r, const char *line,
    size_t len);
/* smtpd_bare_lf_refused - a command or AUTH line ending in a bare LF has
 * been answered 521 and the session is closing (smtpd_forbid_bare_newline) */
bool smtpd_bare_lf_refused(struct smtpd_session *s, const char *line,
    size_t len);

/* smtpd_auth.c */
/* smtpd_auth_offered - may this session use AUTH now (EHLO advertises it)? */
bool smtpd_auth_offered(const struct smtpd_session *s);
/* smtpd_auth - AUTH mechanism [initial-response] */
void smtpd_auth(struct smtpd_session *s, const char *arg);
/* smtpd_auth_line - one line of an AUTH exchange (r as from stream_read_line) */
void smtpd_auth_line(struct smtpd_session *s, int r, const char *line,
    size_t len);
/* smtpd_relay_ok - may this session send mail to any domain? */
bool smtpd_relay_ok(const struct smtpd_session *s);
/* smtpd_auth_reset - end any exchange and forget the login (STARTTLS) */
void smtpd_auth_reset(struct smtpd_session *s);

/* smtpd_pregreet.c */
/* smtpd_greet_start - send the 220 now, or after smtpd_pregreet_wait */
void smtpd_greet_start(struct smtpd_session *s);
/* smtpd_pregreet_caught - did the client talk before the 220? Then it
 * has been logged and answered 521, and the session is closing. */
bool smtpd_pregreet_caught(struct smtpd_session *s);

/* smtpd_etrn.c */
/* smtpd_etrn - ETRN node | @domain | #group (RFC 1985) */
void smtpd_etrn(struct smtpd_session *s, const char *arg);
/* What an ETRN argument names (smtpd_etrn_arg). */
enum smtpd_etrn_kind {
	SMTPD_ETRN_BAD,		/* outside the grammar: 501 */
	SMTPD_ETRN_DOMAIN,	/* "dom" */
	SMTPD_ETRN_SUBDOMAINS,	/* "@dom": dom and its subdomains */
	SMTPD_ETRN_GROUP,	/* "#name": an operator's group */
	SMTPD_ETRN_ALL,		/* "#*": every domain; in a peer login only (PROTO_PEER_ETRN_ALL) */
};
/*
 * smtpd_etrn_arg - the grammar of a non-empty ETRN argument, without I/O
 * (also fuzzed by t/fuzz/); *name_r points into arg at the domain or
 * group name, or NULL for SMTPD_ETRN_BAD and SMTPD_ETRN_ALL.
 */
enum smtpd_etrn_kind smtpd_etrn_arg(const char *arg, const char **name_r);

/* smtpd_peer.c */
/* smtpd_peer_setup - (re)load the peers' addresses and secret; a broken
 * setup logs why and leaves the peer login off */
void smtpd_peer_setup(struct smtpd *srv);
/* smtpd_peer_clear - forget them (shutdown) */
void smtpd_peer_clear(struct smtpd *srv);
/* smtpd_peer_offered - may this session log in as a peer now? */
bool smtpd_peer_offered(const struct smtpd_session *s);
/* smtpd_xsummary - XSUMMARY: the queue summary, to a logged-in peer */
void smtpd_xsummary(struct smtpd_session *s, const char *arg);

/* smtpd_data.c */
/* smtpd_data_begin - open the queue file for the envelope; 0/-1 (replied) */
int smtpd_data_begin(struct smtpd_session *s);
/* smtpd_data_line - one line of content (r as from stream_read_line) */
void smtpd_data_line(struct smtpd_session *s, int r, const char *line,
    size_t len);

/* smtpd_quota.c: max_messages= and max_bytes= (mail/quota.h) */
struct domain;
/* smtpd_quota_setup, smtpd_quota_clear - the server's quota state */
void smtpd_quota_setup(struct smtpd *srv);
void smtpd_quota_clear(struct smtpd *srv);
/*
 * smtpd_quota_rcpt - may rcpt of d be accepted under d's caps (with the
 * declared SIZE)? 0, counting the transaction against d, or -1 with the
 * 452 sent (the caller logs the reject)
 */
int smtpd_quota_rcpt(struct smtpd_session *s, const struct domain *d, const char *rcpt);
/* smtpd_quota_data_end - does the message of size bytes fit every max_bytes? 0, or -1 with the 452 sent */
int smtpd_quota_data_end(struct smtpd_session *s, uint64_t size);
/* smtpd_quota_committed - message id of size bytes was queued: count it until qmgr does */
void smtpd_quota_committed(struct smtpd_session *s, const char *id, uint64_t size);
/* smtpd_quota_release - the transaction ended: it no longer counts as open */
void smtpd_quota_release(struct smtpd_session *s);

#endif
