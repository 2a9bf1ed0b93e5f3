/*
 * smtpd_server - the serving skeleton's callbacks, the TLS context
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

/* lib/util */
#include "util/log.h"
#include "util/tls.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/daemon.h"
#include "mail/daemon_server.h"
#include "mail/netlist.h"
#include "mail/smtp_reply.h"
/* smtpd */
#include "smtpd/smtpd.h"

/*
 * smtpd_limits - smtpd_connection_limit, and smtpd_client_connection_limit
 * except for mynetworks, as Postfix's smtpd_client_event_limit_exceptions
 * does: local submitters and monitoring are not the abuse it is for.
 */
static void
smtpd_limits(void *ctx, const struct daemon_peer *peer, struct daemon_limits *lim_r)
{
	const struct config *cfg = ((struct smtpd *)ctx)->cfg;

	lim_r->sessions = (size_t)cfg->smtpd_connection_limit;
	lim_r->per_client = cfg->mynetworks != NULL &&
	    netlist_match(cfg->mynetworks, (const struct sockaddr *)&peer->ss) ?
	    0 : (size_t)cfg->smtpd_client_connection_limit;
}

/* smtpd_refusal - the 421 of a connection over a limit */
static void
smtpd_refusal(void *ctx, enum daemon_limit limit, const struct daemon_peer *peer,
    char *buf, size_t size)
{
	if (limit == DAEMON_LIMIT_CLIENT)
		snprintf(buf, size, SMTP_R_TOO_MANY_CONN_FROM, peer->addr);
	else
		snprintf(buf, size, SMTP_R_TOO_MANY_CONN);
}

/* smtpd_serve - a new connection: a session, on the submission port or not */
static void
smtpd_serve(void *ctx, int fd, const struct daemon_peer *peer,
    const struct daemon_listener *l)
{
	smtpd_session_new(ctx, fd, peer, strcmp(l->service, DAEMON_SVC_SUBMISSION) == 0);
}

/* smtpd_serve_free - a session still live at shutdown */
static void
smtpd_serve_free(void *owner)
{
	struct smtpd_session *s = owner;

	smtpd_session_free(&s);
}

/* smtpd_timeout_reply - the 421 of a timeout */
static void
smtpd_timeout_reply(void *owner)
{
	smtpd_reply(owner, SMTP_R_TIMEOUT);
}

/* Connections taken from one listener per wakeup, to stay fair to sessions. */
static const struct daemon_serve_ops smtpd_serve_ops = {
	.accept_batch = 32,
	.limits = smtpd_limits,
	.refusal = smtpd_refusal,
	.session = smtpd_serve,
	.session_free = smtpd_serve_free,
	.timeout_reply = smtpd_timeout_reply,
	.deadline_why = smtpd_deadline_why,
};

void
smtpd_tls_setup(struct smtpd *srv)
{
	tls_ctx_free(&srv->tls);
	if (srv->cfg->smtpd_tls_security_level == SMTPD_TLS_NONE)
		return;
	srv->tls = daemon_tls_server(srv->cfg, "smtpd");
}

struct smtpd *
smtpd_server_new(struct daemon *d)
{
	struct smtpd *srv = xcalloc(1, sizeof(*srv));

	srv->loop = d->loop;
	srv->confdir = d->config_dir;
	srv->cfg = d->cfg;
	smtpd_tls_setup(srv);
	(void)passwd_reload(&srv->pw, srv->cfg->passwd_file, true);
	smtpd_peer_setup(srv);
	smtpd_quota_setup(srv);
	srv->commits = workq_new(srv->loop, (unsigned)srv->cfg->smtpd_commit_threads);
	srv->serve = daemon_server_new(d, &smtpd_serve_ops, srv);
	return srv;
}

void
smtpd_server_free(struct smtpd **srvp)
{
	struct smtpd *srv = *srvp;

	if (srv == NULL)
		return;
	/*
	 * Commits in flight end first, their sessions still there: each is
	 * announced to qmgr (or removed) and its client gets the 250 (or
	 * the 451) before the sessions go. A client that saw the connection
	 * close without it would send the message again.
	 */
	srv->stopping = true;
	workq_drain(srv->commits);
	daemon_server_free(&srv->serve);
	/* No worker outlives the structures it writes. */
	workq_free(&srv->commits);
	smtpd_quota_clear(srv);
	passwd_table_free(&srv->pw);
	smtpd_peer_clear(srv);
	tls_ctx_free(&srv->tls);
	config_free(&srv->cfg);
	free(srv);
	*srvp = NULL;
}
