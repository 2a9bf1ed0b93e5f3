/*
 * job - one delivery job of qmgr's, run by an agent: deliver (to a
 * route or by MX) or etrn (over the customer's turned-around ODMR
 * connection).
 *
 * A job is one message for some recipients of one domain. The agent
 * owns the connection and when to send; this module owns the rest, so
 * that both agents do it the same way:
 *
 *	job_parse()	the type=job record (proto.h), every field checked
 *	job_open()	the queue file opened and validated once
 *			(queue_open()), its journal read, the job checked
 *			against both: recipients the file does not have, or
 *			the journal already finished, get their result at once
 *	job_too_big()	the server's SIZE limit against the content
 *	job_send()	the message handed to the SMTP client
 *	job_results()	each recipient's result of the transaction
 *	job_finish()	results for the recipients still without one, then
 *			type=done, and the agent's over() frees the job
 *
 * Every result goes through one function: the Postfix-shaped log line
 * ("ID: to=<r>, relay=h[a]:p, delay=S, delays=a/b/c/d, dsn=X.Y.Z,
 * status=sent|deferred|bounced (text)") and the type=rcpt record.
 *
 * Where results are trusted. The journal is the durable record of who
 * has the message: a 2xx is appended to it (fsync'd) before qmgr hears
 * of it, and qmgr rebuilds the message's index entries from the journal
 * after every job (qctl_index_message), the same path it takes after a
 * crash, when an agent was killed, or at start. So the journal alone
 * decides who is finished; the type=rcpt records carry only what it
 * cannot: why the others were deferred or bounced (qmgr's retry and
 * DSN), and counts. A lost or contradicting record can therefore never
 * lose a recipient or finish one twice.
 *
 * One exception, the common case: when the job's one transaction got a
 * 2xx for every recipient the file and journal left pending, the whole
 * message is done and nothing is journalled; type=done says complete=1
 * and qmgr removes the message (unlink; the directory's fsync batched).
 * A journal would be written, fsync'd and unlinked again at once. A
 * crash (of deliver, or of qmgr before its unlink) then leaves the
 * message pending: it is sent again, a duplicate, never a loss. A lost
 * record does the same; qmgr journals the sent recipients itself when it
 * does not find the message finished as deliver claimed.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_JOB_H
#define SLUICE_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mail/proto.h"
#include "mail/queue.h"
#include "mail/smtp_client.h"

struct ipc_rec;

/* Recipients in one job record: the protocol's bound (mail/proto.h). */
#define JOB_RCPT_MAX	PROTO_JOB_RCPT_MAX

struct job_rcpt {
	char *addr;
	size_t idx;		/* index in the queue file's envelope */
	bool finished;		/* its type=rcpt went to qmgr */
};

struct job;

/* What the agent does for the jobs it runs. */
struct job_agent {
	/* send - one record to qmgr; 0/-1 (a failure is the agent's to log) */
	int (*send)(void *ctx, const struct ipc_rec *rec);
	/* over - type=done went: forget job and free it (job_free) */
	void (*over)(void *ctx, struct job *job);
	/* relay_note - after relay=HOST[ADDR]:PORT in the log: "" or " (ODMR)" */
	const char *relay_note;
	/*
	 * reporting - do records reach qmgr now? When not (qmgr restarting),
	 * a finished message is journalled all the same, since nobody would
	 * remove it. NULL: always.
	 */
	bool (*reporting)(void *ctx);
};

struct job {
	/* From the job record (job_parse). */
	unsigned long long no;		/* job=N of qmgr */
	char id[QUEUE_ID_LEN + 1];
	char *domain;			/* lowercase */
	char *sender;
	uint64_t size;
	char *route;			/* as sent: the agent's to parse */
	char *tls;			/* as sent, or NULL */
	size_t nrcpt;
	struct job_rcpt *rcpt;

	/* Set by the agent before job_open(). */
	const struct job_agent *agent;
	void *ctx;			/* its argument to agent->send and ->over */

	/* The open queue file (job_open). */
	char *qdir;
	struct queue_msg qm;

	/*
	 * Times for delay= and delays=a/b/c/d (ev_now() ms): the job was
	 * taken, its connection asked for, the server ready for it.
	 */
	uint64_t t_job, t_start, t_ready;

	/* The transaction in flight (job_send). */
	bool sending;
	struct smtp_msg msg;
	struct smtp_msg_rcpt *mrcpt;
	size_t *mmap;			/* msg recipient -> job recipient */

	unsigned nsent, nother;		/* results reported, sent and not */

	/*
	 * Recipients of the file the journal left pending at job_open, and
	 * whether the transaction delivered all of them (job_results): then
	 * no journal is written and type=done says complete=1.
	 */
	size_t npending;
	bool complete;
	bool report_lost;		/* a type=rcpt record could not be sent */
};

/*
 * job_parse - a type=job record, every field bound-checked: job=, id=,
 * domain=, sender=, size=, route=, tls= (optional), then rcpt=ADDR idx=I
 * pairs of that domain (1 to JOB_RCPT_MAX). A new job, or NULL with a
 * static reason in *why_r. The one reader of the record's fields.
 */
struct job *job_parse(const struct ipc_rec *rec, const char **why_r);
/* job_free - close and free everything of a job, without reporting it */
void job_free(struct job **jobp);

/*
 * job_open - open the queue file in qdir (once) and its journal, and
 * check the job against them (trust nothing qmgr says): a recipient not
 * in the file is deferred, one the journal has delivered is reported
 * sent without sending it again, one it finished otherwise is deferred.
 * 0 when something is left to send; -1 when the job is over (reported,
 * over() called: job is gone).
 */
int job_open(struct job *job, const char *qdir);
/*
 * job_too_big - the refusal text (new string) when the content exceeds
 * limit (0: none), the SIZE of server host[addr]; NULL when it fits.
 */
char *job_too_big(const struct job *job, uint64_t limit, const char *host,
    const char *addr);
/*
 * job_send - start the transaction of the unfinished recipients on cl.
 * 0, or -1 when it could not start (job finished deferred: job is gone).
 */
int job_send(struct job *job, struct smtp_client *cl);
/*
 * job_results - the transaction on the session with host[addr]:port is
 * over (DONE, or FAILED during it): report each recipient's result; a
 * 2xx is in the journal before qmgr hears of it, unless the transaction
 * finished the whole message (job->complete: see above).
 */
void job_results(struct job *job, const char *host, const char *addr,
    unsigned port);
/*
 * job_finish - every recipient without a result gets status, dsn and
 * why (relay=none), then type=done (with conn_error: the connection to
 * the site failed, and qmgr closes its gate); then over(): job is gone.
 */
void job_finish(struct job *job, const char *status, const char *dsn,
    const char *why, const char *conn_error);
/*
 * job_rcpt_finish - recipient i's result: the log line and type=rcpt.
 * log_text is the log's "(text)", reply what qmgr keeps (a DSN's
 * diagnostic); a reply longer than an IPC field is cut.
 */
void job_rcpt_finish(struct job *job, size_t i, const char *status,
    const char *dsn, const char *relay, const char *log_text,
    const char *reply);
/*
 * job_delay_format - seconds as Postfix logs delay=: two significant
 * digits at most, 10 ms resolution ("0", "0.05", "1.2", "37").
 */
void job_delay_format(double secs, char *buf, size_t size);

#endif
