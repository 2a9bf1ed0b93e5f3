# etrn: the on-demand mail relay (ODMR, RFC 2645) server (etrn(8sluice)).
# Everything but main() is a convenience library, linked by the program
# and by tests.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
pkglibexec_PROGRAMS += etrn/etrn
noinst_LIBRARIES += etrn/libetrn.a
etrn_libetrn_a_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS)
etrn_libetrn_a_SOURCES = etrn/etrn.h etrn/etrn_reply.h \
	etrn/etrn_server.c etrn/etrn_session.c etrn/etrn_auth.c \
	etrn/etrn_atrn.c etrn/etrn_turn.c
etrn_etrn_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS)
etrn_etrn_SOURCES = etrn/etrn.c
etrn_etrn_LDADD = etrn/libetrn.a $(SLUICE_LIBS)
dist_man_MANS += man/etrn.8sluice
# Its integration tests: fetchmail in ODMR mode, and raw sessions.
ODMR_TESTS = t/41-odmr-fetchmail.t t/42-odmr-session.t t/43-odmr-replies.t
TESTS += $(ODMR_TESTS)
EXTRA_DIST += $(ODMR_TESTS) t/lib/Odmr.pm
