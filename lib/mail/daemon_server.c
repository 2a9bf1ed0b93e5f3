/*
 * daemon_server - listeners, the accept loop, session limits and refusals
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* lib/util */
#include "util/events.h"
#include "util/htable.h"
#include "util/log.h"
#include "util/stream.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/daemon.h"
#include "mail/daemon_server.h"

struct daemon_server {
	struct ev_loop *loop;
	const struct daemon_serve_ops *ops;
	void *ctx;
	struct daemon_listener *listen;
	size_t nlisten;
	size_t nsessions;		/* counted, begun or not */
	struct daemon_session *sessions;	/* begun */
	struct htable *clients;		/* address -> size_t *: its sessions */
};

/* How long a closing session waits for a client to read its last reply. */
#define DAEMON_CLOSE_LINGER_MS	10000

/* One door, one listen parameter: master binds these, the CLI probes them. */
const struct daemon_listen_param daemon_listen_params[] = {
	{ DAEMON_SVC_SMTP, "smtp_listen", offsetof(struct config, smtp_listen) },
	{ DAEMON_SVC_SUBMISSION, "submission_listen", offsetof(struct config, submission_listen) },
	{ DAEMON_SVC_ODMR, "odmr_listen", offsetof(struct config, odmr_listen) },
	{ DAEMON_SVC_ODMRS, "odmrs_listen", offsetof(struct config, odmrs_listen) },
	{ DAEMON_SVC_FINGER, "finger_listen", offsetof(struct config, finger_listen) },
	{ DAEMON_SVC_WEB, "web_listen", offsetof(struct config, web_listen) },
	{ DAEMON_SVC_POP3, "pop3_listen", offsetof(struct config, pop3_listen) },
	{ DAEMON_SVC_POP3S, "pop3s_listen", offsetof(struct config, pop3s_listen) },
};
_Static_assert(sizeof(daemon_listen_params) / sizeof(daemon_listen_params[0]) ==
    DAEMON_NLISTEN_PARAMS, "DAEMON_NLISTEN_PARAMS counts daemon_listen_params");

/* The log reason of each limit (the reply is the protocol's). */
static const char *const daemon_limit_why[] = {
	[DAEMON_LIMIT_SESSIONS] = "too many connections",
	[DAEMON_LIMIT_CLIENT] = "too many connections from this address",
};

void
daemon_peer_set(struct daemon_peer *p, const struct sockaddr_storage *ss,
    socklen_t len)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	memset(p, 0, sizeof(*p));
	snprintf(p->addr, sizeof(p->addr), "unknown");
	if (ss != NULL) {
		p->ss = *ss;
		if (getnameinfo((const struct sockaddr *)ss, len, host, sizeof(host),
		    serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
			/* One client over IPv4 and IPv4-mapped IPv6 is one client. */
			snprintf(p->addr, sizeof(p->addr), "%.*s",
			    (int)sizeof(p->addr) - 1, strncmp(host, "::ffff:", 7) == 0 &&
			    strchr(host + 7, '.') != NULL ? host + 7 : host);
			p->port = (unsigned)strtoul(serv, NULL, 10);
		}
	}
	p->name = strncmp(p->addr, "127.", 4) == 0 || strcmp(p->addr, "::1") == 0 ?
	    "localhost" : "unknown";
}

/* daemon_server_client - the session count of addr (0 when it has none) */
static size_t
daemon_server_client(const struct daemon_server *srv, const char *addr)
{
	const size_t *n = htable_get(srv->clients, addr);

	return n != NULL ? *n : 0;
}

/* daemon_server_refuse - the protocol's refusal (unless TLS comes first), close, log */
static void
daemon_server_refuse(struct daemon_server *srv, int fd,
    const struct daemon_listener *l, const struct daemon_peer *peer,
    enum daemon_limit limit)
{
	char line[512];
	size_t n;

	if (srv->ops->tls_on_connect == NULL ||
	    strcmp(l->service, srv->ops->tls_on_connect) != 0) {
		srv->ops->refusal(srv->ctx, limit, peer, line, sizeof(line) - 2);
		n = strlen(line);
		memcpy(line + n, "\r\n", 2);
		/* Best effort: the socket is fresh, its send buffer empty. */
		(void)send(fd, line, n + 2, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	(void)close(fd);
	log_warn("refuse connection from %s[%s]: %s", peer->name, peer->addr,
	    daemon_limit_why[limit]);
}

/* daemon_server_over - the limit peer is over, or -1 */
static int
daemon_server_over(const struct daemon_server *srv, const struct daemon_peer *peer)
{
	struct daemon_limits lim = { 0 };

	srv->ops->limits(srv->ctx, peer, &lim);
	if (lim.sessions > 0 && srv->nsessions >= lim.sessions)
		return DAEMON_LIMIT_SESSIONS;
	/* Slow clients from a few addresses must not take every slot. */
	if (lim.per_client > 0 &&
	    daemon_server_client(srv, peer->addr) >= lim.per_client)
		return DAEMON_LIMIT_CLIENT;
	return -1;
}

/* daemon_server_accept - a listener is readable: take new connections */
static void
daemon_server_accept(int lfd, unsigned events, void *ctx)
{
	const struct daemon_listener *l = ctx;
	struct daemon_server *srv = l->srv;
	unsigned i;

	for (i = 0; i < srv->ops->accept_batch; i++) {
		struct sockaddr_storage ss;
		socklen_t sslen = sizeof(ss);
		struct daemon_peer peer;
		size_t *count;
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sslen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		int over;

		if (fd < 0) {
			/* Another process took it, or nothing is left. */
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("accept connection: %s", strerror(errno));
			return;
		}
		daemon_peer_set(&peer, &ss, sslen);
		if ((over = daemon_server_over(srv, &peer)) >= 0) {
			daemon_server_refuse(srv, fd, l, &peer, (enum daemon_limit)over);
			continue;
		}
		if ((count = htable_get(srv->clients, peer.addr)) == NULL) {
			count = xcalloc(1, sizeof(*count));
			htable_put(srv->clients, peer.addr, count);
		}
		(*count)++;
		srv->nsessions++;
		srv->ops->session(srv->ctx, fd, &peer, l);
	}
}

struct daemon_server *
daemon_server_new(struct daemon *d, const struct daemon_serve_ops *ops, void *ctx)
{
	struct daemon_server *srv = xcalloc(1, sizeof(*srv));
	size_t i;

	srv->loop = d->loop;
	srv->ops = ops;
	srv->ctx = ctx;
	srv->clients = htable_new();
	srv->listen = d->listen;
	srv->nlisten = d->nlisten;
	d->listen = NULL;
	d->nlisten = 0;
	for (i = 0; i < srv->nlisten; i++) {
		struct daemon_listener *l = &srv->listen[i];
		int flags = fcntl(l->fd, F_GETFL);

		l->srv = srv;
		/* Several processes may share a listener: never block in accept. */
		if (flags < 0 || fcntl(l->fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
		    ev_io_add(srv->loop, l->fd, EV_READ, daemon_server_accept, l) < 0)
			log_fatal("watch listening socket %d: %s", l->fd,
			    strerror(errno));
	}
	return srv;
}

/* daemon_server_done - a connection of addr is over: its slots are free */
static void
daemon_server_done(struct daemon_server *srv, const char *addr)
{
	size_t *count = htable_get(srv->clients, addr);

	if (count == NULL || srv->nsessions == 0)
		log_panic("end session of %s: not counted", addr);
	srv->nsessions--;
	/* Only addresses with sessions are kept: the table stays small. */
	if (--*count == 0)
		free(htable_del(srv->clients, addr));
}

struct stream *
daemon_session_begin(struct daemon_server *srv, struct daemon_session *ds,
    void *owner, int fd, stream_fn *fn, const char *name, const char *addr)
{
	struct stream *st = stream_new(srv->loop, fd, fn, owner);

	if (st == NULL) {
		log_warn("watch connection from %s[%s]: %s", name, addr,
		    strerror(errno));
		(void)close(fd);
		daemon_server_done(srv, addr);
		return NULL;
	}
	ds->srv = srv;
	ds->owner = owner;
	ds->st = st;
	ds->name = name;
	ds->addr = addr;
	ds->prev = NULL;
	ds->next = srv->sessions;
	if (srv->sessions != NULL)
		srv->sessions->prev = ds;
	srv->sessions = ds;
	return st;
}

void
daemon_session_end(struct daemon_session *ds)
{
	struct daemon_server *srv = ds->srv;

	if (ds->prev != NULL)
		ds->prev->next = ds->next;
	else
		srv->sessions = ds->next;
	if (ds->next != NULL)
		ds->next->prev = ds->prev;
	ds->prev = ds->next = NULL;
	daemon_server_done(srv, ds->addr);
}

void
daemon_session_close(struct daemon_session *ds)
{
	ds->closing = true;
	(void)stream_flush(ds->st);
	stream_set_timeout(ds->st, DAEMON_CLOSE_LINGER_MS);
}

void
daemon_session_tls_log(const struct daemon_session *ds)
{
	char desc[160];

	stream_tls_describe(ds->st, desc, sizeof(desc));
	log_info("Anonymous TLS connection established from %s[%s]: %s",
	    ds->name, ds->addr, desc);
}

bool
daemon_session_stopped(struct daemon_session *ds, unsigned events)
{
	const struct daemon_serve_ops *ops = ds->srv->ops;
	char why[80];

	if (events & STREAM_EV_ERROR) {
		log_info("lost connection after %s from %s[%s]: %s", ds->last_cmd,
		    ds->name, ds->addr, stream_error(ds->st));
		ops->session_free(ds->owner);
		return true;
	}
	if (!(events & (STREAM_EV_TIMEOUT | STREAM_EV_DEADLINE |
	    STREAM_EV_LINE_DEADLINE)))
		return false;
	/* (A closing session's timeout is its linger: it just goes.) */
	if (!ds->closing) {
		ops->deadline_why(ds->owner, events, why, sizeof(why));
		log_info("timeout after %s from %s[%s]%s", ds->last_cmd, ds->name,
		    ds->addr, why);
		ops->timeout_reply(ds->owner);
		daemon_session_close(ds);
		if (stream_pending(ds->st) > 0)
			return true;
	}
	ops->session_free(ds->owner);
	return true;
}

bool
daemon_session_finished(struct daemon_session *ds)
{
	const struct daemon_serve_ops *ops = ds->srv->ops;

	if (ds->closing && stream_pending(ds->st) == 0) {
		ops->session_free(ds->owner);
		return true;
	}
	/* Whole lines were all run; a partial one will never end. */
	if (stream_eof(ds->st) && !ds->closing) {
		log_info("lost connection after %s from %s[%s]", ds->last_cmd,
		    ds->name, ds->addr);
		ops->session_free(ds->owner);
		return true;
	}
	return false;
}

/* The deadlines a stream reports, and how a timeout log line names them. */
void
daemon_deadline_why(unsigned events, long command_s, const char *what,
    long deadline_s, char *buf, size_t size)
{
	if (events & STREAM_EV_LINE_DEADLINE)
		snprintf(buf, size, ": command deadline %lds exceeded", command_s);
	else if (events & STREAM_EV_DEADLINE)
		snprintf(buf, size, ": %s deadline %lds exceeded", what, deadline_s);
	else
		buf[0] = '\0';
}

size_t
daemon_server_listeners(const struct daemon_server *srv)
{
	return srv->nlisten;
}

/* daemon_server_free_count - free one count (table teardown) */
static int
daemon_server_free_count(const char *key, void *value, void *ctx)
{
	free(value);
	return 0;
}

void
daemon_server_free(struct daemon_server **srvp)
{
	struct daemon_server *srv = *srvp;
	size_t i;

	if (srv == NULL)
		return;
	while (srv->sessions != NULL) {
		struct daemon_session *ds = srv->sessions;

		srv->ops->session_free(ds->owner);
		if (srv->sessions == ds)
			log_panic("free session of %s: still listed", ds->addr);
	}
	*srvp = NULL;
	for (i = 0; i < srv->nlisten; i++) {
		ev_io_del(srv->loop, srv->listen[i].fd);
		(void)close(srv->listen[i].fd);
	}
	free(srv->listen);
	htable_walk(srv->clients, daemon_server_free_count, NULL);
	htable_free(&srv->clients);
	free(srv);
}

const struct hostport_list *
daemon_listen_list(const struct config *cfg, const struct daemon_listen_param *p)
{
	return (const struct hostport_list *)((const char *)cfg + p->offset);
}

void
daemon_hostport_text(const struct hostport *hp, const char *any, char *buf,
    size_t size)
{
	bool v6 = strchr(hp->host, ':') != NULL;

	snprintf(buf, size, "%s%s%s:%s", v6 ? "[" : "",
	    hp->host[0] != '\0' ? hp->host : any, v6 ? "]" : "", hp->port);
}
