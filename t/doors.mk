# t/doors.mk: integration tests of the limits at every door (issue 7):
# deadlines per command, request and session against slow clients, the
# per-client connection limits, and stored times that must not overflow.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
DOORS_TESTS = \
	t/53-web-limits.t \
	t/51-smtpd-deadline.t \
	t/52-odmr-finger-deadline.t \
	t/54-stored-time.t
TESTS += $(DOORS_TESTS)
EXTRA_DIST += $(DOORS_TESTS) t/lib/SlowClient.pm
# The stream deadlines these doors rely on (lib/util/stream.c).
check_PROGRAMS += t/stream_test
TESTS += t/stream_test
t_stream_test_SOURCES = t/stream_test.c
t_stream_test_LDADD = $(SLUICE_LIBS)
# Listeners past the 64 master once silently dropped (issue 8).
TESTS += t/95-many-listeners.t
EXTRA_DIST += t/95-many-listeners.t
TESTS += t/96-smtpd-limits.t
EXTRA_DIST += t/96-smtpd-limits.t
TESTS += t/97-odmrs-limit.t
EXTRA_DIST += t/97-odmrs-limit.t
TESTS += t/98-cli-index-lock.t
EXTRA_DIST += t/98-cli-index-lock.t
