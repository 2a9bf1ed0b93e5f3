# t/: tests. C unit tests are check_PROGRAMS that print TAP; Perl
# integration tests are *.t scripts. Module fragments (t/*.mk) add to both.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
EXTRA_DIST += t/tap.h
