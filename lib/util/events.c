/*
 * events - epoll event loop with a timer heap and signalfd
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "util/events.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct ev_io {
	ev_io_fn *fn;
	void *ctx;
	unsigned events;
	bool used;
};

struct ev_timer {
	uint64_t when;
	uint64_t seq;		/* ties fire in the order they were added */
	ev_timer_fn *fn;
	void *ctx;
	size_t slot;		/* position in the heap */
};

struct ev_sig {
	int signo;
	ev_signal_fn *fn;
	void *ctx;
};

struct ev_loop {
	int epfd;
	struct ev_io *io;	/* indexed by fd */
	size_t io_len;
	struct ev_timer **heap;
	size_t heap_len, heap_cap;
	uint64_t seq;
	int sigfd;
	sigset_t sigmask;
	struct ev_sig sigs[16];
	size_t nsigs;
	bool stop;
};

uint64_t
ev_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct ev_loop *
ev_loop_new(void)
{
	struct ev_loop *loop = xcalloc(1, sizeof(*loop));

	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		log_fatal("create epoll instance: %s", strerror(errno));
	loop->sigfd = -1;
	sigemptyset(&loop->sigmask);
	return loop;
}

void
ev_loop_free(struct ev_loop **loopp)
{
	struct ev_loop *loop = *loopp;
	size_t i;

	if (loop == NULL)
		return;
	for (i = 0; i < loop->heap_len; i++)
		free(loop->heap[i]);
	free(loop->heap);
	free(loop->io);
	if (loop->sigfd >= 0)
		close(loop->sigfd);
	close(loop->epfd);
	free(loop);
	*loopp = NULL;
}

static uint32_t
ev_epoll_bits(unsigned events)
{
	uint32_t bits = 0;

	if (events & EV_READ)
		bits |= EPOLLIN | EPOLLRDHUP;
	if (events & EV_WRITE)
		bits |= EPOLLOUT;
	return bits;
}

int
ev_io_add(struct ev_loop *loop, int fd, unsigned events, ev_io_fn *fn, void *ctx)
{
	struct epoll_event ev = { .events = ev_epoll_bits(events), .data.fd = fd };

	if (fd < 0)
		log_panic("ev_io_add: bad fd %d", fd);
	if ((size_t)fd >= loop->io_len) {
		size_t len = (size_t)fd + 64;

		loop->io = xreallocarray(loop->io, len, sizeof(*loop->io));
		memset(loop->io + loop->io_len, 0, (len - loop->io_len) * sizeof(*loop->io));
		loop->io_len = len;
	}
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -1;
	loop->io[fd] = (struct ev_io){ .fn = fn, .ctx = ctx, .events = events, .used = true };
	return 0;
}

int
ev_io_mod(struct ev_loop *loop, int fd, unsigned events)
{
	struct epoll_event ev = { .events = ev_epoll_bits(events), .data.fd = fd };

	if (fd < 0 || (size_t)fd >= loop->io_len || !loop->io[fd].used)
		log_panic("ev_io_mod: fd %d not watched", fd);
	if (loop->io[fd].events == events)
		return 0;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -1;
	loop->io[fd].events = events;
	return 0;
}

void
ev_io_del(struct ev_loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->io_len || !loop->io[fd].used)
		return;
	(void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	loop->io[fd].used = false;
}

/* Timer heap: a binary min-heap on (when, seq). */

static bool
ev_timer_before(const struct ev_timer *a, const struct ev_timer *b)
{
	return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void
ev_heap_set(struct ev_loop *loop, size_t i, struct ev_timer *t)
{
	loop->heap[i] = t;
	t->slot = i;
}

static void
ev_heap_up(struct ev_loop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!ev_timer_before(t, loop->heap[parent]))
			break;
		ev_heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	ev_heap_set(loop, i, t);
}

static void
ev_heap_down(struct ev_loop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct ev_timer *best = t;

		if (l < loop->heap_len && ev_timer_before(loop->heap[l], best)) {
			m = l;
			best = loop->heap[l];
		}
		if (r < loop->heap_len && ev_timer_before(loop->heap[r], best))
			m = r;
		if (m == i)
			break;
		ev_heap_set(loop, i, loop->heap[m]);
		i = m;
	}
	ev_heap_set(loop, i, t);
}

static void
ev_heap_remove(struct ev_loop *loop, size_t i)
{
	struct ev_timer *last = loop->heap[--loop->heap_len];

	if (i == loop->heap_len)
		return;
	ev_heap_set(loop, i, last);
	ev_heap_down(loop, i);
	ev_heap_up(loop, last->slot);
}

struct ev_timer *
ev_timer_add(struct ev_loop *loop, uint64_t ms, ev_timer_fn *fn, void *ctx)
{
	struct ev_timer *t = xcalloc(1, sizeof(*t));

	t->when = ev_now() + ms;
	t->seq = loop->seq++;
	t->fn = fn;
	t->ctx = ctx;
	if (loop->heap_len == loop->heap_cap) {
		loop->heap_cap = loop->heap_cap ? 2 * loop->heap_cap : 64;
		loop->heap = xreallocarray(loop->heap, loop->heap_cap, sizeof(*loop->heap));
	}
	ev_heap_set(loop, loop->heap_len++, t);
	ev_heap_up(loop, loop->heap_len - 1);
	return t;
}

size_t
ev_timer_count(const struct ev_loop *loop)
{
	return loop->heap_len;
}

void
ev_timer_cancel(struct ev_loop *loop, struct ev_timer **tp)
{
	struct ev_timer *t = *tp;

	if (t == NULL)
		return;
	if (t->slot >= loop->heap_len || loop->heap[t->slot] != t)
		log_panic("ev_timer_cancel: timer not in heap");
	ev_heap_remove(loop, t->slot);
	free(t);
	*tp = NULL;
}

static void
ev_signal_ready(int fd, unsigned events, void *ctx)
{
	struct ev_loop *loop = ctx;
	struct signalfd_siginfo si;
	size_t i;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		for (i = 0; i < loop->nsigs; i++)
			if (loop->sigs[i].signo == (int)si.ssi_signo)
				loop->sigs[i].fn((int)si.ssi_signo, loop->sigs[i].ctx);
	}
}

int
ev_signal_add(struct ev_loop *loop, int signo, ev_signal_fn *fn, void *ctx)
{
	int fd;

	if (loop->nsigs == sizeof(loop->sigs) / sizeof(loop->sigs[0]))
		log_panic("ev_signal_add: too many signals");
	sigaddset(&loop->sigmask, signo);
	if (sigprocmask(SIG_BLOCK, &loop->sigmask, NULL) < 0)
		return -1;
	fd = signalfd(loop->sigfd, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (loop->sigfd < 0) {
		loop->sigfd = fd;
		if (ev_io_add(loop, fd, EV_READ, ev_signal_ready, loop) < 0)
			return -1;
	}
	loop->sigs[loop->nsigs++] = (struct ev_sig){ .signo = signo, .fn = fn, .ctx = ctx };
	return 0;
}

void
ev_stop(struct ev_loop *loop)
{
	loop->stop = true;
}

static void
ev_run_timers(struct ev_loop *loop)
{
	uint64_t now = ev_now();

	while (loop->heap_len > 0 && loop->heap[0]->when <= now && !loop->stop) {
		struct ev_timer *t = loop->heap[0];
		ev_timer_fn *fn = t->fn;
		void *ctx = t->ctx;

		ev_heap_remove(loop, 0);
		free(t);
		fn(ctx);
	}
}

int
ev_run(struct ev_loop *loop)
{
	struct epoll_event evs[64];

	loop->stop = false;
	while (!loop->stop) {
		int timeout = -1, n, i;

		if (loop->heap_len > 0) {
			uint64_t now = ev_now(), when = loop->heap[0]->when;

			timeout = when <= now ? 0 : (when - now > 3600000 ? 3600000 : (int)(when - now));
		}
		n = epoll_wait(loop->epfd, evs, 64, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (i = 0; i < n && !loop->stop; i++) {
			int fd = evs[i].data.fd;
			unsigned got = 0;
			struct ev_io *io;

			/* An earlier callback in this batch may have removed fd. */
			if ((size_t)fd >= loop->io_len || !loop->io[fd].used)
				continue;
			io = &loop->io[fd];
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
				got |= EV_READ;
			if (evs[i].events & EPOLLOUT)
				got |= EV_WRITE;
			if (evs[i].events & (EPOLLERR | EPOLLHUP))
				got |= EV_ERROR;
			got &= io->events | EV_ERROR;
			if (got != 0)
				io->fn(fd, got, io->ctx);
		}
		ev_run_timers(loop);
	}
	return 0;
}
