/*
 * qmgr_dnscheck - the DNS setup check of every customer domain
 * (mail/dnscheck.h) at start and after each reload, in the background:
 * four domains at a time, a new one every 100 ms at most, so that
 * thousands of domains never flood the DNS servers nor delay anything
 * qmgr does. Its problems are warnings in the log, never a reason to stop
 * or refuse a reload:
 *
 *	warning: dns check: loop.example: this host is the best MX ...
 *	warning: DNS check skipped: no DNS server answered ...
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdlib.h>

#include "util/log.h"
#include "util/xmalloc.h"
#include "mail/conf.h"
#include "mail/dns.h"
#include "mail/dnscheck.h"
#include "mail/selfaddr.h"
#include "qmgr/qmgr.h"

#define QMGR_DNSCHECK_PARALLEL		4
#define QMGR_DNSCHECK_INTERVAL_MS	100
/* Per try and tries: a server that does not answer costs 6 s, once. */
#define QMGR_DNSCHECK_TRY_MS		2000
#define QMGR_DNSCHECK_TRIES		2

/* qmgr_dnscheck_each - log one domain's problems */
static void
qmgr_dnscheck_each(const struct dnscheck_result *res, void *ctx)
{
	struct qmgr *q = ctx;
	size_t i;

	/* "DNS check skipped" says it once, for every domain. */
	if (res->no_server)
		return;
	for (i = 0; i < res->n; i++)
		if (res->v[i].verdict == DNSCHECK_WARNING ||
		    res->v[i].verdict == DNSCHECK_ERROR) {
			log_warn("dns check: %s: %s", res->domain, res->v[i].text);
			q->dnscheck_problems++;
		}
}

/* qmgr_dnscheck_done - the run is over */
static void
qmgr_dnscheck_done(size_t checked, size_t total, const char *skipped, void *ctx)
{
	struct qmgr *q = ctx;

	q->dnscheck = NULL;
	if (skipped != NULL)
		log_warn("DNS check skipped: %s; %zu of %zu domains checked; it "
		    "runs again at the next reload", skipped, checked, total);
	else
		log_info("dns check: %zu domain%s checked, %zu problem%s", checked,
		    checked == 1 ? "" : "s", q->dnscheck_problems,
		    q->dnscheck_problems == 1 ? "" : "s");
}

void
qmgr_dnscheck_stop(struct qmgr *q)
{
	dnscheck_batch_cancel(&q->dnscheck);
	dns_free(&q->dnscheck_dns);
	if (q->dnscheck_self != NULL) {
		self_addrs_clear(q->dnscheck_self);
		xfree(&q->dnscheck_self);
	}
}

void
qmgr_dnscheck_start(struct qmgr *q)
{
	char *err = NULL;

	qmgr_dnscheck_stop(q);
	if (!q->cfg->dns_check)
		return;
	/* Afresh each time: a reload may name other servers. */
	q->dnscheck_dns = dns_new(q->loop, &q->cfg->dns_servers, &err);
	if (q->dnscheck_dns == NULL) {
		log_warn("DNS check skipped: %s; it runs again at the next reload", err);
		free(err);
		return;
	}
	dns_report_servfail(q->dnscheck_dns, QMGR_DNSCHECK_TRY_MS, QMGR_DNSCHECK_TRIES);
	q->dnscheck_self = xcalloc(1, sizeof(*q->dnscheck_self));
	if (self_addrs_refresh(q->dnscheck_self) < 0)
		log_warn("dns check: list interface addresses: %m; only myhostname "
		    "and smtp_listen say which MX hosts are this host");
	q->dnscheck_problems = 0;
	q->dnscheck = dnscheck_batch_start(q->loop, q->dnscheck_dns, q->cfg,
	    q->dnscheck_self, QMGR_DNSCHECK_PARALLEL, QMGR_DNSCHECK_INTERVAL_MS,
	    qmgr_dnscheck_each, qmgr_dnscheck_done, q);
}
