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
#include <string.h>
#include <time.h>

/* lib/mail: the record fields and their grammar */
#include "mail/address.h"
#include "mail/proto.h"
#include "mail/qindex.h"
#include "mail/queue.h"
/* lib/util */
#include "util/ipc.h"
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

/* cli_entry - the fields of a type=entry record, checked */
struct cli_entry {
	const char *id, *domain, *sender, *error;
	unsigned long long size, arrival, next_try, expiry, attempts, flags;
};

/* cli_entry_parse - bound-check a type=entry record; 0/-1 */
static int
cli_entry_parse(const struct ipc_rec *rec, struct cli_entry *e)
{
	size_t i;

	memset(e, 0, sizeof(*e));
	if (strcmp(ipc_rec_type(rec), "entry") != 0)
		return -1;
	e->id = ipc_rec_get(rec, PROTO_F_ID);
	e->domain = ipc_rec_get(rec, PROTO_F_DOMAIN);
	e->sender = ipc_rec_get(rec, PROTO_F_SENDER);
	e->error = ipc_rec_get(rec, PROTO_F_ERROR);
	if (e->id == NULL || !queue_id_ok(e->id) || e->domain == NULL ||
	    !address_domain_ok(e->domain, strlen(e->domain)) ||
	    e->sender == NULL || !address_stored_ok(e->sender, true))
		return -1;
	/*
	 * Times take any non-negative time_t: a stored arrival may be absurd
	 * (a corrupt file, INT64_MAX) and its entry must still be listed.
	 */
	if (ipc_rec_get_num(rec, PROTO_F_SIZE, CLI_NUM_MAX, &e->size) < 0 ||
	    ipc_rec_get_num(rec, PROTO_F_ARRIVAL, INT64_MAX, &e->arrival) < 0)
		return -1;
	/* Scheduling fields are informative; absent means "none yet". */
	(void)ipc_rec_get_num(rec, PROTO_F_NEXT_TRY, INT64_MAX, &e->next_try);
	(void)ipc_rec_get_num(rec, PROTO_F_EXPIRY, INT64_MAX, &e->expiry);
	(void)ipc_rec_get_num(rec, PROTO_F_ATTEMPTS, CLI_NUM_MAX, &e->attempts);
	(void)ipc_rec_get_num(rec, PROTO_F_FLAGS, CLI_NUM_MAX, &e->flags);
	for (i = 0; i < rec->n; i++)
		if (strcmp(rec->f[i].name, "rcpt") == 0 &&
		    !address_mailbox_ok(rec->f[i].value))
			return -1;
	if (e->error != NULL && e->error[0] == '\0')
		e->error = NULL;
	return 0;
}

/* cli_list_header - mailq's column header */
void
cli_list_header(FILE *fp)
{
	fprintf(fp, "%-21s %8s %-20s %s\n", "-Queue ID-", "--Size--",
	    "----Arrival Time----", "-Sender/Recipient-------");
}

/* cli_list_text - one type=entry record as a mailq block */
int
cli_list_text(FILE *fp, const struct ipc_rec *rec, unsigned long long *bytes)
{
	struct cli_entry e;
	char date[32];
	time_t t;
	struct tm tm;
	size_t i;

	if (cli_entry_parse(rec, &e) < 0)
		return -1;
	t = (time_t)e.arrival;
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a %b %e %H:%M:%S", &tm) == 0)
		snprintf(date, sizeof(date), "%llu", e.arrival);
	/* As in mailq, "!" after the ID marks mail on hold. */
	fprintf(fp, "%-20s%c %8llu %-20s ", e.id,
	    (e.flags & QINDEX_F_HOLD) != 0 ? '!' : ' ', e.size, date);
	cli_put_text(fp, e.sender[0] != '\0' ? e.sender : "MAILER-DAEMON");
	putc('\n', fp);
	if (e.error != NULL) {
		fprintf(fp, "%*s(", CLI_LIST_INDENT, "");
		cli_put_text(fp, e.error);
		fputs(")\n", fp);
	}
	for (i = 0; i < rec->n; i++) {
		if (strcmp(rec->f[i].name, "rcpt") != 0)
			continue;
		fprintf(fp, "%*s", CLI_LIST_INDENT, "");
		cli_put_text(fp, rec->f[i].value);
		putc('\n', fp);
	}
	putc('\n', fp);
	if (bytes != NULL)
		*bytes += e.size;
	return 0;
}

/* cli_list_footer - "-- N Kbytes in M Requests." or "Mail queue is empty" */
void
cli_list_footer(FILE *fp, unsigned long long bytes, unsigned long long entries)
{
	if (entries == 0) {
		fputs("Mail queue is empty\n", fp);
		return;
	}
	fprintf(fp, "-- %llu Kbytes in %llu Request%s.\n", (bytes + 1023) / 1024,
	    entries, entries == 1 ? "" : "s");
}

/* cli_json_num - write ,"name":N */
static void
cli_json_num(FILE *fp, const char *name, unsigned long long n)
{
	cli_json_key(fp, name, false);
	fprintf(fp, "%llu", n);
}

/* cli_list_json - one type=entry record as one line of JSON */
int
cli_list_json(FILE *fp, const struct ipc_rec *rec, const char *host)
{
	struct cli_entry e;
	bool first = true;
	size_t i;

	if (cli_entry_parse(rec, &e) < 0)
		return -1;
	putc('{', fp);
	cli_json_key(fp, "queue_id", true);
	cli_json_string(fp, e.id);
	cli_json_key(fp, "host", false);
	cli_json_string(fp, host);
	cli_json_num(fp, "arrival_time", e.arrival);
	cli_json_num(fp, "message_size", e.size);
	cli_json_key(fp, "sender", false);
	cli_json_string(fp, e.sender);
	cli_json_key(fp, "domain", false);
	cli_json_string(fp, e.domain);
	cli_json_num(fp, "next_try", e.next_try);
	cli_json_num(fp, "expiry", e.expiry);
	cli_json_num(fp, "attempts", e.attempts);
	cli_json_key(fp, "hold", false);
	fputs((e.flags & QINDEX_F_HOLD) != 0 ? "true" : "false", fp);
	cli_json_key(fp, "recipients", false);
	putc('[', fp);
	for (i = 0; i < rec->n; i++) {
		if (strcmp(rec->f[i].name, "rcpt") != 0)
			continue;
		if (!first)
			putc(',', fp);
		first = false;
		putc('{', fp);
		cli_json_key(fp, "address", true);
		cli_json_string(fp, rec->f[i].value);
		cli_json_key(fp, "delay_reason", false);
		cli_json_string(fp, e.error != NULL ? e.error : "");
		putc('}', fp);
	}
	fputs("]}\n", fp);
	return 0;
}

/* cli_summary_parse - read a type=domain record into row; 0/-1 */
int
cli_summary_parse(const struct ipc_rec *rec, struct cli_summary_row *row)
{
	const char *domain = ipc_rec_get(rec, PROTO_F_DOMAIN);
	const char *gate = ipc_rec_get(rec, PROTO_F_GATE);
	const char *home = ipc_rec_get(rec, PROTO_F_HOME);
	size_t i;

	memset(row, 0, sizeof(*row));
	if (strcmp(ipc_rec_type(rec), "domain") != 0 || domain == NULL ||
	    strlen(domain) >= sizeof(row->domain) ||
	    !address_domain_ok(domain, strlen(domain)))
		return -1;
	snprintf(row->domain, sizeof(row->domain), "%s", domain);
	if (ipc_rec_get_num(rec, PROTO_F_MESSAGES, CLI_NUM_MAX, &row->messages) < 0 ||
	    ipc_rec_get_num(rec, PROTO_F_BYTES, CLI_NUM_MAX, &row->bytes) < 0)
		return -1;
	(void)ipc_rec_get_num(rec, PROTO_F_OLDEST, INT64_MAX, &row->oldest);
	/* The gate is short printable text ("open until 12:00:00 (etrn)"); "-" if absent. */
	if (gate == NULL || gate[0] == '\0' || strlen(gate) >= sizeof(row->gate) ||
	    strspn(gate, "abcdefghijklmnopqrstuvwxyz0123456789 :,()-") != strlen(gate))
		gate = "-";
	snprintf(row->gate, sizeof(row->gate), "%s", gate);
	/* The home host: a host:port as home.h writes one, else none. */
	if (home != NULL && strlen(home) < sizeof(row->home) &&
	    strspn(home, "abcdefghijklmnopqrstuvwxyz0123456789.-:[]_") == strlen(home))
		snprintf(row->home, sizeof(row->home), "%s", home);
	for (i = 0; i < CLI_NBUCKETS; i++)
		if (ipc_rec_get_num(rec, cli_bucket_field[i], CLI_NUM_MAX,
		    &row->bucket[i]) < 0)
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
	char age[32];
	size_t i;

	/* A long domain keeps its own line so the columns stay aligned. */
	fprintf(fp, "%30s", row->domain);
	if (strlen(row->domain) > 30)
		fprintf(fp, "\n%30s", "");
	fprintf(fp, " %6llu", row->messages);
	for (i = 0; i < CLI_NBUCKETS; i++)
		fprintf(fp, " %5llu", row->bucket[i]);
	cli_age(age, sizeof(age), row->oldest, now);
	fprintf(fp, " %12llu %8s%s%s\n", row->bytes, age, row->gate[0] != '\0' ? " " : "",
	    row->gate);
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
	cli_json_string(fp, row->gate);
	if (row->home[0] != '\0') {
		cli_json_key(fp, "home", false);
		cli_json_string(fp, row->home);
	}
	cli_json_key(fp, "age_buckets", false);
	putc('{', fp);
	for (i = 0; i < CLI_NBUCKETS; i++) {
		cli_json_key(fp, cli_bucket_label[i], i == 0);
		fprintf(fp, "%llu", row->bucket[i]);
	}
	fputs("}}\n", fp);
}
