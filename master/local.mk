# master: the supervisor (master(8sluice))
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
pkglibexec_PROGRAMS += master/master
noinst_LIBRARIES += master/libmaster.a
master_libmaster_a_SOURCES = master/master.h master/master_run.c master/master_service.c \
	master/master_notify.c
master_master_SOURCES = master/master.c
master_master_LDADD = master/libmaster.a $(SLUICE_LIBS)
