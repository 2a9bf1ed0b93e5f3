/*
 * web_tls - HTTPS in our own OpenSSL code, in front of libmicrohttpd
 *
 * The web listeners are ours (lib/mail/daemon_server: the accept loop,
 * web_connection_limit and web_client_connection_limit, refusals without
 * a word since the client speaks TLS first). Each connection does its
 * handshake in the event loop through lib/util/stream with a deadline
 * of web_request_deadline. Then a socketpair joins it to libmicrohttpd,
 * which gets one end as an ordinary plaintext connection from the
 * client's address (web_server_add), and the bytes are pumped between
 * the TLS stream and the other end until either side closes:
 *
 *	client ==TLS== [stream p->tls] <-> [stream p->mhd] ==AF_UNIX== MHD
 *
 * Backpressure: a side's output holds at most WEB_TLS_HIGH octets;
 * beyond that the other side is no longer read until it drains. So a
 * connection costs two 16 KB read buffers and 2 x 64 KB of output at
 * most, whatever the client or libmicrohttpd do.
 *
 * libmicrohttpd's own TLS (GnuTLS) is never started, so the project has
 * one TLS stack: the certificate, the protocol floor and the options are
 * those of smtpd and etrn (lib/util/tls.c). SIGHUP loads the certificate
 * and key again; new connections get the new context, and one that fails
 * to load leaves the old one in place, with a warning naming the file.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/ssl.h>

/* lib/util */
#include "util/events.h"
#include "util/log.h"
#include "util/stream.h"
#include "util/tls.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/daemon.h"
#include "mail/daemon_server.h"
/* web */
#include "web/web.h"

/* The most output either side may hold before the other is not read. */
#define WEB_TLS_HIGH		(64 * 1024)
/* One move between the streams (a stream reads 16 KB at a time). */
#define WEB_TLS_CHUNK		16384
/*
 * A client that neither sends nor reads for this long is dropped. It is
 * longer than libmicrohttpd's idle timeout, which normally ends an idle
 * connection first; this one catches a client that stopped reading the
 * answer, which libmicrohttpd cannot see past our buffers.
 */
#define WEB_TLS_IDLE_MS		60000
/* How long the last octets to a client that does not read may wait. */
#define WEB_TLS_LINGER_MS	10000

/* One TLS connection: handshake, then the pump. */
struct web_tls {
	struct daemon_session ds;	/* the live list, the limits' slots */
	struct web *w;
	struct daemon_peer peer;
	struct stream *tls;		/* the client */
	struct stream *mhd;		/* our end of the pair; NULL in the handshake */
	struct sockaddr_storage local;	/* the address the client came to */
	socklen_t local_len;
	bool shut;			/* the client's EOF passed on to libmicrohttpd */
	bool closing;			/* libmicrohttpd is done: last octets, then free */
};

/* web_tls_free - close both sides, free the slots and p */
static void
web_tls_free(struct web_tls *p)
{
	stream_free(&p->mhd);
	stream_free(&p->tls);
	daemon_session_end(&p->ds);
	free(p);
}

/* web_tls_session_free - daemon_server's session_free */
static void
web_tls_session_free(void *owner)
{
	web_tls_free(owner);
}

/*
 * web_tls_move - pass what from has read to to, as far as to's output
 * may grow; from is not read again while to's output is full.
 */
static void
web_tls_move(struct stream *from, struct stream *to)
{
	char buf[WEB_TLS_CHUNK];
	size_t n;

	for (;;) {
		while (stream_pending(to) < WEB_TLS_HIGH &&
		    (n = stream_read(from, buf, sizeof(buf))) > 0)
			stream_write(to, buf, n);
		if (stream_flush(to) < 0)
			break;
		/* A flush that drained it leaves room for what from still holds. */
		if (stream_buffered(from) == 0 || stream_pending(to) >= WEB_TLS_HIGH)
			break;
	}
	stream_pause(from, stream_pending(to) >= WEB_TLS_HIGH);
}

/*
 * web_tls_shut - the client has closed its side and everything it sent
 * is with libmicrohttpd: libmicrohttpd sees the end of its input.
 */
static void
web_tls_shut(struct web_tls *p)
{
	if (p->shut || !stream_eof(p->tls) || stream_buffered(p->tls) > 0 ||
	    stream_pending(p->mhd) > 0)
		return;
	p->shut = true;
	(void)shutdown(stream_fd(p->mhd), SHUT_WR);
}

/* web_tls_mhd_event - our end of libmicrohttpd's socket */
static void
web_tls_mhd_event(struct stream *st, unsigned events, void *ctx)
{
	struct web_tls *p = ctx;

	(void)st;
	if (events & STREAM_EV_ERROR) {
		log_debug("close TLS connection from %s[%s]: libmicrohttpd side: %s",
		    p->peer.name, p->peer.addr, stream_error(p->mhd));
		web_tls_free(p);
		return;
	}
	if (events & STREAM_EV_FLUSHED) {
		web_tls_shut(p);
		if (!p->closing)
			web_tls_move(p->tls, p->mhd);
	}
	web_tls_move(p->mhd, p->tls);
	if ((events & STREAM_EV_EOF) && !p->closing) {
		/* libmicrohttpd closed: the rest goes out, then close_notify. */
		p->closing = true;
		stream_pause(p->tls, true);
		stream_set_timeout(p->tls, WEB_TLS_LINGER_MS);
	}
	if (p->closing && stream_buffered(p->mhd) == 0 &&
	    stream_pending(p->tls) == 0)
		web_tls_free(p);
}

/* web_tls_pump - the client's side after the handshake */
static void
web_tls_pump(struct web_tls *p, unsigned events)
{
	if (events & STREAM_EV_ERROR) {
		log_info("lost connection after HTTP from %s[%s]: %s", p->peer.name,
		    p->peer.addr, stream_error(p->tls));
		web_tls_free(p);
		return;
	}
	if (events & STREAM_EV_TIMEOUT) {
		if (!p->closing)
			log_info("timeout after HTTP from %s[%s]: idle for %ds",
			    p->peer.name, p->peer.addr, WEB_TLS_IDLE_MS / 1000);
		web_tls_free(p);
		return;
	}
	if (p->closing) {
		/* libmicrohttpd is gone: what it said still goes out. */
		web_tls_move(p->mhd, p->tls);
		if (stream_buffered(p->mhd) == 0 && stream_pending(p->tls) == 0)
			web_tls_free(p);
		return;
	}
	if (events & STREAM_EV_FLUSHED)
		web_tls_move(p->mhd, p->tls);
	web_tls_move(p->tls, p->mhd);
	web_tls_shut(p);
}

/*
 * web_tls_connect - the handshake is over: a socketpair, our end a
 * stream, the other libmicrohttpd's connection from the client's
 * address. -1 when it cannot be made (logged).
 */
static int
web_tls_connect(struct web_tls *p)
{
	socklen_t plen = p->peer.ss.ss_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) < 0) {
		log_warn("serve TLS connection from %s[%s]: socketpair: %s",
		    p->peer.name, p->peer.addr, strerror(errno));
		return -1;
	}
	p->mhd = stream_new(p->w->loop, sv[0], web_tls_mhd_event, p);
	if (p->mhd == NULL) {
		log_warn("serve TLS connection from %s[%s]: watch socketpair: %s",
		    p->peer.name, p->peer.addr, strerror(errno));
		(void)close(sv[0]);
		(void)close(sv[1]);
		return -1;
	}
	/* libmicrohttpd owns sv[1] from here, and closes it on failure. */
	if (web_server_add(p->w, sv[1], &p->peer.ss, plen, &p->local,
	    p->local_len) < 0)
		return -1;
	return 0;
}

/* web_tls_event - the client's stream: the handshake, then the pump */
static void
web_tls_event(struct stream *st, unsigned events, void *ctx)
{
	struct web_tls *p = ctx;

	(void)st;
	if (p->mhd != NULL) {
		web_tls_pump(p, events);
		return;
	}
	/* Errors and the handshake deadline: logged, and the session goes. */
	if (daemon_session_stopped(&p->ds, events))
		return;
	if (events & STREAM_EV_EOF) {
		log_info("lost connection after TLS handshake from %s[%s]",
		    p->peer.name, p->peer.addr);
		web_tls_free(p);
		return;
	}
	if (!(events & STREAM_EV_TLS))
		return;
	daemon_session_tls_log(&p->ds);
	stream_set_deadline(p->tls, 0);
	stream_set_timeout(p->tls, WEB_TLS_IDLE_MS);
	p->ds.last_cmd = "HTTP";
	if (web_tls_connect(p) < 0) {
		web_tls_free(p);
		return;
	}
	/* Bytes the client sent right after its Finished are read already. */
	web_tls_move(p->tls, p->mhd);
}

/* web_tls_session - daemon_server's session: start the handshake on fd */
static void
web_tls_session(void *ctx, int fd, const struct daemon_peer *peer,
    const struct daemon_listener *l)
{
	struct web *w = ctx;
	struct web_tls *p = xcalloc(1, sizeof(*p));

	(void)l;
	p->w = w;
	p->peer = *peer;
	p->local_len = sizeof(p->local);
	if (getsockname(fd, (struct sockaddr *)&p->local, &p->local_len) < 0)
		p->local_len = 0;
	p->ds.last_cmd = "TLS handshake";
	p->tls = daemon_session_begin(w->tls_srv, &p->ds, p, fd, web_tls_event,
	    p->peer.name, p->peer.addr);
	if (p->tls == NULL) {
		free(p);
		return;
	}
	/* The whole handshake within web_request_deadline, however it trickles. */
	stream_set_deadline(p->tls, ev_now() +
	    (uint64_t)w->cfg->web_request_deadline * 1000u);
	(void)stream_starttls_server(p->tls, w->ssl_ctx);
}

/* web_tls_limits - daemon_server's limits: the web door's, read afresh */
static void
web_tls_limits(void *ctx, const struct daemon_peer *peer,
    struct daemon_limits *lim_r)
{
	const struct web *w = ctx;

	(void)peer;
	lim_r->sessions = (size_t)w->cfg->web_connection_limit;
	lim_r->per_client = (size_t)w->cfg->web_client_connection_limit;
}

/* web_tls_refusal - never sent: the client speaks TLS first (tls_on_connect) */
static void
web_tls_refusal(void *ctx, enum daemon_limit limit,
    const struct daemon_peer *peer, char *buf, size_t size)
{
	(void)ctx;
	(void)limit;
	(void)peer;
	if (size > 0)
		buf[0] = '\0';
}

/* web_tls_timeout_reply - nothing: a handshake cut short gets no answer */
static void
web_tls_timeout_reply(void *owner)
{
	(void)owner;
}

/* web_tls_deadline_why - ": TLS handshake deadline Ns exceeded" */
static void
web_tls_deadline_why(void *owner, unsigned events, char *buf, size_t size)
{
	const struct web_tls *p = owner;

	daemon_deadline_why(events, 0, "TLS handshake",
	    p->w->cfg->web_request_deadline, buf, size);
}

static const struct daemon_serve_ops web_tls_ops = {
	.accept_batch = 32,
	.tls_on_connect = DAEMON_SVC_WEB,
	.limits = web_tls_limits,
	.refusal = web_tls_refusal,
	.session = web_tls_session,
	.session_free = web_tls_session_free,
	.timeout_reply = web_tls_timeout_reply,
	.deadline_why = web_tls_deadline_why,
};

/* web_tls_ctx - a server context from cfg's files; NULL with *err_r */
static SSL_CTX *
web_tls_ctx(const struct config *cfg, char **err_r)
{
	return tls_server_ctx_new(cfg->web_tls_cert_file, cfg->web_tls_key_file,
	    err_r);
}

bool
web_tls_configured(const struct config *cfg)
{
	if (cfg->web_tls_cert_file[0] == '\0' && cfg->web_tls_key_file[0] == '\0')
		return false;
	if (cfg->web_tls_cert_file[0] == '\0' || cfg->web_tls_key_file[0] == '\0')
		log_fatal_code(EX_CONFIG, "set up HTTPS: web_tls_cert_file and "
		    "web_tls_key_file go together: set both, or neither for plain HTTP");
	return true;
}

void
web_tls_start(struct web *w, struct daemon *d)
{
	char *err = NULL, desc[512];

	w->ssl_ctx = web_tls_ctx(w->cfg, &err);
	if (w->ssl_ctx == NULL)
		log_fatal_code(EX_CONFIG, "set up HTTPS: %s; fix web_tls_cert_file "
		    "or web_tls_key_file", err);
	tls_ctx_describe(w->ssl_ctx, desc, sizeof(desc));
	log_info("TLS certificate %s (%s)", w->cfg->web_tls_cert_file, desc);
	w->tls_srv = daemon_server_new(d, &web_tls_ops, w);
}

void
web_tls_reload(struct web *w)
{
	const struct config *cfg = w->cfg;
	char *err = NULL, desc[512];
	SSL_CTX *ctx;

	if (!w->tls) {
		if (cfg->web_tls_cert_file[0] != '\0')
			log_warn("reload TLS certificate %s: web serves plain HTTP "
			    "until it restarts (sluice stop; sluice start)",
			    cfg->web_tls_cert_file);
		return;
	}
	tls_ctx_describe(w->ssl_ctx, desc, sizeof(desc));
	if (cfg->web_tls_cert_file[0] == '\0' || cfg->web_tls_key_file[0] == '\0') {
		log_warn("reload TLS certificate: web_tls_cert_file or "
		    "web_tls_key_file is now empty; web serves HTTPS with the "
		    "certificate loaded before (%s) until it restarts", desc);
		return;
	}
	ctx = web_tls_ctx(cfg, &err);
	if (ctx == NULL) {
		log_warn("reload TLS certificate %s: %s; new connections still get "
		    "the certificate loaded before (%s)", cfg->web_tls_cert_file,
		    err, desc);
		free(err);
		return;
	}
	/* Handshakes under way hold their own reference to the old one. */
	tls_ctx_free(&w->ssl_ctx);
	w->ssl_ctx = ctx;
	tls_ctx_describe(ctx, desc, sizeof(desc));
	log_info("reloaded TLS certificate %s (%s)", cfg->web_tls_cert_file, desc);
}

void
web_tls_stop(struct web *w)
{
	daemon_server_free(&w->tls_srv);
	tls_ctx_free(&w->ssl_ctx);
}
