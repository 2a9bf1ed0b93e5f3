# deliver: the delivery agent (deliver(8sluice)). Everything but main() is in
# a convenience library that the tests link too.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
pkglibexec_PROGRAMS += deliver/deliver
noinst_LIBRARIES += deliver/libdeliver.a
deliver_libdeliver_a_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS) $(CARES_CFLAGS)
deliver_libdeliver_a_SOURCES = deliver/deliver.h deliver/deliver_init.c \
	deliver/deliver_qmgr.c deliver/deliver_job.c deliver/deliver_route.c \
	deliver/deliver_conn.c
deliver_deliver_SOURCES = deliver/deliver.c
deliver_deliver_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS) $(CARES_CFLAGS)
deliver_deliver_LDADD = deliver/libdeliver.a $(SLUICE_LIBS)
dist_man_MANS += man/deliver.8sluice
