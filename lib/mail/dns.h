/*
 * dns - asynchronous MX and address lookups (c-ares) on the event loop.
 *
 * One resolver per process, driven by util/events.h: c-ares tells us
 * which sockets to watch through ARES_OPT_SOCK_STATE_CB, we hand their
 * readiness to ares_process_fd(), and one timer follows ares_timeout().
 * (ares_fds()/ares_process() break past descriptor 1024 and are not used.)
 *
 * Results arrive through a callback, never from inside the call that
 * started the lookup, with a status that separates what a retry cannot
 * change (the name does not exist, or has no record of that type) from
 * what it may (SERVFAIL, timeout, refused, no server reachable):
 *
 *	DNS_OK		records found
 *	DNS_NXDOMAIN	permanent: the name does not exist
 *	DNS_NODATA	permanent: the name exists without such records
 *	DNS_NULLMX	permanent: the domain publishes a null MX (RFC 7505)
 *	DNS_TEMPFAIL	temporary: try again later (SERVFAIL, REFUSED, a
 *			timeout, and an answer that does not parse, such as
 *			a compression-pointer loop: never "not found")
 *
 * Whether a permanent status bounces mail is the caller's policy
 * (deliver: only for domains that are not our customers').
 *
 * MX answers are sorted by preference (equal preferences in random
 * order, RFC 5321 5.1). Address answers list IPv4 and IPv6 addresses in
 * the order c-ares sorts them (RFC 6724); /etc/hosts is consulted and
 * numeric addresses are answered without a query.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_MAIL_DNS_H
#define SLUICE_MAIL_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct ev_loop;
struct hostport_list;
struct dns;
struct dns_query;

enum dns_status {
	DNS_OK = 0,
	DNS_NXDOMAIN,
	DNS_NODATA,
	DNS_NULLMX,
	DNS_TEMPFAIL,
};

struct dns_mx {
	unsigned pref;
	char *host;		/* lowercase, without the trailing dot */
};

struct dns_mx_list {
	size_t n;
	struct dns_mx *v;
};

struct dns_addr {
	socklen_t len;
	struct sockaddr_storage sa;	/* AF_INET or AF_INET6, port 0 */
};

struct dns_addr_list {
	size_t n;
	struct dns_addr *v;
};

/* Names from a PTR answer: lowercase, without the trailing dot. */
struct dns_name_list {
	size_t n;
	char **v;
};

/*
 * The callbacks get the status, the records (NULL unless DNS_OK; valid
 * only during the call) and a short text for logs ("Domain not found",
 * "Timeout while contacting DNS servers"; "" on success).
 */
typedef void dns_mx_fn(enum dns_status st, const struct dns_mx_list *mx,
    const char *why, void *ctx);
typedef void dns_addr_fn(enum dns_status st, const struct dns_addr_list *addrs,
    const char *why, void *ctx);
typedef void dns_name_fn(enum dns_status st, const struct dns_name_list *names,
    const char *why, void *ctx);

/*
 * dns_new - a resolver on loop. servers lists name servers to ask
 * ("127.0.0.1:5353", "[::1]:53"); NULL or an empty list means
 * /etc/resolv.conf. NULL with a new error text in *err_r on failure.
 */
struct dns *dns_new(struct ev_loop *loop, const struct hostport_list *servers,
    char **err_r);
/*
 * dns_free - drop every lookup still pending (their callbacks never run)
 * and free *dnsp. Must not be called from a dns callback.
 */
void dns_free(struct dns **dnsp);
/* dns_set_timeout - per-try timeout (ms) and tries; only with no lookup pending */
void dns_set_timeout(struct dns *dns, int ms, int tries);
/*
 * dns_report_servfail - dns_set_timeout(), and from now on a SERVFAIL or
 * REFUSED answer ends the lookup at once (DNS_TEMPFAIL, with its own
 * text), instead of counting as a server that did not answer: for the
 * setup check (dnscheck.h), which must tell "this name's servers fail"
 * from "no DNS server answers" (dns_why_no_server).
 */
void dns_report_servfail(struct dns *dns, int ms, int tries);

/*
 * dns_lookup_mx - look up the MX records of domain. The returned handle
 * may be given to dns_query_cancel() until the callback has run; after
 * that it is gone.
 */
struct dns_query *dns_lookup_mx(struct dns *dns, const char *domain,
    dns_mx_fn *fn, void *ctx);
/* dns_lookup_addr - look up the A and AAAA records of host (or parse it) */
struct dns_query *dns_lookup_addr(struct dns *dns, const char *host,
    dns_addr_fn *fn, void *ctx);
/*
 * dns_lookup_ptr - look up the PTR records of an IPv4 or IPv6 address
 * (reverse DNS: the in-addr.arpa or ip6.arpa name), from DNS only
 */
struct dns_query *dns_lookup_ptr(struct dns *dns, const struct sockaddr *sa,
    dns_name_fn *fn, void *ctx);
/* dns_query_cancel - the callback of *qp will not run; sets *qp to NULL */
void dns_query_cancel(struct dns_query **qp);

/* dns_status_permanent - does st mean that retrying cannot help? */
bool dns_status_permanent(enum dns_status st);
/*
 * dns_why_no_server - does the text of a DNS_TEMPFAIL say that no server
 * answered at all (timeout, refused), rather than that one answered with
 * a failure for this name (SERVFAIL)? Then every other lookup fails too.
 */
bool dns_why_no_server(const char *why);
/* dns_status_name - "ok", "nxdomain", "nodata", "nullmx", "tempfail" */
const char *dns_status_name(enum dns_status st);
/* dns_addr_format - numeric text of an address ("127.0.0.1", "::1") in buf */
void dns_addr_format(const struct sockaddr *sa, char *buf, size_t size);

#endif
