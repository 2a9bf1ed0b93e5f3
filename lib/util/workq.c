/*
 * workq - worker threads for blocking system calls (see workq.h)
 *
 * One mutex guards two singly linked FIFO lists: jobs waiting for a
 * worker and jobs finished. A worker takes the oldest waiting job,
 * runs it unlocked, appends it to the finished list and, when that list
 * was empty, writes the eventfd; the loop's callback then takes the
 * whole finished list at once and calls each done(). The loop thread
 * never waits on the mutex for longer than a list operation.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/events.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xmalloc.h"

/* A FIFO of jobs through their next pointers. */
struct workq_list {
	struct workq_job *head, *tail;
};

struct workq {
	struct ev_loop *loop;
	int efd; /* eventfd: "the finished list is not empty" */
	pthread_mutex_t mu;
	pthread_cond_t work_cv;       /* workers: a job waits, or stop */
	pthread_cond_t done_cv;       /* workq_drain: a job finished */
	struct workq_list todo, done; /* under mu */
	bool stop;                    /* under mu */
	size_t pending; /* the loop's: submitted, done() not yet called */
	unsigned nthreads;
	pthread_t *threads;
};

/* workq_list_add - append job to l */
static void
workq_list_add(struct workq_list *l, struct workq_job *job)
{
	job->next = NULL;
	if (l->tail != NULL)
		l->tail->next = job;
	else
		l->head = job;
	l->tail = job;
}

/* workq_list_take - the oldest job of l, or NULL */
static struct workq_job *
workq_list_take(struct workq_list *l)
{
	struct workq_job *job = l->head;

	if (job != NULL) {
		l->head = job->next;
		if (l->head == NULL)
			l->tail = NULL;
		job->next = NULL;
	}
	return job;
}

/* workq_worker - one thread: run jobs until told to stop */
static void *
workq_worker(void *arg)
{
	struct workq *wq = arg;
	struct workq_job *job;
	uint64_t one = 1;
	bool wake;

	pthread_mutex_lock(&wq->mu);
	for (;;) {
		while (wq->todo.head == NULL && !wq->stop)
			pthread_cond_wait(&wq->work_cv, &wq->mu);
		if ((job = workq_list_take(&wq->todo)) == NULL)
			break; /* stopping, and nothing is left to run */
		pthread_mutex_unlock(&wq->mu);
		job->run(job);
		pthread_mutex_lock(&wq->mu);
		wake = wq->done.head == NULL;
		workq_list_add(&wq->done, job);
		pthread_cond_signal(&wq->done_cv);
		/*
		 * One wake-up per batch: the loop takes the whole list. A
		 * failed write can only be EAGAIN (the counter is full),
		 * which still leaves the eventfd readable.
		 */
		if (wake)
			(void)!write(wq->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&wq->mu);
	return NULL;
}

/* workq_complete - call done() for every finished job; how many */
static size_t
workq_complete(struct workq *wq)
{
	struct workq_list l;
	struct workq_job *job;
	size_t n = 0;

	pthread_mutex_lock(&wq->mu);
	l = wq->done;
	wq->done.head = wq->done.tail = NULL;
	pthread_mutex_unlock(&wq->mu);
	while ((job = workq_list_take(&l)) != NULL) {
		wq->pending--;
		n++;
		job->done(job);
	}
	return n;
}

/* workq_event - the eventfd is readable: jobs finished */
static void
workq_event(int fd, unsigned events, void *ctx)
{
	struct workq *wq = ctx;
	uint64_t n;

	(void)events;
	(void)!read(fd, &n, sizeof(n));
	(void)workq_complete(wq);
}

struct workq *
workq_new(struct ev_loop *loop, unsigned nthreads)
{
	struct workq *wq = xcalloc(1, sizeof(*wq));
	sigset_t all, old;
	unsigned i;
	int err;

	if (nthreads < 1)
		log_panic("workq_new: %u threads", nthreads);
	wq->loop = loop;
	if ((wq->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		log_fatal(
		    "create eventfd for worker threads: %s", strerror(errno));
	if (ev_io_add(loop, wq->efd, EV_READ, workq_event, wq) < 0)
		log_fatal(
		    "watch eventfd for worker threads: %s", strerror(errno));
	pthread_mutex_init(&wq->mu, NULL);
	pthread_cond_init(&wq->work_cv, NULL);
	pthread_cond_init(&wq->done_cv, NULL);
	wq->threads = xcalloc(nthreads, sizeof(*wq->threads));
	/* Threads inherit the mask: signals must reach the loop's signalfd
	 * only. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < nthreads; i++) {
		if ((err = pthread_create(
		         &wq->threads[i], NULL, workq_worker, wq)) != 0)
			log_fatal("start worker thread %u of %u: %s", i + 1,
			    nthreads, strerror(err));
		wq->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return wq;
}

void
workq_submit(struct workq *wq, struct workq_job *job)
{
	if (job->run == NULL || job->done == NULL)
		log_panic("workq_submit: job without run or done");
	wq->pending++;
	pthread_mutex_lock(&wq->mu);
	workq_list_add(&wq->todo, job);
	pthread_cond_signal(&wq->work_cv);
	pthread_mutex_unlock(&wq->mu);
}

size_t
workq_pending(const struct workq *wq)
{
	return wq->pending;
}

unsigned
workq_threads(const struct workq *wq)
{
	return wq->nthreads;
}

void
workq_drain(struct workq *wq)
{
	/* A done() may submit again: loop until nothing is outstanding. */
	while (wq->pending > 0) {
		pthread_mutex_lock(&wq->mu);
		while (wq->done.head == NULL)
			pthread_cond_wait(&wq->done_cv, &wq->mu);
		pthread_mutex_unlock(&wq->mu);
		(void)workq_complete(wq);
	}
}

void
workq_free(struct workq **wqp)
{
	struct workq *wq = *wqp;
	unsigned i;

	if (wq == NULL)
		return;
	*wqp = NULL;
	workq_drain(wq);
	pthread_mutex_lock(&wq->mu);
	wq->stop = true;
	pthread_cond_broadcast(&wq->work_cv);
	pthread_mutex_unlock(&wq->mu);
	for (i = 0; i < wq->nthreads; i++)
		pthread_join(wq->threads[i], NULL);
	ev_io_del(wq->loop, wq->efd);
	close(wq->efd);
	pthread_cond_destroy(&wq->done_cv);
	pthread_cond_destroy(&wq->work_cv);
	pthread_mutex_destroy(&wq->mu);
	free(wq->threads);
	free(wq);
}
