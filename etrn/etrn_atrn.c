/*
 * etrn_atrn - ATRN: the domains, ownership, rate limit, mail waiting, bind
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
#include <time.h>
#include <unistd.h>

/* lib/util */
#include "util/htable.h"
#include "util/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/address.h"
#include "mail/conf.h"
#include "mail/domains.h"
#include "mail/job.h"
#include "mail/proto.h"
#include "mail/proto_rec.h"
/* etrn */
#include "etrn/etrn.h"
#include "etrn/etrn_reply.h"

/* How long one record may wait for room in qmgr's socket. */
#define ETRN_SEND_WAIT_MS	5000

static void etrn_qmgr_read(int fd, unsigned events, void *ctx);

/* etrn_domain_add - append a lowercase copy of name[0..len) unless listed */
static void
etrn_domain_add(struct etrn_session *s, const char *name, size_t len)
{
	char *d = xstrndup(name, len), *p;
	size_t i;

	for (p = d; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	for (i = 0; i < s->ndomains; i++)
		if (strcmp(s->domains[i], d) == 0) {
			free(d);
			return;
		}
	s->domains = xreallocarray(s->domains, s->ndomains + 1,
	    sizeof(*s->domains));
	s->domains[s->ndomains++] = d;
}

/* etrn_domains_clear - forget the domain list */
void
etrn_domains_clear(struct etrn_session *s)
{
	size_t i;

	for (i = 0; i < s->ndomains; i++)
		free(s->domains[i]);
	xfree(&s->domains);
	s->ndomains = 0;
}

/* etrn_owned_one - domain_table_walk callback: take d if s's user owns it */
static int
etrn_owned_one(const struct domain *d, void *ctx)
{
	struct etrn_session *s = ctx;

	if (d->owner != NULL && strcmp(d->owner, s->user) == 0) {
		if (s->ndomains >= ETRN_ATRN_DOMAINS_MAX)
			return 1;
		etrn_domain_add(s, d->name, strlen(d->name));
	}
	return 0;
}

/*
 * etrn_domains_parse - "d1,d2,..." (RFC 2645 4.2; spaces after commas
 * tolerated) into s->domains. 0, or -1 for a syntax error.
 */
int
etrn_domains_parse(struct etrn_session *s, const char *arg)
{
	const char *p = arg;

	while (*p != '\0') {
		size_t len = strcspn(p, ", ");

		if (len == 0 || !address_domain_ok(p, len) ||
		    s->ndomains >= ETRN_ATRN_DOMAINS_MAX)
			return -1;
		etrn_domain_add(s, p, len);
		p += len;
		while (*p == ' ')
			p++;
		if (*p == ',') {
			p++;
			while (*p == ' ')
				p++;
			if (*p == '\0')
				return -1;
		}
	}
	return 0;
}

/* etrn_atrn_refuse - reply, log the refusal, back to the AUTHED state */
static void
etrn_atrn_refuse(struct etrn_session *s, const char *reply, const char *why)
{
	log_warn("refuse ATRN from %s[%s]: %s; user=%s", s->name, s->addr, why,
	    s->user);
	etrn_reply(s, "%s", reply);
	etrn_domains_clear(s);
	s->state = ETRN_ST_AUTHED;
}

/* etrn_rate_free - free one rate-limit entry (htable_walk callback) */
static int
etrn_rate_free(const char *key, void *value, void *ctx)
{
	(void)key;
	(void)ctx;
	free(value);
	return 0;
}

/* etrn_atrn_forget - free the per-login ATRN times */
void
etrn_atrn_forget(struct etrn *srv)
{
	if (srv->atrn_last == NULL)
		return;
	htable_walk(srv->atrn_last, etrn_rate_free, NULL);
	htable_free(&srv->atrn_last);
}

/* etrn_too_soon - has the user sent an ATRN within odmr_atrn_interval? */
static bool
etrn_too_soon(struct etrn_session *s)
{
	struct etrn *srv = s->srv;
	time_t now = time(NULL), *last;

	if (srv->atrn_last == NULL || htable_count(srv->atrn_last) > 10000) {
		/* Bounded memory: forget everyone when the table grows large. */
		etrn_atrn_forget(srv);
		srv->atrn_last = htable_new();
	}
	last = htable_get(srv->atrn_last, s->user);
	if (last == NULL) {
		last = xmalloc(sizeof(*last));
		*last = 0;
		htable_put(srv->atrn_last, s->user, last);
	}
	if (*last != 0 && now >= *last && now - *last < srv->cfg->odmr_atrn_interval)
		return true;
	*last = now;
	return false;
}

/*
 * etrn_pending - messages waiting for s's domains, asked of qmgr
 * (type=domainstatus). -1 if qmgr cannot answer.
 */
static long
etrn_pending(struct etrn_session *s)
{
	long total = 0;
	size_t i;

	for (i = 0; i < s->ndomains; i++) {
		struct ipc_rec *req, *rep = NULL;
		struct proto_domainstatus st;
		unsigned long long n;
		int r;

		req = proto_domainstatus_req_encode(
		    &(struct proto_domainstatus_req){ .domain = s->domains[i] });
		r = qmgr_call(s->srv->cfg->queue_directory, req,
		    ETRN_QMGR_TIMEOUT_MS, &rep);
		ipc_rec_free(&req);
		if (r < 0) {
			log_warn("ask qmgr about %s: %s", s->domains[i],
			    strerror(errno));
			return -1;
		}
		if (proto_domainstatus_decode(rep, &st, "qmgr") == 0 &&
		    st.status == PROTO_STATUS_OK && st.pending <= 1000000000ULL)
			n = st.pending;
		else if (st.status == PROTO_STATUS_UNKNOWN)
			n = 0;	/* a domain qmgr does not know yet has no mail */
		else {
			log_warn("ask qmgr about %s: malformed reply", s->domains[i]);
			ipc_rec_free(&rep);
			return -1;
		}
		ipc_rec_free(&rep);
		total += (long)n;
	}
	return total;
}

/* etrn_bind_timeout - qmgr never answered the bind */
static void
etrn_bind_timeout(void *ctx)
{
	struct etrn_session *s = ctx;

	s->bind_timer = NULL;
	log_warn("bind domains for %s[%s]: qmgr did not answer", s->name,
	    s->addr);
	etrn_qmgr_close(s);
	etrn_atrn_refuse(s, ETRN_R_ATRN_UNAVAILABLE, "qmgr did not answer");
	etrn_resume(s);
}

/* etrn_qmgr_send - one record to qmgr on the agent connection */
int
etrn_qmgr_send(struct etrn_session *s, const struct ipc_rec *rec)
{
	if (s->qmgr_fd < 0)
		return -1;
	if (ipc_send_wait(s->qmgr_fd, rec, ETRN_SEND_WAIT_MS) == 0)
		return 0;
	log_warn("send %s record to qmgr: %s", ipc_rec_type(rec), strerror(errno));
	return -1;
}

/*
 * etrn_bind - register with qmgr as a delivery agent bound to the
 * domains: qmgr opens their gates (source=atrn, its audit line) for as
 * long as this connection lasts and sends their jobs to us only. 0/-1.
 */
static int
etrn_bind(struct etrn_session *s)
{
	char *path = xasprintf("%s/%s", s->srv->cfg->queue_directory,
	    PROTO_DELIVER_PRIVATE);
	struct ipc_rec *hello;
	char list[ETRN_ATRN_DOMAINS_MAX * 256] = "";
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
	hello = proto_hello_encode(&(struct proto_hello){ .slots = 1, .bind = list,
	    .user = s->user });
	r = etrn_qmgr_send(s, hello);
	ipc_rec_free(&hello);
	if (r < 0 || ev_io_add(s->srv->loop, s->qmgr_fd, EV_READ,
	    etrn_qmgr_read, s) < 0) {
		(void)close(s->qmgr_fd);
		s->qmgr_fd = -1;
		return -1;
	}
	s->bind_timer = ev_timer_add(s->srv->loop, ETRN_QMGR_TIMEOUT_MS,
	    etrn_bind_timeout, s);
	return 0;
}

/* etrn_qmgr_close - drop the agent connection; qmgr re-queues its jobs */
void
etrn_qmgr_close(struct etrn_session *s)
{
	ev_timer_cancel(s->srv->loop, &s->bind_timer);
	if (s->qmgr_fd < 0)
		return;
	ev_io_del(s->srv->loop, s->qmgr_fd);
	(void)close(s->qmgr_fd);
	s->qmgr_fd = -1;
}

/* etrn_atrn_cmd - ATRN [domain[,domain...]] (RFC 2645 4.2) */
void
etrn_atrn_cmd(struct etrn_session *s, const char *arg)
{
	const struct domain *d;
	char why[512];
	long pending;
	size_t i;

	etrn_domains_clear(s);
	if (*arg == '\0') {
		/* No list: every domain this customer owns. */
		(void)domain_table_walk(s->srv->cfg->domains, etrn_owned_one, s);
		if (s->ndomains == 0) {
			snprintf(why, sizeof(why), ETRN_R_ATRN_NO_DOMAINS, s->user);
			etrn_atrn_refuse(s, why, "no domain for this login");
			return;
		}
	} else if (etrn_domains_parse(s, arg) < 0) {
		etrn_atrn_refuse(s, ETRN_R_ATRN_SYNTAX, "bad domain list");
		return;
	}
	/* All or nothing: one domain that is not the customer's refuses all. */
	for (i = 0; i < s->ndomains; i++) {
		d = domain_find(s->srv->cfg->domains, s->domains[i]);
		if (d == NULL || d->owner == NULL || strcmp(d->owner, s->user) != 0) {
			char reply[512];

			snprintf(reply, sizeof(reply), ETRN_R_ATRN_NOT_YOURS,
			    s->domains[i], s->user);
			snprintf(why, sizeof(why), "%s is not owned by this login",
			    s->domains[i]);
			etrn_atrn_refuse(s, reply, why);
			return;
		}
	}
	if (etrn_too_soon(s)) {
		snprintf(why, sizeof(why), ETRN_R_ATRN_TOO_SOON,
		    (long long)s->srv->cfg->odmr_atrn_interval);
		etrn_atrn_refuse(s, why, "too frequent");
		return;
	}
	pending = etrn_pending(s);
	if (pending < 0) {
		etrn_atrn_refuse(s, ETRN_R_ATRN_UNAVAILABLE, "queue status unavailable");
		return;
	}
	if (pending == 0) {
		etrn_atrn_refuse(s, ETRN_R_ATRN_NO_MAIL, "no mail waiting");
		return;
	}
	if (etrn_bind(s) < 0) {
		etrn_atrn_refuse(s, ETRN_R_ATRN_UNAVAILABLE, "qmgr unreachable");
		return;
	}
	/* No reply yet: qmgr's first record decides between 250 and 45x. */
	s->state = ETRN_ST_BINDING;
	log_info("ATRN from %s[%s]: user=%s, domains=%zu, pending=%ld", s->name,
	    s->addr, s->user, s->ndomains, pending);
}

/* etrn_bind_answer - qmgr's first record after the bind: turn or refuse */
static int
etrn_bind_answer(struct etrn_session *s, const struct ipc_rec *rec)
{
	const char *type = ipc_rec_type(rec), *why = NULL;
	struct job *job;
	char reply[512];

	ev_timer_cancel(s->srv->loop, &s->bind_timer);
	if (strcmp(type, PROTO_T_JOB) == 0) {
		job = etrn_job_parse(s, rec, &why);
		if (job == NULL) {
			log_warn("read job from qmgr: %s", why);
			etrn_qmgr_close(s);
			etrn_atrn_refuse(s, ETRN_R_ATRN_UNAVAILABLE, "bad job from qmgr");
			return -1;
		}
		etrn_turn_start(s, job);
		return 0;
	}
	etrn_qmgr_close(s);
	if (strcmp(type, PROTO_T_IDLE) == 0) {
		/* Delivered by someone else between our question and the bind. */
		etrn_atrn_refuse(s, ETRN_R_ATRN_NO_MAIL, "no mail waiting");
	} else if (strcmp(type, PROTO_T_BUSY) == 0) {
		struct proto_busy b;

		if (proto_busy_decode(rec, &b, "qmgr") < 0)
			b.reason = proto_status_name(PROTO_STATUS_BUSY);
		snprintf(reply, sizeof(reply), ETRN_R_ATRN_BUSY,
		    b.domain != NULL && address_domain_ok(b.domain, strlen(b.domain)) ?
		    b.domain : "a domain");
		etrn_atrn_refuse(s, reply, b.reason);
	} else {
		log_warn("read from qmgr: unexpected record type=%s", type);
		etrn_atrn_refuse(s, ETRN_R_ATRN_UNAVAILABLE, "unexpected qmgr reply");
	}
	return -1;
}

/* etrn_qmgr_read - records from qmgr: the bind's answer, then jobs */
static void
etrn_qmgr_read(int fd, unsigned events, void *ctx)
{
	struct etrn_session *s = ctx;
	struct ipc_rec *rec;
	int n;

	(void)events;
	while (s->qmgr_fd == fd) {
		n = ipc_recv(fd, &rec);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			if (n < 0)
				log_warn("read from qmgr: %s", errno == EBADMSG ?
				    "malformed record" : strerror(errno));
			etrn_qmgr_close(s);
			if (s->state == ETRN_ST_BINDING) {
				etrn_atrn_refuse(s, ETRN_R_ATRN_UNAVAILABLE,
				    "qmgr closed the connection");
				etrn_resume(s);
			} else
				etrn_turn_qmgr_lost(s);
			return;
		}
		if (s->state == ETRN_ST_BINDING) {
			n = etrn_bind_answer(s, rec);
			ipc_rec_free(&rec);
			if (n < 0)
				etrn_resume(s);
			/* The turn may have ended the session already. */
			return;
		}
		if (etrn_turn_record(s, rec) < 0) {
			ipc_rec_free(&rec);
			etrn_qmgr_close(s);
			etrn_turn_qmgr_lost(s);
			return;
		}
		ipc_rec_free(&rec);
	}
}
