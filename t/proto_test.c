/*
 * proto_test - lib/mail/proto_rec: every record's round trip through the
 * wire, the word tables, and the records a decoder must refuse (with a
 * warning that names the record, the field and the peer).
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* lib/util */
#include "util/ipc.h"
#include "util/log.h"
/* lib/mail */
#include "mail/proto_rec.h"

#include "t/tap.h"

static char logpath[] = "/tmp/proto_test.XXXXXX";

/* wire - rec through ipc_rec_encode and ipc_rec_decode, as a peer gets it */
static struct ipc_rec *
wire(struct ipc_rec *rec)
{
	struct ipc_rec *out = NULL;
	char *buf;
	size_t len;

	if (ipc_rec_encode(rec, &buf, &len) < 0 || ipc_rec_decode(buf, len, &out) < 0)
		out = NULL;
	free(buf);
	ipc_rec_free(&rec);
	return out;
}

/* text - the encoded text of rec, newlines as spaces (static buffer) */
static const char *
text(const struct ipc_rec *rec)
{
	static char out[4096];
	char *buf;
	size_t len, i;

	if (ipc_rec_encode(rec, &buf, &len) < 0 || len >= sizeof(out))
		return "(too long)";
	for (i = 0; i < len; i++)
		out[i] = buf[i] == '\n' ? ' ' : buf[i];
	out[len > 0 ? len - 1 : 0] = '\0';
	free(buf);
	return out;
}

/* last_log - the last line logged (static buffer) */
static const char *
last_log(void)
{
	static char line[1024];
	FILE *fp = fopen(logpath, "r");
	char buf[1024];

	line[0] = '\0';
	if (fp == NULL)
		return line;
	while (fgets(buf, sizeof(buf), fp) != NULL)
		snprintf(line, sizeof(line), "%s", buf);
	fclose(fp);
	line[strcspn(line, "\n")] = '\0';
	return line;
}

static bool
same(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
test_words(void)
{
	enum proto_status st;
	enum proto_source src;
	enum proto_gate gate;
	enum proto_result res;
	int i;

	for (i = 0; i < PROTO_STATUS_N; i++)
		ok(proto_status_parse(proto_status_name(i), &st) && (int)st == i,
		    "status %d round trip via %s", i, proto_status_name(i));
	for (i = 0; i < PROTO_SOURCE_N; i++)
		ok(proto_source_parse(proto_source_name(i), &src) && (int)src == i,
		    "source %d round trip via %s", i, proto_source_name(i));
	for (i = 0; i < PROTO_GATE_N; i++)
		ok(proto_gate_parse(proto_gate_name(i), &gate) && (int)gate == i,
		    "gate %d round trip via %s", i, proto_gate_name(i));
	for (i = 0; i < PROTO_RESULT_N; i++)
		ok(proto_result_parse(proto_result_name(i), &res) && (int)res == i,
		    "result %d round trip via %s", i, proto_result_name(i));
	/* The words the programs have always sent. */
	ok(strcmp(proto_source_name(PROTO_SOURCE_CLI), "cli") == 0, "source cli");
	ok(strcmp(proto_status_name(PROTO_STATUS_BUSY), "busy") == 0, "status busy");
	ok(!proto_status_parse("OK", &st), "status words are lowercase");
	ok(!proto_source_parse("", &src), "no empty source");
	ok(!proto_gate_parse("opened", &gate), "no gate word by prefix");
	ok(!proto_result_parse("sent ", &res), "no result word with a space");
}

static void
test_round_trips(void)
{
	struct ipc_rec *rec;

	{
		struct proto_queued a = { .id = "0123456789ABCDEF0123" }, b;

		rec = wire(proto_queued_encode(&a));
		ok(rec != NULL && proto_queued_decode(rec, &b, "t") == 0 && same(a.id, b.id),
		    "queued round trip");
		ipc_rec_free(&rec);
	}
	{
		struct proto_trigger a = { .domain = "site.example", .subdomains = true,
			.source = PROTO_SOURCE_ETRN, .client = "192.0.2.1", .user = "joe" }, b;

		rec = wire(proto_trigger_encode(&a));
		ok(rec != NULL && strcmp(text(rec), "type=trigger domain=site.example "
		    "subdomains=1 source=etrn client=192.0.2.1 user=joe") == 0,
		    "trigger on the wire: got %s", rec != NULL ? text(rec) : "NULL");
		ok(rec != NULL && proto_trigger_decode(rec, &b, "t") == 0 &&
		    same(a.domain, b.domain) && b.group == NULL && b.subdomains &&
		    b.source == a.source && same(a.client, b.client) && same(a.user, b.user),
		    "trigger round trip");
		ipc_rec_free(&rec);
	}
	{
		struct proto_trigger a = { .group = "g1", .source = PROTO_SOURCE_PROBE }, b;

		rec = wire(proto_trigger_encode(&a));
		ok(rec != NULL && strcmp(text(rec), "type=trigger group=g1 source=probe") == 0,
		    "group trigger leaves out what is absent: got %s",
		    rec != NULL ? text(rec) : "NULL");
		ok(rec != NULL && proto_trigger_decode(rec, &b, "t") == 0 &&
		    same(b.group, "g1") && b.domain == NULL && !b.subdomains &&
		    b.client == NULL && b.user == NULL, "group trigger round trip");
		ipc_rec_free(&rec);
	}
	{
		struct proto_trigger a = { .all = true, .source = PROTO_SOURCE_CLI }, b;

		rec = wire(proto_trigger_encode(&a));
		ok(rec != NULL && strcmp(text(rec), "type=trigger source=cli all=1") == 0,
		    "a flush of all (to the peers): got %s", rec != NULL ? text(rec) : "NULL");
		ok(rec != NULL && proto_trigger_decode(rec, &b, "t") == 0 && b.all &&
		    b.domain == NULL && b.group == NULL, "flush of all round trip");
		ipc_rec_free(&rec);
	}
	{
		struct proto_triggered a = { .status = PROTO_STATUS_DENIED, .pending = 7,
			.domains = 2, .reason = "not the owner" }, b;

		rec = wire(proto_triggered_encode(&a));
		ok(rec != NULL && proto_triggered_decode(rec, &b, "t") == 0 &&
		    b.status == a.status && b.pending == 7 && b.domains == 2 &&
		    same(a.reason, b.reason), "triggered round trip");
		ipc_rec_free(&rec);
	}
	{
		struct proto_domainstatus_req a = { .domain = "site.example" }, b;

		rec = wire(proto_domainstatus_req_encode(&a));
		ok(rec != NULL && proto_domainstatus_req_decode(rec, &b, "t") == 0 &&
		    same(a.domain, b.domain) && !b.policy, "domainstatus request round trip");
		ipc_rec_free(&rec);
		a = (struct proto_domainstatus_req){ .domain = "site.example",
			.policy = true, .source = PROTO_SOURCE_FINGER, .client = "::1" };
		rec = wire(proto_domainstatus_req_encode(&a));
		ok(rec != NULL && proto_domainstatus_req_decode(rec, &b, "t") == 0 &&
		    same(a.domain, b.domain) && b.policy && b.source == PROTO_SOURCE_FINGER &&
		    same(a.client, b.client), "domainstatus request with policy round trip");
		ipc_rec_free(&rec);
	}
	{
		struct proto_domainstatus a = { .status = PROTO_STATUS_OK,
			.domain = "site.example", .pending = 3, .bytes = 4096,
			.oldest = 1700000000, .next_expiry = 1700400000,
			.gate = PROTO_GATE_OPEN, .open_until = 1700000600,
			.opened_by = "web", .delivered = 5, .in_flight = 2,
			.finished = 1700000300, .failing = "cannot reach 192.0.2.7:25: connection refused",
			.failing_at = 1700000200, .next_probe = 1700000900,
			.sent = 41, .next_try = 1700000700 }, b;

		rec = wire(proto_domainstatus_encode(&a));
		ok(rec != NULL && proto_domainstatus_decode(rec, &b, "t") == 0 &&
		    b.status == a.status && same(a.domain, b.domain) && b.pending == 3 &&
		    b.bytes == 4096 && b.oldest == a.oldest &&
		    b.next_expiry == a.next_expiry && b.gate == a.gate &&
		    b.open_until == a.open_until && same(a.opened_by, b.opened_by) &&
		    b.delivered == 5 && b.in_flight == 2 && b.finished == a.finished &&
		    same(a.failing, b.failing) && b.failing_at == a.failing_at &&
		    b.next_probe == a.next_probe && b.sent == 41 &&
		    b.next_try == a.next_try, "domainstatus round trip");
		ipc_rec_free(&rec);
	}
	{
		struct proto_domainstatus a = { .status = PROTO_STATUS_UNKNOWN,
			.domain = "gone.example", .pending = 3 }, b;

		rec = wire(proto_domainstatus_encode(&a));
		ok(rec != NULL && strcmp(text(rec),
		    "type=domainstatus status=unknown domain=gone.example") == 0,
		    "domainstatus unknown has no numbers: got %s",
		    rec != NULL ? text(rec) : "NULL");
		ok(rec != NULL && proto_domainstatus_decode(rec, &b, "t") == 0 &&
		    b.status == PROTO_STATUS_UNKNOWN && b.pending == 0,
		    "domainstatus unknown round trip");
		ipc_rec_free(&rec);
	}
	{
		struct proto_gateclose a = { .domain = "site.example",
			.source = PROTO_SOURCE_WEB, .client = "::1", .user = "joe" }, b;

		rec = wire(proto_gateclose_encode(&a));
		ok(rec != NULL && proto_gateclose_decode(rec, &b, "t") == 0 &&
		    same(a.domain, b.domain) && b.source == a.source &&
		    same(a.client, b.client) && same(a.user, b.user), "gateclose round trip");
		ipc_rec_free(&rec);
	}
	{
		struct proto_reply a = { .status = PROTO_STATUS_DENIED, .reason = "who" }, b;

		rec = wire(proto_reply_encode(PROTO_T_GATECLOSED, &a));
		ok(rec != NULL && proto_reply_decode(rec, PROTO_T_GATECLOSED, &b, "t") == 0 &&
		    b.status == a.status && same(a.reason, b.reason), "gateclosed round trip");
		ipc_rec_free(&rec);
		a.reason = NULL;
		a.status = PROTO_STATUS_OK;
		rec = wire(proto_reply_encode(PROTO_T_END, &a));
		ok(rec != NULL && strcmp(text(rec), "type=end status=ok") == 0 &&
		    proto_reply_decode(rec, PROTO_T_END, &b, "t") == 0 &&
		    b.status == PROTO_STATUS_OK && b.reason == NULL, "end round trip");
		ipc_rec_free(&rec);
	}
	{
		struct proto_probe a = { .domain = "site.example", .pending = 9,
			.arrivals = 12 }, b;

		rec = wire(proto_probe_encode(&a));
		ok(rec != NULL && proto_probe_decode(rec, &b, "t") == 0 &&
		    same(a.domain, b.domain) && b.pending == 9 && b.arrivals == 12,
		    "probe round trip");
		ipc_rec_free(&rec);
	}
	{
		struct proto_probed a = { .domain = "site.example",
			.next_probe = 1700000900 }, b;

		rec = wire(proto_probed_encode(&a));
		ok(rec != NULL && proto_probed_decode(rec, &b, "t") == 0 &&
		    same(a.domain, b.domain) && b.next_probe == a.next_probe,
		    "probed round trip");
		ipc_rec_free(&rec);
	}
	{
		struct proto_hello a = { .slots = 1, .bind = "a.example,b.example",
			.user = "joe" }, b;

		rec = wire(proto_hello_encode(&a));
		ok(rec != NULL && proto_hello_decode(rec, &b, "t") == 0 && b.slots == 1 &&
		    same(a.bind, b.bind) && same(a.user, b.user), "hello round trip");
		ipc_rec_free(&rec);
	}
	{
		struct proto_busy a = { .domain = "site.example", .reason = "bound" }, b;

		rec = wire(proto_busy_encode(&a));
		ok(rec != NULL && proto_busy_decode(rec, &b, "t") == 0 &&
		    same(a.domain, b.domain) && same(a.reason, b.reason), "busy round trip");
		ipc_rec_free(&rec);
	}
	{
		struct proto_rcpt a = { .job = 18446744073709551615ULL, .idx = 4,
			.status = PROTO_RESULT_BOUNCED, .dsn = "5.1.1",
			.relay = "mx[192.0.2.1]:25", .reply = "550 5.1.1 no\nsuch user" }, b;

		rec = wire(proto_rcpt_encode(&a));
		ok(rec != NULL && proto_rcpt_decode(rec, &b, "t") == 0 && b.job == a.job &&
		    b.idx == 4 && b.status == a.status && same(a.dsn, b.dsn) &&
		    same(a.relay, b.relay) && same(a.reply, b.reply), "rcpt round trip");
		ipc_rec_free(&rec);
	}
	{
		struct proto_done a = { .job = 12, .conn_error = "connection refused" }, b;

		rec = wire(proto_done_encode(&a));
		ok(rec != NULL && proto_done_decode(rec, &b, "t") == 0 && b.job == 12 &&
		    same(a.conn_error, b.conn_error), "done round trip");
		ipc_rec_free(&rec);
	}
	{
		struct proto_hello a = { .slots = 1, .bind = "site.example", .user = "demo",
			.maildrop = true }, b;

		rec = wire(proto_hello_encode(&a));
		ok(rec != NULL && proto_hello_decode(rec, &b, "t") == 0 && b.maildrop &&
		    same(a.bind, b.bind) && same(a.user, b.user), "hello maildrop=1 round trip");
		ipc_rec_free(&rec);
	}
	{
		struct proto_collect a = { .id = "0123456789ABCDEF0123", .idx = 7 }, b;

		rec = wire(proto_collect_encode(&a));
		ok(rec != NULL && proto_collect_decode(rec, &b, "t") == 0 && b.idx == 7 &&
		    same(a.id, b.id), "collect round trip");
		ipc_rec_free(&rec);
	}
	{
		struct proto_job_rcpt r[] = { { "a@site.example", 0 }, { "b@site.example", 3 } };
		struct proto_job a = { .job = 5, .id = "0123456789ABCDEF0123",
			.domain = "site.example", .sender = "", .size = 1234,
			.route = "[192.0.2.1]:2525", .tls = "may", .nrcpt = 2, .rcpt = r }, b;

		rec = wire(proto_job_encode(&a));
		ok(rec != NULL && strcmp(text(rec), "type=job job=5 id=0123456789ABCDEF0123 "
		    "domain=site.example sender= size=1234 route=[192.0.2.1]:2525 tls=may "
		    "rcpt=a@site.example idx=0 rcpt=b@site.example idx=3") == 0,
		    "job on the wire: got %s", rec != NULL ? text(rec) : "NULL");
		ok(rec != NULL && proto_job_decode(rec, &b, "t") == 0 && b.job == 5 &&
		    same(a.id, b.id) && same(a.domain, b.domain) && same(a.sender, b.sender) &&
		    b.size == 1234 && same(a.route, b.route) && same(a.tls, b.tls) &&
		    b.nrcpt == 2 && same(b.rcpt[1].addr, "b@site.example") &&
		    b.rcpt[1].idx == 3, "job round trip");
		proto_job_clear(&b);
		ipc_rec_free(&rec);
	}
	rec = wire(proto_idle_encode());
	ok(rec != NULL && strcmp(text(rec), "type=idle") == 0, "idle");
	ipc_rec_free(&rec);
}

/* The records decoders refuse, each as encoded text. */
static const struct {
	const char *in;
	const char *want_log;	/* in the warning */
} bad[] = {
	{ "type=queued\nid=X\nextra=1\n", "queued record from peer0: unknown field extra" },
	{ "type=queued\n", "queued record from peer1: missing field id" },
	{ "type=queued\nid=X\nid=Y\n", "repeated field id" },
	{ "type=trigger\ndomain=a\nsource=smtp\n", "trigger record from peer3: bad value of source" },
	{ "type=trigger\nsource=etrn\n", "want one of domain, group and all" },
	{ "type=trigger\ndomain=a\ngroup=g\nsource=etrn\n", "want one of domain, group and all" },
	{ "type=trigger\ndomain=a\nsource=etrn\nsubdomains=yes\n", "bad value of subdomains" },
	{ "type=triggered\nstatus=ok\npending=-1\ndomains=0\n", "bad value of pending" },
	{ "type=triggered\nstatus=ok\npending=18446744073709551616\ndomains=0\n",
	  "bad value of pending" },
	{ "type=triggered\nstatus=ok\npending= 1\ndomains=0\n", "bad value of pending" },
	{ "type=triggered\nstatus=fine\npending=1\ndomains=0\n", "bad value of status" },
	{ "type=domainstatus\nstatus=ok\ndomain=a\n", "missing field pending" },
	{ "type=domainstatus\nstatus=unknown\ndomain=a\npending=1\n",
	  "field without status=ok pending" },
	{ "type=domainstatus\nstatus=ok\ndomain=a\npending=1\nbytes=1\noldest=0\n"
	  "next_expiry=0\ngate=ajar\nopen_until=0\nopened_by=\ndelivered=0\n",
	  "bad value of gate" },
	{ "type=gateclose\ndomain=a\nsource=web\nmessages=1\n", "unknown field messages" },
	{ "type=rcpt\njob=1\nidx=0\nstatus=lost\ndsn=x\nrelay=r\nreply=y\n",
	  "bad value of status" },
	{ "type=done\n", "done record from peer16: missing field job" },
	{ "type=hello\nslots=1\nbind=a\nbindings=b\n", "unknown field bindings" },
	{ "type=job\njob=1\nid=X\ndomain=a\nsender=\nsize=1\nroute=mx\ntls=may\n",
	  "bad pair rcpt and idx" },
	{ "type=job\njob=1\nid=X\ndomain=a\nsender=\nsize=1\nroute=mx\ntls=may\n"
	  "rcpt=u@a\n", "bad pair rcpt and idx" },
	{ "type=job\njob=1\nid=X\ndomain=a\nsender=\nsize=1\nroute=mx\ntls=may\n"
	  "idx=0\nrcpt=u@a\n", "bad pair rcpt and idx" },
	{ "type=job\njob=1\nid=X\ndomain=a\nsender=\nsize=1\nroute=mx\ntls=may\n"
	  "rcpt=u@a\nidx=x\n", "bad pair rcpt and idx" },
	{ "type=job\njob=1\nid=X\ndomain=a\nsender=\nsize=1\ntls=may\n"
	  "rcpt=u@a\nidx=0\n", "missing field route" },
	{ "type=job\njob=1\nid=X\ndomain=a\nsender=\nsize=1\nroute=mx\ntls=may\n"
	  "rcpt=u@a\nidx=0\nprio=1\n", "job record from peer23: unknown field prio" },
	{ "type=idle\n", "refuse queued record from peer24: unexpected record idle" },
	{ "type=domainstatus\nstatus=ok\ndomain=a\npending=1\nbytes=1\noldest=0\n"
	  "next_expiry=0\ngate=open\nopen_until=0\nopened_by=\ndelivered=0\n",
	  "missing field in_flight" },
	{ "type=domainstatus\nstatus=ok\ndomain=a\nwhen=1\n", "unknown field when" },
	{ "type=probed\ndomain=a\n", "missing field next_probe" },
	{ "type=trigger\ndomain=a\nsource=cli\nall=1\n", "want one of domain, group and all" },
	{ "type=trigger\ngroup=g\nsource=cli\nall=1\n", "want one of domain, group and all" },
	{ "type=collect\nid=0123456789ABCDEF0123\n", "missing field idx" },
};

/* decode_as - decode rec as the record its type names; 0/-1 */
static int
decode_as(const struct ipc_rec *rec, const char *peer, bool as_queued)
{
	const char *type = as_queued ? PROTO_T_QUEUED : ipc_rec_type(rec);
	union {
		struct proto_queued queued;
		struct proto_trigger trigger;
		struct proto_triggered triggered;
		struct proto_domainstatus domainstatus;
		struct proto_gateclose gateclose;
		struct proto_probed probed;
		struct proto_rcpt rcpt;
		struct proto_done done;
		struct proto_hello hello;
		struct proto_job job;
		struct proto_collect collect;
	} x;
	int ret = -2;

	if (strcmp(type, PROTO_T_QUEUED) == 0)
		ret = proto_queued_decode(rec, &x.queued, peer);
	else if (strcmp(type, PROTO_T_TRIGGER) == 0)
		ret = proto_trigger_decode(rec, &x.trigger, peer);
	else if (strcmp(type, PROTO_T_TRIGGERED) == 0)
		ret = proto_triggered_decode(rec, &x.triggered, peer);
	else if (strcmp(type, PROTO_T_DOMAINSTATUS) == 0)
		ret = proto_domainstatus_decode(rec, &x.domainstatus, peer);
	else if (strcmp(type, PROTO_T_GATECLOSE) == 0)
		ret = proto_gateclose_decode(rec, &x.gateclose, peer);
	else if (strcmp(type, PROTO_T_PROBED) == 0)
		ret = proto_probed_decode(rec, &x.probed, peer);
	else if (strcmp(type, PROTO_T_RCPT) == 0)
		ret = proto_rcpt_decode(rec, &x.rcpt, peer);
	else if (strcmp(type, PROTO_T_DONE) == 0)
		ret = proto_done_decode(rec, &x.done, peer);
	else if (strcmp(type, PROTO_T_HELLO) == 0)
		ret = proto_hello_decode(rec, &x.hello, peer);
	else if (strcmp(type, PROTO_T_COLLECT) == 0)
		ret = proto_collect_decode(rec, &x.collect, peer);
	else if (strcmp(type, PROTO_T_JOB) == 0) {
		ret = proto_job_decode(rec, &x.job, peer);
		proto_job_clear(&x.job);
	}
	return ret;
}

static void
test_refused(void)
{
	struct ipc_rec *rec;
	char peer[16];
	size_t i;
	int ret;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(peer, sizeof(peer), "peer%zu", i);
		if (ipc_rec_decode(bad[i].in, strlen(bad[i].in), &rec) < 0) {
			ok(false, "bad[%zu]: not even a record", i);
			continue;
		}
		ret = decode_as(rec, peer, strcmp(ipc_rec_type(rec), PROTO_T_IDLE) == 0);
		ok(ret == -1, "bad[%zu] refused: got %d, want -1", i, ret);
		ok(strstr(last_log(), bad[i].want_log) != NULL &&
		    strstr(last_log(), peer) != NULL,
		    "bad[%zu] logged: got \"%s\", want \"%s\" from %s", i, last_log(),
		    bad[i].want_log, peer);
		ipc_rec_free(&rec);
	}
}

/* test_held - the customer's list and actions (issue 11): round trips, refusals */
static void
test_held(void)
{
	static const char id[] = "0123456789ABCDEF0123";
	struct ipc_rec *rec;

	{
		struct proto_heldlist a = { .domain = "site.example", .user = "demo",
			.after = id, .limit = 51 }, b;

		rec = wire(proto_heldlist_encode(&a));
		ok(rec != NULL && proto_heldlist_decode(rec, &b, "t") == 0 &&
		    same(a.domain, b.domain) && same(a.user, b.user) &&
		    same(a.after, b.after) && b.before == NULL && b.limit == 51,
		    "heldlist round trip");
		ipc_rec_free(&rec);
		a = (struct proto_heldlist){ .domain = "site.example", .user = "demo",
			.before = id, .limit = 1 };
		rec = wire(proto_heldlist_encode(&a));
		ok(rec != NULL && proto_heldlist_decode(rec, &b, "t") == 0 &&
		    same(a.before, b.before) && b.after == NULL,
		    "heldlist before= round trip");
		ipc_rec_free(&rec);
	}
	{
		struct proto_held a = { .id = id, .domain = "site.example",
			.sender = "", .size = 512, .arrival = 1700000000,
			.expiry = 1700432000, .nrcpt = 2, .subject = "=?utf-8?q?x?= <b>" }, b;

		rec = wire(proto_held_encode(&a));
		ok(rec != NULL && proto_held_decode(rec, &b, "t") == 0 && same(a.id, b.id) &&
		    same(a.sender, b.sender) && b.size == 512 && b.arrival == a.arrival &&
		    b.expiry == a.expiry && b.nrcpt == 2 && same(a.subject, b.subject),
		    "held round trip");
		ipc_rec_free(&rec);
	}
	{
		struct proto_heldact a = { .id = id, .domain = "site.example",
			.user = "demo", .client = "192.0.2.1",
			.action = PROTO_ACTION_BOUNCE }, b;

		rec = wire(proto_heldact_encode(&a));
		ok(rec != NULL && proto_heldact_decode(rec, &b, "t") == 0 && same(a.id, b.id) &&
		    same(a.action, b.action) && same(a.client, b.client),
		    "heldact round trip");
		ipc_rec_free(&rec);
	}
	/* Refused: a limit of 0 or past the page, a bad cursor, both cursors, a bad action or ID. */
	{
		static const struct {
			struct proto_heldlist l;
			const char *why;
		} refused[] = {
			{ { "site.example", "demo", NULL, NULL, 0 }, "limit 0" },
			{ { "site.example", "demo", NULL, NULL, PROTO_HELD_PAGE_MAX + 1 },
			    "limit past the page" },
			{ { "site.example", "demo", "../x", NULL, 5 }, "after not an ID" },
			{ { "site.example", "demo", NULL, "x", 5 }, "before not an ID" },
			{ { "site.example", "demo", id, id, 5 }, "after and before" },
		};
		struct proto_heldlist b;
		size_t i;

		for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
			rec = wire(proto_heldlist_encode(&refused[i].l));
			ok(rec != NULL && proto_heldlist_decode(rec, &b, "t") == -1 &&
			    b.domain == NULL, "heldlist refused: %s", refused[i].why);
			ipc_rec_free(&rec);
		}
	}
	{
		struct proto_heldact a = { .id = id, .domain = "site.example",
			.user = "demo", .action = "purge" }, b;

		rec = wire(proto_heldact_encode(&a));
		ok(rec != NULL && proto_heldact_decode(rec, &b, "t") == -1 && b.id == NULL,
		    "heldact refused: unknown action");
		ipc_rec_free(&rec);
		a.action = PROTO_ACTION_DELETE;
		a.id = "not-an-id";
		rec = wire(proto_heldact_encode(&a));
		ok(rec != NULL && proto_heldact_decode(rec, &b, "t") == -1,
		    "heldact refused: not a queue ID");
		ipc_rec_free(&rec);
	}
}

int
main(void)
{
	int fd = mkstemp(logpath);

	if (fd < 0)
		return 99;
	close(fd);
	log_init("proto_test");
	if (log_set_dest(LOG_DEST_FILE, logpath) < 0)
		return 99;
	test_words();
	test_round_trips();
	test_refused();
	test_held();
	unlink(logpath);
	return tap_done();
}
