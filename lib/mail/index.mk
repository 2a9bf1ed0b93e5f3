# lib/mail/index.mk: the queue index (Berkeley DB), see qindex.h.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
lib_mail_libsluice_mail_a_SOURCES += lib/mail/qindex.c lib/mail/qindex.h
lib_mail_libsluice_mail_a_SOURCES += lib/mail/qindex_env.c lib/mail/qindex_walk.c lib/mail/qindex_int.h
lib_mail_libsluice_mail_a_SOURCES += lib/mail/qindex_stats.c
