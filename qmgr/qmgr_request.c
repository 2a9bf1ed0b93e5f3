/*
 * qmgr_request - requests from the doors: triggers, domain status, gate close, probe list
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/htable.h"
#include "util/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "mail/address.h"
#include "mail/conf.h"
#include "mail/domains.h"
#include "mail/proto.h"
#include "mail/proto_rec.h"
#include "mail/qindex.h"
#include "qmgr/qmgr.h"

/* The furthest ahead a type=probed time is believed (seconds). */
#define QMGR_PROBED_AHEAD_MAX	86400
/* How long past its time a next probe is still shown (the prober polls every 2s). */
#define QMGR_PROBED_STALE	60
/* The longest failing= text kept (the web page and finger show it). */
#define QMGR_FAILING_MAX	200

int
qmgr_reply(int fd, struct ipc_rec **recp)
{
	int ret = ipc_send(fd, *recp);

	if (ret < 0)
		log_warn("send %s reply: %s", ipc_rec_type(*recp), strerror(errno));
	ipc_rec_free(recp);
	return ret;
}

/* qmgr_lower_domain - a valid domain argument, lowercased; NULL if bad */
static char *
qmgr_lower_domain(const char *name)
{
	if (name == NULL || !address_domain_ok(name, strlen(name)))
		return NULL;
	return address_lower(name);
}

/* qmgr_epoch - a time for the wire (none before 1970) */
static uint64_t
qmgr_epoch(time_t t)
{
	return t > 0 ? (uint64_t)t : 0;
}

static int
qmgr_domainstatus(struct qmgr *q, const struct ipc_rec *req, int fd)
{
	struct proto_domainstatus_req r;
	char *name = proto_domainstatus_req_decode(req, &r, "private/qmgr client") < 0 ?
	    NULL : qmgr_lower_domain(r.domain);
	struct proto_domainstatus a = { .status = PROTO_STATUS_OK };
	struct ipc_rec *rec;
	struct qindex_domain_stats st = { 0 };
	struct qmgr_domain *dom;
	size_t pending = 0;
	time_t now = time(NULL);

	/*
	 * An unknown domain is answered in the same shape as a domain with
	 * no mail (status=unknown for our callers only), so that a finger
	 * client cannot tell customer domains from others; with policy=1,
	 * so is a domain the asking door may not release.
	 */
	const struct domain *d = name != NULL ? domain_find(q->cfg->domains, name) : NULL;

	if (d == NULL || (r.policy && qmgr_trigger_allowed(d, r.source, r.client, NULL) != NULL)) {
		a.status = PROTO_STATUS_UNKNOWN;
		a.domain = name != NULL ? name : "";
	} else if (qindex_domain_stats(q->env.qi, name, &st) < 0) {
		/* Figures kept per domain: a web page refreshing costs no walk of its mail. */
		a.status = PROTO_STATUS_ERROR;
	} else {
		bool open;

		pending = st.entries;
		dom = htable_get(q->domains, name);
		open = dom != NULL && qmgr_gate_is_open(dom, now);
		a.domain = name;
		a.pending = pending;
		a.bytes = st.bytes;
		a.oldest = qmgr_epoch(st.oldest);
		a.next_expiry = qmgr_epoch(st.next_expiry);
		a.gate = open ? PROTO_GATE_OPEN : PROTO_GATE_HELD;
		a.open_until = open ? qmgr_epoch(dom->open_until) : 0;
		a.opened_by = dom != NULL && dom->opened_by ? dom->opened_by : "";
		a.delivered = dom != NULL ? dom->delivered : 0;
		a.in_flight = dom != NULL ? dom->active : 0;
		/* Finished means nothing is left: new mail since then unsays it. */
		a.finished = dom != NULL && pending == 0 && dom->active == 0 ?
		    qmgr_epoch(dom->finished) : 0;
		a.failing = dom != NULL ? dom->failing : NULL;
		a.failing_at = dom != NULL && dom->failing != NULL ?
		    qmgr_epoch(dom->failing_at) : 0;
		/*
		 * The prober looks only at a closed gate with mail behind it; a
		 * time long past is one the prober no longer keeps (stopped).
		 */
		a.next_probe = dom != NULL && !open && pending > 0 && d->probe > 0 &&
		    dom->next_probe > now - QMGR_PROBED_STALE ? qmgr_epoch(dom->next_probe) : 0;
		a.route = open ? dom->client_route : NULL;
		a.sent = dom != NULL ? dom->sent : 0;
		a.next_try = dom != NULL && dom->retry_timer != NULL ?
		    qmgr_epoch(dom->retry_at) : 0;
		a.max_messages = d->max_messages > 0 ? (uint64_t)d->max_messages : 0;
		a.max_bytes = d->max_bytes > 0 ? (uint64_t)d->max_bytes : 0;
	}
	rec = proto_domainstatus_encode(&a);
	free(name);
	return qmgr_reply(fd, &rec);
}

static int
qmgr_gateclose(struct qmgr *q, const struct ipc_rec *req, int fd)
{
	struct proto_gateclose g;
	char *name = proto_gateclose_decode(req, &g, "private/qmgr client") < 0 ? NULL :
	    qmgr_lower_domain(g.domain);
	const char *source = proto_source_name(g.source), *user = g.user;
	struct proto_reply r = { .status = PROTO_STATUS_OK };
	struct ipc_rec *rec;
	const struct domain *d = name != NULL ? domain_find(q->cfg->domains, name) : NULL;

	if (d == NULL) {
		r.status = PROTO_STATUS_UNKNOWN;
	} else if ((r.reason = qmgr_trigger_allowed(d, g.source, g.client, user)) != NULL) {
		r.status = PROTO_STATUS_DENIED;
	} else {
		struct qmgr_domain *dom = qmgr_domain_get(q, d->name);
		char *reason = xasprintf("closed by %s%s%s", source, user ? " user " : "",
		    user ? user : "");

		qmgr_gate_close(q, dom, reason);
		free(reason);
	}
	rec = proto_reply_encode(PROTO_T_GATECLOSED, &r);
	free(name);
	return qmgr_reply(fd, &rec);
}

struct qmgr_plist {
	struct qmgr *q;
	int fd;
	int failed;
};

static int
qmgr_probelist_one(const char *key, void *value, void *ctx)
{
	struct qmgr_plist *pl = ctx;
	struct qmgr_domain *dom = value;
	const struct domain *d = domain_find(pl->q->cfg->domains, dom->name);
	struct ipc_rec *rec;
	size_t pending = 0;

	if (d == NULL || d->mode != DOMAIN_MODE_HOLD || d->probe <= 0 ||
	    qmgr_gate_is_open(dom, time(NULL)) || htable_get(pl->q->bound, dom->name) != NULL)
		return 0;
	if (qindex_count_domain(pl->q->env.qi, dom->name, &pending) < 0 || pending == 0)
		return 0;
	rec = proto_probe_encode(&(struct proto_probe){ .domain = dom->name,
	    .pending = pending, .arrivals = dom->arrivals });
	if (qmgr_reply(pl->fd, &rec) < 0) {
		pl->failed = 1;
		return 1;
	}
	return 0;
}

static int
qmgr_probelist(struct qmgr *q, const struct ipc_rec *req, int fd)
{
	struct qmgr_plist pl = { .q = q, .fd = fd };
	struct ipc_rec *end;

	htable_walk(q->domains, qmgr_probelist_one, &pl);
	if (pl.failed)
		return -1;
	end = proto_reply_encode(PROTO_T_END, &(struct proto_reply){ .status = PROTO_STATUS_OK });
	return qmgr_reply(fd, &end);
}

/*
 * qmgr_probed - the prober says when it looks at a domain next. Kept for
 * domainstatus only; a time more than a day ahead is the prober's bug
 * or a stranger's and is bounded.
 */
static int
qmgr_probed(struct qmgr *q, const struct ipc_rec *req, int fd)
{
	struct proto_probed p;
	char *name = proto_probed_decode(req, &p, "private/qmgr client") < 0 ? NULL :
	    qmgr_lower_domain(p.domain);
	const struct domain *d = name != NULL ? domain_find(q->cfg->domains, name) : NULL;
	struct proto_reply r = { .status = PROTO_STATUS_OK };
	struct ipc_rec *rec;
	time_t now = time(NULL);

	if (d == NULL || d->probe <= 0) {
		r.status = PROTO_STATUS_UNKNOWN;
	} else {
		struct qmgr_domain *dom = qmgr_domain_get(q, d->name);

		dom->next_probe = p.next_probe > (uint64_t)now + QMGR_PROBED_AHEAD_MAX ?
		    now + QMGR_PROBED_AHEAD_MAX : (time_t)p.next_probe;
	}
	rec = proto_reply_encode(PROTO_T_END, &r);
	free(name);
	return qmgr_reply(fd, &rec);
}

static int
qmgr_trigger_req(struct qmgr *q, const struct ipc_rec *req, int fd)
{
	struct ipc_rec *reply = qmgr_trigger(q, req);

	return qmgr_reply(fd, &reply);
}

/* The requests of the private socket, besides smtpd's "queued" notices. */
static const struct {
	const char *type;
	int (*fn)(struct qmgr *q, const struct ipc_rec *req, int fd);
} qmgr_requests[] = {
	{ PROTO_T_TRIGGER, qmgr_trigger_req },
	{ PROTO_T_DOMAINSTATUS, qmgr_domainstatus },
	{ PROTO_T_GATECLOSE, qmgr_gateclose },
	{ PROTO_T_PROBELIST, qmgr_probelist },
	{ PROTO_T_PROBED, qmgr_probed },
	{ PROTO_T_HELDLIST, qmgr_heldlist },
	{ PROTO_T_HELDACT, qmgr_heldact },
};

int
qmgr_request(struct qmgr *q, const struct ipc_rec *req, int fd)
{
	size_t i;

	for (i = 0; i < sizeof(qmgr_requests) / sizeof(qmgr_requests[0]); i++)
		if (strcmp(ipc_rec_type(req), qmgr_requests[i].type) == 0)
			return qmgr_requests[i].fn(q, req, fd) < 0 ? -1 : 1;
	return 0;
}

/*
 * qmgr_failing_text - deliver's conn_error as the customer reads it:
 * "connect to NAME[ADDR]:PORT: Connection refused" (lib/mail/smtp_client)
 * becomes "cannot reach ADDR:PORT: connection refused"; any other text
 * (a 421 greeting, a TLS failure, the 4xx reply that deferred every
 * recipient) becomes "cannot deliver: TEXT". Octets
 * outside printable ASCII become '?': the text ends up in a finger
 * answer and a web page.
 */
char *
qmgr_failing_text(const char *conn_error)
{
	static const char prefix[] = "connect to ";
	const char *peer = conn_error, *why, *lb, *rb;
	char *text, *p;

	why = strncmp(peer, prefix, sizeof(prefix) - 1) == 0 ?
	    strstr(peer + sizeof(prefix) - 1, ": ") : NULL;
	if (why == NULL) {
		text = xasprintf("cannot deliver: %.*s", QMGR_FAILING_MAX, conn_error);
	} else {
		peer += sizeof(prefix) - 1;
		lb = memchr(peer, '[', (size_t)(why - peer));
		rb = lb != NULL ? memchr(lb, ']', (size_t)(why - lb)) : NULL;
		if (lb != NULL && rb != NULL) {
			/* NAME[ADDR]:PORT, or NAME[ADDR] for port 25; IPv6 in brackets. */
			bool port = rb + 1 < why, v6 = memchr(lb, ':', (size_t)(rb - lb)) != NULL;

			text = xasprintf("cannot reach %s%.*s%s:%.*s: %.*s", v6 ? "[" : "",
			    (int)(rb - lb - 1), lb + 1, v6 ? "]" : "",
			    port ? (int)(why - rb - 2) : 2, port ? rb + 2 : "25",
			    QMGR_FAILING_MAX, why + 2);
		} else
			text = xasprintf("cannot reach %.*s: %.*s", (int)(why - peer), peer,
			    QMGR_FAILING_MAX, why + 2);
		/* strerror's capital: "connection refused", as Postfix says it. */
		p = strstr(text, ": ") + 2;
		if (*p >= 'A' && *p <= 'Z' && p[1] >= 'a' && p[1] <= 'z')
			*p = (char)(*p - 'A' + 'a');
	}
	for (p = text; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	return text;
}

void
qmgr_domain_result(struct qmgr *q, struct qmgr_domain *dom, const char *failure,
    time_t now)
{
	size_t pending = 1;

	if (failure != NULL) {
		free(dom->failing);
		dom->failing = qmgr_failing_text(failure);
		dom->failing_at = now;
		return;
	}
	free(dom->failing);
	dom->failing = NULL;
	dom->failing_at = 0;
	if (qmgr_gate_is_open(dom, now) && dom->active == 0 && dom->nqueued == 0 &&
	    qindex_count_domain(q->env.qi, dom->name, &pending) == 0 && pending == 0)
		dom->finished = now;
}
