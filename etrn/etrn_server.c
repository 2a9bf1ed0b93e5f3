/*
 * etrn_server - limits and refusals for the serving skeleton, TLS, reload
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
/* etrn */
#include "etrn/etrn.h"
#include "etrn/etrn_reply.h"

/* etrn_limits - ETRN_SESSION_MAX, and odmr_client_connection_limit */
static void
etrn_limits(void *ctx, const struct daemon_peer *peer, struct daemon_limits *lim_r)
{
	lim_r->sessions = ETRN_SESSION_MAX;
	lim_r->per_client = (size_t)((struct etrn *)ctx)->cfg->odmr_client_connection_limit;
}

/* etrn_refusal - the 421 of a connection over a limit (not on odmrs) */
static void
etrn_refusal(void *ctx, enum daemon_limit limit, const struct daemon_peer *peer,
    char *buf, size_t size)
{
	snprintf(buf, size, "%s", ETRN_R_TOO_MANY_CONN);
}

/* etrn_serve - a new connection: a session; odmrs speaks TLS first */
static void
etrn_serve(void *ctx, int fd, const struct daemon_peer *peer,
    const struct daemon_listener *l)
{
	etrn_session_new(ctx, fd, peer, strcmp(l->service, DAEMON_SVC_ODMRS) == 0);
}

/* etrn_serve_free - a session still live at shutdown */
static void
etrn_serve_free(void *owner)
{
	struct etrn_session *s = owner;

	etrn_session_free(&s);
}

/* etrn_timeout_reply - the 421 of a timeout */
static void
etrn_timeout_reply(void *owner)
{
	etrn_reply(owner, ETRN_R_TIMEOUT);
}

/* etrn_deadline_why - the log reason of a timeout of the command dialogue */
static void
etrn_deadline_why(void *owner, unsigned events, char *buf, size_t size)
{
	const struct config *cfg = ((struct etrn_session *)owner)->srv->cfg;

	daemon_deadline_why(events, cfg->odmr_command_deadline, "session",
	    cfg->odmr_session_deadline, buf, size);
}

/* Connections taken from one listener per wakeup, to stay fair to sessions. */
static const struct daemon_serve_ops etrn_serve_ops = {
	.accept_batch = 32,
	.tls_on_connect = DAEMON_SVC_ODMRS,
	.limits = etrn_limits,
	.refusal = etrn_refusal,
	.session = etrn_serve,
	.session_free = etrn_serve_free,
	.timeout_reply = etrn_timeout_reply,
	.deadline_why = etrn_deadline_why,
};

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

/* etrn_server_new - the server: d's config and listeners taken over */
struct etrn *
etrn_server_new(struct daemon *d)
{
	struct etrn *srv = xcalloc(1, sizeof(*srv));
	size_t i;

	srv->loop = d->loop;
	srv->confdir = d->config_dir;
	srv->cfg = d->cfg;
	srv->atrn_last = htable_new();
	etrn_tls_setup(srv);
	etrn_passwd_reload(srv);
	for (i = 0; i < d->nlisten; i++)
		if (daemon_listener_is(d, i, DAEMON_SVC_ODMRS) && srv->tls == NULL)
			log_warn("odmrs listener without a TLS context: its "
			    "connections will be closed");
	srv->serve = daemon_server_new(d, &etrn_serve_ops, srv);
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

	if (srv == NULL)
		return;
	*srvp = NULL;
	daemon_server_free(&srv->serve);
	etrn_atrn_forget(srv);
	passwd_table_free(&srv->passwd);
	tls_ctx_free(&srv->tls);
	config_free(&srv->cfg);
	free(srv);
}
