# t/quota.mk: per-domain caps (lib/mail/quota, issue 11)
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
check_PROGRAMS += t/quota_test
TESTS += t/quota_test
t_quota_test_SOURCES = t/quota_test.c t/testutil.c t/testutil.h
t_quota_test_LDADD = $(SLUICE_LIBS)
TESTS += t/29-quota.t
EXTRA_DIST += t/29-quota.t
