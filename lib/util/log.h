/*
 * log - the four log levels of sluice, with fixed meaning.
 *
 *   info   something an operator may want to read (deliveries, triggers)
 *   warn   a recoverable problem; the process goes on
 *   fatal  the environment is unusable: log and exit; master restarts us
 *   panic  our own bug: log and abort() for a core file
 *
 * Lines have Postfix's shape, so existing log tools (pflogsumm, qshape's
 * friends) read them:  "Mon DD HH:MM:SS host sluice/smtpd[PID]: text".
 * "sluice" is the syslog name (sluice.conf's syslog_name), as Postfix's
 * syslog_name: pflogsumm --syslog-name=sluice reads these lines.
 * Messages are lowercase "<verb> <object>: <reason>", with the queue ID
 * first where there is one ("4A1B...: client=...").
 *
 * Destinations: syslog facility mail (default), stderr (foreground), or a
 * file opened in append mode (hosts without a syslog daemon). The file is
 * reopened on log_reopen() (SIGHUP, and SIGUSR1 from logrotate) so
 * logrotate can move it.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stdarg.h>
#include <stdbool.h>

/* The syslog name before "/program": at most this long, and its default. */
#define LOG_SYSLOG_NAME_MAX	32
#define LOG_SYSLOG_NAME_DEFAULT	"sluice"

enum log_dest {
	LOG_DEST_SYSLOG,
	LOG_DEST_STDERR,
	LOG_DEST_FILE,
};

/* log_init - name the program ("smtpd" logs as "sluice/smtpd") */
void log_init(const char *progname);
/*
 * log_set_syslog - the syslog name ("mx2" logs as "mx2/smtpd") and the
 * facility ("mail", "daemon", "user", "local0".."local7"); 0, or -1
 * (EINVAL) when either is not one log_syslog_name_ok() or that list allows.
 */
int log_set_syslog(const char *name, const char *facility);
/* log_syslog_name_ok - 1 to 32 of A-Z a-z 0-9 . _ - / ? */
bool log_syslog_name_ok(const char *name);
/* log_set_dest - choose where lines go; path only for LOG_DEST_FILE; 0/-1 */
int log_set_dest(enum log_dest dest, const char *path);
/* log_reopen - reopen a log file (after rotation); no-op otherwise */
void log_reopen(void);
/* log_set_verbose - enable log_debug() lines */
void log_set_verbose(bool on);
/* log_progname - the name given to log_init(), e.g. "smtpd" */
const char *log_progname(void);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_fatal - log and exit(EX_TEMPFAIL, 75): master restarts the process */
_Noreturn void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_fatal_code - log and exit with a given sysexits code */
_Noreturn void log_fatal_code(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* log_panic - our bug: log and abort() */
_Noreturn void log_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_vmsg(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#endif
