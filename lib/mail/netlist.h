/*
 * netlist - lists of client networks: mynetworks, etrn_from=.
 *
 * Text form: entries separated by commas and/or white space, each an
 * address or a CIDR network, IPv6 optionally in brackets:
 *
 *	127.0.0.0/8 [::1]/128 10.1.2.3, 2001:db8::/32
 *
 * An IPv4 entry also matches the same address as an IPv4-mapped IPv6
 * client (::ffff:10.1.2.3), since a dual-stack listener sees those.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_MAIL_NETLIST_H
#define SLUICE_MAIL_NETLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct netlist;

/*
 * netlist_parse - parse text into a new list in *nl_r (an empty text gives
 * an empty list that matches nothing). 0 ok; -1 with a new message in
 * *err_r naming the bad entry (free it).
 */
int netlist_parse(const char *text, struct netlist **nl_r, char **err_r);

/* netlist_free - free the list; sets *nlp to NULL */
void netlist_free(struct netlist **nlp);

/* netlist_match - is the address in one of the networks? NULL list: false */
bool netlist_match(const struct netlist *nl, const struct sockaddr *sa);

/* netlist_count - number of entries */
size_t netlist_count(const struct netlist *nl);

#endif
