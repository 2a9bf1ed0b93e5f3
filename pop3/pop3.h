/*
 * pop3.h - what the POP3 maildrop server's modules share.
 *
 *	pop3.c		main(): options, config, listeners, signals, the loop
 *	pop3_server.c	limits and refusals for the serving skeleton
 *			(mail/daemon_server.h), TLS context, reload
 *	pop3_session.c	one customer: I/O, the command parser and table,
 *			CAPA, STLS, replies, the disconnect line
 *	pop3_auth.c	USER/PASS and AUTH (RFC 5034: PLAIN, LOGIN,
 *			CRAM-MD5), the failure delay, limit and lockout
 *	pop3_drop.c	the maildrop: the bind in qmgr, the snapshot of
 *			held mail, STAT LIST UIDL RETR TOP DELE RSET, and
 *			QUIT's update (type=collect to qmgr)
 *
 * A session lives in one of these states (RFC 1939 section 3):
 *
 *	AUTHORIZATION --USER+PASS or AUTH, maildrop bound--> TRANSACTION
 *	  CAPA STLS USER PASS AUTH QUIT      STAT LIST UIDL RETR TOP DELE
 *	                                     NOOP RSET CAPA QUIT --> UPDATE
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_POP3_H
#define SLUICE_POP3_H

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

struct daemon;
struct passwd_table;
struct sasl;

/* Sessions one pop3 process serves at once (each costs a few KB). */
#define POP3_SESSION_MAX	1000
/* A command line, CRLF included (RFC 2449 section 4: 255 octets). */
#define POP3_LINE_MAX		255
/* An argument (RFC 1939 section 3: 40 octets; AUTH's initial response more). */
#define POP3_ARG_MAX		40
/* Lines too long or unknown commands before we hang up. */
#define POP3_ABUSE_MAX		10
/*
 * Messages one session shows at most (about 200 octets of memory and one
 * queue file read at login each); the rest waits for the next session.
 */
#define POP3_MSGS_MAX		1000
/* How long qmgr may take to answer (or to answer the next collect), in ms. */
#define POP3_QMGR_TIMEOUT_MS	5000
/* QUIT's collects sent to qmgr before their answers come back. */
#define POP3_COLLECT_WINDOW	32
/* Records of qmgr's list read per wakeup, to stay fair to the others. */
#define POP3_LIST_BATCH		256
/* Output a customer leaves unread before we stop writing a message. */
#define POP3_OUTPUT_MAX		(64 * 1024)

/*
 * What a session waits for from qmgr: its input waits too (pipelined
 * commands stay buffered), the other sessions go on.
 */
enum pop3_wait {
	POP3_W_NONE,
	POP3_W_BIND,			/* login: type=idle or busy on the bind */
	POP3_W_LIST,			/* login: the held entries of a domain */
	POP3_W_COLLECT			/* QUIT: type=collected, one per collect */
};

/* Session states, as bits so that a command row can allow several. */
#define POP3_ST_AUTH		0x1u	/* AUTHORIZATION */
#define POP3_ST_TRANS		0x2u	/* TRANSACTION */

/* A parsed command line (pop3_cmd_parse): copies, never into the input. */
struct pop3_cmd {
	char verb[5];			/* upper case, 3 or 4 letters */
	char *arg[2];			/* into args, or NULL */
	size_t narg;			/* 3: none of arg is valid (empty, a third, too long) */
	char args[POP3_LINE_MAX + 1];	/* the arguments, each NUL-terminated */
	char rest[POP3_LINE_MAX + 1];	/* everything after the verb and one space */
};

struct pop3 {
	struct ev_loop *loop;
	struct config *cfg;
	SSL_CTX *tls;			/* server side; NULL: no STLS, no pop3s */
	struct daemon_server *serve;
	struct passwd_table *passwd;	/* customers' credentials, or NULL */
};

/* One message of the maildrop: one recipient of one queued message. */
struct pop3_msg {
	char id[QUEUE_ID_LEN + 1];
	size_t idx;			/* the recipient's index in the envelope */
	char *rcpt;
	char *sender;
	uint64_t size;			/* octets as RETR sends them, unstuffed */
	bool deleted;
};

/* A RETR or TOP being written (pop3_drop.c). */
struct pop3_out {
	int fd;				/* the queue file, at the content; -1 */
	uint64_t left;			/* content octets not read yet */
	long body_lines;		/* TOP: body lines still to send; -1 all */
	bool in_body;			/* past the empty line after the headers */
	bool bol;			/* the next octet starts a line */
	size_t line_len;		/* octets of the current line, CR and LF aside */
};

struct pop3_session {
	struct pop3 *srv;
	struct daemon_session ds;
	struct stream *st;
	char addr[INET6_ADDRSTRLEN];
	const char *name;
	unsigned state;			/* POP3_ST_* */
	unsigned ncmd;
	unsigned abuse;			/* long lines, unknown commands */
	bool tls_wrap;
	uint64_t session_end;

	/* Authorization (pop3_auth.c). */
	char *user_arg;			/* USER's argument, until PASS */
	struct sasl *sasl;
	char *mech;
	char *user;			/* the authenticated login */
	unsigned auth_failures;
	struct ev_timer *auth_pause;

	/* The maildrop (pop3_drop.c). */
	int qmgr_fd;			/* the bind; -1 */
	bool qmgr_lost;			/* qmgr went away: QUIT deletes nothing */
	enum pop3_wait wait;		/* a qmgr exchange under way */
	struct ev_timer *qmgr_timer;	/* its deadline */
	char *method;			/* login: the method, for the log */
	int list_fd;			/* login: the list request; -1 */
	size_t nlisted;			/* login: domains listed */
	size_t nleft;			/* login: entries past POP3_MSGS_MAX */
	char **domains;
	size_t ndomains;
	struct pop3_msg *msgs;
	size_t nmsgs, msgs_size;
	struct pop3_out out;
	size_t *coll;			/* QUIT: the deleted messages' indexes */
	size_t ncoll, coll_sent, coll_done;
	unsigned ncollected, ngone, nrefused;
};

/* pop3_server.c */
struct pop3 *pop3_server_new(struct daemon *d);
void pop3_server_free(struct pop3 **srvp);
void pop3_server_reload(struct pop3 *srv, struct config *cfg);

/* pop3_session.c */
/* pop3_session_new - serve accepted socket fd from peer; tls_wrap: pop3s */
void pop3_session_new(struct pop3 *srv, int fd, const struct daemon_peer *peer,
    bool tls_wrap);
/* pop3_session_free - log the disconnect, drop the bind, free */
void pop3_session_free(struct pop3_session **sp);
/* pop3_reply - send one reply line (format from pop3/pop3_reply.h) */
void pop3_reply(struct pop3_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* pop3_close - close the session once its output is written */
void pop3_close(struct pop3_session *s);
/* pop3_resume - run buffered commands from a timer; s may be gone after */
void pop3_resume(struct pop3_session *s);
/*
 * pop3_cmd_parse - one command line (no CRLF, at most POP3_LINE_MAX
 * octets): a verb of 3 or 4 letters, then arguments separated by single
 * spaces, each at most POP3_ARG_MAX octets of 0x21-0x7E (rest keeps the
 * raw remainder, for PASS and AUTH). 0, or -1 for a malformed line
 * (empty, too long, NUL, control octets, bad verb).
 */
int pop3_cmd_parse(const char *line, size_t len, struct pop3_cmd *cmd);
/* pop3_tls_allowed_plain - may this session send a password in the clear? */
bool pop3_plain_allowed(const struct pop3_session *s);

/* pop3_auth.c */
void pop3_user_cmd(struct pop3_session *s, const struct pop3_cmd *cmd);
void pop3_pass_cmd(struct pop3_session *s, const struct pop3_cmd *cmd);
void pop3_auth_cmd(struct pop3_session *s, const struct pop3_cmd *cmd);
/* pop3_auth_line - one client response of an AUTH exchange */
void pop3_auth_line(struct pop3_session *s, const char *line);
/* pop3_auth_mechs - "PLAIN LOGIN CRAM-MD5" as this session may use them */
void pop3_auth_mechs(const struct pop3_session *s, char *buf, size_t size);
void pop3_auth_reset(struct pop3_session *s);
void pop3_passwd_reload(struct pop3 *srv);

/* pop3_drop.c */
/*
 * pop3_drop_open - user logged in: bind the domains in qmgr and take the
 * snapshot, waiting for qmgr in the loop (s->wait); then replies +OK
 * (TRANSACTION) or -ERR (stays in AUTHORIZATION) and resumes the input
 */
void pop3_drop_open(struct pop3_session *s, const char *mech);
/*
 * pop3_drop_fail - the login failed: -ERR [IN-USE] (r > 0, why from
 * qmgr) or -ERR [SYS/TEMP]; the bind and the snapshot go
 */
void pop3_drop_fail(struct pop3_session *s, int r, const char *why);
/* pop3_drop_close - drop the bind (qmgr frees the domains), free the list */
void pop3_drop_close(struct pop3_session *s);
void pop3_stat_cmd(struct pop3_session *s, const struct pop3_cmd *cmd);
void pop3_list_cmd(struct pop3_session *s, const struct pop3_cmd *cmd);
void pop3_uidl_cmd(struct pop3_session *s, const struct pop3_cmd *cmd);
void pop3_retr_cmd(struct pop3_session *s, const struct pop3_cmd *cmd);
void pop3_top_cmd(struct pop3_session *s, const struct pop3_cmd *cmd);
void pop3_dele_cmd(struct pop3_session *s, const struct pop3_cmd *cmd);
void pop3_rset_cmd(struct pop3_session *s, const struct pop3_cmd *cmd);
/*
 * pop3_update - QUIT in TRANSACTION: collect the deleted (pipelined,
 * waiting for qmgr's answers in the loop), then reply and close
 */
void pop3_update(struct pop3_session *s);
/* pop3_out_pump - write more of a RETR/TOP; whether one is still going */
bool pop3_out_pump(struct pop3_session *s);

#endif
