# lib/mail: mail knowledge, built on lib/util. Modules add their sources
# from their own fragments (lib/mail/*.mk) with +=.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
noinst_LIBRARIES += lib/mail/libsluice_mail.a
lib_mail_libsluice_mail_a_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS) $(CARES_CFLAGS)
lib_mail_libsluice_mail_a_SOURCES = \
	lib/mail/address.c lib/mail/address.h \
	lib/mail/proto.c lib/mail/proto.h lib/mail/proto_rec.c lib/mail/proto_rec.h \
	lib/mail/daemon.c lib/mail/daemon.h
lib_mail_libsluice_mail_a_SOURCES += lib/mail/qctl.c lib/mail/qctl.h lib/mail/qctl_index.c \
	lib/mail/qctl_recon.c
lib_mail_libsluice_mail_a_SOURCES += lib/mail/qctl_client.c lib/mail/qctl_int.h
lib_mail_libsluice_mail_a_SOURCES += lib/mail/authlock.c lib/mail/authlock.h
lib_mail_libsluice_mail_a_SOURCES += lib/mail/daemon_server.c lib/mail/daemon_server.h
lib_mail_libsluice_mail_a_SOURCES += lib/mail/quota.c lib/mail/quota.h
lib_mail_libsluice_mail_a_SOURCES += lib/mail/header.c lib/mail/header.h
