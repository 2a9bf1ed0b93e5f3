/*
 * stream_test - the deadlines of util/stream.h over a socketpair, one
 * case per table row: a peer trickles octets on a timer while the
 * stream's owner records the events it gets. Which events arrive is
 * asserted, never how long anything took. And stream_read, the raw
 * read of a relay.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/events.h"
#include "util/log.h"
#include "util/stream.h"
#include "tap.h"

struct deadline_case {
	const char *name;
	const char *text;	/* what the peer sends, one octet per tick */
	uint64_t tick_ms;	/* between octets */
	uint64_t idle_ms;	/* stream_set_timeout, 0 none */
	uint64_t line_ms;	/* stream_set_line_deadline, 0 none */
	uint64_t dl_ms;		/* stream_set_deadline from now, 0 none */
	bool cancel;		/* set the deadlines, then cancel them */
	bool take_lines;	/* does the owner read the lines it gets? */
	unsigned want;		/* the STREAM_EV_* deadline bits expected */
};

static const struct deadline_case cases[] = {
	/* An octet every 20ms: never idle for 300ms, a line never ends. */
	{ "trickled line, line deadline", "EHLO xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	  20, 300, 100, 0, false, true, STREAM_EV_LINE_DEADLINE },
	/* Whole lines, quickly: only the absolute deadline can end it. */
	{ "whole lines, session deadline", "N\nN\nN\nN\nN\nN\nN\nN\nN\nN\nN\nN\nN\nN\nN\nN\nN\nN\nN\nN\nN\nN\nN\nN\nN\nN\nN\nN\nN\nN\n",
	  10, 300, 100, 150, false, true, STREAM_EV_DEADLINE },
	/* A whole line the owner has not taken is its own wait, not the peer's. */
	{ "whole line not taken", "HELLO\r\n", 1, 0, 50, 0, false, false, 0 },
	{ "cancelled deadlines", "EHLO xxxxxxxxxxxxxxxxxxxxxxxx", 10, 0, 50, 50, true, true, 0 },
};

struct run {
	const struct deadline_case *c;
	struct ev_loop *loop;
	struct stream *st;
	int peer;
	size_t sent;
	struct ev_timer *tick, *stop;
	unsigned got;
};

/* owner - record deadline events; take lines if the case says so */
static void
owner(struct stream *st, unsigned events, void *ctx)
{
	struct run *r = ctx;
	const char *line;
	size_t len;

	r->got |= events & (STREAM_EV_DEADLINE | STREAM_EV_LINE_DEADLINE |
	    STREAM_EV_TIMEOUT);
	if (events & (STREAM_EV_DEADLINE | STREAM_EV_LINE_DEADLINE |
	    STREAM_EV_TIMEOUT)) {
		ev_stop(r->loop);
		return;
	}
	while (r->c->take_lines && stream_read_line(st, 512, &line, &len) != 0)
		;
}

/* tick - the peer sends its next octet */
static void
tick(void *ctx)
{
	struct run *r = ctx;

	r->tick = NULL;
	if (r->sent < strlen(r->c->text)) {
		(void)write(r->peer, r->c->text + r->sent, 1);
		r->sent++;
	}
	r->tick = ev_timer_add(r->loop, r->c->tick_ms, tick, r);
}

/* stop - the case is over (the peer has sent all, and then some time) */
static void
stop(void *ctx)
{
	struct run *r = ctx;

	r->stop = NULL;
	ev_stop(r->loop);
}

/* raw_owner - stop the loop at the first input or end */
static void
raw_owner(struct stream *st, unsigned events, void *ctx)
{
	struct ev_loop *loop = ctx;

	(void)st;
	if (events & (STREAM_EV_READ | STREAM_EV_EOF | STREAM_EV_ERROR))
		ev_stop(loop);
}

/*
 * raw_read_test - stream_read hands out octets as they came, NULs and
 * all, no more than asked, and leaves the rest for the next call.
 */
static void
raw_read_test(void)
{
	static const char sent[] = "GET /\0x\r\nrest";
	struct ev_loop *loop = ev_loop_new();
	char buf[8] = { 0 };
	struct stream *st;
	size_t n;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		perror("socketpair");
		return;
	}
	st = stream_new(loop, sv[0], raw_owner, loop);
	ok(write(sv[1], sent, sizeof(sent) - 1) == (ssize_t)sizeof(sent) - 1,
	    "raw: peer wrote %zu octets", sizeof(sent) - 1);
	(void)ev_run(loop);
	ok(stream_buffered(st) == sizeof(sent) - 1, "raw: got %zu buffered, "
	    "want %zu", stream_buffered(st), sizeof(sent) - 1);
	n = stream_read(st, buf, 6);
	ok(n == 6 && memcmp(buf, sent, 6) == 0, "raw: first 6 octets with "
	    "the NUL (got %zu)", n);
	n = stream_read(st, buf, sizeof(buf));
	ok(n == 7 && memcmp(buf, sent + 6, 7) == 0, "raw: the other 7, asked "
	    "for 8 (got %zu)", n);
	ok(stream_read(st, buf, sizeof(buf)) == 0 && stream_buffered(st) == 0,
	    "raw: nothing left");
	stream_free(&st);
	(void)close(sv[1]);
	ev_loop_free(&loop);
}

int
main(void)
{
	size_t i;

	log_init("stream_test");
	raw_read_test();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct deadline_case *c = &cases[i];
		struct run r = { .c = c };
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
			perror("socketpair");
			return 1;
		}
		r.loop = ev_loop_new();
		r.peer = sv[1];
		r.st = stream_new(r.loop, sv[0], owner, &r);
		if (c->idle_ms)
			stream_set_timeout(r.st, c->idle_ms);
		if (c->line_ms)
			stream_set_line_deadline(r.st, c->line_ms);
		if (c->dl_ms)
			stream_set_deadline(r.st, ev_now() + c->dl_ms);
		if (c->cancel) {
			stream_set_line_deadline(r.st, 0);
			stream_set_deadline(r.st, 0);
		}
		r.tick = ev_timer_add(r.loop, c->tick_ms, tick, &r);
		/* Long enough to send everything and wait as long again. */
		r.stop = ev_timer_add(r.loop, 2 * c->tick_ms * strlen(c->text) + 200,
		    stop, &r);
		(void)ev_run(r.loop);
		ok(r.got == c->want, "%s: got events 0x%x, want 0x%x", c->name,
		    r.got, c->want);
		if (c->want != 0)
			ok(r.sent < strlen(c->text), "%s: cut before the peer "
			    "finished (%zu of %zu octets)", c->name, r.sent,
			    strlen(c->text));
		ev_timer_cancel(r.loop, &r.tick);
		ev_timer_cancel(r.loop, &r.stop);
		stream_free(&r.st);
		(void)close(r.peer);
		ev_loop_free(&r.loop);
	}
	return tap_done();
}
