# t/release.mk: integration tests of the release path (issue 3): the
# gate, deliver, lifetimes and DSNs, crashes during a flush, MX routing.
# Each starts its own sluice and Perl sinks (t/lib/Sink.pm) on free
# loopback ports, so they run in parallel with the others.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
RELEASE_TESTS = \
	t/84-crash-flush.t \
	t/83-lifetime-dsn.t \
	t/82-mx-route.t \
	t/81-gate-open.t \
	t/80-hold-flush.t \
	t/80-flush-batches.t
TESTS += $(RELEASE_TESTS)
EXTRA_DIST += $(RELEASE_TESTS) t/lib/Sink.pm t/lib/Release.pm
