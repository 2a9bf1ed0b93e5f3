# t/svc.mk: the systemd service (issue 10): sd_notify, the unit and logrotate.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
check_PROGRAMS += t/sdnotify_test
TESTS += t/sdnotify_test
t_sdnotify_test_SOURCES = t/sdnotify_test.c t/testutil.c t/testutil.h
t_sdnotify_test_LDADD = $(SLUICE_LIBS)
SVC_INTEGRATION_TESTS = t/48-sd-notify.t t/49-systemd-unit.t
TESTS += $(SVC_INTEGRATION_TESTS)
EXTRA_DIST += $(SVC_INTEGRATION_TESTS)
