/*
 * dnscheck - the DNS setup check of a customer domain (sluice(8) "check",
 * also run by `sluice config check` and by qmgr at start and reload).
 *
 * A secondary MX works only if the domain's DNS says so: this host is one
 * of its MX hosts, and the site's own MX is preferred over it (a lower
 * preference number), or else the domains file gives a route= to the
 * site. One check, on the event loop, with the resolver of mail/dns.h:
 *
 *	MX lookup of the domain (no MX: the domain itself, preference 0,
 *	    RFC 5321 5.1)
 *	the addresses of every MX host
 *	which of them are this host: myhostname, the host of fleet_name,
 *	    or an address that reaches our SMTP listeners on smtp_mx_port
 *	    (mail/selfaddr.h, the answer deliver uses against loops)
 *	PTR of each address of our listed hosts, and the forward lookup
 *	    of a PTR name that is not the MX name (forward-confirmed rDNS)
 *	the addresses of each fleet peer named by host name
 *
 * and then findings, each with a verdict:
 *
 *	ok		as it should be
 *	info		a fact (an MX host and its addresses)
 *	warning		works, but something is off (reverse DNS, a fleet
 *			peer missing or at another preference, no MX record)
 *	error		mail will not arrive or not leave: the domain is not
 *			ours, does not exist, we are not listed, or we are
 *			the best MX without a route (a loop)
 *
 * The check itself never connects to anything but DNS servers: where the
 * site could be reached (the route's host, or the MX hosts preferred over
 * us) is handed back as targets, for `sluice check` to try.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_MAIL_DNSCHECK_H
#define SLUICE_MAIL_DNSCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "mail/dns.h"

struct config;
struct dns;
struct dnscheck;
struct self_addrs;

enum dnscheck_verdict {
	DNSCHECK_OK = 0,
	DNSCHECK_INFO,
	DNSCHECK_WARNING,
	DNSCHECK_ERROR,
};

/* The check names of findings (the JSON "check" member). */
#define DNSCHECK_DOMAIN		"domain"	/* in the domains file? */
#define DNSCHECK_MX		"mx"		/* the MX lookup, and each MX host */
#define DNSCHECK_LISTED		"listed"	/* is this host an MX host? */
#define DNSCHECK_PREFERENCE	"preference"	/* is the site's MX better than ours? */
#define DNSCHECK_FLEET		"fleet"		/* peers at our preference */
#define DNSCHECK_PTR		"ptr"		/* reverse DNS of our listed addresses */
#define DNSCHECK_REACH		"reach"		/* the route or better MX answers 220 */

struct dnscheck_finding {
	enum dnscheck_verdict verdict;
	const char *check;	/* a DNSCHECK_* name */
	char *text;		/* one line, no verdict word */
	char *host;		/* the host it is about, or NULL */
	char *addr;		/* the address it is about, or NULL */
	long pref;		/* an MX preference, or -1 */
	long ms;		/* time taken (reach), or -1 */
};

/* Where the site could be reached now: the route's host, or a better MX. */
struct dnscheck_target {
	char *host;
	struct sockaddr_storage sa;	/* port set */
	socklen_t len;
	unsigned port;
};

struct dnscheck_result {
	char *domain;
	enum dns_status mx_status;	/* of the MX lookup */
	bool no_server;		/* no DNS server answered the MX lookup */
	char mx_why[96];	/* why the MX lookup failed; "" if it did not */
	bool customer;		/* the domain is in the domains file */
	struct dnscheck_finding *v;
	size_t n;
	struct dnscheck_target *targets;
	size_t ntargets;
};

/* The check is done: res is the caller's (dnscheck_result_free). */
typedef void dnscheck_done_fn(struct dnscheck_result *res, void *ctx);

/*
 * dnscheck_start - check domain's DNS setup with dns, against cfg and the
 * interface addresses self (both borrowed until done or cancelled). fn
 * runs once, later, from the loop. The handle is gone after it ran.
 */
struct dnscheck *dnscheck_start(struct dns *dns, const struct config *cfg,
    const struct self_addrs *self, const char *domain, dnscheck_done_fn *fn,
    void *ctx);
/* dnscheck_cancel - stop a check before it is done (fn never runs); NULLs *cp */
void dnscheck_cancel(struct dnscheck **cp);

/* dnscheck_add - append a finding (text from fmt) to res; host/addr may be NULL */
struct dnscheck_finding *dnscheck_add(struct dnscheck_result *res,
    enum dnscheck_verdict v, const char *check, const char *host,
    const char *addr, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* dnscheck_result_free - free *resp and NULL it */
void dnscheck_result_free(struct dnscheck_result **resp);
/* dnscheck_worst - the worst verdict of res's findings (DNSCHECK_OK if none) */
enum dnscheck_verdict dnscheck_worst(const struct dnscheck_result *res);
/* dnscheck_verdict_name - "ok", "info", "warning", "error" */
const char *dnscheck_verdict_name(enum dnscheck_verdict v);

/*
 * A batch: every domain of cfg's domains table, checked a few at a time
 * (parallel at once, a new one at most every interval_ms), for config
 * check and for qmgr at start and reload. each sees every result (valid
 * during the call). When a check finds that no DNS server answers, the
 * others are cancelled: done gets skipped, the reason; otherwise NULL.
 * After done returns the batch is gone. done and each may not free dns.
 */
struct ev_loop;
struct dnscheck_batch;

typedef void dnscheck_each_fn(const struct dnscheck_result *res, void *ctx);
typedef void dnscheck_batch_done_fn(size_t checked, size_t total,
    const char *skipped, void *ctx);

/* dnscheck_batch_start - check every domain of cfg (borrowed until done) */
struct dnscheck_batch *dnscheck_batch_start(struct ev_loop *loop,
    struct dns *dns, const struct config *cfg, const struct self_addrs *self,
    size_t parallel, unsigned interval_ms, dnscheck_each_fn *each,
    dnscheck_batch_done_fn *done, void *ctx);
/* dnscheck_batch_cancel - stop it (done never runs); NULLs *bp */
void dnscheck_batch_cancel(struct dnscheck_batch **bp);

#endif
