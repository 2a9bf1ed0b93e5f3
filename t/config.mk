# t/config.mk: unit tests of the configuration layer (lib/mail/config.c,
# domains.c, netlist.c).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
check_PROGRAMS += t/config_test t/domains_test
TESTS += t/config_test t/domains_test
t_config_test_SOURCES = t/config_test.c t/testutil.c t/testutil.h
t_config_test_LDADD = $(SLUICE_LIBS)
t_domains_test_SOURCES = t/domains_test.c t/testutil.c t/testutil.h
t_domains_test_LDADD = $(SLUICE_LIBS)
# The route= and tls= grammars (lib/mail/route.c), shared by the domains
# file, qmgr's job records and deliver.
check_PROGRAMS += t/route_test
TESTS += t/route_test
t_route_test_SOURCES = t/route_test.c
t_route_test_LDADD = $(SLUICE_LIBS)
