/*
 * fingerd_server - limits for the serving skeleton, query rates, reload
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* lib/util */
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/daemon.h"
#include "mail/daemon_server.h"
/* fingerd */
#include "fingerd/fingerd.h"

/* How often idle client records are forgotten. */
#define FINGERD_SWEEP_MS	60000

/* fingerd_rate - the query rate record of addr, made if needed */
static struct fingerd_rate *
fingerd_rate(struct fingerd *srv, const char *addr)
{
	struct fingerd_rate *c = htable_get(srv->rates, addr);

	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		c->window_start = ev_now();
		htable_put(srv->rates, addr, c);
	}
	return c;
}

/* fingerd_client_query - count a query of addr against its minute */
bool
fingerd_client_query(struct fingerd *srv, const char *addr)
{
	struct fingerd_rate *c = fingerd_rate(srv, addr);
	uint64_t now = ev_now();

	if (now - c->window_start >= FINGERD_WINDOW_MS) {
		c->window_start = now;
		c->queries = 0;
	}
	return ++c->queries <= FINGERD_CLIENT_QUERIES;
}

/* fingerd_rate_over - is this client's minute over? (htable_prune) */
static bool
fingerd_rate_over(const char *key, void *value, void *ctx)
{
	const struct fingerd_rate *c = value;
	const uint64_t *now = ctx;

	(void)key;
	return *now - c->window_start >= FINGERD_WINDOW_MS;
}

/* fingerd_sweep - forget idle clients, so the table holds only recent ones */
static void
fingerd_sweep(void *ctx)
{
	struct fingerd *srv = ctx;
	uint64_t now = ev_now();

	srv->sweep = NULL;
	(void)htable_prune(srv->rates, fingerd_rate_over, &now, free);
	srv->sweep = ev_timer_add(srv->loop, FINGERD_SWEEP_MS, fingerd_sweep, srv);
}

/* fingerd_limits - FINGERD_SESSIONS_MAX, and FINGERD_CLIENT_SESSIONS */
static void
fingerd_limits(void *ctx, const struct daemon_peer *peer, struct daemon_limits *lim_r)
{
	lim_r->sessions = FINGERD_SESSIONS_MAX;
	lim_r->per_client = FINGERD_CLIENT_SESSIONS;
}

/* fingerd_refusal - the text of a connection over a limit */
static void
fingerd_refusal(void *ctx, enum daemon_limit limit, const struct daemon_peer *peer,
    char *buf, size_t size)
{
	snprintf(buf, size, "%s", limit == DAEMON_LIMIT_CLIENT ?
	    FINGERD_T_TOO_MANY : FINGERD_T_BUSY);
}

/* fingerd_serve - a new connection: a session */
static void
fingerd_serve(void *ctx, int fd, const struct daemon_peer *peer,
    const struct daemon_listener *l)
{
	fingerd_session_new(ctx, fd, peer);
}

/* fingerd_serve_free - a session still live at shutdown */
static void
fingerd_serve_free(void *owner)
{
	struct fingerd_session *s = owner;

	fingerd_session_free(&s);
}

/*
 * Connections taken from a listener per wakeup, to stay fair to sessions.
 * One query, one answer: no dialogue, so no timeout_reply or deadline_why.
 */
static const struct daemon_serve_ops fingerd_serve_ops = {
	.accept_batch = 16,
	.limits = fingerd_limits,
	.refusal = fingerd_refusal,
	.session = fingerd_serve,
	.session_free = fingerd_serve_free,
};

/* fingerd_reload - SIGHUP: a new config, or the old one if broken */
void
fingerd_reload(struct config *cfg, void *ctx)
{
	struct fingerd *srv = ctx;

	/* Sessions keep no pointer into the config: swapping it is safe. */
	config_free(&srv->cfg);
	srv->cfg = cfg;
}

/* fingerd_server_new - serve d's listeners, start the sweep */
struct fingerd *
fingerd_server_new(struct daemon *d)
{
	struct fingerd *srv = xcalloc(1, sizeof(*srv));

	srv->loop = d->loop;
	srv->confdir = d->config_dir;
	srv->cfg = d->cfg;
	srv->rates = htable_new();
	srv->serve = daemon_server_new(d, &fingerd_serve_ops, srv);
	srv->sweep = ev_timer_add(srv->loop, FINGERD_SWEEP_MS, fingerd_sweep, srv);
	return srv;
}

/* fingerd_server_free - close everything and free the server */
void
fingerd_server_free(struct fingerd **srvp)
{
	struct fingerd *srv = *srvp;

	if (srv == NULL)
		return;
	daemon_server_free(&srv->serve);
	ev_timer_cancel(srv->loop, &srv->sweep);
	htable_free_values(&srv->rates, free);
	config_free(&srv->cfg);
	free(srv);
	*srvp = NULL;
}
