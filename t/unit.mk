# t/unit.mk: unit tests of the lead's lib/ modules (ipc, htable, events, address).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
check_PROGRAMS += t/util_test
TESTS += t/util_test
t_util_test_SOURCES = t/util_test.c
t_util_test_LDADD = $(SLUICE_LIBS)

# The lead's integration tests.
LEAD_INTEGRATION_TESTS = t/35-full-disk.t t/36-notify.t t/37-master.t t/38-all-doors.t \
	t/64-deliver-tls.t t/layers.t
TESTS += $(LEAD_INTEGRATION_TESTS)
EXTRA_DIST += $(LEAD_INTEGRATION_TESTS)

# lib/mail/proto_rec: every record's codec (issue 8, point 2).
check_PROGRAMS += t/proto_test
TESTS += t/proto_test
t_proto_test_SOURCES = t/proto_test.c
t_proto_test_LDADD = $(SLUICE_LIBS)
# Each program's man-page header and man/PROG.8 agree (options, sockets, services).
TESTS += t/manpages.t
EXTRA_DIST += t/manpages.t

# lib/mail/header: the Subject the customer's list of held mail shows (issue 11).
check_PROGRAMS += t/header_test
TESTS += t/header_test
t_header_test_SOURCES = t/header_test.c
t_header_test_LDADD = $(SLUICE_LIBS)
