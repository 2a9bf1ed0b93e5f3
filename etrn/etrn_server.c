/* etrn_server - listeners, the TLS context, the connection limit, reload */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* lib/util */
#include "util/htable.h"
#include "util/log.h"
#include "util/tls.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/config.h"
#include "mail/daemon.h"
#include "mail/passwd.h"
/* etrn */
#include "etrn/etrn.h"
#include "etrn/etrn_reply.h"

/* Connections taken from one listener per wakeup, to stay fair to sessions. */
#define ETRN_ACCEPT_BATCH	32

/* etrn_refuse - say "too many connections" (not under TLS) and close fd */
void
etrn_refuse(int fd, bool tls_wrap)
{
	/* Best effort: the socket is fresh, its buffer empty. */
	if (!tls_wrap)
		(void)send(fd, ETRN_R_TOO_MANY_CONN "\r\n",
		    strlen(ETRN_R_TOO_MANY_CONN "\r\n"),
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)close(fd);
}

/* etrn_accept - a listener is readable: take new connections */
static void
etrn_accept(int lfd, unsigned events, void *ctx)
{
	struct etrn_listener *l = ctx;
	struct etrn *srv = l->srv;
	int i;

	(void)events;
	for (i = 0; i < ETRN_ACCEPT_BATCH; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("accept connection: %s", strerror(errno));
			return;
		}
		if (srv->nsessions >= ETRN_SESSION_MAX) {
			etrn_refuse(fd, l->tls_wrap);
			log_warn("reject connection: %zu sessions already",
			    srv->nsessions);
			continue;
		}
		etrn_session_new(srv, fd, l->tls_wrap);
	}
}

/*
 * etrn_tls_setup - (re)build the server TLS context. ODMR shares smtpd's
 * certificate settings: a site has one name and one certificate; with
 * none configured, a self-signed pair of our own is made once and kept.
 */
static void
etrn_tls_setup(struct etrn *srv)
{
	tls_ctx_free(&srv->tls);
	srv->tls = daemon_tls_server(srv->cfg, "etrn");
}

/* etrn_server_new - the server: config taken over, listeners watched */
struct etrn *
etrn_server_new(struct ev_loop *loop, const char *confdir, struct config *cfg,
    const int *fds, const bool *tls_wrap, size_t nfds)
{
	struct etrn *srv = xcalloc(1, sizeof(*srv));
	size_t i;

	srv->loop = loop;
	srv->confdir = confdir;
	srv->cfg = cfg;
	srv->atrn_last = htable_new();
	etrn_tls_setup(srv);
	etrn_passwd_reload(srv);
	srv->listen = xcalloc(nfds, sizeof(*srv->listen));
	srv->nlisten = nfds;
	for (i = 0; i < nfds; i++) {
		struct etrn_listener *l = &srv->listen[i];
		int flags = fcntl(fds[i], F_GETFL);

		l->srv = srv;
		l->fd = fds[i];
		l->tls_wrap = tls_wrap[i];
		if (l->tls_wrap && srv->tls == NULL)
			log_warn("odmrs listener without a TLS context: its "
			    "connections will be closed");
		if (flags < 0 || fcntl(l->fd, F_SETFL, flags | O_NONBLOCK) < 0)
			log_fatal("set listening socket %d non-blocking: %s", l->fd,
			    strerror(errno));
		if (ev_io_add(loop, l->fd, EV_READ, etrn_accept, l) < 0)
			log_fatal("watch listening socket %d: %s", l->fd,
			    strerror(errno));
	}
	return srv;
}

/* etrn_server_reload - a new configuration: rebuild TLS, reread passwd */
void
etrn_server_reload(struct etrn *srv, struct config *cfg)
{
	/* Sessions read srv->cfg anew each time and keep no pointer into it. */
	config_free(&srv->cfg);
	srv->cfg = cfg;
	etrn_tls_setup(srv);
	etrn_passwd_reload(srv);
}

/* etrn_server_free - close listeners and sessions, free everything */
void
etrn_server_free(struct etrn **srvp)
{
	struct etrn *srv = *srvp;
	size_t i;

	if (srv == NULL)
		return;
	*srvp = NULL;
	for (i = 0; i < srv->nlisten; i++) {
		ev_io_del(srv->loop, srv->listen[i].fd);
		(void)close(srv->listen[i].fd);
	}
	while (srv->sessions != NULL) {
		struct etrn_session *s = srv->sessions;

		etrn_session_free(&s);
	}
	free(srv->listen);
	etrn_atrn_forget(srv);
	passwd_table_free(&srv->passwd);
	tls_ctx_free(&srv->tls);
	config_free(&srv->cfg);
	free(srv);
}
