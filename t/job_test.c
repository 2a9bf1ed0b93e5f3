/*
 * job_test - the delivery-job runner (lib/mail/job.c) without a network
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

/* System. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Layer 1: util. */
#include "util/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* Layer 2: mail. */
#include "mail/job.h"
#include "mail/proto.h"
#include "mail/queue.h"

/* Tests. */
#include "t/tap.h"
#include "t/testutil.h"

static char qdir[256];
static char *logpath;

/* What the fake agent saw: the records it sent, and whether the job ended. */
struct seen {
	char recs[16][600];
	size_t n;
	bool over;
};

/* Whether sending type=done fails (qmgr died after the rcpt records). */
static bool fake_done_fails;
/* The idx= whose type=rcpt record cannot be sent (qmgr busy past the timeout), or NULL. */
static const char *fake_rcpt_fails;

/* fake_send - keep "type status idx" of each record, " complete" if it says so */
static int
fake_send(void *ctx, const struct ipc_rec *rec)
{
	struct seen *seen = ctx;
	const char *st = ipc_rec_get(rec, "status"), *idx = ipc_rec_get(rec, "idx");
	const char *complete = ipc_rec_get(rec, PROTO_F_COMPLETE);

	if (seen->n < 16)
		snprintf(seen->recs[seen->n++], sizeof(seen->recs[0]), "%s %s %s%s",
		    ipc_rec_type(rec), st != NULL ? st : "-", idx != NULL ? idx : "-",
		    complete != NULL ? " complete" : "");
	if (fake_rcpt_fails != NULL && idx != NULL && strcmp(idx, fake_rcpt_fails) == 0)
		return -1;
	return fake_done_fails && strcmp(ipc_rec_type(rec), PROTO_T_DONE) == 0 ? -1 : 0;
}

/* Whether the fake agent's qmgr hears results (job_agent.reporting). */
static bool fake_qmgr_there = true;

/* fake_reporting - fake_qmgr_there */
static bool
fake_reporting(void *ctx)
{
	(void)ctx;
	return fake_qmgr_there;
}

/* fake_over - the job is over: free it, as an agent does */
static void
fake_over(void *ctx, struct job *job)
{
	struct seen *seen = ctx;

	seen->over = true;
	job_free(&job);
}

static const struct job_agent fake_agent = {
	.send = fake_send,
	.over = fake_over,
	.relay_note = "",
	.reporting = fake_reporting,
};

/* log_has - does the log contain s? */
static bool
log_has(const char *s)
{
	char line[2048];
	bool found = false;
	FILE *f = fopen(logpath, "r");

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, s) != NULL;
	fclose(f);
	return found;
}

/* job_rec - a job record for id with recipients "addr idx" pairs */
static struct ipc_rec *
job_rec(const char *id, const char *domain, const char *const *rcpt,
    const char *const *idx, size_t n)
{
	struct ipc_rec *rec = ipc_rec_new(PROTO_T_JOB);
	size_t i;

	ipc_rec_add(rec, "job", "7");
	ipc_rec_add(rec, "id", id);
	ipc_rec_add(rec, "domain", domain);
	ipc_rec_add(rec, "sender", "a@b.example");
	ipc_rec_add(rec, "size", "10");
	ipc_rec_add(rec, "route", "mx");
	for (i = 0; i < n; i++) {
		ipc_rec_add(rec, "rcpt", rcpt[i]);
		ipc_rec_add(rec, "idx", idx[i]);
	}
	return rec;
}

static void
test_parse(void)
{
	static const struct {
		const char *domain, *rcpt, *idx, *why;
	} cases[] = {
		{ "site.example", "u@site.example", "0", NULL },
		{ "Site.Example", "u@SITE.example", "3", NULL },
		{ "bad..domain", "u@site.example", "0", "bad domain=" },
		{ "site.example", "u@other.example", "0", "bad rcpt=" },
		{ "site.example", "u@site.example", "x", "rcpt= without idx=" },
		{ "site.example", "u@site.example", "100000", "bad idx=" },
		{ "site.example", "u@site.example", "1x", "bad idx=" },
	};
	const char *id = "0000000000000000000A";
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ipc_rec *rec = job_rec(id, cases[i].domain, &cases[i].rcpt,
		    &cases[i].idx, 1);
		const char *why = "unset";
		struct job *job = job_parse(rec, &why);

		if (cases[i].why == NULL)
			ok(job != NULL && why == NULL && job->nrcpt == 1 &&
			    job->no == 7 && strcmp(job->domain, "site.example") == 0 &&
			    strcmp(job->route, "mx") == 0 && job->tls == NULL,
			    "parse %s %s idx=%s: got %s, want a job", cases[i].domain,
			    cases[i].rcpt, cases[i].idx, why != NULL ? why : "a job");
		else
			ok(job == NULL && why != NULL && strcmp(why, cases[i].why) == 0,
			    "parse %s %s idx=%s: got %s, want %s", cases[i].domain,
			    cases[i].rcpt, cases[i].idx, why != NULL ? why : "a job",
			    cases[i].why);
		job_free(&job);
		ipc_rec_free(&rec);
	}
	{
		static const char *const r[] = { "u@site.example" }, *const x[] = { "0" };
		struct ipc_rec *rec = job_rec("../etc/passwd", "site.example", r, x, 1);
		const char *why;
		struct job *job = job_parse(rec, &why);

		ok(job == NULL && strcmp(why, "bad id=") == 0,
		    "a bad id= is refused: got %s", why);
		ipc_rec_free(&rec);
		rec = job_rec(id, "site.example", NULL, NULL, 0);
		job = job_parse(rec, &why);
		ok(job == NULL && strcmp(why, "no rcpt=") == 0,
		    "a job without recipients is refused: got %s", why);
		ipc_rec_free(&rec);
	}
}

static void
test_delay_format(void)
{
	static const struct {
		double secs;
		const char *want;
	} cases[] = {
		{ 0, "0" }, { 0.004, "0" }, { 0.00001, "0" }, { 0.05, "0.05" },
		{ 0.1, "0.1" }, { 0.123, "0.12" }, { 1.25, "1.2" }, { 2.0, "2" },
		{ 9.99, "10" }, { 37.4, "37" }, { 86400.6, "86401" },
	};
	char buf[32];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		job_delay_format(cases[i].secs, buf, sizeof(buf));
		ok(strcmp(buf, cases[i].want) == 0, "delay %g: got %s, want %s",
		    cases[i].secs, buf, cases[i].want);
	}
}

/* commit - a message to a@, b@, c@site.example in qdir; its id */
static void
commit(char id_r[QUEUE_ID_LEN + 1])
{
	struct envelope *env = envelope_new();
	struct queue_file *qf;

	env->arrival = 1700000000;
	env->sender = xstrdup("s@b.example");
	env->client_name = xstrdup("unknown");
	env->client_addr = xstrdup("192.0.2.1");
	env->protocol = xstrdup("ESMTP");
	envelope_add_rcpt(env, "a@site.example", NULL, 0);
	envelope_add_rcpt(env, "b@site.example", NULL, 0);
	envelope_add_rcpt(env, "c@site.example", NULL, 0);
	if ((qf = queue_file_create(qdir, env)) == NULL ||
	    queue_file_write(qf, "x\r\n", 3) < 0 || queue_file_commit(&qf) < 0)
		log_panic("commit a test message: %s", strerror(errno));
	memcpy(id_r, env->id, QUEUE_ID_LEN + 1);
	envelope_free(&env);
}

static void
test_open(void)
{
	static const char *const r[] = { "a@site.example", "b@site.example",
		"c@site.example", "z@site.example" };
	static const char *const x[] = { "0", "1", "2", "1" };
	char id[QUEUE_ID_LEN + 1];
	struct seen seen = { .n = 0 };
	struct ipc_rec *rec;
	struct job *job;
	const char *why;

	commit(id);
	/* a@ delivered before a crash, c@ bounced: only b@ is left to send. */
	ok(queue_journal_append(qdir, id, 0, JOURNAL_DONE) == 0 &&
	    queue_journal_append(qdir, id, 2, JOURNAL_BOUNCED) == 0, "journal a@ and c@");
	rec = job_rec(id, "site.example", r, x, 4);
	job = job_parse(rec, &why);
	ipc_rec_free(&rec);
	if (!ok(job != NULL, "parse the job: %s", job == NULL ? why : "ok"))
		return;
	job->agent = &fake_agent;
	job->ctx = &seen;
	ok(job_open(job, qdir) == 0, "job_open: something is left to send");
	ok(seen.n == 3 && strcmp(seen.recs[0], "rcpt sent 0") == 0 &&
	    strcmp(seen.recs[1], "rcpt deferred 2") == 0 &&
	    strcmp(seen.recs[2], "rcpt deferred 1") == 0,
	    "journal and file decide: got %zu records (%s, %s, %s)", seen.n,
	    seen.recs[0], seen.recs[1], seen.recs[2]);
	ok(!job->rcpt[1].finished && job->rcpt[3].finished,
	    "b@ is left; z@ (not in the file at idx 1) is finished");
	ok(log_has("delivered before, as the journal says") &&
	    log_has("recipient 1 <z@site.example> is not in the queue file"),
	    "the log says why");
	ok(job->qm.env != NULL && job->qm.content_len == 3 && job->qm.fd >= 0,
	    "the file is open at its content: %llu bytes",
	    (unsigned long long)job->qm.content_len);
	ok(job_too_big(job, 3, "h", "a") == NULL && job_too_big(job, 0, "h", "a") == NULL,
	    "3 bytes fit a limit of 3, and no limit");
	{
		char *too = job_too_big(job, 2, "mx.site.example", "192.0.2.9");

		ok(too != NULL && strcmp(too, "message size 3 exceeds size limit 2 "
		    "of server mx.site.example[192.0.2.9]") == 0, "too big: %s",
		    too != NULL ? too : "(fits)");
		free(too);
	}

	/*
	 * The transaction's results: b@, the last one pending, got 250. That
	 * finishes the message: no journal record, and type=done says
	 * complete (qmgr removes the message).
	 */
	job->msg.nrcpt = 1;
	job->msg.result = xcalloc(1, sizeof(*job->msg.result));
	job->msg.result[0].code = 250;
	snprintf(job->msg.result[0].dsn, sizeof(job->msg.result[0].dsn), "2.0.0");
	job->msg.result[0].reply = xstrdup("250 2.0.0 ok");
	job->mmap = xcalloc(1, sizeof(*job->mmap));
	job->mmap[0] = 1;
	seen.n = 0;
	job_results(job, "mx.site.example", "192.0.2.9", 25);
	{
		enum journal_status st[3];

		ok(queue_journal_read(qdir, id, 3, st) == 0 && st[1] == JOURNAL_PENDING,
		    "b@ finished the message: not journalled");
	}
	ok(seen.n == 1 && strcmp(seen.recs[0], "rcpt sent 1") == 0,
	    "b@ reported sent: got %s", seen.n > 0 ? seen.recs[0] : "nothing");
	ok(log_has("to=<b@site.example>, relay=mx.site.example[192.0.2.9]:25, delay="),
	    "the log line names the relay");
	seen.n = 0;
	job_finish(job, "deferred", "4.3.0", "no result", NULL);
	ok(seen.over && seen.n == 1 && strcmp(seen.recs[0], "done - - complete") == 0,
	    "finish: only type=done complete=1 is left, then over(): got %zu "
	    "records (%s)", seen.n, seen.n > 0 ? seen.recs[0] : "");
}

/*
 * test_journal_or_not - a transaction's 2xx is journalled unless the
 * transaction finished the whole message and qmgr is there to remove it.
 */
static void
test_journal_or_not(void)
{
	static const char *const r[] = { "a@site.example", "b@site.example",
		"c@site.example" };
	static const char *const x[] = { "0", "1", "2" };
	static const struct {
		const char *what;
		size_t nrcpt;		/* the job's: a@, b@, c@ in that order */
		int code[3];		/* their replies */
		bool qmgr_there;
		bool done_fails;	/* qmgr died before type=done went */
		const char *rcpt_fails;	/* this idx's type=rcpt could not be sent */
		const char *want;	/* journal of a@ b@ c@: D done, - pending */
		bool complete;
	} cases[] = {
		{ "all three 250", 3, { 250, 250, 250 }, true, false, NULL, "---", true },
		{ "all three 250, one 251", 3, { 250, 251, 250 }, true, false, NULL, "---", true },
		{ "one 450", 3, { 250, 450, 250 }, true, false, NULL, "D-D", false },
		{ "one 550", 3, { 550, 250, 250 }, true, false, NULL, "-DD", false },
		{ "a job of two of three", 2, { 250, 250, 0 }, true, false, NULL, "DD-", false },
		{ "all 250, qmgr away", 3, { 250, 250, 250 }, false, false, NULL, "DDD", false },
		{ "all 250, type=done lost", 3, { 250, 250, 250 }, true, true, NULL, "DDD", true },
		/* qmgr would keep b@ pending and send it again: the journal says it went. */
		{ "all 250, b@'s report lost", 3, { 250, 250, 250 }, true, false, "1", "DDD", false },
	};
	size_t i, k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char id[QUEUE_ID_LEN + 1], got[4] = "???";
		enum journal_status st[3];
		struct seen seen = { .n = 0 };
		struct ipc_rec *rec;
		struct job *job;
		const char *why;

		commit(id);
		rec = job_rec(id, "site.example", r, x, cases[i].nrcpt);
		job = job_parse(rec, &why);
		ipc_rec_free(&rec);
		if (!ok(job != NULL && (job->agent = &fake_agent, job->ctx = &seen,
		    job_open(job, qdir) == 0), "%s: open the job", cases[i].what)) {
			job_free(&job);
			continue;
		}
		job->msg.nrcpt = cases[i].nrcpt;
		job->msg.result = xcalloc(cases[i].nrcpt, sizeof(*job->msg.result));
		job->mmap = xcalloc(cases[i].nrcpt, sizeof(*job->mmap));
		for (k = 0; k < cases[i].nrcpt; k++) {
			job->msg.result[k].code = cases[i].code[k];
			snprintf(job->msg.result[k].dsn, sizeof(job->msg.result[k].dsn),
			    "%d.0.0", cases[i].code[k] / 100);
			job->msg.result[k].reply = xasprintf("%d x", cases[i].code[k]);
			job->mmap[k] = k;
		}
		fake_qmgr_there = cases[i].qmgr_there;
		fake_rcpt_fails = cases[i].rcpt_fails;
		job_results(job, "mx.site.example", "192.0.2.9", 25);
		fake_rcpt_fails = NULL;
		fake_qmgr_there = true;
		fake_done_fails = cases[i].done_fails;
		job_finish(job, "deferred", "4.3.0", "no result", NULL);
		fake_done_fails = false;
		if (queue_journal_read(qdir, id, 3, st) == 0)
			for (k = 0; k < 3; k++)
				got[k] = st[k] == JOURNAL_DONE ? 'D' :
				    st[k] == JOURNAL_PENDING ? '-' : '?';
		ok(strcmp(got, cases[i].want) == 0, "%s: journal got %s, want %s",
		    cases[i].what, got, cases[i].want);
		ok(seen.over && seen.n > 0 && (strstr(seen.recs[seen.n - 1],
		    " complete") != NULL) == cases[i].complete,
		    "%s: type=done %s complete=1 (%s)", cases[i].what,
		    cases[i].complete ? "with" : "without",
		    seen.n > 0 ? seen.recs[seen.n - 1] : "nothing sent");
	}
}

/*
 * open_refused - a job for a@ (idx 0) of message id, which job_open must
 * refuse: its one recipient deferred, then type=done, then over().
 */
static void
open_refused(const char *id, const char *what)
{
	static const char *const r[] = { "a@site.example" }, *const x[] = { "0" };
	struct seen seen = { .n = 0 };
	struct ipc_rec *rec = job_rec(id, "site.example", r, x, 1);
	const char *why;
	struct job *job = job_parse(rec, &why);

	ipc_rec_free(&rec);
	if (!ok(job != NULL, "%s: parse the job", what))
		return;
	job->agent = &fake_agent;
	job->ctx = &seen;
	ok(job_open(job, qdir) == -1 && seen.over && seen.n == 2 &&
	    strcmp(seen.recs[0], "rcpt deferred 0") == 0 &&
	    strcmp(seen.recs[1], "done - -") == 0,
	    "%s: deferred and done, then over()", what);
}

static void
test_open_gone(void)
{
	open_refused("0000000000000000000B", "no queue file");
	ok(log_has("0000000000000000000B: read queue file 0000000000000000000B:"),
	    "the log says which file");
}

/* test_open_bad_journal - a journal that fails validation sends nothing */
static void
test_open_bad_journal(void)
{
	char id[QUEUE_ID_LEN + 1], *jpath;
	FILE *f;

	commit(id);
	jpath = queue_path(qdir, id, true);
	if ((f = fopen(jpath, "w")) != NULL) {
		fputs("\x01garbage that is no journal record\n", f);
		fclose(f);
	}
	free(jpath);
	open_refused(id, "a journal that is garbage");
	ok(log_has("it failed validation; nothing sent"), "the log says nothing was sent, and why");
}

int
main(void)
{
	snprintf(qdir, sizeof(qdir), "/tmp/job_test.XXXXXX");
	logpath = test_queue(qdir, "job_test");
	test_parse();
	test_delay_format();
	test_open();
	test_journal_or_not();
	test_open_gone();
	test_open_bad_journal();
	test_queue_done(qdir, &logpath);
	return tap_done();
}
