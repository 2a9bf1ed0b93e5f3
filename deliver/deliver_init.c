/*
 * deliver_init - configuration, resolver, TLS contexts and signals
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sysexits.h>
#include <unistd.h>

#include "util/events.h"
#include "util/log.h"
#include "util/tls.h"
#include "util/xmalloc.h"
#include "mail/conf.h"
#include "mail/dns.h"
#include "deliver/deliver.h"

/*
 * deliver_settings - the values of this load: the config module's typed
 * parameters (their defaults are its table's), -P over smtp_mx_port
 */
static void
deliver_settings(struct deliver *d)
{
	const struct config *cfg = d->cfg;

	d->slots = cfg->deliver_concurrency_limit;
	d->domain_limit = cfg->deliver_domain_concurrency_limit;
	d->to.connect_ms = (uint64_t)cfg->smtp_connect_timeout * 1000;
	d->to.helo_ms = (uint64_t)cfg->smtp_helo_timeout * 1000;
	d->to.cmd_ms = (uint64_t)cfg->smtp_timeout * 1000;
	d->to.data_ms = (uint64_t)cfg->smtp_data_timeout * 1000;
	d->to.dot_ms = (uint64_t)cfg->smtp_data_done_timeout * 1000;
	if (!d->mx_port_arg)
		d->mx_port = (unsigned)cfg->smtp_mx_port;
}

/* deliver_resolver - a resolver for dns_servers (or resolv.conf) */
static struct dns *
deliver_resolver(struct deliver *d)
{
	struct hostport_list arg = { 0 };
	const struct hostport_list *servers = &d->cfg->dns_servers;
	const char *hint;
	char *err = NULL;
	struct dns *dns;

	/* -D (tests) in the grammar of dns_servers, over sluice.conf's. */
	if (d->dns_servers_arg != NULL) {
		servers = &arg;
		if (d->dns_servers_arg[0] != '\0' &&
		    config_parse_hostports(d->dns_servers_arg, &arg, &hint) < 0) {
			log_warn("parse dns_servers \"%s\": %s; using resolv.conf",
			    d->dns_servers_arg, hint);
			config_hostports_clear(&arg);
		}
	}
	dns = dns_new(d->loop, servers, &err);
	if (dns == NULL)
		log_fatal("start the resolver: %s", err);
	config_hostports_clear(&arg);
	return dns;
}

void
deliver_reload(struct config *cfg, void *ctx)
{
	struct deliver *d = ctx;

	/* Sessions and jobs go on; they keep no pointer into the config. */
	config_free(&d->cfg);
	d->cfg = cfg;
	deliver_settings(d);
	deliver_local_refresh(d);
}

void
deliver_init(struct deliver *d)
{
	char *err = NULL;

	/*
	 * master supervises us (daemon_init asked for its death signal); a
	 * deliver that outlived it would deliver behind the back of the next
	 * master's deliver processes.
	 */
	if (getppid() == 1 && !d->foreground)
		log_fatal("parent is gone at start; exiting");
	deliver_settings(d);
	deliver_local_refresh(d);
	d->dns = deliver_resolver(d);
	d->tls_ctx = tls_client_ctx_new(false, &err);
	if (d->tls_ctx == NULL)
		log_fatal("create the TLS client context: %s", err);
	deliver_qmgr_start(d);
}

void
deliver_shutdown(struct deliver *d)
{
	ev_timer_cancel(d->loop, &d->qmgr_retry);
	if (d->qmgr_fd >= 0) {
		ev_io_del(d->loop, d->qmgr_fd);
		(void)close(d->qmgr_fd);
		d->qmgr_fd = -1;
	}
	deliver_jobs_abort(d);
	deliver_conn_close_all(d);
	dns_free(&d->dns);
	tls_ctx_free(&d->tls_ctx);
	tls_ctx_free(&d->tls_verify_ctx);
	self_addrs_clear(&d->local);
	config_free(&d->cfg);
}
