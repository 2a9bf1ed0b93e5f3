/*
 * proto_rec - one struct per record of lib/mail/proto.h, and the one place
 * that turns each into an ipc_rec and back (OpenSMTPD's typed imsg).
 *
 * proto_X_encode(const struct proto_X *) returns a new record (free with
 * ipc_rec_free). Strings that are NULL, flags that are false and, in
 * domainstatus, the numbers of a reply that is not status=ok are left out;
 * every other field is written.
 *
 * proto_X_decode(rec, &x, peer) fills x from rec and returns 0, or returns
 * -1 after logging a warning that names the record, the field and peer
 * when rec is another type, a required field is missing, a field is
 * repeated, a number is not a decimal within its bound, a word is not one
 * of its enum's words, or a field is not one of the record's; x is then
 * all zero (status ok, source etrn: check the return). The strings
 * of x are borrowed from rec: rec must outlive x.
 *
 * The job record (qmgr -> agent) repeats rcpt=/idx= pairs; its decode
 * allocates the two arrays, freed with proto_job_clear.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_PROTO_REC_H
#define SLUICE_PROTO_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mail/proto.h"

struct ipc_rec;

/* type=queued: smtpd -> qmgr */
struct proto_queued {
	const char *id;
};

/* type=trigger: a release request (exactly one of domain and group) */
struct proto_trigger {
	const char *domain;
	const char *group;
	bool subdomains;
	enum proto_source source;
	const char *client;	/* optional */
	const char *user;	/* optional */
	bool all;		/* every domain: the operator's flush --all, passed to a peer */
};

/* type=triggered: the answer to a trigger */
struct proto_triggered {
	enum proto_status status;
	uint64_t pending;
	uint64_t domains;
	const char *reason;	/* optional */
};

/* type=domainstatus, the request */
struct proto_domainstatus_req {
	const char *domain;
	bool policy;		/* answer "unknown" when source may not release it */
	enum proto_source source;	/* with policy */
	const char *client;	/* optional, with policy */
};

/* type=domainstatus, the answer (numbers only with status=ok) */
struct proto_domainstatus {
	enum proto_status status;
	const char *domain;	/* with ok and unknown */
	uint64_t pending;
	uint64_t bytes;
	uint64_t oldest;	/* epoch seconds, 0 none */
	uint64_t next_expiry;
	enum proto_gate gate;
	uint64_t open_until;
	const char *opened_by;	/* a source word, or "" */
	uint64_t delivered;
	uint64_t in_flight;	/* jobs at a deliver process */
	uint64_t finished;	/* epoch: the open gate's last job ended, nothing left; 0 */
	const char *failing;	/* optional: the last failed attempt (connection, or all deferred) */
	uint64_t failing_at;	/* epoch of failing; 0 */
	uint64_t next_probe;	/* epoch of the prober's next look; 0 none */
	const char *route;	/* route=client: "[addr]:port" of the lease, or NULL */
	uint64_t sent;		/* recipients sent since qmgr started (never reset) */
	uint64_t next_try;	/* epoch of qmgr's own next try of the domain; 0 none */
	uint64_t max_messages;	/* the domain's caps (quota.h); 0 none */
	uint64_t max_bytes;
};

/* type=gateclose */
struct proto_gateclose {
	const char *domain;
	enum proto_source source;
	const char *client;	/* optional */
	const char *user;	/* optional */
};

/* type=gateclosed, and type=end (status and reason only) */
struct proto_reply {
	enum proto_status status;
	const char *reason;	/* optional */
};

/* type=probe: one held domain the prober should look at */
struct proto_probe {
	const char *domain;
	uint64_t pending;
	uint64_t arrivals;	/* messages indexed for domain since qmgr started */
};

/* type=probed: prober -> qmgr, when it looks at domain next */
struct proto_probed {
	const char *domain;
	uint64_t next_probe;	/* epoch */
};

/* type=hello: an agent's first record */
struct proto_hello {
	uint64_t slots;
	const char *bind;	/* optional: ATRN's comma-separated domains */
	const char *user;	/* optional, with bind */
	bool maildrop;		/* optional: a POP3 session's bind (no gate, no jobs) */
};

/* type=busy: a bind refused */
struct proto_busy {
	const char *domain;
	const char *reason;
};

/* type=rcpt: one recipient's result */
struct proto_rcpt {
	uint64_t job;
	uint64_t idx;
	enum proto_result status;
	const char *dsn;
	const char *relay;
	const char *reply;
};

/* type=done: a job is over */
struct proto_done {
	uint64_t job;
	const char *conn_error;	/* optional */
	bool complete;		/* optional: the job finished the message, no journal */
};

/* type=collect: pop3 -> qmgr, one recipient collected */
struct proto_collect {
	const char *id;
	uint64_t idx;
};

/* type=job: qmgr -> agent */
struct proto_job_rcpt {
	const char *addr;
	uint64_t idx;
};

struct proto_job {
	uint64_t job;
	const char *id;
	const char *domain;
	const char *sender;
	uint64_t size;
	const char *route;	/* "[host]:port" or "mx" */
	const char *tls;	/* may|encrypt|verify|none; optional (may) */
	size_t nrcpt;
	struct proto_job_rcpt *rcpt;
};

/* type=heldlist: web -> qmgr, a page of a customer's held mail */
struct proto_heldlist {
	const char *domain;
	const char *user;
	const char *after;	/* optional: a queue ID */
	const char *before;	/* optional: a queue ID (not with after) */
	uint64_t limit;		/* 1..PROTO_HELD_PAGE_MAX */
};

/* type=held: one message of that page */
struct proto_held {
	const char *id;
	const char *domain;
	const char *sender;	/* "" for the null sender */
	uint64_t size;
	uint64_t arrival;	/* epoch */
	uint64_t expiry;	/* epoch: when it goes back to the sender */
	uint64_t nrcpt;		/* its pending recipients in domain */
	const char *subject;	/* optional: raw, as header_subject() found it */
};

/* type=heldact: web -> qmgr, a customer's action on one message */
struct proto_heldact {
	const char *id;
	const char *domain;
	const char *user;
	const char *client;	/* optional */
	const char *action;	/* PROTO_ACTION_DELETE or PROTO_ACTION_BOUNCE */
};

#define PROTO_REC(name) \
	struct ipc_rec *proto_##name##_encode(const struct proto_##name *x); \
	int proto_##name##_decode(const struct ipc_rec *rec, struct proto_##name *x, \
	    const char *peer)
PROTO_REC(queued);
PROTO_REC(trigger);
PROTO_REC(triggered);
PROTO_REC(domainstatus_req);
PROTO_REC(domainstatus);
PROTO_REC(gateclose);
PROTO_REC(probe);
PROTO_REC(probed);
PROTO_REC(hello);
PROTO_REC(busy);
PROTO_REC(rcpt);
PROTO_REC(done);
PROTO_REC(job);
PROTO_REC(collect);
PROTO_REC(heldlist);
PROTO_REC(held);
PROTO_REC(heldact);
#undef PROTO_REC

/* proto_reply_encode/decode - type (gateclosed or end) with status, reason */
struct ipc_rec *proto_reply_encode(const char *type, const struct proto_reply *x);
int proto_reply_decode(const struct ipc_rec *rec, const char *type,
    struct proto_reply *x, const char *peer);

/* proto_idle_encode - type=idle, a record without fields */
struct ipc_rec *proto_idle_encode(void);

/*
 * proto_job_ok - does rec decode as a job (logged if not)? For parsers
 * that still read the fields themselves.
 */
bool proto_job_ok(const struct ipc_rec *rec, const char *peer);

/* proto_job_clear - free what proto_job_decode allocated */
void proto_job_clear(struct proto_job *x);

/*
 * Where a release stands, as fingerd's "Delivery:" line and the web
 * page's progress say it: one text for both doors (sluice-turn wait
 * reads it). Built from a domainstatus answer.
 */
struct proto_delivery {
	bool unknown;		/* no status (qmgr busy or unavailable) */
	bool open;		/* the gate */
	uint64_t pending;
	uint64_t in_flight;
	time_t finished;	/* 0: the time of the answer */
	const char *failing;	/* NULL or "": none */
	time_t failing_at;
};

#define PROTO_D_UNKNOWN		"unknown; ask again later"
#define PROTO_D_PROGRESS	"in progress"
#define PROTO_D_FAILING		"failing:"
#define PROTO_D_WAITING		"waiting for the gate"
#define PROTO_D_FINISHED	"finished at"

/*
 * proto_delivery_text - d at now in buf, first match wins: unknown;
 * "failing: TEXT, HH:MM" (mail left or in flight, and the last
 * connection failed: no delivery got through since); in progress (a job
 * in flight, or mail left behind an open gate); waiting for the gate
 * (mail left); "finished at YYYY-MM-DD HH:MM:SS UTC".
 */
void proto_delivery_text(const struct proto_delivery *d, time_t now, char *buf,
    size_t size);
/* proto_utc - t as "YYYY-MM-DD HH:MM:SS UTC", or "HH:MM" (UTC) when short; "?" if absurd */
void proto_utc(time_t t, bool short_form, char *buf, size_t size);

#endif
