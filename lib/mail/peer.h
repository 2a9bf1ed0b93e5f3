/*
 * peer - the fleet: how the sluice hosts of one service talk to each other.
 *
 * peers (sluice.conf) lists the other hosts' SMTP listeners as host:port;
 * every host of the fleet keeps the same secret in peer_secret_file (one
 * line, at least PEER_SECRET_MIN octets). A host reaches a peer on its
 * ordinary SMTP listener and logs in under the reserved login PEER_LOGIN
 * with CRAM-MD5 keyed by the secret, so the secret never crosses the
 * wire and a recorded session cannot be replayed (the challenge holds a
 * random number and the time):
 *
 *	S: 220 mx2.isp.example ESMTP
 *	C: EHLO mx1.isp.example
 *	S: 250-... 250-AUTH CRAM-MD5   (on port 25 only to an address of peers)
 *	C: AUTH CRAM-MD5
 *	S: 334 base64("<random.time@mx2.isp.example>")
 *	C: base64("sluice-peer" SP 32 hex digits of HMAC-MD5(secret, challenge))
 *	S: 235 2.7.0 Authentication successful
 *
 * then one command:
 *
 *	C: ETRN site.example | ETRN @site.example | ETRN #group
 *	S: 250/251/253/458/459 (RFC 1985)
 *		the receiving smtpd asks its qmgr with source=peer, which
 *		is authorised by the login (not by etrn_from) and is never
 *		passed on again: no storms, no loops.
 *	C: XSUMMARY
 *	S: 250-domain=D messages=N bytes=N ... gate=held|open|backup|relay
 *	        [open_until=EPOCH] [opened_by=SOURCE] [reason=TEXT]
 *	                               (reason last: it may hold spaces)
 *	S: 250-...                     (one line per domain with mail queued)
 *	S: 250 2.0.0 N domains
 *		`sluice queue summary --fleet`: the peer's queue, as its
 *		type=summary (mail/proto.h) says it. XSUMMARY before the
 *		peer login is 503.
 *	C: QUIT
 *
 * A client address not in peers is never offered AUTH on port 25 and
 * gets 503 to it; a wrong secret gets 535 after the usual failure delay
 * and the auth lockouts (mail/authlock.h) count it. A plain ETRN from a
 * peer's address is an ordinary customer ETRN (source=etrn), under the
 * domain's etrn_from.
 *
 * XXX The client does not use STARTTLS yet: the secret is safe without
 * it (CRAM-MD5), but the ETRN and the summary (domain names and counts)
 * travel in the clear, and an attacker on the path could take over the
 * session after the login. Peers are expected on one operator's network.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_MAIL_PEER_H
#define SLUICE_MAIL_PEER_H

#include <stdbool.h>
#include <stddef.h>

struct hostport;
struct hostport_list;
struct netlist;

/* The reserved SASL login of a peer; CRAM-MD5 on port 25 knows no other. */
#define PEER_LOGIN		"sluice-peer"
/* The shortest secret peer_secret_file may hold. */
#define PEER_SECRET_MIN		16
#define PEER_SECRET_MAX		1024
/* The private verb that returns the queue summary to a peer. */
#define PEER_VERB_SUMMARY	"XSUMMARY"
/* Domains one XSUMMARY reply lists at most (more: the rest are left out). */
#define PEER_SUMMARY_MAX	100000

/*
 * peer_secret_load - the secret in path (its first line, without the
 * newline) in a new string *secret_r. 0; -1 with a new message in *err_r
 * naming the file, what is wrong and the fix.
 */
int peer_secret_load(const char *path, char **secret_r, char **err_r);

/*
 * peer_netlist - the addresses of peers (names resolved now, blocking)
 * as a new netlist in *nl_r: who may log in as a peer. 0; -1 with a new
 * message in *err_r (a name that does not resolve).
 */
int peer_netlist(const struct hostport_list *peers, struct netlist **nl_r,
    char **err_r);

/* The outcome of one session with a peer (peer_call). */
struct peer_result {
	int code;		/* the command's reply code; 0: none came */
	bool temporary;		/* no answer (connect, timeout, lost, 4xx
				   before the command): worth another try */
	char relay[300];	/* "host[addr]:port", as far as known */
	char text[512];		/* the command's reply, or what failed */
};

/* peer_line_fn - one line of the command's reply, code and "-"/" " cut off */
typedef void peer_line_fn(const char *line, void *ctx);

/*
 * peer_source - the address to connect to peers from: the host of the
 * first smtp_listen entry ("" or a name: the kernel chooses). The peers
 * list this host by the address it serves SMTP on.
 */
const char *peer_source(const struct hostport_list *smtp_listen);

/*
 * peer_call - one blocking session to hp, from the address source (NULL
 * or not an address: the kernel's choice): EHLO helo, the peer login with
 * secret, command, QUIT; the whole of it within timeout_ms. fn (may be
 * NULL) sees every line of the command's reply. 0 when the command got
 * a reply (its code in r->code, any class), -1 otherwise (r->text says
 * why). Meant for processes that may block: the CLI, peer(8sluice)'s children.
 */
int peer_call(const struct hostport *hp, const char *source, const char *helo,
    const char *secret, const char *command, int timeout_ms, peer_line_fn *fn,
    void *ctx, struct peer_result *r);

/*
 * peer_session - peer_call's dialogue over fd, already connected (not
 * closed here): the greeting, EHLO, the login, command, QUIT. For
 * peer_call, and for tests that play the server over a socketpair.
 */
int peer_session(int fd, const char *helo, const char *secret, const char *command,
    int timeout_ms, peer_line_fn *fn, void *ctx, struct peer_result *r);

#endif
