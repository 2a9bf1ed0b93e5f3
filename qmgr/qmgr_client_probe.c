/*
 * qmgr_client_probe - route=client's probe: before any job of a domain
 * goes to the address its owner's login came from, check in qmgr's event
 * loop (never a blocking call) that an SMTP server answers there: connect
 * to [ADDR]:PORT, read a 220 greeting within probe_timeout, send QUIT and
 * close without waiting for the 221. The outcome goes to
 * qmgr_gate_client_probed(), which alone sets the gate's client_route.
 *
 * The peer is whoever holds that address: its greeting is read into a
 * fixed buffer, any line not 220 fails the probe, and what we log of it
 * is cut short and made printable.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/events.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "mail/conf.h"
#include "qmgr/qmgr.h"

/* A greeting line longer than this fails the probe (RFC 5321 says 512). */
#define QMGR_PROBE_LINE_MAX	1024
/* What a failed probe logs of a bad greeting line. */
#define QMGR_PROBE_SHOW_MAX	80

struct qmgr_client_probe {
	struct qmgr *q;
	struct qmgr_domain *dom;
	char *relay;		/* "[ADDR]:PORT", for the log and the route */
	int fd;
	bool connected;
	struct ev_timer *timer;
	char buf[QMGR_PROBE_LINE_MAX];
	size_t len;
};

static void
qmgr_client_probe_free(struct qmgr_client_probe **pp)
{
	struct qmgr_client_probe *p = *pp;

	if (p == NULL)
		return;
	ev_timer_cancel(p->q->loop, &p->timer);
	if (p->fd >= 0) {
		ev_io_del(p->q->loop, p->fd);
		(void)close(p->fd);
	}
	if (p->dom->client_probe == p)
		p->dom->client_probe = NULL;
	free(p->relay);
	free(p);
	*pp = NULL;
}

/* qmgr_client_probe_done - report why (NULL: a 220) and forget the probe */
static void
qmgr_client_probe_done(struct qmgr_client_probe *p, const char *why)
{
	struct qmgr *q = p->q;
	struct qmgr_domain *dom = p->dom;
	char *relay = xstrdup(p->relay);

	qmgr_client_probe_free(&p);
	qmgr_gate_client_probed(q, dom, relay, why);
	free(relay);
}

/* qmgr_errno_text - strerror(err) with a small first letter, as Postfix logs it */
static char *
qmgr_errno_text(int err)
{
	char *s = xstrdup(strerror(err));

	if (s[0] >= 'A' && s[0] <= 'Z')
		s[0] = (char)(s[0] - 'A' + 'a');
	return s;
}

static void
qmgr_client_probe_fail_errno(struct qmgr_client_probe *p, int err)
{
	char *why = qmgr_errno_text(err);

	qmgr_client_probe_done(p, why);
	free(why);
}

/* qmgr_client_probe_line - one greeting line: 1 the last, 0 more follow, -1 not 220 */
static int
qmgr_client_probe_line(struct qmgr_client_probe *p, const char *line, size_t n)
{
	char show[QMGR_PROBE_SHOW_MAX + 1], *why;
	size_t i;

	if (n >= 3 && memcmp(line, "220", 3) == 0 && (n == 3 || line[3] == ' '))
		return 1;
	if (n >= 4 && memcmp(line, "220-", 4) == 0)
		return 0;
	for (i = 0; i < n && i < QMGR_PROBE_SHOW_MAX; i++)
		show[i] = line[i] >= 0x20 && line[i] < 0x7f ? line[i] : '?';
	show[i] = '\0';
	why = xasprintf("greeting was not 220: %s", show);
	qmgr_client_probe_done(p, why);
	free(why);
	return -1;
}

static void
qmgr_client_probe_greeted(struct qmgr_client_probe *p)
{
	static const char quit[] = "QUIT\r\n";

	/* Best effort: the server's 221 is not waited for. */
	(void)send(p->fd, quit, sizeof(quit) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	qmgr_client_probe_done(p, NULL);
}

static void
qmgr_client_probe_read(struct qmgr_client_probe *p)
{
	ssize_t n = read(p->fd, p->buf + p->len, sizeof(p->buf) - p->len);
	char *nl;

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			qmgr_client_probe_fail_errno(p, errno);
		return;
	}
	if (n == 0) {
		qmgr_client_probe_done(p, "connection closed before the 220 greeting");
		return;
	}
	p->len += (size_t)n;
	while ((nl = memchr(p->buf, '\n', p->len)) != NULL) {
		size_t used = (size_t)(nl - p->buf) + 1, end = used - 1;
		int rc;

		if (end > 0 && p->buf[end - 1] == '\r')
			end--;
		if ((rc = qmgr_client_probe_line(p, p->buf, end)) != 0) {
			if (rc > 0)
				qmgr_client_probe_greeted(p);
			return;
		}
		memmove(p->buf, p->buf + used, p->len - used);
		p->len -= used;
	}
	if (p->len == sizeof(p->buf))
		qmgr_client_probe_done(p, "greeting line too long");
}

static void
qmgr_client_probe_io(int fd, unsigned events, void *ctx)
{
	struct qmgr_client_probe *p = ctx;
	int err = 0;
	socklen_t len = sizeof(err);

	if (p->connected) {
		qmgr_client_probe_read(p);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == 0 && (events & EV_ERROR))
		err = ECONNRESET;
	if (err != 0) {
		qmgr_client_probe_fail_errno(p, err);
		return;
	}
	p->connected = true;
	if (ev_io_mod(p->q->loop, fd, EV_READ) < 0)
		qmgr_client_probe_fail_errno(p, errno);
}

static void
qmgr_client_probe_timeout(void *ctx)
{
	struct qmgr_client_probe *p = ctx;
	char *why;

	p->timer = NULL;
	why = xasprintf("%s timed out after %lds", p->connected ? "greeting" : "connect",
	    p->q->cfg->probe_timeout);
	qmgr_client_probe_done(p, why);
	free(why);
}

void
qmgr_client_probe_cancel(struct qmgr *q, struct qmgr_domain *dom)
{
	struct qmgr_client_probe *p = dom->client_probe;

	(void)q;
	qmgr_client_probe_free(&p);
}

void
qmgr_client_probe_start(struct qmgr *q, struct qmgr_domain *dom, const char *client,
    unsigned port)
{
	struct qmgr_client_probe *p;
	struct sockaddr_storage ss;
	socklen_t sslen;

	/* A newer login wins: the probe of the address before it is moot. */
	qmgr_client_probe_cancel(q, dom);
	if (!qmgr_client_sockaddr(client, &ss))
		return;
	if (ss.ss_family == AF_INET) {
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		sslen = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		sslen = sizeof(struct sockaddr_in6);
	}
	p = xcalloc(1, sizeof(*p));
	p->q = q;
	p->dom = dom;
	p->relay = xasprintf("[%s]:%u", client, port);
	p->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	dom->client_probe = p;
	if (p->fd < 0) {
		qmgr_client_probe_fail_errno(p, errno);
		return;
	}
	if (connect(p->fd, (struct sockaddr *)&ss, sslen) < 0 && errno != EINPROGRESS) {
		qmgr_client_probe_fail_errno(p, errno);
		return;
	}
	if (ev_io_add(q->loop, p->fd, EV_WRITE, qmgr_client_probe_io, p) < 0) {
		int err = errno;

		(void)close(p->fd);
		p->fd = -1;
		qmgr_client_probe_fail_errno(p, err);
		return;
	}
	p->timer = ev_timer_add(q->loop, (uint64_t)q->cfg->probe_timeout * 1000,
	    qmgr_client_probe_timeout, p);
}
