/*
 * odmr_client_turn - after ATRN: the SMTP server the held mail comes to
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* lib/util */
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/odmr_client_int.h"
#include "mail/smtp_cmd.h"

/* Recipients in one transaction (Postfix's smtpd_recipient_limit). */
#define OC_RCPT_MAX	1000
/* Commands that move no mail (NOOP, HELO, RSET, errors) between two messages. */
#define OC_JUNK_MAX	100
/* Content is written to the MTA in pieces of this size. */
#define OC_OUT_SIZE	16384

/* One recipient: its final answer (code 0: none yet). */
struct oc_rcpt {
	char *addr;
	int code;
	char *reply;		/* what the MTA (or we) said, one line */
	bool accepted;		/* RCPT answered 250: the "." answers it */
	int answered;		/* the code the server got for it */
};

/* The transaction in progress, and the failure that sticks to it. */
struct oc_xact {
	bool open;		/* MAIL answered 250 */
	char *sender;
	struct oc_rcpt *rcpts;
	size_t nrcpt, naccepted;
	uint64_t size;
	time_t start;
	char *sticky;		/* MAIL's failure: every later RCPT and DATA get it */
};

struct oc_turn {
	struct oc_session *ss;
	struct oc_conn *c;	/* the server's connection, now our client */
	bool greeted;
	bool quit;
	unsigned errors, junk;
	struct oc_xact x;
	uint64_t max_size;
	char size_kw[32];	/* "SIZE N" for EHLO */
	char out[OC_OUT_SIZE];
	size_t nout;
};

/* oc_reply - send one reply line to the server; 0/-1 */
static int
oc_reply(struct oc_turn *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
oc_reply(struct oc_turn *t, const char *fmt, ...)
{
	char line[OC_REPLY_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return oc_printf(t->c, "%s", line);
}

/* oc_mta_lost - the MTA connection is gone or lied: drop it, say why */
static void
oc_mta_lost(struct oc_turn *t, char *why, size_t size)
{
	struct oc_session *ss = t->ss;

	snprintf(why, size, OC_R_MTA_DOWN,
	    ss->mta != NULL ? ss->mta->err : "not connected");
	oc_log(ss, "atrn: %s", why + 4);
	oc_conn_free(&ss->mta);
}

/*
 * oc_mta_cmd - one command to the MTA, and its answer as the reply to
 * relay (into rep, one line): the MTA's own, or a 451 when it is gone, its
 * reply is out of protocol (a class not in classes) or says 421.
 * Returns the reply's code.
 */
static int
oc_mta_cmd(struct oc_turn *t, const char *line, unsigned classes,
    char *out, size_t size)
{
	struct oc_session *ss = t->ss;
	struct oc_reply rep;
	char flat[OC_REPLY_MAX];

	if (ss->mta == NULL) {
		oc_mta_lost(t, out, size);
		return 451;
	}
	if ((line != NULL ? oc_command(ss->mta, line, &rep) :
	    oc_reply_read(ss->mta, &rep)) < 0) {
		oc_mta_lost(t, out, size);
		return 451;
	}
	oc_reply_flat(&rep, flat, sizeof(flat));
	if ((classes & (1u << (rep.code / 100))) == 0 || rep.code == 421) {
		snprintf(ss->mta->err, sizeof(ss->mta->err), "%s%.200s",
		    rep.code == 421 ? "" : "protocol error: ", flat);
		oc_mta_lost(t, out, size);
		return 451;
	}
	snprintf(out, size, "%.400s", flat);
	return rep.code;
}

#define OC_CLASS(n)	(1u << (n))

/* oc_dsn - the enhanced status code at reply+4, or class.0.0 */
static void
oc_dsn(const char *reply, char *dsn, size_t size)
{
	const char *p = reply + (strlen(reply) > 4 ? 4 : strlen(reply));
	size_t n = strspn(p, "0123456789.");

	if (n >= 5 && n < size && p[0] == reply[0] && p[1] == '.')
		snprintf(dsn, size, "%.*s", (int)n, p);
	else
		snprintf(dsn, size, "%c.0.0", reply[0] != '\0' ? reply[0] : '4');
}

/* The statuses of a recipient's line, by reply class. */
static const char *const oc_status[] = {
	[2] = "sent", [4] = "deferred", [5] = "bounced",
};

/* oc_xact_end - log and count each answered recipient; forget the transaction */
static void
oc_xact_end(struct oc_turn *t)
{
	struct oc_session *ss = t->ss;
	struct oc_xact *x = &t->x;
	char dsn[16];
	size_t i;
	int cls;

	for (i = 0; i < x->nrcpt; i++) {
		struct oc_rcpt *r = &x->rcpts[i];

		cls = r->code / 100;
		if (cls == 2 || cls == 4 || cls == 5) {
			oc_dsn(r->reply, dsn, sizeof(dsn));
			oc_log(ss, "from=<%s>, to=<%s>, relay=%s, size=%llu, "
			    "delay=%lld, dsn=%s, status=%s (%s)", x->sender != NULL
			    ? x->sender : "", r->addr, ss->mta_relay,
			    (unsigned long long)x->size,
			    (long long)(time(NULL) - x->start), dsn, oc_status[cls],
			    r->reply);
			/* Counted as the server was answered: that is what it keeps. */
			cls = r->answered / 100;
			*(cls == 2 ? &ss->r->recipients : cls == 4 ?
			    &ss->r->deferred : &ss->r->refused) += 1;
		}
		free(r->addr);
		free(r->reply);
	}
	free(x->rcpts);
	free(x->sender);
	free(x->sticky);
	memset(x, 0, sizeof(*x));
}

/* oc_xact_rset - end the transaction, and the MTA's too */
static void
oc_xact_rset(struct oc_turn *t)
{
	char out[OC_REPLY_MAX];

	if (t->x.open && t->ss->mta != NULL &&
	    oc_mta_cmd(t, "RSET", OC_CLASS(2), out, sizeof(out)) / 100 != 2)
		oc_conn_free(&t->ss->mta);
	oc_xact_end(t);
}

/* oc_rcpt_add - a recipient with its answer (code 0: accepted, pending) */
static void
oc_rcpt_add(struct oc_turn *t, const char *addr, int code, const char *reply)
{
	struct oc_xact *x = &t->x;

	x->rcpts = xreallocarray(x->rcpts, x->nrcpt + 1, sizeof(*x->rcpts));
	x->rcpts[x->nrcpt].addr = xstrdup(addr);
	x->rcpts[x->nrcpt].code = code;
	x->rcpts[x->nrcpt].reply = xstrdup(reply);
	x->rcpts[x->nrcpt].accepted = code == 0;
	x->rcpts[x->nrcpt].answered = code;
	x->nrcpt++;
}

/* Replies to a command that fails our own grammar, by smtp_cmd's verdict. */
static const char *const oc_parse_replies[] = {
	[SMTP_PARSE_NUL] = OC_R_NUL_CMD,
	[SMTP_PARSE_SYNTAX] = OC_R_SYNTAX,
	[SMTP_PARSE_PATH] = OC_R_BAD_PATH,
	[SMTP_PARSE_PARAM_UNKNOWN] = OC_R_PARAM_UNKNOWN,
	[SMTP_PARSE_PARAM_DUP] = OC_R_PARAM_DUP,
	[SMTP_PARSE_PARAM_BAD] = OC_R_PARAM_BAD,
	[SMTP_PARSE_8BIT] = OC_R_8BIT_ADDR,
};

typedef int oc_verb_fn(struct oc_turn *t, const char *arg);

/* oc_ehlo_cmd - EHLO/HELO: resets the transaction (RFC 5321 4.1.4) */
static int
oc_ehlo_reply(struct oc_turn *t, bool ehlo)
{
	struct oc_session *ss = t->ss;

	oc_xact_rset(t);
	t->greeted = true;
	t->junk++;
	if (!ehlo)
		return oc_reply(t, OC_R_HELO, ss->helo);
	/* 8BITMIME only when the MTA takes it: we pass content unchanged. */
	return oc_reply(t, OC_R_EHLO_LINE, ss->helo) < 0 ||
	    oc_reply(t, OC_R_EHLO_LINE, "PIPELINING") < 0 ||
	    ((ss->mta_ext & OC_EXT_8BITMIME) != 0 &&
	    oc_reply(t, OC_R_EHLO_LINE, "8BITMIME") < 0) ||
	    oc_reply(t, OC_R_EHLO_LAST, t->size_kw) < 0 ?
	    -1 : 0;
}

static int
oc_ehlo(struct oc_turn *t, const char *arg)
{
	(void)arg;
	return oc_ehlo_reply(t, true);
}

static int
oc_helo(struct oc_turn *t, const char *arg)
{
	(void)arg;
	return oc_ehlo_reply(t, false);
}

/* oc_mail - MAIL: relayed to the MTA (reconnected if it went away) */
static int
oc_mail(struct oc_turn *t, const char *arg)
{
	struct oc_session *ss = t->ss;
	struct smtp_mail_args m = { 0 };
	enum smtp_parse p;
	char line[SMTP_CMD_LINE_MAX + 64], out[OC_REPLY_MAX], err[300];
	int code;

	if (t->x.open) {
		t->errors++;
		return oc_reply(t, OC_R_NESTED_MAIL);
	}
	if ((p = smtp_parse_mail(arg, &m)) != SMTP_PARSE_OK) {
		t->junk++;
		return oc_reply(t, "%s", oc_parse_replies[p]);
	}
	/* What a failed MAIL left (its recipients' answers) is logged now. */
	oc_xact_end(t);
	t->x.sender = xstrdup(m.sender);
	t->x.start = time(NULL);
	if (m.size_given && m.size > t->max_size) {
		smtp_mail_args_clear(&m);
		t->x.sticky = xstrdup(OC_R_TOO_BIG);
		return oc_reply(t, "%s", t->x.sticky);
	}
	if (ss->mta == NULL && oc_mta_open(ss, err, sizeof(err)) < 0) {
		smtp_mail_args_clear(&m);
		snprintf(out, sizeof(out), OC_R_MTA_DOWN, err);
		oc_log(ss, "atrn: %s", out + 4);
		t->x.sticky = xstrdup(out);
		return oc_reply(t, "%s", out);
	}
	/*
	 * BODY= only where the MTA announced 8BITMIME; XXX DSN's RET, ENVID,
	 * NOTIFY and ORCPT are not passed on: the site's MTA is the last hop.
	 */
	snprintf(line, sizeof(line), "MAIL FROM:<%s>%s", m.sender,
	    m.body == SMTP_BODY_8BITMIME && (ss->mta_ext & OC_EXT_8BITMIME) ?
	    " BODY=8BITMIME" : "");
	smtp_mail_args_clear(&m);
	code = oc_mta_cmd(t, line, OC_CLASS(2) | OC_CLASS(4) | OC_CLASS(5), out,
	    sizeof(out));
	if (code / 100 != 2) {
		t->x.sticky = xstrdup(out);
		return oc_reply(t, "%s", out);
	}
	t->x.open = true;
	return oc_reply(t, OC_R_MAIL_OK);
}

/* oc_rcpt - RCPT: the MTA's answer for this recipient is ours */
static int
oc_rcpt(struct oc_turn *t, const char *arg)
{
	struct smtp_rcpt_args a = { 0 };
	enum smtp_parse p;
	char line[SMTP_CMD_LINE_MAX + 64], out[OC_REPLY_MAX];
	int code;

	if ((p = smtp_parse_rcpt(arg, &a)) != SMTP_PARSE_OK) {
		t->junk++;
		return oc_reply(t, "%s", oc_parse_replies[p]);
	}
	if (t->x.sticky != NULL) {
		/* MAIL failed: a pipelined RCPT gets the same answer. */
		oc_rcpt_add(t, a.addr, atoi(t->x.sticky), t->x.sticky);
		smtp_rcpt_args_clear(&a);
		return oc_reply(t, "%s", t->x.sticky);
	}
	if (t->x.nrcpt >= OC_RCPT_MAX) {
		smtp_rcpt_args_clear(&a);
		return oc_reply(t, OC_R_TOO_MANY_RCPTS);
	}
	snprintf(line, sizeof(line), "RCPT TO:<%s>", a.addr);
	code = oc_mta_cmd(t, line, OC_CLASS(2) | OC_CLASS(4) | OC_CLASS(5), out,
	    sizeof(out));
	oc_rcpt_add(t, a.addr, code / 100 == 2 ? 0 : code, out);
	smtp_rcpt_args_clear(&a);
	if (code / 100 == 2) {
		t->x.naccepted++;
		return oc_reply(t, OC_R_RCPT_OK);
	}
	if (t->ss->mta == NULL)
		t->x.sticky = xstrdup(out);
	return oc_reply(t, "%s", out);
}

/*
 * oc_final - the transaction's one answer: recipients still without one
 * get code and out as theirs; every recipient accepted at RCPT is counted
 * as answered code (LMTP: the MTA's own answer to each stays in the log).
 */
static void
oc_final(struct oc_turn *t, int code, const char *out)
{
	size_t i;

	for (i = 0; i < t->x.nrcpt; i++) {
		if (t->x.rcpts[i].code == 0) {
			t->x.rcpts[i].code = code;
			free(t->x.rcpts[i].reply);
			t->x.rcpts[i].reply = xstrdup(out);
		}
		if (t->x.rcpts[i].accepted)
			t->x.rcpts[i].answered = code;
	}
}

/* oc_out - queue content for the MTA, writing when the buffer fills; 0/-1 */
static int
oc_out(struct oc_turn *t, const char *p, size_t len)
{
	size_t n;

	while (len > 0) {
		if (t->nout == sizeof(t->out)) {
			if (t->ss->mta == NULL ||
			    oc_write(t->ss->mta, t->out, t->nout) < 0)
				return -1;
			t->nout = 0;
		}
		n = sizeof(t->out) - t->nout < len ? sizeof(t->out) - t->nout : len;
		memcpy(t->out + t->nout, p, n);
		t->nout += n;
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * oc_content - the message from the server to the MTA, to the final ".".
 * Lines go on still dot-stuffed (both sides use RFC 5321 4.5.2), each
 * ending in CRLF: a bare LF becomes CRLF, so "." alone on a line ending
 * in a bare LF ends the message here as it would at the MTA (no SMTP
 * smuggling through us). 0 when the "." came, -1 when the server went
 * away (the MTA is then dropped without a ".", so it keeps nothing).
 * *mta_ok_r: the MTA took every octet; *too_big_r: past max_size.
 */
static int
oc_content(struct oc_turn *t, bool *mta_ok_r, bool *too_big_r)
{
	const char *line;
	size_t len;
	bool bol = true, cr = false;
	int n;

	*mta_ok_r = t->ss->mta != NULL;
	*too_big_r = false;
	t->nout = 0;
	for (;;) {
		if ((n = oc_read_line(t->c, sizeof(t->c->in), &line, &len)) <= 0)
			return -1;
		if (bol && n == 1 && ((len == 3 && memcmp(line, ".\r\n", 3) == 0)
		    || (len == 2 && memcmp(line, ".\n", 2) == 0)))
			break;
		t->x.size += len;
		if (t->x.size > t->max_size && !*too_big_r) {
			*too_big_r = true;
			*mta_ok_r = false;
		}
		if (*mta_ok_r) {
			/* CR before this LF: in this piece, or ending the last one. */
			bool has_cr = n == 1 && (len >= 2 ? line[len - 2] == '\r' : cr);

			if (oc_out(t, line, n == 1 && !has_cr ? len - 1 : len) < 0 ||
			    (n == 1 && !has_cr && oc_out(t, "\r\n", 2) < 0))
				*mta_ok_r = false;
		}
		cr = len > 0 && line[len - 1] == '\r';
		bol = n == 1;
	}
	if (*mta_ok_r && (oc_out(t, ".\r\n", 3) < 0 ||
	    oc_write(t->ss->mta, t->out, t->nout) < 0))
		*mta_ok_r = false;
	return 0;
}

/*
 * oc_dot_replies - the MTA's answers to the final ".": one for SMTP, one
 * per accepted recipient in RCPT order for LMTP (RFC 2033 4.2). Sets each
 * recipient's result and the one reply the server gets in out: 250 only
 * when every recipient got 2xx; else the first 4xx, else the first 5xx.
 */
static void
oc_dot_replies(struct oc_turn *t, char *out, size_t size)
{
	char rep[OC_REPLY_MAX], first[3][OC_REPLY_MAX] = { "", "", "" };
	size_t i, n = t->ss->o->lmtp ? t->x.naccepted : 1;
	int code = 0, cls;

	for (i = 0; i < t->x.nrcpt && n > 0; i++) {
		if (t->x.rcpts[i].code != 0)
			continue;
		code = oc_mta_cmd(t, NULL, OC_CLASS(2) | OC_CLASS(4) | OC_CLASS(5),
		    rep, sizeof(rep));
		cls = code / 100;
		if (first[cls == 2 ? 0 : cls == 4 ? 1 : 2][0] == '\0')
			snprintf(first[cls == 2 ? 0 : cls == 4 ? 1 : 2], OC_REPLY_MAX,
			    "%s", rep);
		if (t->ss->o->lmtp) {
			t->x.rcpts[i].code = code;
			free(t->x.rcpts[i].reply);
			t->x.rcpts[i].reply = xstrdup(rep);
			n--;
		} else {
			oc_final(t, code, rep);
			n = 0;
		}
		if (t->ss->mta == NULL) {
			/* Gone: recipients without an answer have this 451. */
			oc_final(t, code, rep);
			break;
		}
	}
	snprintf(out, size, "%s", first[1][0] != '\0' ? first[1] :
	    first[2][0] != '\0' ? first[2] : first[0]);
	if (first[0][0] != '\0' && out[0] != '2')
		/* XXX SMTP has one answer per message: these may see it twice. */
		oc_log(t->ss, "atrn: the MTA took the message for some recipients "
		    "only; answering %.3s for all: those that have it may get it "
		    "again", out);
}

/* oc_data - DATA: relayed, and the "." answered only once the MTA answered */
static int
oc_data(struct oc_turn *t, const char *arg)
{
	char out[OC_REPLY_MAX];
	bool mta_ok, too_big;
	int code;

	(void)arg;
	if (t->x.sticky != NULL)
		return oc_reply(t, "%s", t->x.sticky);
	if (t->x.naccepted == 0)
		return oc_reply(t, "%s", t->x.nrcpt > 0 ?
		    OC_R_NO_VALID_RCPTS : OC_R_NEED_RCPT);
	code = oc_mta_cmd(t, "DATA", OC_CLASS(3) | OC_CLASS(4) | OC_CLASS(5),
	    out, sizeof(out));
	if (code / 100 == 3 && code != 354) {
		/* 3xx to DATA is 354 or nothing: the MTA is out of protocol. */
		snprintf(t->ss->mta->err, sizeof(t->ss->mta->err), "protocol "
		    "error: %.200s", out);
		oc_mta_lost(t, out, sizeof(out));
		code = 451;
	}
	if (code != 354) {
		oc_final(t, code, out);
		oc_xact_rset(t);
		return oc_reply(t, "%s", out);
	}
	if (oc_reply(t, OC_R_DATA_GO) < 0)
		return -1;
	if (oc_content(t, &mta_ok, &too_big) < 0) {
		/* No "." went to the MTA: dropping it discards the message. */
		oc_conn_free(&t->ss->mta);
		return oc_fail(t->ss, OC_TEMP, "%s", t->c->err[0] != '\0' ?
		    t->c->err : "lost connection inside the message");
	}
	if (too_big) {
		oc_conn_free(&t->ss->mta);
		snprintf(out, sizeof(out), OC_R_TOO_BIG_N,
		    (unsigned long long)t->max_size);
	} else if (!mta_ok)
		oc_mta_lost(t, out, sizeof(out));
	else
		oc_dot_replies(t, out, sizeof(out));
	oc_final(t, atoi(out), out);
	if (out[0] == '2')
		t->ss->r->messages++;
	t->x.open = false;
	oc_xact_end(t);
	t->junk = 0;
	return oc_reply(t, "%s", out);
}

static int
oc_rset(struct oc_turn *t, const char *arg)
{
	(void)arg;
	oc_xact_rset(t);
	t->junk++;
	return oc_reply(t, OC_R_OK);
}

static int
oc_noop(struct oc_turn *t, const char *arg)
{
	(void)arg;
	t->junk++;
	return oc_reply(t, OC_R_OK);
}

static int
oc_quit(struct oc_turn *t, const char *arg)
{
	(void)arg;
	oc_xact_rset(t);
	t->quit = true;
	return oc_reply(t, OC_R_BYE);
}

/* oc_not_here - a verb of SMTP that has no place on a turned connection */
static int
oc_not_here(struct oc_turn *t, const char *arg)
{
	(void)arg;
	t->errors++;
	return oc_reply(t, OC_R_NOT_HERE);
}

#define OC_ST_NEW	0x1u	/* before EHLO/HELO */
#define OC_ST_IDLE	0x2u	/* greeted, no MAIL */
#define OC_ST_MAIL	0x4u	/* MAIL given (answered either way) */
#define OC_ST_ANY	(OC_ST_NEW | OC_ST_IDLE | OC_ST_MAIL)

/* The verbs we serve (STYLE rule 7), and in which states. */
static const struct oc_verb {
	const char *name;
	unsigned states;
	oc_verb_fn *run;
	const char *refusal;	/* outside those states */
} oc_verbs[] = {
	{ "EHLO", OC_ST_ANY, oc_ehlo, NULL },
	{ "HELO", OC_ST_ANY, oc_helo, NULL },
	{ "MAIL", OC_ST_IDLE | OC_ST_MAIL, oc_mail, NULL },
	{ "RCPT", OC_ST_MAIL, oc_rcpt, OC_R_NEED_MAIL },
	{ "DATA", OC_ST_MAIL, oc_data, OC_R_NEED_RCPT },
	{ "RSET", OC_ST_ANY, oc_rset, NULL },
	{ "NOOP", OC_ST_ANY, oc_noop, NULL },
	{ "QUIT", OC_ST_ANY, oc_quit, NULL },
	{ "BDAT", OC_ST_ANY, oc_not_here, NULL },
	{ "STARTTLS", OC_ST_ANY, oc_not_here, NULL },
	{ "AUTH", OC_ST_ANY, oc_not_here, NULL },
	{ "ATRN", OC_ST_ANY, oc_not_here, NULL },
	{ "ETRN", OC_ST_ANY, oc_not_here, NULL },
	{ "VRFY", OC_ST_ANY, oc_not_here, NULL },
	{ "EXPN", OC_ST_ANY, oc_not_here, NULL },
	{ NULL, 0, NULL, NULL },
};

/* oc_state - the session's state as an OC_ST_* bit */
static unsigned
oc_state(const struct oc_turn *t)
{
	if (!t->greeted)
		return OC_ST_NEW;
	return t->x.sender != NULL ? OC_ST_MAIL : OC_ST_IDLE;
}

/* oc_command_line - one command from the server; 0, or -1 to end */
static int
oc_command_line(struct oc_turn *t, const char *line, size_t len)
{
	const struct oc_verb *v;
	struct smtp_cmd cmd;

	if (smtp_cmd_split(line, len, &cmd) != SMTP_PARSE_OK) {
		t->errors++;
		return oc_reply(t, "%s", oc_parse_replies[SMTP_PARSE_NUL]);
	}
	for (v = oc_verbs; v->name != NULL; v++)
		if (strcmp(v->name, cmd.verb) == 0)
			break;
	if (v->name == NULL) {
		t->errors++;
		return oc_reply(t, OC_R_UNKNOWN_CMD);
	}
	if ((v->states & oc_state(t)) == 0) {
		t->errors++;
		return oc_reply(t, "%s", t->greeted ? v->refusal :
		    OC_R_NEED_HELO);
	}
	return v->run(t, cmd.arg);
}

/* oc_turn_read - the next command line; 1, 0 for EOF, -1 error; long lines answered */
static int
oc_turn_read(struct oc_turn *t, const char **line_r, size_t *len_r)
{
	int n;

	while ((n = oc_read_line(t->c, SMTP_CMD_LINE_MAX, line_r, len_r)) == 2) {
		/* Skip the rest of the line, then say why. */
		while ((n = oc_read_line(t->c, SMTP_CMD_LINE_MAX, line_r,
		    len_r)) == 2)
			;
		if (n != 1)
			return n;
		t->errors++;
		if (oc_reply(t, OC_R_LINE_TOO_LONG) < 0)
			return -1;
	}
	return n;
}

int
oc_turn_serve(struct oc_session *ss)
{
	struct oc_turn *t = xcalloc(1, sizeof(*t));
	const char *line;
	size_t len;
	int n, rc = 0;

	t->ss = ss;
	t->c = ss->srv;
	t->max_size = ss->o->max_size != 0 ? ss->o->max_size : ODMR_CLIENT_SIZE;
	if (ss->mta_size != 0 && ss->mta_size < t->max_size)
		t->max_size = ss->mta_size;
	snprintf(t->size_kw, sizeof(t->size_kw), "SIZE %llu",
	    (unsigned long long)t->max_size);
	oc_log(ss, "atrn: %s: connection turned; serving the held mail",
	    ss->srv->name);
	if (oc_reply(t, OC_R_GREETING, ss->helo) < 0)
		rc = oc_fail(ss, OC_TEMP, "%s", t->c->err);
	while (rc == 0 && !t->quit) {
		if (t->errors >= ODMR_CLIENT_ERRORS_MAX || t->junk >= OC_JUNK_MAX) {
			(void)oc_reply(t, OC_R_TOO_MANY_ERRORS);
			rc = oc_fail(ss, OC_TEMP, "%s: too many errors or commands "
			    "that move no mail; closing", ss->srv->name);
			break;
		}
		if ((n = oc_turn_read(t, &line, &len)) <= 0) {
			rc = oc_fail(ss, OC_TEMP, "%s", n == 0 ? "the server closed "
			    "the connection without QUIT" : t->c->err);
			break;
		}
		if (oc_command_line(t, line, len) < 0 && ss->why == OC_OK)
			rc = oc_fail(ss, OC_TEMP, "%s", t->c->err);
		else if (ss->why != OC_OK)
			rc = -1;
	}
	/* A transaction cut short: the MTA forgets it; answered ones are logged. */
	oc_xact_rset(t);
	free(t);
	return rc;
}
