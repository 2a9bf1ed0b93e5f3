/*
 * web_held - what the customer's list of held mail asks of qmgr: a page
 * of every domain of the session merged in queue ID order, and the
 * actions on one message (proto.h type=heldlist, type=heldact)
 *
 * A page of n messages asks each of the session's k domains for its
 * first n + 1 after the cursor (qmgr reads them from the by_domain
 * index) and keeps the first n distinct IDs of the union: O(k n),
 * whatever the queue holds. The (n + 1)-th says whether there is a next
 * page. A message for two of the customer's domains is one row.
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
#include "mail/proto.h"
#include "mail/proto_rec.h"
/* web */
#include "web/web.h"

struct web_held_acc {
	struct web_held_row *rows;
	size_t n;
	const char *domain;
	bool denied;
	bool bad;
};

/* web_held_rec - one type=held record from qmgr into the accumulator */
static int
web_held_rec(const struct ipc_rec *rec, void *ctx)
{
	struct web_held_acc *a = ctx;
	struct proto_held h;
	struct web_held_row *r;

	if (proto_held_decode(rec, &h, "qmgr") < 0 || !queue_id_ok(h.id)) {
		a->bad = true;
		return -1;
	}
	a->rows = xreallocarray(a->rows, a->n + 1, sizeof(*a->rows));
	r = &a->rows[a->n++];
	memset(r, 0, sizeof(*r));
	memcpy(r->id, h.id, sizeof(r->id));
	r->domains = xstrdup(a->domain);
	r->sender = xstrdup(h.sender);
	r->subject = h.subject != NULL ? xstrdup(h.subject) : NULL;
	r->size = h.size;
	r->arrival = h.arrival <= (uint64_t)1 << 40 ? (time_t)h.arrival : 0;
	r->expiry = h.expiry <= (uint64_t)1 << 40 ? (time_t)h.expiry : 0;
	r->nrcpt = h.nrcpt;
	return 0;
}

/* web_held_cmp - rows by queue ID (qsort) */
static int
web_held_cmp(const void *a, const void *b)
{
	return strcmp(((const struct web_held_row *)a)->id,
	    ((const struct web_held_row *)b)->id);
}

/* web_held_cmp_desc - rows by queue ID, the last first (a page before) */
static int
web_held_cmp_desc(const void *a, const void *b)
{
	return web_held_cmp(b, a);
}

static void
web_held_row_clear(struct web_held_row *r)
{
	free(r->domains);
	free(r->sender);
	free(r->subject);
	memset(r, 0, sizeof(*r));
}

int
web_held_page(const struct web *w, const struct web_session *ss,
    const char *after, const char *before, size_t page, struct web_held_list *l)
{
	struct web_held_acc a = {0};
	size_t i, out = 0;
	int ret = 0;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < ss->ndomains && ret == 0; i++) {
		struct ipc_rec *req = proto_heldlist_encode(
		    &(struct proto_heldlist){.domain = ss->domains[i],
		        .user = ss->user,
		        .after = after != NULL && *after != '\0' ? after : NULL,
		        .before = before,
		        .limit = page + 1});

		a.domain = ss->domains[i];
		if (qmgr_call_multi(w->cfg->queue_directory, req,
		        WEB_QMGR_TIMEOUT_MS, web_held_rec, &a) < 0) {
			log_warn("list held mail of %s: %s", ss->domains[i],
			    a.bad        ? "bad reply from qmgr"
			    : errno != 0 ? strerror(errno)
			                 : "refused by qmgr");
			ret = -1;
		}
		ipc_rec_free(&req);
	}
	if (a.n > 0)
		qsort(a.rows, a.n, sizeof(*a.rows),
		    before != NULL ? web_held_cmp_desc : web_held_cmp);
	/* One row per message: its domains of this customer joined. */
	for (i = 0; i < a.n; i++) {
		if (out > 0 && strcmp(a.rows[out - 1].id, a.rows[i].id) == 0) {
			char *both = xasprintf("%s, %s",
			    a.rows[out - 1].domains, a.rows[i].domains);

			free(a.rows[out - 1].domains);
			a.rows[out - 1].domains = both;
			a.rows[out - 1].nrcpt += a.rows[i].nrcpt;
			web_held_row_clear(&a.rows[i]);
			continue;
		}
		if (out != i) {
			a.rows[out] = a.rows[i];
			memset(&a.rows[i], 0, sizeof(a.rows[i]));
		}
		out++;
	}
	for (i = page; i < out; i++)
		web_held_row_clear(&a.rows[i]);
	l->rows = a.rows;
	l->n = out > page ? page : out;
	if (before != NULL) {
		/* The page before, nearest first: shown in queue ID order. */
		for (i = 0; i < l->n / 2; i++) {
			struct web_held_row t = l->rows[i];

			l->rows[i] = l->rows[l->n - 1 - i];
			l->rows[l->n - 1 - i] = t;
		}
		l->prev = out > page;
		l->more = true;
	} else {
		l->prev = after != NULL && *after != '\0';
		l->more = out > page;
	}
	return ret;
}

void
web_held_list_clear(struct web_held_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		web_held_row_clear(&l->rows[i]);
	free(l->rows);
	memset(l, 0, sizeof(*l));
}

int
web_held_act(const struct web *w, const char *id, const char *domain,
    const char *action, const char *user, const char *client,
    enum proto_status *status_r)
{
	struct ipc_rec *req, *reply = NULL;
	struct proto_reply r;

	*status_r = PROTO_STATUS_N;
	req = proto_heldact_encode(&(struct proto_heldact){.id = id,
	    .domain = domain,
	    .user = user,
	    .client = client,
	    .action = action});
	if (qmgr_call(w->cfg->queue_directory, req, WEB_QMGR_TIMEOUT_MS,
	        &reply) < 0) {
		log_warn("%s: send %s request to qmgr: %s", id, action,
		    strerror(errno));
		ipc_rec_free(&req);
		return -1;
	}
	ipc_rec_free(&req);
	if (proto_reply_decode(reply, PROTO_T_HELDACTED, &r, "qmgr") < 0) {
		ipc_rec_free(&reply);
		return -1;
	}
	*status_r = r.status;
	ipc_rec_free(&reply);
	return 0;
}
