/*
 * smtpd_peer - the fleet on port 25: who may log in as a peer, XSUMMARY
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* lib/util */
#include "util/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/conf.h"
#include "mail/netlist.h"
#include "mail/passwd.h"
#include "mail/peer.h"
#include "mail/proto.h"
#include "mail/smtp_reply.h"
/* smtpd */
#include "smtpd/smtpd.h"

/* How long a summary may take qmgr (it walks the index once). */
#define SMTPD_SUMMARY_TIMEOUT_MS	10000

void
smtpd_peer_clear(struct smtpd *srv)
{
	netlist_free(&srv->peer_nets);
	passwd_table_free(&srv->peer_pw);
}

void
smtpd_peer_setup(struct smtpd *srv)
{
	const struct config *cfg = srv->cfg;
	char *secret = NULL, *err = NULL;

	smtpd_peer_clear(srv);
	if (cfg->peers.n == 0)
		return;
	/*
	 * Names in peers are resolved here, at start and reload, not per
	 * connection: the check on each AUTH must not wait for DNS.
	 */
	if (peer_netlist(&cfg->peers, &srv->peer_nets, &err) < 0 ||
	    peer_secret_load(cfg->peer_secret_file, &secret, &err) < 0) {
		log_warn("peer login off: %s", err);
		free(err);
		smtpd_peer_clear(srv);
		return;
	}
	srv->peer_pw = passwd_table_cram(PEER_LOGIN, secret);
	OPENSSL_cleanse(secret, strlen(secret));
	free(secret);
}

bool
smtpd_peer_offered(const struct smtpd_session *s)
{
	return s->peer_addr && s->srv->peer_pw != NULL && !s->peer_login &&
	    s->auth_user == NULL;
}

/* One XSUMMARY in progress: the session and the lines sent so far. */
struct smtpd_summary {
	struct smtpd_session *s;
	size_t n;
};

/* smtpd_summary_field - append " name=value", value made printable */
static void
smtpd_summary_field(char *line, size_t size, const char *name, const char *value)
{
	size_t len = strlen(line), i;

	if (value == NULL)
		return;
	len += (size_t)snprintf(line + len, len < size ? size - len : 0, "%s%s=",
	    len > 0 ? " " : "", name);
	for (i = 0; value[i] != '\0' && len + 1 < size; i++)
		line[len++] = value[i] > ' ' && value[i] <= '~' ? value[i] :
		    value[i] == ' ' ? ' ' : '?';
	if (len < size)
		line[len] = '\0';
}

/* smtpd_summary_rec - one type=domain record as one 250- line */
static int
smtpd_summary_rec(const struct ipc_rec *rec, void *ctx)
{
	static const char *const buckets[PROTO_NBUCKETS] = PROTO_F_BUCKETS;
	struct smtpd_summary *sum = ctx;
	char line[900] = "";
	size_t i;

	if (strcmp(ipc_rec_type(rec), PROTO_T_DOMAIN) != 0 ||
	    sum->n >= PEER_SUMMARY_MAX)
		return 0;
	smtpd_summary_field(line, sizeof(line), PROTO_F_DOMAIN, ipc_rec_get(rec, PROTO_F_DOMAIN));
	smtpd_summary_field(line, sizeof(line), PROTO_F_MESSAGES, ipc_rec_get(rec, PROTO_F_MESSAGES));
	smtpd_summary_field(line, sizeof(line), PROTO_F_BYTES, ipc_rec_get(rec, PROTO_F_BYTES));
	smtpd_summary_field(line, sizeof(line), PROTO_F_OLDEST, ipc_rec_get(rec, PROTO_F_OLDEST));
	for (i = 0; i < PROTO_NBUCKETS; i++)
		smtpd_summary_field(line, sizeof(line), buckets[i], ipc_rec_get(rec, buckets[i]));
	smtpd_summary_field(line, sizeof(line), PROTO_F_GATE, ipc_rec_get(rec, PROTO_F_GATE));
	smtpd_summary_field(line, sizeof(line), PROTO_F_OPEN_UNTIL,
	    ipc_rec_get(rec, PROTO_F_OPEN_UNTIL));
	smtpd_summary_field(line, sizeof(line), PROTO_F_OPENED_BY,
	    ipc_rec_get(rec, PROTO_F_OPENED_BY));
	/* The gate's reason is text with spaces ("last open 12:00:00 (etrn)"): last. */
	smtpd_summary_field(line, sizeof(line), PROTO_F_REASON, ipc_rec_get(rec, PROTO_F_REASON));
	smtpd_reply(sum->s, SMTP_R_PEER_SUMMARY_LINE, line);
	sum->n++;
	return 0;
}

void
smtpd_xsummary(struct smtpd_session *s, const char *arg)
{
	struct smtpd_summary sum = { .s = s };
	struct ipc_rec *req;
	int rc;

	if (!s->peer_login) {
		log_warn("%s from %s[%s] refused: not logged in as a peer",
		    PEER_VERB_SUMMARY, s->name, s->addr);
		smtpd_reply(s, SMTP_R_PEER_NEED_LOGIN);
		return;
	}
	/*
	 * XXX As ETRN, this waits for qmgr in the event loop, bounded by
	 * the timeout; a summary is an operator's occasional question.
	 */
	req = ipc_rec_new(PROTO_T_SUMMARY);
	rc = qmgr_call_public(s->srv->cfg->queue_directory, req,
	    SMTPD_SUMMARY_TIMEOUT_MS, smtpd_summary_rec, &sum);
	ipc_rec_free(&req);
	if (rc < 0) {
		log_warn("%s from %s[%s]: ask qmgr: %s", PEER_VERB_SUMMARY, s->name,
		    s->addr, strerror(errno));
		/* Lines already sent end in the 451: the peer drops them all. */
		smtpd_reply(s, SMTP_R_PEER_SUMMARY_FAILED);
		return;
	}
	log_info("%s to peer %s[%s]: %zu domains", PEER_VERB_SUMMARY, s->name,
	    s->addr, sum.n);
	smtpd_reply(s, SMTP_R_PEER_SUMMARY_END, sum.n);
}
