# t/qmgr.mk: unit tests of qmgr's modules, linked from qmgr/libqmgr.a.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
check_PROGRAMS += t/qmgr_gate_test
TESTS += t/qmgr_gate_test
t_qmgr_gate_test_SOURCES = t/qmgr_gate_test.c
t_qmgr_gate_test_LDADD = qmgr/libqmgr.a $(SLUICE_LIBS)
check_PROGRAMS += t/qmgr_dispatch_test
TESTS += t/qmgr_dispatch_test
t_qmgr_dispatch_test_SOURCES = t/qmgr_dispatch_test.c t/testutil.c t/testutil.h
t_qmgr_dispatch_test_LDADD = qmgr/libqmgr.a $(SLUICE_LIBS)
