# t/turn.mk: sluice-turn(1), the site program, against two sluice MX hosts.
TURN_TESTS = t/71-turn-etrn.t t/72-turn-wait.t
TESTS += $(TURN_TESTS)
EXTRA_DIST += $(TURN_TESTS) t/lib/TurnFleet.pm
