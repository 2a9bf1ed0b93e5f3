# turn: sluice-turn(1), the site's program (etrn, wait, check). Everything
# but main() is in a convenience library that tests can link too.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
noinst_LIBRARIES += turn/libturn.a
turn_libturn_a_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS) $(CARES_CFLAGS)
turn_libturn_a_SOURCES = turn/turn.h turn/turn_conn.c turn/turn_mx.c \
	turn/turn_etrn.c turn/turn_finger.c turn/turn_wait.c \
	turn/turn_report.c turn/turn_atrn.c
bin_PROGRAMS += turn/sluice-turn
turn_sluice_turn_SOURCES = turn/turn.c
turn_sluice_turn_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS) $(CARES_CFLAGS)
turn_sluice_turn_LDADD = turn/libturn.a $(SLUICE_LIBS)
dist_man_MANS += man/sluice-turn.1
# The example ip-up hook: etrn, then wait, then the link may go down.
turnexampledir = $(docdir)/examples/ip-up.d
dist_turnexample_SCRIPTS = conf/ip-up.d/sluice-turn
