/* web_gate - what the pages ask of qmgr (trigger, status, close) and of passwd */
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
#include "mail/config.h"
#include "mail/domains.h"
#include "mail/passwd.h"
#include "mail/proto.h"
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

/*
 * web_gate_call - one request of type about domain to qmgr, from the web
 * customer user at client when user is not NULL; the reply, or NULL
 * (logged).
 */
static struct ipc_rec *
web_gate_call(const struct web *w, const char *type, const char *domain,
    const char *user, const char *client)
{
	struct ipc_rec *req = ipc_rec_new(type), *reply = NULL;

	ipc_rec_add(req, "domain", domain);
	if (user != NULL) {
		ipc_rec_add(req, "source", "web");
		ipc_rec_add(req, "client", client);
		ipc_rec_add(req, "user", user);
	}
	if (qmgr_call(w->cfg->queue_directory, req, WEB_QMGR_TIMEOUT_MS,
	    &reply) < 0) {
		log_warn("send %s request to qmgr: %s", type, strerror(errno));
		reply = NULL;
	}
	ipc_rec_free(&req);
	return reply;
}

int
web_gate_trigger(const struct web *w, const char *domain, const char *user,
    const char *client, char *status, size_t size)
{
	struct ipc_rec *reply;
	const char *st;
	int ret = -1;

	reply = web_gate_call(w, PROTO_T_TRIGGER, domain, user, client);
	if (reply == NULL || strcmp(ipc_rec_type(reply), PROTO_T_TRIGGERED) != 0 ||
	    (st = ipc_rec_get(reply, "status")) == NULL) {
		snprintf(status, size, "unreachable");
	} else {
		snprintf(status, size, "%s", st);
		/* "none": released, only nothing waits right now. */
		if (strcmp(st, "ok") == 0 || strcmp(st, "none") == 0)
			ret = 0;
	}
	ipc_rec_free(&reply);
	return ret;
}

/* web_gate_time - a time_t field of a qmgr reply; 0 when missing */
static time_t
web_gate_time(const struct ipc_rec *rec, const char *name)
{
	unsigned long long v = 0;

	if (ipc_rec_get_num(rec, name, (unsigned long long)1 << 40, &v) < 0)
		return 0;
	return (time_t)v;
}

int
web_gate_status(const struct web *w, struct web_domain_view *v)
{
	struct ipc_rec *reply;
	const char *st, *gate;
	int ret = -1;

	reply = web_gate_call(w, PROTO_T_DOMAINSTATUS, v->name, NULL, NULL);
	v->known = false;
	if (reply != NULL && strcmp(ipc_rec_type(reply), PROTO_T_DOMAINSTATUS) == 0 &&
	    (st = ipc_rec_get(reply, "status")) != NULL && strcmp(st, "ok") == 0 &&
	    ipc_rec_get_num(reply, "pending", ~0ULL, &v->pending) == 0 &&
	    ipc_rec_get_num(reply, "delivered", ~0ULL, &v->delivered) == 0 &&
	    (gate = ipc_rec_get(reply, "gate")) != NULL) {
		v->known = true;
		v->open = strcmp(gate, "open") == 0;
		v->oldest = web_gate_time(reply, "oldest");
		v->next_expiry = web_gate_time(reply, "next_expiry");
		v->open_until = web_gate_time(reply, "open_until");
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
	const char *st;
	int ret = -1;

	reply = web_gate_call(w, PROTO_T_GATECLOSE, domain, user, client);
	if (reply != NULL && (st = ipc_rec_get(reply, "status")) != NULL &&
	    strcmp(st, "ok") == 0)
		ret = 0;
	else if (reply != NULL)
		log_warn("close gate of %s: qmgr says %s", domain,
		    ipc_rec_get(reply, "status") ? ipc_rec_get(reply, "status") : "?");
	ipc_rec_free(&reply);
	return ret;
}
