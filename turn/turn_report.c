/*
 * turn_report - sluice-turn's result lines, and its time grammar
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <syslog.h>

/* turn */
#include "turn/turn.h"

static bool turn_syslog;

void
turn_report_syslog(void)
{
	turn_syslog = true;
	openlog("sluice-turn", LOG_PID, LOG_MAIL);
}

void
turn_report(const char *fmt, ...)
{
	char text[2048];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* A peer's bytes never forge another line. */
	for (i = 0; text[i] != '\0'; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			text[i] = '?';
	fprintf(stderr, "sluice-turn: %s\n", text);
	fflush(stderr);
	if (turn_syslog)
		syslog(LOG_INFO, "%s", text);
}

int
turn_parse_time(const char *s, long long *secs_r)
{
	static const struct {
		char unit;
		long long secs;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	unsigned long long n = 0;
	size_t i = 0, u;

	for (; s[i] >= '0' && s[i] <= '9'; i++)
		if ((n = n * 10 + (unsigned)(s[i] - '0')) > 100000000ULL)
			return -1;
	if (i == 0)
		return -1;
	if (s[i] == '\0') {
		*secs_r = (long long)n;
		return 0;
	}
	for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
		if (s[i] == units[u].unit && s[i + 1] == '\0') {
			*secs_r = (long long)n * units[u].secs;
			return 0;
		}
	return -1;
}
