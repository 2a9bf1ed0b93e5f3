/*
 * web_gate - what the pages ask of qmgr (trigger, status, close) and of passwd
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
#include "mail/conf.h"
#include "mail/domains.h"
#include "mail/passwd.h"
#include "mail/proto.h"
#include "mail/proto_rec.h"
/* web */
#include "web/web.h"

int
web_gate_login(struct web *w, const char *user, const char *password)
{
	/* `sluice passwd` takes effect at the next login, without a reload. */
	if (passwd_reload(&w->passwd, w->cfg->passwd_file, false) < 0 &&
	    w->passwd == NULL)
		return -1;
	return passwd_verify(w->passwd, user, password) ? 1 : 0;
}

struct web_owned {
	const char *user;
	const char *only;
	char **list;
	size_t n;
};

/* web_gate_owned_one - domain_table_walk callback collecting owned domains */
static int
web_gate_owned_one(const struct domain *d, void *ctx)
{
	struct web_owned *o = ctx;

	if (d->owner == NULL || strcmp(d->owner, o->user) != 0)
		return 0;
	if (o->only != NULL && strcmp(d->name, o->only) != 0)
		return 0;
	o->list = xreallocarray(o->list, o->n + 1, sizeof(*o->list));
	o->list[o->n++] = xstrdup(d->name);
	return 0;
}

size_t
web_gate_owned(const struct config *cfg, const char *user, const char *only,
    char ***list_r)
{
	struct web_owned o = { .user = user, .only = only };

	domain_table_walk(cfg->domains, web_gate_owned_one, &o);
	*list_r = o.list;
	return o.n;
}

void
web_gate_list_free(char ***listp, size_t n)
{
	size_t i;

	if (*listp == NULL)
		return;
	for (i = 0; i < n; i++)
		free((*listp)[i]);
	xfree(listp);
}

/* web_gate_call - send req (freed) to qmgr; the reply, or NULL (logged) */
static struct ipc_rec *
web_gate_call(const struct web *w, struct ipc_rec *req)
{
	struct ipc_rec *reply = NULL;

	if (qmgr_call(w->cfg->queue_directory, req, WEB_QMGR_TIMEOUT_MS,
	    &reply) < 0) {
		log_warn("send %s request to qmgr: %s", ipc_rec_type(req), strerror(errno));
		reply = NULL;
	}
	ipc_rec_free(&req);
	return reply;
}

int
web_gate_trigger(const struct web *w, const char *domain, const char *user,
    const char *client, enum proto_status *status_r)
{
	struct ipc_rec *reply;
	struct proto_triggered t;
	int ret = -1;

	reply = web_gate_call(w, proto_trigger_encode(&(struct proto_trigger){
	    .domain = domain, .source = PROTO_SOURCE_WEB, .client = client,
	    .user = user }));
	if (reply == NULL || proto_triggered_decode(reply, &t, "qmgr") < 0) {
		*status_r = PROTO_STATUS_N;
	} else {
		*status_r = t.status;
		/* "none": released, only nothing waits right now. */
		if (t.status == PROTO_STATUS_OK || t.status == PROTO_STATUS_NONE)
			ret = 0;
	}
	ipc_rec_free(&reply);
	return ret;
}

/* web_gate_time - a time_t field of a qmgr reply; 0 when out of range */
static time_t
web_gate_time(uint64_t v)
{
	return v <= (uint64_t)1 << 40 ? (time_t)v : 0;
}

int
web_gate_status(const struct web *w, struct web_domain_view *v)
{
	struct ipc_rec *reply;
	struct proto_domainstatus st;
	int ret = -1;

	reply = web_gate_call(w, proto_domainstatus_req_encode(
	    &(struct proto_domainstatus_req){ .domain = v->name,
	    .source = PROTO_SOURCE_WEB }));
	v->known = false;
	if (reply != NULL && proto_domainstatus_decode(reply, &st, "qmgr") == 0 &&
	    st.status == PROTO_STATUS_OK) {
		v->known = true;
		v->pending = st.pending;
		v->delivered = st.delivered;
		v->open = st.gate == PROTO_GATE_OPEN;
		v->oldest = web_gate_time(st.oldest);
		v->next_expiry = web_gate_time(st.next_expiry);
		v->open_until = web_gate_time(st.open_until);
		v->in_flight = st.in_flight <= (uint64_t)1 << 40 ? st.in_flight : 0;
		v->finished = web_gate_time(st.finished);
		v->failing_at = web_gate_time(st.failing_at);
		v->next_probe = web_gate_time(st.next_probe);
		v->next_try = web_gate_time(st.next_try);
		v->sent = st.sent;
		v->bytes = st.bytes;
		v->max_messages = st.max_messages;
		v->max_bytes = st.max_bytes;
		/* The page escapes it; made printable too, as finger does. */
		snprintf(v->failing, sizeof(v->failing), "%s", st.failing != NULL ? st.failing : "");
		for (size_t i = 0; v->failing[i] != '\0'; i++)
			if ((unsigned char)v->failing[i] < 0x20 || (unsigned char)v->failing[i] > 0x7e)
				v->failing[i] = '?';
		snprintf(v->route, sizeof(v->route), "%s", st.route != NULL &&
		    strlen(st.route) < sizeof(v->route) ? st.route : "");
		ret = 0;
	} else if (reply != NULL)
		log_warn("read domain status of %s: bad reply from qmgr", v->name);
	ipc_rec_free(&reply);
	return ret;
}

int
web_gate_close(const struct web *w, const char *domain, const char *user,
    const char *client)
{
	struct ipc_rec *reply;
	struct proto_reply r;
	int ret = -1;

	reply = web_gate_call(w, proto_gateclose_encode(&(struct proto_gateclose){
	    .domain = domain, .source = PROTO_SOURCE_WEB, .client = client,
	    .user = user }));
	if (reply != NULL && proto_reply_decode(reply, PROTO_T_GATECLOSED, &r, "qmgr") == 0 &&
	    r.status == PROTO_STATUS_OK)
		ret = 0;
	else if (reply != NULL)
		log_warn("close gate of %s: qmgr says %s", domain,
		    ipc_rec_get(reply, PROTO_F_STATUS) ? ipc_rec_get(reply, PROTO_F_STATUS) : "?");
	ipc_rec_free(&reply);
	return ret;
}
