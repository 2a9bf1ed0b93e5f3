/*
 * authlock - lock a login, and a client address, out after repeated
 * failed logins, across every door that checks passwords (smtpd AUTH,
 * the ODMR server, the web login page).
 *
 * The doors are separate processes, so the counts live in files, one per
 * key, under queue_directory/private/authlock/ (0700, the sluice user):
 *
 *	L-LOGIN		a login name (passwd_login_ok() names only)
 *	C-ADDRESS	a client's numeric address
 *
 * each holding one line "failures last-failure locked-until" (decimal,
 * Unix seconds). Every read-modify-write holds flock(LOCK_EX) on the
 * file, so two doors failing at once both count; a file that does not
 * parse counts as no failures (losing a count is harmless, refusing a
 * customer forever would not be). Nothing is fsync'd: after a crash the
 * counts may start over.
 *
 * Policy (sluice.conf(5)):
 *	- a failure counts for the login and for the client, unless that
 *	  key is locked already (a lockout is never prolonged by attempts,
 *	  so the customer can always get back in after auth_lockout_time);
 *	- the counts start over once auth_lockout_time passes without a
 *	  failure, and a good login clears its login's count;
 *	- at auth_lockout_failures for a login, or
 *	  auth_client_lockout_failures for an address, that key is locked
 *	  for auth_lockout_time; 0 never locks that kind of key;
 *	- a locked key makes even the right password fail; the door gives
 *	  the reply of a wrong password, so a guesser learns nothing.
 *
 * Stale files (no failure for auth_lockout_time, not locked) are removed
 * by authlock_fail() at most once per auth_lockout_time per process.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_MAIL_AUTHLOCK_H
#define SLUICE_MAIL_AUTHLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct config;

/*
 * authlock_locked - is login (may be NULL) or client locked out now?
 * When so, *why_r is "login locked out" or "client locked out", for the
 * log line only.
 */
bool authlock_locked(const struct config *cfg, const char *login,
    const char *client, const char **why_r);

/* authlock_fail - count one failed login of login (may be NULL) from client */
void authlock_fail(const struct config *cfg, const char *login,
    const char *client);

/* authlock_success - login logged in: forget its failures */
void authlock_success(const struct config *cfg, const char *login);

/* The longest pause a failed login costs, however many came before. */
#define AUTHLOCK_DELAY_MAX_MS	60000

/*
 * authlock_delay_ms - how long a session waits before it answers its
 * failures-th failed login (1 = the first): auth_failure_delay, doubled
 * for each failure before, at most AUTHLOCK_DELAY_MAX_MS. Guessing
 * passwords costs the guesser more the longer it goes on; every door
 * waits on a timer, never in a process.
 */
uint64_t authlock_delay_ms(const struct config *cfg, unsigned failures);

#endif
