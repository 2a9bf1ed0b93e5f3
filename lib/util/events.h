/*
 * events - a single-threaded epoll event loop with timers and signals.
 *
 * One loop per process. File descriptors are watched for readability and
 * writability with one callback each; timers are one-shot and cancellable;
 * signals arrive through signalfd as ordinary callbacks, so handlers run
 * in the loop and may do anything. Callbacks may add and delete watches
 * and timers (including their own) freely.
 *
 * Time is CLOCK_MONOTONIC milliseconds (ev_now()).
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_EVENTS_H
#define SLUICE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EV_READ  0x1u
#define EV_WRITE 0x2u
/* Reported only: the peer hung up or the descriptor is in error. */
#define EV_ERROR 0x4u

struct ev_loop;
struct ev_timer;

typedef void ev_io_fn(int fd, unsigned events, void *ctx);
typedef void ev_timer_fn(void *ctx);
typedef void ev_signal_fn(int signo, void *ctx);

/* ev_loop_new - create the loop; fatal on failure */
struct ev_loop *ev_loop_new(void);
/* ev_loop_free - free the loop (watched fds are not closed) */
void ev_loop_free(struct ev_loop **loopp);

/* ev_io_add - watch fd for events (EV_READ|EV_WRITE); 0/-1 */
int ev_io_add(struct ev_loop *loop, int fd, unsigned events, ev_io_fn *fn, void *ctx);
/* ev_io_mod - change the events watched on fd; 0/-1 */
int ev_io_mod(struct ev_loop *loop, int fd, unsigned events);
/* ev_io_del - stop watching fd (call before close) */
void ev_io_del(struct ev_loop *loop, int fd);

/* ev_timer_add - call fn(ctx) once after ms milliseconds */
struct ev_timer *ev_timer_add(struct ev_loop *loop, uint64_t ms, ev_timer_fn *fn, void *ctx);
/* ev_timer_cancel - cancel *tp if still pending and set *tp to NULL */
void ev_timer_cancel(struct ev_loop *loop, struct ev_timer **tp);
/* ev_timer_count - how many timers are pending (for status and tests) */
size_t ev_timer_count(const struct ev_loop *loop);

/* ev_signal_add - deliver signo through the loop (blocks it otherwise) */
int ev_signal_add(struct ev_loop *loop, int signo, ev_signal_fn *fn, void *ctx);

/* ev_now - monotonic milliseconds */
uint64_t ev_now(void);

/* ev_run - run until ev_stop(); 0, or -1 on epoll failure */
int ev_run(struct ev_loop *loop);
/* ev_stop - make ev_run() return after the current callback */
void ev_stop(struct ev_loop *loop);

#endif
