/*
 * qmgr_gate - the per-domain gate, and the one path every trigger takes
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/events.h"
#include "util/htable.h"
#include "util/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "mail/address.h"
#include "mail/conf.h"
#include "mail/domains.h"
#include "mail/netlist.h"
#include "mail/proto.h"
#include "mail/proto_rec.h"
#include "mail/qindex.h"
#include "qmgr/qmgr.h"

#define QMGR_GATES_FILE "private/gates"
/* One line of private/gates: a domain name, a time and a source word. */
#define QMGR_GATES_LINE_MAX	600
/* Client addresses a trigger may name (INET6_ADDRSTRLEN and a scope). */
#define QMGR_CLIENT_MAX		64
/* Trigger source words are short (etrn, finger, ...). */
#define QMGR_SOURCE_MAX		16
/* Client addresses whose trigger counts are kept before all are forgotten. */
#define QMGR_CLIENTS_MAX	10000
/* The window of trigger_client_limit, in seconds. */
#define QMGR_CLIENT_WINDOW	60

/*
 * The gate. Only the functions below write a domain's open_until,
 * opened_by, last_trigger and lease_timer (and reset delivered and finished
 * when a closed gate opens); everything else asks qmgr_gate_is_open().
 */

bool
qmgr_gate_is_open(const struct qmgr_domain *dom, time_t now)
{
	return dom->open_until > now;
}

static int
qmgr_gate_count_open(const char *name, void *value, void *ctx)
{
	size_t *n = ctx;

	if (qmgr_gate_is_open(value, time(NULL)))
		(*n)++;
	return 0;
}

size_t
qmgr_gates_open(const struct qmgr *q)
{
	size_t n = 0;

	(void)htable_walk(q->domains, qmgr_gate_count_open, &n);
	return n;
}

bool
qmgr_gate_joins(const struct qmgr *q, const struct qmgr_domain *dom, time_t now)
{
	return qmgr_gate_is_open(dom, now) &&
	    now - dom->last_trigger < q->cfg->trigger_min_interval;
}

void
qmgr_gate_renew(struct qmgr_domain *dom, long lease, time_t now)
{
	if (dom->open_until < now + lease)
		dom->open_until = now + lease;
}

bool
qmgr_gate_mark_open(struct qmgr_domain *dom, const char *source, long lease, time_t now)
{
	bool was_open = qmgr_gate_is_open(dom, now);

	if (!was_open) {
		/* A new release: its own counts (a failure stays until a delivery). */
		dom->delivered = 0;
		dom->finished = 0;
	}
	dom->last_trigger = now;
	qmgr_gate_renew(dom, lease, now);
	free(dom->opened_by);
	dom->opened_by = xstrdup(source);
	return was_open;
}

bool
qmgr_gate_mark_closed(struct qmgr_domain *dom)
{
	/* open_until stays set from an opening until the close: a lease just run out still closes. */
	if (dom->open_until == 0)
		return false;
	dom->open_until = 0;
	/* route=client: the address lives as long as the lease, no longer. */
	xfree(&dom->client_route);
	return true;
}

long
qmgr_gate_lease(const struct qmgr *q, const struct qmgr_domain *dom)
{
	const struct domain *d = domain_find(q->cfg->domains, dom->name);

	return d != NULL ? d->lease : q->cfg->default_lease;
}

struct qmgr_gates_out {
	FILE *fp;
	time_t now;
};

static int
qmgr_gates_write_one(const char *key, void *value, void *ctx)
{
	struct qmgr_domain *dom = value;
	struct qmgr_gates_out *out = ctx;

	if (qmgr_gate_is_open(dom, out->now))
		fprintf(out->fp, "%s %lld %s\n", dom->name, (long long)dom->open_until,
		    dom->opened_by != NULL ? dom->opened_by : "unknown");
	return 0;
}

/*
 * qmgr_gates_save - write the open gates to private/gates, so that a
 * qmgr killed in the middle of a flush finishes it after its restart.
 * Written to a temporary name and renamed: never half a file.
 */
static void
qmgr_gates_save(struct qmgr *q)
{
	char *path = xasprintf("%s/%s", q->cfg->queue_directory, QMGR_GATES_FILE);
	char *tmp = xasprintf("%s.tmp", path);
	struct qmgr_gates_out out = { .now = time(NULL) };
	int fd;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || (out.fp = fdopen(fd, "w")) == NULL) {
		log_warn("save gate state to %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	htable_walk(q->domains, qmgr_gates_write_one, &out);
	if (fclose(out.fp) != 0 || rename(tmp, path) < 0)
		log_warn("save gate state to %s: %s", path, strerror(errno));
out:
	free(tmp);
	free(path);
}

static void qmgr_lease_fire(void *ctx);

/* qmgr_gate_arm - time the lease of an open gate, and let its mail go */
static void
qmgr_gate_arm(struct qmgr *q, struct qmgr_domain *dom)
{
	time_t now = time(NULL);

	ev_timer_cancel(q->loop, &dom->lease_timer);
	dom->lease_timer = ev_timer_add(q->loop,
	    dom->open_until > now ? (uint64_t)(dom->open_until - now) * 1000 : 0,
	    qmgr_lease_fire, dom);
	qmgr_domain_fill(q, dom);
	qmgr_dispatch(q);
}

static void
qmgr_lease_fire(void *ctx)
{
	struct qmgr_domain *dom = ctx;

	dom->lease_timer = NULL;
	if (qmgr_gate_is_open(dom, time(NULL))) {
		/* Renewed meanwhile. */
		qmgr_gate_arm(dom->q, dom);
		return;
	}
	qmgr_gate_close(dom->q, dom, "lease expired");
}

/* qmgr_gate_restore - reopen a gate a previous qmgr left open until until */
static void
qmgr_gate_restore(struct qmgr *q, struct qmgr_domain *dom, time_t until, const char *source)
{
	dom->open_until = until;
	free(dom->opened_by);
	dom->opened_by = xstrdup(source);
	log_info("gate: domain=%s, state=open, until=%lld, reason=restored after restart (%s)",
	    dom->name, (long long)until, source);
	qmgr_gate_arm(q, dom);
}

void
qmgr_gates_load(struct qmgr *q)
{
	char *path = xasprintf("%s/%s", q->cfg->queue_directory, QMGR_GATES_FILE);
	char line[QMGR_GATES_LINE_MAX], name[300], source[64];
	time_t now = time(NULL);
	long long until;
	FILE *fp;

	fp = fopen(path, "re");
	if (fp == NULL) {
		free(path);
		return;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		/* Our own file, but still checked like any input. */
		if (sscanf(line, "%299s %lld %63s", name, &until, source) != 3 ||
		    !address_domain_ok(name, strlen(name)) || until <= now ||
		    domain_find(q->cfg->domains, name) == NULL)
			continue;
		qmgr_gate_restore(q, qmgr_domain_get(q, name), (time_t)until, source);
	}
	fclose(fp);
	free(path);
}

void
qmgr_gate_open(struct qmgr *q, struct qmgr_domain *dom, const char *source, long lease)
{
	bool was_open = qmgr_gate_mark_open(dom, source, lease, time(NULL));

	log_info("gate: domain=%s, state=open, until=%lld, reason=%s%s", dom->name,
	    (long long)dom->open_until, source, was_open ? " (renewed)" : "");
	qmgr_gates_save(q);
	qmgr_gate_arm(q, dom);
}

void
qmgr_gate_close(struct qmgr *q, struct qmgr_domain *dom, const char *why)
{
	if (!qmgr_gate_mark_closed(dom))
		return;
	ev_timer_cancel(q->loop, &dom->lease_timer);
	qmgr_client_probe_cancel(q, dom);
	log_info("gate: domain=%s, state=held, reason=%s", dom->name, why);
	if (qmgr_domain_is_held_mode(q, dom->name))
		qmgr_domain_drop_queued(q, dom);
	qmgr_gates_save(q);
}

/* Trigger authorisation and rate limits. */

struct qmgr_client_rate {
	time_t window;
	unsigned count;
};

/* qmgr_client_limited - has client used up its triggers for this minute? */
static bool
qmgr_client_limited(struct qmgr *q, const char *client)
{
	struct qmgr_client_rate *r = htable_get(q->clients, client);
	time_t now = time(NULL);

	if (r == NULL) {
		/* Bounded memory: forget everyone when the table grows large. */
		if (htable_count(q->clients) > QMGR_CLIENTS_MAX) {
			htable_free(&q->clients);
			q->clients = htable_new();
		}
		r = xcalloc(1, sizeof(*r));
		htable_put(q->clients, client, r);
	}
	if (now - r->window >= QMGR_CLIENT_WINDOW) {
		r->window = now;
		r->count = 0;
	}
	return ++r->count > (unsigned)q->cfg->trigger_client_limit;
}

bool
qmgr_client_sockaddr(const char *client, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, client, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, client, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return true;
	}
	return false;
}

/* qmgr_gate_same_relay - relay ("[ADDR]:PORT", as the probe sets it) is client's address and port */
static bool
qmgr_gate_same_relay(const char *relay, const char *client, unsigned port)
{
	char want[INET6_ADDRSTRLEN + 16];

	snprintf(want, sizeof(want), "[%s]:%u", client, port);
	return strcmp(relay, want) == 0;
}

bool
qmgr_gate_client(struct qmgr_domain *dom, const struct domain *d, enum proto_source source,
    const char *client, const char *user)
{
	struct sockaddr_storage ss;
	bool login = source == PROTO_SOURCE_WEB || source == PROTO_SOURCE_ETRN;

	if (!d->route.client)
		return false;
	/*
	 * Only a login says who is at that address: a finger, a plain
	 * ETRN (anyone may send one, from anywhere), a peer's pass or the
	 * prober never point the domain's mail at an address.
	 */
	if (!login || user == NULL || d->owner == NULL || strcmp(user, d->owner) != 0 ||
	    client == NULL || !qmgr_client_sockaddr(client, &ss)) {
		if (dom->client_route == NULL)
			log_info("gate: domain=%s, route=client, relay=none, source=%s, reason=not "
			    "an authenticated trigger of the owner; the mail waits for a web login "
			    "or ETRN after AUTH", d->name, proto_source_name(source));
		return false;
	}
	/*
	 * The same login from the same address while the gate is open (the
	 * web page refreshing itself): the address was proven and stays. A
	 * fresh probe would blank the route until it answers, and the page
	 * asked in between would say the mail goes nowhere.
	 */
	if (dom->client_route != NULL && qmgr_gate_is_open(dom, time(NULL)) &&
	    qmgr_gate_same_relay(dom->client_route, client, d->route.port))
		return false;
	/* The site is somewhere else now: its old address may be anyone's. */
	xfree(&dom->client_route);
	log_info("gate: domain=%s, route=client, relay=[%s]:%u, source=%s, user=%s", d->name,
	    client, d->route.port, proto_source_name(source), user);
	return true;
}

bool
qmgr_gate_client_set(struct qmgr_domain *dom, const char *relay, time_t now)
{
	if (!qmgr_gate_is_open(dom, now))
		return false;
	free(dom->client_route);
	dom->client_route = xstrdup(relay);
	return true;
}

void
qmgr_gate_client_probed(struct qmgr *q, struct qmgr_domain *dom, const char *relay,
    const char *why)
{
	if (why != NULL) {
		log_info("gate: domain=%s, route=client, relay=%s, probe=failed (%s); the mail "
		    "stays queued until the owner's next login", dom->name, relay, why);
		return;
	}
	if (!qmgr_gate_client_set(dom, relay, time(NULL))) {
		log_info("gate: domain=%s, route=client, relay=%s, probe=ok, but the gate has "
		    "closed; the mail stays queued", dom->name, relay);
		return;
	}
	log_info("gate: domain=%s, route=client, relay=%s, probe=ok", dom->name, relay);
	qmgr_domain_fill(q, dom);
	qmgr_dispatch(q);
}

/* qmgr_may_anyone - the caller was checked already (the operator, the prober) */
static const char *
qmgr_may_anyone(const struct domain *d, const char *client, const char *user)
{
	return NULL;
}

/*
 * qmgr_may_peer - another sluice of the fleet: smtpd let it in by its
 * address and the shared secret (mail/peer.h), and the customer's own
 * trigger was authorised at that host's door
 */
static const char *
qmgr_may_peer(const struct domain *d, const char *client, const char *user)
{
	return NULL;
}

/* qmgr_may_owner - the customer login that owns d */
static const char *
qmgr_may_owner(const struct domain *d, const char *client, const char *user)
{
	bool owner = user != NULL && d->owner != NULL && strcmp(user, d->owner) == 0;

	return owner ? NULL : "not the owner of this domain";
}

/* qmgr_may_finger - anyone, where d has finger release on */
static const char *
qmgr_may_finger(const struct domain *d, const char *client, const char *user)
{
	return d->finger ? NULL : "finger release is off for this domain";
}

/* qmgr_may_etrn - the owner, or a client in d's etrn_from (anyone without one) */
static const char *
qmgr_may_etrn(const struct domain *d, const char *client, const char *user)
{
	struct sockaddr_storage ss;

	if (qmgr_may_owner(d, client, user) == NULL || d->etrn_from == NULL)
		return NULL;
	if (client != NULL && qmgr_client_sockaddr(client, &ss) &&
	    netlist_match(d->etrn_from, (struct sockaddr *)&ss))
		return NULL;
	return "client not in etrn_from";
}

/*
 * The trigger policy: who may open a gate, by the source the trigger
 * names. The same rows decide who may close one (type=gateclose) and
 * which domains an ATRN session may bind. Rate limits are per client
 * address, whatever the source (qmgr_client_limited).
 */
static const char *(*const qmgr_trigger_policy[PROTO_SOURCE_N])(const struct domain *d,
    const char *client, const char *user) = {
	[PROTO_SOURCE_ETRN] = qmgr_may_etrn,	/* smtpd's ETRN */
	[PROTO_SOURCE_PEER] = qmgr_may_peer,	/* another sluice, logged in as a peer */
	[PROTO_SOURCE_FINGER] = qmgr_may_finger,	/* fingerd: finger domain@mx */
	[PROTO_SOURCE_WEB] = qmgr_may_owner,	/* web login of the owner */
	[PROTO_SOURCE_ATRN] = qmgr_may_owner,	/* ODMR: the owner's authenticated session */
	[PROTO_SOURCE_PROBE] = qmgr_may_anyone,	/* the prober found the site up */
	[PROTO_SOURCE_CLI] = qmgr_may_anyone,	/* the operator (qmgr_auth_check decided) */
};

const char *
qmgr_trigger_allowed(const struct domain *d, enum proto_source source,
    const char *client, const char *user)
{
	if ((unsigned)source < PROTO_SOURCE_N && qmgr_trigger_policy[source] != NULL)
		return qmgr_trigger_policy[source](d, client, user);
	return "unknown trigger source";
}

struct qmgr_pick {
	const char *group;
	const char *parent;	/* subdomains of this name */
	const struct domain **d;
	size_t n;
};

static int
qmgr_pick_one(const struct domain *d, void *ctx)
{
	struct qmgr_pick *p = ctx;
	bool want = false;

	if (p->group != NULL) {
		want = d->group != NULL && strcmp(d->group, p->group) == 0;
	} else if (p->parent != NULL) {
		size_t dl = strlen(d->name), pl = strlen(p->parent);

		/* Label boundaries only: "@foo.com" never takes "barfoo.com". */
		want = dl > pl && d->name[dl - pl - 1] == '.' &&
		    strcmp(d->name + dl - pl, p->parent) == 0;
	}
	if (want) {
		p->d = xreallocarray(p->d, p->n + 1, sizeof(*p->d));
		p->d[p->n++] = d;
	}
	return 0;
}

void
qmgr_trigger_log(const char *what, const char *source, const char *client, const char *user,
    const char *result, size_t pending, size_t ndomains, const char *why)
{
	log_info("trigger: domain=%s, source=%s, client=%s, user=%s, result=%s, pending=%zu, "
	    "domains=%zu%s%s", what, source, client != NULL ? client : "-",
	    user != NULL ? user : "-", result, pending, ndomains, why ? ", reason=" : "",
	    why ? why : "");
}

static struct ipc_rec *
qmgr_triggered(enum proto_status status, size_t pending, size_t ndomains,
    const char *reason)
{
	return proto_triggered_encode(&(struct proto_triggered){ .status = status,
	    .pending = pending, .domains = ndomains, .reason = reason });
}

/* qmgr_pick_domain - a new one-entry pick of customer domain name, or NULL */
static const struct domain **
qmgr_pick_domain(const struct qmgr *q, const char *name)
{
	const struct domain *d = domain_find(q->cfg->domains, name), **v;

	if (d == NULL)
		return NULL;
	v = xreallocarray(NULL, 1, sizeof(*v));
	v[0] = d;
	return v;
}

static struct ipc_rec *qmgr_flush_all(struct qmgr *q, const struct proto_trigger *t);

struct ipc_rec *
qmgr_trigger(struct qmgr *q, const struct ipc_rec *req)
{
	struct proto_trigger t;
	const char *source, *client, *user, *group, *name, *why = NULL;
	enum proto_status status = PROTO_STATUS_OK;
	struct qmgr_pick pick = { 0 };
	const char **names = NULL;
	char *lower = NULL, *what;
	size_t pending = 0, released = 0, i;
	time_t now = time(NULL);

	if (proto_trigger_decode(req, &t, "private/qmgr client") < 0)
		return qmgr_triggered(PROTO_STATUS_ERROR, 0, 0, "malformed trigger request");
	/* Every domain at once: the operator's (qmgr_hook_flush) or a peer's pass of it. */
	if (t.all)
		return t.source == PROTO_SOURCE_PEER ? qmgr_flush_all(q, &t) :
		    qmgr_triggered(PROTO_STATUS_DENIED, 0, 0, "only a peer may flush all domains");
	source = proto_source_name(t.source);
	client = t.client;
	user = t.user;
	group = t.group;
	name = t.domain;
	if (client != NULL && strlen(client) > QMGR_CLIENT_MAX)
		return qmgr_triggered(PROTO_STATUS_ERROR, 0, 0, "malformed client address");
	/* A peer passes every customer's trigger: its own door limited them. */
	if (client != NULL && t.source != PROTO_SOURCE_PEER &&
	    qmgr_client_limited(q, client)) {
		status = PROTO_STATUS_BUSY;
		why = "too many requests from this client; try again in a minute";
		goto out;
	}
	if (group != NULL) {
		pick.group = group;
		domain_table_walk(q->cfg->domains, qmgr_pick_one, &pick);
		/*
		 * "ETRN #domain.com" with no group of that name means the
		 * domain: dial-up services tell their customers to send it.
		 */
		if (pick.n == 0 && address_domain_ok(group, strlen(group))) {
			lower = address_lower(group);
			if ((pick.d = qmgr_pick_domain(q, lower)) != NULL)
				pick.n = 1;
		}
	} else {
		if (!address_domain_ok(name, strlen(name)))
			return qmgr_triggered(PROTO_STATUS_ERROR, 0, 0, "bad domain name");
		lower = address_lower(name);
		/*
		 * "@dom" needs dom itself to be a customer domain: "@com" or
		 * any other bare suffix releases nothing.
		 */
		if ((pick.d = qmgr_pick_domain(q, lower)) != NULL) {
			pick.n = 1;
			if (t.subdomains) {
				pick.parent = lower;
				domain_table_walk(q->cfg->domains, qmgr_pick_one, &pick);
			}
		}
	}
	if (pick.n == 0) {
		status = PROTO_STATUS_UNKNOWN;
		why = "not a domain queued here";
		goto out;
	}
	for (i = 0; i < pick.n; i++) {
		const char *no = qmgr_trigger_allowed(pick.d[i], t.source, client, user);

		if (no != NULL) {
			status = PROTO_STATUS_DENIED;
			why = no;
			goto out;
		}
	}
	names = xcalloc(pick.n, sizeof(*names));
	for (i = 0; i < pick.n; i++)
		names[i] = pick.d[i]->name;
	/*
	 * Messages, not (message, domain) entries: one for two domains
	 * counts once. One domain has an entry per message, counted without
	 * reading them: the reply and the first job do not wait for a walk
	 * of the domain's whole mail (ETRN with a million queued).
	 */
	if ((pick.n == 1 ? qindex_count_domain(q->env.qi, names[0], &pending) :
	    qctl_count_messages(q->env.qi, names, pick.n, &pending)) < 0) {
		status = PROTO_STATUS_ERROR;
		why = "queue index unavailable";
		goto out;
	}
	for (i = 0; i < pick.n; i++) {
		struct qmgr_domain *dom = qmgr_domain_get(q, pick.d[i]->name);

		/*
		 * route=client's address is probed first: the jobs go to it
		 * only after an SMTP server there said 220.
		 */
		if (qmgr_gate_client(dom, pick.d[i], t.source, client, user))
			qmgr_client_probe_start(q, dom, client, pick.d[i]->route.port);
		/*
		 * A trigger soon after another for an open gate joins the
		 * flush under way: one flush, never several at once. It still
		 * renews the lease: a page refreshing fast keeps its gate open.
		 */
		if (qmgr_gate_joins(q, dom, now))
			qmgr_gate_renew(dom, pick.d[i]->lease, now);
		else
			qmgr_gate_open(q, dom, source, pick.d[i]->lease);
		released++;
	}
	/*
	 * While the start-up reconcile reads msg/, the index may not know
	 * the domain's mail yet: "none" would be a guess. The gate is open
	 * all the same, and what the reconcile finds goes out with its lease.
	 */
	if (qmgr_reconciling(q, NULL))
		why = "queue being reconciled; mail it finds goes out while the lease lasts";
	else if (pending == 0)
		status = PROTO_STATUS_NONE;
	/* Once to every peer; what came from a peer goes no further. */
	qmgr_peer_pass(q, &t);
out:
	what = group != NULL ? xasprintf("#%s", group) :
	    xasprintf("%s%s", t.subdomains ? "@" : "", name);
	qmgr_trigger_log(what, source, client, user, proto_status_name(status), pending,
	    released, why);
	free(what);
	free(names);
	free(pick.d);
	free(lower);
	return qmgr_triggered(status, pending, released, why);
}

/* The CLI's hooks into the running qmgr (lib/mail/qctl.h). */

static void
qmgr_hook_changed(void *ctx, const char *id)
{
	qmgr_message_new(ctx, id);
}

struct qmgr_flush_all {
	struct qmgr *q;
	enum proto_source source;
	const char **names;	/* the domains released, for the count */
	size_t domains, pending;
};

static int
qmgr_requeue_entry(const struct qindex_entry *e, void *ctx)
{
	struct qmgr *q = ctx;
	struct qindex_entry *copy = NULL;

	/* Walks read in batches, so changing the index here is allowed. */
	if (e->next_try != 0 && qindex_get(q->env.qi, e->id, e->domain, &copy) == 1) {
		copy->next_try = 0;
		(void)qindex_put(q->env.qi, copy);
	}
	qindex_entry_free(&copy);
	return 0;
}

static int
qmgr_flush_one(const char *key, void *value, void *ctx)
{
	struct qmgr_flush_all *fa = ctx;
	struct qmgr_domain *dom = value;
	size_t n = 0;

	if (qindex_count_domain(fa->q->env.qi, dom->name, &n) < 0 || n == 0)
		return 0;
	fa->names = xreallocarray(fa->names, fa->domains + 1, sizeof(*fa->names));
	fa->names[fa->domains++] = dom->name;
	if (qmgr_domain_is_held_mode(fa->q, dom->name)) {
		qmgr_gate_open(fa->q, dom, proto_source_name(fa->source),
		    qmgr_gate_lease(fa->q, dom));
	} else {
		(void)qindex_walk_domain(fa->q->env.qi, dom->name, qmgr_requeue_entry, fa->q);
		ev_timer_cancel(fa->q->loop, &dom->retry_timer);
		dom->retry_at = 0;
		qmgr_domain_fill(fa->q, dom);
	}
	return 0;
}

/*
 * qmgr_flush_all - t (all=1) releases every domain with mail: held ones
 * open, the others try now. The operator's flush (source=cli) goes once
 * to every peer; a peer's (source=peer) goes no further.
 */
static struct ipc_rec *
qmgr_flush_all(struct qmgr *q, const struct proto_trigger *t)
{
	struct qmgr_flush_all fa = { .q = q, .source = t->source };
	enum proto_status status;

	htable_walk(q->domains, qmgr_flush_one, &fa);
	/* Messages, not (message, domain) entries: one for two domains counts once. */
	(void)qctl_count_messages(q->env.qi, fa.names, fa.domains, &fa.pending);
	free(fa.names);
	qmgr_dispatch(q);
	status = fa.pending > 0 ? PROTO_STATUS_OK : PROTO_STATUS_NONE;
	qmgr_trigger_log("ALL", proto_source_name(t->source), t->client, t->user,
	    proto_status_name(status), fa.pending, fa.domains, NULL);
	qmgr_peer_pass(q, t);
	return qmgr_triggered(status, fa.pending, fa.domains, NULL);
}

static struct ipc_rec *
qmgr_hook_flush(void *ctx, const char *domain)
{
	struct qmgr *q = ctx;
	struct ipc_rec *req, *reply;

	if (domain == NULL)
		return qmgr_flush_all(q, &(struct proto_trigger){ .all = true,
		    .source = PROTO_SOURCE_CLI });
	req = proto_trigger_encode(&(struct proto_trigger){ .domain = domain,
	    .source = PROTO_SOURCE_CLI });
	reply = qmgr_trigger(q, req);
	ipc_rec_free(&req);
	return reply;
}

/*
 * qmgr_hook_gate - the gate of domain as fields (qctl.h): the CLI shows
 * them as text and as JSON, so nothing here is a sentence to parse.
 */
static void
qmgr_hook_gate(void *ctx, const char *domain, struct qctl_gate *g)
{
	struct qmgr *q = ctx;
	struct qmgr_domain *dom = htable_get(q->domains, domain);
	const struct domain *d = domain_find(q->cfg->domains, domain);
	struct tm tm;
	char when[32];

	g->state = d == NULL ? PROTO_GATE_RELAY : d->mode == DOMAIN_MODE_HOLD ?
	    PROTO_GATE_HELD : PROTO_GATE_BACKUP;
	if (dom != NULL && htable_get(q->bound, domain) != NULL &&
	    ((struct qmgr_agent *)htable_get(q->bound, domain))->maildrop) {
		snprintf(g->reason, sizeof(g->reason), "POP3 session");
	} else if (dom != NULL && htable_get(q->bound, domain) != NULL) {
		g->state = PROTO_GATE_OPEN;
		snprintf(g->opened_by, sizeof(g->opened_by), "%s",
		    proto_source_name(PROTO_SOURCE_ATRN));
		snprintf(g->reason, sizeof(g->reason), "ATRN session");
	} else if (dom != NULL && qmgr_gate_is_open(dom, time(NULL))) {
		g->state = PROTO_GATE_OPEN;
		g->until = (long long)dom->open_until;
		snprintf(g->opened_by, sizeof(g->opened_by), "%s",
		    dom->opened_by != NULL ? dom->opened_by : "");
	} else if (d != NULL && d->mode == DOMAIN_MODE_HOLD && dom != NULL &&
	    dom->opened_by != NULL && dom->last_trigger != 0) {
		localtime_r(&dom->last_trigger, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		snprintf(g->reason, sizeof(g->reason), "last open %s (%s)", when,
		    dom->opened_by);
	} else if (d != NULL && d->mode == DOMAIN_MODE_HOLD) {
		if (d->probe > 0)
			snprintf(g->reason, sizeof(g->reason), "probing");
	} else if (dom != NULL && dom->retry_timer != NULL) {
		localtime_r(&dom->retry_at, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		snprintf(g->reason, sizeof(g->reason), "retry at %s", when);
	}
}

void
qmgr_hooks_init(struct qmgr *q)
{
	q->hooks.changed = qmgr_hook_changed;
	q->hooks.flush = qmgr_hook_flush;
	q->hooks.gate = qmgr_hook_gate;
	q->hooks.ctx = q;
	q->env.hooks = &q->hooks;
}
