# lib/mail/config.mk: the configuration layer (sluice.conf, domains,
# network lists). See lib/mail/conf.h.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
lib_mail_libsluice_mail_a_SOURCES += \
	lib/mail/config.c lib/mail/conf.h \
	lib/mail/config_value.c lib/mail/config_print.c lib/mail/config_int.h \
	lib/mail/domains.c lib/mail/domains.h \
	lib/mail/netlist.c lib/mail/netlist.h
lib_mail_libsluice_mail_a_SOURCES += lib/mail/route.c lib/mail/route.h
lib_mail_libsluice_mail_a_SOURCES += lib/mail/home.c lib/mail/home.h
