# fingerd: the finger server (fingerd(8sluice)). Everything but main() is a
# convenience library, linked by the program and by its tests.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
pkglibexec_PROGRAMS += fingerd/fingerd
noinst_LIBRARIES += fingerd/libfingerd.a
fingerd_libfingerd_a_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS)
fingerd_libfingerd_a_SOURCES = fingerd/fingerd.h \
	fingerd/fingerd_server.c fingerd/fingerd_session.c \
	fingerd/fingerd_query.c
fingerd_fingerd_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS)
fingerd_fingerd_SOURCES = fingerd/fingerd.c
fingerd_fingerd_LDADD = fingerd/libfingerd.a $(SLUICE_LIBS)
dist_man_MANS += man/fingerd.8sluice
# Integration tests (t/lib/FingerProbe.pm holds their helpers).
TESTS += t/55-finger.t t/56-finger-client.t
EXTRA_DIST += t/55-finger.t t/56-finger-client.t t/lib/FingerProbe.pm
# The finished signal (issue 9).
TESTS += t/46-finger-finished.t
EXTRA_DIST += t/46-finger-finished.t
