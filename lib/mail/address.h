/*
 * address - the RFC 5321 mailbox and path grammar, in one place.
 *
 * Everything that handles an envelope address -- smtpd on the wire, the
 * queue reader, the index, IPC receivers -- checks it with these functions,
 * so an address read back from disk or from another process passes the
 * same grammar as one read from the network.
 *
 * Limits (RFC 5321 4.5.3.1): local-part 64 octets, domain 255, path 256.
 * Quoted local-parts are accepted (and kept quoted); address literals
 * ([1.2.3.4], [IPv6:...]) are accepted as domains. The stored form of an
 * address is "local@domain" without angle brackets; the null sender is "".
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_ADDRESS_H
#define SLUICE_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#define ADDRESS_LOCAL_MAX	64
#define ADDRESS_DOMAIN_MAX	255
#define ADDRESS_PATH_MAX	256

/* address_domain_ok - is s (len bytes) a valid domain or address literal? */
bool address_domain_ok(const char *s, size_t len);
/* address_mailbox_ok - is s a valid "local@domain" mailbox? */
bool address_mailbox_ok(const char *s);
/* address_stored_ok - a mailbox, or "" when null_ok (the null sender) */
bool address_stored_ok(const char *s, bool null_ok);

/*
 * address_parse_path - parse "<...>" at s (as after "MAIL FROM:").
 * Accepts an optional source route (discarded, RFC 5321 4.1.2) and, when
 * null_ok, "<>". On success returns 0, stores the mailbox in a new string
 * *addr_r ("" for <>) and points *end_r just past ">". -1 on bad syntax.
 */
int address_parse_path(const char *s, bool null_ok, char **addr_r, const char **end_r);

/* address_domain - pointer to the domain part of a stored mailbox (after '@') */
const char *address_domain(const char *mailbox);
/* address_domain_lower - new lowercase copy of the domain part */
char *address_domain_lower(const char *mailbox);
/* address_lower - new lowercase copy of a domain name (ASCII case only) */
char *address_lower(const char *domain);
/* address_localpart - new copy of the local part */
char *address_localpart(const char *mailbox);

#endif
