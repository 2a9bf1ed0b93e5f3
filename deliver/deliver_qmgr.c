/* deliver_qmgr - the connection to qmgr: hello, jobs in, results out */
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
#include "mail/config.h"
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
static int
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

	if (route == NULL || route_parse(route, &job->route, &hint) < 0) {
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

/* deliver_job_bad - free a half-parsed job and say why */
static struct deliver_job *
deliver_job_bad(struct deliver_job *job, char **why_r, const char *why)
{
	*why_r = xstrdup(why);
	deliver_job_free(&job);
	return NULL;
}

struct deliver_job *
deliver_job_parse(struct deliver *d, const struct ipc_rec *rec, char **why_r)
{
	struct deliver_job *job = xcalloc(1, sizeof(*job));
	const char *id, *domain, *sender, *bad;
	char *route;
	unsigned long long size;
	size_t i;

	job->d = d;
	job->content_fd = -1;
	if (!proto_job_ok(rec, "qmgr"))
		return deliver_job_bad(job, why_r, "malformed job record");
	if (ipc_rec_get_num(rec, "job", ~0ULL, &job->no) < 0)
		return deliver_job_bad(job, why_r, "bad job=");
	id = ipc_rec_get(rec, "id");
	if (id == NULL || !queue_id_ok(id))
		return deliver_job_bad(job, why_r, "bad id=");
	memcpy(job->id, id, QUEUE_ID_LEN + 1);
	domain = ipc_rec_get(rec, "domain");
	if (domain == NULL || !address_domain_ok(domain, strlen(domain)))
		return deliver_job_bad(job, why_r, "bad domain=");
	job->domain = address_lower(domain);
	sender = ipc_rec_get(rec, "sender");
	if (sender == NULL || !address_stored_ok(sender, true))
		return deliver_job_bad(job, why_r, "bad sender=");
	job->sender = xstrdup(sender);
	if (ipc_rec_get_num(rec, "size", UINT64_MAX, &size) < 0)
		return deliver_job_bad(job, why_r, "bad size=");
	job->size = size;
	if (deliver_route_parse(job, ipc_rec_get(rec, "route"),
	    ipc_rec_get(rec, "tls"), &bad) < 0)
		return deliver_job_bad(job, why_r, bad);
	/* rcpt=ADDR idx=I pairs, in order, each recipient of this domain. */
	job->rcpt = xcalloc(PROTO_JOB_RCPT_MAX, sizeof(*job->rcpt));
	for (i = 1; i < rec->n; i++) {
		const struct ipc_field *f = &rec->f[i], *g;
		unsigned long idx;
		char *end;

		if (strcmp(f->name, "rcpt") != 0)
			continue;
		g = i + 1 < rec->n ? &rec->f[i + 1] : NULL;
		if (job->nrcpt == PROTO_JOB_RCPT_MAX)
			return deliver_job_bad(job, why_r, "too many rcpt=");
		if (!address_mailbox_ok(f->value) ||
		    strcasecmp(address_domain(f->value), job->domain) != 0)
			return deliver_job_bad(job, why_r, "bad rcpt=");
		if (g == NULL || strcmp(g->name, "idx") != 0 ||
		    !isdigit((unsigned char)g->value[0]))
			return deliver_job_bad(job, why_r, "rcpt= without idx=");
		errno = 0;
		idx = strtoul(g->value, &end, 10);
		if (errno != 0 || *end != '\0' || idx >= 100000)
			return deliver_job_bad(job, why_r, "bad idx=");
		job->rcpt[job->nrcpt].addr = xstrdup(f->value);
		job->rcpt[job->nrcpt].idx = idx;
		job->nrcpt++;
		i++;
	}
	if (job->nrcpt == 0)
		return deliver_job_bad(job, why_r, "no rcpt=");
	route = route_format(&job->route);
	job->key = xasprintf("%s %s %d", job->domain, route, (int)job->tls);
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
	char *why = NULL;
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
			free(why);
			deliver_qmgr_drop(d);
			return;
		}
		if ((long)d->njobs >= d->slots)
			log_warn("%s: qmgr sent job %llu beyond our %ld slots; "
			    "running it anyway", job->id, job->no, d->slots);
		job->next = d->jobs;
		d->jobs = job;
		d->njobs++;
		deliver_job_start(job);
		/* The job may have finished and qmgr gone in its callbacks. */
		if (d->qmgr_fd != fd)
			return;
	}
}

void
deliver_report_rcpt(struct deliver_job *job, size_t i, const char *status,
    const char *dsn, const char *relay, const char *reply)
{
	struct ipc_rec *rec = ipc_rec_new(PROTO_T_RCPT);
	char text[IPC_VALUE_MAX];

	/* A reply longer than an IPC field is cut, never the record dropped. */
	snprintf(text, sizeof(text), "%s", reply);
	ipc_rec_addf(rec, "job", "%llu", job->no);
	ipc_rec_addf(rec, "idx", "%zu", job->rcpt[i].idx);
	ipc_rec_add(rec, "status", status);
	ipc_rec_add(rec, "dsn", dsn);
	ipc_rec_add(rec, "relay", relay);
	ipc_rec_add(rec, "reply", text);
	(void)deliver_send(job->d, rec);
	ipc_rec_free(&rec);
	job->rcpt[i].finished = true;
}

void
deliver_report_done(struct deliver_job *job, const char *conn_error)
{
	struct ipc_rec *rec = ipc_rec_new(PROTO_T_DONE);
	char text[IPC_VALUE_MAX];

	ipc_rec_addf(rec, "job", "%llu", job->no);
	if (conn_error != NULL) {
		snprintf(text, sizeof(text), "%s", conn_error);
		ipc_rec_add(rec, "conn_error", text);
	}
	(void)deliver_send(job->d, rec);
	ipc_rec_free(&rec);
}
