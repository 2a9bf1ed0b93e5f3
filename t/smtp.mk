# t/smtp.mk: unit test of the SMTP grammar and the reply catalogue.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
check_PROGRAMS += t/smtp_test
TESTS += t/smtp_test
t_smtp_test_SOURCES = t/smtp_test.c
t_smtp_test_LDADD = $(SLUICE_LIBS)

# Unit test of the login lockout shared by the doors (lib/mail/authlock).
check_PROGRAMS += t/authlock_test
TESTS += t/authlock_test
t_authlock_test_SOURCES = t/authlock_test.c t/testutil.c t/testutil.h
t_authlock_test_LDADD = $(SLUICE_LIBS)
