# lib/mail/client.mk: the outbound side: DNS lookups on the event loop
# (c-ares) and the SMTP client engine that deliver (and ODMR) drive.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
lib_mail_libsluice_mail_a_SOURCES += \
	lib/mail/dns.c lib/mail/dns.h
lib_mail_libsluice_mail_a_SOURCES += \
	lib/mail/smtp_client.c lib/mail/smtp_client.h
lib_mail_libsluice_mail_a_SOURCES += \
	lib/mail/smtp_client_reply.c lib/mail/smtp_client_conn.c lib/mail/smtp_client_int.h
