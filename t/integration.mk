# t/integration.mk: the Perl integration tests. Each t/NN-name.t starts a
# real sluice on free loopback ports in its own temp directory
# (t/lib/SluiceTest.pm), so they may run in parallel (make -j2 check).
# They run through the TAP driver with t/lib on @INC (T_LOG_COMPILER).
# The longest come first, so that -j2 keeps both cores busy to the end.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
INTEGRATION_TESTS = \
	t/30-crash.t \
	t/20-smtp-source.t \
	t/50-bad-input.t \
	t/40-restart.t \
	t/10-receive.t \
	t/60-config.t \
	t/70-pflogsumm.t \
	t/39-soak.t
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) t/lib/SluiceTest.pm \
	t/data/config.expected t/data/smtp-source.msg t/lib/Crash.pm

# Protocol framing on the SMTP port, the web door's request checks and
# the login lockout shared by every door (issue 7, items 15-17).
FRAME_TESTS = t/58-smtp-framing.t t/44-auth-lockout.t t/45-web-request.t
TESTS += $(FRAME_TESTS)
EXTRA_DIST += $(FRAME_TESTS)
EXTRA_DIST += t/lib/SmtpSink.pm

# STYLE.md rule 15: the files .clang-format already formats stay so.
TESTS += t/format.t
EXTRA_DIST += t/format.t .clang-format .clang-format-files

# A fleet: the home host of a domain and relaying held mail to it (issue 9).
FLEET_HOME_TESTS = t/76-fleet-home.t
TESTS += $(FLEET_HOME_TESTS)
EXTRA_DIST += $(FLEET_HOME_TESTS)

# route=client: a domain's mail to the address of its authenticated trigger (issue 9).
ROUTE_CLIENT_TESTS = t/34-route-client.t
TESTS += $(ROUTE_CLIENT_TESTS)
EXTRA_DIST += $(ROUTE_CLIENT_TESTS)

# A drain commits at most once a message; a partly delivered one keeps
# its journal across a restart; a failed bucket fsync is tried again (issue 12).
DRAIN_TESTS = t/39-drain-fsync.t t/39-bucket-sync-fail.t
TESTS += $(DRAIN_TESTS)
EXTRA_DIST += $(DRAIN_TESTS)
