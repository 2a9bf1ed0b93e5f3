# lib/mail/dsn.mk: delivery status notifications (RFC 3461/3464/6522),
# see lib/mail/dsn.h.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
lib_mail_libsluice_mail_a_SOURCES += lib/mail/dsn.c lib/mail/dsn.h
lib_mail_libsluice_mail_a_SOURCES += lib/mail/dsn_field.c lib/mail/dsn_out.c lib/mail/dsn_int.h
