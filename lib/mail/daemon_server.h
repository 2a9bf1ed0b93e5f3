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
 *	...in ops->session, once the session is set up:
 *	daemon_session_begin(srv->serve, &s->ds, s, s->addr);
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
 * owns the descriptor from then on. A session that is set up joins the
 * server's list with daemon_session_begin() and leaves it, freeing its
 * slots, with daemon_session_end(); one that fails before that frees
 * its slots with daemon_server_done(). At shutdown the server frees
 * the sessions still live with ops->session_free.
 *
 * The sessions' own end shares two pieces: daemon_session_close() (the
 * last reply goes out, then the close, with a bound on a client that
 * never reads it) and daemon_deadline_why() (the reason of a timeout,
 * as every door logs it).
 *
 * The table of listener services and the sluice.conf parameters that
 * configure them is here too: master binds from it and "sluice status"
 * probes from it.
 */
#ifndef SLUICE_DAEMON_SERVER_H
#define SLUICE_DAEMON_SERVER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

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
	/* session_free - free a live session at shutdown (it calls daemon_session_end) */
	void (*session_free)(void *owner);
};

struct daemon_server;

/* The skeleton's part of a live session, embedded in the program's. */
struct daemon_session {
	struct daemon_server *srv;
	struct daemon_session *prev, *next;	/* the server's live sessions */
	void *owner;			/* the program's session */
	const char *addr;		/* its client address (the owner's copy) */
};

/*
 * daemon_server_new - serve d's listeners (taken over: d keeps none)
 * with ops (borrowed, usually static) and ctx; fatal when a listener
 * cannot be watched.
 */
struct daemon_server *daemon_server_new(struct daemon *d,
    const struct daemon_serve_ops *ops, void *ctx);
/* daemon_server_done - a connection of addr ended before its session began */
void daemon_server_done(struct daemon_server *srv, const char *addr);
/* daemon_session_begin - owner (with ds inside, addr its client) is live */
void daemon_session_begin(struct daemon_server *srv, struct daemon_session *ds,
    void *owner, const char *addr);
/* daemon_session_end - the session of ds is over: unlinked, its slots free */
void daemon_session_end(struct daemon_session *ds);
/* daemon_server_sessions - how many sessions are live */
size_t daemon_server_sessions(const struct daemon_server *srv);
/* daemon_server_listeners - how many listeners it serves */
size_t daemon_server_listeners(const struct daemon_server *srv);
/* daemon_server_free - free the live sessions, close the listeners, free */
void daemon_server_free(struct daemon_server **srvp);

struct stream;
/* daemon_session_close - flush st; a client that never reads must not hold us */
void daemon_session_close(struct stream *st);
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

/* One listener service and the sluice.conf parameter that configures it. */
struct daemon_listen_param {
	const char *service;		/* "smtp", "submission", "odmr", ... */
	const char *param;		/* "smtp_listen", ... */
	size_t offset;			/* of its struct hostport_list in struct config */
};

/* Every listener service, in the order master binds them. */
extern const struct daemon_listen_param daemon_listen_params[];
#define DAEMON_NLISTEN_PARAMS	6

/* daemon_listen_list - cfg's addresses of the service of row p */
const struct hostport_list *daemon_listen_list(const struct config *cfg,
    const struct daemon_listen_param *p);
/* daemon_hostport_text - "host:port", "[v6]:port"; an empty host as any */
void daemon_hostport_text(const struct hostport *hp, const char *any,
    char *buf, size_t size);

#endif
