/*
 * selfaddr - would a connection to this address reach our own SMTP
 * service? One answer for deliver (never send mail to ourselves: RFC
 * 5321 5.1) and for the DNS setup check (which MX hosts are we).
 *
 * On a port we listen on: one of our listening addresses (smtp_listen),
 * an address of one of our interfaces, or, when we listen on every
 * address, any loopback address. For MX hosts also 0.0.0.0/8 and "::"
 * on any port: they mean this host (RFC 1122 3.2.1.3), never a mail
 * server of the Internet. On a port we do not listen on, another MTA of
 * this machine (a test sink, a content filter) is a legitimate next hop.
 * IPv4-mapped IPv6 addresses compare equal to their IPv4 form.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_MAIL_SELFADDR_H
#define SLUICE_MAIL_SELFADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct config;

/* The addresses of this host's interfaces. */
struct self_addrs {
	struct sockaddr_storage *v;
	size_t n;
};

/* self_addrs_refresh - relearn the interface addresses; 0, or -1 (errno) and none */
int self_addrs_refresh(struct self_addrs *l);
/* self_addrs_clear - free the list and leave it empty */
void self_addrs_clear(struct self_addrs *l);
/* self_same_addr - the same IP address (ports ignored; IPv4-mapped as IPv4)? */
bool self_same_addr(const struct sockaddr *a, const struct sockaddr *b);
/*
 * self_addr_is_us - would a connection to sa on port reach cfg's SMTP
 * listeners? mx: sa is an MX host's address (0.0.0.0/8 and "::" count
 * as us on any port). l: from self_addrs_refresh().
 */
bool self_addr_is_us(const struct config *cfg, const struct self_addrs *l,
    const struct sockaddr *sa, unsigned port, bool mx);

#endif
