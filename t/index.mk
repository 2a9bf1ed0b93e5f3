# t/index.mk: unit test of the queue index (lib/mail/qindex*.c).
check_PROGRAMS += t/index_test
TESTS += t/index_test
t_index_test_SOURCES = t/index_test.c
t_index_test_LDADD = $(SLUICE_LIBS)

# Integration tests of queue and index trust (issue 7, items 4-8): a
# damaged index, a damaged journal, a lost commit notice, orphan
# journals, one release of a message with many recipients.
QUEUE_TRUST_TESTS = \
	t/85-index-damage.t \
	t/86-bad-journal.t \
	t/87-orphan-journal.t \
	t/88-lost-notice.t \
	t/89-release-all.t
TESTS += $(QUEUE_TRUST_TESTS)
EXTRA_DIST += $(QUEUE_TRUST_TESTS)

# The operator's bounce: one notice, then the journal (qctl_bounce).
TESTS += t/95-operator-bounce.t
EXTRA_DIST += t/95-operator-bounce.t
