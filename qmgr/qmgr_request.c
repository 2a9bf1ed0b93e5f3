/* qmgr_request - requests from the doors: triggers, domain status, gate close, probe list */
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

static int
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

struct qmgr_dstat {
	unsigned long long bytes;
	time_t oldest, next_expiry;
};

static int
qmgr_dstat_one(const struct qindex_entry *e, void *ctx)
{
	struct qmgr_dstat *s = ctx;

	s->bytes += e->size;
	if (s->oldest == 0 || e->arrival < s->oldest)
		s->oldest = e->arrival;
	if (s->next_expiry == 0 || e->expiry < s->next_expiry)
		s->next_expiry = e->expiry;
	return 0;
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
	struct qmgr_dstat st = { 0 };
	struct qmgr_domain *dom;
	size_t pending = 0;

	/*
	 * An unknown domain is answered in the same shape as a domain with
	 * no mail (status=unknown for our callers only), so that a finger
	 * client cannot tell customer domains from others.
	 */
	if (name == NULL || domain_find(q->cfg->domains, name) == NULL) {
		a.status = PROTO_STATUS_UNKNOWN;
		a.domain = name != NULL ? name : "";
	} else if (qindex_count_domain(q->env.qi, name, &pending) < 0 ||
	    qindex_walk_domain(q->env.qi, name, qmgr_dstat_one, &st) < 0) {
		a.status = PROTO_STATUS_ERROR;
	} else {
		bool open;

		dom = htable_get(q->domains, name);
		open = dom != NULL && qmgr_gate_is_open(dom, time(NULL));
		a.domain = name;
		a.pending = pending;
		a.bytes = st.bytes;
		a.oldest = qmgr_epoch(st.oldest);
		a.next_expiry = qmgr_epoch(st.next_expiry);
		a.gate = open ? PROTO_GATE_OPEN : PROTO_GATE_HELD;
		a.open_until = open ? qmgr_epoch(dom->open_until) : 0;
		a.opened_by = dom != NULL && dom->opened_by ? dom->opened_by : "";
		a.delivered = dom != NULL ? dom->delivered : 0;
		a.route = open ? dom->client_route : NULL;
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
	    .pending = pending });
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
