/*
 * fuzz_smtp_reply - the SMTP client's reply parser (lib/mail/smtp_client.c)
 * as deliver and etrn run it: the engine adopts one end of a socketpair
 * and reads the input from the other end as the server's whole side of
 * the session (banner, EHLO reply, replies to MAIL, RCPT, DATA and ".",
 * QUIT), then EOF. On READY it sends a message of two recipients, at most
 * twice, then QUITs.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* lib/util */
#include "util/events.h"
#include "util/log.h"
#include "util/stream.h"
/* lib/mail */
#include "mail/queue.h"
#include "mail/smtp_client.h"

#include "t/fuzz/fuzz.h"

/* The server's side is written at once: keep it within a socket buffer. */
#define FUZZ_REPLY_MAX	(32 * 1024)
#define FUZZ_MESSAGES	2

static const char content[] = "Subject: fuzz\r\n\r\nbody\r\n.leading dot\r\n";

static const struct smtp_msg_rcpt rcpts[] = {
	{ "one@site.example", DSN_NOTIFY_FAILURE, "rfc822;one@site.example" },
	{ "two@site.example", 0, NULL },
};

static const struct smtp_client_params params = {
	.helo_name = "mx.example",
	.peer_name = "site.example",
	.tls = SMTP_CLIENT_TLS_NONE,
	.timeouts = { 1000, 1000, 1000, 1000, 1000 },
};

struct run {
	struct ev_loop *loop;
	struct smtp_client *cl;
	struct smtp_msg msg;
	bool sending;
	int sent;
	int content_fd;
};

/* check_results - what DONE promises about each recipient's result */
static void
check_results(const struct smtp_msg *msg)
{
	size_t i;

	for (i = 0; i < msg->nrcpt; i++) {
		const struct smtp_rcpt_result *r = &msg->result[i];

		FUZZ_CHECK(r->code == 0 || (r->code >= 200 && r->code <= 559));
		FUZZ_CHECK(r->reply != NULL &&
		    strlen(r->reply) < SMTP_CLIENT_REPLY_MAX + 64);
		FUZZ_CHECK(isdigit((unsigned char)r->dsn[0]) && r->dsn[1] == '.');
	}
}

/* send_next - the next message, or QUIT after FUZZ_MESSAGES */
static void
send_next(struct run *r)
{
	if (r->sent == FUZZ_MESSAGES) {
		smtp_client_quit(r->cl);
		return;
	}
	r->sent++;
	if (lseek(r->content_fd, 0, SEEK_SET) < 0)
		log_panic("lseek: %s", strerror(errno));
	memset(&r->msg, 0, sizeof(r->msg));
	r->msg.sender = r->sent == 1 ? "sender@origin.example" : "";
	r->msg.ret = DSN_RET_HDRS;
	r->msg.envid = "fuzz envid";
	r->msg.nrcpt = sizeof(rcpts) / sizeof(rcpts[0]);
	r->msg.rcpt = rcpts;
	r->msg.content_fd = r->content_fd;
	r->msg.content_len = sizeof(content) - 1;
	FUZZ_CHECK(smtp_client_send(r->cl, &r->msg) == 0);
	r->sending = true;
}

/* client_event - the engine's events: drive the session to its end */
static void
client_event(struct smtp_client *cl, enum smtp_client_event ev, void *ctx)
{
	struct run *r = ctx;
	const char *text;

	switch (ev) {
	case SMTP_CLIENT_READY:
		FUZZ_CHECK(smtp_client_idle(cl));
		send_next(r);
		return;
	case SMTP_CLIENT_DONE:
		FUZZ_CHECK(r->sending);
		check_results(&r->msg);
		smtp_msg_clear(&r->msg);
		r->sending = false;
		send_next(r);
		return;
	case SMTP_CLIENT_FAILED:
		FUZZ_CHECK(smtp_client_failure(cl, &text) != SMTP_FAIL_NONE);
		FUZZ_CHECK(text != NULL && *text != '\0');
		if (r->sending)
			check_results(&r->msg);
		ev_stop(r->loop);
		return;
	case SMTP_CLIENT_CLOSED:
		ev_stop(r->loop);
		return;
	}
}

/* holder_io - the stream's owner forwards its events to the engine */
static void
holder_io(struct stream *st, unsigned events, void *ctx)
{
	struct run *r = ctx;

	if (r->cl != NULL)
		smtp_client_stream_io(st, events, r->cl);
}

/* server_io - the server's side reads and forgets the client's commands */
static void
server_io(int fd, unsigned events, void *ctx)
{
	char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* guard_fire - a session that neither ends nor times out is a hang */
static void
guard_fire(void *ctx)
{
	fuzz_fail(__FILE__, __LINE__, "session still running after 5 s");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run r;
	struct ev_timer *guard;
	struct stream *st;
	int sp[2];

	if (size > FUZZ_REPLY_MAX)
		return 0;
	memset(&r, 0, sizeof(r));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		log_panic("socketpair: %s", strerror(errno));
	if ((r.content_fd = memfd_create("content", MFD_CLOEXEC)) < 0 ||
	    write(r.content_fd, content, sizeof(content) - 1) !=
	    (ssize_t)sizeof(content) - 1)
		log_panic("memfd: %s", strerror(errno));
	if (size > 0 && write(sp[0], data, size) != (ssize_t)size)
		log_panic("write the server's side: %s", strerror(errno));
	shutdown(sp[0], SHUT_WR);
	fcntl(sp[0], F_SETFL, O_NONBLOCK);
	r.loop = ev_loop_new();
	ev_io_add(r.loop, sp[0], EV_READ, server_io, &r);
	st = stream_new(r.loop, sp[1], holder_io, &r);
	r.cl = smtp_client_adopt(r.loop, st, true, true, &params, client_event, &r);
	guard = ev_timer_add(r.loop, 5000, guard_fire, NULL);
	ev_run(r.loop);
	ev_timer_cancel(r.loop, &guard);
	smtp_client_free(&r.cl);
	if (r.sending)
		smtp_msg_clear(&r.msg);
	ev_io_del(r.loop, sp[0]);
	close(sp[0]);
	close(r.content_fd);
	ev_loop_free(&r.loop);
	return 0;
}
