# t/turn.mk: sluice-turn(1), the site program, against two sluice MX hosts.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
TURN_TESTS = t/71-turn-etrn.t t/72-turn-wait.t t/77-turn-atrn.t t/78-fleet-roundtrip.t
TESTS += $(TURN_TESTS)
EXTRA_DIST += $(TURN_TESTS) t/lib/TurnFleet.pm t/lib/LyingMX.pm
# The parsers of what an MX says (finger status) and the time grammar.
check_PROGRAMS += t/turn_test
TESTS += t/turn_test
t_turn_test_SOURCES = t/turn_test.c t/tap.h
t_turn_test_LDADD = turn/libturn.a $(SLUICE_LIBS)
# The fuzz harness of the finger status parser (listed in t/fuzz/local.mk).
t_fuzz_fuzz_turn_finger_SOURCES = t/fuzz/fuzz_turn_finger.c $(FUZZ_COMMON)
t_fuzz_fuzz_turn_finger_CPPFLAGS = $(FUZZ_CPPFLAGS)
t_fuzz_fuzz_turn_finger_LDFLAGS = $(FUZZ_LINK)
t_fuzz_fuzz_turn_finger_LDADD = turn/libturn.a $(SLUICE_LIBS)
