/*
 * domains - the table of customer domains (sluice-domains(5)).
 *
 * One line per domain, "domain key=value ...", "#" comments:
 *
 *	site.example mode=hold route=[127.0.0.1]:2626 finger=yes owner=demo
 *
 * Keys: mode=hold|backup, route=[host]:port|[host]|mx|client[:port] (route.h), lease=TIME,
 * lifetime=TIME, warn=TIME, etrn_from=NET,NET, finger=yes|no,
 * probe=TIME|no, tls=may|encrypt|verify (route.h), recipients=FILE, group=NAME,
 * owner=CUSTOMER, notify=ADDRESS, home=HOST:PORT (home.h: this host or one
 * of peers, as the peers list writes it), max_messages=N|none,
 * max_bytes=SIZE|none (quota.h). Keys not given take sluice.conf's
 * defaults (default_domain_mode, default_lease, maximal_queue_lifetime,
 * delay_warning_time, default_probe_interval, default_max_messages,
 * default_max_bytes).
 *
 * Names are case-insensitive and stored lowercase; lookups are O(1)
 * through a hash table, so a table of thousands of domains costs nothing
 * per RCPT. A table is immutable after loading: a reload builds a new
 * one.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_MAIL_DOMAINS_H
#define SLUICE_MAIL_DOMAINS_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/netlist.h"
#include "mail/route.h"

struct config;
struct config_errors;
struct domain_table;
struct rcpt_set;

/* mode=: index into the choices "hold backup" */
enum domain_mode {
	DOMAIN_MODE_HOLD = 0,	/* queue; deliver only when triggered */
	DOMAIN_MODE_BACKUP = 1,	/* classic secondary MX: retry the primary */
};

struct domain {
	char *name;		/* lowercase */
	enum domain_mode mode;
	struct route route;	/* route= (route.h); mx unless given */
	long lease;		/* seconds a trigger keeps the gate open */
	long lifetime;		/* seconds before queued mail bounces */
	long warn;		/* seconds before a delay notice; 0 = none */
	long probe;		/* probe interval in seconds; 0 = no probing */
	struct netlist *etrn_from; /* NULL = any client may ETRN */
	bool finger;		/* finger domain@mx is a trigger */
	enum route_tls tls;	/* tls= (route.h); may unless given */
	char *group;		/* ETRN #group name, or NULL */
	char *owner;		/* customer login owning the domain, or NULL */
	char *notify;		/* address told about the domain, or NULL */
	struct rcpt_set *recipients; /* NULL = any recipient */
	char *recipients_file;	/* as resolved, for printing; or NULL */
	char *home;		/* home=: a fleet name (home.h), or NULL: hashed */
	long max_messages;	/* held messages at most (quota.h); 0 = no cap */
	long max_bytes;		/* held bytes at most; 0 = no cap */
	const char *file;	/* domains file and line it came from */
	unsigned int line;
};

/*
 * domain_table_load - read a domains file. Defaults and relative
 * recipients= paths come from cfg (its default_* fields and
 * config_directory). On success stores a new table in *t_r and returns 0;
 * on failure returns -1 with "FILE:LINE: ..." messages added to errs, and
 * *t_r is NULL.
 */
int domain_table_load(const char *path, const struct config *cfg,
    struct domain_table **t_r, struct config_errors *errs);

/* domain_table_new - an empty table (no domains file) */
struct domain_table *domain_table_new(void);

/* domain_table_free - free a table and its domains; sets *tp to NULL */
void domain_table_free(struct domain_table **tp);

/* domain_find - the domain named name (case-insensitive), or NULL */
const struct domain *domain_find(const struct domain_table *t,
    const char *name);

/* domain_count - how many domains the table holds */
size_t domain_count(const struct domain_table *t);

/*
 * domain_table_walk - call fn for every domain in file order; stops at
 * and returns the first non-zero value fn returns, else 0.
 */
int domain_table_walk(const struct domain_table *t,
    int (*fn)(const struct domain *d, void *ctx), void *ctx);

/*
 * domain_rcpt_known - may mailbox ("local@domain") be accepted for d?
 * True if d has no recipients= list, or the list holds the full address
 * or its local part (case-insensitive).
 */
bool domain_rcpt_known(const struct domain *d, const char *mailbox);

/* domain_mode_name - the mode= keyword of a value */
const char *domain_mode_name(enum domain_mode mode);

#endif
