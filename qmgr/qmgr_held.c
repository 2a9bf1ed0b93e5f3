/*
 * qmgr_held - a customer's own held mail, for the web page: a page of a
 * domain's messages after a cursor, and the customer's delete and
 * return-to-sender (proto.h type=heldlist, type=heldact)
 *
 * The web door has checked the customer's password; qmgr checks again
 * that the login owns the domain (owner= in the domains table), so a
 * request naming another customer's domain is refused here whatever
 * the web sent. Actions reach only the recipients in that domain.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

/* lib/util */
#include "util/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/address.h"
#include "mail/conf.h"
#include "mail/domains.h"
#include "mail/header.h"
#include "mail/proto.h"
#include "mail/proto_rec.h"
#include "mail/qctl.h"
#include "mail/qindex.h"
#include "mail/queue.h"
/* qmgr */
#include "qmgr/qmgr.h"

/* One message of the page, copied out of the walk. */
struct qmgr_held_row {
	char id[QUEUE_ID_LEN + 1];
	char *sender;
	uint64_t size;
	time_t arrival, expiry;
	size_t nrcpt;
};

struct qmgr_held_page {
	struct qmgr_held_row *row;
	size_t n, limit;
};

/* qmgr_held_one - walk callback: copy the entry; 1 once the page is full */
static int
qmgr_held_one(const struct qindex_entry *e, void *ctx)
{
	struct qmgr_held_page *p = ctx;
	struct qmgr_held_row *r = &p->row[p->n++];

	memcpy(r->id, e->id, sizeof(r->id));
	r->sender = xstrdup(e->sender);
	r->size = e->size;
	r->arrival = e->arrival;
	r->expiry = e->expiry;
	r->nrcpt = e->nrcpt;
	return p->n == p->limit ? 1 : 0;
}

/*
 * qmgr_held_owned - the lowercase domain when user owns it; NULL
 * otherwise (an unknown domain alike, so that a guess learns nothing).
 */
static char *
qmgr_held_owned(const struct qmgr *q, const char *domain, const char *user)
{
	const struct domain *d;

	if (domain == NULL || user == NULL ||
	    !address_domain_ok(domain, strlen(domain)))
		return NULL;
	d = domain_find(q->cfg->domains, domain);
	if (d == NULL || d->owner == NULL || strcmp(d->owner, user) != 0)
		return NULL;
	return address_lower(d->name);
}

/* qmgr_held_subject - the raw Subject of id from a bounded read; "" none */
static void
qmgr_held_subject(const struct qmgr *q, const char *id, char *buf, size_t size)
{
	struct queue_msg m = {.fd = -1};

	buf[0] = '\0';
	if (queue_open(q->cfg->queue_directory, id, &m) < 0)
		return;
	if (header_subject_read(m.fd, m.content_off, m.content_len, buf, size) <
	    0) {
		log_warn("%s: read the subject: %s", id, strerror(errno));
		buf[0] = '\0';
	}
	queue_msg_clear(&m);
}

/* qmgr_held_blocking - make fd's sends blocking with a timeout, or not again */
static void
qmgr_held_blocking(const struct qmgr *q, int fd, bool on)
{
	struct timeval tv = {.tv_sec = on ? q->cfg->qmgr_client_timeout : 0};
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return;
	(void)fcntl(fd, F_SETFL, on ? fl & ~O_NONBLOCK : fl | O_NONBLOCK);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* qmgr_heldlist - type=heldlist: one page of a customer domain's held mail */
int
qmgr_heldlist(struct qmgr *q, const struct ipc_rec *req, int fd)
{
	struct proto_heldlist r;
	struct proto_reply end = {.status = PROTO_STATUS_OK};
	struct qmgr_held_page p = {0};
	struct ipc_rec *rec;
	char *name = NULL, subject[HEADER_SUBJECT_RAW_MAX + 1];
	size_t i;
	int ret = 0;

	if (proto_heldlist_decode(req, &r, "web") < 0) {
		end.status = PROTO_STATUS_ERROR;
		end.reason = "malformed request";
	} else if ((name = qmgr_held_owned(q, r.domain, r.user)) == NULL) {
		log_warn(
		    "refuse held mail list: user=%s, domain=%s: not its owner",
		    r.user, r.domain);
		end.status = PROTO_STATUS_DENIED;
		end.reason = "not a domain of this customer";
	} else {
		p.limit = (size_t)r.limit;
		p.row = xcalloc(p.limit, sizeof(*p.row));
		if ((r.before != NULL
		            ? qindex_walk_domain_before(q->env.qi, name,
		                  r.before, p.limit, qmgr_held_one, &p)
		            : qindex_walk_domain_after(q->env.qi, name, r.after,
		                  qmgr_held_one, &p)) < 0) {
			end.status = PROTO_STATUS_ERROR;
			end.reason = "index walk failed";
		}
	}
	/*
	 * A page is up to PROTO_HELD_PAGE_MAX records of up to a few KB:
	 * more than a socket buffer may hold. Sent blocking, with a timeout,
	 * as the CLI's replies are (the web reads them as they come), so
	 * that a full buffer waits instead of failing, and a stuck reader
	 * costs qmgr at most qmgr_client_timeout.
	 */
	qmgr_held_blocking(q, fd, true);
	for (i = 0; i < p.n; i++) {
		struct qmgr_held_row *row = &p.row[i];

		if (ret == 0 && end.status == PROTO_STATUS_OK) {
			qmgr_held_subject(q, row->id, subject, sizeof(subject));
			rec = proto_held_encode(&(struct proto_held){
			    .id = row->id,
			    .domain = name,
			    .sender = row->sender,
			    .size = row->size,
			    .arrival =
			        row->arrival > 0 ? (uint64_t)row->arrival : 0,
			    .expiry =
			        row->expiry > 0 ? (uint64_t)row->expiry : 0,
			    .nrcpt = row->nrcpt,
			    .subject = subject[0] != '\0' ? subject : NULL});
			ret = qmgr_reply(fd, &rec);
		}
		free(row->sender);
	}
	free(p.row);
	free(name);
	if (ret == 0) {
		rec = proto_reply_encode(PROTO_T_END, &end);
		ret = qmgr_reply(fd, &rec);
	}
	qmgr_held_blocking(q, fd, false);
	return ret;
}

/* qmgr_heldact - type=heldact: a customer deletes or returns one message */
int
qmgr_heldact(struct qmgr *q, const struct ipc_rec *req, int fd)
{
	struct proto_heldact a;
	struct proto_reply r = {.status = PROTO_STATUS_OK};
	struct ipc_rec *rec;
	char *name = NULL;

	if (proto_heldact_decode(req, &a, "web") < 0) {
		r.status = PROTO_STATUS_ERROR;
		r.reason = "malformed request";
	} else if ((name = qmgr_held_owned(q, a.domain, a.user)) == NULL) {
		log_warn("%s: refuse %s: user=%s, domain=%s: not its owner",
		    a.id, a.action, a.user, a.domain);
		r.status = PROTO_STATUS_DENIED;
		r.reason = "not a domain of this customer";
	} else {
		switch (qctl_customer_act(
		    &q->env, a.id, name, a.action, a.user, a.client)) {
		case 1:
			break;
		case 0:
			r.status = PROTO_STATUS_UNKNOWN;
			r.reason = "no such message for this domain";
			break;
		default:
			r.status = PROTO_STATUS_ERROR;
			r.reason =
			    "the queue could not be changed; see the log";
		}
	}
	free(name);
	rec = proto_reply_encode(PROTO_T_HELDACTED, &r);
	return qmgr_reply(fd, &rec);
}
