/*
 * fuzz_proto - the receivers of lib/mail/proto.h records that turn a
 * decoded record into their own structures: every decoder of
 * lib/mail/proto_rec (a record it takes encodes again to one that decodes
 * to the same), deliver's and etrn's job parsers (qmgr -> agent), and the
 * CLI's list and summary printers (qmgr -> sluice), through the programs'
 * convenience libraries.
 * Input: one encoded record (util/ipc.h grammar).
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* lib/util */
#include "util/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/address.h"
#include "mail/job.h"
#include "mail/proto_rec.h"
#include "mail/queue.h"
/* the programs (their convenience libraries, STYLE rule 3) */
#include "cli/cli.h"
#include "deliver/deliver.h"
#include "etrn/etrn.h"

#include "t/fuzz/fuzz.h"

static FILE *devnull;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet("fuzz_proto");
	if ((devnull = fopen("/dev/null", "w")) == NULL)
		log_panic("open /dev/null");
	return 0;
}

/* check_deliver - deliver's job parser; a job it takes is whole */
static void
check_deliver(const struct ipc_rec *rec)
{
	struct deliver d;
	struct deliver_job *job;
	const char *why = NULL;
	size_t i;

	memset(&d, 0, sizeof(d));
	d.mx_port = 25;
	d.qmgr_fd = -1;
	if ((job = deliver_job_parse(&d, rec, &why)) == NULL) {
		FUZZ_CHECK(why != NULL);
		return;
	}
	FUZZ_CHECK(queue_id_ok(job->j->id) && job->j->nrcpt > 0);
	for (i = 0; i < job->j->nrcpt; i++)
		FUZZ_CHECK(address_mailbox_ok(job->j->rcpt[i].addr));
	deliver_job_free(&job);
}

/* check_etrn - etrn's job parser, for a session bound to two domains */
static void
check_etrn(const struct ipc_rec *rec)
{
	struct etrn_session *s = xcalloc(1, sizeof(*s));
	struct job *job;
	const char *why;

	if (etrn_domains_parse(s, "site.example,other.example") < 0)
		log_panic("etrn_domains_parse refuses a good list");
	if ((job = etrn_job_parse(s, rec, &why)) != NULL) {
		FUZZ_CHECK(why == NULL);
		job_free(&job);
	} else
		FUZZ_CHECK(why != NULL);
	etrn_domains_clear(s);
	free(s);
}

/* same_text - do a and b encode to the same bytes? */
static bool
same_text(const struct ipc_rec *a, const struct ipc_rec *b)
{
	char *ta, *tb;
	size_t la, lb;
	bool same;

	FUZZ_CHECK(ipc_rec_encode(a, &ta, &la) == 0 && ipc_rec_encode(b, &tb, &lb) == 0);
	same = la == lb && memcmp(ta, tb, la) == 0;
	free(ta);
	free(tb);
	return same;
}

/*
 * CHECK_CODEC - rec as a NAME record: when it decodes, its encoding
 * decodes too and encodes to the same bytes (the codec is a fixpoint).
 */
#define CHECK_CODEC(name, clear) \
	do { \
		struct proto_##name x, y; \
		struct ipc_rec *e1, *e2; \
		if (proto_##name##_decode(rec, &x, "fuzz") < 0) \
			break; \
		e1 = proto_##name##_encode(&x); \
		FUZZ_CHECK(proto_##name##_decode(e1, &y, "fuzz") == 0); \
		e2 = proto_##name##_encode(&y); \
		FUZZ_CHECK(same_text(e1, e2)); \
		clear; \
		ipc_rec_free(&e1); \
		ipc_rec_free(&e2); \
	} while (0)

/* check_codec - every decoder of lib/mail/proto_rec */
static void
check_codec(const struct ipc_rec *rec)
{
	struct proto_reply r;

	CHECK_CODEC(queued, (void)0);
	CHECK_CODEC(trigger, (void)0);
	CHECK_CODEC(triggered, (void)0);
	CHECK_CODEC(domainstatus_req, (void)0);
	CHECK_CODEC(domainstatus, (void)0);
	CHECK_CODEC(gateclose, (void)0);
	CHECK_CODEC(probe, (void)0);
	CHECK_CODEC(probed, (void)0);
	CHECK_CODEC(hello, (void)0);
	CHECK_CODEC(busy, (void)0);
	CHECK_CODEC(rcpt, (void)0);
	CHECK_CODEC(done, (void)0);
	CHECK_CODEC(job, (proto_job_clear(&x), proto_job_clear(&y)));
	CHECK_CODEC(heldlist, (void)0);
	CHECK_CODEC(held, (void)0);
	CHECK_CODEC(heldact, (void)0);
	/* gateclosed and end share one shape; any type is taken as its own. */
	if (proto_reply_decode(rec, ipc_rec_type(rec), &r, "fuzz") == 0) {
		struct ipc_rec *e1 = proto_reply_encode(ipc_rec_type(rec), &r), *e2;
		struct proto_reply r2;

		FUZZ_CHECK(proto_reply_decode(e1, ipc_rec_type(rec), &r2, "fuzz") == 0);
		e2 = proto_reply_encode(ipc_rec_type(rec), &r2);
		FUZZ_CHECK(same_text(e1, e2));
		ipc_rec_free(&e1);
		ipc_rec_free(&e2);
	}
}

/* check_cli - the CLI's readers of type=entry and type=domain */
static void
check_cli(const struct ipc_rec *rec)
{
	struct cli_summary_row row;
	struct cli_qmsg m = { 0 };

	/* A record the reader takes is one the listings can show. */
	if (cli_qmsg_add(&m, rec) == 0) {
		FUZZ_CHECK(m.ndom == 1 && m.sender != NULL);
		cli_list_text(devnull, &m);
		cli_list_json(devnull, &m, "mx.example");
	}
	cli_qmsg_clear(&m);
	memset(&row, 0, sizeof(row));
	if (cli_summary_parse(rec, &row) == 0)
		FUZZ_CHECK(memchr(row.domain, '\0', sizeof(row.domain)) != NULL &&
		    memchr(row.gate.reason, '\0', sizeof(row.gate.reason)) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_rec *rec = NULL;

	if (size > IPC_RECORD_MAX)
		return 0;
	if (ipc_rec_decode((const char *)data, size, &rec) < 0)
		return 0;
	check_codec(rec);
	check_deliver(rec);
	check_etrn(rec);
	check_cli(rec);
	ipc_rec_free(&rec);
	return 0;
}
