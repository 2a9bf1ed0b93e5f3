# t/odmr_client.mk: the ODMR client library (lib/mail/odmr_client) through
# its test driver, against a real sluice, smtp-sink and a lying server.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
check_PROGRAMS += t/odmr_client_run
t_odmr_client_run_SOURCES = t/odmr_client_run.c
t_odmr_client_run_LDADD = $(SLUICE_LIBS)
ODMR_CLIENT_TESTS = t/73-odmr-client.t
TESTS += $(ODMR_CLIENT_TESTS)
EXTRA_DIST += $(ODMR_CLIENT_TESTS) t/lib/FakeOdmr.pm t/lib/FakeLmtp.pm
