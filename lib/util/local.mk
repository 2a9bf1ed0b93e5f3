# lib/util: the layer that knows nothing of mail.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
noinst_LIBRARIES += lib/util/libsluice_util.a
lib_util_libsluice_util_a_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS)
lib_util_libsluice_util_a_SOURCES = \
	lib/util/xmalloc.c lib/util/xmalloc.h \
	lib/util/log.c lib/util/log.h \
	lib/util/events.c lib/util/events.h \
	lib/util/ipc.c lib/util/ipc.h \
	lib/util/htable.c lib/util/htable.h \
	lib/util/timemath.h \
	lib/util/chunk.c lib/util/chunk.h \
	lib/util/sdnotify.c lib/util/sdnotify.h \
	lib/util/cmdline.c lib/util/cmdline.h \
	lib/util/workq.c lib/util/workq.h
