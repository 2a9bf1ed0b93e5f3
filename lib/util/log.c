/*
 * log - Postfix-shaped log lines to syslog, stderr or a file
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

static char log_name[64] = "sluice";
static char log_tag[LOG_SYSLOG_NAME_MAX + 1 + 64] = "sluice";
static char log_syslog_name[LOG_SYSLOG_NAME_MAX + 1] = LOG_SYSLOG_NAME_DEFAULT;
static int log_facility = LOG_MAIL;
static char log_host[256];
static enum log_dest log_dest = LOG_DEST_STDERR;
static char *log_path;
static int log_fd = -1;
static bool log_verbose;

void
log_init(const char *progname)
{
	char *dot;

	snprintf(log_name, sizeof(log_name), "%s", progname);
	snprintf(log_tag, sizeof(log_tag), "%s/%s", log_syslog_name, progname);
	if (gethostname(log_host, sizeof(log_host) - 1) != 0)
		snprintf(log_host, sizeof(log_host), "localhost");
	log_host[sizeof(log_host) - 1] = '\0';
	/* syslog shows the short host name; so do we. */
	if ((dot = strchr(log_host, '.')) != NULL)
		*dot = '\0';
	if (log_dest == LOG_DEST_SYSLOG)
		openlog(log_tag, LOG_PID | LOG_NDELAY, log_facility);
}

/* The facilities sluice.conf's syslog_facility may name. */
static const struct {
	const char *name;
	int facility;
} log_facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

bool
log_syslog_name_ok(const char *name)
{
	size_t len = strlen(name);

	/* What pflogsumm's --syslog-name and a syslog ident both take. */
	return len > 0 && len <= LOG_SYSLOG_NAME_MAX &&
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-/") == len;
}

int
log_set_syslog(const char *name, const char *facility)
{
	int fac = -1;
	size_t i;

	for (i = 0; i < sizeof(log_facilities) / sizeof(log_facilities[0]); i++)
		if (strcmp(facility, log_facilities[i].name) == 0)
			fac = log_facilities[i].facility;
	if (!log_syslog_name_ok(name) || fac < 0) {
		errno = EINVAL;
		return -1;
	}
	if (strcmp(name, log_syslog_name) == 0 && fac == log_facility)
		return 0;
	snprintf(log_syslog_name, sizeof(log_syslog_name), "%s", name);
	snprintf(log_tag, sizeof(log_tag), "%s/%s", log_syslog_name, log_name);
	log_facility = fac;
	/* openlog() keeps the ident and the facility: open it again with the new ones. */
	if (log_dest == LOG_DEST_SYSLOG) {
		closelog();
		openlog(log_tag, LOG_PID | LOG_NDELAY, log_facility);
	}
	return 0;
}

const char *
log_progname(void)
{
	return log_name;
}

int
log_set_dest(enum log_dest dest, const char *path)
{
	int fd = -1;

	if (dest == LOG_DEST_FILE) {
		/* O_APPEND so that several processes interleave whole lines. */
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (fd < 0)
			return -1;
	}
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
	free(log_path);
	log_path = path != NULL ? strdup(path) : NULL;
	if (dest == LOG_DEST_SYSLOG && log_dest != LOG_DEST_SYSLOG)
		openlog(log_tag, LOG_PID | LOG_NDELAY, log_facility);
	log_dest = dest;
	return 0;
}

void
log_reopen(void)
{
	char *path;

	if (log_dest != LOG_DEST_FILE || log_path == NULL)
		return;
	path = strdup(log_path);
	if (path != NULL && log_set_dest(LOG_DEST_FILE, path) != 0)
		log_warn("reopen log file %s: %s", path, strerror(errno));
	free(path);
}

void
log_set_verbose(bool on)
{
	log_verbose = on;
}

void
log_vmsg(int level, const char *fmt, va_list ap)
{
	char text[2048], line[2400];
	const char *tag = "";
	int saved = errno;
	size_t i;
	int n;

	switch (level) {
	case LOG_WARNING:
		tag = "warning: ";
		break;
	case LOG_ERR:
		tag = "fatal: ";
		break;
	case LOG_CRIT:
		tag = "panic: ";
		break;
	}
	vsnprintf(text, sizeof(text), fmt, ap);
	/* A log line is one line: never let a peer's bytes forge another. */
	for (i = 0; text[i] != '\0'; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			text[i] = '?';
	if (log_dest == LOG_DEST_SYSLOG) {
		syslog(level, "%s%s", tag, text);
	} else {
		struct timespec ts;
		struct tm tm;
		char stamp[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
		n = snprintf(line, sizeof(line), "%s %s %s[%ld]: %s%s\n", stamp,
		    log_host, log_tag, (long)getpid(), tag, text);
		if (n < 0)
			n = 0;
		if ((size_t)n >= sizeof(line)) {
			n = sizeof(line) - 1;
			line[n - 1] = '\n';
		}
		if (write(log_dest == LOG_DEST_FILE ? log_fd : STDERR_FILENO, line, (size_t)n) < 0) {
			/* Nowhere left to complain to. */
		}
	}
	errno = saved;
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_vmsg(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERR, fmt, ap);
	va_end(ap);
	exit(EX_TEMPFAIL);
}

void
log_fatal_code(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERR, fmt, ap);
	va_end(ap);
	exit(code);
}

void
log_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, fmt, ap);
	va_end(ap);
	abort();
}
