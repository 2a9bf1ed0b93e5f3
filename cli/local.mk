# cli: the operator tool. Everything but main() is in a convenience
# library, so that t/cli_test links the same code (STYLE.md rule 3).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
noinst_LIBRARIES += cli/libsluice_cli.a
cli_libsluice_cli_a_SOURCES = \
	cli/cli.h \
	cli/cli_cmd.c \
	cli/cli_check.c \
	cli/cli_config.c \
	cli/cli_confedit.c \
	cli/cli_control.c \
	cli/cli_json.c \
	cli/cli_passwd.c \
	cli/cli_qfmt.c \
	cli/cli_queue.c
cli_libsluice_cli_a_SOURCES += cli/cli_fleet.c
# sluice check DOMAIN: the DNS setup check (issue 11).
cli_libsluice_cli_a_SOURCES += cli/cli_dns.c

sbin_PROGRAMS += cli/sluice
cli_sluice_SOURCES = cli/sluice.c
cli_sluice_LDADD = cli/libsluice_cli.a $(SLUICE_LIBS)

dist_man_MANS += man/sluice.8

check_PROGRAMS += t/cli_test
TESTS += t/cli_test
t_cli_test_SOURCES = t/cli_test.c t/tap.h
t_cli_test_LDADD = cli/libsluice_cli.a $(SLUICE_LIBS)

# The CLI's config commands and every program's --help/--version.
TESTS += t/79-config-cli.t
EXTRA_DIST += t/79-config-cli.t
# The operator's queue commands against a real sluice (issue 10): filters,
# count, delete --all and -, show's parts, message counts, the JSON.
TESTS += t/69-queue-cli.t
EXTRA_DIST += t/69-queue-cli.t
# sluice check DOMAIN against a fake DNS, and the same checks at config
# check and in qmgr at start and reload (issue 11).
TESTS += t/29-dns-check.t
EXTRA_DIST += t/29-dns-check.t
