# t/dsn.mk: unit test of the delivery status notifications (lib/mail/dsn.c).
check_PROGRAMS += t/dsn_test
TESTS += t/dsn_test
t_dsn_test_SOURCES = t/dsn_test.c
t_dsn_test_LDADD = $(SLUICE_LIBS)
