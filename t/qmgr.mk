# t/qmgr.mk: unit tests of qmgr's modules, linked from qmgr/libqmgr.a.
check_PROGRAMS += t/qmgr_gate_test
TESTS += t/qmgr_gate_test
t_qmgr_gate_test_SOURCES = t/qmgr_gate_test.c
t_qmgr_gate_test_LDADD = qmgr/libqmgr.a $(SLUICE_LIBS)
