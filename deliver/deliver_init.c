/* deliver_init - configuration, resolver, TLS contexts and signals */
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
#include "mail/config.h"
#include "mail/dns.h"
#include "deliver/deliver.h"

/*
 * deliver_param - the text of a parameter that sluice.conf may not have
 * yet: config_get() fails for a name the table does not know, and the
 * caller's default applies. New string or NULL.
 */
static char *
deliver_param(const struct config *cfg, const char *name)
{
	char *v;

	if (config_get(cfg, name, &v) < 0)
		return NULL;
	return v;
}

/* deliver_param_ms - a time parameter in milliseconds, or def_s seconds */
static uint64_t
deliver_param_ms(const struct config *cfg, const char *name, long def_s)
{
	char *v = deliver_param(cfg, name);
	const char *hint;
	long s = def_s;

	if (v != NULL && config_parse_time(v, &s, &hint) < 0)
		s = def_s;
	free(v);
	return (uint64_t)(s > 0 ? s : def_s) * 1000;
}

/* deliver_param_long - a whole-number parameter, or def */
static long
deliver_param_long(const struct config *cfg, const char *name, long def)
{
	char *v = deliver_param(cfg, name), *end;
	long n = def;

	if (v != NULL) {
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0' || n < 1)
			n = def;
	}
	free(v);
	return n;
}

/* deliver_settings - the values of this load, defaults where unset */
static void
deliver_settings(struct deliver *d)
{
	const struct config *cfg = d->cfg;
	char *port;

	d->slots = deliver_param_long(cfg, "deliver_concurrency_limit",
	    DELIVER_CONCURRENCY);
	d->domain_limit = deliver_param_long(cfg,
	    "deliver_domain_concurrency_limit", DELIVER_DOMAIN_CONCURRENCY);
	/* Postfix's defaults: smtp_connect_timeout, smtp_helo_timeout, ... */
	d->to.connect_ms = deliver_param_ms(cfg, "smtp_connect_timeout", 30);
	d->to.helo_ms = deliver_param_ms(cfg, "smtp_helo_timeout", 300);
	d->to.cmd_ms = deliver_param_ms(cfg, "smtp_timeout", 300);
	d->to.data_ms = deliver_param_ms(cfg, "smtp_data_timeout", 180);
	d->to.dot_ms = deliver_param_ms(cfg, "smtp_data_done_timeout", 600);
	if (!d->mx_port_arg && (port = deliver_param(cfg, "smtp_mx_port")) != NULL) {
		unsigned long p = strtoul(port, NULL, 10);

		if (p > 0 && p < 65536)
			d->mx_port = (unsigned)p;
		free(port);
	}
}

/* deliver_resolver - a resolver for dns_servers (or resolv.conf) */
static struct dns *
deliver_resolver(struct deliver *d)
{
	struct hostport_list servers = { 0 };
	const char *hint;
	char *text = NULL, *err = NULL;
	struct dns *dns;

	if (d->dns_servers_arg != NULL)
		text = xstrdup(d->dns_servers_arg);
	else
		text = deliver_param(d->cfg, "dns_servers");
	if (text != NULL && text[0] != '\0' &&
	    config_parse_hostports(text, &servers, &hint) < 0) {
		log_warn("parse dns_servers \"%s\": %s; using resolv.conf", text, hint);
		config_hostports_free(&servers);
	}
	dns = dns_new(d->loop, &servers, &err);
	if (dns == NULL)
		log_fatal("start the resolver: %s", err);
	config_hostports_free(&servers);
	free(text);
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
	xfree(&d->local);
	config_free(&d->cfg);
}
