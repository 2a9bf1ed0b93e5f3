# t/unit.mk: unit tests of the lead's lib/ modules (ipc, htable, events, address).
check_PROGRAMS += t/util_test
TESTS += t/util_test
t_util_test_SOURCES = t/util_test.c
t_util_test_LDADD = $(SLUICE_LIBS)
