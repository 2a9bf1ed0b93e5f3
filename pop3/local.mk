# pop3: the POP3 maildrop server (pop3(8sluice)). Everything but main() is
# a convenience library, linked by the program and by its tests.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
pkglibexec_PROGRAMS += pop3/pop3
noinst_LIBRARIES += pop3/libpop3.a
pop3_libpop3_a_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS)
pop3_libpop3_a_SOURCES = pop3/pop3.h pop3/pop3_reply.h \
	pop3/pop3_server.c pop3/pop3_session.c pop3/pop3_auth.c \
	pop3/pop3_drop.c
pop3_pop3_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS)
pop3_pop3_SOURCES = pop3/pop3.c
pop3_pop3_LDADD = pop3/libpop3.a $(SLUICE_LIBS)
dist_man_MANS += man/pop3.8sluice
# Its integration tests: fetchmail in multidrop mode, poplib, bad input,
# a POP3 session against the other doors, qmgr frozen under sessions, and
# a maildrop larger than a session shows.
POP3_TESTS = t/23-pop3-many.t t/24-pop3-stall.t t/25-pop3-fetchmail.t t/26-pop3-session.t t/27-pop3-bad-input.t \
	t/28-pop3-doors.t
TESTS += $(POP3_TESTS)
EXTRA_DIST += $(POP3_TESTS) t/lib/Pop3.pm
# The command parser, as a unit (its fuzz harness is t/fuzz/fuzz_pop3_cmd).
check_PROGRAMS += t/pop3_test
TESTS += t/pop3_test
t_pop3_test_SOURCES = t/pop3_test.c
t_pop3_test_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS)
t_pop3_test_LDADD = pop3/libpop3.a $(SLUICE_LIBS)
