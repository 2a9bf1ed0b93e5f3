# t/index.mk: unit test of the queue index (lib/mail/qindex.c).
check_PROGRAMS += t/index_test
TESTS += t/index_test
t_index_test_SOURCES = t/index_test.c
t_index_test_LDADD = $(SLUICE_LIBS)
