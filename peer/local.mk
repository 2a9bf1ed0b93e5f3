# peer: passes customers' triggers to the other hosts of the fleet
# (peer(8sluice)). Everything but main() is a convenience library.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
pkglibexec_PROGRAMS += peer/peer
noinst_LIBRARIES += peer/libpeer.a
peer_libpeer_a_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS)
peer_libpeer_a_SOURCES = peer/peer.h peer/peer_srv.c
peer_peer_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS)
peer_peer_SOURCES = peer/peer.c
peer_peer_LDADD = peer/libpeer.a $(SLUICE_LIBS)
dist_man_MANS += man/peer.8sluice
# Integration tests of the fleet (Perl, real clients).
TESTS += t/74-fleet-trigger.t t/75-fleet-summary.t
EXTRA_DIST += t/74-fleet-trigger.t t/75-fleet-summary.t
# Unit test of the peer client's dialogue (lib/mail/peer.c).
check_PROGRAMS += t/peer_test
TESTS += t/peer_test
t_peer_test_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS)
t_peer_test_SOURCES = t/peer_test.c t/tap.h
t_peer_test_LDADD = $(SLUICE_LIBS)
