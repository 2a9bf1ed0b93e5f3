/*
 * daemon_server - the serving half of a sluice daemon, as Postfix's
 * multi_server: the listeners, the accept loop, the limits on sessions
 * at once and per client address with the refusal each protocol gives,
 * and the list of live sessions. A program supplies its protocol as a
 * table of callbacks and writes only what its sessions say:
 *
 *	static const struct daemon_serve_ops ops = {
 *		.accept_batch = 32, .limits = x_limits, .refusal = x_refusal,
 *		.session = x_serve, .session_free = x_serve_free,
 *	};
 *	srv->serve = daemon_server_new(&d, &ops, srv);	(takes d's listeners)
 *	...in ops->session:
 *	s->st = daemon_session_begin(srv->serve, &s->ds, s, fd, x_event,
 *	    s->name, s->addr);
 *	if (s->st == NULL) { free(s); return; }	(logged, fd closed)
 *	...in the stream's callback:
 *	if (daemon_session_stopped(&s->ds, events)) return;	(error, timeout)
 *	...the protocol's input...
 *	if (daemon_session_finished(&s->ds)) return;	(closed, or EOF)
 *	...in the program's session free:
 *	daemon_session_end(&s->ds);
 *
 * Each listener is non-blocking and watched in d's loop. A readable
 * listener yields at most accept_batch connections per wakeup (several
 * processes may share it; sessions must not starve). A connection over
 * a limit gets the protocol's refusal line (none on a listener whose
 * clients speak TLS first), is closed, and is logged as
 * "reject: connect from NAME[ADDR]: too many connections[ from this
 * address]". Otherwise it is counted and handed to ops->session, which
 * owns the descriptor from then on. daemon_session_begin() makes the
 * session's stream and puts it in the server's list; the session leaves
 * it, freeing its slots, with daemon_session_end(). At shutdown the
 * server frees the sessions still live with ops->session_free.
 *
 * A dialogue (smtpd, etrn) ends the same way whatever its protocol:
 * an error or an EOF before the client's QUIT is "lost connection after
 * CMD from NAME[ADDR]"; an idle timeout or a deadline is "timeout after
 * CMD from NAME[ADDR]: ... deadline Ns exceeded", answered with the
 * protocol's reply (ops->timeout_reply); daemon_session_close() lets the
 * last reply go out, with a bound on a client that never reads it, and
 * the session is freed once it has (ops->session_free). fingerd, one
 * query and one answer, ends its own way and uses only the list.
 *
 * The table of listener services and the sluice.conf parameters that
 * configure them is here too: master binds from it and "sluice status"
 * probes from it.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_DAEMON_SERVER_H
#define SLUICE_DAEMON_SERVER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* lib/util */
#include "util/stream.h"

struct config;
struct daemon;
struct daemon_listener;
struct hostport;
struct hostport_list;

/* A client as the programs log it and match it against network lists. */
struct daemon_peer {
	char addr[INET6_ADDRSTRLEN];	/* numeric; IPv4-mapped IPv6 as IPv4 */
	unsigned port;
	const char *name;		/* "localhost" or "unknown" (no DNS) */
	struct sockaddr_storage ss;
};

/* Which limit a connection is over. */
enum daemon_limit {
	DAEMON_LIMIT_SESSIONS,		/* sessions of this process */
	DAEMON_LIMIT_CLIENT,		/* sessions of this client address */
};

/* The limits in force for one connection; 0 is no limit. */
struct daemon_limits {
	size_t sessions;
	size_t per_client;		/* 0 also for an exempt client */
};

struct daemon_serve_ops {
	/* Connections taken from one listener per wakeup. */
	unsigned accept_batch;
	/* The service whose clients speak TLS first: refused without a word. */
	const char *tls_on_connect;
	/* limits - the limits for peer now (read at each connection: reload) */
	void (*limits)(void *ctx, const struct daemon_peer *peer,
	    struct daemon_limits *lim_r);
	/* refusal - the reply line, without CRLF, for a connection over limit */
	void (*refusal)(void *ctx, enum daemon_limit limit,
	    const struct daemon_peer *peer, char *buf, size_t size);
	/* session - serve fd (non-blocking, close-on-exec) from peer on listener l */
	void (*session)(void *ctx, int fd, const struct daemon_peer *peer,
	    const struct daemon_listener *l);
	/* session_free - free a session (it calls daemon_session_end) */
	void (*session_free)(void *owner);
	/* timeout_reply - the protocol's answer to a timeout (dialogues only) */
	void (*timeout_reply)(void *owner);
	/* deadline_why - the log reason of a timeout, as daemon_deadline_why() */
	void (*deadline_why)(void *owner, unsigned events, char *buf, size_t size);
};

struct daemon_server;

/* The skeleton's part of a live session, embedded in the program's. */
struct daemon_session {
	struct daemon_server *srv;
	struct daemon_session *prev, *next;	/* the server's live sessions */
	void *owner;			/* the program's session */
	struct stream *st;		/* the owner's stream (it frees it) */
	const char *name, *addr;	/* its client (the owner's strings) */
	const char *last_cmd;		/* for "... after CMD from ..." */
	bool closing;			/* close once the output is written */
};

/*
 * daemon_server_new - serve d's listeners (taken over: d keeps none)
 * with ops (borrowed, usually static) and ctx; fatal when a listener
 * cannot be watched.
 */
struct daemon_server *daemon_server_new(struct daemon *d,
    const struct daemon_serve_ops *ops, void *ctx);
/*
 * daemon_session_begin - the stream of owner (ds inside, name[addr] its
 * client) on fd, with fn called with owner; the session is live. NULL,
 * logged, with fd closed and the slots free, when it cannot be watched.
 */
struct stream *daemon_session_begin(struct daemon_server *srv,
    struct daemon_session *ds, void *owner, int fd, stream_fn *fn,
    const char *name, const char *addr);
/* daemon_session_end - the session of ds is over: unlinked, its slots free */
void daemon_session_end(struct daemon_session *ds);
/* daemon_server_listeners - how many listeners it serves */
size_t daemon_server_listeners(const struct daemon_server *srv);
/* daemon_server_free - free the live sessions, close the listeners, free */
void daemon_server_free(struct daemon_server **srvp);

/* daemon_session_close - close once the output is written; a client that never reads must not hold us */
void daemon_session_close(struct daemon_session *ds);
/* daemon_session_tls_log - the handshake is over: "Anonymous TLS connection established ..." */
void daemon_session_tls_log(const struct daemon_session *ds);
/*
 * daemon_session_stopped - the stream events that end a dialogue before
 * its input runs (an error; a timeout or deadline). true: the caller
 * returns at once, the session freed or closing.
 */
bool daemon_session_stopped(struct daemon_session *ds, unsigned events);
/*
 * daemon_session_finished - after the input ran: free a closing session
 * whose output is written, or one whose client left. true: it is gone.
 */
bool daemon_session_finished(struct daemon_session *ds);
/*
 * daemon_deadline_why - the tail of "timeout after X from N[A]" for the
 * stream events: ": command deadline Ns exceeded" (command_s), ": WHAT
 * deadline Ns exceeded" (the stream deadline: what and deadline_s), or
 * "" for the idle timeout.
 */
void daemon_deadline_why(unsigned events, long command_s, const char *what,
    long deadline_s, char *buf, size_t size);

/* daemon_peer_set - addr, port and name of the socket address ss (len octets) */
void daemon_peer_set(struct daemon_peer *p, const struct sockaddr_storage *ss,
    socklen_t len);

/*
 * The listener services: the names master passes in SLUICE_LISTEN_NAMES
 * and its service table hands out, and the programs ask for.
 */
#define DAEMON_SVC_SMTP		"smtp"
#define DAEMON_SVC_SUBMISSION	"submission"
#define DAEMON_SVC_ODMR		"odmr"
#define DAEMON_SVC_ODMRS	"odmrs"		/* TLS from the first byte */
#define DAEMON_SVC_FINGER	"finger"
#define DAEMON_SVC_WEB		"web"
#define DAEMON_SVC_POP3		"pop3"
#define DAEMON_SVC_POP3S	"pop3s"		/* TLS from the first byte */

/* One listener service and the sluice.conf parameter that configures it. */
struct daemon_listen_param {
	const char *service;		/* "smtp", "submission", "odmr", ... */
	const char *param;		/* "smtp_listen", ... */
	size_t offset;			/* of its struct hostport_list in struct config */
};

/* Every listener service, in the order master binds them. */
extern const struct daemon_listen_param daemon_listen_params[];
#define DAEMON_NLISTEN_PARAMS	8

/* daemon_listen_list - cfg's addresses of the service of row p */
const struct hostport_list *daemon_listen_list(const struct config *cfg,
    const struct daemon_listen_param *p);
/* daemon_hostport_text - "host:port", "[v6]:port"; an empty host as any */
void daemon_hostport_text(const struct hostport *hp, const char *any,
    char *buf, size_t size);

#endif
