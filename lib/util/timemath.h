/*
 * timemath - time_t arithmetic that cannot overflow.
 *
 * Times read back from a queue file, a journal, the index or an IPC
 * record are checked for their grammar, not for plausibility: a corrupt
 * or hostile record may hold any 64-bit value (INT64_MAX, INT64_MIN).
 * Signed overflow is undefined behaviour in C, so every sum or
 * difference that involves such a stored time goes through these
 * functions, which clamp to the range of time_t instead.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_TIMEMATH_H
#define SLUICE_TIMEMATH_H

#include <stdint.h>
#include <time.h>

_Static_assert(sizeof(time_t) == sizeof(int64_t), "time_t is 64 bits");

/* time_add_sat - a + b, clamped to [INT64_MIN, INT64_MAX] */
static inline time_t
time_add_sat(time_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow((int64_t)a, b, &r))
		return (time_t)(b > 0 ? INT64_MAX : INT64_MIN);
	return (time_t)r;
}

/* time_sub_sat - a - b, clamped to [INT64_MIN, INT64_MAX] */
static inline time_t
time_sub_sat(time_t a, time_t b)
{
	int64_t r;

	if (__builtin_sub_overflow((int64_t)a, (int64_t)b, &r))
		return (time_t)(b < 0 ? INT64_MAX : INT64_MIN);
	return (time_t)r;
}

#endif
