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
 * later waits for the next session). Nothing is deleted until QUIT;
 * then each deleted message goes to qmgr as type=collect, which
 * journals it as a delivery. If the bind to qmgr was lost (qmgr
 * restarted) nothing is sent: the domains were no longer held for this
 * session, and another door may have delivered them since.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
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

/* pop3_prefix - the headers put before the message (new string) */
static char *
pop3_prefix(const struct pop3_msg *m)
{
	return xasprintf(
	    "Return-Path: <%s>\r\nDelivered-To: %s\r\nX-Original-To: %s\r\n",
	    m->sender, m->rcpt, m->rcpt);
}

/* pop3_qmgr_wait - the next record from qmgr on the bind, in time; 0/-1 */
static int
pop3_qmgr_wait(struct pop3_session *s, struct ipc_rec **rec_r)
{
	struct pollfd pfd = {.fd = s->qmgr_fd, .events = POLLIN};
	int n;

	/*
	 * XXX a blocking wait in the event loop: qmgr answers from memory
	 * and one fsync, so every session waits at most that long, and
	 * POP3_QMGR_TIMEOUT_MS when qmgr hangs.
	 */
	for (;;) {
		n = ipc_recv(s->qmgr_fd, rec_r);
		if (n > 0)
			return 0;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			return -1;
		n = poll(&pfd, 1, POP3_QMGR_TIMEOUT_MS);
		if (n <= 0) {
			errno = n == 0 ? ETIMEDOUT : errno;
			return -1;
		}
	}
}

/* pop3_qmgr_read - the bind is readable outside a request: qmgr is gone */
static void
pop3_qmgr_read(int fd, unsigned events, void *ctx)
{
	struct pop3_session *s = ctx;
	struct ipc_rec *rec = NULL;
	int n;

	(void)events;
	n = ipc_recv(fd, &rec);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	ipc_rec_free(&rec);
	log_warn("maildrop of %s: qmgr closed the bind; this session deletes "
	         "nothing",
	    s->user != NULL ? s->user : "");
	ev_io_del(s->srv->loop, s->qmgr_fd);
	(void)close(s->qmgr_fd);
	s->qmgr_fd = -1;
	s->qmgr_lost = true;
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

/*
 * pop3_bind - the domains bound to this session in qmgr. 0; 1 refused
 * (busy: reply in why); -1 qmgr unreachable.
 */
static int
pop3_bind(struct pop3_session *s, char *why, size_t size)
{
	char *path = xasprintf(
	    "%s/%s", s->srv->cfg->queue_directory, PROTO_DELIVER_PRIVATE);
	char list[PROTO_BIND_MAX * 256] = "";
	struct ipc_rec *hello, *rec = NULL;
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
	r = ipc_send_wait(s->qmgr_fd, hello, POP3_QMGR_TIMEOUT_MS);
	ipc_rec_free(&hello);
	if (r < 0 || pop3_qmgr_wait(s, &rec) < 0) {
		log_warn("bind maildrop of %s: qmgr did not answer: %s",
		    s->user, strerror(errno));
		return -1;
	}
	if (strcmp(ipc_rec_type(rec), PROTO_T_IDLE) == 0) {
		ipc_rec_free(&rec);
		if (ev_io_add(s->srv->loop, s->qmgr_fd, EV_READ, pop3_qmgr_read,
		        s) < 0)
			return -1;
		return 0;
	}
	if (strcmp(ipc_rec_type(rec), PROTO_T_BUSY) == 0) {
		struct proto_busy b;

		if (proto_busy_decode(rec, &b, "qmgr") == 0 &&
		    address_domain_ok(b.domain, strlen(b.domain)))
			snprintf(why, size, "%s: %s", b.domain, b.reason);
		else
			snprintf(why, size, "busy");
		for (i = 0; why[i] != '\0'; i++)
			if (!isprint((unsigned char)why[i]))
				why[i] = '?';
		ipc_rec_free(&rec);
		return 1;
	}
	log_warn("bind maildrop of %s: unexpected record type=%s from qmgr",
	    s->user, ipc_rec_type(rec));
	ipc_rec_free(&rec);
	return -1;
}

/* The queue IDs of the bound domains' entries, from qmgr's list. */
struct pop3_ids {
	char **id;
	size_t n;
};

/* pop3_list_one - one type=entry of the list: keep its ID */
static int
pop3_list_one(const struct ipc_rec *rec, void *ctx)
{
	struct pop3_ids *ids = ctx;
	const char *id = ipc_rec_get(rec, PROTO_F_ID);

	if (strcmp(ipc_rec_type(rec), PROTO_T_ENTRY) != 0 || id == NULL ||
	    !queue_id_ok(id))
		return -1;
	if (ids->n >= POP3_MSGS_MAX)
		return 0;
	ids->id = xreallocarray(ids->id, ids->n + 1, sizeof(*ids->id));
	ids->id[ids->n++] = xstrdup(id);
	return 0;
}

static int
pop3_id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
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

	/* An operator hold keeps the message from every door, this one too. */
	if (queue_hold_get(s->srv->cfg->queue_directory, id) ||
	    queue_open(s->srv->cfg->queue_directory, id, &qm) < 0)
		return;
	st = xcalloc(qm.env->nrcpt ? qm.env->nrcpt : 1, sizeof(*st));
	if (queue_journal_read(
	        s->srv->cfg->queue_directory, id, qm.env->nrcpt, st) == 0)
		for (i = 0; i < qm.env->nrcpt && s->nmsgs < POP3_MSGS_MAX;
		     i++) {
			struct pop3_msg *m;
			char *prefix;

			if (st[i] != JOURNAL_PENDING ||
			    !pop3_is_ours(s, qm.env->rcpt[i].addr))
				continue;
			s->msgs = xreallocarray(
			    s->msgs, s->nmsgs + 1, sizeof(*s->msgs));
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

/* pop3_snapshot - every pending recipient of the bound domains; 0/-1 */
static int
pop3_snapshot(struct pop3_session *s)
{
	struct pop3_ids ids = {0};
	size_t i;
	int r = 0;

	for (i = 0; i < s->ndomains && r == 0; i++) {
		struct ipc_rec *req = ipc_rec_new(PROTO_T_LIST);

		ipc_rec_add(req, PROTO_F_DOMAIN, s->domains[i]);
		r = qmgr_call_public(s->srv->cfg->queue_directory, req,
		    POP3_QMGR_TIMEOUT_MS, pop3_list_one, &ids);
		ipc_rec_free(&req);
	}
	if (r < 0)
		log_warn("list maildrop of %s: qmgr did not answer: %s",
		    s->user, strerror(errno));
	/* Queue IDs begin with the time: sorted, they are in arrival order. */
	qsort(ids.id, ids.n, sizeof(*ids.id), pop3_id_cmp);
	for (i = 0; i < ids.n; i++) {
		if (r == 0 && (i == 0 || strcmp(ids.id[i], ids.id[i - 1]) != 0))
			pop3_add_message(s, ids.id[i]);
		free(ids.id[i]);
	}
	free(ids.id);
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

/* pop3_drop_open - see pop3.h */
void
pop3_drop_open(struct pop3_session *s, const char *mech)
{
	unsigned long long octets;
	char why[300];
	int r;

	(void)domain_table_walk(s->srv->cfg->domains, pop3_owned, s);
	if (s->ndomains == 0) {
		log_info("refuse maildrop of user=%s from %s[%s]: no domain "
		         "with pop3=yes",
		    s->user, s->name, s->addr);
		pop3_reply(s, POP3_R_NO_DOMAINS, s->user);
		pop3_drop_close(s);
		return;
	}
	r = pop3_bind(s, why, sizeof(why));
	if (r == 0 && pop3_snapshot(s) < 0)
		r = -1;
	if (r != 0) {
		if (r > 0) {
			log_info("refuse maildrop of user=%s from %s[%s]: %s",
			    s->user, s->name, s->addr, why);
			pop3_reply(s, POP3_R_IN_USE, s->user, why);
		} else
			pop3_reply(s, POP3_R_UNAVAILABLE);
		pop3_drop_close(s);
		return;
	}
	s->state = POP3_ST_TRANS;
	(void)pop3_totals(s, &octets);
	log_info("maildrop of user=%s from %s[%s]: method=%s, domains=%zu, "
	         "messages=%zu, "
	         "size=%llu",
	    s->user, s->name, s->addr, mech, s->ndomains, s->nmsgs, octets);
	pop3_reply(s, POP3_R_MAILDROP, s->user, s->nmsgs, octets);
}

/* pop3_drop_close - see pop3.h */
void
pop3_drop_close(struct pop3_session *s)
{
	size_t i;

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
	for (i = 0; i < s->nmsgs; i++) {
		free(s->msgs[i].rcpt);
		free(s->msgs[i].sender);
	}
	xfree(&s->msgs);
	s->nmsgs = 0;
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

/* pop3_collect - type=collect for message k: 0 journalled, 1 gone, -1 not */
static int
pop3_collect(struct pop3_session *s, size_t k)
{
	struct pop3_msg *m = &s->msgs[k];
	struct ipc_rec *req, *rep = NULL;
	struct proto_reply pr;
	int r;

	req = proto_collect_encode(
	    &(struct proto_collect){.id = m->id, .idx = m->idx});
	r = ipc_send_wait(s->qmgr_fd, req, POP3_QMGR_TIMEOUT_MS);
	ipc_rec_free(&req);
	if (r < 0 || pop3_qmgr_wait(s, &rep) < 0) {
		log_warn(
		    "%s: collect <%s> for user=%s: qmgr did not answer: %s",
		    m->id, m->rcpt, s->user, strerror(errno));
		return -1;
	}
	r = proto_reply_decode(rep, PROTO_T_COLLECTED, &pr, "qmgr");
	if (r == 0 && pr.status == PROTO_STATUS_OK) {
		ipc_rec_free(&rep);
		return 0;
	}
	log_warn("%s: collect <%s> for user=%s: %s", m->id, m->rcpt, s->user,
	    r < 0               ? "bad reply from qmgr"
	    : pr.reason != NULL ? pr.reason
	                        : proto_status_name(pr.status));
	/* A recipient finished meanwhile (expired, deleted) is not an error of
	 * ours. */
	r = r == 0 && pr.status == PROTO_STATUS_UNKNOWN ? 1 : -1;
	ipc_rec_free(&rep);
	return r;
}

/* pop3_update - see pop3.h */
void
pop3_update(struct pop3_session *s)
{
	unsigned ndel = 0, nfail = 0;
	size_t i;
	int r;

	for (i = 0; i < s->nmsgs; i++)
		if (s->msgs[i].deleted)
			ndel++;
	for (i = 0; i < s->nmsgs; i++) {
		if (!s->msgs[i].deleted)
			continue;
		if (s->qmgr_lost || s->qmgr_fd < 0) {
			nfail++;
			continue;
		}
		r = pop3_collect(s, i);
		if (r == 0)
			s->ncollected++;
		else if (r < 0)
			nfail++;
	}
	if (nfail > 0) {
		log_warn("maildrop of user=%s: %u of %u deleted messages not "
		         "collected%s",
		    s->user, nfail, ndel,
		    s->qmgr_lost ? ": qmgr restarted during the session" : "");
		pop3_reply(s, POP3_R_UPDATE_FAILED, nfail, ndel);
	} else
		pop3_reply(s, POP3_R_BYE_DELETED, s->srv->cfg->myhostname,
		    s->ncollected);
	pop3_close(s);
}
