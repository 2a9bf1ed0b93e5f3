/*
 * workq - a small pool of worker threads for blocking system calls,
 * with completions delivered in the event loop.
 *
 * The event loop (util/events.h) must never wait on the disk: one
 * fsync there makes every other session wait in line. A job's run()
 * goes to one of N worker threads; its done() is then called in the
 * loop thread, in the order the jobs finished, from an eventfd the loop
 * watches.
 *
 * Contract for run(): it executes in a worker thread while the loop
 * runs on. It may only make system calls on what the job owns and
 * store their results (an errno) in the job: no logging, no touching
 * of anything the loop also uses, no allocation that the loop frees
 * meanwhile. Everything else happens in done(), back in the loop.
 *
 * A submitted job belongs to the queue until its done() is called;
 * the caller keeps the memory alive until then (done() may free it).
 * workq_drain() and workq_free() wait for every submitted job and call
 * the outstanding done()s, so a shutdown never leaves a worker running
 * on freed memory.
 *
 * Workers block every signal: signals are the loop's (signalfd).
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_WORKQ_H
#define SLUICE_WORKQ_H

#include <stddef.h>

#include "util/events.h"

struct workq;

struct workq_job {
	/* run - in a worker thread: system calls only (see above) */
	void (*run)(struct workq_job *job);
	/* done - in the loop thread, once run() has returned */
	void (*done)(struct workq_job *job);
	struct workq_job *next; /* the queue's: leave it alone */
};

/* workq_new - nthreads (>= 1) workers, completions in loop; fatal on failure */
struct workq *workq_new(struct ev_loop *loop, unsigned nthreads);
/* workq_submit - hand job (run and done set) to a worker */
void workq_submit(struct workq *wq, struct workq_job *job);
/* workq_pending - jobs submitted whose done() has not been called yet */
size_t workq_pending(const struct workq *wq);
/* workq_threads - how many workers run */
unsigned workq_threads(const struct workq *wq);
/* workq_drain - wait for every submitted job and call its done() */
void workq_drain(struct workq *wq);
/* workq_free - drain, stop and join the workers, free; *wqp = NULL */
void workq_free(struct workq **wqp);

#endif
