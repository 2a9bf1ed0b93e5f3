# lib/mail/job.mk: the delivery-job runner of deliver and etrn (job.h), and its test
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
lib_mail_libsluice_mail_a_SOURCES += lib/mail/job.c lib/mail/job.h
check_PROGRAMS += t/job_test
TESTS += t/job_test
t_job_test_SOURCES = t/job_test.c t/testutil.c t/testutil.h
t_job_test_LDADD = $(SLUICE_LIBS)
