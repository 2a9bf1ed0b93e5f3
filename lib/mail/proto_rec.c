/*
 * proto_rec - the words of lib/mail/proto.h and each record's codec: one
 * table of fields per record, read by one encoder and one decoder.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* lib/util */
#include "util/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/proto_rec.h"
#include "mail/queue.h"

static const char *const proto_status_words[PROTO_STATUS_N] = {
	[PROTO_STATUS_OK] = "ok",
	[PROTO_STATUS_NONE] = "none",
	[PROTO_STATUS_DENIED] = "denied",
	[PROTO_STATUS_UNKNOWN] = "unknown",
	[PROTO_STATUS_BUSY] = "busy",
	[PROTO_STATUS_ERROR] = "error",
};

static const char *const proto_source_words[PROTO_SOURCE_N] = {
	[PROTO_SOURCE_ETRN] = "etrn",
	[PROTO_SOURCE_FINGER] = "finger",
	[PROTO_SOURCE_WEB] = "web",
	[PROTO_SOURCE_PROBE] = "probe",
	[PROTO_SOURCE_ATRN] = "atrn",
	[PROTO_SOURCE_CLI] = "cli",
	[PROTO_SOURCE_PEER] = "peer",
};

static const char *const proto_gate_words[PROTO_GATE_N] = {
	[PROTO_GATE_HELD] = "held",
	[PROTO_GATE_OPEN] = "open",
	[PROTO_GATE_BACKUP] = "backup",
	[PROTO_GATE_RELAY] = "relay",
};

static const char *const proto_result_words[PROTO_RESULT_N] = {
	[PROTO_RESULT_SENT] = "sent",
	[PROTO_RESULT_DEFERRED] = "deferred",
	[PROTO_RESULT_BOUNCED] = "bounced",
};

/* proto_word - words[i], or a panic: an enum out of range is our bug */
static const char *
proto_word(const char *const *words, size_t n, unsigned i)
{
	if (i >= n || words[i] == NULL)
		log_panic("proto: word %u out of range", i);
	return words[i];
}

/* proto_word_find - the index of word in words; -1 for any other */
static int
proto_word_find(const char *const *words, size_t n, const char *word)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(words[i], word) == 0)
			return (int)i;
	return -1;
}

#define PROTO_WORDS(kind, type, words) \
	const char * \
	proto_##kind##_name(type v) \
	{ \
		return proto_word(words, sizeof(words) / sizeof(words[0]), v); \
	} \
	bool \
	proto_##kind##_parse(const char *word, type *v_r) \
	{ \
		int i = proto_word_find(words, sizeof(words) / sizeof(words[0]), word); \
		if (i < 0) \
			return false; \
		*v_r = (type)i; \
		return true; \
	}
PROTO_WORDS(status, enum proto_status, proto_status_words)
PROTO_WORDS(source, enum proto_source, proto_source_words)
PROTO_WORDS(gate, enum proto_gate, proto_gate_words)
PROTO_WORDS(result, enum proto_result, proto_result_words)
#undef PROTO_WORDS

/* How a field's value travels and where it lives in the record's struct. */
enum proto_kind {
	PROTO_K_STR,		/* const char *; NULL: absent */
	PROTO_K_NUM,		/* uint64_t, a decimal */
	PROTO_K_FLAG,		/* bool, "1" (written only when true) or "0" */
	PROTO_K_STATUS,		/* enum proto_status */
	PROTO_K_SOURCE,		/* enum proto_source */
	PROTO_K_GATE,		/* enum proto_gate */
	PROTO_K_RESULT,		/* enum proto_result */
};

#define PROTO_OPT	0x1	/* may be absent */
#define PROTO_IF_OK	0x2	/* present exactly when status=ok */

struct proto_field {
	const char *name;
	enum proto_kind kind;
	size_t off;
	unsigned flags;
};

struct proto_desc {
	const char *type;
	const struct proto_field *f;
	size_t n;
	size_t status_off;	/* of the status a PROTO_IF_OK field follows */
};

#define F(st, fname, field, kind, flags) \
	{ PROTO_F_##fname, PROTO_K_##kind, offsetof(struct st, field), flags }
#define DESC(name, type, fields) \
	static const struct proto_desc name = { type, fields, \
	    sizeof(fields) / sizeof(fields[0]), 0 }

static const struct proto_field queued_f[] = {
	F(proto_queued, ID, id, STR, 0),
};
DESC(queued_d, PROTO_T_QUEUED, queued_f);

static const struct proto_field trigger_f[] = {
	F(proto_trigger, DOMAIN, domain, STR, PROTO_OPT),
	F(proto_trigger, GROUP, group, STR, PROTO_OPT),
	F(proto_trigger, SUBDOMAINS, subdomains, FLAG, PROTO_OPT),
	F(proto_trigger, SOURCE, source, SOURCE, 0),
	F(proto_trigger, CLIENT, client, STR, PROTO_OPT),
	F(proto_trigger, USER, user, STR, PROTO_OPT),
	F(proto_trigger, ALL, all, FLAG, PROTO_OPT),
};
DESC(trigger_d, PROTO_T_TRIGGER, trigger_f);

static const struct proto_field triggered_f[] = {
	F(proto_triggered, STATUS, status, STATUS, 0),
	F(proto_triggered, PENDING, pending, NUM, 0),
	F(proto_triggered, DOMAINS, domains, NUM, 0),
	F(proto_triggered, REASON, reason, STR, PROTO_OPT),
};
DESC(triggered_d, PROTO_T_TRIGGERED, triggered_f);

static const struct proto_field domainstatus_req_f[] = {
	F(proto_domainstatus_req, DOMAIN, domain, STR, 0),
	F(proto_domainstatus_req, POLICY, policy, FLAG, PROTO_OPT),
	F(proto_domainstatus_req, SOURCE, source, SOURCE, PROTO_OPT),
	F(proto_domainstatus_req, CLIENT, client, STR, PROTO_OPT),
};
DESC(domainstatus_req_d, PROTO_T_DOMAINSTATUS, domainstatus_req_f);

static const struct proto_field domainstatus_f[] = {
	F(proto_domainstatus, STATUS, status, STATUS, 0),
	F(proto_domainstatus, DOMAIN, domain, STR, PROTO_OPT),
	F(proto_domainstatus, PENDING, pending, NUM, PROTO_IF_OK),
	F(proto_domainstatus, BYTES, bytes, NUM, PROTO_IF_OK),
	F(proto_domainstatus, OLDEST, oldest, NUM, PROTO_IF_OK),
	F(proto_domainstatus, NEXT_EXPIRY, next_expiry, NUM, PROTO_IF_OK),
	F(proto_domainstatus, GATE, gate, GATE, PROTO_IF_OK),
	F(proto_domainstatus, OPEN_UNTIL, open_until, NUM, PROTO_IF_OK),
	F(proto_domainstatus, OPENED_BY, opened_by, STR, PROTO_IF_OK),
	F(proto_domainstatus, DELIVERED, delivered, NUM, PROTO_IF_OK),
	F(proto_domainstatus, IN_FLIGHT, in_flight, NUM, PROTO_IF_OK),
	F(proto_domainstatus, FINISHED, finished, NUM, PROTO_IF_OK),
	F(proto_domainstatus, FAILING, failing, STR, PROTO_OPT),
	F(proto_domainstatus, FAILING_AT, failing_at, NUM, PROTO_IF_OK),
	F(proto_domainstatus, NEXT_PROBE, next_probe, NUM, PROTO_IF_OK),
	F(proto_domainstatus, ROUTE, route, STR, PROTO_OPT),
	F(proto_domainstatus, SENT, sent, NUM, PROTO_IF_OK),
	F(proto_domainstatus, NEXT_TRY, next_try, NUM, PROTO_IF_OK),
	F(proto_domainstatus, MAX_MESSAGES, max_messages, NUM, PROTO_IF_OK),
	F(proto_domainstatus, MAX_BYTES, max_bytes, NUM, PROTO_IF_OK),
};
static const struct proto_desc domainstatus_d = { PROTO_T_DOMAINSTATUS,
	domainstatus_f, sizeof(domainstatus_f) / sizeof(domainstatus_f[0]),
	offsetof(struct proto_domainstatus, status) };

static const struct proto_field gateclose_f[] = {
	F(proto_gateclose, DOMAIN, domain, STR, 0),
	F(proto_gateclose, SOURCE, source, SOURCE, 0),
	F(proto_gateclose, CLIENT, client, STR, PROTO_OPT),
	F(proto_gateclose, USER, user, STR, PROTO_OPT),
};
DESC(gateclose_d, PROTO_T_GATECLOSE, gateclose_f);

static const struct proto_field reply_f[] = {
	F(proto_reply, STATUS, status, STATUS, 0),
	F(proto_reply, REASON, reason, STR, PROTO_OPT),
};

static const struct proto_field probe_f[] = {
	F(proto_probe, DOMAIN, domain, STR, 0),
	F(proto_probe, PENDING, pending, NUM, 0),
	F(proto_probe, ARRIVALS, arrivals, NUM, 0),
};
DESC(probe_d, PROTO_T_PROBE, probe_f);

static const struct proto_field probed_f[] = {
	F(proto_probed, DOMAIN, domain, STR, 0),
	F(proto_probed, NEXT_PROBE, next_probe, NUM, 0),
};
DESC(probed_d, PROTO_T_PROBED, probed_f);

static const struct proto_field hello_f[] = {
	F(proto_hello, SLOTS, slots, NUM, 0),
	F(proto_hello, BIND, bind, STR, PROTO_OPT),
	F(proto_hello, USER, user, STR, PROTO_OPT),
	F(proto_hello, MAILDROP, maildrop, FLAG, PROTO_OPT),
};
DESC(hello_d, PROTO_T_HELLO, hello_f);

static const struct proto_field busy_f[] = {
	F(proto_busy, DOMAIN, domain, STR, 0),
	F(proto_busy, REASON, reason, STR, 0),
};
DESC(busy_d, PROTO_T_BUSY, busy_f);

static const struct proto_field rcpt_f[] = {
	F(proto_rcpt, JOB, job, NUM, 0),
	F(proto_rcpt, IDX, idx, NUM, 0),
	F(proto_rcpt, STATUS, status, RESULT, 0),
	F(proto_rcpt, DSN, dsn, STR, 0),
	F(proto_rcpt, RELAY, relay, STR, 0),
	F(proto_rcpt, REPLY, reply, STR, 0),
};
DESC(rcpt_d, PROTO_T_RCPT, rcpt_f);

static const struct proto_field done_f[] = {
	F(proto_done, JOB, job, NUM, 0),
	F(proto_done, CONN_ERROR, conn_error, STR, PROTO_OPT),
	F(proto_done, COMPLETE, complete, FLAG, PROTO_OPT),
};
DESC(done_d, PROTO_T_DONE, done_f);

static const struct proto_field collect_f[] = {
	F(proto_collect, ID, id, STR, 0),
	F(proto_collect, IDX, idx, NUM, 0),
};
DESC(collect_d, PROTO_T_COLLECT, collect_f);
static const struct proto_field heldlist_f[] = {
	F(proto_heldlist, DOMAIN, domain, STR, 0),
	F(proto_heldlist, USER, user, STR, 0),
	F(proto_heldlist, AFTER, after, STR, PROTO_OPT),
	F(proto_heldlist, LIMIT, limit, NUM, 0),
	F(proto_heldlist, BEFORE, before, STR, PROTO_OPT),
};
DESC(heldlist_d, PROTO_T_HELDLIST, heldlist_f);

static const struct proto_field held_f[] = {
	F(proto_held, ID, id, STR, 0),
	F(proto_held, DOMAIN, domain, STR, 0),
	F(proto_held, SENDER, sender, STR, 0),
	F(proto_held, SIZE, size, NUM, 0),
	F(proto_held, ARRIVAL, arrival, NUM, 0),
	F(proto_held, EXPIRY, expiry, NUM, 0),
	F(proto_held, NRCPT, nrcpt, NUM, 0),
	F(proto_held, SUBJECT, subject, STR, PROTO_OPT),
};
DESC(held_d, PROTO_T_HELD, held_f);

static const struct proto_field heldact_f[] = {
	F(proto_heldact, ID, id, STR, 0),
	F(proto_heldact, DOMAIN, domain, STR, 0),
	F(proto_heldact, USER, user, STR, 0),
	F(proto_heldact, CLIENT, client, STR, PROTO_OPT),
	F(proto_heldact, ACTION, action, STR, 0),
};
DESC(heldact_d, PROTO_T_HELDACT, heldact_f);

/* The job's scalar fields; its rcpt=/idx= pairs are read by proto_job_decode. */
static const struct proto_field job_f[] = {
	F(proto_job, JOB, job, NUM, 0),
	F(proto_job, ID, id, STR, 0),
	F(proto_job, DOMAIN, domain, STR, 0),
	F(proto_job, SENDER, sender, STR, 0),
	F(proto_job, SIZE, size, NUM, 0),
	F(proto_job, ROUTE, route, STR, 0),
	F(proto_job, TLS, tls, STR, PROTO_OPT),
};
DESC(job_d, PROTO_T_JOB, job_f);
#undef F
#undef DESC

_Static_assert(sizeof(domainstatus_f) / sizeof(domainstatus_f[0]) <= 32,
    "a record's fields fit the seen mask");

/* proto_ok - is the status a PROTO_IF_OK field follows "ok"? */
static bool
proto_ok(const struct proto_desc *d, const void *x)
{
	const enum proto_status *st = (const void *)((const char *)x + d->status_off);

	return *st == PROTO_STATUS_OK;
}

/* proto_encode_field - add one field of x to rec, unless it is left out */
static void
proto_encode_field(struct ipc_rec *rec, const struct proto_desc *d,
    const struct proto_field *f, const void *x)
{
	const void *p = (const char *)x + f->off;

	if ((f->flags & PROTO_IF_OK) && !proto_ok(d, x))
		return;
	switch (f->kind) {
	case PROTO_K_STR:
		if (*(const char *const *)p != NULL)
			ipc_rec_add(rec, f->name, *(const char *const *)p);
		else if (!(f->flags & PROTO_OPT))
			log_panic("encode %s record: no %s", d->type, f->name);
		break;
	case PROTO_K_NUM:
		ipc_rec_addf(rec, f->name, "%llu",
		    (unsigned long long)*(const uint64_t *)p);
		break;
	case PROTO_K_FLAG:
		if (*(const bool *)p)
			ipc_rec_add(rec, f->name, "1");
		break;
	case PROTO_K_STATUS:
		ipc_rec_add(rec, f->name, proto_status_name(*(const enum proto_status *)p));
		break;
	case PROTO_K_SOURCE:
		ipc_rec_add(rec, f->name, proto_source_name(*(const enum proto_source *)p));
		break;
	case PROTO_K_GATE:
		ipc_rec_add(rec, f->name, proto_gate_name(*(const enum proto_gate *)p));
		break;
	case PROTO_K_RESULT:
		ipc_rec_add(rec, f->name, proto_result_name(*(const enum proto_result *)p));
		break;
	}
}

/* proto_encode - a new record of type with every field of d from x */
static struct ipc_rec *
proto_encode(const struct proto_desc *d, const char *type, const void *x)
{
	struct ipc_rec *rec = ipc_rec_new(type);
	size_t i;

	for (i = 0; i < d->n; i++)
		proto_encode_field(rec, d, &d->f[i], x);
	return rec;
}

/* proto_num - a decimal without sign or spaces, as ipc_rec_get_num reads */
static bool
proto_num(const char *s, uint64_t *v_r)
{
	uint64_t v = 0;

	if (*s == '\0')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*v_r = v;
	return *s == '\0';
}

/* proto_decode_field - store value into x's field f; false if it is bad */
static bool
proto_decode_field(const struct proto_field *f, const char *value, void *x)
{
	void *p = (char *)x + f->off;

	switch (f->kind) {
	case PROTO_K_STR:
		*(const char **)p = value;
		return true;
	case PROTO_K_NUM:
		return proto_num(value, p);
	case PROTO_K_FLAG:
		if (strcmp(value, "1") != 0 && strcmp(value, "0") != 0)
			return false;
		*(bool *)p = value[0] == '1';
		return true;
	case PROTO_K_STATUS:
		return proto_status_parse(value, p);
	case PROTO_K_SOURCE:
		return proto_source_parse(value, p);
	case PROTO_K_GATE:
		return proto_gate_parse(value, p);
	case PROTO_K_RESULT:
		return proto_result_parse(value, p);
	}
	return false;
}

/* proto_bad - log why peer's record is refused; -1 */
static int
proto_bad(const char *peer, const char *type, const char *what, const char *name)
{
	log_warn("refuse %s record from %s: %s %s", type, peer != NULL ? peer : "peer",
	    what, name);
	return -1;
}

/* proto_find - the field of d named name, or NULL */
static const struct proto_field *
proto_find(const struct proto_desc *d, const char *name, size_t *i_r)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->f[i].name, name) == 0) {
			*i_r = i;
			return &d->f[i];
		}
	return NULL;
}

/*
 * proto_decode_one - one field of a record into x; seen records which
 * fields were; 0, or -1 (logged) for an unknown, repeated or bad field.
 */
static int
proto_decode_one(const struct proto_desc *d, const struct ipc_field *fld, void *x,
    uint32_t *seen, const char *peer)
{
	const struct proto_field *f;
	size_t i;

	if ((f = proto_find(d, fld->name, &i)) == NULL)
		return proto_bad(peer, d->type, "unknown field", fld->name);
	if (*seen & (UINT32_C(1) << i))
		return proto_bad(peer, d->type, "repeated field", fld->name);
	*seen |= UINT32_C(1) << i;
	if (!proto_decode_field(f, fld->value, x))
		return proto_bad(peer, d->type, "bad value of", fld->name);
	return 0;
}

/* proto_decode_check - are the fields x needs all there? 0, or -1 (logged) */
static int
proto_decode_check(const struct proto_desc *d, const void *x, uint32_t seen,
    const char *peer)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		bool want = (d->f[i].flags & PROTO_IF_OK) ? proto_ok(d, x) :
		    !(d->f[i].flags & PROTO_OPT);
		bool got = (seen & (UINT32_C(1) << i)) != 0;

		if (want && !got)
			return proto_bad(peer, d->type, "missing field", d->f[i].name);
		if (!want && got && (d->f[i].flags & PROTO_IF_OK))
			return proto_bad(peer, d->type, "field without status=ok",
			    d->f[i].name);
	}
	return 0;
}

/* proto_decode - rec, of type, into x (zeroed first); 0/-1 (logged) */
static int
proto_decode(const struct proto_desc *d, const char *type, const struct ipc_rec *rec,
    void *x, size_t size, const char *peer)
{
	uint32_t seen = 0;
	size_t i;

	memset(x, 0, size);
	if (strcmp(ipc_rec_type(rec), type) != 0)
		return proto_bad(peer, type, "unexpected record", ipc_rec_type(rec));
	for (i = 1; i < rec->n; i++)
		if (proto_decode_one(d, &rec->f[i], x, &seen, peer) < 0)
			goto fail;
	if (proto_decode_check(d, x, seen, peer) == 0)
		return 0;
fail:
	memset(x, 0, size);
	return -1;
}

#define PROTO_CODEC(name) \
	struct ipc_rec * \
	proto_##name##_encode(const struct proto_##name *x) \
	{ \
		return proto_encode(&name##_d, name##_d.type, x); \
	} \
	static int \
	proto_##name##_decode_fields(const struct ipc_rec *rec, \
	    struct proto_##name *x, const char *peer) \
	{ \
		return proto_decode(&name##_d, name##_d.type, rec, x, sizeof(*x), peer); \
	}
PROTO_CODEC(queued)
PROTO_CODEC(trigger)
PROTO_CODEC(triggered)
PROTO_CODEC(domainstatus_req)
PROTO_CODEC(domainstatus)
PROTO_CODEC(gateclose)
PROTO_CODEC(probe)
PROTO_CODEC(probed)
PROTO_CODEC(hello)
PROTO_CODEC(busy)
PROTO_CODEC(rcpt)
PROTO_CODEC(done)
PROTO_CODEC(collect)
PROTO_CODEC(heldlist)
PROTO_CODEC(held)
PROTO_CODEC(heldact)
#undef PROTO_CODEC

/* Records whose table says all there is to check. */
#define PROTO_PLAIN(name) \
	int \
	proto_##name##_decode(const struct ipc_rec *rec, struct proto_##name *x, \
	    const char *peer) \
	{ \
		return proto_##name##_decode_fields(rec, x, peer); \
	}
PROTO_PLAIN(queued)
PROTO_PLAIN(triggered)
PROTO_PLAIN(domainstatus_req)
PROTO_PLAIN(domainstatus)
PROTO_PLAIN(gateclose)
PROTO_PLAIN(probe)
PROTO_PLAIN(probed)
PROTO_PLAIN(hello)
PROTO_PLAIN(busy)
PROTO_PLAIN(rcpt)
PROTO_PLAIN(done)
PROTO_PLAIN(collect)
PROTO_PLAIN(held)
#undef PROTO_PLAIN

int
proto_trigger_decode(const struct ipc_rec *rec, struct proto_trigger *x, const char *peer)
{
	if (proto_trigger_decode_fields(rec, x, peer) < 0)
		return -1;
	/* all=1 names every domain: then neither a domain nor a group. */
	if (x->all ? x->domain == NULL && x->group == NULL :
	    (x->domain == NULL) != (x->group == NULL))
		return 0;
	memset(x, 0, sizeof(*x));
	return proto_bad(peer, PROTO_T_TRIGGER, "want one of",
	    PROTO_F_DOMAIN ", " PROTO_F_GROUP " and " PROTO_F_ALL);
}

static const struct proto_desc reply_d = { "reply", reply_f,
	sizeof(reply_f) / sizeof(reply_f[0]), 0 };

struct ipc_rec *
proto_reply_encode(const char *type, const struct proto_reply *x)
{
	return proto_encode(&reply_d, type, x);
}

int
proto_reply_decode(const struct ipc_rec *rec, const char *type, struct proto_reply *x,
    const char *peer)
{
	struct proto_desc d = reply_d;

	d.type = type;
	return proto_decode(&d, type, rec, x, sizeof(*x), peer);
}

struct ipc_rec *
proto_idle_encode(void)
{
	return ipc_rec_new(PROTO_T_IDLE);
}

struct ipc_rec *
proto_job_encode(const struct proto_job *x)
{
	struct ipc_rec *rec = proto_encode(&job_d, job_d.type, x);
	size_t i;

	for (i = 0; i < x->nrcpt; i++) {
		ipc_rec_add(rec, PROTO_F_RCPT, x->rcpt[i].addr);
		ipc_rec_addf(rec, PROTO_F_IDX, "%llu", (unsigned long long)x->rcpt[i].idx);
	}
	return rec;
}

int
proto_job_decode(const struct ipc_rec *rec, struct proto_job *x, const char *peer)
{
	uint32_t seen = 0;
	size_t i;

	memset(x, 0, sizeof(*x));
	if (strcmp(ipc_rec_type(rec), PROTO_T_JOB) != 0)
		return proto_bad(peer, PROTO_T_JOB, "unexpected record", ipc_rec_type(rec));
	for (i = 1; i < rec->n; i++) {
		const struct ipc_field *f = &rec->f[i];

		if (strcmp(f->name, PROTO_F_IDX) == 0)
			goto bad;
		if (strcmp(f->name, PROTO_F_RCPT) != 0) {
			if (proto_decode_one(&job_d, f, x, &seen, peer) < 0)
				goto fail;
			continue;
		}
		/* rcpt=ADDR idx=I, always as a pair. */
		if (i + 1 == rec->n || strcmp(rec->f[i + 1].name, PROTO_F_IDX) != 0)
			goto bad;
		x->rcpt = xreallocarray(x->rcpt, x->nrcpt + 1, sizeof(*x->rcpt));
		x->rcpt[x->nrcpt].addr = f->value;
		if (!proto_num(rec->f[++i].value, &x->rcpt[x->nrcpt].idx))
			goto bad;
		x->nrcpt++;
	}
	if (x->nrcpt == 0)
		goto bad;
	if (proto_decode_check(&job_d, x, seen, peer) == 0)
		return 0;
	goto fail;
bad:
	proto_bad(peer, PROTO_T_JOB, "bad pair", PROTO_F_RCPT " and " PROTO_F_IDX);
fail:
	proto_job_clear(x);
	memset(x, 0, sizeof(*x));
	return -1;
}

bool
proto_job_ok(const struct ipc_rec *rec, const char *peer)
{
	struct proto_job x;

	if (proto_job_decode(rec, &x, peer) < 0)
		return false;
	proto_job_clear(&x);
	return true;
}

void
proto_job_clear(struct proto_job *x)
{
	free(x->rcpt);
	x->rcpt = NULL;
	x->nrcpt = 0;
}

void
proto_utc(time_t t, bool short_form, char *buf, size_t size)
{
	struct tm tm;
	size_t n = 0;

	/* A stored time may be absurd; gmtime_r fails only past year 2^31. */
	if (gmtime_r(&t, &tm) != NULL)
		n = short_form ? strftime(buf, size, "%H:%M", &tm) :
		    strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
	if (n == 0)
		snprintf(buf, size, "?");
}

void
proto_delivery_text(const struct proto_delivery *d, time_t now, char *buf, size_t size)
{
	char when[40];

	if (d->unknown) {
		snprintf(buf, size, "%s", PROTO_D_UNKNOWN);
	} else if (d->pending + d->in_flight > 0 && d->failing != NULL &&
	    d->failing[0] != '\0') {
		/* Until a delivery gets through, a retry under way is still failing. */
		proto_utc(d->failing_at, true, when, sizeof(when));
		snprintf(buf, size, "%s %s, %s", PROTO_D_FAILING, d->failing, when);
	} else if (d->in_flight > 0) {
		snprintf(buf, size, "%s", PROTO_D_PROGRESS);
	} else if (d->pending > 0) {
		snprintf(buf, size, "%s", d->open ? PROTO_D_PROGRESS : PROTO_D_WAITING);
	} else {
		/* Nothing was released (or the domain is none of ours): done as of now. */
		proto_utc(d->finished != 0 ? d->finished : now, false, when, sizeof(when));
		snprintf(buf, size, "%s %s", PROTO_D_FINISHED, when);
	}
}

/* Records with checks beyond their table: a queue ID, a bound, a word. */
int
proto_heldlist_decode(const struct ipc_rec *rec, struct proto_heldlist *x,
    const char *peer)
{
	if (proto_heldlist_decode_fields(rec, x, peer) < 0)
		return -1;
	if (x->limit == 0 || x->limit > PROTO_HELD_PAGE_MAX) {
		memset(x, 0, sizeof(*x));
		return proto_bad(peer, PROTO_T_HELDLIST, "limit out of range", PROTO_F_LIMIT);
	}
	if (x->after != NULL && *x->after != '\0' && !queue_id_ok(x->after)) {
		memset(x, 0, sizeof(*x));
		return proto_bad(peer, PROTO_T_HELDLIST, "not a queue ID", PROTO_F_AFTER);
	}
	if (x->before != NULL && (!queue_id_ok(x->before) || x->after != NULL)) {
		memset(x, 0, sizeof(*x));
		return proto_bad(peer, PROTO_T_HELDLIST, "not a queue ID, or with after",
		    PROTO_F_BEFORE);
	}
	return 0;
}

int
proto_heldact_decode(const struct ipc_rec *rec, struct proto_heldact *x,
    const char *peer)
{
	if (proto_heldact_decode_fields(rec, x, peer) < 0)
		return -1;
	if (!queue_id_ok(x->id)) {
		memset(x, 0, sizeof(*x));
		return proto_bad(peer, PROTO_T_HELDACT, "not a queue ID", PROTO_F_ID);
	}
	if (strcmp(x->action, PROTO_ACTION_DELETE) != 0 &&
	    strcmp(x->action, PROTO_ACTION_BOUNCE) != 0) {
		memset(x, 0, sizeof(*x));
		return proto_bad(peer, PROTO_T_HELDACT, "unknown action", PROTO_F_ACTION);
	}
	return 0;
}
