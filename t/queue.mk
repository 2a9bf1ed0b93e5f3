# t/queue.mk: unit test of the queue files (lib/mail/queue*.c).
check_PROGRAMS += t/queue_test
TESTS += t/queue_test
t_queue_test_SOURCES = t/queue_test.c
t_queue_test_LDADD = $(SLUICE_LIBS)
