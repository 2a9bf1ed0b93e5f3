/*
 * qmgr_atrn - ATRN sessions: the deliver agents bound to their domains, whose gates they hold open
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util/htable.h"
#include "util/ipc.h"
#include "util/xmalloc.h"
#include "mail/conf.h"
#include "mail/domains.h"
#include "mail/proto.h"
#include "mail/proto_rec.h"
#include "mail/qindex.h"
#include "qmgr/qmgr.h"

/*
 * An ATRN session's gates stay open while it lasts (qmgr_agent_unbind
 * closes them); the lease is only the backstop should that never come.
 */
#define QMGR_ATRN_LEASE		86400

/*
 * qmgr_agent_bind - an ATRN session takes its domains: their gates open
 * for as long as the connection lasts and their jobs go only to it.
 * 0, or -1 (a reply may have been sent) to drop the connection.
 */
int
qmgr_agent_bind(struct qmgr *q, struct qmgr_agent *a, const char *list, const char *user)
{
	char *copy = xstrdup(list), *save = NULL, *name;
	long lease;
	size_t i;

	for (name = strtok_r(copy, ",", &save); name != NULL; name = strtok_r(NULL, ",", &save)) {
		const struct domain *d = domain_find(q->cfg->domains, name);
		const char *why = d == NULL ? "unknown domain" :
		    qmgr_trigger_allowed(d, PROTO_SOURCE_ATRN, NULL, user);

		if (why == NULL && htable_get(q->bound, d->name) != NULL)
			why = "busy";
		if (why != NULL || a->nbind >= PROTO_BIND_MAX) {
			struct ipc_rec *rec = proto_busy_encode(&(struct proto_busy){
			    .domain = name, .reason = why != NULL ? why : "too many domains" });

			(void)ipc_send(a->fd, rec);
			ipc_rec_free(&rec);
			free(copy);
			return -1;
		}
		a->bind = xreallocarray(a->bind, a->nbind + 1, sizeof(*a->bind));
		a->bind[a->nbind++] = xstrdup(d->name);
	}
	free(copy);
	for (i = 0; i < a->nbind; i++) {
		struct qmgr_domain *dom = qmgr_domain_get(q, a->bind[i]);
		size_t pending = 0;

		/* ATRN releases through its bind; it gets the same audit line as any trigger. */
		(void)qindex_count_domain(q->env.qi, dom->name, &pending);
		qmgr_trigger_log(dom->name, proto_source_name(PROTO_SOURCE_ATRN), NULL, user,
		    proto_status_name(pending > 0 ? PROTO_STATUS_OK : PROTO_STATUS_NONE),
		    pending, 1, NULL);
		htable_put(q->bound, dom->name, a);
		/* Queued jobs went to ordinary agents' order; start afresh for this session. */
		qmgr_domain_drop_queued(q, dom);
		lease = qmgr_gate_lease(q, dom);
		qmgr_gate_open(q, dom, proto_source_name(PROTO_SOURCE_ATRN), lease > QMGR_ATRN_LEASE ? lease : QMGR_ATRN_LEASE);
		qmgr_peer_pass(q, &(struct proto_trigger){ .domain = dom->name,
		    .source = PROTO_SOURCE_ATRN });
	}
	qmgr_agent_check_idle(q, a);
	return 0;
}

void
qmgr_agent_unbind(struct qmgr *q, struct qmgr_agent *a)
{
	size_t i;

	for (i = 0; i < a->nbind; i++) {
		struct qmgr_domain *dom = htable_get(q->domains, a->bind[i]);

		if (htable_get(q->bound, a->bind[i]) == a)
			htable_del(q->bound, a->bind[i]);
		if (dom != NULL)
			qmgr_gate_close(q, dom, "ATRN session ended");
		free(a->bind[i]);
	}
	free(a->bind);
	a->bind = NULL;
	a->nbind = 0;
}
