/*
 * qmgr_peer - hand each accepted trigger to peer(8sluice), once, for the fleet
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* lib/util */
#include "util/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/proto.h"
#include "mail/proto_rec.h"
/* qmgr */
#include "qmgr/qmgr.h"

/*
 * Which accepted triggers go to the peers: the customer's own signals.
 * A peer's trigger never goes on (no storms, no loops), and every host's
 * prober probes for itself.
 */
static const bool qmgr_peer_passes[PROTO_SOURCE_N] = {
	[PROTO_SOURCE_ETRN] = true,
	[PROTO_SOURCE_FINGER] = true,
	[PROTO_SOURCE_WEB] = true,
	[PROTO_SOURCE_ATRN] = true,
	[PROTO_SOURCE_CLI] = true,
	[PROTO_SOURCE_PEER] = false,
	[PROTO_SOURCE_PROBE] = false,
};

void
qmgr_peer_pass(struct qmgr *q, const struct proto_trigger *t)
{
	struct ipc_rec *rec;
	char *path, *what;
	int fd = -1, rc = -1;

	if (q->cfg->peers.n == 0 || (unsigned)t->source >= PROTO_SOURCE_N ||
	    !qmgr_peer_passes[t->source])
		return;
	what = t->all ? xstrdup("ALL") : t->group != NULL ? xasprintf("#%s", t->group) :
	    xasprintf("%s%s", t->subdomains ? "@" : "", t->domain);
	/*
	 * Never blocking: peer(8sluice) does the SMTP and the retries. When it is
	 * not running the pass is lost, with this warning; the customer's
	 * own host has released its mail all the same.
	 */
	rec = proto_trigger_encode(&(struct proto_trigger){ .domain = t->domain,
	    .group = t->group, .subdomains = t->subdomains, .source = t->source,
	    .all = t->all });
	path = xasprintf("%s/%s", q->cfg->queue_directory, PROTO_PEER_PRIVATE);
	if ((fd = ipc_connect(path, true)) >= 0)
		rc = ipc_send(fd, rec);
	if (rc < 0)
		log_warn("peer: domain=%s, source=%s, result=not passed (%s: %s; is "
		    "peer(8sluice) running?)", what, proto_source_name(t->source), path,
		    strerror(errno));
	else
		log_info("peer: domain=%s, source=%s, passing to %zu peers", what,
		    proto_source_name(t->source), q->cfg->peers.n);
	if (fd >= 0)
		(void)close(fd);
	ipc_rec_free(&rec);
	free(path);
	free(what);
}
