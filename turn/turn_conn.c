/*
 * turn_conn - one blocking connection with a deadline on every step
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

/* turn */
#include "turn/turn.h"

/* turn_conn_wait - wait until fd is ready for events; 0, or -1 on timeout */
static int
turn_conn_wait(struct turn_conn *c, short events)
{
	struct pollfd p = { .fd = c->fd, .events = events };
	int r;

	do
		r = poll(&p, 1, c->timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0) {
		snprintf(c->err, sizeof(c->err), "timeout after %ds",
		    c->timeout_ms / 1000);
		return -1;
	}
	if (r < 0) {
		snprintf(c->err, sizeof(c->err), "poll: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* turn_conn_bind - bind fd to the numeric address src of family af; 0/-1 */
static int
turn_conn_bind(struct turn_conn *c, int af, const char *src)
{
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)af };
	void *a = af == AF_INET ? (void *)&((struct sockaddr_in *)&ss)->sin_addr :
	    (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;

	/* An address of the other family leaves the choice to the kernel. */
	if (inet_pton(af, src, a) != 1)
		return 0;
	if (bind(c->fd, (struct sockaddr *)&ss, af == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) < 0) {
		snprintf(c->err, sizeof(c->err), "bind %s: %s", src, strerror(errno));
		return -1;
	}
	return 0;
}

int
turn_conn_open(struct turn_conn *c, const struct sockaddr *sa, socklen_t len,
    unsigned port, const char *src, int timeout_ms)
{
	struct sockaddr_storage ss;
	socklen_t elen = sizeof(int);
	int e = 0;

	memset(c, 0, sizeof(*c));
	c->timeout_ms = timeout_ms;
	memcpy(&ss, sa, len);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
	/* Non-blocking, so that connect() too has a deadline. */
	c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		snprintf(c->err, sizeof(c->err), "socket: %s", strerror(errno));
		return -1;
	}
	if (src != NULL && turn_conn_bind(c, ss.ss_family, src) < 0) {
		turn_conn_close(c);
		return -1;
	}
	if (connect(c->fd, (struct sockaddr *)&ss, len) < 0) {
		if (errno != EINPROGRESS) {
			e = errno;
		} else if (turn_conn_wait(c, POLLOUT) < 0) {
			snprintf(c->err, sizeof(c->err), "connect: timeout after %ds",
			    timeout_ms / 1000);
			turn_conn_close(c);
			return -1;
		} else if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0) {
			e = errno;
		}
	}
	if (e != 0) {
		snprintf(c->err, sizeof(c->err), "connect: %s", strerror(e));
		turn_conn_close(c);
		return -1;
	}
	return 0;
}

/* turn_conn_ssl_wait - wait for what SSL asked for after ret; 0 or -1 */
static int
turn_conn_ssl_wait(struct turn_conn *c, int ret, const char *what)
{
	int e = SSL_get_error(c->ssl, ret);

	if (e == SSL_ERROR_WANT_READ)
		return turn_conn_wait(c, POLLIN);
	if (e == SSL_ERROR_WANT_WRITE)
		return turn_conn_wait(c, POLLOUT);
	if (e == SSL_ERROR_ZERO_RETURN)
		snprintf(c->err, sizeof(c->err), "lost connection");
	else
		snprintf(c->err, sizeof(c->err), "TLS %s: %s", what,
		    ERR_reason_error_string(ERR_peek_last_error()) ?
		    ERR_reason_error_string(ERR_peek_last_error()) : "failed");
	ERR_clear_error();
	return -1;
}

int
turn_conn_write(struct turn_conn *c, const char *s, size_t len)
{
	ssize_t n;
	int r;

	while (len > 0) {
		if (c->ssl != NULL) {
			r = SSL_write(c->ssl, s, len > INT32_MAX ? INT32_MAX : (int)len);
			if (r <= 0) {
				if (turn_conn_ssl_wait(c, r, "write") < 0)
					return -1;
				continue;
			}
			n = r;
		} else {
			n = send(c->fd, s, len, MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				if (turn_conn_wait(c, POLLOUT) < 0)
					return -1;
				continue;
			}
			if (n < 0) {
				snprintf(c->err, sizeof(c->err), "write: %s",
				    strerror(errno));
				return -1;
			}
		}
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* turn_conn_fill - read more input into buf; 0, or -1 on EOF/error/timeout */
static int
turn_conn_fill(struct turn_conn *c)
{
	ssize_t n;
	int r;

	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	for (;;) {
		if (c->ssl != NULL) {
			r = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) - c->len));
			if (r <= 0) {
				if (turn_conn_ssl_wait(c, r, "read") < 0)
					return -1;
				continue;
			}
			n = r;
		} else {
			n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				if (turn_conn_wait(c, POLLIN) < 0)
					return -1;
				continue;
			}
			if (n < 0) {
				snprintf(c->err, sizeof(c->err), "read: %s",
				    strerror(errno));
				return -1;
			}
			if (n == 0) {
				snprintf(c->err, sizeof(c->err), "lost connection");
				return -1;
			}
		}
		c->len += (size_t)n;
		return 0;
	}
}

int
turn_conn_line(struct turn_conn *c, char *line, size_t size)
{
	char *nl;
	size_t n;

	for (;;) {
		nl = memchr(c->buf + c->off, '\n', c->len - c->off);
		if (nl != NULL)
			break;
		if (c->len - c->off >= size) {
			snprintf(c->err, sizeof(c->err), "line longer than %zu bytes",
			    size - 1);
			return -1;
		}
		if (turn_conn_fill(c) < 0)
			return -1;
	}
	n = (size_t)(nl - (c->buf + c->off));
	if (n >= size) {
		snprintf(c->err, sizeof(c->err), "line longer than %zu bytes", size - 1);
		return -1;
	}
	memcpy(line, c->buf + c->off, n);
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	c->off += (size_t)(nl - (c->buf + c->off)) + 1;
	return 0;
}

int
turn_conn_read_all(struct turn_conn *c, char *buf, size_t size, size_t *len_r)
{
	size_t n;

	*len_r = 0;
	for (;;) {
		n = c->len - c->off;
		if (*len_r + n > size) {
			snprintf(c->err, sizeof(c->err), "answer longer than %zu bytes",
			    size);
			return -1;
		}
		memcpy(buf + *len_r, c->buf + c->off, n);
		*len_r += n;
		c->off = c->len = 0;
		if (turn_conn_fill(c) < 0)
			return strcmp(c->err, "lost connection") == 0 ? 0 : -1;
	}
}

int
turn_conn_starttls(struct turn_conn *c, SSL_CTX *ctx, const char *sni)
{
	int r;

	/* Bytes sent before the handshake would be read as plain text. */
	if (c->len > c->off) {
		snprintf(c->err, sizeof(c->err), "data before the TLS handshake");
		return -1;
	}
	c->ssl = SSL_new(ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		snprintf(c->err, sizeof(c->err), "TLS: cannot set up the session");
		return -1;
	}
	if (sni != NULL && strchr(sni, '.') != NULL)
		(void)SSL_set_tlsext_host_name(c->ssl, sni);
	while ((r = SSL_connect(c->ssl)) != 1)
		if (turn_conn_ssl_wait(c, r, "handshake") < 0)
			return -1;
	return 0;
}

void
turn_conn_close(struct turn_conn *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
