/*
 * smtpd_etrn - ETRN (RFC 1985): release a customer domain through qmgr
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* lib/util */
#include "util/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/address.h"
#include "mail/conf.h"
#include "mail/proto.h"
#include "mail/proto_rec.h"
#include "mail/smtp_reply.h"
/* smtpd */
#include "smtpd/smtpd.h"

/* ETRN commands one session may send; a site needs one per domain. */
#define SMTPD_ETRN_MAX		10
/* How long we wait for qmgr's answer (it answers from memory). */
#define SMTPD_ETRN_TIMEOUT_MS	2000
#define SMTPD_GROUP_MAX		64
/* The longest reason from qmgr we repeat to the client. */
#define SMTPD_REASON_MAX	200

/* smtpd_etrn_group_ok - a #group name: letters, digits, "._-" */
static bool
smtpd_etrn_group_ok(const char *g)
{
	size_t n = strlen(g), i;

	if (n == 0 || n > SMTPD_GROUP_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!((g[i] >= 'a' && g[i] <= 'z') || (g[i] >= 'A' && g[i] <= 'Z') ||
		    (g[i] >= '0' && g[i] <= '9') || strchr("._-", g[i]) != NULL))
			return false;
	return true;
}

/* smtpd_etrn_reason - qmgr's reason, printable and bounded, in buf */
static const char *
smtpd_etrn_reason(const char *r, char *buf, size_t size)
{
	size_t i;

	if (r == NULL || *r == '\0')
		r = "refused by policy";
	/* It goes into our reply line: no controls, nothing unbounded. */
	for (i = 0; r[i] != '\0' && i + 1 < size && i < SMTPD_REASON_MAX; i++)
		buf[i] = r[i] >= ' ' && r[i] <= '~' ? r[i] : '?';
	buf[i] = '\0';
	return buf;
}

/* smtpd_etrn_reply - the RFC 1985 reply for qmgr's answer to a trigger */
static void
smtpd_etrn_reply(struct smtpd_session *s, const char *node,
    const struct ipc_rec *rep)
{
	struct proto_triggered t;
	char reason[SMTPD_REASON_MAX + 1];

	if (proto_triggered_decode(rep, &t, "qmgr") < 0)
		t.status = PROTO_STATUS_ERROR;
	switch (t.status) {
	case PROTO_STATUS_OK:
		/*
		 * None known yet, and qmgr is still reconciling its index with
		 * the spool: the plain "started", which claims no count.
		 */
		if (t.pending == 0)
			smtpd_reply(s, SMTP_R_ETRN_STARTED, node);
		else if (t.pending <= 1000000000000ULL)
			smtpd_reply(s, SMTP_R_ETRN_COUNT, (unsigned long long)t.pending, node);
		else
			smtpd_reply(s, SMTP_R_ETRN_PENDING, node);
		break;
	case PROTO_STATUS_NONE:
		smtpd_reply(s, SMTP_R_ETRN_NONE, node);
		break;
	case PROTO_STATUS_UNKNOWN:
		smtpd_reply(s, SMTP_R_ETRN_UNKNOWN, node);
		break;
	case PROTO_STATUS_DENIED:
		smtpd_reply(s, SMTP_R_ETRN_DENIED, node,
		    smtpd_etrn_reason(t.reason, reason, sizeof(reason)));
		break;
	case PROTO_STATUS_BUSY:
		smtpd_reply(s, SMTP_R_ETRN_BUSY, node);
		break;
	case PROTO_STATUS_ERROR:
	case PROTO_STATUS_N:
		smtpd_reply(s, SMTP_R_ETRN_UNAVAILABLE, node,
		    smtpd_etrn_reason(t.reason, reason, sizeof(reason)));
		break;
	}
}

/* smtpd_etrn_arg - which domain or group an ETRN argument names */
enum smtpd_etrn_kind
smtpd_etrn_arg(const char *arg, const char **name_r)
{
	const char *name = arg;

	*name_r = NULL;
	if (strcmp(arg, PROTO_PEER_ETRN_ALL) == 0)
		return SMTPD_ETRN_ALL;
	/* "@dom": dom and its subdomains; "#name": an operator's group. */
	if (*arg == '#') {
		if (!smtpd_etrn_group_ok(arg + 1))
			return SMTPD_ETRN_BAD;
		*name_r = arg + 1;
		return SMTPD_ETRN_GROUP;
	}
	if (*name == '@')
		name++;
	if (*name == '\0' || strchr(name, ' ') != NULL ||
	    !address_domain_ok(name, strlen(name)) || name[0] == '[')
		return SMTPD_ETRN_BAD;
	*name_r = name;
	return name != arg ? SMTPD_ETRN_SUBDOMAINS : SMTPD_ETRN_DOMAIN;
}

void
smtpd_etrn(struct smtpd_session *s, const char *arg)
{
	const struct config *cfg = s->srv->cfg;
	struct ipc_rec *req, *rep = NULL;
	const char *name;
	enum smtpd_etrn_kind kind;

	if (*arg == '\0') {
		smtpd_reply(s, SMTP_R_ETRN_NEED_ARG);
		return;
	}
	kind = smtpd_etrn_arg(arg, &name);
	/* Only a peer passes an operator's flush of every domain. */
	if (kind == SMTPD_ETRN_BAD || (kind == SMTPD_ETRN_ALL && !s->peer_login)) {
		smtpd_reply(s, SMTP_R_ETRN_BAD_ARG);
		return;
	}
	if (++s->etrn_count > SMTPD_ETRN_MAX) {
		smtpd_reply(s, SMTP_R_ETRN_TOO_MANY, arg);
		smtpd_reject_log(s, "ETRN", NULL);
		return;
	}
	req = proto_trigger_encode(&(struct proto_trigger){ .all = kind == SMTPD_ETRN_ALL,
	    .domain = kind == SMTPD_ETRN_GROUP ? NULL : name,
	    .group = kind == SMTPD_ETRN_GROUP ? name : NULL,
	    .subdomains = kind == SMTPD_ETRN_SUBDOMAINS,
	    .source = s->peer_login ? PROTO_SOURCE_PEER : PROTO_SOURCE_ETRN,
	    .client = s->addr, .user = s->auth_user });
	/*
	 * XXX This waits for qmgr in the event loop. qmgr answers from
	 * memory and one index count, in well under a millisecond, and the
	 * timeout bounds the worst case; ETRN is rare (once per site per
	 * connection), so a round trip here costs the other sessions less
	 * than the machinery to make it asynchronous would cost in code.
	 */
	if (qmgr_call(cfg->queue_directory, req, SMTPD_ETRN_TIMEOUT_MS, &rep) < 0) {
		log_warn("ETRN %s from %s[%s]: ask qmgr: %s", arg, s->name, s->addr,
		    strerror(errno));
		smtpd_reply(s, SMTP_R_ETRN_UNAVAILABLE, arg,
		    "queue manager unavailable, try again later");
	} else
		smtpd_etrn_reply(s, arg, rep);
	if (s->last_reply[0] != '2')
		smtpd_reject_log(s, "ETRN", NULL);
	ipc_rec_free(&req);
	ipc_rec_free(&rep);
}
