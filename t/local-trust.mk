# t/local-trust.mk: local users and files (issue 7, items 9-13): who may
# use the control socket, the secrets file's modes, a clean stop, qmgr's
# delay-warning timers, daemons the sluice user cannot reach.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
LOCAL_TRUST_TESTS = \
	t/90-operator-access.t \
	t/91-passwd-modes.t \
	t/92-stop-clean.t \
	t/93-warn-timers.t \
	t/94-unreachable.t
TESTS += $(LOCAL_TRUST_TESTS)
EXTRA_DIST += $(LOCAL_TRUST_TESTS)
