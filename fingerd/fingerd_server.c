/* fingerd_server - listeners, per-client limits, reload */
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
#include "mail/config.h"
/* fingerd */
#include "fingerd/fingerd.h"

/* Connections taken from a listener per wakeup, to stay fair to sessions. */
#define FINGERD_ACCEPT_BATCH	16
/* How often idle client records are forgotten. */
#define FINGERD_SWEEP_MS	60000

/* fingerd_peer_text - the client's numeric address; v4-mapped shown as IPv4 */
static void
fingerd_peer_text(const struct sockaddr *sa, socklen_t len, char *buf,
    size_t size)
{
	if (getnameinfo(sa, len, buf, (socklen_t)size, NULL, 0,
	    NI_NUMERICHOST) != 0) {
		snprintf(buf, size, "unknown");
		return;
	}
	/* One client reached over IPv4 and IPv6-mapped IPv4 is one client. */
	if (strncmp(buf, "::ffff:", 7) == 0 && strchr(buf + 7, '.') != NULL)
		memmove(buf, buf + 7, strlen(buf + 7) + 1);
}

/* fingerd_refuse - say why we will not serve fd, without waiting, and close */
static void
fingerd_refuse(int fd, const char *addr, const char *text)
{
	/* Best effort: the socket is fresh and its send buffer empty. */
	(void)send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)close(fd);
	log_info("reject: connect from %s: %.*s", addr, (int)strcspn(text, "\r"),
	    text);
}

/* fingerd_client - the record of addr, made if needed */
static struct finger_client *
fingerd_client(struct fingerd *srv, const char *addr)
{
	struct finger_client *c = htable_get(srv->clients, addr);

	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		c->window_start = ev_now();
		htable_put(srv->clients, addr, c);
	}
	return c;
}

/* fingerd_client_query - count a query of addr against its minute */
bool
fingerd_client_query(struct fingerd *srv, const char *addr)
{
	struct finger_client *c = fingerd_client(srv, addr);
	uint64_t now = ev_now();

	if (now - c->window_start >= FINGERD_WINDOW_MS) {
		c->window_start = now;
		c->queries = 0;
	}
	return ++c->queries <= FINGERD_CLIENT_QUERIES;
}

/* fingerd_client_release - one session of addr fewer */
void
fingerd_client_release(struct fingerd *srv, const char *addr)
{
	struct finger_client *c = htable_get(srv->clients, addr);

	if (c != NULL && c->sessions > 0)
		c->sessions--;
}

struct fingerd_idle {
	char **keys;
	size_t n;
	uint64_t now;
};

/* fingerd_idle_one - collect clients with no session and an old window */
static int
fingerd_idle_one(const char *key, void *value, void *ctx)
{
	struct fingerd_idle *idle = ctx;
	struct finger_client *c = value;

	if (c->sessions == 0 && idle->now - c->window_start >= FINGERD_WINDOW_MS) {
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
	htable_walk(srv->clients, fingerd_idle_one, &idle);
	for (i = 0; i < idle.n; i++) {
		free(htable_del(srv->clients, idle.keys[i]));
		free(idle.keys[i]);
	}
	free(idle.keys);
	srv->sweep = ev_timer_add(srv->loop, FINGERD_SWEEP_MS, fingerd_sweep, srv);
}

/* fingerd_accept - the listener is readable: take new connections */
static void
fingerd_accept(int lfd, unsigned events, void *ctx)
{
	struct fingerd *srv = ctx;
	int i;

	for (i = 0; i < FINGERD_ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sslen = sizeof(ss);
		char addr[INET6_ADDRSTRLEN];
		struct finger_client *c;
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sslen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("accept connection: %s", strerror(errno));
			return;
		}
		fingerd_peer_text((struct sockaddr *)&ss, sslen, addr, sizeof(addr));
		if (srv->nsessions >= FINGERD_SESSIONS_MAX) {
			fingerd_refuse(fd, addr, FINGERD_T_BUSY);
			continue;
		}
		c = fingerd_client(srv, addr);
		if (c->sessions >= FINGERD_CLIENT_SESSIONS) {
			fingerd_refuse(fd, addr, FINGERD_T_TOO_MANY);
			continue;
		}
		c->sessions++;
		fingerd_session_new(srv, fd, addr);
	}
}

/* fingerd_reload - SIGHUP: a new config, or the old one if broken */
void
fingerd_reload(struct config *cfg, void *ctx)
{
	struct fingerd *srv = ctx;

	/* Sessions keep no pointer into the config: swapping it is safe. */
	config_free(&srv->cfg);
	srv->cfg = cfg;
}

/* fingerd_server_new - watch the listeners, start the sweep */
struct fingerd *
fingerd_server_new(struct ev_loop *loop, const char *confdir, struct config *cfg,
    int *fds, size_t nfds)
{
	struct fingerd *srv = xcalloc(1, sizeof(*srv));
	size_t i;

	srv->loop = loop;
	srv->confdir = confdir;
	srv->cfg = cfg;
	srv->listen_fds = fds;
	srv->nlisten = nfds;
	srv->clients = htable_new();
	for (i = 0; i < nfds; i++) {
		int flags = fcntl(fds[i], F_GETFL);

		/* accept() must never block the loop when a client went away. */
		if (flags < 0 || fcntl(fds[i], F_SETFL, flags | O_NONBLOCK) < 0 ||
		    ev_io_add(loop, fds[i], EV_READ, fingerd_accept, srv) < 0)
			log_fatal("watch listening socket %d: %s", fds[i],
			    strerror(errno));
	}
	srv->sweep = ev_timer_add(loop, FINGERD_SWEEP_MS, fingerd_sweep, srv);
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
	size_t i;

	if (srv == NULL)
		return;
	for (i = 0; i < srv->nlisten; i++) {
		ev_io_del(srv->loop, srv->listen_fds[i]);
		(void)close(srv->listen_fds[i]);
	}
	while (srv->sessions != NULL) {
		struct finger_session *s = srv->sessions;

		fingerd_session_free(&s);
	}
	ev_timer_cancel(srv->loop, &srv->sweep);
	htable_walk(srv->clients, fingerd_client_free_one, NULL);
	htable_free(&srv->clients);
	free(srv->listen_fds);
	config_free(&srv->cfg);
	free(srv);
	*srvp = NULL;
}
