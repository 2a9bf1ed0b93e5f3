# t/fuzz: libFuzzer harnesses, one per parser family that reads outside
# bytes, each with its seed corpus in t/fuzz/corpus/NAME/ (and a
# dictionary t/fuzz/NAME.dict where one helps). Built only in a tree
# configured with `CC=clang --enable-fuzz`, by `make fuzz`; run by
# `./build.sh fuzz` (t/fuzz/run). See HACKING.md.
#
# The harnesses are EXTRA_PROGRAMS: never built by `make` or `make check`.
# Every object of a fuzz build is instrumented (SAN_CFLAGS, configure.ac);
# only the harness link adds libFuzzer's main() (FUZZ_LDFLAGS).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
FUZZ_HARNESSES = \
	t/fuzz/fuzz_smtp_cmd \
	t/fuzz/fuzz_address \
	t/fuzz/fuzz_etrn_arg \
	t/fuzz/fuzz_finger \
	t/fuzz/fuzz_sasl \
	t/fuzz/fuzz_smtp_reply \
	t/fuzz/fuzz_ipc \
	t/fuzz/fuzz_proto \
	t/fuzz/fuzz_queue_file \
	t/fuzz/fuzz_queue_journal \
	t/fuzz/fuzz_config \
	t/fuzz/fuzz_domains \
	t/fuzz/fuzz_passwd \
	t/fuzz/fuzz_netlist \
	t/fuzz/fuzz_turn_finger \
	t/fuzz/fuzz_quota_file \
	t/fuzz/fuzz_pop3_cmd \
	t/fuzz/fuzz_header
EXTRA_PROGRAMS += $(FUZZ_HARNESSES)
CLEANFILES += $(FUZZ_HARNESSES)
FUZZ_COMMON = t/fuzz/fuzz.h t/fuzz/fuzz_util.c
FUZZ_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS)
FUZZ_LINK = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
EXTRA_DIST += t/fuzz/run t/fuzz/corpus t/fuzz/config.dict t/fuzz/domains.dict \
	t/fuzz/ipc.dict t/fuzz/proto.dict t/fuzz/sasl.dict t/fuzz/smtp_cmd.dict \
	t/fuzz/smtp_reply.dict
t_fuzz_fuzz_smtp_cmd_SOURCES = t/fuzz/fuzz_smtp_cmd.c $(FUZZ_COMMON)
t_fuzz_fuzz_smtp_cmd_CPPFLAGS = $(FUZZ_CPPFLAGS)
t_fuzz_fuzz_smtp_cmd_LDFLAGS = $(FUZZ_LINK)
t_fuzz_fuzz_smtp_cmd_LDADD = $(SLUICE_LIBS)
t_fuzz_fuzz_address_SOURCES = t/fuzz/fuzz_address.c $(FUZZ_COMMON)
t_fuzz_fuzz_address_CPPFLAGS = $(FUZZ_CPPFLAGS)
t_fuzz_fuzz_address_LDFLAGS = $(FUZZ_LINK)
t_fuzz_fuzz_address_LDADD = $(SLUICE_LIBS)
t_fuzz_fuzz_etrn_arg_SOURCES = t/fuzz/fuzz_etrn_arg.c $(FUZZ_COMMON)
t_fuzz_fuzz_etrn_arg_CPPFLAGS = $(FUZZ_CPPFLAGS)
t_fuzz_fuzz_etrn_arg_LDFLAGS = $(FUZZ_LINK)
t_fuzz_fuzz_etrn_arg_LDADD = smtpd/libsmtpd.a etrn/libetrn.a $(SLUICE_LIBS)
t_fuzz_fuzz_finger_SOURCES = t/fuzz/fuzz_finger.c $(FUZZ_COMMON)
t_fuzz_fuzz_finger_CPPFLAGS = $(FUZZ_CPPFLAGS)
t_fuzz_fuzz_finger_LDFLAGS = $(FUZZ_LINK)
t_fuzz_fuzz_finger_LDADD = fingerd/libfingerd.a $(SLUICE_LIBS)
t_fuzz_fuzz_sasl_SOURCES = t/fuzz/fuzz_sasl.c $(FUZZ_COMMON)
t_fuzz_fuzz_sasl_CPPFLAGS = $(FUZZ_CPPFLAGS)
t_fuzz_fuzz_sasl_LDFLAGS = $(FUZZ_LINK)
t_fuzz_fuzz_sasl_LDADD = $(SLUICE_LIBS)
t_fuzz_fuzz_smtp_reply_SOURCES = t/fuzz/fuzz_smtp_reply.c $(FUZZ_COMMON)
t_fuzz_fuzz_smtp_reply_CPPFLAGS = $(FUZZ_CPPFLAGS)
t_fuzz_fuzz_smtp_reply_LDFLAGS = $(FUZZ_LINK)
t_fuzz_fuzz_smtp_reply_LDADD = $(SLUICE_LIBS)
t_fuzz_fuzz_ipc_SOURCES = t/fuzz/fuzz_ipc.c $(FUZZ_COMMON)
t_fuzz_fuzz_ipc_CPPFLAGS = $(FUZZ_CPPFLAGS)
t_fuzz_fuzz_ipc_LDFLAGS = $(FUZZ_LINK)
t_fuzz_fuzz_ipc_LDADD = $(SLUICE_LIBS)
t_fuzz_fuzz_proto_SOURCES = t/fuzz/fuzz_proto.c $(FUZZ_COMMON)
t_fuzz_fuzz_proto_CPPFLAGS = $(FUZZ_CPPFLAGS)
t_fuzz_fuzz_proto_LDFLAGS = $(FUZZ_LINK)
t_fuzz_fuzz_proto_LDADD = deliver/libdeliver.a etrn/libetrn.a cli/libsluice_cli.a $(SLUICE_LIBS)
t_fuzz_fuzz_queue_file_SOURCES = t/fuzz/fuzz_queue_file.c $(FUZZ_COMMON)
t_fuzz_fuzz_queue_file_CPPFLAGS = $(FUZZ_CPPFLAGS)
t_fuzz_fuzz_queue_file_LDFLAGS = $(FUZZ_LINK)
t_fuzz_fuzz_queue_file_LDADD = $(SLUICE_LIBS)
t_fuzz_fuzz_queue_journal_SOURCES = t/fuzz/fuzz_queue_journal.c $(FUZZ_COMMON)
t_fuzz_fuzz_queue_journal_CPPFLAGS = $(FUZZ_CPPFLAGS)
t_fuzz_fuzz_queue_journal_LDFLAGS = $(FUZZ_LINK)
t_fuzz_fuzz_queue_journal_LDADD = $(SLUICE_LIBS)
t_fuzz_fuzz_config_SOURCES = t/fuzz/fuzz_config.c $(FUZZ_COMMON)
t_fuzz_fuzz_config_CPPFLAGS = $(FUZZ_CPPFLAGS)
t_fuzz_fuzz_config_LDFLAGS = $(FUZZ_LINK)
t_fuzz_fuzz_config_LDADD = $(SLUICE_LIBS)
t_fuzz_fuzz_domains_SOURCES = t/fuzz/fuzz_domains.c $(FUZZ_COMMON)
t_fuzz_fuzz_domains_CPPFLAGS = $(FUZZ_CPPFLAGS)
t_fuzz_fuzz_domains_LDFLAGS = $(FUZZ_LINK)
t_fuzz_fuzz_domains_LDADD = $(SLUICE_LIBS)
t_fuzz_fuzz_passwd_SOURCES = t/fuzz/fuzz_passwd.c $(FUZZ_COMMON)
t_fuzz_fuzz_passwd_CPPFLAGS = $(FUZZ_CPPFLAGS)
t_fuzz_fuzz_passwd_LDFLAGS = $(FUZZ_LINK)
t_fuzz_fuzz_passwd_LDADD = $(SLUICE_LIBS)
t_fuzz_fuzz_netlist_SOURCES = t/fuzz/fuzz_netlist.c $(FUZZ_COMMON)
t_fuzz_fuzz_netlist_CPPFLAGS = $(FUZZ_CPPFLAGS)
t_fuzz_fuzz_netlist_LDFLAGS = $(FUZZ_LINK)
t_fuzz_fuzz_netlist_LDADD = $(SLUICE_LIBS)

# make fuzz - build every harness (a tree configured with --enable-fuzz)
if FUZZ
fuzz: $(FUZZ_HARNESSES)
else
fuzz:
	@echo "make fuzz: configure this tree with CC=clang --enable-fuzz" \
	    "(or run ./build.sh fuzz)" >&2; exit 1
endif
.PHONY: fuzz
# The fleet's peer client (issue 9).
FUZZ_HARNESSES += t/fuzz/fuzz_peer
t_fuzz_fuzz_peer_SOURCES = t/fuzz/fuzz_peer.c $(FUZZ_COMMON)
t_fuzz_fuzz_peer_CPPFLAGS = $(FUZZ_CPPFLAGS)
t_fuzz_fuzz_peer_LDFLAGS = $(FUZZ_LINK)
t_fuzz_fuzz_peer_LDADD = $(SLUICE_LIBS)
t_fuzz_fuzz_quota_file_SOURCES = t/fuzz/fuzz_quota_file.c $(FUZZ_COMMON)
t_fuzz_fuzz_quota_file_CPPFLAGS = $(FUZZ_CPPFLAGS)
t_fuzz_fuzz_quota_file_LDFLAGS = $(FUZZ_LINK)
t_fuzz_fuzz_quota_file_LDADD = $(SLUICE_LIBS)
t_fuzz_fuzz_pop3_cmd_SOURCES = t/fuzz/fuzz_pop3_cmd.c $(FUZZ_COMMON)
t_fuzz_fuzz_pop3_cmd_CPPFLAGS = $(FUZZ_CPPFLAGS)
t_fuzz_fuzz_pop3_cmd_LDFLAGS = $(FUZZ_LINK)
t_fuzz_fuzz_pop3_cmd_LDADD = pop3/libpop3.a $(SLUICE_LIBS)
t_fuzz_fuzz_header_SOURCES = t/fuzz/fuzz_header.c $(FUZZ_COMMON)
t_fuzz_fuzz_header_CPPFLAGS = $(FUZZ_CPPFLAGS)
t_fuzz_fuzz_header_LDFLAGS = $(FUZZ_LINK)
t_fuzz_fuzz_header_LDADD = $(SLUICE_LIBS)
