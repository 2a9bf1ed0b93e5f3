/*
 * peer - the fleet's secret, its addresses, and the blocking peer client
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* lib/util */
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/netlist.h"
#include "mail/passwd.h"
#include "mail/peer.h"
#include "mail/sasl.h"

/* The longest reply line we take from a peer (RFC 5321: 512). */
#define PEER_LINE_MAX	1000

int
peer_secret_load(const char *path, char **secret_r, char **err_r)
{
	char buf[PEER_SECRET_MAX + 2];
	size_t len;
	FILE *fp;

	*secret_r = NULL;
	*err_r = NULL;
	if ((fp = fopen(path, "re")) == NULL) {
		*err_r = xasprintf("peer_secret_file %s: open: %s; put the fleet's "
		    "shared secret there (the same on every peer), readable by "
		    "mail_owner only", path, strerror(errno));
		return -1;
	}
	if (fgets(buf, sizeof(buf), fp) == NULL)
		buf[0] = '\0';
	(void)fclose(fp);
	len = strcspn(buf, "\r\n");
	buf[len] = '\0';
	if (len < PEER_SECRET_MIN || len > PEER_SECRET_MAX) {
		*err_r = xasprintf("peer_secret_file %s: the secret on its first line "
		    "has %zu octets, need %d to %d; make one with openssl rand -hex 24",
		    path, len, PEER_SECRET_MIN, PEER_SECRET_MAX);
		OPENSSL_cleanse(buf, sizeof(buf));
		return -1;
	}
	*secret_r = xstrdup(buf);
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

int
peer_netlist(const struct hostport_list *peers, struct netlist **nl_r, char **err_r)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char *text = xstrdup(""), *old, addr[INET6_ADDRSTRLEN];
	size_t i;
	int rc;

	*nl_r = NULL;
	*err_r = NULL;
	for (i = 0; i < peers->n; i++) {
		if ((rc = getaddrinfo(peers->v[i].host, NULL, &hints, &res)) != 0) {
			*err_r = xasprintf("peers: %s: %s; fix the name or list the "
			    "peer by its address", peers->v[i].host, gai_strerror(rc));
			free(text);
			return -1;
		}
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			const void *a = ai->ai_family == AF_INET ?
			    (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr :
			    (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;

			if (inet_ntop(ai->ai_family, a, addr, sizeof(addr)) == NULL)
				continue;
			old = text;
			text = xasprintf("%s %s", old, addr);
			free(old);
		}
		freeaddrinfo(res);
	}
	rc = netlist_parse(text, nl_r, err_r);
	free(text);
	return rc;
}

/* One session: the socket, its input buffer and the deadline. */
struct peer_conn {
	int fd;
	char buf[4096];
	size_t len;
	long long deadline;	/* CLOCK_MONOTONIC ms */
	struct peer_result *r;
};

static long long
peer_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* peer_fail - note what failed in r; always -1 */
static int __attribute__((format(printf, 3, 4)))
peer_fail(struct peer_result *r, bool temporary, const char *fmt, ...)
{
	char text[sizeof(r->text)];
	va_list ap;

	/* The arguments may quote r->text itself (the reply that failed). */
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	memcpy(r->text, text, sizeof(text));
	r->temporary = temporary;
	return -1;
}

/* peer_wait - wait for events on c->fd until the deadline; 0, or -1 timed out */
static int
peer_wait(struct peer_conn *c, short events)
{
	struct pollfd p = { .fd = c->fd, .events = events };
	long long left;
	int n;

	for (;;) {
		if ((left = c->deadline - peer_now_ms()) <= 0)
			return -1;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* peer_line - the next line (CRLF cut off, NUL-terminated in line); 0/-1 */
static int
peer_line(struct peer_conn *c, char *line, size_t size)
{
	char *nl;
	ssize_t n;
	size_t len;

	while ((nl = memchr(c->buf, '\n', c->len)) == NULL) {
		if (c->len == sizeof(c->buf))
			return peer_fail(c->r, false, "reply line too long");
		if (peer_wait(c, POLLIN) < 0)
			return peer_fail(c->r, true, "timeout");
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n == 0)
			return peer_fail(c->r, true, "lost connection");
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return peer_fail(c->r, true, "read: %s", strerror(errno));
		}
		c->len += (size_t)n;
	}
	len = (size_t)(nl - c->buf);
	if (len > 0 && c->buf[len - 1] == '\r')
		len--;
	if (len >= size || len >= PEER_LINE_MAX)
		return peer_fail(c->r, false, "reply line too long");
	memcpy(line, c->buf, len);
	line[len] = '\0';
	c->len -= (size_t)(nl + 1 - c->buf);
	memmove(c->buf, nl + 1, c->len);
	return 0;
}

/*
 * peer_reply - read one whole reply; its code, or -1. fn sees each line's
 * text; the last line's text is kept in r->text.
 */
static int
peer_reply(struct peer_conn *c, peer_line_fn *fn, void *ctx)
{
	char line[PEER_LINE_MAX + 1];
	int code = -1;
	size_t lines = 0;

	for (;;) {
		if (peer_line(c, line, sizeof(line)) < 0)
			return -1;
		/* "ddd-text" or "ddd text" or "ddd"; every line the same code. */
		if (strlen(line) < 3 || line[0] < '2' || line[0] > '5' ||
		    line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9' ||
		    (line[3] != '\0' && line[3] != '-' && line[3] != ' ') ||
		    (code >= 0 && atoi(line) != code))
			return peer_fail(c->r, false, "malformed reply \"%.60s\"", line);
		code = atoi(line);
		if (++lines > PEER_SUMMARY_MAX + 2)
			return peer_fail(c->r, false, "reply has too many lines");
		if (fn != NULL)
			fn(line[3] != '\0' ? line + 4 : "", ctx);
		if (line[3] != '-') {
			snprintf(c->r->text, sizeof(c->r->text), "%s", line);
			return code;
		}
	}
}

/* peer_send - write one command line; 0/-1 */
static int
peer_send(struct peer_conn *c, const char *cmd)
{
	size_t len = strlen(cmd), off = 0;
	char *line = xasprintf("%s\r\n", cmd);
	ssize_t n;

	len += 2;
	while (off < len) {
		/* MSG_NOSIGNAL: a peer that hangs up is a failure, not our death. */
		n = send(c->fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
			if (peer_wait(c, POLLOUT) < 0)
				break;
			continue;
		}
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	OPENSSL_cleanse(line, len);
	free(line);
	return off == len ? 0 : peer_fail(c->r, true, "send: %s",
	    off < len && errno != 0 ? strerror(errno) : "timeout");
}

/*
 * peer_bind - connect from source when it is an address of fd's family:
 * the peers list this host by the address it serves SMTP on, and the
 * kernel's choice of source address may be another one. 0/-1.
 */
static int
peer_bind(int fd, int family, const char *source)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

	if (source == NULL || source[0] == '\0')
		return 0;
	if (family == AF_INET && inet_pton(AF_INET, source, &sin.sin_addr) == 1)
		return bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	if (family == AF_INET6 && inet_pton(AF_INET6, source, &sin6.sin6_addr) == 1)
		return bind(fd, (struct sockaddr *)&sin6, sizeof(sin6));
	return 0;
}

/* peer_connect - the first address of hp that answers; fd or -1 */
static int
peer_connect(const struct hostport *hp, const char *source, struct peer_conn *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char addr[INET6_ADDRSTRLEN] = "";
	int rc, fd = -1, err = 0;
	socklen_t len = sizeof(err);

	snprintf(c->r->relay, sizeof(c->r->relay), "%s[?]:%s", hp->host, hp->port);
	if ((rc = getaddrinfo(hp->host, hp->port, &hints, &res)) != 0)
		return peer_fail(c->r, true, "look up %s: %s", hp->host, gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		const void *a = ai->ai_family == AF_INET ?
		    (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr :
		    (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;

		(void)inet_ntop(ai->ai_family, a, addr, sizeof(addr));
		snprintf(c->r->relay, sizeof(c->r->relay), "%s[%s]:%s", hp->host,
		    addr, hp->port);
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		c->fd = fd;
		if (peer_bind(fd, ai->ai_family, source) < 0) {
			peer_fail(c->r, true, "bind to %s: %s", source, strerror(errno));
			(void)close(fd);
			c->fd = fd = -1;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS && peer_wait(c, POLLOUT) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0))
			break;
		peer_fail(c->r, true, "connect: %s", err != 0 ? strerror(err) :
		    errno == EINPROGRESS ? "timeout" : strerror(errno));
		(void)close(fd);
		c->fd = fd = -1;
		err = 0;
	}
	freeaddrinfo(res);
	return fd;
}

/* peer_login - EHLO and the CRAM-MD5 peer login; 0/-1 */
static int
peer_login(struct peer_conn *c, const char *helo, const char *secret)
{
	unsigned char *chal = NULL;
	char *cmd, *resp, *b64, *line;
	size_t len;
	int code;

	if ((code = peer_reply(c, NULL, NULL)) < 0)
		return -1;
	if (code != 220)
		return peer_fail(c->r, code < 500, "greeting: %s", c->r->text);
	cmd = xasprintf("EHLO %s", helo);
	code = peer_send(c, cmd) < 0 ? -1 : peer_reply(c, NULL, NULL);
	free(cmd);
	if (code < 0)
		return -1;
	if (code != 250)
		return peer_fail(c->r, code < 500, "EHLO: %s", c->r->text);
	if (peer_send(c, "AUTH CRAM-MD5") < 0 || (code = peer_reply(c, NULL, NULL)) < 0)
		return -1;
	if (code != 334 || strlen(c->r->text) < 5 ||
	    sasl_base64_decode(c->r->text + 4, &chal, &len) < 0) {
		free(chal);
		return peer_fail(c->r, code < 500 && code != 334, "AUTH CRAM-MD5: %s "
		    "(is this host in the peer's peers?)", c->r->text);
	}
	resp = passwd_cram_response(secret, (const char *)chal);
	free(chal);
	line = xasprintf("%s %s", PEER_LOGIN, resp);
	free(resp);
	b64 = sasl_base64_encode(line, strlen(line));
	free(line);
	code = peer_send(c, b64) < 0 ? -1 : peer_reply(c, NULL, NULL);
	free(b64);
	if (code < 0)
		return -1;
	if (code != 235)
		return peer_fail(c->r, code < 500, "peer login: %s (is peer_secret_file "
		    "the same on both hosts?)", c->r->text);
	return 0;
}

int
peer_session(int fd, const char *helo, const char *secret, const char *command,
    int timeout_ms, peer_line_fn *fn, void *ctx, struct peer_result *r)
{
	struct peer_conn c = { .fd = fd, .r = r };
	char answer[sizeof(r->text)];
	int code;

	r->code = 0;
	r->temporary = false;
	r->text[0] = '\0';
	c.deadline = peer_now_ms() + timeout_ms;
	if (peer_login(&c, helo, secret) < 0 || peer_send(&c, command) < 0 ||
	    (code = peer_reply(&c, fn, ctx)) < 0)
		return -1;
	/*
	 * QUIT is a courtesy: the answer is in, and whatever QUIT meets (a
	 * peer that hangs up) must not turn it into a failure to retry.
	 */
	memcpy(answer, r->text, sizeof(answer));
	if (peer_send(&c, "QUIT") == 0)
		(void)peer_reply(&c, NULL, NULL);
	memcpy(r->text, answer, sizeof(answer));
	r->code = code;
	r->temporary = code == 421;
	return 0;
}

int
peer_call(const struct hostport *hp, const char *source, const char *helo,
    const char *secret, const char *command, int timeout_ms, peer_line_fn *fn,
    void *ctx, struct peer_result *r)
{
	struct peer_conn c = { .fd = -1, .r = r };
	char relay[sizeof(r->relay)];
	int rc;

	memset(r, 0, sizeof(*r));
	c.deadline = peer_now_ms() + timeout_ms;
	if (peer_connect(hp, source, &c) < 0)
		return -1;
	memcpy(relay, r->relay, sizeof(relay));
	/* What connecting took comes off the session's time. */
	rc = peer_session(c.fd, helo, secret, command,
	    (int)(c.deadline - peer_now_ms() > 0 ? c.deadline - peer_now_ms() : 1),
	    fn, ctx, r);
	memcpy(r->relay, relay, sizeof(relay));
	(void)close(c.fd);
	return rc;
}

const char *
peer_source(const struct hostport_list *smtp_listen)
{
	return smtp_listen->n > 0 ? smtp_listen->v[0].host : NULL;
}
