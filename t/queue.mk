# t/queue.mk: unit tests of the queue files (lib/mail/queue*.c): queue_test
# IDs, the writer, the reader and journals; queue_damage_test damaged files,
# errors and a full disk.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
check_PROGRAMS += t/queue_test t/queue_damage_test
TESTS += t/queue_test t/queue_damage_test
t_queue_test_SOURCES = t/queue_test.c $(QUEUE_FILES)
t_queue_damage_test_SOURCES = t/queue_damage_test.c $(QUEUE_FILES)
t_queue_test_LDADD = $(SLUICE_LIBS)
t_queue_damage_test_LDADD = $(SLUICE_LIBS)
QUEUE_FILES = t/queue_files.c t/queue_files.h t/testutil.c t/testutil.h
