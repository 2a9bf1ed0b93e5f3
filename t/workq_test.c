/*
 * workq_test - lib/util/workq: jobs run in workers, done() in the loop,
 * every worker busy at once, drain and free at shutdown, signals kept
 * away from the workers.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "t/tap.h"
#include "util/events.h"
#include "util/workq.h"
#include "util/xmalloc.h"

/* Shared by the jobs of one test; the counters under mu. */
struct board {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned running, max_running, ran, wait_for;
	unsigned done, want_done;
	unsigned bad_thread;   /* done() called outside the loop thread */
	unsigned order_bad;    /* done() of one job before its run() */
	unsigned sigterm_open; /* a worker could take SIGTERM */
	pthread_t loop_thread;
	struct ev_loop *loop;
};

struct tjob {
	struct workq_job job; /* first: the job is the tjob */
	struct board *b;
	bool ran;
};

/* tjob_run - count, and wait (bounded) until wait_for jobs run at once */
static void
tjob_run(struct workq_job *job)
{
	struct tjob *t = (struct tjob *)job;
	struct board *b = t->b;
	struct timespec until;
	sigset_t mask;

	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 20; /* a broken pool fails the count, not the run */
	pthread_mutex_lock(&b->mu);
	if (!sigismember(&mask, SIGTERM))
		b->sigterm_open++;
	b->running++;
	if (b->running > b->max_running)
		b->max_running = b->running;
	pthread_cond_broadcast(&b->cv);
	while (b->wait_for > 0 && b->max_running < b->wait_for &&
	       pthread_cond_timedwait(&b->cv, &b->mu, &until) != ETIMEDOUT)
		;
	b->running--;
	b->ran++;
	t->ran = true;
	pthread_mutex_unlock(&b->mu);
}

/* tjob_done - in the loop: count and free; stop the loop at the last */
static void
tjob_done(struct workq_job *job)
{
	struct tjob *t = (struct tjob *)job;
	struct board *b = t->b;

	if (!pthread_equal(pthread_self(), b->loop_thread))
		b->bad_thread++;
	pthread_mutex_lock(&b->mu);
	if (!t->ran)
		b->order_bad++;
	pthread_mutex_unlock(&b->mu);
	b->done++;
	free(t);
	if (b->loop != NULL && b->done == b->want_done)
		ev_stop(b->loop);
}

static void
board_init(
    struct board *b, struct ev_loop *loop, unsigned wait_for, unsigned want)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	b->loop_thread = pthread_self();
	b->loop = loop;
	b->wait_for = wait_for;
	b->want_done = want;
}

static void
board_clear(struct board *b)
{
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
}

static void
submit(struct workq *wq, struct board *b, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		struct tjob *t = xcalloc(1, sizeof(*t));

		t->job.run = tjob_run;
		t->job.done = tjob_done;
		t->b = b;
		workq_submit(wq, &t->job);
	}
}

/* timeout_fire - the loop ran too long: stop it so the counts fail */
static void
timeout_fire(void *ctx)
{
	ev_stop(ctx);
}

/* Many jobs through a few workers: each runs once, done() in the loop. */
static void
test_many(void)
{
	struct ev_loop *loop = ev_loop_new();
	struct workq *wq = workq_new(loop, 3);
	struct ev_timer *guard;
	struct board b;

	board_init(&b, loop, 0, 200);
	submit(wq, &b, 200);
	ok(workq_pending(wq) == 200, "pending after submit: got %zu, want 200",
	    workq_pending(wq));
	guard = ev_timer_add(loop, 30000, timeout_fire, loop);
	ev_run(loop);
	ev_timer_cancel(loop, &guard);
	ok(b.ran == 200, "jobs run: got %u, want 200", b.ran);
	ok(b.done == 200, "done() called: got %u, want 200", b.done);
	ok(workq_pending(wq) == 0, "pending at the end: got %zu, want 0",
	    workq_pending(wq));
	ok(b.bad_thread == 0, "done() outside the loop thread: got %u, want 0",
	    b.bad_thread);
	ok(b.order_bad == 0, "done() before run(): got %u, want 0",
	    b.order_bad);
	ok(b.sigterm_open == 0,
	    "workers that could take SIGTERM: got %u, want 0", b.sigterm_open);
	ok(workq_threads(wq) == 3, "threads: got %u, want 3",
	    workq_threads(wq));
	workq_free(&wq);
	ok(wq == NULL, "workq_free clears the pointer");
	ev_loop_free(&loop);
	board_clear(&b);
}

/* As many jobs as workers, each waiting for the others: all run at once. */
static void
test_overlap(void)
{
	struct ev_loop *loop = ev_loop_new();
	struct workq *wq = workq_new(loop, 4);
	struct ev_timer *guard;
	struct board b;

	board_init(&b, loop, 4, 8);
	submit(wq, &b, 8);
	guard = ev_timer_add(loop, 30000, timeout_fire, loop);
	ev_run(loop);
	ev_timer_cancel(loop, &guard);
	ok(b.max_running == 4,
	    "jobs running at once with 4 workers: got %u, want 4",
	    b.max_running);
	ok(b.done == 8, "done() called: got %u, want 8", b.done);
	workq_free(&wq);
	ev_loop_free(&loop);
	board_clear(&b);
}

/* Shutdown with jobs outstanding: free waits and calls every done(). */
static void
test_free_drains(void)
{
	struct ev_loop *loop = ev_loop_new();
	struct workq *wq = workq_new(loop, 2);
	struct board b;

	board_init(&b, NULL, 0, 50);
	submit(wq, &b, 50);
	workq_drain(wq);
	ok(b.done == 50 && b.ran == 50,
	    "drain without the loop: done %u, ran %u, want 50", b.done, b.ran);
	submit(wq, &b, 7);
	workq_free(&wq);
	ok(b.done == 57 && b.ran == 57,
	    "free with jobs queued: done %u, ran %u, want 57", b.done, b.ran);
	ok(b.bad_thread == 0, "done() outside the loop thread: got %u, want 0",
	    b.bad_thread);
	ev_loop_free(&loop);
	board_clear(&b);
}

int
main(void)
{
	test_many();
	test_overlap();
	test_free_drains();
	return tap_done();
}
