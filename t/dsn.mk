# t/dsn.mk: unit tests of the delivery status notifications (lib/mail/dsn.c):
# dsn_test the reports' envelope, structure and fields, dsn_form_test their
# form (line lengths, size cap, 8-bit, the customer notice, Python's parser).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
check_PROGRAMS += t/dsn_test t/dsn_form_test
TESTS += t/dsn_test t/dsn_form_test
t_dsn_test_SOURCES = t/dsn_test.c $(DSN_NOTICE)
t_dsn_form_test_SOURCES = t/dsn_form_test.c $(DSN_NOTICE)
t_dsn_test_LDADD = $(SLUICE_LIBS)
t_dsn_form_test_LDADD = $(SLUICE_LIBS)
DSN_NOTICE = t/dsn_notice.c t/dsn_notice.h t/testutil.c t/testutil.h
