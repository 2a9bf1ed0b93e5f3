# prober: the connectivity prober (prober(8sluice)). Everything but main() is
# a convenience library, linked by the program and by its tests.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
pkglibexec_PROGRAMS += prober/prober
noinst_LIBRARIES += prober/libprober.a
prober_libprober_a_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS) $(CARES_CFLAGS)
prober_libprober_a_SOURCES = prober/prober.h \
	prober/prober_sched.c prober/prober_probe.c
prober_prober_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS) $(CARES_CFLAGS)
prober_prober_SOURCES = prober/prober.c
prober_prober_LDADD = prober/libprober.a $(SLUICE_LIBS)
dist_man_MANS += man/prober.8sluice
# Integration test (helpers in t/lib/FingerProbe.pm, DNS in t/lib/FakeDNS.pm).
TESTS += t/57-prober.t
EXTRA_DIST += t/57-prober.t
# Unit test of fingerd's query grammar and answers and of the back-off.
check_PROGRAMS += t/fingerprobe_test
TESTS += t/fingerprobe_test
t_fingerprobe_test_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS)
t_fingerprobe_test_SOURCES = t/fingerprobe_test.c
t_fingerprobe_test_LDADD = fingerd/libfingerd.a prober/libprober.a $(SLUICE_LIBS)
# The prober of issue 9: soon after new mail, every MX above ours, the cap.
TESTS += t/59-prober-soon.t
EXTRA_DIST += t/59-prober-soon.t
