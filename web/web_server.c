/*
 * web_server - libmicrohttpd on our epoll loop; the headers of every reply
 *
 * Plain HTTP: libmicrohttpd accepts on the first web_listen socket. HTTPS:
 * web_tls.c accepts and does TLS, and hands libmicrohttpd plaintext
 * connections (web_server_add); libmicrohttpd's own TLS is never used.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

/* lib/util */
#include "util/events.h"
#include "util/htable.h"
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/daemon.h"
#include "mail/daemon_server.h"
#include "mail/passwd.h"
/* web */
#include "web/web.h"

/*
 * An idle connection is closed after this many seconds (libmicrohttpd's
 * timeout, which any octet resets; web_request_deadline bounds a slow one).
 */
#define WEB_CONN_TIMEOUT	30
/*
 * Under HTTPS web_tls.c counts connections against web_connection_limit
 * and web_client_connection_limit when it accepts them (and follows a
 * reload). libmicrohttpd's own counts, fixed at start and a moment late
 * when a client vanishes, must never refuse one of them: no limit per
 * address, and a total no configuration reaches.
 */
#define WEB_MHD_TLS_CONN_MAX	1000000u
/* How often idle sessions are swept out, in ms. */
#define WEB_SWEEP_MS		60000

/*
 * Under HTTPS libmicrohttpd's connections are AF_UNIX sockets that it
 * takes for TCP (it judges by the client's address, which is the real
 * one): setting TCP_NODELAY and TCP_CORK there fails, and with it the
 * "push" that uncorks. Nothing is held back on a socketpair, and our
 * TLS socket has TCP_NODELAY, so these are debug lines, not warnings.
 */
static const char *const web_mhd_unix_noise[] = {
	"Setting TCP_NODELAY option",
	"Setting TCP_CORK option",
	"Failed to push the data from buffers to the network",
};

/* web_mhd_log - libmicrohttpd's error messages, into our log */
static void
web_mhd_log(void *cls, const char *fmt, va_list ap)
{
	const struct web *w = cls;
	char buf[512];
	size_t len, i;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	len = strlen(buf);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	for (i = 0; w->tls && i < sizeof(web_mhd_unix_noise) /
	    sizeof(web_mhd_unix_noise[0]); i++)
		if (strncmp(buf, web_mhd_unix_noise[i],
		    strlen(web_mhd_unix_noise[i])) == 0) {
			log_debug("libmicrohttpd: %s", buf);
			return;
		}
	log_warn("libmicrohttpd: %s", buf);
}

/* web_mhd_access - libmicrohttpd's request callback */
static enum MHD_Result
web_mhd_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **req_ctx)
{
	return web_handle(cls, conn, url, method, version, upload, upload_size,
	    req_ctx) == MHD_YES ? MHD_YES : MHD_NO;
}

/*
 * One open connection. libmicrohttpd's own timeout is an idle timeout,
 * which a client sending an octet now and then never meets: with enough
 * of them every connection slot is held for good. So each request gets
 * web_request_deadline from the moment its connection opened or its
 * previous request ended, and a connection past it is cut.
 */
struct web_conn {
	struct MHD_Connection *conn;
	struct web_conn *prev, *next;	/* in w->conn_head, by start */
	uint64_t start;			/* ev_now() when the request began */
	bool linked;			/* still watched (not cut) */
	bool tls;			/* from web_tls.c, over a socketpair */
	struct sockaddr_storage local;	/* then: the address the client came to */
	socklen_t local_len;
};

/* What web_server_add tells the connection libmicrohttpd announces. */
struct web_conn_local {
	const struct sockaddr_storage *ss;
	socklen_t len;
};

static void web_deadline_fire(void *ctx);

/* web_conn_unlink - take c out of the deadline list */
static void
web_conn_unlink(struct web *w, struct web_conn *c)
{
	if (!c->linked)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conn_head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		w->conn_tail = c->prev;
	c->prev = c->next = NULL;
	c->linked = false;
}

/* web_conn_append - c's request begins now: it goes to the list's end */
static void
web_conn_append(struct web *w, struct web_conn *c)
{
	web_conn_unlink(w, c);
	c->start = ev_now();
	c->prev = w->conn_tail;
	if (w->conn_tail != NULL)
		w->conn_tail->next = c;
	else
		w->conn_head = c;
	w->conn_tail = c;
	c->linked = true;
}

/* web_deadline_arm - the timer for the oldest request's deadline */
static void
web_deadline_arm(struct web *w)
{
	uint64_t limit = (uint64_t)w->cfg->web_request_deadline * 1000u, now;

	ev_timer_cancel(w->loop, &w->deadline_timer);
	if (w->conn_head == NULL)
		return;
	now = ev_now();
	w->deadline_timer = ev_timer_add(w->loop, w->conn_head->start + limit > now ?
	    w->conn_head->start + limit - now : 0, web_deadline_fire, w);
}

void
web_conn_addr(struct MHD_Connection *conn, char *buf, size_t size)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;
	struct sockaddr_storage ss = { 0 };
	struct daemon_peer peer;
	socklen_t len = 0;

	if (sa != NULL) {
		len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
		    sizeof(struct sockaddr_in);
		memcpy(&ss, sa, len);
	}
	daemon_peer_set(&peer, sa != NULL ? &ss : NULL, len);
	snprintf(buf, size, "%s", peer.addr);
}

bool
web_conn_is_tls(const struct web *w, struct MHD_Connection *conn)
{
	/* One listener, either all HTTPS or all plain HTTP. */
	(void)conn;
	return w->tls;
}

/*
 * web_deadline_fire - cut every connection whose request is past its
 * deadline. libmicrohttpd owns the socket, so it is shut down, not
 * closed: libmicrohttpd then sees the end of the stream, closes the
 * connection and tells us (web_mhd_connection), with no descriptor
 * reused behind its back.
 */
static void
web_deadline_fire(void *ctx)
{
	struct web *w = ctx;
	uint64_t limit = (uint64_t)w->cfg->web_request_deadline * 1000u;
	uint64_t now = ev_now();
	struct web_conn *c;
	bool cut = false;

	w->deadline_timer = NULL;
	while ((c = w->conn_head) != NULL && c->start + limit <= now) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c->conn,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		char addr[NI_MAXHOST];

		web_conn_unlink(w, c);
		web_conn_addr(c->conn, addr, sizeof(addr));
		log_info("timeout after request from %s: deadline %lds exceeded",
		    addr, w->cfg->web_request_deadline);
		if (ci != NULL)
			(void)shutdown(ci->connect_fd, SHUT_RDWR);
		cut = true;
	}
	web_deadline_arm(w);
	if (cut)
		web_server_kick(w);
}

/* web_mhd_connection - a connection opened or closed */
static void
web_mhd_connection(void *cls, struct MHD_Connection *conn,
    void **socket_context, enum MHD_ConnectionNotificationCode toe)
{
	struct web *w = cls;
	struct web_conn *c = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		c = xcalloc(1, sizeof(*c));
		c->conn = conn;
		/* libmicrohttpd announces it inside MHD_add_connection. */
		if (w->adding != NULL) {
			c->tls = true;
			c->local_len = w->adding->len;
			if (c->local_len > 0)
				memcpy(&c->local, w->adding->ss, c->local_len);
			w->adding = NULL;
		}
		*socket_context = c;
		web_conn_append(w, c);
	} else if (c != NULL) {
		web_conn_unlink(w, c);
		free(c);
		*socket_context = NULL;
	}
	web_deadline_arm(w);
}

/* web_mhd_completed - a request is over (answered, or the client left) */
static void
web_mhd_completed(void *cls, struct MHD_Connection *conn, void **req_ctx,
    enum MHD_RequestTerminationCode code)
{
	struct web *w = cls;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	(void)code;
	web_request_done(req_ctx);
	/* The next request on this connection starts its own clock. */
	if (ci != NULL && ci->socket_context != NULL &&
	    ((struct web_conn *)ci->socket_context)->linked) {
		web_conn_append(w, ci->socket_context);
		web_deadline_arm(w);
	}
}

int
web_reply_send(const struct web *w, struct MHD_Connection *conn,
    struct web_reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(r->body);
		r->body = NULL;
		return MHD_NO;
	}
	r->body = NULL;
	/*
	 * Every page: no script, no framing, no caching (the status page
	 * is personal and live), no sniffing, no referrer.
	 */
	if (MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8") != MHD_YES ||
	    MHD_add_response_header(resp, "Content-Security-Policy", w->csp) != MHD_YES ||
	    MHD_add_response_header(resp, "X-Frame-Options", "DENY") != MHD_YES ||
	    MHD_add_response_header(resp, "Cache-Control", "no-store") != MHD_YES ||
	    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") != MHD_YES ||
	    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer") != MHD_YES ||
	    /* HSTS over TLS only: a plain HTTP answer could be anyone's. */
	    (web_conn_is_tls(w, conn) && MHD_add_response_header(resp,
	    "Strict-Transport-Security", "max-age=31536000") != MHD_YES) ||
	    (r->location != NULL &&
	    MHD_add_response_header(resp, "Location", r->location) != MHD_YES) ||
	    (r->cookie != NULL &&
	    MHD_add_response_header(resp, "Set-Cookie", r->cookie) != MHD_YES) ||
	    (r->allow != NULL &&
	    MHD_add_response_header(resp, "Allow", r->allow) != MHD_YES) ||
	    (r->retry && MHD_add_response_header(resp, "Retry-After", "60") != MHD_YES) ||
	    (r->close && MHD_add_response_header(resp, "Connection", "close") != MHD_YES)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret == MHD_YES ? MHD_YES : MHD_NO;
}

static void web_mhd_timer(void *ctx);

/* web_mhd_run - let libmicrohttpd work, then arm its next timeout */
static void
web_mhd_run(struct web *w)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (MHD_run(w->mhd) != MHD_YES)
		log_warn("run libmicrohttpd: failed");
	ev_timer_cancel(w->loop, &w->mhd_timer);
	if (MHD_get_timeout(w->mhd, &ms) == MHD_YES) {
		/* Bounded, so a strange value cannot overflow the loop's clock. */
		if (ms > 3600000)
			ms = 3600000;
		w->mhd_timer = ev_timer_add(w->loop, ms, web_mhd_timer, w);
	}
}

/* web_mhd_timer - libmicrohttpd's timeout came (connection timeouts) */
static void
web_mhd_timer(void *ctx)
{
	struct web *w = ctx;

	w->mhd_timer = NULL;
	web_mhd_run(w);
}

/* web_mhd_ready - libmicrohttpd's epoll descriptor is readable */
static void
web_mhd_ready(int fd, unsigned events, void *ctx)
{
	(void)fd;
	(void)events;
	web_mhd_run(ctx);
}

void
web_server_kick(struct web *w)
{
	web_mhd_run(w);
}

/* web_sweep - drop idle sessions, every minute */
static void
web_sweep(void *ctx)
{
	struct web *w = ctx;

	web_sessions_expire(w->sessions, time(NULL), web_session_idle(w));
	w->sweep_timer = ev_timer_add(w->loop, WEB_SWEEP_MS, web_sweep, w);
}

int
web_server_add(struct web *w, int fd, const struct sockaddr_storage *peer,
    socklen_t peer_len, const struct sockaddr_storage *local,
    socklen_t local_len)
{
	struct web_conn_local l = { .ss = local, .len = local_len };
	enum MHD_Result r;

	w->adding = &l;
	r = MHD_add_connection(w->mhd, fd, (const struct sockaddr *)peer, peer_len);
	w->adding = NULL;
	if (r != MHD_YES) {
		/* Over libmicrohttpd's limits, which are ours too: logged by it. */
		log_warn("hand connection to libmicrohttpd: %s", strerror(errno));
		return -1;
	}
	web_mhd_run(w);
	return 0;
}

bool
web_conn_local(struct MHD_Connection *conn, struct sockaddr_storage *ss_r,
    socklen_t *len_r)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	const struct web_conn *c = ci != NULL ? ci->socket_context : NULL;

	if (c != NULL && c->tls) {
		if (c->local_len == 0)
			return false;
		memcpy(ss_r, &c->local, c->local_len);
		*len_r = c->local_len;
		return true;
	}
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	*len_r = sizeof(*ss_r);
	return ci != NULL && getsockname(ci->connect_fd, (struct sockaddr *)ss_r,
	    len_r) == 0;
}

struct web *
web_server_new(struct ev_loop *loop, const char *confdir, struct config *cfg,
    struct daemon *d)
{
	struct web *w = xcalloc(1, sizeof(*w));
	const union MHD_DaemonInfo *info;
	unsigned int flags;
	int fl, listen_fd = d->listen[0].fd;

	w->loop = loop;
	w->confdir = confdir;
	w->cfg = cfg;
	w->listen_fd = -1;
	w->mhd_epfd = -1;
	w->sessions = web_sessions_new();
	w->login_rate = htable_new();
	w->csp = web_page_csp_new();
	w->tls = web_tls_configured(cfg);
	(void)passwd_reload(&w->passwd, cfg->passwd_file, true);

	if (!w->tls) {
		/* master passes one socket per web_listen address; MHD serves one. */
		if (d->nlisten > 1)
			log_warn("serve the first of %zu web_listen addresses only",
			    d->nlisten);
		w->listen_fd = listen_fd;
		fl = fcntl(listen_fd, F_GETFL);
		if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) < 0)
			log_fatal("set listening socket %d non-blocking: %s",
			    listen_fd, strerror(errno));
	}
	/*
	 * External epoll: libmicrohttpd keeps its sockets in an epoll set of
	 * its own and gives us that one descriptor, which our loop watches;
	 * no thread, no select() and its 1024-descriptor limit. Suspend and
	 * resume let a failed login wait without holding up anyone else.
	 */
	flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	/* HTTPS: no listener and no TLS of its own, only our connections. */
	if (w->tls)
		flags |= MHD_USE_NO_LISTEN_SOCKET;
	w->mhd = MHD_start_daemon(flags, 0, NULL, NULL, web_mhd_access, w,
	    MHD_OPTION_EXTERNAL_LOGGER, web_mhd_log, w,
	    MHD_OPTION_NOTIFY_COMPLETED, web_mhd_completed, w,
	    MHD_OPTION_NOTIFY_CONNECTION, web_mhd_connection, w,
	    MHD_OPTION_CONNECTION_LIMIT, w->tls ? WEB_MHD_TLS_CONN_MAX :
	    (unsigned int)w->cfg->web_connection_limit,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, w->tls ? 0u :
	    (unsigned int)w->cfg->web_client_connection_limit,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)WEB_CONN_TIMEOUT,
	    w->tls ? MHD_OPTION_END : MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
	    MHD_OPTION_END);
	if (w->mhd == NULL)
		log_fatal("start libmicrohttpd%s: failed (see above)",
		    w->tls ? "" : " on the web listener");
	info = MHD_get_daemon_info(w->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (info == NULL || info->epoll_fd < 0)
		log_fatal("start libmicrohttpd: no epoll descriptor");
	w->mhd_epfd = info->epoll_fd;
	if (ev_io_add(loop, w->mhd_epfd, EV_READ, web_mhd_ready, w) < 0)
		log_fatal("watch libmicrohttpd: %s", strerror(errno));
	w->sweep_timer = ev_timer_add(loop, WEB_SWEEP_MS, web_sweep, w);
	if (w->tls)
		web_tls_start(w, d);
	web_mhd_run(w);
	return w;
}

void
web_server_free(struct web **wp)
{
	struct web *w = *wp;

	if (w == NULL)
		return;
	/* Our TLS connections first: they close their ends of MHD's sockets. */
	web_tls_stop(w);
	if (w->mhd != NULL) {
		web_resume_all(w);
		ev_io_del(w->loop, w->mhd_epfd);
		/* The listening socket is ours (master's): libmicrohttpd closes it. */
		MHD_stop_daemon(w->mhd);
	}
	ev_timer_cancel(w->loop, &w->mhd_timer);
	ev_timer_cancel(w->loop, &w->sweep_timer);
	ev_timer_cancel(w->loop, &w->deadline_timer);
	web_sessions_free(&w->sessions);
	web_rate_free(&w->login_rate);
	passwd_table_free(&w->passwd);
	free(w->csp);
	config_free(&w->cfg);
	free(w);
	*wp = NULL;
}
