/*
 * pop3_drop - the maildrop: the customer's pop3=yes domains bound in
 * qmgr, the snapshot of their held mail, the transaction commands, and
 * QUIT's update
 *
 * One POP3 message is one recipient of one queued message (fetchmail's
 * multidrop documentation: with one envelope recipient per message and
 * that recipient in a header, sorting is exact). Its text is
 *
 *	Return-Path: <sender>
 *	Delivered-To: rcpt
 *	X-Original-To: rcpt
 *	(the queued message as received, our Received: line first)
 *
 * and its unique-id is "QUEUEID-IDX", the queue ID and the recipient's
 * index in the queue file's envelope: stable across sessions and
 * restarts, unique, at most 41 printable octets (RFC 1939 asks 70).
 *
 * The maildrop is the snapshot taken at login (RFC 1939: mail arriving
 * later waits for the next session), at most POP3_MSGS_MAX messages.
 * Nothing is deleted until QUIT; then each deleted message goes to
 * qmgr as type=collect, which journals it as a delivery. Only qmgr's
 * answer confirms a collect: what it did not confirm stays in the
 * maildrop (qmgr journals no collect of a session that hung up). If the
 * bind to qmgr was lost (qmgr restarted) nothing is sent: the domains
 * were no longer held for this session, and another door may have
 * delivered them since.
 *
 * Every exchange with qmgr waits in the event loop (s->wait, with a
 * deadline): one session's login or QUIT never stalls the others.
 *
 *	login:	connect private/deliver, hello bind=...   (POP3_W_BIND)
 *		   <- idle | busy
 *		per domain: connect public/qmgr, list      (POP3_W_LIST)
 *		   <- entry... end
 *	QUIT:	collect, collect, ... (POP3_COLLECT_WINDOW at once)
 *		   <- collected, collected, ...            (POP3_W_COLLECT)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* lib/util */
#include "util/events.h"
#include "util/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/address.h"
#include "mail/conf.h"
#include "mail/domains.h"
#include "mail/proto.h"
#include "mail/proto_rec.h"
#include "mail/queue.h"
/* pop3 */
#include "pop3/pop3.h"
#include "pop3/pop3_reply.h"

/* Octets of content read at once for RETR and TOP. */
#define POP3_CHUNK 16384

static void pop3_list_next(struct pop3_session *s);
static void pop3_collect_more(struct pop3_session *s);
static void pop3_update_end(struct pop3_session *s, const char *lost);

/* pop3_prefix - the headers put before the message (new string) */
static char *
pop3_prefix(const struct pop3_msg *m)
{
	return xasprintf(
	    "Return-Path: <%s>\r\nDelivered-To: %s\r\nX-Original-To: %s\r\n",
	    m->sender, m->rcpt, m->rcpt);
}

/* pop3_qmgr_timeout - qmgr did not answer in time */
static void
pop3_qmgr_timeout(void *ctx)
{
	struct pop3_session *s = ctx;

	s->qmgr_timer = NULL;
	log_warn("maildrop of user=%s: qmgr did not answer in %d ms",
	    s->user != NULL ? s->user : "", POP3_QMGR_TIMEOUT_MS);
	/* Whatever qmgr answers later is not read: the bind goes. */
	if (s->qmgr_fd >= 0) {
		ev_io_del(s->srv->loop, s->qmgr_fd);
		(void)close(s->qmgr_fd);
		s->qmgr_fd = -1;
	}
	s->qmgr_lost = true;
	if (s->wait == POP3_W_COLLECT)
		pop3_update_end(s, "qmgr did not answer in time");
	else
		pop3_drop_fail(s, -1, NULL);
	pop3_resume(s);
}

/* pop3_wait_arm - (re)start the deadline of the exchange w with qmgr */
static void
pop3_wait_arm(struct pop3_session *s, enum pop3_wait w)
{
	s->wait = w;
	ev_timer_cancel(s->srv->loop, &s->qmgr_timer);
	s->qmgr_timer = ev_timer_add(
	    s->srv->loop, POP3_QMGR_TIMEOUT_MS, pop3_qmgr_timeout, s);
}

/* pop3_wait_end - the exchange is over; the caller replies and resumes */
static void
pop3_wait_end(struct pop3_session *s)
{
	s->wait = POP3_W_NONE;
	ev_timer_cancel(s->srv->loop, &s->qmgr_timer);
}

/* pop3_bind_lost - qmgr closed the bind or broke it: it holds nothing now */
static void
pop3_bind_lost(struct pop3_session *s, const char *why)
{
	log_warn("maildrop of %s: qmgr %s; this session deletes nothing",
	    s->user != NULL ? s->user : "", why);
	ev_io_del(s->srv->loop, s->qmgr_fd);
	(void)close(s->qmgr_fd);
	s->qmgr_fd = -1;
	s->qmgr_lost = true;
	if (s->wait == POP3_W_COLLECT)
		pop3_update_end(s, why);
	else if (s->wait != POP3_W_NONE)
		pop3_drop_fail(s, -1, NULL);
}

/* pop3_busy_why - qmgr's type=busy as the reply's printable reason */
static void
pop3_busy_why(const struct ipc_rec *rec, char *why, size_t size)
{
	struct proto_busy b;
	size_t i;

	if (proto_busy_decode(rec, &b, "qmgr") == 0 &&
	    address_domain_ok(b.domain, strlen(b.domain)))
		snprintf(why, size, "%s: %s", b.domain, b.reason);
	else
		snprintf(why, size, "busy");
	for (i = 0; why[i] != '\0'; i++)
		if (!isprint((unsigned char)why[i]))
			why[i] = '?';
}

/* pop3_bound - qmgr's answer to the bind: list the domains, or refuse */
static void
pop3_bound(struct pop3_session *s, const struct ipc_rec *rec)
{
	char why[300];

	if (strcmp(ipc_rec_type(rec), PROTO_T_IDLE) == 0) {
		pop3_list_next(s);
		return;
	}
	if (strcmp(ipc_rec_type(rec), PROTO_T_BUSY) == 0) {
		pop3_busy_why(rec, why, sizeof(why));
		pop3_drop_fail(s, 1, why);
		return;
	}
	log_warn("bind maildrop of %s: unexpected record type=%s from qmgr",
	    s->user, ipc_rec_type(rec));
	pop3_drop_fail(s, -1, NULL);
}

static void pop3_collected(struct pop3_session *s, const struct ipc_rec *rec);

/*
 * pop3_qmgr_read - a record on the bind: the answer to the exchange under
 * way; outside one, or EOF, the bind is lost. s may be gone after.
 */
static void
pop3_qmgr_read(int fd, unsigned events, void *ctx)
{
	struct pop3_session *s = ctx;
	struct ipc_rec *rec = NULL;
	enum pop3_wait w = s->wait;
	int n;

	(void)events;
	n = ipc_recv(fd, &rec);
	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0 || (w != POP3_W_BIND && w != POP3_W_COLLECT)) {
		ipc_rec_free(&rec);
		pop3_bind_lost(s, n == 0  ? "closed the bind"
		                  : n < 0 ? "sent a malformed record"
		                          : "sent a record unasked");
		if (w != POP3_W_NONE)
			pop3_resume(s);
		return;
	}
	if (w == POP3_W_BIND)
		pop3_bound(s, rec);
	else
		pop3_collected(s, rec);
	ipc_rec_free(&rec);
	/* The exchange is over, or the list goes on on its own socket. */
	if (s->wait == POP3_W_NONE)
		pop3_resume(s);
}

/* pop3_owned - the login's pop3=yes domains, into s->domains */
static int
pop3_owned(const struct domain *d, void *ctx)
{
	struct pop3_session *s = ctx;

	if (d->owner != NULL && d->pop3 && strcmp(d->owner, s->user) == 0 &&
	    s->ndomains < PROTO_BIND_MAX) {
		s->domains = xreallocarray(
		    s->domains, s->ndomains + 1, sizeof(*s->domains));
		s->domains[s->ndomains++] = xstrdup(d->name);
	}
	return 0;
}

/* pop3_bind - ask qmgr to bind s's domains; 0 (then POP3_W_BIND) or -1 */
static int
pop3_bind(struct pop3_session *s)
{
	char *path = xasprintf(
	    "%s/%s", s->srv->cfg->queue_directory, PROTO_DELIVER_PRIVATE);
	char list[PROTO_BIND_MAX * 256] = "";
	struct ipc_rec *hello;
	size_t i;
	int r;

	s->qmgr_fd = ipc_connect(path, true);
	if (s->qmgr_fd < 0) {
		log_warn("connect to %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	for (i = 0; i < s->ndomains; i++) {
		if (i > 0)
			strncat(list, ",", sizeof(list) - strlen(list) - 1);
		strncat(list, s->domains[i], sizeof(list) - strlen(list) - 1);
	}
	hello = proto_hello_encode(&(struct proto_hello){
	    .slots = 1, .bind = list, .user = s->user, .maildrop = true});
	/* A new connection has room for one record. */
	r = ipc_send(s->qmgr_fd, hello);
	ipc_rec_free(&hello);
	if (r < 0 || ev_io_add(s->srv->loop, s->qmgr_fd, EV_READ,
	                 pop3_qmgr_read, s) < 0) {
		log_warn("bind maildrop of %s: %s", s->user, strerror(errno));
		return -1;
	}
	pop3_wait_arm(s, POP3_W_BIND);
	return 0;
}

static int
pop3_msg_cmp(const void *a, const void *b)
{
	const struct pop3_msg *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c != 0 ? c : x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* pop3_is_ours - is rcpt in one of s's bound domains? */
static bool
pop3_is_ours(const struct pop3_session *s, const char *rcpt)
{
	char *domain = address_domain_lower(rcpt);
	bool ours = false;
	size_t i;

	for (i = 0; domain != NULL && i < s->ndomains && !ours; i++)
		ours = strcmp(domain, s->domains[i]) == 0;
	free(domain);
	return ours;
}

/* pop3_add_message - the pending recipients of message id in our domains */
static void
pop3_add_message(struct pop3_session *s, const char *id)
{
	struct queue_msg qm = {.fd = -1};
	enum journal_status *st;
	size_t i;

	/* Listed already (a message to two of our domains). */
	for (i = 0; i < s->nmsgs; i++)
		if (strcmp(s->msgs[i].id, id) == 0)
			return;
	/* An operator hold keeps the message from every door, this one too. */
	if (queue_hold_get(s->srv->cfg->queue_directory, id) ||
	    queue_open(s->srv->cfg->queue_directory, id, &qm) < 0)
		return;
	st = xcalloc(qm.env->nrcpt ? qm.env->nrcpt : 1, sizeof(*st));
	if (queue_journal_read(
	        s->srv->cfg->queue_directory, id, qm.env->nrcpt, st) == 0)
		for (i = 0; i < qm.env->nrcpt; i++) {
			struct pop3_msg *m;
			char *prefix;

			if (st[i] != JOURNAL_PENDING ||
			    !pop3_is_ours(s, qm.env->rcpt[i].addr))
				continue;
			if (s->nmsgs >= POP3_MSGS_MAX) {
				s->nleft++;
				continue;
			}
			if (s->nmsgs == s->msgs_size) {
				s->msgs_size =
				    s->msgs_size ? s->msgs_size * 2 : 16;
				s->msgs = xreallocarray(
				    s->msgs, s->msgs_size, sizeof(*s->msgs));
			}
			m = &s->msgs[s->nmsgs++];
			memset(m, 0, sizeof(*m));
			snprintf(m->id, sizeof(m->id), "%s", id);
			m->idx = i;
			m->rcpt = xstrdup(qm.env->rcpt[i].addr);
			m->sender = xstrdup(qm.env->sender);
			prefix = pop3_prefix(m);
			m->size = strlen(prefix) + qm.content_len;
			free(prefix);
		}
	free(st);
	queue_msg_clear(&qm);
}

/* pop3_list_close - the list request's socket, if any, goes */
static void
pop3_list_close(struct pop3_session *s)
{
	if (s->list_fd < 0)
		return;
	ev_io_del(s->srv->loop, s->list_fd);
	(void)close(s->list_fd);
	s->list_fd = -1;
}

/*
 * pop3_list_read - qmgr's entries for the domain being listed. Past
 * POP3_MSGS_MAX messages they are only counted: no queue file is read,
 * nothing is kept. s may be gone after.
 */
static void
pop3_list_read(int fd, unsigned events, void *ctx)
{
	struct pop3_session *s = ctx;
	struct ipc_rec *rec = NULL;
	const char *id, *status;
	int i, n;

	(void)events;
	for (i = 0; i < POP3_LIST_BATCH; i++) {
		n = ipc_recv(fd, &rec);
		if (n < 0 &&
		    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0)
			break;
		if (strcmp(ipc_rec_type(rec), PROTO_T_END) == 0) {
			status = ipc_rec_get(rec, PROTO_F_STATUS);
			n = status != NULL &&
			    strcmp(status,
			        proto_status_name(PROTO_STATUS_OK)) == 0;
			ipc_rec_free(&rec);
			if (!n)
				break;
			pop3_list_close(s);
			s->nlisted++;
			pop3_list_next(s);
			if (s->wait == POP3_W_NONE)
				pop3_resume(s);
			return;
		}
		id = ipc_rec_get(rec, PROTO_F_ID);
		if (strcmp(ipc_rec_type(rec), PROTO_T_ENTRY) != 0 ||
		    id == NULL || !queue_id_ok(id)) {
			ipc_rec_free(&rec);
			break;
		}
		if (s->nmsgs < POP3_MSGS_MAX)
			pop3_add_message(s, id);
		else
			s->nleft++;
		ipc_rec_free(&rec);
	}
	if (i == POP3_LIST_BATCH)
		return;
	log_warn("list maildrop of %s: %s from qmgr", s->user,
	    n == 0 ? "unexpected end" : "bad answer");
	pop3_drop_fail(s, -1, NULL);
	pop3_resume(s);
}

/* pop3_list_start - ask qmgr's public socket for one domain's entries */
static int
pop3_list_start(struct pop3_session *s, const char *domain)
{
	char *path =
	    xasprintf("%s/%s", s->srv->cfg->queue_directory, PROTO_QMGR_PUBLIC);
	struct ipc_rec *req = ipc_rec_new(PROTO_T_LIST);
	int r;

	ipc_rec_add(req, PROTO_F_DOMAIN, domain);
	s->list_fd = ipc_connect(path, true);
	r = s->list_fd < 0 ? -1 : ipc_send(s->list_fd, req);
	if (r == 0)
		r = ev_io_add(
		    s->srv->loop, s->list_fd, EV_READ, pop3_list_read, s);
	if (r < 0)
		log_warn("list maildrop of %s: %s: %s", s->user, path,
		    strerror(errno));
	ipc_rec_free(&req);
	free(path);
	return r;
}

/* pop3_totals - messages not deleted and their octets */
static size_t
pop3_totals(const struct pop3_session *s, unsigned long long *octets_r)
{
	size_t i, n = 0;

	*octets_r = 0;
	for (i = 0; i < s->nmsgs; i++)
		if (!s->msgs[i].deleted) {
			n++;
			*octets_r += s->msgs[i].size;
		}
	return n;
}

/*
 * pop3_list_next - list the next bound domain, or, all listed, open the
 * maildrop: +OK and TRANSACTION
 */
static void
pop3_list_next(struct pop3_session *s)
{
	unsigned long long octets;

	if (s->nlisted < s->ndomains) {
		if (pop3_list_start(s, s->domains[s->nlisted]) < 0)
			pop3_drop_fail(s, -1, NULL);
		else
			pop3_wait_arm(s, POP3_W_LIST);
		return;
	}
	pop3_wait_end(s);
	/*
	 * Queue IDs begin with the time: sorted, they are in arrival order.
	 * An empty maildrop has no array, and qsort(NULL, 0) is undefined.
	 */
	if (s->nmsgs > 0)
		qsort(s->msgs, s->nmsgs, sizeof(*s->msgs), pop3_msg_cmp);
	s->state = POP3_ST_TRANS;
	(void)pop3_totals(s, &octets);
	log_info("maildrop of user=%s from %s[%s]: method=%s, domains=%zu, "
	         "messages=%zu, size=%llu%s",
	    s->user, s->name, s->addr, s->method, s->ndomains, s->nmsgs, octets,
	    s->nleft > 0 ? ", more waiting for the next session" : "");
	xfree(&s->method);
	pop3_reply(s, POP3_R_MAILDROP, s->user, s->nmsgs, octets);
}

/* pop3_drop_fail - see pop3.h */
void
pop3_drop_fail(struct pop3_session *s, int r, const char *why)
{
	pop3_wait_end(s);
	if (r > 0) {
		log_info("refuse maildrop of user=%s from %s[%s]: %s", s->user,
		    s->name, s->addr, why);
		pop3_reply(s, POP3_R_IN_USE, s->user, why);
	} else
		pop3_reply(s, POP3_R_UNAVAILABLE);
	pop3_drop_close(s);
}

/* pop3_drop_open - see pop3.h */
void
pop3_drop_open(struct pop3_session *s, const char *mech)
{
	(void)domain_table_walk(s->srv->cfg->domains, pop3_owned, s);
	if (s->ndomains == 0) {
		log_info("refuse maildrop of user=%s from %s[%s]: no domain "
		         "with pop3=yes",
		    s->user, s->name, s->addr);
		pop3_reply(s, POP3_R_NO_DOMAINS, s->user);
		pop3_drop_close(s);
		return;
	}
	free(s->method);
	s->method = xstrdup(mech);
	if (pop3_bind(s) < 0)
		pop3_drop_fail(s, -1, NULL);
}

/* pop3_drop_close - see pop3.h */
void
pop3_drop_close(struct pop3_session *s)
{
	size_t i;

	s->wait = POP3_W_NONE;
	ev_timer_cancel(s->srv->loop, &s->qmgr_timer);
	pop3_list_close(s);
	if (s->out.fd >= 0)
		(void)close(s->out.fd);
	s->out.fd = -1;
	if (s->qmgr_fd >= 0) {
		ev_io_del(s->srv->loop, s->qmgr_fd);
		(void)close(s->qmgr_fd);
		s->qmgr_fd = -1;
	}
	for (i = 0; i < s->ndomains; i++)
		free(s->domains[i]);
	xfree(&s->domains);
	s->ndomains = 0;
	s->nlisted = 0;
	s->nleft = 0;
	for (i = 0; i < s->nmsgs; i++) {
		free(s->msgs[i].rcpt);
		free(s->msgs[i].sender);
	}
	xfree(&s->msgs);
	s->nmsgs = 0;
	s->msgs_size = 0;
	xfree(&s->coll);
	xfree(&s->method);
}

/*
 * pop3_msg_arg - the message numbered by arg (1-based, not deleted):
 * its index, or -1 after the -ERR reply
 */
static long
pop3_msg_arg(struct pop3_session *s, const char *arg)
{
	unsigned long long n = 0;
	size_t i;

	for (i = 0; arg[i] != '\0'; i++) {
		if (!isdigit((unsigned char)arg[i]) || i >= 9) {
			pop3_reply(s, POP3_R_NO_MSG);
			return -1;
		}
		n = n * 10 + (unsigned)(arg[i] - '0');
	}
	if (n == 0 || n > s->nmsgs) {
		pop3_reply(s, POP3_R_NO_MSG);
		return -1;
	}
	if (s->msgs[n - 1].deleted) {
		pop3_reply(s, POP3_R_DELETED, (size_t)n);
		return -1;
	}
	return (long)(n - 1);
}

/* pop3_stat_cmd - STAT */
void
pop3_stat_cmd(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	unsigned long long octets;
	size_t n = pop3_totals(s, &octets);

	(void)cmd;
	pop3_reply(s, POP3_R_STAT, n, octets);
}

/* pop3_list_cmd - LIST [msg] */
void
pop3_list_cmd(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	unsigned long long octets;
	size_t i, n;
	long k;

	if (cmd->narg == 1) {
		if ((k = pop3_msg_arg(s, cmd->arg[0])) >= 0)
			pop3_reply(s, POP3_R_LIST_ONE, (size_t)k + 1,
			    (unsigned long long)s->msgs[k].size);
		return;
	}
	n = pop3_totals(s, &octets);
	pop3_reply(s, POP3_R_LIST_HEAD, n, octets);
	for (i = 0; i < s->nmsgs; i++)
		if (!s->msgs[i].deleted)
			pop3_reply(s, "%zu %llu", i + 1,
			    (unsigned long long)s->msgs[i].size);
	pop3_reply(s, ".");
}

/* pop3_uidl_cmd - UIDL [msg]: "QUEUEID-IDX" */
void
pop3_uidl_cmd(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	size_t i;
	long k;

	if (cmd->narg == 1) {
		if ((k = pop3_msg_arg(s, cmd->arg[0])) >= 0)
			pop3_reply(s, POP3_R_UIDL_ONE, (size_t)k + 1,
			    s->msgs[k].id, s->msgs[k].idx);
		return;
	}
	pop3_reply(s, POP3_R_UIDL_HEAD);
	for (i = 0; i < s->nmsgs; i++)
		if (!s->msgs[i].deleted)
			pop3_reply(s, "%zu %s-%zu", i + 1, s->msgs[i].id,
			    s->msgs[i].idx);
	pop3_reply(s, ".");
}

/*
 * pop3_still_ours - is rcpt's domain still the login's, pop3=yes, in the
 * configuration as reloaded since the login?
 */
static bool
pop3_still_ours(const struct pop3_session *s, const char *rcpt)
{
	char *name = address_domain_lower(rcpt);
	const struct domain *d =
	    name != NULL ? domain_find(s->srv->cfg->domains, name) : NULL;

	free(name);
	return d != NULL && d->pop3 && d->owner != NULL &&
	       strcmp(d->owner, s->user) == 0;
}

/*
 * pop3_send - start writing message k (TOP: lines body lines, -1 all).
 * The queue file is opened and validated again: it may have gone since
 * the snapshot (expired, deleted by the operator).
 */
static void
pop3_send(struct pop3_session *s, long k, long lines)
{
	struct pop3_msg *m = &s->msgs[k];
	struct queue_msg qm = {.fd = -1};
	char *prefix;

	if (!pop3_still_ours(s, m->rcpt)) {
		log_info("%s: refuse RETR of <%s> to user=%s: the domain is no "
		         "longer its pop3=yes domain",
		    m->id, m->rcpt, s->user);
		pop3_reply(s, POP3_R_GONE, (size_t)k + 1);
		return;
	}
	if (queue_open(s->srv->cfg->queue_directory, m->id, &qm) < 0) {
		pop3_reply(s, POP3_R_GONE, (size_t)k + 1);
		return;
	}
	if (lines < 0)
		pop3_reply(s, POP3_R_RETR, (unsigned long long)m->size);
	else
		pop3_reply(s, POP3_R_TOP);
	prefix = pop3_prefix(m);
	stream_write(s->st, prefix, strlen(prefix));
	free(prefix);
	s->out = (struct pop3_out){.fd = qm.fd,
	    .left = qm.content_len,
	    .body_lines = lines,
	    .bol = true};
	/* The descriptor is ours now; the envelope is not needed. */
	qm.fd = -1;
	queue_msg_clear(&qm);
	(void)pop3_out_pump(s);
}

/* pop3_out_end - the message is written: the terminating dot */
static void
pop3_out_end(struct pop3_session *s)
{
	if (!s->out.bol)
		stream_write(s->st, "\r\n", 2);
	stream_write(s->st, ".\r\n", 3);
	(void)close(s->out.fd);
	s->out.fd = -1;
}

/* pop3_out_pump - see pop3.h: dot-stuffed (RFC 1939 3), TOP's lines counted */
bool
pop3_out_pump(struct pop3_session *s)
{
	struct pop3_out *o = &s->out;
	char buf[POP3_CHUNK], *out;
	size_t n, i, w;
	ssize_t r;

	while (o->fd >= 0 && stream_pending(s->st) < POP3_OUTPUT_MAX) {
		if (o->left == 0) {
			pop3_out_end(s);
			return false;
		}
		n = o->left < sizeof(buf) ? (size_t)o->left : sizeof(buf);
		r = read(o->fd, buf, n);
		if (r <= 0) {
			/* A file cut short under us: end the message; the
			 * client sees the size differ. */
			log_warn("read queue file for %s[%s]: %s", s->name,
			    s->addr,
			    r < 0 ? strerror(errno) : "unexpected end");
			o->left = 0;
			continue;
		}
		o->left -= (uint64_t)r;
		out = xmalloc((size_t)r * 2);
		for (i = 0, w = 0; i < (size_t)r; i++) {
			if (o->bol && o->in_body && o->body_lines == 0) {
				o->left = 0;
				break;
			}
			if (o->bol && buf[i] == '.')
				out[w++] = '.';
			out[w++] = buf[i];
			if (buf[i] != '\n') {
				o->bol = false;
				if (buf[i] != '\r')
					o->line_len++;
				continue;
			}
			/* An empty line ends the headers; TOP counts the body's
			 * lines after it. */
			if (!o->in_body && o->line_len == 0)
				o->in_body = true;
			else if (o->in_body && o->body_lines > 0)
				o->body_lines--;
			o->bol = true;
			o->line_len = 0;
		}
		stream_write(s->st, out, w);
		free(out);
		(void)stream_flush(s->st);
	}
	return o->fd >= 0;
}

/* pop3_retr_cmd - RETR msg */
void
pop3_retr_cmd(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	long k = pop3_msg_arg(s, cmd->arg[0]);

	if (k >= 0)
		pop3_send(s, k, -1);
}

/* pop3_top_cmd - TOP msg n */
void
pop3_top_cmd(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	const char *p;
	long k, n = 0;

	for (p = cmd->arg[1]; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p) || p - cmd->arg[1] >= 9) {
			pop3_reply(s, POP3_R_SYNTAX, "TOP msg n");
			return;
		}
		n = n * 10 + (*p - '0');
	}
	if ((k = pop3_msg_arg(s, cmd->arg[0])) >= 0)
		pop3_send(s, k, n);
}

/* pop3_dele_cmd - DELE msg: marked; QUIT collects it */
void
pop3_dele_cmd(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	long k = pop3_msg_arg(s, cmd->arg[0]);

	if (k < 0)
		return;
	s->msgs[k].deleted = true;
	pop3_reply(s, POP3_R_DELE, (size_t)k + 1);
}

/* pop3_rset_cmd - RSET: nothing is deleted any more */
void
pop3_rset_cmd(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	unsigned long long octets;
	size_t i, n;

	(void)cmd;
	for (i = 0; i < s->nmsgs; i++)
		s->msgs[i].deleted = false;
	n = pop3_totals(s, &octets);
	pop3_reply(s, POP3_R_RSET, n, octets);
}

/*
 * pop3_collect_more - send collects until POP3_COLLECT_WINDOW are
 * unanswered; qmgr answers them in order. A full socket only waits for
 * the answers (there are some); any other error loses the bind.
 */
static void
pop3_collect_more(struct pop3_session *s)
{
	while (s->coll_sent < s->ncoll &&
	       s->coll_sent - s->coll_done < POP3_COLLECT_WINDOW) {
		const struct pop3_msg *m = &s->msgs[s->coll[s->coll_sent]];
		struct ipc_rec *req = proto_collect_encode(
		    &(struct proto_collect){.id = m->id, .idx = m->idx});
		int r = ipc_send(s->qmgr_fd, req);

		ipc_rec_free(&req);
		if (r == 0) {
			s->coll_sent++;
			continue;
		}
		if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
		    s->coll_sent > s->coll_done)
			return;
		pop3_bind_lost(s, "refused a collect");
		return;
	}
}

/* pop3_collected - qmgr's answer to the oldest collect not answered */
static void
pop3_collected(struct pop3_session *s, const struct ipc_rec *rep)
{
	const struct pop3_msg *m = &s->msgs[s->coll[s->coll_done]];
	struct proto_reply pr;
	int r;

	r = proto_reply_decode(rep, PROTO_T_COLLECTED, &pr, "qmgr");
	if (r < 0) {
		pop3_bind_lost(s, "sent a bad answer to a collect");
		return;
	}
	s->coll_done++;
	if (pr.status == PROTO_STATUS_OK)
		s->ncollected++;
	else {
		log_warn("%s: collect <%s> for user=%s: %s", m->id, m->rcpt,
		    s->user,
		    pr.reason != NULL ? pr.reason
		                      : proto_status_name(pr.status));
		/* A recipient finished meanwhile (expired, deleted) is not an
		 * error of ours; anything else stays in the maildrop. */
		if (pr.status == PROTO_STATUS_UNKNOWN)
			s->ngone++;
		else
			s->nrefused++;
	}
	if (s->coll_done == s->ncoll) {
		pop3_update_end(s, NULL);
		return;
	}
	/* qmgr is alive: the deadline counts from its last answer. */
	pop3_wait_arm(s, POP3_W_COLLECT);
	pop3_collect_more(s);
}

/*
 * pop3_update_end - every collect answered (lost NULL) or the bind lost
 * (why): the reply says what qmgr confirmed, then the session closes
 */
static void
pop3_update_end(struct pop3_session *s, const char *lost)
{
	size_t nfail = s->ncoll - s->coll_done + s->nrefused;

	pop3_wait_end(s);
	if (nfail > 0) {
		log_warn("maildrop of user=%s: %zu of %zu deleted messages not "
		         "collected (%u collected)%s%s",
		    s->user, nfail, s->ncoll, s->ncollected,
		    lost != NULL ? ": " : "", lost != NULL ? lost : "");
		pop3_reply(
		    s, POP3_R_UPDATE_FAILED, nfail, s->ncoll, s->ncollected);
	} else
		pop3_reply(s, POP3_R_BYE_DELETED, s->srv->cfg->myhostname,
		    s->ncollected);
	pop3_close(s);
}

/* pop3_update - see pop3.h */
void
pop3_update(struct pop3_session *s)
{
	size_t i;

	s->coll = xcalloc(s->nmsgs ? s->nmsgs : 1, sizeof(*s->coll));
	for (i = 0; i < s->nmsgs; i++)
		if (s->msgs[i].deleted)
			s->coll[s->ncoll++] = i;
	if (s->ncoll == 0 || s->qmgr_lost || s->qmgr_fd < 0) {
		pop3_update_end(s, s->ncoll > 0 ? "qmgr restarted during the "
		                                  "session"
		                                : NULL);
		return;
	}
	log_info("maildrop of user=%s from %s[%s]: QUIT: collect %zu deleted "
	         "messages",
	    s->user, s->name, s->addr, s->ncoll);
	pop3_wait_arm(s, POP3_W_COLLECT);
	pop3_collect_more(s);
}
