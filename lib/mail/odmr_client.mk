# lib/mail/odmr_client.mk: the customer's side of ODMR (RFC 2645) that
# `sluice-turn atrn` runs: log in, ATRN, and serve the turned connection,
# relaying each message to the site's MTA by SMTP or LMTP.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
lib_mail_libsluice_mail_a_SOURCES += \
	lib/mail/odmr_client.c lib/mail/odmr_client.h \
	lib/mail/odmr_client_int.h lib/mail/odmr_client_io.c \
	lib/mail/odmr_client_mta.c lib/mail/odmr_client_turn.c
