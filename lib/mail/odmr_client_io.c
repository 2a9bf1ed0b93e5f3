/*
 * odmr_client_io - blocking lines and replies with deadlines, TLS or not
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

/* lib/util */
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/odmr_client_int.h"

/* oc_now - monotonic milliseconds */
static uint64_t
oc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* oc_wait - wait for ev on c's socket until deadline; 0, or -1 (c->err) */
static int
oc_wait(struct oc_conn *c, short ev, uint64_t deadline)
{
	struct pollfd p = { .fd = c->fd, .events = ev };
	uint64_t now;
	int n;

	for (;;) {
		now = oc_now();
		if (now >= deadline) {
			snprintf(c->err, sizeof(c->err),
			    "timeout after %llu seconds with %s",
			    (unsigned long long)(c->timeout_ms / 1000u), c->name);
			return -1;
		}
		n = poll(&p, 1, (int)(deadline - now));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR) {
			snprintf(c->err, sizeof(c->err), "poll %s: %s", c->name,
			    strerror(errno));
			return -1;
		}
	}
}

/* oc_tls_err - the TLS error queue's first entry as text in c->err */
static void
oc_tls_err(struct oc_conn *c, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[160];

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "%s", errno != 0 ? strerror(errno) :
		    "connection closed");
	snprintf(c->err, sizeof(c->err), "%s with %s: %s", what, c->name, buf);
	ERR_clear_error();
}

/*
 * oc_io - one SSL_read/SSL_write or read/write step, waiting as TLS asks
 * (a read may need to write and the other way round). >0 octets, 0 EOF,
 * -1 error (c->err).
 */
static int
oc_io(struct oc_conn *c, bool reading, void *buf, size_t len,
    uint64_t deadline)
{
	ssize_t n;
	int e;

	for (;;) {
		if (c->ssl != NULL) {
			ERR_clear_error();
			errno = 0;
			n = reading ? SSL_read(c->ssl, buf, (int)len) :
			    SSL_write(c->ssl, buf, (int)len);
			if (n > 0)
				return (int)n;
			e = SSL_get_error(c->ssl, (int)n);
			if (e == SSL_ERROR_ZERO_RETURN)
				return 0;
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
				if (oc_wait(c, e == SSL_ERROR_WANT_READ ? POLLIN :
				    POLLOUT, deadline) < 0)
					return -1;
				continue;
			}
			oc_tls_err(c, reading ? "TLS read" : "TLS write");
			return -1;
		}
		n = reading ? read(c->fd, buf, len) : write(c->fd, buf, len);
		if (n > 0)
			return (int)n;
		if (n == 0 && reading)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (oc_wait(c, reading ? POLLIN : POLLOUT, deadline) < 0)
				return -1;
			continue;
		}
		snprintf(c->err, sizeof(c->err), "%s %s: %s",
		    reading ? "read from" : "write to", c->name,
		    n == 0 ? "nothing written" : strerror(errno));
		return -1;
	}
}

/* oc_connect_one - a non-blocking connect to ai within timeout; fd or -1 */
static int
oc_connect_one(const struct addrinfo *ai, uint64_t timeout_ms, char *err,
    size_t errlen)
{
	struct pollfd p;
	socklen_t sl = sizeof(int);
	int fd, e = 0, n;
	uint64_t deadline = oc_now() + timeout_ms, now;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    ai->ai_protocol);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	p.fd = fd;
	p.events = POLLOUT;
	for (;;) {
		now = oc_now();
		if (now >= deadline) {
			snprintf(err, errlen, "connection timed out");
			close(fd);
			return -1;
		}
		n = poll(&p, 1, (int)(deadline - now));
		if (n > 0)
			break;
		if (n < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			close(fd);
			return -1;
		}
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0)
		e = errno;
	if (e != 0) {
		snprintf(err, errlen, "%s", strerror(e));
		close(fd);
		return -1;
	}
	return fd;
}

struct oc_conn *
oc_conn_open(const char *host, unsigned port, uint64_t timeout_ms,
    enum oc_why *why_r, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
		.ai_flags = AI_ADDRCONFIG };
	struct addrinfo *res, *ai;
	struct oc_conn *c;
	char serv[16], addr[INET6_ADDRSTRLEN] = "?", why[160] = "no address";
	int fd = -1, rc;

	snprintf(serv, sizeof(serv), "%u", port);
	if ((rc = getaddrinfo(host, serv, &hints, &res)) != 0) {
		*why_r = rc == EAI_AGAIN ? OC_TEMP : OC_NOHOST;
		snprintf(err, errlen, "look up %s: %s", host, gai_strerror(rc));
		return NULL;
	}
	/* Every address in turn, as an MTA tries a host's addresses. */
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr),
		    NULL, 0, NI_NUMERICHOST);
		fd = oc_connect_one(ai, timeout_ms, why, sizeof(why));
	}
	freeaddrinfo(res);
	if (fd < 0) {
		*why_r = OC_TEMP;
		snprintf(err, errlen, "connect to %s[%s]:%u: %s", host, addr,
		    port, why);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->timeout_ms = timeout_ms;
	snprintf(c->name, sizeof(c->name), "%.200s[%s]:%u", host, addr, port);
	return c;
}

void
oc_conn_free(struct oc_conn **cp)
{
	struct oc_conn *c = *cp;

	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		/* A close_notify if it goes at once; never wait for the peer's. */
		(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	close(c->fd);
	free(c);
	*cp = NULL;
}

int
oc_conn_tls(struct oc_conn *c, SSL_CTX *ctx, const char *peer, bool verify)
{
	uint64_t deadline = oc_now() + c->timeout_ms;
	int n, e;

	if (oc_pending(c)) {
		snprintf(c->err, sizeof(c->err), "protocol error: %s sent data "
		    "before the TLS handshake", c->name);
		return -1;
	}
	if ((c->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		oc_tls_err(c, "TLS setup");
		return -1;
	}
	/* SNI only for a name: RFC 6066 section 3 forbids literal addresses. */
	if (strspn(peer, "0123456789.:") != strlen(peer))
		(void)SSL_set_tlsext_host_name(c->ssl, peer);
	if (verify) {
		SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(c->ssl, peer) != 1) {
			oc_tls_err(c, "TLS name check setup");
			return -1;
		}
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((n = SSL_connect(c->ssl)) == 1)
			break;
		e = SSL_get_error(c->ssl, n);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			if (verify && SSL_get_verify_result(c->ssl) != X509_V_OK) {
				snprintf(c->err, sizeof(c->err), "TLS with %s: "
				    "certificate not verified: %s", c->name,
				    X509_verify_cert_error_string(
				    SSL_get_verify_result(c->ssl)));
				return -2;
			}
			oc_tls_err(c, "TLS handshake");
			return -1;
		}
		if (oc_wait(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
		    deadline) < 0)
			return -1;
	}
	return 0;
}

int
oc_read_line(struct oc_conn *c, size_t max, const char **line_r,
    size_t *len_r)
{
	uint64_t deadline = oc_now() + c->timeout_ms;
	char *lf;
	size_t have;
	int n;

	if (max > sizeof(c->in))
		max = sizeof(c->in);
	for (;;) {
		have = c->in_len - c->in_off;
		lf = memchr(c->in + c->in_off, '\n', have < max ? have : max);
		if (lf != NULL || have >= max) {
			*line_r = c->in + c->in_off;
			*len_r = lf != NULL ? (size_t)(lf - *line_r) + 1 : max;
			c->in_off += *len_r;
			return lf != NULL ? 1 : 2;
		}
		if (c->eof) {
			if (have == 0)
				return 0;
			snprintf(c->err, sizeof(c->err), "lost connection with "
			    "%s inside a line", c->name);
			return -1;
		}
		if (c->in_off > 0) {
			memmove(c->in, c->in + c->in_off, have);
			c->in_off = 0;
			c->in_len = have;
		}
		n = oc_io(c, true, c->in + c->in_len, sizeof(c->in) - c->in_len,
		    deadline);
		if (n < 0)
			return -1;
		if (n == 0)
			c->eof = true;
		c->in_len += (size_t)n;
	}
}

int
oc_write(struct oc_conn *c, const void *buf, size_t len)
{
	uint64_t deadline = oc_now() + c->timeout_ms;
	const char *p = buf;
	int n;

	while (len > 0) {
		/* SSL_write takes an int: at most 1 GiB a step. */
		n = oc_io(c, false, (void *)p, len > (1u << 30) ? (1u << 30) : len,
		    deadline);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
oc_printf(struct oc_conn *c, const char *fmt, ...)
{
	char buf[OC_REPLY_LINE_MAX + 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf) - 2) {
		snprintf(c->err, sizeof(c->err), "line for %s too long",
		    c->name);
		return -1;
	}
	memcpy(buf + n, "\r\n", 2);
	return oc_write(c, buf, (size_t)n + 2);
}

bool
oc_pending(const struct oc_conn *c)
{
	return c->in_len > c->in_off;
}

/* oc_reply_line_ok - "DDD", "DDD-text" or "DDD text", printable; its code */
static int
oc_reply_line_ok(const char *s, size_t len, bool *more_r)
{
	size_t i;

	if (len < 3 || s[0] < '2' || s[0] > '5' || !isdigit((unsigned char)s[1])
	    || !isdigit((unsigned char)s[2]))
		return -1;
	if (len > 3 && s[3] != '-' && s[3] != ' ')
		return -1;
	for (i = 3; i < len; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
		    (unsigned char)s[i] >= 0x7f)
			return -1;
	*more_r = len > 3 && s[3] == '-';
	return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

int
oc_reply_read(struct oc_conn *c, struct oc_reply *rep)
{
	const char *line;
	size_t len, used = 0;
	bool more = true;
	int n, code;

	rep->code = 0;
	rep->nlines = 0;
	rep->text[0] = '\0';
	while (more) {
		n = oc_read_line(c, OC_REPLY_LINE_MAX, &line, &len);
		if (n == 0)
			snprintf(c->err, sizeof(c->err), "lost connection with %s "
			    "while reading a reply", c->name);
		if (n != 1) {
			if (n == 2)
				snprintf(c->err, sizeof(c->err), "protocol error: "
				    "reply line from %s longer than %d octets",
				    c->name, OC_REPLY_LINE_MAX);
			return -1;
		}
		len -= len >= 2 && line[len - 2] == '\r' ? 2 : 1;
		code = oc_reply_line_ok(line, len, &more);
		if (code < 0 || (rep->nlines > 0 && code != rep->code) ||
		    rep->nlines >= ODMR_CLIENT_REPLY_LINES) {
			snprintf(c->err, sizeof(c->err), "protocol error: malformed "
			    "reply from %s: %.*s", c->name,
			    (int)(len > 80 ? 80 : len), line);
			for (char *p = c->err; *p != '\0'; p++)
				if (!isprint((unsigned char)*p))
					*p = '?';
			return -1;
		}
		rep->code = code;
		/* Kept up to OC_REPLY_MAX; the rest is read and dropped. */
		if (used + len + 2 <= sizeof(rep->text)) {
			if (rep->nlines > 0)
				rep->text[used++] = '\n';
			memcpy(rep->text + used, line, len);
			used += len;
			rep->text[used] = '\0';
		}
		rep->nlines++;
	}
	return 0;
}

int
oc_command(struct oc_conn *c, const char *line, struct oc_reply *rep)
{
	if (oc_pending(c)) {
		/* Not the line itself: it may be an AUTH response. */
		snprintf(c->err, sizeof(c->err), "protocol error: %s sent data "
		    "before our command was sent", c->name);
		return -1;
	}
	if (oc_printf(c, "%s", line) < 0)
		return -1;
	return oc_reply_read(c, rep);
}

const char *
oc_reply_flat(const struct oc_reply *rep, char *buf, size_t size)
{
	char *p;

	snprintf(buf, size, "%s", rep->text);
	for (p = buf; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
	return buf;
}

/* The EHLO keywords we act on (RFC 5321 4.1.1.1: keywords in any case). */
static const struct {
	const char *word;
	unsigned bit;
} oc_ext_words[] = {
	{ "STARTTLS", OC_EXT_STARTTLS },
	{ "ATRN", OC_EXT_ATRN },
	{ "8BITMIME", OC_EXT_8BITMIME },
	{ "SIZE", OC_EXT_SIZE },
	{ "PIPELINING", OC_EXT_PIPELINING },
};

static const struct {
	const char *mech;
	unsigned bit;
} oc_auth_words[] = {
	{ "CRAM-MD5", OC_EXT_AUTH_CRAM },
	{ "PLAIN", OC_EXT_AUTH_PLAIN },
	{ "LOGIN", OC_EXT_AUTH_LOGIN },
};

unsigned
oc_ehlo_ext(const struct oc_reply *rep, uint64_t *size_r)
{
	const char *line, *arg;
	unsigned ext = 0;
	size_t i, wlen;
	char word[64];

	*size_r = 0;
	/* The first line is the server's name; keywords follow. */
	for (line = strchr(rep->text, '\n'); line != NULL;
	    line = strchr(line, '\n')) {
		line++;
		if (strcspn(line, "\n") < 5)
			continue;
		arg = line + 4;
		wlen = strcspn(arg, " \n");
		if (wlen == 0 || wlen >= sizeof(word))
			continue;
		memcpy(word, arg, wlen);
		word[wlen] = '\0';
		for (i = 0; i < sizeof(oc_ext_words) / sizeof(oc_ext_words[0]); i++)
			if (strcasecmp(word, oc_ext_words[i].word) == 0)
				ext |= oc_ext_words[i].bit;
		if (strcasecmp(word, "SIZE") == 0 && arg[wlen] == ' ')
			*size_r = strtoull(arg + wlen + 1, NULL, 10);
		if (strcasecmp(word, "AUTH") != 0)
			continue;
		/* AUTH mech mech ...: each mechanism a word of its own. */
		for (arg += wlen; *arg == ' ';) {
			arg++;
			wlen = strcspn(arg, " \n");
			for (i = 0; i < sizeof(oc_auth_words) /
			    sizeof(oc_auth_words[0]); i++)
				if (wlen == strlen(oc_auth_words[i].mech) &&
				    strncasecmp(arg, oc_auth_words[i].mech, wlen) == 0)
					ext |= oc_auth_words[i].bit;
			arg += wlen;
		}
	}
	return ext;
}
