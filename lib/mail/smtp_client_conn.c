/*
 * smtp_client_conn - an SMTP client's life: connect (or adopt a turned
 * around stream), free, quit, and what its owner may ask of it (see
 * smtp_client.h).
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/events.h"
#include "util/log.h"
#include "util/stream.h"
#include "util/xmalloc.h"
#include "mail/smtp_client.h"
#include "mail/smtp_client_int.h"

/* smtp_client_new - the common part of connect and adopt */
static struct smtp_client *
smtp_client_new(struct ev_loop *loop, const struct smtp_client_params *p,
    smtp_client_fn *fn, void *ctx)
{
	struct smtp_client *cl = xcalloc(1, sizeof(*cl));

	cl->loop = loop;
	cl->connect_fd = -1;
	cl->fn = fn;
	cl->ctx = ctx;
	cl->helo_name = xstrdup(p->helo_name);
	cl->peer_name = xstrdup(p->peer_name != NULL ? p->peer_name : "unknown");
	cl->tls = p->tls;
	if (p->tls_ctx != NULL) {
		SSL_CTX_up_ref(p->tls_ctx);
		cl->tls_ctx = p->tls_ctx;
	} else if (cl->tls != SMTP_CLIENT_TLS_NONE)
		log_panic("smtp_client_new: TLS policy without a TLS context");
	cl->to = p->timeouts;
	return cl;
}

/* smtp_client_peer_text - "name[addr]" of sa for messages */
static void
smtp_client_peer_text(struct smtp_client *cl, const struct sockaddr *sa)
{
	char addr[INET6_ADDRSTRLEN] = "unknown";
	const void *a = NULL;
	unsigned port = 0;

	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (a != NULL)
		(void)inet_ntop(sa->sa_family, a, addr, sizeof(addr));
	/* The port only where it is not 25: Postfix's "name[addr]:port" otherwise. */
	if (sa->sa_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
	else if (sa->sa_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
	if (port != 0 && port != 25)
		snprintf(cl->peer, sizeof(cl->peer), "%s[%s]:%u", cl->peer_name, addr,
		    port);
	else
		snprintf(cl->peer, sizeof(cl->peer), "%s[%s]", cl->peer_name, addr);
}

/* smtp_client_later_fire - an event that must not come from the call itself */
void
smtp_client_later_fire(void *ctx)
{
	struct smtp_client *cl = ctx;

	cl->later_timer = NULL;
	cl->busy++;
	smtp_client_emit(cl, cl->later_event);
	smtp_client_settle(cl);
}

/* smtp_client_connect_fail - connect() failed, now or later */
static void
smtp_client_connect_fail(struct smtp_client *cl, enum smtp_client_fail f,
    const char *why)
{
	smtp_client_fail(cl, f, "connect to %s: %s", cl->peer, why);
}

/* smtp_client_connected - the socket is writable: did connect() succeed? */
static void
smtp_client_connected(int fd, unsigned events, void *ctx)
{
	struct smtp_client *cl = ctx;
	int e = 0;
	socklen_t elen = sizeof(e);

	(void)events;
	cl->busy++;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
		e = errno;
	if (e != 0) {
		smtp_client_connect_fail(cl, SMTP_FAIL_CONNECT, strerror(e));
		smtp_client_settle(cl);
		return;
	}
	ev_io_del(cl->loop, fd);
	ev_timer_cancel(cl->loop, &cl->connect_timer);
	cl->connect_fd = -1;
	cl->st = stream_new(cl->loop, fd, smtp_client_stream_io, cl);
	cl->own_stream = true;
	if (cl->st == NULL) {
		(void)close(fd);
		smtp_client_connect_fail(cl, SMTP_FAIL_CONNECT, "cannot watch the socket");
		smtp_client_settle(cl);
		return;
	}
	cl->state = CS_BANNER;
	smtp_client_timeout(cl, cl->to.helo_ms);
	smtp_client_settle(cl);
}

/* smtp_client_connect_timeout - connect() took too long */
static void
smtp_client_connect_timeout(void *ctx)
{
	struct smtp_client *cl = ctx;

	cl->connect_timer = NULL;
	cl->busy++;
	smtp_client_connect_fail(cl, SMTP_FAIL_TIMEOUT, "Connection timed out");
	smtp_client_settle(cl);
}

struct smtp_client *
smtp_client_connect(struct ev_loop *loop, const struct sockaddr *sa,
    socklen_t salen, const struct smtp_client_params *params,
    smtp_client_fn *fn, void *ctx)
{
	struct smtp_client *cl = smtp_client_new(loop, params, fn, ctx);
	int fd;

	smtp_client_peer_text(cl, sa);
	cl->state = CS_CONNECTING;
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && (connect(fd, sa, salen) == 0 || errno == EINPROGRESS)) {
		if (ev_io_add(loop, fd, EV_WRITE, smtp_client_connected, cl) == 0) {
			cl->connect_fd = fd;
			cl->connect_timer = ev_timer_add(loop, cl->to.connect_ms,
			    smtp_client_connect_timeout, cl);
			return cl;
		}
	}
	/* Refused at once (no route, no socket): reported on the next turn. */
	snprintf(cl->fail_text, sizeof(cl->fail_text), "connect to %s: %s",
	    cl->peer, strerror(errno));
	if (fd >= 0)
		(void)close(fd);
	cl->fail = SMTP_FAIL_CONNECT;
	cl->state = CS_FAILED;
	cl->later_event = SMTP_CLIENT_FAILED;
	cl->later_timer = ev_timer_add(loop, 0, smtp_client_later_fire, cl);
	return cl;
}

struct smtp_client *
smtp_client_adopt(struct ev_loop *loop, struct stream *st, bool wait_banner,
    bool own, const struct smtp_client_params *params, smtp_client_fn *fn,
    void *ctx)
{
	struct smtp_client *cl = smtp_client_new(loop, params, fn, ctx);
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getpeername(stream_fd(st), (struct sockaddr *)&ss, &sslen) < 0)
		ss.ss_family = AF_UNSPEC;
	smtp_client_peer_text(cl, (struct sockaddr *)&ss);
	cl->st = st;
	cl->own_stream = own;
	cl->in_call = true;
	if (wait_banner) {
		/*
		 * Whatever the peer sent before it was its turn to speak (the
		 * turn of ODMR comes with our 250 to ATRN) is out of protocol.
		 */
		cl->state = CS_BANNER;
		smtp_client_timeout(cl, cl->to.helo_ms);
		(void)smtp_client_quiet(cl, "turn (its greeting came too early)");
	} else
		smtp_client_ehlo(cl, false);
	cl->in_call = false;
	return cl;
}

void
smtp_client_free(struct smtp_client **clp)
{
	struct smtp_client *cl = *clp;

	if (cl == NULL)
		return;
	*clp = NULL;
	smtp_client_release(cl);
	cl->dead = true;
	if (cl->busy == 0)
		smtp_client_destroy(cl);
}

void
smtp_client_quit(struct smtp_client *cl)
{
	if (cl->state == CS_READY) {
		cl->state = CS_QUIT;
		smtp_client_timeout(cl, cl->to.cmd_ms);
		cl->in_call = true;
		(void)smtp_client_command(cl, "QUIT", NULL);
		cl->in_call = false;
		return;
	}
	if (cl->state == CS_CLOSED || cl->state == CS_FAILED)
		return;
	/* Mid-conversation: no polite way out; just hang up. */
	cl->state = CS_CLOSED;
	smtp_client_release(cl);
	cl->later_event = SMTP_CLIENT_CLOSED;
	cl->later_timer = ev_timer_add(cl->loop, 0, smtp_client_later_fire, cl);
}

bool
smtp_client_idle(const struct smtp_client *cl)
{
	return cl->state == CS_READY;
}

enum smtp_client_fail
smtp_client_failure(const struct smtp_client *cl, const char **text_r)
{
	if (text_r != NULL)
		*text_r = cl->fail_text;
	return cl->fail;
}

unsigned
smtp_client_extensions(const struct smtp_client *cl)
{
	return cl->ext;
}

uint64_t
smtp_client_size_limit(const struct smtp_client *cl)
{
	return cl->size_limit;
}

bool
smtp_client_tls_active(const struct smtp_client *cl)
{
	return cl->st != NULL && stream_tls_active(cl->st);
}

const char *
smtp_client_banner(const struct smtp_client *cl)
{
	return cl->banner != NULL ? cl->banner : "";
}

unsigned
smtp_client_transactions(const struct smtp_client *cl)
{
	return cl->ntx;
}
