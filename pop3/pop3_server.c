/*
 * pop3_server - limits and refusals for the serving skeleton, TLS, reload
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
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
#include "mail/conf.h"
#include "mail/daemon.h"
#include "mail/daemon_server.h"
#include "mail/passwd.h"
/* pop3 */
#include "pop3/pop3.h"
#include "pop3/pop3_reply.h"

/* pop3_limits - POP3_SESSION_MAX, and pop3_client_connection_limit */
static void
pop3_limits(
    void *ctx, const struct daemon_peer *peer, struct daemon_limits *lim_r)
{
	lim_r->sessions = POP3_SESSION_MAX;
	lim_r->per_client =
	    (size_t)((struct pop3 *)ctx)->cfg->pop3_client_connection_limit;
}

/* pop3_refusal - the -ERR of a connection over a limit (not on pop3s) */
static void
pop3_refusal(void *ctx, enum daemon_limit limit, const struct daemon_peer *peer,
    char *buf, size_t size)
{
	snprintf(buf, size, "%s", POP3_R_TOO_MANY_CONN);
}

/* pop3_serve - a new connection: a session; pop3s speaks TLS first */
static void
pop3_serve(void *ctx, int fd, const struct daemon_peer *peer,
    const struct daemon_listener *l)
{
	pop3_session_new(
	    ctx, fd, peer, strcmp(l->service, DAEMON_SVC_POP3S) == 0);
}

/* pop3_serve_free - a session still live at shutdown */
static void
pop3_serve_free(void *owner)
{
	struct pop3_session *s = owner;

	pop3_session_free(&s);
}

/* pop3_timeout_reply - the -ERR of a timeout */
static void
pop3_timeout_reply(void *owner)
{
	pop3_reply(owner, POP3_R_TIMEOUT);
}

/* pop3_deadline_why - the log reason of a timeout of the command dialogue */
static void
pop3_deadline_why(void *owner, unsigned events, char *buf, size_t size)
{
	const struct config *cfg = ((struct pop3_session *)owner)->srv->cfg;

	daemon_deadline_why(events, cfg->pop3_command_deadline, "session",
	    cfg->pop3_session_deadline, buf, size);
}

/* Connections taken from one listener per wakeup, to stay fair to sessions. */
static const struct daemon_serve_ops pop3_serve_ops = {
    .accept_batch = 32,
    .tls_on_connect = DAEMON_SVC_POP3S,
    .limits = pop3_limits,
    .refusal = pop3_refusal,
    .session = pop3_serve,
    .session_free = pop3_serve_free,
    .timeout_reply = pop3_timeout_reply,
    .deadline_why = pop3_deadline_why,
};

/*
 * pop3_tls_setup - (re)build the server TLS context. POP3 shares smtpd's
 * certificate settings: a site has one name and one certificate; with
 * none configured, a self-signed pair of our own is made once and kept.
 */
static void
pop3_tls_setup(struct pop3 *srv)
{
	tls_ctx_free(&srv->tls);
	srv->tls = daemon_tls_server(srv->cfg, "pop3");
}

/* pop3_server_new - the server: d's config and listeners taken over */
struct pop3 *
pop3_server_new(struct daemon *d)
{
	struct pop3 *srv = xcalloc(1, sizeof(*srv));
	size_t i;

	srv->loop = d->loop;
	srv->cfg = d->cfg;
	pop3_tls_setup(srv);
	pop3_passwd_reload(srv);
	for (i = 0; i < d->nlisten; i++)
		if (daemon_listener_is(d, i, DAEMON_SVC_POP3S) &&
		    srv->tls == NULL)
			log_warn("pop3s listener without a TLS context: its "
			         "connections will be closed");
	srv->serve = daemon_server_new(d, &pop3_serve_ops, srv);
	return srv;
}

/* pop3_server_reload - a new configuration: rebuild TLS, reread passwd */
void
pop3_server_reload(struct pop3 *srv, struct config *cfg)
{
	/* Sessions read srv->cfg anew each time and keep no pointer into it. */
	config_free(&srv->cfg);
	srv->cfg = cfg;
	pop3_tls_setup(srv);
	pop3_passwd_reload(srv);
}

/* pop3_server_free - close listeners and sessions, free everything */
void
pop3_server_free(struct pop3 **srvp)
{
	struct pop3 *srv = *srvp;

	if (srv == NULL)
		return;
	*srvp = NULL;
	daemon_server_free(&srv->serve);
	passwd_table_free(&srv->passwd);
	tls_ctx_free(&srv->tls);
	config_free(&srv->cfg);
	free(srv);
}
