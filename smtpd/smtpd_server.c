/* smtpd_server - listeners, connection limits, TLS context */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* lib/util */
#include "util/log.h"
#include "util/tls.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/config.h"
#include "mail/daemon.h"
#include "mail/netlist.h"
#include "mail/smtp_reply.h"
/* smtpd */
#include "smtpd/smtpd.h"

/* Connections taken from one listener per wakeup, to stay fair to sessions. */
#define SMTPD_ACCEPT_BATCH	32

/* smtpd_sockaddr_text - the numeric address; IPv4-mapped IPv6 as IPv4 */
static void
smtpd_sockaddr_text(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, buf, (socklen_t)size);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], buf,
			    (socklen_t)size);
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, buf, (socklen_t)size);
	} else
		snprintf(buf, size, "unknown");
}

/* smtpd_refuse - a one-line 421 to a client we will not serve, then close */
static void
smtpd_refuse(int fd, const char *addr, const char *reply)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "%s\r\n", reply);

	/* Best effort: the socket is fresh, its send buffer empty. */
	if (n > 0)
		(void)send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)close(fd);
	log_info("reject: connect from %s: %s", addr, reply);
}

/* smtpd_client_sessions - how many sessions addr has now */
static size_t
smtpd_client_sessions(const struct smtpd *srv, const char *addr)
{
	const struct smtp_session *s;
	size_t n = 0;

	for (s = srv->sessions; s != NULL; s = s->next)
		if (strcmp(s->addr, addr) == 0)
			n++;
	return n;
}

/* smtpd_accept - the listener is readable: take new connections */
static void
smtpd_accept(int lfd, unsigned events, void *ctx)
{
	struct smtpd *srv = ctx;
	const struct config *cfg = srv->cfg;
	bool submission = false;
	size_t k;
	int i;

	for (k = 0; k < srv->nlisten; k++)
		if (srv->listen_fds[k] == lfd)
			submission = srv->listen_submission[k];

	for (i = 0; i < SMTPD_ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sslen = sizeof(ss);
		char addr[INET6_ADDRSTRLEN], reply[128];
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sslen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			/* Another smtpd took it, or nothing is left. */
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("accept connection: %s", strerror(errno));
			return;
		}
		smtpd_sockaddr_text(&ss, addr, sizeof(addr));
		if (cfg->smtpd_connection_limit > 0 &&
		    srv->nsessions >= (size_t)cfg->smtpd_connection_limit) {
			smtpd_refuse(fd, addr, SMTP_R_TOO_MANY_CONN);
			continue;
		}
		/*
		 * The per-client limit spares mynetworks, as Postfix's
		 * smtpd_client_event_limit_exceptions does: local submitters and
		 * monitoring are not the abuse it is for.
		 */
		if (cfg->smtpd_client_connection_limit > 0 &&
		    (cfg->mynetworks == NULL ||
		    !netlist_match(cfg->mynetworks, (struct sockaddr *)&ss)) &&
		    smtpd_client_sessions(srv, addr) >=
		    (size_t)cfg->smtpd_client_connection_limit) {
			snprintf(reply, sizeof(reply), SMTP_R_TOO_MANY_CONN_FROM, addr);
			smtpd_refuse(fd, addr, reply);
			continue;
		}
		smtpd_session_new(srv, fd, addr, &ss, submission);
	}
}

void
smtpd_tls_setup(struct smtpd *srv)
{
	tls_ctx_free(&srv->tls);
	if (srv->cfg->smtpd_tls_security_level == SMTPD_TLS_NONE)
		return;
	srv->tls = daemon_tls_server(srv->cfg, "smtpd");
}

struct smtpd *
smtpd_server_new(struct ev_loop *loop, const char *confdir, struct config *cfg,
    const int *fds, const bool *submission, size_t nfds)
{
	struct smtpd *srv = xcalloc(1, sizeof(*srv));
	size_t i;

	srv->loop = loop;
	srv->confdir = confdir;
	srv->cfg = cfg;
	/*
	 * Copies: main() passes arrays on its stack, and smtpd_server_free()
	 * frees these (freeing main's array aborted every SIGTERM).
	 */
	srv->listen_fds = xcalloc(nfds ? nfds : 1, sizeof(*srv->listen_fds));
	srv->listen_submission = xcalloc(nfds ? nfds : 1, sizeof(*srv->listen_submission));
	memcpy(srv->listen_fds, fds, nfds * sizeof(*fds));
	memcpy(srv->listen_submission, submission, nfds * sizeof(*submission));
	srv->nlisten = nfds;
	smtpd_tls_setup(srv);
	(void)passwd_reload(&srv->pw, cfg->passwd_file, true);
	for (i = 0; i < nfds; i++) {
		int flags = fcntl(fds[i], F_GETFL);

		/* Several smtpd processes may share a listener: never block in accept. */
		if (flags < 0 || fcntl(fds[i], F_SETFL, flags | O_NONBLOCK) < 0)
			log_fatal("set listening socket %d non-blocking: %s", fds[i],
			    strerror(errno));
		if (ev_io_add(loop, fds[i], EV_READ, smtpd_accept, srv) < 0)
			log_fatal("watch listening socket %d: %s", fds[i],
			    strerror(errno));
	}
	return srv;
}

void
smtpd_server_free(struct smtpd **srvp)
{
	struct smtpd *srv = *srvp;
	size_t i;

	if (srv == NULL)
		return;
	for (i = 0; i < srv->nlisten; i++) {
		ev_io_del(srv->loop, srv->listen_fds[i]);
		(void)close(srv->listen_fds[i]);
	}
	while (srv->sessions != NULL) {
		struct smtp_session *s = srv->sessions;

		smtpd_session_free(&s);
	}
	free(srv->listen_fds);
	free(srv->listen_submission);
	passwd_table_free(&srv->pw);
	tls_ctx_free(&srv->tls);
	config_free(&srv->cfg);
	free(srv);
	*srvp = NULL;
}
