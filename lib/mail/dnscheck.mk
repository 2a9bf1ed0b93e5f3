# lib/mail/dnscheck.mk: the DNS setup check of customer domains (issue 11)
# and what it shares with deliver: which addresses are this host's.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
lib_mail_libsluice_mail_a_SOURCES += lib/mail/selfaddr.c lib/mail/selfaddr.h
lib_mail_libsluice_mail_a_SOURCES += lib/mail/dnscheck.c lib/mail/dnscheck.h
lib_mail_libsluice_mail_a_SOURCES += lib/mail/dnscheck_batch.c
