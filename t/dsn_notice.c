/*
 * dsn_notice - what the DSN unit tests share (see dsn_notice.h)
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
#include <strings.h>
#include <unistd.h>

/* Layer 1: util. */
#include "util/log.h"
#include "util/xmalloc.h"

/* Tests. */
#include "t/dsn_notice.h"
#include "t/tap.h"
#include "t/testutil.h"

char qdir[256];
static char *logpath;

const char plain_msg[] =
    "Received: from client.example ([192.0.2.1]) by mx.test\r\n"
    "From: Alice <alice@sender.example>\r\n"
    "To: bob@site.example\r\n"
    "Subject: quarterly report\r\n"
    "Message-ID: <orig.1@sender.example>\r\n"
    "\r\n"
    "Hello Bob,\r\n"
    "BODY-MARKER\r\n"
    "--not-a-boundary\r\n";
const size_t plain_msg_len = sizeof(plain_msg) - 1;

const struct dsn_params params = {
	.reporting_mta = "mx.test",
	.now = 1700000000,
	.lifetime = 5 * 86400,
};

/* dsn_notice_setup - the scratch queue under $TMPDIR and the log beside it */
void
dsn_notice_setup(const char *prog)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(qdir, sizeof(qdir), "%s/%s.XXXXXX",
	    tmp != NULL && *tmp ? tmp : "/tmp", prog);
	logpath = test_queue(qdir, prog);
}

/* dsn_notice_done - remove the queue and the log; tap_done()'s exit code */
int
dsn_notice_done(void)
{
	test_queue_done(qdir, &logpath);
	return tap_done();
}

/* queue_original - queue a message from sender with content and ret; its ID in id_r */
struct envelope *
queue_original(const char *sender, const char *content, size_t len, enum dsn_ret ret)
{
	struct envelope *env = test_envelope(sender);
	struct queue_file *qf;

	env->ret = ret;
	env->arrival = params.now - 3600;
	envelope_add_rcpt(env, "bob@site.example", "rfc822;bob+2Bx@site.example",
	    DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY);
	envelope_add_rcpt(env, "carol@site.example", NULL, 0);
	envelope_add_rcpt(env, "dave@site.example", NULL, DSN_NOTIFY_NEVER);
	envelope_add_rcpt(env, "erin@site.example", NULL, DSN_NOTIFY_SUCCESS);
	if ((qf = queue_file_create(qdir, env)) == NULL ||
	    queue_file_write(qf, content, len) == -1 || queue_file_commit(&qf) == -1) {
		tap_diag("queue original: %s", strerror(errno));
		envelope_free(&env);
	}
	return env;
}

/* header_value - the unfolded value of header name in the block at h, or NULL */
char *
header_value(const char *h, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = h, *e;
	char *v;
	size_t o = 0;

	while (*p != '\0' && strncmp(p, "\r\n", 2) != 0) {
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			p += nlen + 1;
			while (*p == ' ')
				p++;
			v = xmalloc(strlen(p) + 1);
			for (;;) {
				e = strstr(p, "\r\n");
				if (e == NULL)
					e = p + strlen(p);
				memcpy(v + o, p, (size_t)(e - p));
				o += (size_t)(e - p);
				if (*e == '\0' || (e[2] != ' ' && e[2] != '\t'))
					break;
				p = e + 2;	/* unfold: drop CRLF, keep the WSP */
			}
			v[o] = '\0';
			return v;
		}
		if ((e = strstr(p, "\r\n")) == NULL)
			break;
		p = e + 2;
	}
	return NULL;
}

/* has_header - does the header block at h have a field name? */
bool
has_header(const char *h, const char *name)
{
	char *v = header_value(h, name);
	bool found = v != NULL;

	free(v);
	return found;
}

/* header_is - does header name in h have exactly value want? */
bool
header_is(const char *h, const char *name, const char *want)
{
	char *v = header_value(h, name);
	bool same = v != NULL && strcmp(v, want) == 0;

	if (!same)
		tap_diag("%s: got \"%s\", want \"%s\"", name, v != NULL ? v : "(none)", want);
	free(v);
	return same;
}

/* body_of - the body after the header block at h */
const char *
body_of(const char *h)
{
	const char *e = strncmp(h, "\r\n", 2) == 0 ? h - 2 : strstr(h, "\r\n\r\n");

	return e != NULL ? e + 4 : "";
}

/* lines_ok - every line ends in CRLF, none holds a bare CR or LF, none is over 998 */
bool
lines_ok(const char *data, size_t len, size_t *longest_r)
{
	size_t i, col = 0;

	*longest_r = 0;
	for (i = 0; i < len; i++) {
		if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n') {
			if (col > *longest_r)
				*longest_r = col;
			col = 0;
			i++;
		} else if (data[i] == '\n' || data[i] == '\r')
			return false;
		else
			col++;
	}
	return col == 0 && *longest_r <= 998;
}

/* check_lines - test that data has only CRLF lines of at most 998 octets */
void
check_lines(const char *what, const char *data, size_t len)
{
	size_t longest;
	bool good = lines_ok(data, len, &longest);

	ok(good, "%s: CRLF lines, longest %zu, want <= 998", what, longest);
}

/* notice_split - find the boundary and where each part of n->data starts; 0/-1 */
int
notice_split(struct notice *n)
{
	char *ct, *b, *e, *p, *delim;
	size_t dlen;

	if ((ct = header_value(n->data, "Content-Type")) == NULL)
		return -1;
	if ((b = strstr(ct, "boundary=\"")) == NULL || (e = strchr(b + 10, '"')) == NULL) {
		free(ct);
		return -1;
	}
	n->boundary = xstrndup(b + 10, (size_t)(e - b - 10));
	free(ct);
	/* RFC 2046 5.1.1: a delimiter is CRLF "--" boundary, then CRLF or "--". */
	delim = xasprintf("\r\n--%s", n->boundary);
	dlen = strlen(delim);
	for (p = strstr(n->data, delim); p != NULL && n->nparts < MAX_PARTS;
	    p = strstr(p, delim)) {
		p += dlen;
		if (strncmp(p, "--\r\n", 4) == 0) {
			n->closed = true;
			break;
		}
		if (strncmp(p, "\r\n", 2) != 0)
			break;
		p += 2;
		n->part[n->nparts++] = p;
	}
	free(delim);
	return 0;
}

/* notice_read - load the notice id (envelope and content) and split it; 0/-1 */
int
notice_read(const char *id, struct notice *n)
{
	uint64_t len;
	ssize_t got;
	size_t off = 0;
	int fd;

	memset(n, 0, sizeof(*n));
	memcpy(n->id, id, QUEUE_ID_LEN + 1);
	if (queue_read_envelope(qdir, id, &n->env) == -1)
		return -1;
	if (queue_open_content(qdir, id, &fd, &len) == -1)
		return -1;
	n->len = (size_t)len;
	n->data = xmalloc(n->len + 1);
	while (off < n->len && (got = read(fd, n->data + off, n->len - off)) > 0)
		off += (size_t)got;
	close(fd);
	n->data[off] = '\0';
	if (off != n->len)
		return -1;
	return 0;
}

/* notice_free - release a notice and remove its file */
void
notice_free(struct notice *n)
{
	if (n->env != NULL)
		queue_remove(qdir, n->id);
	envelope_free(&n->env);
	free(n->data);
	free(n->boundary);
	memset(n, 0, sizeof(*n));
}

/* part_copy - part i of n as its own NUL-terminated string (up to the next delimiter) */
char *
part_copy(const struct notice *n, size_t i)
{
	char *delim = xasprintf("\r\n--%s", n->boundary);
	const char *e = strstr(n->part[i], delim);
	char *s = e != NULL ? xstrndup(n->part[i], (size_t)(e - n->part[i])) : xstrdup(n->part[i]);

	free(delim);
	return s;
}

/* part_body - the body of part i of n, as a new string */
char *
part_body(const struct notice *n, size_t i)
{
	char *part = part_copy(n, i), *body = xstrdup(body_of(part));

	free(part);
	return body;
}

/* rcpt_group - the delivery-status fields group whose Final-Recipient is addr */
char *
rcpt_group(const char *status_body, const char *addr)
{
	char *want = xasprintf("Final-Recipient: rfc822; %s\r\n", addr), *g;
	const char *p = status_body, *e;

	/* Groups are separated by empty lines (RFC 3464 2.1). */
	for (;;) {
		e = strstr(p, "\r\n\r\n");
		g = xstrndup(p, e != NULL ? (size_t)(e - p) + 2 : strlen(p));
		if (strncmp(g, want, strlen(want)) == 0 || strstr(g, want) != NULL)
			break;
		xfree(&g);
		if (e == NULL)
			break;
		p = e + 4;
	}
	free(want);
	return g;
}

/* make_dsn - queue an original, make a notice for rcpts, read it back; 0/1/-1 of dsn_create */
int
make_dsn(const char *sender, const char *content, size_t clen, enum dsn_ret ret,
    const struct dsn_rcpt *r, size_t nr, const struct dsn_params *p, struct notice *n,
    struct envelope **orig_r)
{
	struct envelope *orig = queue_original(sender, content, clen, ret);
	char id[QUEUE_ID_LEN + 1] = "";
	int rc;

	memset(n, 0, sizeof(*n));
	if (orig == NULL)
		return -1;
	rc = dsn_create(qdir, orig->id, orig, r, nr, p, id);
	if (rc == 0 && (notice_read(id, n) == -1 || notice_split(n) == -1)) {
		tap_diag("read notice %s back: %s", id, strerror(errno));
		rc = -1;
	}
	if (orig_r != NULL)
		*orig_r = orig;
	else {
		queue_remove(qdir, orig->id);
		envelope_free(&orig);
	}
	return rc;
}

/* check_structure - the common shape of a report: envelope, headers, three parts */
void
check_structure(const char *what, const struct notice *n, const char *subject,
    const char *part3_type)
{
	char *p;

	ok(n->env != NULL && strcmp(n->env->sender, "") == 0,
	    "%s: envelope sender is null: got <%s>", what, n->env ? n->env->sender : "?");
	ok(n->env != NULL && n->env->nrcpt == 1 && strcmp(n->env->rcpt[0].addr, SENDER) == 0,
	    "%s: one envelope recipient, the original sender", what);
	ok(n->env != NULL && n->env->rcpt[0].notify == DSN_NOTIFY_NEVER,
	    "%s: envelope recipient has NOTIFY=NEVER", what);
	ok(n->env != NULL && strcmp(n->env->protocol, "LOCAL") == 0 &&
	    strcmp(n->env->client_addr, "127.0.0.1") == 0, "%s: local origin", what);
	check_lines(what, n->data, n->len);
	ok(header_is(n->data, "Subject", subject), "%s: subject", what);
	ok(header_is(n->data, "To", "<" SENDER ">"), "%s: To", what);
	ok(header_is(n->data, "From", "Mail Delivery System <MAILER-DAEMON@mx.test>"),
	    "%s: From", what);
	ok(header_is(n->data, "Auto-Submitted", "auto-replied"), "%s: Auto-Submitted", what);
	ok(header_is(n->data, "MIME-Version", "1.0"), "%s: MIME-Version", what);
	p = header_value(n->data, "Message-ID");
	ok(p != NULL && strncmp(p + 1, n->id, QUEUE_ID_LEN) == 0, "%s: Message-ID %s", what,
	    p ? p : "(none)");
	free(p);
	ok(has_header(n->data, "Date"), "%s: Date", what);
	p = header_value(n->data, "Content-Type");
	ok(p != NULL && strncmp(p, "multipart/report; report-type=delivery-status;", 46) == 0,
	    "%s: Content-Type: got %s", what, p ? p : "(none)");
	free(p);
	ok(n->nparts == 3 && n->closed, "%s: three parts and a close delimiter: got %zu, %d",
	    what, n->nparts, n->closed);
	if (n->nparts < 3)
		return;
	ok(header_is(n->part[0], "Content-Type", "text/plain; charset=us-ascii"),
	    "%s: part 1 text/plain", what);
	ok(header_is(n->part[1], "Content-Type", "message/delivery-status"),
	    "%s: part 2 message/delivery-status", what);
	ok(header_is(n->part[2], "Content-Type", part3_type), "%s: part 3 %s", what, part3_type);
	/* The boundary may not occur inside any part. */
	p = part_copy(n, 2);
	ok(strstr(p, n->boundary) == NULL, "%s: boundary absent from part 3", what);
	free(p);
}

/* notice_made - a notice of plain_msg for rcpts, of the shape every report
 * shares; true when its three parts are there. notice_free(n) either way. */
bool
notice_made(const char *what, enum dsn_ret ret, const struct dsn_rcpt *r, size_t nr,
    const char *subject, const char *part3_type, struct notice *n)
{
	int rc = make_dsn(SENDER, plain_msg, plain_msg_len, ret, r, nr, &params,
	    n, NULL);

	if (!ok(rc == 0, "%s: notice created: got %d", what, rc))
		return false;
	check_structure(what, n, subject, part3_type);
	return n->nparts >= 3;
}