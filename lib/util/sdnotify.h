/*
 * sdnotify - tell the service manager (systemd, Type=notify) our state.
 *
 *	sdnotify("READY=1\nMAINPID=1234\nSTATUS=3 messages, 0 held");
 *
 * The protocol is one datagram of "NAME=value" lines, sent to the
 * AF_UNIX SOCK_DGRAM socket named by $NOTIFY_SOCKET: a path, or an
 * abstract name written with a leading "@". We write it here rather
 * than link libsystemd (sd_notify(3) is these few lines). When
 * $NOTIFY_SOCKET is unset nothing is sent and nothing fails: sluice runs
 * the same under systemd, another supervisor or none. A send never
 * blocks: a manager that does not read loses the message, not our loop.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_SDNOTIFY_H
#define SLUICE_SDNOTIFY_H

#include <stdbool.h>

/* sdnotify_enabled - does a service manager listen ($NOTIFY_SOCKET set)? */
bool sdnotify_enabled(void);

/*
 * sdnotify - send state (newline-separated NAME=value lines) to
 * $NOTIFY_SOCKET. 0 sent, or nothing to do ($NOTIFY_SOCKET unset);
 * -1 with errno (EINVAL: $NOTIFY_SOCKET is neither an absolute path nor
 * "@name", or too long; EAGAIN: the manager's socket is full).
 */
int sdnotify(const char *state);

/* sdnotifyf - sdnotify() of a formatted state */
int sdnotifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
