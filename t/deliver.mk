# t/deliver.mk: tests of the outbound side: lib/mail/dns.c,
# lib/mail/smtp_client.c and the deliver program (with a fake qmgr).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
check_PROGRAMS += t/queue_inject
t_queue_inject_SOURCES = t/queue_inject.c
t_queue_inject_LDADD = $(SLUICE_LIBS)
TESTS += t/63-deliver.t
EXTRA_DIST += t/63-deliver.t t/lib/FakeDNS.pm
check_PROGRAMS += t/smtp_client_test
TESTS += t/smtp_client_test
t_smtp_client_test_SOURCES = t/smtp_client_test.c
t_smtp_client_test_LDADD = $(SLUICE_LIBS)
# Issue 7: a customer server or ODMR site whose replies do not line up
# with our commands (t/lib/LyingServer.pm) never gets mail counted as sent.
TESTS += t/65-lying-server.t t/66-odmr-lying-site.t
EXTRA_DIST += t/65-lying-server.t t/66-odmr-lying-site.t t/lib/LyingServer.pm
# Issue 7: mail never loops back to us (MX at 0.0.0.0, 127.0.0.2, the hop
# count) and DNS failures defer a customer's mail (t/lib/FakeDNS.pm cues).
TESTS += t/67-mail-loop.t t/68-dns-failure.t t/68-route-literal.t
EXTRA_DIST += t/67-mail-loop.t t/68-dns-failure.t t/68-route-literal.t
