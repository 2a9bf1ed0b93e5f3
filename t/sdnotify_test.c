/*
 * sdnotify_test - util/sdnotify: the datagram a service manager reads
 *
 * Each case binds the socket a manager would (a path, or an abstract
 * name), points $NOTIFY_SOCKET at it and reads what sdnotify() sent.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/sdnotify.h"
#include "tap.h"
#include "testutil.h"

static char dir[] = "/tmp/sluice-sdnotify-test.XXXXXX";

/* manager_bind - a datagram socket at name ("@x": abstract); fd */
static int
manager_bind(const char *name)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	socklen_t len =
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memcpy(sun.sun_path, name, strlen(name));
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	else
		len++;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, len) < 0) {
		printf("Bail out! bind %s: %s\n", name, strerror(errno));
		exit(1);
	}
	return fd;
}

/* manager_read - the next datagram without waiting, as a string ("" if none) */
static void
manager_read(int fd, char *buf, size_t size)
{
	ssize_t n = recv(fd, buf, size - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
}

int
main(void)
{
	static const char *const states[] = {
	    "READY=1\nMAINPID=4242",
	    "RELOADING=1",
	    "STATUS=3 messages, 1 held, 0 gates open",
	    "STOPPING=1",
	};
	char path[200], abstract[64], buf[2048];
	size_t i;
	int fd, ret, err;

	test_tmpdir(dir);

	/* No manager: nothing sent, nothing fails. */
	unsetenv("NOTIFY_SOCKET");
	ok(!sdnotify_enabled(), "NOTIFY_SOCKET unset: not enabled");
	ok(sdnotify("READY=1") == 0,
	    "NOTIFY_SOCKET unset: sdnotify is a silent no-op");
	setenv("NOTIFY_SOCKET", "", 1);
	ok(sdnotify("READY=1") == 0, "NOTIFY_SOCKET empty: a silent no-op");

	/* A path socket: every state arrives whole, as one datagram. */
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = manager_bind(path);
	setenv("NOTIFY_SOCKET", path, 1);
	ok(sdnotify_enabled(), "NOTIFY_SOCKET=%s: enabled", path);
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		char *got, *want;

		ret = sdnotify(states[i]);
		manager_read(fd, buf, sizeof(buf));
		got = test_esc(buf);
		want = test_esc(states[i]);
		ok(ret == 0 && strcmp(buf, states[i]) == 0,
		    "path socket: got \"%s\" (%d), want \"%s\"", got, ret,
		    want);
		free(got);
		free(want);
	}
	ret = sdnotifyf("STATUS=%d messages", 7);
	manager_read(fd, buf, sizeof(buf));
	ok(ret == 0 && strcmp(buf, "STATUS=7 messages") == 0,
	    "sdnotifyf: got \"%s\", want \"STATUS=7 messages\"", buf);
	close(fd);

	/* An abstract socket, as systemd may name one: "@" for the NUL. */
	snprintf(abstract, sizeof(abstract), "@sluice-sdnotify-test-%ld",
	    (long)getpid());
	fd = manager_bind(abstract);
	setenv("NOTIFY_SOCKET", abstract, 1);
	ret = sdnotify("READY=1");
	manager_read(fd, buf, sizeof(buf));
	ok(ret == 0 && strcmp(buf, "READY=1") == 0,
	    "abstract socket %s: got \"%s\", want READY=1", abstract, buf);
	close(fd);

	/* A manager that went away: an error to report, never a hang or a
	 * signal. */
	setenv("NOTIFY_SOCKET", path, 1);
	unlink(path);
	ret = sdnotify("READY=1");
	err = errno;
	ok(ret == -1 && err == ENOENT,
	    "vanished socket: got %d with %s, want -1 with ENOENT", ret,
	    strerror(err));

	/* Not an address systemd would give: refused, not sent elsewhere. */
	setenv("NOTIFY_SOCKET", "relative/notify", 1);
	ret = sdnotify("READY=1");
	err = errno;
	ok(ret == -1 && err == EINVAL,
	    "relative NOTIFY_SOCKET: got %d with %s, want -1 with EINVAL", ret,
	    strerror(err));
	memset(buf, 'x', sizeof(buf) - 1);
	buf[0] = '/';
	buf[sizeof(buf) - 1] = '\0';
	setenv("NOTIFY_SOCKET", buf, 1);
	ret = sdnotify("READY=1");
	err = errno;
	ok(ret == -1 && err == EINVAL,
	    "NOTIFY_SOCKET longer than sun_path: got %d with %s, want -1 with "
	    "EINVAL",
	    ret, strerror(err));

	/* A full socket: the send fails at once (the loop goes on). */
	fd = manager_bind(path);
	setenv("NOTIFY_SOCKET", path, 1);
	for (i = 0, ret = 0; i < 100000 && ret == 0; i++)
		ret = sdnotify("STATUS=filling the manager's socket");
	err = errno;
	ok(ret == -1 && err == EAGAIN,
	    "unread socket: got %d with %s after %zu sends, want EAGAIN", ret,
	    strerror(err), i);
	close(fd);

	test_rmdir(dir);
	return tap_done();
}
