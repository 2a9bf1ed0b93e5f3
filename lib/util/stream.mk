# lib/util/stream.mk: buffered non-blocking streams with TLS, and the
# OpenSSL contexts they use.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
lib_util_libsluice_util_a_SOURCES += \
	lib/util/stream.c lib/util/stream.h \
	lib/util/tls.c lib/util/tls.h
lib_util_libsluice_util_a_SOURCES += lib/util/stream_buf.c lib/util/stream_int.h
