# t/smtp.mk: unit test of the SMTP grammar and the reply catalogue.
check_PROGRAMS += t/smtp_test
TESTS += t/smtp_test
t_smtp_test_SOURCES = t/smtp_test.c
t_smtp_test_LDADD = $(SLUICE_LIBS)
