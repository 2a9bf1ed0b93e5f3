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
#include "mail/config.h"
#include "mail/domains.h"
#include "mail/proto.h"
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

static int
qmgr_domainstatus(struct qmgr *q, const struct ipc_rec *req, int fd)
{
	char *name = qmgr_lower_domain(ipc_rec_get(req, "domain"));
	struct ipc_rec *rec = ipc_rec_new(PROTO_T_DOMAINSTATUS);
	struct qmgr_dstat st = { 0 };
	struct qmgr_domain *dom;
	size_t pending = 0;
	bool open;

	/*
	 * An unknown domain is answered in the same shape as a domain with
	 * no mail (status=unknown for our callers only), so that a finger
	 * client cannot tell customer domains from others.
	 */
	if (name == NULL || domain_find(q->cfg->domains, name) == NULL) {
		ipc_rec_add(rec, "status", "unknown");
		ipc_rec_add(rec, "domain", name != NULL ? name : "");
		free(name);
		return qmgr_reply(fd, &rec);
	}
	if (qindex_count_domain(q->env.qi, name, &pending) < 0 ||
	    qindex_walk_domain(q->env.qi, name, qmgr_dstat_one, &st) < 0) {
		ipc_rec_add(rec, "status", "error");
		free(name);
		return qmgr_reply(fd, &rec);
	}
	dom = htable_get(q->domains, name);
	ipc_rec_add(rec, "status", "ok");
	ipc_rec_add(rec, "domain", name);
	ipc_rec_addf(rec, "pending", "%zu", pending);
	ipc_rec_addf(rec, "bytes", "%llu", st.bytes);
	ipc_rec_addf(rec, "oldest", "%lld", (long long)st.oldest);
	ipc_rec_addf(rec, "next_expiry", "%lld", (long long)st.next_expiry);
	open = dom != NULL && qmgr_gate_is_open(dom, time(NULL));
	ipc_rec_add(rec, "gate", open ? "open" : "held");
	ipc_rec_addf(rec, "open_until", "%lld", open ? (long long)dom->open_until : 0LL);
	ipc_rec_add(rec, "opened_by", dom != NULL && dom->opened_by ? dom->opened_by : "");
	ipc_rec_addf(rec, "delivered", "%lu", dom != NULL ? dom->delivered : 0UL);
	free(name);
	return qmgr_reply(fd, &rec);
}

static int
qmgr_gateclose(struct qmgr *q, const struct ipc_rec *req, int fd)
{
	char *name = qmgr_lower_domain(ipc_rec_get(req, "domain"));
	const char *source = ipc_rec_get(req, "source"), *user = ipc_rec_get(req, "user");
	struct ipc_rec *rec = ipc_rec_new(PROTO_T_GATECLOSED);
	const struct domain *d = name != NULL ? domain_find(q->cfg->domains, name) : NULL;
	const char *why;

	if (d == NULL || source == NULL) {
		ipc_rec_add(rec, "status", "unknown");
	} else if ((why = qmgr_trigger_allowed(d, source, ipc_rec_get(req, "client"), user)) != NULL) {
		ipc_rec_add(rec, "status", "denied");
		ipc_rec_add(rec, "reason", why);
	} else {
		struct qmgr_domain *dom = qmgr_domain_get(q, d->name);
		char *reason = xasprintf("closed by %s%s%s", source, user ? " user " : "",
		    user ? user : "");

		qmgr_gate_close(q, dom, reason);
		free(reason);
		ipc_rec_add(rec, "status", "ok");
	}
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
	rec = ipc_rec_new(PROTO_T_PROBE);
	ipc_rec_add(rec, "domain", dom->name);
	ipc_rec_addf(rec, "pending", "%zu", pending);
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
	end = ipc_rec_new(PROTO_T_END);
	ipc_rec_add(end, "status", "ok");
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
