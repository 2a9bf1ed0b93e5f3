# qmgr: the queue manager (qmgr(8sluice))
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
pkglibexec_PROGRAMS += qmgr/qmgr
noinst_LIBRARIES += qmgr/libqmgr.a
qmgr_libqmgr_a_SOURCES = qmgr/qmgr.h qmgr/qmgr_server.c qmgr/qmgr_sched.c \
	qmgr/qmgr_gate.c qmgr/qmgr_expire.c qmgr/qmgr_request.c \
	qmgr/qmgr_scan.c \
	qmgr/qmgr_auth.c \
	qmgr/qmgr_atrn.c
qmgr_libqmgr_a_SOURCES += qmgr/qmgr_home.c qmgr/qmgr_agent.c
qmgr_libqmgr_a_SOURCES += qmgr/qmgr_peer.c
qmgr_libqmgr_a_SOURCES += qmgr/qmgr_client_probe.c
qmgr_libqmgr_a_SOURCES += qmgr/qmgr_quota.c
qmgr_libqmgr_a_SOURCES += qmgr/qmgr_pop3.c
# The DNS setup check at start and reload (issue 11).
qmgr_libqmgr_a_SOURCES += qmgr/qmgr_dnscheck.c
qmgr_qmgr_SOURCES = qmgr/qmgr.c
qmgr_qmgr_LDADD = qmgr/libqmgr.a $(SLUICE_LIBS)

# Unit tests of qmgr's policies (back-off, trigger policy, the gate).
check_PROGRAMS += t/qmgr_test
TESTS += t/qmgr_test
t_qmgr_test_SOURCES = t/qmgr_test.c
t_qmgr_test_LDADD = qmgr/libqmgr.a $(SLUICE_LIBS)

# issue 11: the customer's own held mail (web)
qmgr_libqmgr_a_SOURCES += qmgr/qmgr_held.c

# issue 12: the directory fsyncs of removals, batched (qmgr_sync.c)
qmgr_libqmgr_a_SOURCES += qmgr/qmgr_sync.c
