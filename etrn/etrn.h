/*
 * etrn.h - what the ODMR server's modules share: the server and a session.
 *
 *	etrn.c		main(): options, config, listeners, signals, the loop
 *	etrn_server.c	limits and refusals for the serving skeleton
 *			(mail/daemon_server.h), TLS context, reload
 *	etrn_session.c	one customer: I/O, the verb table, EHLO, STARTTLS,
 *			replies, the disconnect line
 *	etrn_auth.c	AUTH (CRAM-MD5; PLAIN and LOGIN inside TLS), the
 *			failure delay and limit
 *	etrn_atrn.c	ATRN: which domains, ownership, rate limit, mail
 *			waiting, binding the domains to us in qmgr
 *	etrn_turn.c	after the turn: the SMTP client over the same
 *			connection, jobs from qmgr (run by lib/mail/job.c)
 *
 * A session lives in one of these states (RFC 2645 section 4):
 *
 *	INIT --AUTH ok--> AUTHED --ATRN ok--> BINDING --first record--> TURNED
 *	  EHLO AUTH QUIT     ATRN QUIT          (input paused)          (we are
 *	  STARTTLS RSET NOOP                                             the client)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_ETRN_H
#define SLUICE_ETRN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

/* lib/util */
#include "util/events.h"
#include "util/stream.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/daemon_server.h"
#include "mail/proto.h"
#include "mail/queue.h"
#include "mail/smtp_client.h"

struct daemon;
struct htable;
struct ipc_rec;
struct job;
struct passwd_table;
struct sasl;

/* Sessions one etrn process serves at once (each costs a few KB). */
#define ETRN_SESSION_MAX	1000
/* Domains one ATRN may name: as many as qmgr binds to one session. */
#define ETRN_ATRN_DOMAINS_MAX	PROTO_BIND_MAX
/* How long qmgr may take to answer a status request or a bind, in ms. */
#define ETRN_QMGR_TIMEOUT_MS	5000
/* Output a customer leaves unread before we stop reading its commands. */
#define ETRN_OUTPUT_MAX		(16 * 1024)

/* Session states, as bits so that a verb row can allow several. */
#define ETRN_ST_INIT		0x1u	/* before AUTH */
#define ETRN_ST_AUTHED		0x2u	/* authenticated: ATRN or QUIT */
#define ETRN_ST_BINDING		0x4u	/* ATRN accepted, qmgr not yet heard */
#define ETRN_ST_TURNED		0x8u	/* the connection is turned around */

struct etrn {
	struct ev_loop *loop;
	struct config *cfg;
	const char *confdir;
	SSL_CTX *tls;			/* server side; NULL: no TLS offered */
	struct daemon_server *serve;	/* listeners, accept, limits, sessions */
	struct htable *atrn_last;	/* login -> time_t * of its last ATRN */
	struct passwd_table *passwd;	/* customers' credentials, or NULL */
};

struct etrn_session {
	struct etrn *srv;
	struct daemon_session ds;	/* in the server's list */
	struct stream *st;
	char addr[INET6_ADDRSTRLEN];
	unsigned port;			/* the customer's port, for relay= */
	const char *name;		/* "localhost" or "unknown" */
	unsigned state;			/* ETRN_ST_* */
	char *helo;			/* EHLO argument, or NULL */
	unsigned ncmd;			/* commands, for the disconnect line */
	bool tls_wrap;			/* waiting for the TLS-on-connect handshake */
	uint64_t session_end;		/* odmr_session_deadline, ev_now() ms */

	/* AUTH (etrn_auth.c). */
	struct sasl *sasl;		/* an exchange in progress */
	char *mech;			/* its mechanism */
	char *user;			/* the authenticated login */
	unsigned auth_failures;
	struct ev_timer *auth_pause;	/* a failed login waits this out */

	/* ATRN and after (etrn_atrn.c, etrn_turn.c). */
	char **domains;			/* bound to this session */
	size_t ndomains;
	int qmgr_fd;			/* -1, or QUEUE_DIR/private/deliver */
	struct ev_timer *bind_timer;	/* qmgr's first record is due */
	struct smtp_client *cl;		/* after the turn */
	char relay[INET6_ADDRSTRLEN + 300]; /* "name[addr]:port" */
	struct job *job;		/* at most one (we say slots=1) */
	bool client_ready;		/* the customer greeted us back */
	bool qmgr_idle;			/* qmgr says nothing is left */
	bool quitting;			/* QUIT sent to the customer */
	unsigned nsent, ndeferred;	/* recipients, for the end line */
};

/* etrn_server.c */
/* etrn_server_new - serve d's listeners in its loop with its config (taken over) */
struct etrn *etrn_server_new(struct daemon *d);
/* etrn_server_free - close listeners and sessions, free everything */
void etrn_server_free(struct etrn **srvp);
/* etrn_server_reload - a new configuration (taken over): TLS, passwords */
void etrn_server_reload(struct etrn *srv, struct config *cfg);

/* etrn_session.c */
/* etrn_session_new - serve accepted socket fd from peer; tls_wrap: odmrs
 * (mail/daemon_server.h counts it until freed) */
void etrn_session_new(struct etrn *srv, int fd, const struct daemon_peer *peer,
    bool tls_wrap);
/* etrn_session_free - log the disconnect, drop qmgr and client, free */
void etrn_session_free(struct etrn_session **sp);
/* etrn_reply - send one reply line (format from etrn/etrn_reply.h) */
void etrn_reply(struct etrn_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* etrn_close - close the session once its output is written */
void etrn_close(struct etrn_session *s);
/* etrn_input - run the command lines buffered */
void etrn_input(struct etrn_session *s);
/*
 * etrn_resume - from outside the stream's callback (a timer, qmgr): run
 * buffered commands, and free s if it is closing with nothing left to
 * write. s may be gone afterwards.
 */
void etrn_resume(struct etrn_session *s);

/* etrn_auth.c */
/* etrn_auth_cmd - AUTH mechanism [initial-response] */
void etrn_auth_cmd(struct etrn_session *s, const char *arg);
/* etrn_auth_line - one response line of an exchange in progress */
void etrn_auth_line(struct etrn_session *s, const char *line);
/* etrn_auth_mechs - the AUTH line of EHLO for this session, in buf */
void etrn_auth_mechs(const struct etrn_session *s, char *buf, size_t size);
/* etrn_auth_reset - forget an exchange in progress (and its timer) */
void etrn_auth_reset(struct etrn_session *s);
/* etrn_passwd_reload - (re)read passwd_file; keeps the old table on errors */
void etrn_passwd_reload(struct etrn *srv);

/* etrn_atrn.c */
/* etrn_atrn_cmd - ATRN [domain[,domain...]] */
void etrn_atrn_cmd(struct etrn_session *s, const char *arg);
/* etrn_qmgr_close - drop the agent connection to qmgr (it re-queues) */
void etrn_qmgr_close(struct etrn_session *s);
/* etrn_qmgr_send - one record to qmgr on the agent connection; 0/-1 */
int etrn_qmgr_send(struct etrn_session *s, const struct ipc_rec *rec);
/* etrn_atrn_forget - free the per-login ATRN times */
void etrn_atrn_forget(struct etrn *srv);
/*
 * etrn_domains_parse - ATRN's "d1,d2,..." (RFC 2645 4.2) appended to
 * s->domains (lowercase, each once, at most ETRN_ATRN_DOMAINS_MAX). 0, or
 * -1 for a syntax error. Reads only s->domains/ndomains (t/fuzz/ too).
 */
int etrn_domains_parse(struct etrn_session *s, const char *arg);
/* etrn_domains_clear - free s->domains and empty the list */
void etrn_domains_clear(struct etrn_session *s);

/* etrn_turn.c */
/* etrn_turn_start - say 250 and become the SMTP client; first job or NULL */
void etrn_turn_start(struct etrn_session *s, struct job *first);
/* etrn_turn_record - a record from qmgr after the turn; 0, or -1 to drop */
int etrn_turn_record(struct etrn_session *s, const struct ipc_rec *rec);
/* etrn_turn_qmgr_lost - qmgr went away: stop after the current message */
void etrn_turn_qmgr_lost(struct etrn_session *s);
/* etrn_job_parse - a job record for a domain bound to s (job_parse()); NULL if bad */
struct job *etrn_job_parse(const struct etrn_session *s,
    const struct ipc_rec *rec, const char **why_r);

#endif
