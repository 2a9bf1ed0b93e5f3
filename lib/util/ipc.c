/*
 * ipc - encode, decode, send and receive records between our processes
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"

static bool
ipc_name_ok(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len > IPC_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

struct ipc_rec *
ipc_rec_new(const char *type)
{
	struct ipc_rec *rec = xcalloc(1, sizeof(*rec));

	ipc_rec_add(rec, "type", type);
	return rec;
}

void
ipc_rec_free(struct ipc_rec **recp)
{
	struct ipc_rec *rec = *recp;
	size_t i;

	if (rec == NULL)
		return;
	for (i = 0; i < rec->n; i++) {
		free(rec->f[i].name);
		free(rec->f[i].value);
	}
	free(rec->f);
	free(rec);
	*recp = NULL;
}

static void
ipc_rec_push(struct ipc_rec *rec, char *name, char *value)
{
	if (rec->n % 16 == 0)
		rec->f = xreallocarray(rec->f, rec->n + 16, sizeof(*rec->f));
	rec->f[rec->n].name = name;
	rec->f[rec->n].value = value;
	rec->n++;
}

void
ipc_rec_add(struct ipc_rec *rec, const char *name, const char *value)
{
	if (!ipc_name_ok(name, strlen(name)))
		log_panic("ipc_rec_add: bad field name \"%s\"", name);
	if (strlen(value) > IPC_VALUE_MAX)
		log_panic("ipc_rec_add: value of %s too long (%zu)", name, strlen(value));
	if (rec->n >= IPC_FIELDS_MAX)
		log_panic("ipc_rec_add: too many fields");
	ipc_rec_push(rec, xstrdup(name), xstrdup(value));
}

void
ipc_rec_addf(struct ipc_rec *rec, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *value;

	va_start(ap, fmt);
	value = xvasprintf(fmt, ap);
	va_end(ap);
	ipc_rec_add(rec, name, value);
	free(value);
}

const char *
ipc_rec_type(const struct ipc_rec *rec)
{
	return rec->n > 0 ? rec->f[0].value : "";
}

const char *
ipc_rec_get(const struct ipc_rec *rec, const char *name)
{
	size_t i;

	for (i = 0; i < rec->n; i++)
		if (strcmp(rec->f[i].name, name) == 0)
			return rec->f[i].value;
	return NULL;
}

int
ipc_rec_get_num(const struct ipc_rec *rec, const char *name, unsigned long long max,
    unsigned long long *value_r)
{
	const char *s = ipc_rec_get(rec, name);
	unsigned long long v = 0;

	if (s == NULL || *s == '\0' || strlen(s) > 20)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (unsigned)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	*value_r = v;
	return 0;
}

int
ipc_rec_encode(const struct ipc_rec *rec, char **buf_r, size_t *len_r)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t cap = 256, len = 0, i;
	char *buf = xmalloc(cap);

	for (i = 0; i < rec->n; i++) {
		const unsigned char *v = (const unsigned char *)rec->f[i].value;
		size_t need = strlen(rec->f[i].name) + 3 * strlen(rec->f[i].value) + 2;

		if (len + need > IPC_RECORD_MAX) {
			free(buf);
			return -1;
		}
		if (len + need > cap) {
			while (len + need > cap)
				cap *= 2;
			buf = xrealloc(buf, cap);
		}
		len += (size_t)sprintf(buf + len, "%s=", rec->f[i].name);
		for (; *v != '\0'; v++) {
			if (*v >= 0x20 && *v <= 0x7e && *v != '%') {
				buf[len++] = (char)*v;
			} else {
				buf[len++] = '%';
				buf[len++] = hex[*v >> 4];
				buf[len++] = hex[*v & 15];
			}
		}
		buf[len++] = '\n';
	}
	*buf_r = buf;
	*len_r = len;
	return 0;
}

static int
ipc_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
ipc_rec_decode(const char *buf, size_t len, struct ipc_rec **rec_r)
{
	struct ipc_rec *rec;
	size_t pos = 0;

	if (len == 0 || len > IPC_RECORD_MAX || buf[len - 1] != '\n')
		return -1;
	rec = xcalloc(1, sizeof(*rec));
	while (pos < len) {
		const char *line = buf + pos, *eq, *nl;
		char *value;
		size_t vlen = 0;

		nl = memchr(line, '\n', len - pos);
		eq = memchr(line, '=', (size_t)(nl - line));
		if (eq == NULL || !ipc_name_ok(line, (size_t)(eq - line)) ||
		    rec->n >= IPC_FIELDS_MAX)
			goto bad;
		value = xmalloc((size_t)(nl - eq));
		for (const char *p = eq + 1; p < nl; p++) {
			unsigned char c = (unsigned char)*p;
			int hi, lo;

			if (c == '%') {
				if (nl - p < 3 || (hi = ipc_hexval(p[1])) < 0 ||
				    (lo = ipc_hexval(p[2])) < 0 || (hi == 0 && lo == 0)) {
					free(value);
					goto bad;
				}
				c = (unsigned char)(hi * 16 + lo);
				p += 2;
			} else if (c < 0x20 || c > 0x7e) {
				free(value);
				goto bad;
			}
			value[vlen++] = (char)c;
		}
		value[vlen] = '\0';
		if (vlen > IPC_VALUE_MAX) {
			free(value);
			goto bad;
		}
		ipc_rec_push(rec, xstrndup(line, (size_t)(eq - line)), value);
		pos = (size_t)(nl - buf) + 1;
	}
	if (strcmp(rec->f[0].name, "type") != 0)
		goto bad;
	*rec_r = rec;
	return 0;
bad:
	ipc_rec_free(&rec);
	return -1;
}

int
ipc_send(int fd, const struct ipc_rec *rec)
{
	char *buf;
	size_t len;
	ssize_t n;

	if (ipc_rec_encode(rec, &buf, &len) < 0) {
		errno = EMSGSIZE;
		return -1;
	}
	do
		n = send(fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	free(buf);
	if (n < 0)
		return -1;
	if ((size_t)n != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

int
ipc_send_wait(int fd, const struct ipc_rec *rec, int wait_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };

	for (;;) {
		if (ipc_send(fd, rec) == 0)
			return 0;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (poll(&pfd, 1, wait_ms) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
}

int
ipc_recv(int fd, struct ipc_rec **rec_r)
{
	char *buf = xmalloc(IPC_RECORD_MAX + 1);
	ssize_t n;
	int ret;

	do
		n = recv(fd, buf, IPC_RECORD_MAX + 1, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		free(buf);
		return n == 0 ? 0 : -1;
	}
	if (n > IPC_RECORD_MAX || ipc_rec_decode(buf, (size_t)n, rec_r) < 0) {
		free(buf);
		errno = EBADMSG;
		return -1;
	}
	ret = 1;
	free(buf);
	return ret;
}

static int
ipc_sockaddr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun->sun_path, path);
	return 0;
}

int
ipc_listen(const char *path, int backlog)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd;

	if (ipc_sockaddr(path, &sun) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	/* A socket left by a killed process is stale: the master lock says we own the queue. */
	(void)unlink(path);
	old = umask(0077);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, backlog) < 0) {
		int saved = errno;

		umask(old);
		close(fd);
		errno = saved;
		return -1;
	}
	umask(old);
	return fd;
}

int
ipc_connect(const char *path, bool nonblocking)
{
	struct sockaddr_un sun;
	int fd;

	if (ipc_sockaddr(path, &sun) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 && errno != EINPROGRESS) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}
