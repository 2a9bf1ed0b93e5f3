# smtpd: the SMTP server (smtpd(8sluice)). Everything but main() is a
# convenience library, linked by the program and by tests.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
pkglibexec_PROGRAMS += smtpd/smtpd
noinst_LIBRARIES += smtpd/libsmtpd.a
smtpd_libsmtpd_a_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS)
smtpd_libsmtpd_a_SOURCES = smtpd/smtpd.h \
	smtpd/smtpd_server.c smtpd/smtpd_session.c \
	smtpd/smtpd_cmd.c smtpd/smtpd_data.c \
	smtpd/smtpd_auth.c smtpd/smtpd_etrn.c \
	smtpd/smtpd_pregreet.c
smtpd_libsmtpd_a_SOURCES += smtpd/smtpd_peer.c
smtpd_libsmtpd_a_SOURCES += smtpd/smtpd_quota.c
smtpd_smtpd_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS)
smtpd_smtpd_SOURCES = smtpd/smtpd.c
smtpd_smtpd_LDADD = smtpd/libsmtpd.a $(SLUICE_LIBS)
dist_man_MANS += man/smtpd.8sluice
dist_man_MANS += man/sluice-passwd.5

# Unit tests of customer credentials and SASL (lib/mail/passwd, sasl).
check_PROGRAMS += t/passwd_test t/sasl_test
TESTS += t/passwd_test t/sasl_test
t_passwd_test_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS)
t_passwd_test_SOURCES = t/passwd_test.c
t_passwd_test_LDADD = $(SLUICE_LIBS)
t_sasl_test_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS)
t_sasl_test_SOURCES = t/sasl_test.c
t_sasl_test_LDADD = $(SLUICE_LIBS)

# Integration tests of ETRN and submission (Perl, real clients).
TESTS += t/31-etrn.t t/32-submission.t
EXTRA_DIST += t/31-etrn.t t/32-submission.t t/lib/Smtpd2.pm
# ETRN #domain: a name that is no group is the domain (issue 9).
TESTS += t/33-etrn-hash-domain.t
EXTRA_DIST += t/33-etrn-hash-domain.t

# lib/util/workq: the worker threads that take smtpd's commits off the
# event loop (issue 12).
check_PROGRAMS += t/workq_test
TESTS += t/workq_test
t_workq_test_SOURCES = t/workq_test.c
t_workq_test_LDADD = $(SLUICE_LIBS)

# The commit in worker threads, end to end: 451 on a failed fsync with
# nothing left, overlapping commits, pipelining after the dot, a client
# that leaves mid-commit, SIGTERM mid-commit (issue 12). The fsyncs
# misbehave on cue through an LD_PRELOAD shim, built without sanitizers
# (it is loaded into programs built with or without them).
check_PROGRAMS += t/lib/fsync_shim.so
t_lib_fsync_shim_so_SOURCES = t/lib/fsync_shim.c
t_lib_fsync_shim_so_CFLAGS = -fPIC $(WARN_CFLAGS)
t_lib_fsync_shim_so_LDFLAGS = -shared
TESTS += t/17-smtpd-commit.t
EXTRA_DIST += t/17-smtpd-commit.t
