/*
 * tap.h - the Test Anything Protocol for sluice's C unit tests.
 *
 * Tests are table-driven and say "got X, want Y" when they fail:
 *
 *	ok(strcmp(got, want) == 0, "parse %s: got %s, want %s", in, got, want);
 *	return tap_done();
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_TAP_H
#define SLUICE_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

/*
 * One count for the whole program: a test whose helpers live in a second
 * file (t/dsn_notice.c) calls ok() from both, and the plan must number
 * them in one sequence. Weak definitions in every file that includes this
 * header are merged by the linker into one.
 */
__attribute__((weak)) int tap_count, tap_failed;

static inline bool ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline bool
ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

static inline void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline void
tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* tap_done - print the plan; the exit status says whether all passed */
static inline int
tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed == 0 ? 0 : 1;
}

#endif
