/*
 * deliver_qmgr - the connection to qmgr: hello, jobs in, results out
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/events.h"
#include "util/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "mail/address.h"
#include "mail/conf.h"
#include "mail/proto.h"
#include "mail/proto_rec.h"
#include "mail/queue.h"
#include "mail/route.h"
#include "deliver/deliver.h"

/* Reconnecting to qmgr: first after 1s, doubling up to a minute. */
#define DELIVER_BACKOFF_MIN_MS	1000
#define DELIVER_BACKOFF_MAX_MS	60000
/* How long one result may wait for room in qmgr's socket. */
#define DELIVER_SEND_WAIT_MS	5000

static void deliver_qmgr_read(int fd, unsigned events, void *ctx);

/* deliver_qmgr_drop - forget qmgr's connection and every job; retry later */
static void
deliver_qmgr_drop(struct deliver *d)
{
	if (d->qmgr_fd >= 0) {
		ev_io_del(d->loop, d->qmgr_fd);
		(void)close(d->qmgr_fd);
		d->qmgr_fd = -1;
	}
	/*
	 * Jobs in flight run to their end: a transaction cut after the final
	 * dot would leave a message the server kept but our journal never
	 * recorded, and the next qmgr would send it again. Their reports go
	 * nowhere; the journal carries what they did, and the next qmgr
	 * rebuilds the index from it. deliver_qmgr_start() waits for them.
	 */
	if (d->njobs > 0)
		log_warn("qmgr went away; finishing %zu job%s in flight before reconnecting",
		    d->njobs, d->njobs == 1 ? "" : "s");
	deliver_qmgr_start(d);
}

/* deliver_qmgr_retry_fire - time to try qmgr again */
static void
deliver_qmgr_retry_fire(void *ctx)
{
	struct deliver *d = ctx;

	d->qmgr_retry = NULL;
	deliver_qmgr_start(d);
}

/* deliver_send - send one record to qmgr; waits briefly for room */
int
deliver_send(struct deliver *d, const struct ipc_rec *rec)
{
	if (d->qmgr_fd < 0)
		return -1;
	if (ipc_send_wait(d->qmgr_fd, rec, DELIVER_SEND_WAIT_MS) == 0)
		return 0;
	log_warn("send %s record to qmgr: %s", ipc_rec_type(rec), strerror(errno));
	return -1;
}

void
deliver_qmgr_start(struct deliver *d)
{
	char *path;
	struct ipc_rec *hello;

	if (d->qmgr_fd >= 0 || d->qmgr_retry != NULL)
		return;
	/*
	 * Orphaned jobs (of a qmgr that went away) first: a new qmgr would
	 * hand us the same messages again while they are still being sent.
	 */
	if (d->njobs > 0) {
		d->qmgr_retry = ev_timer_add(d->loop, 100, deliver_qmgr_retry_fire, d);
		return;
	}
	path = xasprintf("%s/%s", d->cfg->queue_directory, PROTO_DELIVER_PRIVATE);
	d->qmgr_fd = ipc_connect(path, true);
	if (d->qmgr_fd < 0 || ev_io_add(d->loop, d->qmgr_fd, EV_READ,
	    deliver_qmgr_read, d) < 0) {
		d->backoff_ms = d->backoff_ms == 0 ? DELIVER_BACKOFF_MIN_MS :
		    d->backoff_ms * 2;
		if (d->backoff_ms > DELIVER_BACKOFF_MAX_MS)
			d->backoff_ms = DELIVER_BACKOFF_MAX_MS;
		log_debug("connect to %s: %s; retrying in %llu ms", path,
		    strerror(errno), (unsigned long long)d->backoff_ms);
		if (d->qmgr_fd >= 0)
			(void)close(d->qmgr_fd);
		d->qmgr_fd = -1;
		d->qmgr_retry = ev_timer_add(d->loop, d->backoff_ms,
		    deliver_qmgr_retry_fire, d);
		free(path);
		return;
	}
	hello = proto_hello_encode(&(struct proto_hello){ .slots = (uint64_t)d->slots });
	if (deliver_send(d, hello) < 0) {
		ipc_rec_free(&hello);
		free(path);
		deliver_qmgr_drop(d);
		return;
	}
	ipc_rec_free(&hello);
	log_debug("connected to %s with %ld slots", path, d->slots);
	d->backoff_ms = 0;
	free(path);
}

/* deliver_route_parse - route= and tls= of a job, by the domains file's parsers; 0/-1 */
static int
deliver_route_parse(struct deliver_job *job, const char *route, const char *tls,
    const char **why_r)
{
	/* The TLS policy words in the SMTP engine's terms. */
	static const enum smtp_client_tls engine_tls[] = {
		[ROUTE_TLS_MAY] = SMTP_CLIENT_TLS_MAY,
		[ROUTE_TLS_ENCRYPT] = SMTP_CLIENT_TLS_ENCRYPT,
		[ROUTE_TLS_VERIFY] = SMTP_CLIENT_TLS_VERIFY,
	};
	enum route_tls policy;
	const char *hint;

	/* qmgr puts the client's address in a route=client job: the word here is a bug. */
	if (route == NULL || route_parse(route, &job->route, &hint) < 0 || job->route.client) {
		*why_r = "bad route=";
		return -1;
	}
	if (tls == NULL || route_tls_parse(tls, &policy, &hint) < 0) {
		*why_r = "bad tls=";
		return -1;
	}
	job->tls = engine_tls[policy];
	return 0;
}

struct deliver_job *
deliver_job_parse(struct deliver *d, const struct ipc_rec *rec,
    const char **why_r)
{
	struct deliver_job *job;
	struct job *j;
	char *route;

	if ((j = job_parse(rec, why_r)) == NULL)
		return NULL;
	job = xcalloc(1, sizeof(*job));
	job->d = d;
	job->j = j;
	if (deliver_route_parse(job, j->route, j->tls, why_r) < 0) {
		deliver_job_free(&job);
		return NULL;
	}
	route = route_format(&job->route);
	job->key = xasprintf("%s %s %d", j->domain, route, (int)job->tls);
	free(route);
	return job;
}

/* deliver_qmgr_read - records from qmgr: jobs */
static void
deliver_qmgr_read(int fd, unsigned events, void *ctx)
{
	struct deliver *d = ctx;
	struct ipc_rec *rec;
	struct deliver_job *job;
	const char *why;
	int n;

	(void)events;
	for (;;) {
		n = ipc_recv(fd, &rec);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			if (n < 0)
				log_warn("read from qmgr: %s; reconnecting",
				    errno == EBADMSG ? "malformed record" :
				    strerror(errno));
			else
				log_warn("read from qmgr: connection closed; reconnecting");
			deliver_qmgr_drop(d);
			return;
		}
		if (strcmp(ipc_rec_type(rec), PROTO_T_JOB) != 0) {
			log_warn("read from qmgr: unexpected record type=%s; "
			    "reconnecting", ipc_rec_type(rec));
			ipc_rec_free(&rec);
			deliver_qmgr_drop(d);
			return;
		}
		job = deliver_job_parse(d, rec, &why);
		ipc_rec_free(&rec);
		if (job == NULL) {
			log_warn("read job from qmgr: %s; reconnecting", why);
			deliver_qmgr_drop(d);
			return;
		}
		if ((long)d->njobs >= d->slots)
			log_warn("%s: qmgr sent job %llu beyond our %ld slots; "
			    "running it anyway", job->j->id, job->j->no, d->slots);
		job->next = d->jobs;
		d->jobs = job;
		d->njobs++;
		deliver_job_start(job);
		/* The job may have finished and qmgr gone in its callbacks. */
		if (d->qmgr_fd != fd)
			return;
	}
}
