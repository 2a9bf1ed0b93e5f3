/*
 * qmgr_pop3 - POP3 sessions: maildrop agents that hold their domains and
 * report what the customer collected
 *
 * A POP3 session (pop3(8sluice)) binds its customer's pop3=yes domains
 * as an ATRN session does, in q->bound, so that nothing else delivers
 * them while the customer reads its maildrop; but it opens no gate and
 * takes no job: qmgr_agent_pick gives a held domain's jobs to nobody.
 * A domain with a job at a deliver process is refused (busy): that
 * message could be delivered and collected both. What the customer
 * deleted comes back at QUIT as type=collect records, journalled here,
 * through the journal every delivery writes, so that the index rewrite,
 * a restart and `sluice queue reindex` all see it as delivered.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "util/htable.h"
#include "util/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "mail/address.h"
#include "mail/conf.h"
#include "mail/domains.h"
#include "mail/job.h"
#include "mail/proto.h"
#include "mail/proto_rec.h"
#include "mail/qctl.h"
#include "mail/queue.h"
#include "qmgr/qmgr.h"

/* qmgr_pop3_refuse - type=busy for domain: the bind is refused */
static int
qmgr_pop3_refuse(struct qmgr_agent *a, const char *domain, const char *why)
{
	struct ipc_rec *rec = proto_busy_encode(
	    &(struct proto_busy){.domain = domain, .reason = why});

	(void)ipc_send(a->fd, rec);
	ipc_rec_free(&rec);
	return -1;
}

/* qmgr_pop3_bind - see qmgr.h */
int
qmgr_pop3_bind(
    struct qmgr *q, struct qmgr_agent *a, const char *list, const char *user)
{
	char *copy = xstrdup(list), *save = NULL, *name;
	struct ipc_rec *rec;
	size_t i;

	a->maildrop = true;
	a->user = xstrdup(user);
	for (name = strtok_r(copy, ",", &save); name != NULL;
	     name = strtok_r(NULL, ",", &save)) {
		const struct domain *d = domain_find(q->cfg->domains, name);
		struct qmgr_domain *dom =
		    d != NULL ? htable_get(q->domains, d->name) : NULL;
		const char *why = NULL;

		if (d == NULL || d->owner == NULL ||
		    strcmp(d->owner, user) != 0)
			why = "not the owner of this domain";
		else if (!d->pop3)
			why = "POP3 collection is off for this domain";
		else if (htable_get(q->bound, d->name) != NULL)
			why = "busy";
		else if (dom != NULL && dom->active > 0)
			why = "being delivered now";
		else if (a->nbind >= PROTO_BIND_MAX)
			why = "too many domains";
		if (why != NULL) {
			log_info("refuse POP3 maildrop of %s for user=%s: %s",
			    name, user, why);
			(void)qmgr_pop3_refuse(a, name, why);
			free(copy);
			return -1;
		}
		a->bind =
		    xreallocarray(a->bind, a->nbind + 1, sizeof(*a->bind));
		a->bind[a->nbind++] = xstrdup(d->name);
	}
	free(copy);
	/* No domain: an agent without a bind would be given anyone's jobs
	 * (qmgr_agent_pick), which a maildrop never delivers. */
	if (a->nbind == 0) {
		log_warn(
		    "refuse POP3 maildrop for user=%s: no domain named", user);
		return qmgr_pop3_refuse(a, "-", "no domain named");
	}
	for (i = 0; i < a->nbind; i++) {
		struct qmgr_domain *dom = qmgr_domain_get(q, a->bind[i]);

		htable_put(q->bound, dom->name, a);
		/* Jobs queued for an open gate wait for the session's end,
		 * refilled then. */
		qmgr_domain_drop_queued(q, dom);
		log_info("%s: POP3 maildrop open for user=%s", dom->name, user);
	}
	a->idle_sent = true;
	rec = proto_idle_encode();
	if (ipc_send(a->fd, rec) < 0)
		log_warn(
		    "answer POP3 session of %s: %s", user, strerror(errno));
	ipc_rec_free(&rec);
	return 0;
}

/* qmgr_pop3_unbind - see qmgr.h */
void
qmgr_pop3_unbind(struct qmgr *q, struct qmgr_agent *a)
{
	size_t i;

	for (i = 0; i < a->nbind; i++) {
		struct qmgr_domain *dom = htable_get(q->domains, a->bind[i]);

		/* A bind refused half-way never held the earlier domains. */
		if (htable_get(q->bound, a->bind[i]) == a) {
			htable_del(q->bound, a->bind[i]);
			log_info("%s: POP3 maildrop closed for user=%s",
			    a->bind[i], a->user != NULL ? a->user : "");
			/* A trigger opened the gate meanwhile: it goes. */
			if (dom != NULL) {
				qmgr_domain_drop_queued(q, dom);
				qmgr_domain_fill(q, dom);
			}
		}
		free(a->bind[i]);
	}
	free(a->bind);
	a->bind = NULL;
	a->nbind = 0;
}

/* qmgr_pop3_answer - type=collected status= [reason=]; 0/-1 */
static int
qmgr_pop3_answer(struct qmgr_agent *a, enum proto_status st, const char *why)
{
	struct ipc_rec *rec = proto_reply_encode(PROTO_T_COLLECTED,
	    &(struct proto_reply){.status = st, .reason = why});
	int r = ipc_send(a->fd, rec);

	ipc_rec_free(&rec);
	return r;
}

/* qmgr_pop3_bound - is the domain of rcpt bound to a? */
static bool
qmgr_pop3_bound(struct qmgr *q, const struct qmgr_agent *a, const char *rcpt,
    struct qmgr_domain **dom_r)
{
	char *domain = address_domain_lower(rcpt);
	bool ok = domain != NULL && htable_get(q->bound, domain) == a;

	*dom_r = ok ? htable_get(q->domains, domain) : NULL;
	free(domain);
	return ok && *dom_r != NULL;
}

/* qmgr_pop3_still_owner - does the configuration still give name to a? */
static bool
qmgr_pop3_still_owner(
    struct qmgr *q, const struct qmgr_agent *a, const char *name)
{
	const struct domain *d = domain_find(q->cfg->domains, name);

	return d != NULL && d->pop3 && d->owner != NULL && a->user != NULL &&
	       strcmp(d->owner, a->user) == 0;
}

/* qmgr_pop3_log - the delivery line, in deliver's shape, for pflogsumm */
static void
qmgr_pop3_log(const struct envelope *msg, size_t idx, const char *user)
{
	struct timeval tv;
	double delay;
	char s0[16];

	gettimeofday(&tv, NULL);
	delay = (double)tv.tv_sec + tv.tv_usec / 1e6 - (double)msg->arrival;
	job_delay_format(delay > 0 ? delay : 0, s0, sizeof(s0));
	log_info(
	    "%s: to=<%s>, relay=pop3, delay=%s, delays=%s/0/0/0, dsn=2.0.0, "
	    "status=sent (collected by POP3 user %s)",
	    msg->id, msg->rcpt[idx].addr, s0, s0, user);
}

/*
 * qmgr_pop3_gone - has the session hung up? Then nobody would read our
 * answer: a collect journalled now would delete what the customer was
 * told stays (pop3 gave up waiting, or the connection dropped).
 */
static bool
qmgr_pop3_gone(const struct qmgr_agent *a)
{
	struct pollfd pfd = {.fd = a->fd, .events = POLLRDHUP};

	return poll(&pfd, 1, 0) > 0 &&
	       (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/* qmgr_pop3_collect - see qmgr.h */
int
qmgr_pop3_collect(
    struct qmgr *q, struct qmgr_agent *a, const struct ipc_rec *rec)
{
	struct proto_collect c;
	struct envelope *msg = NULL;
	enum journal_status *st = NULL;
	struct qmgr_domain *dom;
	const char *why = NULL;
	enum proto_status status = PROTO_STATUS_OK;
	int r;

	if (!a->maildrop || proto_collect_decode(rec, &c, "pop3") < 0 ||
	    !queue_id_ok(c.id))
		return -1;
	if (qmgr_pop3_gone(a)) {
		log_warn("%s: refuse POP3 collection of recipient %llu for "
		         "user=%s: the session has gone",
		    c.id, (unsigned long long)c.idx, a->user);
		return 0;
	}
	if (queue_read_envelope(q->env.qdir, c.id, &msg) < 0) {
		status = PROTO_STATUS_UNKNOWN;
		why = "no such message";
		goto answer;
	}
	if (c.idx >= msg->nrcpt ||
	    !qmgr_pop3_bound(q, a, msg->rcpt[c.idx].addr, &dom)) {
		/* Not a recipient of this session's domains: the session lies.
		 */
		envelope_free(&msg);
		return -1;
	}
	if (!qmgr_pop3_still_owner(q, a, dom->name)) {
		/* A reload gave the domain to another owner (or pop3=no):
		 * its mail is not this session's to delete any more. */
		status = PROTO_STATUS_DENIED;
		why = "the domain is no longer collected by this user";
		log_warn("%s: refuse POP3 collection of <%s> for user=%s: %s",
		    c.id, msg->rcpt[c.idx].addr, a->user, why);
		goto answer;
	}
	st = xcalloc(msg->nrcpt, sizeof(*st));
	if (queue_journal_read(q->env.qdir, c.id, msg->nrcpt, st) < 0) {
		status = PROTO_STATUS_ERROR;
		why = "journal unreadable";
	} else if (st[c.idx] != JOURNAL_PENDING ||
	           queue_hold_get(q->env.qdir, c.id)) {
		status = PROTO_STATUS_UNKNOWN;
		why = st[c.idx] != JOURNAL_PENDING
		          ? "recipient already finished"
		          : "message on hold";
	} else if (queue_journal_append(
	               q->env.qdir, c.id, (size_t)c.idx, JOURNAL_DONE) < 0) {
		log_warn("%s: journal POP3 collection of <%s>: %s", c.id,
		    msg->rcpt[c.idx].addr, strerror(errno));
		status = PROTO_STATUS_ERROR;
		why = "journal write failed";
	} else {
		qmgr_pop3_log(msg, (size_t)c.idx, a->user);
		dom->delivered++;
		dom->sent++;
		/* The journal says who is done: the index follows it. */
		if (qctl_index_envelope(&q->env, msg) < 0)
			log_warn(
			    "%s: update index after POP3 collection: failed",
			    c.id);
	}
	free(st);
answer:
	envelope_free(&msg);
	r = qmgr_pop3_answer(a, status, why);
	if (r < 0)
		log_warn(
		    "answer POP3 session of %s: %s", a->user, strerror(errno));
	return 0;
}
