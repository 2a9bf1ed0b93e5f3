# lib/mail/queue.mk: the queue files (queue.h), see HACKING.md
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
lib_mail_libsluice_mail_a_SOURCES += \
	lib/mail/queue.c lib/mail/queue.h lib/mail/queue_int.h \
	lib/mail/queue_file.c lib/mail/queue_journal.c
