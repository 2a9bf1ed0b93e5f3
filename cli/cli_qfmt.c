/*
 * cli_qfmt - queue reply records as mailq-like text and postqueue-like JSON
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* lib/mail: the record fields and their grammar */
#include "mail/address.h"
#include "mail/proto.h"
#include "mail/qindex.h"
#include "mail/queue.h"
/* lib/util */
#include "util/ipc.h"
#include "util/xmalloc.h"
/* this program */
#include "cli/cli.h"

/* The largest time or size we accept in a record: far past any real one. */
#define CLI_NUM_MAX	(1ULL << 62)

/* Where mailq puts the sender and recipients: after ID, mark, size, date. */
#define CLI_LIST_INDENT	52

/* b5 counts entries younger than 5 minutes, ..., b1280p those older than 1280. */
_Static_assert(CLI_NBUCKETS == PROTO_NBUCKETS, "the CLI shows every age bucket");
static const char *const cli_bucket_field[CLI_NBUCKETS] = PROTO_F_BUCKETS;
static const char *const cli_bucket_label[CLI_NBUCKETS] = {
	"5", "10", "20", "40", "80", "160", "320", "640", "1280", "1280+",
};

/*
 * cli_put_text - write s with control characters as '?': the values come
 * from queue files and other processes, and must not drive the terminal.
 */
void
cli_put_text(FILE *fp, const char *s)
{
	for (; *s != '\0'; s++)
		putc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, fp);
}

/* cli_json_num - write ,"name":N */
static void
cli_json_num(FILE *fp, const char *name, unsigned long long n)
{
	cli_json_key(fp, name, false);
	fprintf(fp, "%llu", n);
}

/* cli_gate_parse - the gate fields of a record; 0/-1 */
int
cli_gate_parse(const struct ipc_rec *rec, struct cli_gate *g)
{
	const char *state = ipc_rec_get(rec, PROTO_F_GATE);
	const char *by = ipc_rec_get(rec, PROTO_F_OPENED_BY);
	const char *reason = ipc_rec_get(rec, PROTO_F_REASON);
	enum proto_gate st;
	enum proto_source src;

	memset(g, 0, sizeof(*g));
	/* An older qmgr sends no gate with its entries: unknown, not malformed. */
	if (state == NULL)
		return 0;
	if (!proto_gate_parse(state, &st) ||
	    (by != NULL && !proto_source_parse(by, &src)) ||
	    (reason != NULL && strlen(reason) >= sizeof(g->reason)))
		return -1;
	snprintf(g->state, sizeof(g->state), "%s", proto_gate_name(st));
	if (by != NULL)
		snprintf(g->opened_by, sizeof(g->opened_by), "%s", proto_source_name(src));
	if (reason != NULL)
		snprintf(g->reason, sizeof(g->reason), "%s", reason);
	(void)ipc_rec_get_num(rec, PROTO_F_OPEN_UNTIL, INT64_MAX, &g->until);
	return 0;
}

/* cli_gate_text - "held", "open until 12:00:00 (etrn)", "held (probing)" */
void
cli_gate_text(char *buf, size_t size, const struct cli_gate *g)
{
	char when[32] = "";
	struct tm tm;
	time_t t = (time_t)g->until;

	if (g->state[0] == '\0') {
		snprintf(buf, size, "-");
		return;
	}
	if (g->until > 0 && localtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), " until %H:%M:%S", &tm);
	snprintf(buf, size, "%s%s%s%s%s", g->state, when,
	    g->reason[0] != '\0' || g->opened_by[0] != '\0' ? " (" : "",
	    g->reason[0] != '\0' ? g->reason : g->opened_by,
	    g->reason[0] != '\0' || g->opened_by[0] != '\0' ? ")" : "");
}

/* cli_gate_json - {"state":..,"until":N|null,"reason":"..","opened_by":..|null} */
void
cli_gate_json(FILE *fp, const struct cli_gate *g)
{
	putc('{', fp);
	cli_json_key(fp, "state", true);
	if (g->state[0] != '\0')
		cli_json_string(fp, g->state);
	else
		fputs("null", fp);
	cli_json_key(fp, "until", false);
	if (g->until > 0)
		fprintf(fp, "%llu", g->until);
	else
		fputs("null", fp);
	cli_json_key(fp, "reason", false);
	cli_json_string(fp, g->reason);
	cli_json_key(fp, "opened_by", false);
	if (g->opened_by[0] != '\0')
		cli_json_string(fp, g->opened_by);
	else
		fputs("null", fp);
	putc('}', fp);
}

/* cli_qmsg_clear - release what m holds and make it empty */
void
cli_qmsg_clear(struct cli_qmsg *m)
{
	size_t i, k;

	for (i = 0; i < m->ndom; i++) {
		for (k = 0; k < m->dom[i].nrcpt; k++)
			free(m->dom[i].rcpt[k]);
		free(m->dom[i].rcpt);
		free(m->dom[i].error);
	}
	free(m->dom);
	free(m->sender);
	memset(m, 0, sizeof(*m));
}

/* cli_qmsg_add - bound-check a type=entry record and add it to m; 0, 1, -1 */
int
cli_qmsg_add(struct cli_qmsg *m, const struct ipc_rec *rec)
{
	const char *id = ipc_rec_get(rec, PROTO_F_ID), *domain = ipc_rec_get(rec, PROTO_F_DOMAIN);
	const char *sender = ipc_rec_get(rec, PROTO_F_SENDER), *error = ipc_rec_get(rec, PROTO_F_ERROR);
	unsigned long long size, arrival, flags = 0;
	struct cli_qdom d = { 0 };
	size_t i;

	if (strcmp(ipc_rec_type(rec), PROTO_T_ENTRY) != 0 || id == NULL || !queue_id_ok(id) ||
	    domain == NULL || strlen(domain) >= sizeof(d.domain) ||
	    !address_domain_ok(domain, strlen(domain)) ||
	    sender == NULL || !address_stored_ok(sender, true))
		return -1;
	/*
	 * Times take any non-negative time_t: a stored arrival may be absurd
	 * (a corrupt file, INT64_MAX) and its entry must still be listed.
	 */
	if (ipc_rec_get_num(rec, PROTO_F_SIZE, CLI_NUM_MAX, &size) < 0 ||
	    ipc_rec_get_num(rec, PROTO_F_ARRIVAL, INT64_MAX, &arrival) < 0)
		return -1;
	for (i = 0; i < rec->n; i++)
		if (strcmp(rec->f[i].name, PROTO_F_RCPT) == 0 &&
		    !address_mailbox_ok(rec->f[i].value))
			return -1;
	if (cli_gate_parse(rec, &d.gate) < 0)
		return -1;
	if (m->id[0] != '\0' && strcmp(m->id, id) != 0)
		return 1;
	/* Scheduling fields are informative; absent means "none yet". */
	(void)ipc_rec_get_num(rec, PROTO_F_NEXT_TRY, INT64_MAX, &d.next_try);
	(void)ipc_rec_get_num(rec, PROTO_F_EXPIRY, INT64_MAX, &d.expiry);
	(void)ipc_rec_get_num(rec, PROTO_F_ATTEMPTS, CLI_NUM_MAX, &d.attempts);
	(void)ipc_rec_get_num(rec, PROTO_F_FLAGS, CLI_NUM_MAX, &flags);
	if (m->id[0] == '\0') {
		snprintf(m->id, sizeof(m->id), "%s", id);
		m->sender = xstrdup(sender);
		m->size = size;
		m->arrival = arrival;
	}
	/* The hold marker is the message's: any entry that says so. */
	if ((flags & QINDEX_F_HOLD) != 0)
		m->hold = true;
	snprintf(d.domain, sizeof(d.domain), "%s", domain);
	if (error != NULL && error[0] != '\0')
		d.error = xstrdup(error);
	for (i = 0; i < rec->n; i++) {
		if (strcmp(rec->f[i].name, PROTO_F_RCPT) != 0)
			continue;
		d.rcpt = xreallocarray(d.rcpt, d.nrcpt + 1, sizeof(*d.rcpt));
		d.rcpt[d.nrcpt++] = xstrdup(rec->f[i].value);
	}
	m->dom = xreallocarray(m->dom, m->ndom + 1, sizeof(*m->dom));
	m->dom[m->ndom++] = d;
	return 0;
}

/* cli_list_header - mailq's column header */
void
cli_list_header(FILE *fp)
{
	fprintf(fp, "%-21s %8s %-20s %s\n", "-Queue ID-", "--Size--",
	    "----Arrival Time----", "-Sender/Recipient-------");
}

/* cli_list_text - one message as a mailq block: each domain's reason, then its recipients */
void
cli_list_text(FILE *fp, const struct cli_qmsg *m)
{
	char date[32];
	time_t t = (time_t)m->arrival;
	struct tm tm;
	size_t i, k;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a %b %e %H:%M:%S", &tm) == 0)
		snprintf(date, sizeof(date), "%llu", m->arrival);
	/* As in mailq, "!" after the ID marks mail on hold. */
	fprintf(fp, "%-20s%c %8llu %-20s ", m->id, m->hold ? '!' : ' ', m->size, date);
	cli_put_text(fp, m->sender[0] != '\0' ? m->sender : "MAILER-DAEMON");
	putc('\n', fp);
	for (i = 0; i < m->ndom; i++) {
		if (m->dom[i].error != NULL) {
			fprintf(fp, "%*s(", CLI_LIST_INDENT, "");
			cli_put_text(fp, m->dom[i].error);
			fputs(")\n", fp);
		}
		for (k = 0; k < m->dom[i].nrcpt; k++) {
			fprintf(fp, "%*s", CLI_LIST_INDENT, "");
			cli_put_text(fp, m->dom[i].rcpt[k]);
			putc('\n', fp);
		}
	}
	putc('\n', fp);
}

/* cli_list_footer - "-- N Kbytes in M Requests." or "Mail queue is empty" */
void
cli_list_footer(FILE *fp, unsigned long long bytes, unsigned long long messages)
{
	if (messages == 0) {
		fputs("Mail queue is empty\n", fp);
		return;
	}
	fprintf(fp, "-- %llu Kbytes in %llu Request%s.\n", (bytes + 1023) / 1024,
	    messages, messages == 1 ? "" : "s");
}

/* cli_rcpt_json - the recipients of d as {"address","delay_reason"} objects */
static void
cli_rcpt_json(FILE *fp, const struct cli_qdom *d, bool first)
{
	size_t k;

	for (k = 0; k < d->nrcpt; k++) {
		if (!first || k > 0)
			putc(',', fp);
		putc('{', fp);
		cli_json_key(fp, "address", true);
		cli_json_string(fp, d->rcpt[k]);
		cli_json_key(fp, "delay_reason", false);
		cli_json_string(fp, d->error != NULL ? d->error : "");
		putc('}', fp);
	}
}

/*
 * cli_list_json - one message as one line of JSON: postqueue -j's
 * members (queue_id, arrival_time, message_size, sender, recipients),
 * then its destination domains, each with its schedule and its gate.
 */
void
cli_list_json(FILE *fp, const struct cli_qmsg *m, const char *host)
{
	size_t i;
	bool first = true;

	putc('{', fp);
	cli_json_key(fp, "queue_id", true);
	cli_json_string(fp, m->id);
	cli_json_key(fp, "host", false);
	cli_json_string(fp, host);
	cli_json_num(fp, "arrival_time", m->arrival);
	cli_json_num(fp, "message_size", m->size);
	cli_json_key(fp, "sender", false);
	cli_json_string(fp, m->sender);
	cli_json_key(fp, "hold", false);
	fputs(m->hold ? "true" : "false", fp);
	cli_json_key(fp, "recipients", false);
	putc('[', fp);
	for (i = 0; i < m->ndom; i++) {
		cli_rcpt_json(fp, &m->dom[i], first);
		first = first && m->dom[i].nrcpt == 0;
	}
	putc(']', fp);
	cli_json_key(fp, "domains", false);
	putc('[', fp);
	for (i = 0; i < m->ndom; i++) {
		const struct cli_qdom *d = &m->dom[i];

		if (i > 0)
			putc(',', fp);
		putc('{', fp);
		cli_json_key(fp, "domain", true);
		cli_json_string(fp, d->domain);
		cli_json_num(fp, "next_try", d->next_try);
		cli_json_num(fp, "expiry", d->expiry);
		cli_json_num(fp, "attempts", d->attempts);
		cli_json_key(fp, "delay_reason", false);
		cli_json_string(fp, d->error != NULL ? d->error : "");
		cli_json_key(fp, "recipients", false);
		putc('[', fp);
		cli_rcpt_json(fp, d, true);
		putc(']', fp);
		cli_json_key(fp, "gate", false);
		cli_gate_json(fp, &d->gate);
		putc('}', fp);
	}
	fputs("]}\n", fp);
}

/* cli_summary_parse - read a type=domain (or type=total, as TOTAL) record into row; 0/-1 */
int
cli_summary_parse(const struct ipc_rec *rec, struct cli_summary_row *row)
{
	const char *domain = ipc_rec_get(rec, PROTO_F_DOMAIN);
	const char *home = ipc_rec_get(rec, PROTO_F_HOME);
	bool total = strcmp(ipc_rec_type(rec), PROTO_T_TOTAL) == 0;
	size_t i;

	memset(row, 0, sizeof(*row));
	if (total) {
		snprintf(row->domain, sizeof(row->domain), "TOTAL");
	} else {
		if (strcmp(ipc_rec_type(rec), PROTO_T_DOMAIN) != 0 || domain == NULL ||
		    strlen(domain) >= sizeof(row->domain) ||
		    !address_domain_ok(domain, strlen(domain)))
			return -1;
		snprintf(row->domain, sizeof(row->domain), "%s", domain);
		if (cli_gate_parse(rec, &row->gate) < 0)
			return -1;
	}
	if (ipc_rec_get_num(rec, PROTO_F_MESSAGES, CLI_NUM_MAX, &row->messages) < 0 ||
	    ipc_rec_get_num(rec, PROTO_F_BYTES, CLI_NUM_MAX, &row->bytes) < 0)
		return -1;
	(void)ipc_rec_get_num(rec, PROTO_F_OLDEST, INT64_MAX, &row->oldest);
	/* The home host: a host:port as home.h writes one, else none. */
	if (home != NULL && strlen(home) < sizeof(row->home) &&
	    strspn(home, "abcdefghijklmnopqrstuvwxyz0123456789.-:[]_") == strlen(home))
		snprintf(row->home, sizeof(row->home), "%s", home);
	for (i = 0; i < CLI_NBUCKETS; i++)
		if (ipc_rec_get_num(rec, cli_bucket_field[i], CLI_NUM_MAX,
		    &row->bucket[i]) < 0)
			return -1;
	/* The caps are optional: absent (or from an older peer) is none. */
	if ((ipc_rec_get(rec, PROTO_F_MAX_MESSAGES) != NULL &&
	    ipc_rec_get_num(rec, PROTO_F_MAX_MESSAGES, CLI_NUM_MAX, &row->max_messages) < 0) ||
	    (ipc_rec_get(rec, PROTO_F_MAX_BYTES) != NULL &&
	    ipc_rec_get_num(rec, PROTO_F_MAX_BYTES, CLI_NUM_MAX, &row->max_bytes) < 0))
		return -1;
	return 0;
}

/* cli_summary_add - add row's counts into total (the TOTAL row) */
void
cli_summary_add(struct cli_summary_row *total, const struct cli_summary_row *row)
{
	size_t i;

	total->messages += row->messages;
	total->bytes += row->bytes;
	if (row->oldest != 0 && (total->oldest == 0 || row->oldest < total->oldest))
		total->oldest = row->oldest;
	for (i = 0; i < CLI_NBUCKETS; i++)
		total->bucket[i] += row->bucket[i];
}

/* cli_summary_header - the qshape-like column header */
void
cli_summary_header(FILE *fp)
{
	size_t i;

	fprintf(fp, "%-30s %6s", "", "T");
	for (i = 0; i < CLI_NBUCKETS; i++)
		fprintf(fp, " %5s", cli_bucket_label[i]);
	fprintf(fp, " %12s %8s %s\n", "bytes", "oldest", "gate");
}

/* cli_age - "-", "42m", "3h5m" or "2d7h" for an age in seconds */
static void
cli_age(char *buf, size_t size, unsigned long long oldest, time_t now)
{
	unsigned long long age;

	if (oldest == 0) {
		snprintf(buf, size, "-");
		return;
	}
	age = (unsigned long long)now > oldest ? (unsigned long long)now - oldest : 0;
	if (age < 3600)
		snprintf(buf, size, "%llum", age / 60);
	else if (age < 86400)
		snprintf(buf, size, "%lluh%llum", age / 3600, age % 3600 / 60);
	else
		snprintf(buf, size, "%llud%lluh", age / 86400, age % 86400 / 3600);
}

/* cli_summary_text - one row of the table */
void
cli_summary_text(FILE *fp, const struct cli_summary_row *row, time_t now)
{
	char age[32], gate[200] = "";
	size_t i;

	if (row->gate.state[0] != '\0')
		cli_gate_text(gate, sizeof(gate), &row->gate);
	/* A long domain keeps its own line so the columns stay aligned. */
	fprintf(fp, "%30s", row->domain);
	if (strlen(row->domain) > 30)
		fprintf(fp, "\n%30s", "");
	fprintf(fp, " %6llu", row->messages);
	for (i = 0; i < CLI_NBUCKETS; i++)
		fprintf(fp, " %5llu", row->bucket[i]);
	cli_age(age, sizeof(age), row->oldest, now);
	fprintf(fp, " %12llu %8s%s", row->bytes, age, gate[0] != '\0' ? " " : "");
	cli_put_text(fp, gate);
	/* A capped domain: what it holds against its caps, after the gate. */
	if (row->max_messages > 0 || row->max_bytes > 0) {
		fputs(" quota:", fp);
		if (row->max_messages > 0)
			fprintf(fp, " %llu/%llu messages%s", row->messages, row->max_messages,
			    row->max_bytes > 0 ? "," : "");
		if (row->max_bytes > 0)
			fprintf(fp, " %llu/%llu bytes", row->bytes, row->max_bytes);
	}
	putc('\n', fp);
}

/* cli_summary_json - one row as one line of JSON */
void
cli_summary_json(FILE *fp, const struct cli_summary_row *row)
{
	putc('{', fp);
	cli_summary_json_fields(fp, row);
}

/* cli_summary_json_fields - the row's members after the "{", the "}" and newline */
void
cli_summary_json_fields(FILE *fp, const struct cli_summary_row *row)
{
	size_t i;

	cli_json_key(fp, "domain", true);
	cli_json_string(fp, row->domain);
	cli_json_num(fp, "messages", row->messages);
	cli_json_num(fp, "bytes", row->bytes);
	cli_json_num(fp, "oldest", row->oldest);
	cli_json_key(fp, "gate", false);
	cli_gate_json(fp, &row->gate);
	if (row->home[0] != '\0') {
		cli_json_key(fp, "home", false);
		cli_json_string(fp, row->home);
	}
	if (row->max_messages > 0)
		cli_json_num(fp, "max_messages", row->max_messages);
	if (row->max_bytes > 0)
		cli_json_num(fp, "max_bytes", row->max_bytes);
	cli_json_key(fp, "age_buckets", false);
	putc('{', fp);
	for (i = 0; i < CLI_NBUCKETS; i++) {
		cli_json_key(fp, cli_bucket_label[i], i == 0);
		fprintf(fp, "%llu", row->bucket[i]);
	}
	fputs("}}\n", fp);
}
