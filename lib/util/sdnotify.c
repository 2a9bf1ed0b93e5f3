/*
 * sdnotify - the service manager's notification socket, without libsystemd
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/sdnotify.h"

/* The longest state we send: a few lines, far below a datagram's limit. */
#define SDNOTIFY_MAX 1024

bool
sdnotify_enabled(void)
{
	const char *env = getenv("NOTIFY_SOCKET");

	return env != NULL && env[0] != '\0';
}

/* sdnotify_addr - $NOTIFY_SOCKET as an address; its length, or 0 */
static socklen_t
sdnotify_addr(const char *env, struct sockaddr_un *sun)
{
	size_t len = strlen(env);

	/* systemd names a path or an abstract socket; nothing else. */
	if ((env[0] != '/' && env[0] != '@') || len < 2 ||
	    len >= sizeof(sun->sun_path))
		return 0;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, env, len);
	if (env[0] == '@')
		sun->sun_path[0] = '\0';
	/* An abstract name is exactly len bytes: no terminating NUL counts. */
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
	                   (env[0] == '/'));
}

int
sdnotify(const char *state)
{
	const char *env = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	ssize_t n;
	int fd, saved;

	if (env == NULL || env[0] == '\0')
		return 0;
	if ((len = sdnotify_addr(env, &sun)) == 0) {
		errno = EINVAL;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	/* MSG_DONTWAIT as well: never wait for a manager that does not read. */
	n = sendto(fd, state, strlen(state), MSG_DONTWAIT | MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len);
	saved = errno;
	(void)close(fd);
	if (n < 0 || (size_t)n != strlen(state)) {
		errno = n < 0 ? saved : EMSGSIZE;
		return -1;
	}
	return 0;
}

int
sdnotifyf(const char *fmt, ...)
{
	char buf[SDNOTIFY_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		errno = EMSGSIZE;
		return -1;
	}
	return sdnotify(buf);
}
