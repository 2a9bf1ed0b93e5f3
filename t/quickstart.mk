# t/quickstart.mk: the README's quick start as written (t/23-quick-start.t):
# build.sh run-config makes its config, README.md gives the command lines.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
QUICKSTART_TESTS = t/23-quick-start.t
TESTS += $(QUICKSTART_TESTS)
EXTRA_DIST += $(QUICKSTART_TESTS) README.md build.sh
