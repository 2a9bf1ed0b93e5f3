/*
 * smtp_client_test - the SMTP client engine against a scripted server on
 * the other end of a socketpair, both driven by one event loop.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <arpa/inet.h>
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
#include "mail/smtp_client.h"
#include "tap.h"

/* The scripted server: how it answers, and what it saw. */
struct server {
	int fd;
	bool ehlo_refused;	/* 502 to EHLO: the client must say HELO */
	bool pipelining;
	bool drop_at_dot;	/* hang up instead of answering "." */
	const char *lie;	/* NULL, "data250", "double_mail", "stray", "early" */
	const char *dot_reply;	/* the answer to ".", if not 250 */
	bool in_data;
	char in[8192];
	size_t inlen;
	char data[8192];
	size_t datalen;
	char log[8192];		/* every command, one per line */
};

struct client_state {
	struct ev_loop *loop;
	enum smtp_client_event last;
	int events;
	bool ready;
};

static void
server_reply(struct server *sv, const char *text)
{
	(void)write(sv->fd, text, strlen(text));
}

/* server_line - answer one command line (or collect one data line) */
static void
server_line(struct server *sv, const char *line, size_t len)
{
	if (sv->in_data) {
		if (len == 3 && memcmp(line, ".\r\n", 3) == 0) {
			sv->in_data = false;
			if (sv->drop_at_dot) {
				shutdown(sv->fd, SHUT_RDWR);
				return;
			}
			server_reply(sv, sv->dot_reply != NULL ? sv->dot_reply :
			    "250 2.0.0 Ok: queued as XYZ\r\n");
			return;
		}
		if (sv->datalen + len < sizeof(sv->data)) {
			memcpy(sv->data + sv->datalen, line, len);
			sv->datalen += len;
		}
		return;
	}
	{
		size_t used = strlen(sv->log);

		snprintf(sv->log + used, sizeof(sv->log) - used, "%.*s\n",
		    (int)(len >= 2 ? len - 2 : 0), line);
	}
	if (strncmp(line, "EHLO", 4) == 0) {
		if (sv->ehlo_refused)
			server_reply(sv, "502 5.5.2 no EHLO here\r\n");
		else if (sv->pipelining)
			server_reply(sv, "250-test\r\n250-PIPELINING\r\n250 SIZE 100000\r\n");
		else
			server_reply(sv, "250-test\r\n250 SIZE 100000\r\n");
	} else if (strncmp(line, "MAIL", 4) == 0 && sv->lie != NULL &&
	    strcmp(sv->lie, "double_mail") == 0)
		server_reply(sv, "250 2.0.0 Ok\r\n250 2.0.0 Ok again\r\n");
	else if (strncmp(line, "HELO", 4) == 0 || strncmp(line, "MAIL", 4) == 0 ||
	    strncmp(line, "RSET", 4) == 0)
		server_reply(sv, "250 2.0.0 Ok\r\n");
	else if (strncmp(line, "RCPT TO:<bad", 12) == 0)
		server_reply(sv, "550-5.1.1 no such user\r\n550 5.1.1 really\r\n");
	else if (strncmp(line, "RCPT TO:<soft", 13) == 0)
		server_reply(sv, "450 4.2.0 try later\r\n");
	else if (strncmp(line, "RCPT", 4) == 0)
		server_reply(sv, "250 2.1.5 Ok\r\n");
	else if (strncmp(line, "DATA", 4) == 0 && sv->lie != NULL &&
	    strcmp(sv->lie, "data250") == 0)
		server_reply(sv, "250 2.0.0 Ok\r\n");
	else if (strncmp(line, "DATA", 4) == 0) {
		sv->in_data = true;
		server_reply(sv, "354 go ahead\r\n");
	} else if (strncmp(line, "QUIT", 4) == 0) {
		server_reply(sv, "221 2.0.0 Bye\r\n");
		shutdown(sv->fd, SHUT_RDWR);
	} else
		server_reply(sv, "500 5.5.1 what\r\n");
}

static void
server_io(int fd, unsigned events, void *ctx)
{
	struct server *sv = ctx;
	ssize_t n;
	char *lf;

	(void)events;
	n = read(fd, sv->in + sv->inlen, sizeof(sv->in) - sv->inlen);
	if (n <= 0)
		return;
	sv->inlen += (size_t)n;
	while ((lf = memchr(sv->in, '\n', sv->inlen)) != NULL) {
		size_t len = (size_t)(lf - sv->in) + 1;

		server_line(sv, sv->in, len);
		memmove(sv->in, sv->in + len, sv->inlen - len);
		sv->inlen -= len;
	}
}

static void
client_event(struct smtp_client *cl, enum smtp_client_event ev, void *ctx)
{
	struct client_state *cs = ctx;

	(void)cl;
	cs->last = ev;
	cs->events++;
	if (ev == SMTP_CLIENT_READY)
		cs->ready = true;
	ev_stop(cs->loop);
}

static void
timeout_fire(void *ctx)
{
	ev_stop(ctx);
}

/* run - run the loop until the client's next event (or 5 seconds) */
static void
run(struct ev_loop *loop)
{
	struct ev_timer *t = ev_timer_add(loop, 5000, timeout_fire, loop);

	ev_run(loop);
	ev_timer_cancel(loop, &t);
}

static int
content_fd(const char *text)
{
	char path[] = "/tmp/smtp_client_test.XXXXXX";
	int fd = mkstemp(path);

	unlink(path);
	(void)write(fd, text, strlen(text));
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* The owner of an adopted stream forwards its events to the client. */
struct holder {
	struct smtp_client *cl;
};

static void
holder_io(struct stream *st, unsigned events, void *ctx)
{
	struct holder *h = ctx;

	if (h->cl != NULL)
		smtp_client_stream_io(st, events, h->cl);
}

static const struct smtp_client_params params = {
	.helo_name = "client.test",
	.peer_name = "server.test",
	.tls = SMTP_CLIENT_TLS_NONE,
	.timeouts = { 2000, 2000, 2000, 2000, 2000 },
};

/* session - a scripted server and a client adopting the other end */
static struct smtp_client *
session(struct ev_loop *loop, struct server *sv, struct client_state *cs,
    struct holder *h)
{
	int sp[2];
	struct stream *st;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
		abort();
	sv->fd = sp[0];
	fcntl(sp[0], F_SETFL, O_NONBLOCK);
	ev_io_add(loop, sp[0], EV_READ, server_io, sv);
	if (sv->lie != NULL && strcmp(sv->lie, "stray") == 0)
		server_reply(sv, "220 server.test ESMTP\r\n250 2.0.0 stray\r\n");
	else if (sv->lie != NULL && strcmp(sv->lie, "early") == 0)
		server_reply(sv, "220 server.test ESMTP\r\n250 server.test\r\n"
		    "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n250 2.0.0 Ok\r\n");
	else
		server_reply(sv, "220 server.test ESMTP\r\n");
	cs->loop = loop;
	st = stream_new(loop, sp[1], holder_io, h);
	h->cl = smtp_client_adopt(loop, st, true, true, &params, client_event, cs);
	return h->cl;
}

static void
server_close(struct ev_loop *loop, struct server *sv)
{
	ev_io_del(loop, sv->fd);
	close(sv->fd);
}

int
main(void)
{
	struct ev_loop *loop = ev_loop_new();
	struct server sv = { .pipelining = true };
	struct client_state cs = { 0 };
	struct holder h = { 0 };
	struct smtp_client *cl;
	const char *text;
	enum smtp_client_fail f;
	struct smtp_msg_rcpt rc[] = {
		{ "good1@site.example", 0, NULL }, { "bad@site.example", 0, NULL },
		{ "soft@site.example", 0, NULL }, { "good2@site.example", 0, NULL },
	};
	struct smtp_msg msg = { .sender = "s@client.example", .nrcpt = 4,
	    .rcpt = rc };
	const char *content = "Subject: x\r\n\r\n.dot\r\nend\r\n";

	log_init("smtp_client_test");
	/* 1. Pipelining, partial success, dot-stuffing. */
	cl = session(loop, &sv, &cs, &h);
	run(loop);
	ok(cs.last == SMTP_CLIENT_READY, "greeted: READY");
	ok(smtp_client_extensions(cl) & SMTP_EXT_PIPELINING, "PIPELINING seen");
	ok(smtp_client_size_limit(cl) == 100000, "SIZE limit %llu",
	    (unsigned long long)smtp_client_size_limit(cl));
	msg.content_fd = content_fd(content);
	msg.content_len = strlen(content);
	ok(smtp_client_send(cl, &msg) == 0, "send starts");
	run(loop);
	ok(cs.last == SMTP_CLIENT_DONE, "transaction DONE");
	ok(msg.result[0].code == 250 && strcmp(msg.result[0].reply,
	    "250 2.0.0 Ok: queued as XYZ") == 0, "good1: %d %s", msg.result[0].code,
	    msg.result[0].reply);
	ok(msg.result[1].code == 550 && strcmp(msg.result[1].dsn, "5.1.1") == 0 &&
	    strcmp(msg.result[1].reply, "550 5.1.1 no such user 5.1.1 really") == 0,
	    "bad: %d %s %s", msg.result[1].code, msg.result[1].dsn,
	    msg.result[1].reply);
	ok(msg.result[2].code == 450 && strcmp(msg.result[2].dsn, "4.2.0") == 0,
	    "soft: %d %s", msg.result[2].code, msg.result[2].dsn);
	ok(msg.result[3].code == 250, "good2: %d", msg.result[3].code);
	ok(sv.datalen == strlen("Subject: x\r\n\r\n..dot\r\nend\r\n") &&
	    memcmp(sv.data, "Subject: x\r\n\r\n..dot\r\nend\r\n", sv.datalen) == 0,
	    "content dot-stuffed, CRLF kept");
	ok(strstr(sv.log, "MAIL FROM:<s@client.example> SIZE=") != NULL,
	    "MAIL with SIZE");
	close(msg.content_fd);
	smtp_msg_clear(&msg);

	/* 2. The session is reused: RSET first. */
	sv.log[0] = '\0';
	sv.datalen = 0;
	msg.content_fd = content_fd(content);
	ok(smtp_client_send(cl, &msg) == 0, "second send");
	run(loop);
	ok(cs.last == SMTP_CLIENT_DONE && strncmp(sv.log, "RSET\nMAIL", 9) == 0,
	    "RSET before the second MAIL");
	close(msg.content_fd);
	smtp_msg_clear(&msg);

	/* 3. QUIT. */
	smtp_client_quit(cl);
	run(loop);
	ok(cs.last == SMTP_CLIENT_CLOSED, "QUIT: CLOSED");
	smtp_client_free(&h.cl);
	server_close(loop, &sv);

	/* 4. EHLO refused: HELO, no pipelining; nobody accepted: no DATA. */
	memset(&sv, 0, sizeof(sv));
	sv.ehlo_refused = true;
	cl = session(loop, &sv, &cs, &h);
	run(loop);
	ok(cs.last == SMTP_CLIENT_READY && strstr(sv.log, "HELO client.test") != NULL,
	    "HELO after 502 to EHLO");
	{
		struct smtp_msg_rcpt bad[] = { { "bad@x.example", 0, NULL },
		    { "soft@x.example", 0, NULL } };
		struct smtp_msg m2 = { .sender = "", .nrcpt = 2, .rcpt = bad };

		m2.content_fd = content_fd(content);
		m2.content_len = strlen(content);
		ok(smtp_client_send(cl, &m2) == 0, "send without pipelining");
		run(loop);
		ok(cs.last == SMTP_CLIENT_DONE && m2.result[0].code == 550 &&
		    m2.result[1].code == 450, "both refused: %d %d",
		    m2.result[0].code, m2.result[1].code);
		ok(strstr(sv.log, "DATA") == NULL && strstr(sv.log,
		    "MAIL FROM:<>") != NULL, "null sender, no DATA sent");
		close(m2.content_fd);
		smtp_msg_clear(&m2);
	}
	smtp_client_free(&h.cl);
	server_close(loop, &sv);

	/* 5. The server hangs up at the final dot: FAILED, no result. */
	memset(&sv, 0, sizeof(sv));
	sv.pipelining = true;
	sv.drop_at_dot = true;
	cl = session(loop, &sv, &cs, &h);
	run(loop);
	msg.content_fd = content_fd(content);
	ok(smtp_client_send(cl, &msg) == 0, "send to a server that hangs up");
	run(loop);
	f = smtp_client_failure(cl, &text);
	ok(cs.last == SMTP_CLIENT_FAILED && f == SMTP_FAIL_LOST, "FAILED lost: %s",
	    text);
	ok(msg.result[0].code == 0 && msg.result[1].code == 550,
	    "accepted recipient has no result (%d), refused one keeps 550 (%d)",
	    msg.result[0].code, msg.result[1].code);
	close(msg.content_fd);
	smtp_msg_clear(&msg);
	smtp_client_free(&h.cl);
	server_close(loop, &sv);

	/*
	 * 6. Lies: a reply of the wrong kind, one too many, one before the
	 * command it answers. Each is a protocol error, no recipient gets a
	 * result (the 550 to RCPT included: no reply can be trusted), and
	 * the content never leaves.
	 */
	{
		static const struct {
			const char *lie;
			bool pipelining, greets;
			const char *want;
		} lies[] = {
			{ "data250", true, true, "answered DATA with a reply of the wrong kind: 250" },
			{ "double_mail", false, true, "before our RCPT TO: 250 2.0.0 Ok again" },
			{ "double_mail", true, true, "answered DATA with a reply of the wrong kind: 250" },
			{ "stray", true, false, "before our EHLO: 250 2.0.0 stray" },
			{ "early", false, false, "before our EHLO: 250 server.test" },
		};
		size_t i;

		for (i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
			memset(&sv, 0, sizeof(sv));
			sv.pipelining = lies[i].pipelining;
			sv.lie = lies[i].lie;
			memset(&cs, 0, sizeof(cs));
			cl = session(loop, &sv, &cs, &h);
			run(loop);
			if (lies[i].greets) {
				ok(cs.last == SMTP_CLIENT_READY, "%s: READY", sv.lie);
				msg.content_fd = content_fd(content);
				ok(smtp_client_send(cl, &msg) == 0, "%s: send", sv.lie);
				run(loop);
			}
			f = smtp_client_failure(cl, &text);
			ok(cs.last == SMTP_CLIENT_FAILED && f == SMTP_FAIL_PROTOCOL &&
			    strstr(text, lies[i].want) != NULL, "%s%s: FAILED protocol: %s",
			    sv.lie, sv.pipelining ? " (pipelining)" : "", text);
			if (lies[i].greets) {
				ok(msg.result[0].code == 0 && msg.result[1].code == 0 &&
				    msg.result[3].code == 0 &&
				    strcmp(msg.result[0].dsn, "4.5.0") == 0,
				    "%s: no recipient has a result: %d %d %d %s", sv.lie,
				    msg.result[0].code, msg.result[1].code,
				    msg.result[3].code, msg.result[0].dsn);
				close(msg.content_fd);
				smtp_msg_clear(&msg);
			}
			ok(sv.datalen == 0, "%s: no content reached the server", sv.lie);
			smtp_client_free(&h.cl);
			server_close(loop, &sv);
		}
	}

	/*
	 * 7. A reply code outside RFC 5321's grammar (found by
	 * t/fuzz/fuzz_smtp_reply) is a protocol failure, never a result:
	 * "081" was the result code 81, "deferred" with dsn 0.0.0.
	 */
	{
		static const char *const bad_codes[] = {
			"081 2.0.0 Ok\r\n", "600 6.0.0 Ok\r\n", "199 Ok\r\n",
			"260 2.6.0 Ok\r\n",
		};
		size_t i;

		for (i = 0; i < sizeof(bad_codes) / sizeof(bad_codes[0]); i++) {
			memset(&sv, 0, sizeof(sv));
			sv.pipelining = true;
			sv.dot_reply = bad_codes[i];
			cl = session(loop, &sv, &cs, &h);
			run(loop);
			msg.content_fd = content_fd(content);
			ok(smtp_client_send(cl, &msg) == 0, "send, \".\" answered %.3s",
			    bad_codes[i]);
			run(loop);
			f = smtp_client_failure(cl, &text);
			ok(cs.last == SMTP_CLIENT_FAILED && f == SMTP_FAIL_PROTOCOL &&
			    msg.result[0].code == 0 && msg.result[3].code == 0,
			    "%.3s to \".\": got event %d, failure %s, codes %d %d; "
			    "want FAILED, protocol, 0 0", bad_codes[i], cs.last,
			    smtp_client_fail_name(f), msg.result[0].code,
			    msg.result[3].code);
			close(msg.content_fd);
			smtp_msg_clear(&msg);
			smtp_client_free(&h.cl);
			server_close(loop, &sv);
		}
	}

	/* 8. Connection refused. */
	{
		struct sockaddr_in sin = { .sin_family = AF_INET,
		    .sin_port = htons(1), .sin_addr.s_addr = htonl(0x7f000001) };

		cl = smtp_client_connect(loop, (struct sockaddr *)&sin, sizeof(sin),
		    &params, client_event, &cs);
		run(loop);
		f = smtp_client_failure(cl, &text);
		ok(cs.last == SMTP_CLIENT_FAILED && f == SMTP_FAIL_CONNECT,
		    "refused: %s", text);
		smtp_client_free(&cl);
	}
	ev_loop_free(&loop);
	return tap_done();
}
