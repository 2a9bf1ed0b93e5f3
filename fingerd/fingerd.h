/*
 * fingerd.h - what fingerd's modules share.
 *
 *	fingerd.c		main(): options, config, listeners, the loop
 *	fingerd_server.c	limits for the serving skeleton
 *				(mail/daemon_server.h), query rates, reload
 *	fingerd_session.c	one client: the query line, qmgr, the answer
 *	fingerd_query.c		query grammar and answer text (no I/O)
 *
 * A finger session is one query and one answer (RFC 1288 2.2): the
 * client sends a line, we answer and close. The query "DOMAIN" (or
 * "/W DOMAIN") is a trigger for that domain, sent to qmgr, which alone
 * decides whether finger may release it (finger=yes), rate-limits it and
 * logs it; the answer is the domain's queue status. "?DOMAIN" (or
 * "/W ?DOMAIN") only reports: no trigger, the same status, and the same
 * no-mail answer for a domain finger may not release.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_FINGERD_H
#define SLUICE_FINGERD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* lib/util */
#include "util/events.h"
#include "util/htable.h"
#include "util/stream.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/daemon_server.h"

/* RFC 1288 sets no limit; a domain name is at most 255 octets. */
#define FINGERD_LINE_MAX	512
/* Sessions at once in this process, and from one client address. */
#define FINGERD_SESSIONS_MAX	1000
#define FINGERD_CLIENT_SESSIONS	5
/* Queries one client address may send per minute. */
#define FINGERD_CLIENT_QUERIES	20
#define FINGERD_WINDOW_MS	60000
/* qmgr answers from memory; a stuck qmgr must not stall every session. */
#define FINGERD_QMGR_TIMEOUT_MS	3000
/* How long a client may take to close after its answer. */
#define FINGERD_DRAIN_MS	2000

/* The texts of every answer that is not a status report (RFC 1288 2.5.5). */
#define FINGERD_T_BANNER \
	"This is the sluice mail relay's finger service.\r\n" \
	"Finger DOMAIN@this-host to release the mail held here for DOMAIN\r\n" \
	"and see how much of it is waiting.\r\n"
#define FINGERD_T_FORWARD	"Finger forwarding service denied.\r\n"
#define FINGERD_T_BAD		"Not a domain name.\r\n"
#define FINGERD_T_TOO_LONG	"Query too long.\r\n"
/* (The refusals of connections over a limit: mail/daemon_server.h adds the CRLF.) */
#define FINGERD_T_TOO_MANY	"Too many connections from your address; try again later."
#define FINGERD_T_BUSY		"Server busy; try again later."
#define FINGERD_T_RATE		"Too many queries from your address; try again in a minute.\r\n"

/* The Status: line of a report. */
#define FINGERD_S_STARTED	"delivery started"
#define FINGERD_S_NONE		"no mail waiting"
#define FINGERD_S_BUSY		"too many requests; try again in a minute"
#define FINGERD_S_UNAVAILABLE	"mail system unavailable; try again later"
/* (and for a report-only query, "?DOMAIN") */
#define FINGERD_S_UNDER_WAY	"delivery under way"
#define FINGERD_S_HELD		"held until released"

struct daemon;
struct fingerd_session;

/* Per client address: its queries this minute. */
struct fingerd_rate {
	unsigned queries;
	uint64_t window_start;	/* ev_now() when the minute began */
};

struct fingerd {
	struct ev_loop *loop;
	struct config *cfg;
	const char *confdir;
	struct daemon_server *serve;	/* listeners, accept, limits, sessions */
	struct htable *rates;		/* address -> struct fingerd_rate */
	struct ev_timer *sweep;
};

/* What a query line asks for (fingerd_query.c). */
enum finger_query_kind {
	FINGER_Q_EMPTY,		/* "": the banner */
	FINGER_Q_DOMAIN,	/* a domain name: trigger and status */
	FINGER_Q_FORWARD,	/* "x@y": forwarding, always refused */
	FINGER_Q_BAD,		/* anything else */
};

struct finger_query {
	enum finger_query_kind kind;
	bool verbose;		/* "/W" */
	bool report;		/* "?DOMAIN": status only, no trigger */
	char domain[256];	/* FINGER_Q_DOMAIN: lowercase, no final dot */
};

/*
 * What the answer reports. Unknown domains, domains that finger may not
 * release and domains with no mail all fill it the same way (pending 0,
 * oldest 0), so that the answer never tells customers from others.
 */
struct finger_status {
	const char *domain;
	unsigned long long pending;	/* messages waiting */
	unsigned long long bytes;
	time_t oldest;			/* arrival of the oldest; 0 none */
	time_t next_expiry;		/* first bounce due; 0 none */
	const char *state;		/* "delivery started", "no mail waiting", ... */
	bool unknown;			/* qmgr gave no status (busy, unavailable) */
	bool open;			/* the gate is open */
	unsigned long long in_flight;	/* jobs at a deliver process */
	unsigned long long delivered;	/* recipients sent since the gate opened */
	time_t finished;		/* nothing left since; 0: not known (now is used) */
	char failing[256];		/* the last connection failure, "" none */
	time_t failing_at;
	time_t next_probe;		/* 0 none */
	unsigned long long max_messages, max_bytes; /* the domain's caps (quota.h); 0 none */
};

/* Where a session is in its exchange with qmgr. */
enum finger_phase {
	FINGER_P_QUERY,		/* waiting for the query line */
	FINGER_P_TRIGGER,	/* type=trigger sent */
	FINGER_P_STATUS,	/* type=domainstatus sent */
	FINGER_P_ANSWER,	/* answer written or being written */
};

struct fingerd_session {
	struct fingerd *srv;
	struct daemon_session ds;	/* in the server's list */
	struct stream *st;
	char addr[INET6_ADDRSTRLEN];
	enum finger_phase phase;
	bool draining;			/* answer sent, waiting for the client's close */
	struct finger_query q;
	struct finger_status fs;
	int qmgr_fd;			/* request to qmgr in flight, or -1 */
	struct ev_timer *qmgr_timer;
};

/* fingerd_server.c */
/* fingerd_server_new - serve d's listeners in its loop with its config (taken over) */
struct fingerd *fingerd_server_new(struct daemon *d);
/* fingerd_server_free - close listeners and sessions, free everything */
void fingerd_server_free(struct fingerd **srvp);
/* fingerd_reload - take over a configuration loaded after SIGHUP (daemon_reload_fn) */
void fingerd_reload(struct config *cfg, void *ctx);
/* fingerd_client_query - count a query from addr; false: over its limit */
bool fingerd_client_query(struct fingerd *srv, const char *addr);

/* fingerd_session.c */
/* fingerd_session_new - serve the accepted socket fd from peer
 * (mail/daemon_server.h counts it until freed) */
void fingerd_session_new(struct fingerd *srv, int fd,
    const struct daemon_peer *peer);
/* fingerd_session_free - close and unlink the session; sets *sp to NULL */
void fingerd_session_free(struct fingerd_session **sp);

/* fingerd_query.c */
/* fingerd_query_parse - parse one query line (its CRLF or LF included) */
void fingerd_query_parse(const char *line, size_t len, struct finger_query *q);
/* fingerd_age - "3d 4h", "2h 5m", "45s": how long ago t was, in buf */
void fingerd_age(time_t t, time_t now, char *buf, size_t size);
/* fingerd_delivery - the Delivery: line's value for fs at now, in buf */
void fingerd_delivery(const struct finger_status *fs, time_t now, char *buf, size_t size);
/* fingerd_answer - the status report for fs, in a new string */
char *fingerd_answer(const struct finger_status *fs, bool verbose, time_t now);

#endif
