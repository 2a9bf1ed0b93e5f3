# master: the supervisor
pkglibexec_PROGRAMS += master/master
master_master_SOURCES = master/master.c
master_master_LDADD = $(SLUICE_LIBS)
