/* fingerd_server - limits for the serving skeleton, query rates, reload */
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

struct fingerd_idle {
	char **keys;
	size_t n;
	uint64_t now;
};

/* fingerd_idle_one - collect clients whose minute is over */
static int
fingerd_idle_one(const char *key, void *value, void *ctx)
{
	struct fingerd_idle *idle = ctx;
	struct fingerd_rate *c = value;

	if (idle->now - c->window_start >= FINGERD_WINDOW_MS) {
		idle->keys = xreallocarray(idle->keys, idle->n + 1, sizeof(*idle->keys));
		idle->keys[idle->n++] = xstrdup(key);
	}
	return 0;
}

/* fingerd_sweep - forget idle clients, so the table holds only recent ones */
static void
fingerd_sweep(void *ctx)
{
	struct fingerd *srv = ctx;
	struct fingerd_idle idle = { .now = ev_now() };
	size_t i;

	srv->sweep = NULL;
	/* htable_walk forbids changes during the walk: collect, then delete. */
	htable_walk(srv->rates, fingerd_idle_one, &idle);
	for (i = 0; i < idle.n; i++) {
		free(htable_del(srv->rates, idle.keys[i]));
		free(idle.keys[i]);
	}
	free(idle.keys);
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

/* fingerd_client_free_one - free one client record (table teardown) */
static int
fingerd_client_free_one(const char *key, void *value, void *ctx)
{
	free(value);
	return 0;
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
	htable_walk(srv->rates, fingerd_client_free_one, NULL);
	htable_free(&srv->rates);
	config_free(&srv->cfg);
	free(srv);
	*srvp = NULL;
}
