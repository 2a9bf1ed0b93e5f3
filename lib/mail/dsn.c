/*
 * dsn - delivery status notifications (RFC 3461, 3464, 6522); see dsn.h.
 *
 * A notice is built in two steps. The two parts we write ourselves (the
 * explanation and the delivery-status fields) are formatted in memory;
 * the original message is streamed from its queue file. Before anything
 * is written, every byte that will sit between the MIME boundaries is
 * scanned once for the randomly drawn boundary (drawn again if it occurs)
 * and for 8-bit octets (which need Content-Transfer-Encoding: 8bit).
 * The scan runs the same copy routine as the write, so what is checked
 * is exactly what is written.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

/* System. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* Layer 1: util. */
#include "util/log.h"
#include "util/timemath.h"
#include "util/xmalloc.h"

/* Layer 2: mail. */
#include "mail/dsn.h"
#include "mail/dsn_int.h"
#include "mail/queue.h"
#include "mail/smtp_cmd.h"

/* dsn_needed - is a notice of action due for this recipient? See dsn.h. */
bool
dsn_needed(const char *orig_sender, unsigned notify, enum dsn_action action)
{
	/* Nothing is ever sent to <>: that is how bounce loops are avoided. */
	if (orig_sender == NULL || *orig_sender == '\0')
		return false;
	if (notify & DSN_NOTIFY_NEVER)
		return false;
	if (notify == 0)
		notify = DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY;
	switch (action) {
	case DSN_ACTION_FAILED:
		return (notify & DSN_NOTIFY_FAILURE) != 0;
	case DSN_ACTION_DELAYED:
		return (notify & DSN_NOTIFY_DELAY) != 0;
	case DSN_ACTION_DELIVERED:
	case DSN_ACTION_EXPANDED:
		return (notify & DSN_NOTIFY_SUCCESS) != 0;
	}
	return false;
}

/* dsn_action_name - the RFC 3464 2.3.3 action-value */
static const char *
dsn_action_name(enum dsn_action a)
{
	switch (a) {
	case DSN_ACTION_FAILED:
		return "failed";
	case DSN_ACTION_DELAYED:
		return "delayed";
	case DSN_ACTION_DELIVERED:
		return "delivered";
	case DSN_ACTION_EXPANDED:
		return "expanded";
	}
	return "failed";
}

/*
 * One notice, gathered before its file is created. A report (orig set)
 * is a multipart/report; the daily notice (orig NULL) is the plain text
 * in text.
 */
struct dsn_notice {
	const char *orig_id;
	const struct envelope *orig;
	const struct dsn_rcpt *rcpts;
	const bool *use;	/* which of rcpts[0..n-1] are reported */
	size_t n;
	const struct dsn_params *p;
	time_t now;
	enum dsn_action worst;	/* decides the subject and the wording */
	enum dsn_attach attach;
	char *from;		/* the From: address */
	const char *subject;
	struct dsn_buf text;	/* part 1, or the whole plain body */
	struct dsn_buf status;	/* part 2 */
	char boundary[DSN_BOUNDARY_MAX + 1];
	bool eightbit;		/* part 3 holds 8-bit octets */
	int fd;			/* the original's content: len octets at off */
	off_t off;
	uint64_t len;
};

/* dsn_text_part - part 1: the explanation for a human */
static void
dsn_text_part(const struct dsn_notice *dn, struct dsn_buf *b)
{
	char date[64], until[64], span[32], *line;
	const char *what;
	size_t i;

	dsn_date(dn->orig->arrival, date, sizeof(date));
	dsn_buf_printf(b, "This is the mail delivery system at %s.\r\n\r\n",
	    dn->p->reporting_mta);
	switch (dn->worst) {
	case DSN_ACTION_FAILED:
		what = "could not be delivered to the recipients below. It has "
		    "been returned to you; the report further down says why.";
		break;
	case DSN_ACTION_DELAYED:
		what = "has not yet been delivered to the recipients below. "
		    "This is only a warning: you do not need to send it again.";
		break;
	default:
		what = "was delivered to the recipients below, as you asked.";
		break;
	}
	line = xasprintf("Your message (queue ID %s), received %s, %s",
	    dn->orig_id, date, what);
	dsn_wrap(b, "", line, "");
	free(line);
	if (dn->worst == DSN_ACTION_DELAYED && dn->p->lifetime > 0) {
		dsn_date(time_add_sat(dn->orig->arrival, dn->p->lifetime), until, sizeof(until));
		dsn_duration(dn->p->lifetime, span, sizeof(span));
		line = xasprintf("We will keep trying until %s (%s after it "
		    "arrived); if it still cannot be delivered then, it will "
		    "be returned to you.", until, span);
		dsn_wrap(b, "", line, "");
		free(line);
	}
	dsn_buf_add(b, "\r\n", 2);
	for (i = 0; i < dn->n; i++) {
		const struct dsn_rcpt *r = &dn->rcpts[i];
		const char *st;

		if (!dn->use[i])
			continue;
		st = dsn_status(r);
		if (r->diagnostic != NULL)
			line = xasprintf("<%s>: %s: %s%s%s%s", r->addr,
			    dsn_action_name(r->action), dsn_untyped(r->diagnostic),
			    r->remote_mta != NULL ? " (said by " : "",
			    r->remote_mta != NULL ? r->remote_mta : "",
			    r->remote_mta != NULL ? ")" : "");
		else
			line = xasprintf("<%s>: %s: %s (%s)", r->addr,
			    dsn_action_name(r->action), dsn_reason(st), st);
		dsn_wrap(b, "  ", line, "    ");
		free(line);
		dsn_buf_add(b, "\r\n", 2);
	}
}

/* dsn_orcpt - the Original-Recipient value: ORCPT with its xtext decoded */
static char *
dsn_orcpt(const char *orcpt)
{
	const char *semi = strchr(orcpt, ';');
	char *dec, *v;

	/* RFC 3464 2.3.1 carries the address itself, not its xtext form. */
	if (semi == NULL || smtp_xtext_decode(semi + 1, strlen(semi + 1), &dec) == -1)
		return xstrdup(orcpt);
	v = xasprintf("%.*s;%s", (int)(semi - orcpt), orcpt, dec);
	free(dec);
	return v;
}

/* dsn_status_part - part 2: the message/delivery-status fields */
static void
dsn_status_part(const struct dsn_notice *dn, struct dsn_buf *b)
{
	char date[64];
	size_t i;
	char *v;

	dsn_typed_field(b, "Reporting-MTA", "dns", dn->p->reporting_mta);
	dsn_field(b, "X-Sluice-Queue-ID", dn->orig_id);
	if (dn->orig->envid != NULL)
		dsn_field(b, "Original-Envelope-Id", dn->orig->envid);
	v = xasprintf("rfc822; %s", dn->orig->sender);
	dsn_field(b, "X-Sluice-Sender", v);
	free(v);
	dsn_date(dn->orig->arrival, date, sizeof(date));
	dsn_field(b, "Arrival-Date", date);
	for (i = 0; i < dn->n; i++) {
		const struct dsn_rcpt *r = &dn->rcpts[i];

		if (!dn->use[i])
			continue;
		dsn_buf_add(b, "\r\n", 2);
		if (r->orcpt != NULL) {
			v = dsn_orcpt(r->orcpt);
			dsn_field(b, "Original-Recipient", v);
			free(v);
		}
		v = xasprintf("rfc822; %s", r->addr);
		dsn_field(b, "Final-Recipient", v);
		free(v);
		dsn_field(b, "Action", dsn_action_name(r->action));
		dsn_field(b, "Status", dsn_status(r));
		if (r->remote_mta != NULL)
			dsn_typed_field(b, "Remote-MTA", "dns", r->remote_mta);
		if (r->diagnostic != NULL)
			dsn_typed_field(b, "Diagnostic-Code", "smtp", r->diagnostic);
		if (r->last_attempt != 0) {
			dsn_date(r->last_attempt, date, sizeof(date));
			dsn_field(b, "Last-Attempt-Date", date);
		}
		if (r->action == DSN_ACTION_DELAYED && dn->p->lifetime > 0) {
			dsn_date(time_add_sat(dn->orig->arrival, dn->p->lifetime), date, sizeof(date));
			dsn_field(b, "Will-Retry-Until", date);
		}
	}
}

/* dsn_subject - the Subject: of a notice whose worst news is a */
static const char *
dsn_subject(enum dsn_action a)
{
	switch (a) {
	case DSN_ACTION_FAILED:
		return "Undelivered Mail Returned to Sender";
	case DSN_ACTION_DELAYED:
		return "Delayed Mail (still being retried)";
	default:
		return "Successful Mail Delivery Report";
	}
}

/* dsn_headers - the message header of a notice, to the empty line */
static void
dsn_headers(struct dsn_buf *b, const struct dsn_notice *dn, const char *new_id,
    const char *to)
{
	char date[64], *v;

	v = xasprintf("Mail Delivery System <%s>", dn->from);
	dsn_field(b, "From", v);
	free(v);
	v = xasprintf("<%s>", to);
	dsn_field(b, "To", v);
	free(v);
	dsn_field(b, "Subject", dn->subject);
	dsn_date(dn->now, date, sizeof(date));
	dsn_field(b, "Date", date);
	v = xasprintf("<%s@%s>", new_id, dn->p->reporting_mta);
	dsn_field(b, "Message-ID", v);
	free(v);
	/*
	 * RFC 3834: no automatic reply to these. A report answers a message
	 * (auto-replied); the daily notice answers nothing (auto-generated).
	 */
	dsn_field(b, "Auto-Submitted", dn->orig != NULL ? "auto-replied" : "auto-generated");
	dsn_field(b, "MIME-Version", "1.0");
	if (dn->orig == NULL) {
		dsn_field(b, "Content-Type", "text/plain; charset=us-ascii");
	} else {
		v = xasprintf("multipart/report; report-type=delivery-status; "
		    "boundary=\"%s\"", dn->boundary);
		dsn_field(b, "Content-Type", v);
		free(v);
	}
	if (dn->eightbit)
		dsn_field(b, "Content-Transfer-Encoding", "8bit");
	dsn_buf_add(b, "\r\n", 2);
}

/* dsn_envelope - the envelope of a notice to one recipient, from <> */
static struct envelope *
dsn_envelope(const char *to, time_t now)
{
	struct envelope *env = envelope_new();

	env->arrival = now;
	env->sender = xstrdup("");
	env->client_name = xstrdup("localhost");
	env->client_addr = xstrdup("127.0.0.1");
	env->protocol = xstrdup("LOCAL");
	/* A notice must never cause another one (RFC 3461 6.2). */
	envelope_add_rcpt(env, to, NULL, DSN_NOTIFY_NEVER);
	return env;
}

/*
 * dsn_scan - does the drawn boundary occur in what parts 1 to 3 will
 * hold? Sets *found_r, and dn->eightbit when part 3 has 8-bit octets.
 * 0/-1 with errno.
 */
static int
dsn_scan(struct dsn_notice *dn, bool *found_r)
{
	struct dsn_out *o = xcalloc(1, sizeof(*o));
	int rc = -1;

	o->needle = dn->boundary;
	o->nlen = strlen(dn->boundary);
	if (dsn_out_buf(o, &dn->text) == -1 || dsn_out_buf(o, &dn->status) == -1 ||
	    dsn_copy(o, dn->fd, dn->off, dn->len, dn->attach) == -1 ||
	    dsn_out_flush(o) == -1)
		goto out;
	*found_r = o->found;
	dn->eightbit = o->eightbit;
	rc = 0;
out:
	free(o);
	return rc;
}

/* dsn_write - the notice's content, into qf; 0/-1 with errno */
static int
dsn_write(struct queue_file *qf, const struct dsn_notice *dn, const char *new_id,
    const char *to)
{
	struct dsn_out *o = xcalloc(1, sizeof(*o));
	struct dsn_buf b = { 0 };
	const char *bd = dn->boundary;
	int rc = -1;

	o->qf = qf;
	dsn_headers(&b, dn, new_id, to);
	if (dn->orig == NULL) {
		rc = dsn_out_buf(o, &b) == -1 || dsn_out_buf(o, &dn->text) == -1 ||
		    dsn_out_flush(o) == -1 ? -1 : 0;
		goto out;
	}
	dsn_buf_printf(&b, "This is a MIME-encapsulated message.\r\n\r\n"
	    "--%s\r\nContent-Description: Notification\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n\r\n", bd);
	if (dsn_out_buf(o, &b) == -1 || dsn_out_buf(o, &dn->text) == -1)
		goto out;
	b.len = 0;
	dsn_buf_printf(&b, "\r\n--%s\r\nContent-Description: Delivery report\r\n"
	    "Content-Type: message/delivery-status\r\n\r\n", bd);
	if (dsn_out_buf(o, &b) == -1 || dsn_out_buf(o, &dn->status) == -1)
		goto out;
	b.len = 0;
	dsn_buf_printf(&b, "\r\n--%s\r\nContent-Description: %s\r\n"
	    "Content-Type: %s\r\n%s\r\n", bd,
	    dn->attach == DSN_ATTACH_FULL ? "Undelivered Message" : "Message Headers",
	    dn->attach == DSN_ATTACH_FULL ? "message/rfc822" : "text/rfc822-headers",
	    dn->eightbit ? "Content-Transfer-Encoding: 8bit\r\n" : "");
	if (dsn_out_buf(o, &b) == -1 ||
	    dsn_copy(o, dn->fd, dn->off, dn->len, dn->attach) == -1)
		goto out;
	b.len = 0;
	dsn_buf_printf(&b, "\r\n--%s--\r\n", bd);
	if (dsn_out_buf(o, &b) == -1 || dsn_out_flush(o) == -1)
		goto out;
	rc = 0;
out:
	free(b.data);
	free(o);
	return rc;
}

/*
 * dsn_commit - queue a notice to one recipient through the durable path
 * (queue.h steps 1 to 3), new ID in id_r; 0/-1 with errno.
 */
static int
dsn_commit(const char *qdir, const struct dsn_notice *dn, const char *to,
    char id_r[QUEUE_ID_LEN + 1])
{
	struct envelope *env = dsn_envelope(to, dn->now);
	struct queue_file *qf;
	int rc = -1, saved;

	if ((qf = queue_file_create(qdir, env)) == NULL)
		goto out;
	if (dsn_write(qf, dn, env->id, to) == -1) {
		queue_file_abort(&qf);
		goto out;
	}
	if (queue_file_commit(&qf) == -1)
		goto out;
	memcpy(id_r, env->id, QUEUE_ID_LEN + 1);
	rc = 0;
out:
	saved = errno;
	envelope_free(&env);
	errno = saved;
	return rc;
}

/* dsn_from - the From: address of our notices */
static char *
dsn_from(const struct dsn_params *p)
{
	if (p->postmaster != NULL)
		return xstrdup(p->postmaster);
	return xasprintf("MAILER-DAEMON@%s", p->reporting_mta);
}

/* dsn_select - which recipients go into the notice; count, and the worst action */
static size_t
dsn_select(const struct envelope *orig, const struct dsn_rcpt *rcpts, size_t n,
    const struct dsn_params *p, bool *use, enum dsn_action *worst_r)
{
	/* Failures first, then delays, then success reports. */
	static const int rank[] = {
		[DSN_ACTION_FAILED] = 0, [DSN_ACTION_DELAYED] = 1,
		[DSN_ACTION_DELIVERED] = 2, [DSN_ACTION_EXPANDED] = 3,
	};
	size_t i, count = 0;

	*worst_r = DSN_ACTION_EXPANDED;
	for (i = 0; i < n; i++) {
		if (rcpts[i].addr == NULL || (unsigned)rcpts[i].action > DSN_ACTION_EXPANDED)
			continue;
		use[i] = p->recipient != NULL ||
		    dsn_needed(orig->sender, rcpts[i].notify, rcpts[i].action);
		if (!use[i])
			continue;
		count++;
		if (rank[rcpts[i].action] < rank[*worst_r])
			*worst_r = rcpts[i].action;
	}
	return count;
}

/* dsn_create - write a notice about rcpts of orig_id into the queue; see dsn.h */
int
dsn_create(const char *qdir, const char *orig_id, const struct envelope *orig,
    const struct dsn_rcpt *rcpts, size_t n, const struct dsn_params *p,
    char id_r[QUEUE_ID_LEN + 1])
{
	struct dsn_notice dn = { .fd = -1 };
	const char *to;
	bool *use, found = true;
	int tries, rc = -1, saved;

	if (qdir == NULL || orig_id == NULL || orig == NULL || p == NULL ||
	    p->reporting_mta == NULL || (n > 0 && rcpts == NULL)) {
		errno = EINVAL;
		return -1;
	}
	to = p->recipient != NULL ? p->recipient : orig->sender;
	if (to == NULL || *to == '\0')
		return 1;
	use = xcalloc(n > 0 ? n : 1, sizeof(*use));
	if (dsn_select(orig, rcpts, n, p, use, &dn.worst) == 0) {
		free(use);
		return 1;
	}
	dn.orig_id = orig_id;
	dn.orig = orig;
	dn.rcpts = rcpts;
	dn.use = use;
	dn.n = n;
	dn.p = p;
	dn.now = p->now != 0 ? p->now : time(NULL);
	dn.subject = dsn_subject(dn.worst);
	dn.from = dsn_from(p);
	if (queue_open_content(qdir, orig_id, &dn.fd, &dn.len) == -1 ||
	    (dn.off = lseek(dn.fd, 0, SEEK_CUR)) == (off_t)-1)
		goto out;
	/*
	 * RET=FULL returns the whole message, but only with a failure (RFC
	 * 3461 4.3) and only up to a size a mailbox will take. RET=HDRS and
	 * an absent RET both return the headers: RFC 3461 leaves the absent
	 * case to us, and headers identify the message without sending a
	 * possibly large (or unwanted) body back across the Internet.
	 */
	dn.attach = orig->ret == DSN_RET_FULL && dn.worst == DSN_ACTION_FAILED &&
	    dn.len <= DSN_FULL_MAX ? DSN_ATTACH_FULL : DSN_ATTACH_HEADERS;
	dsn_text_part(&dn, &dn.text);
	dsn_status_part(&dn, &dn.status);
	for (tries = 0; found && tries < DSN_BOUNDARY_TRIES; tries++) {
		dsn_boundary(dn.boundary, sizeof(dn.boundary));
		if (dsn_scan(&dn, &found) == -1)
			goto out;
	}
	if (found) {
		/* Every random 96-bit draw occurs in it: the content is hostile. */
		errno = EBADMSG;
		goto out;
	}
	if (dsn_commit(qdir, &dn, to, id_r) == -1)
		goto out;
	log_info("%s: sender %s notification: %s", orig_id,
	    dn.worst == DSN_ACTION_FAILED ? "non-delivery" :
	    dn.worst == DSN_ACTION_DELAYED ? "delay" : "delivery status", id_r);
	rc = 0;
out:
	saved = errno;
	if (rc == -1)
		log_warn("%s: create delivery status notification: %s", orig_id,
		    strerror(saved));
	if (dn.fd != -1)
		close(dn.fd);
	free(dn.text.data);
	free(dn.status.data);
	free(dn.from);
	free(use);
	errno = saved;
	return rc;
}

/*
 * dsn_create_text - a plain notice from the postmaster to a customer's
 * notify= address: subject and one paragraph (wrapped). 0 with id_r, -1.
 */
static int
dsn_create_text(const char *qdir, const char *to, const char *subject,
    const char *line, const struct dsn_params *p, char id_r[QUEUE_ID_LEN + 1])
{
	struct dsn_notice dn = { .fd = -1 };
	int rc, saved;

	dn.p = p;
	dn.now = p->now != 0 ? p->now : time(NULL);
	dn.from = dsn_from(p);
	dn.subject = subject;
	dsn_wrap(&dn.text, "", line, "");
	rc = dsn_commit(qdir, &dn, to, id_r);
	saved = errno;
	free(dn.from);
	free(dn.text.data);
	errno = saved;
	return rc;
}

/* dsn_create_notify - the daily customer notice; see dsn.h */
int
dsn_create_notify(const char *qdir, const char *domain, const char *to,
    size_t nexpiring, size_t nqueued, const struct dsn_params *p,
    char id_r[QUEUE_ID_LEN + 1])
{
	char *subject, *line;
	int rc, saved;

	if (qdir == NULL || domain == NULL || to == NULL || p == NULL ||
	    p->reporting_mta == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (nexpiring == 0)
		return 1;
	subject = xasprintf("%zu message%s for %s will be returned within 24 hours",
	    nexpiring, nexpiring == 1 ? "" : "s", domain);
	line = xasprintf("This is the mail system at %s, which holds mail for "
	    "%s while your site is offline. It now holds %zu message%s for "
	    "%s. %zu of them will be returned to their senders as "
	    "undeliverable within the next 24 hours unless your site "
	    "collects them before then (ETRN, ATRN, finger or the web page).",
	    p->reporting_mta, domain, nqueued, nqueued == 1 ? "" : "s",
	    domain, nexpiring);
	rc = dsn_create_text(qdir, to, subject, line, p, id_r);
	saved = errno;
	if (rc == 0)
		log_info("%s: expiry notice for %s to <%s>: %zu of %zu messages",
		    id_r, domain, to, nexpiring, nqueued);
	else
		log_warn("create expiry notice for %s: %s", domain, strerror(saved));
	free(subject);
	free(line);
	errno = saved;
	return rc;
}

/* dsn_cap - "N of LIMIT" or "N (no limit)" into buf */
static void
dsn_cap(char *buf, size_t size, unsigned long long have, long cap)
{
	if (cap > 0)
		snprintf(buf, size, "%llu of at most %ld", have, cap);
	else
		snprintf(buf, size, "%llu (no limit)", have);
}

/* dsn_create_quota - a domain passed 80% of a cap, or is full; see dsn.h */
int
dsn_create_quota(const char *qdir, const char *domain, const char *to, bool full,
    unsigned long long messages, long max_messages, unsigned long long bytes,
    long max_bytes, const struct dsn_params *p, char id_r[QUEUE_ID_LEN + 1])
{
	char *subject, *line, m[64], b[64];
	int rc, saved;

	if (qdir == NULL || domain == NULL || to == NULL || p == NULL ||
	    p->reporting_mta == NULL) {
		errno = EINVAL;
		return -1;
	}
	dsn_cap(m, sizeof(m), messages, max_messages);
	dsn_cap(b, sizeof(b), bytes, max_bytes);
	subject = full ? xasprintf("Mail for %s is refused: its space is full", domain) :
	    xasprintf("Mail for %s has filled 80%% of its space", domain);
	line = xasprintf("This is the mail system at %s, which holds mail for "
	    "%s while your site is offline. It now holds %s messages and %s "
	    "bytes for %s. %s Collect the mail (ETRN, ATRN, finger or the web "
	    "page) to make room; you hear from us again only when it fills "
	    "up after that.", p->reporting_mta, domain, m, b, domain,
	    full ? "New mail for the domain is refused with a temporary error "
	    "(452 4.2.2) until there is room again; the senders' servers keep "
	    "trying for some days." :
	    "When it is full, new mail for the domain is refused with a "
	    "temporary error until there is room again.");
	rc = dsn_create_text(qdir, to, subject, line, p, id_r);
	saved = errno;
	if (rc == 0)
		log_info("%s: quota notice (%s) for %s to <%s>: %s messages, %s bytes",
		    id_r, full ? "full" : "near", domain, to, m, b);
	else
		log_warn("create quota notice for %s: %s", domain, strerror(saved));
	free(subject);
	free(line);
	errno = saved;
	return rc;
}
