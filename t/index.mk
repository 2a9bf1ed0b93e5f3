# t/index.mk: unit tests of the queue index (lib/mail/qindex*.c): index_test
# its records and walks, index_recover_test its recovery and damage checks,
# index_stats_test each domain's figures.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
check_PROGRAMS += t/index_test t/index_recover_test t/index_stats_test
TESTS += t/index_test t/index_recover_test t/index_stats_test
t_index_test_SOURCES = t/index_test.c $(INDEX_ENTRY)
t_index_stats_test_SOURCES = t/index_stats_test.c $(INDEX_ENTRY)
t_index_stats_test_LDADD = $(SLUICE_LIBS)
t_index_recover_test_SOURCES = t/index_recover_test.c $(INDEX_ENTRY)
t_index_test_LDADD = $(SLUICE_LIBS)
t_index_recover_test_LDADD = $(SLUICE_LIBS)
INDEX_ENTRY = t/index_entry.c t/index_entry.h t/testutil.c t/testutil.h

# Integration tests of queue and index trust (issue 7, items 4-8): a
# damaged index, a damaged journal, a lost commit notice, orphan
# journals, one release of a message with many recipients; and the
# operator's bounce: one notice, then the journal (qctl_bounce).
QUEUE_TRUST_TESTS = t/85-index-damage.t t/86-bad-journal.t \
	t/87-orphan-journal.t t/88-lost-notice.t t/88-start-reconcile.t t/89-release-all.t \
	t/89-cli-root-index.t t/85-index-clean-stop.t \
	t/95-operator-bounce.t
TESTS += $(QUEUE_TRUST_TESTS)
EXTRA_DIST += $(QUEUE_TRUST_TESTS)
