# lib/mail/smtp.mk: the SMTP grammar (commands, parameters, xtext), the
# catalogue of server replies, customer credentials and server-side SASL.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
lib_mail_libsluice_mail_a_SOURCES += \
	lib/mail/smtp_cmd.c lib/mail/smtp_cmd.h \
	lib/mail/smtp_reply.h \
	lib/mail/passwd.c lib/mail/passwd.h \
	lib/mail/sasl.c lib/mail/sasl.h
# The fleet: the peer secret, the peers' addresses, the peer client (peer.h).
lib_mail_libsluice_mail_a_SOURCES += lib/mail/peer.c lib/mail/peer.h
