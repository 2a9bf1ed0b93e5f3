/* dsn_test - delivery status notifications: envelope, MIME structure, fields */
#include "config.h"

/* System. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Layer 1: util. */
#include "util/log.h"
#include "util/xmalloc.h"

/* Layer 2: mail. */
#include "mail/dsn.h"
#include "mail/queue.h"

/* Tests. */
#include "t/tap.h"

#define SENDER		"alice@sender.example"
#define MAX_PARTS	8

static char qdir[256];
static char logpath[300];

static const char plain_msg[] =
    "Received: from client.example ([192.0.2.1]) by mx.test\r\n"
    "From: Alice <alice@sender.example>\r\n"
    "To: bob@site.example\r\n"
    "Subject: quarterly report\r\n"
    "Message-ID: <orig.1@sender.example>\r\n"
    "\r\n"
    "Hello Bob,\r\n"
    "BODY-MARKER\r\n"
    "--not-a-boundary\r\n";

static const struct dsn_params params = {
	.reporting_mta = "mx.test",
	.now = 1700000000,
	.lifetime = 5 * 86400,
};

/* A parsed notice: its content, and where each MIME part starts. */
struct notice {
	char id[QUEUE_ID_LEN + 1];
	struct envelope *env;
	char *data;		/* the content, NUL-terminated */
	size_t len;
	char *boundary;
	size_t nparts;
	char *part[MAX_PARTS];	/* each part: its headers, empty line, body */
	bool closed;		/* the close delimiter was seen */
};

/* rm_entry - nftw callback removing one entry */
static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* queue_original - queue a message from sender with content and ret; its ID in id_r */
static struct envelope *
queue_original(const char *sender, const char *content, size_t len, enum dsn_ret ret)
{
	struct envelope *env = envelope_new();
	struct queue_file *qf;

	env->sender = xstrdup(sender);
	env->envid = xstrdup("ENV 123");
	env->ret = ret;
	env->arrival = params.now - 3600;
	env->client_name = xstrdup("client.example");
	env->client_addr = xstrdup("192.0.2.1");
	env->protocol = xstrdup("ESMTP");
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
static char *
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
static bool
has_header(const char *h, const char *name)
{
	char *v = header_value(h, name);
	bool found = v != NULL;

	free(v);
	return found;
}

/* header_is - does header name in h have exactly value want? */
static bool
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
static const char *
body_of(const char *h)
{
	const char *e = strncmp(h, "\r\n", 2) == 0 ? h - 2 : strstr(h, "\r\n\r\n");

	return e != NULL ? e + 4 : "";
}

/* lines_ok - every line ends in CRLF, none holds a bare CR or LF, none is over 998 */
static bool
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
static void
check_lines(const char *what, const char *data, size_t len)
{
	size_t longest;
	bool good = lines_ok(data, len, &longest);

	ok(good, "%s: CRLF lines, longest %zu, want <= 998", what, longest);
}

/* notice_split - find the boundary and where each part of n->data starts; 0/-1 */
static int
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
static int
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
static void
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
static char *
part_copy(const struct notice *n, size_t i)
{
	char *delim = xasprintf("\r\n--%s", n->boundary);
	const char *e = strstr(n->part[i], delim);
	char *s = e != NULL ? xstrndup(n->part[i], (size_t)(e - n->part[i])) : xstrdup(n->part[i]);

	free(delim);
	return s;
}

/* part_body - the body of part i of n, as a new string */
static char *
part_body(const struct notice *n, size_t i)
{
	char *part = part_copy(n, i), *body = xstrdup(body_of(part));

	free(part);
	return body;
}

/* rcpt_group - the delivery-status fields group whose Final-Recipient is addr */
static char *
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
static int
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

/* test_needed - the dsn_needed() truth table */
static void
test_needed(void)
{
	static const struct {
		const char *sender;
		unsigned notify;
		enum dsn_action action;
		bool want;
	} cases[] = {
		{ "", 0, DSN_ACTION_FAILED, false },
		{ "", DSN_NOTIFY_FAILURE, DSN_ACTION_FAILED, false },
		{ "", DSN_NOTIFY_SUCCESS, DSN_ACTION_DELIVERED, false },
		{ SENDER, DSN_NOTIFY_NEVER, DSN_ACTION_FAILED, false },
		{ SENDER, DSN_NOTIFY_NEVER, DSN_ACTION_DELAYED, false },
		{ SENDER, DSN_NOTIFY_NEVER, DSN_ACTION_DELIVERED, false },
		{ SENDER, 0, DSN_ACTION_FAILED, true },
		{ SENDER, 0, DSN_ACTION_DELAYED, true },
		{ SENDER, 0, DSN_ACTION_DELIVERED, false },
		{ SENDER, 0, DSN_ACTION_EXPANDED, false },
		{ SENDER, DSN_NOTIFY_FAILURE, DSN_ACTION_FAILED, true },
		{ SENDER, DSN_NOTIFY_FAILURE, DSN_ACTION_DELAYED, false },
		{ SENDER, DSN_NOTIFY_FAILURE, DSN_ACTION_DELIVERED, false },
		{ SENDER, DSN_NOTIFY_DELAY, DSN_ACTION_DELAYED, true },
		{ SENDER, DSN_NOTIFY_DELAY, DSN_ACTION_FAILED, false },
		{ SENDER, DSN_NOTIFY_SUCCESS, DSN_ACTION_DELIVERED, true },
		{ SENDER, DSN_NOTIFY_SUCCESS, DSN_ACTION_EXPANDED, true },
		{ SENDER, DSN_NOTIFY_SUCCESS, DSN_ACTION_FAILED, false },
		{ SENDER, DSN_NOTIFY_SUCCESS, DSN_ACTION_DELAYED, false },
		{ SENDER, DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY,
		    DSN_ACTION_DELAYED, true },
		{ NULL, 0, DSN_ACTION_FAILED, false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = dsn_needed(cases[i].sender, cases[i].notify, cases[i].action);

		ok(got == cases[i].want, "dsn_needed(<%s>, notify %#x, action %d): got %d, want %d",
		    cases[i].sender != NULL ? cases[i].sender : "NULL", cases[i].notify,
		    (int)cases[i].action, got, cases[i].want);
	}
}

/* check_structure - the common shape of a report: envelope, headers, three parts */
static void
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
static bool
notice_made(const char *what, enum dsn_ret ret, const struct dsn_rcpt *r, size_t nr,
    const char *subject, const char *part3_type, struct notice *n)
{
	int rc = make_dsn(SENDER, plain_msg, sizeof(plain_msg) - 1, ret, r, nr, &params,
	    n, NULL);

	if (!ok(rc == 0, "%s: notice created: got %d", what, rc))
		return false;
	check_structure(what, n, subject, part3_type);
	return n->nparts >= 3;
}

/* test_failure - a bounce with RET=FULL: fields per recipient, body attached */
static void
test_failure(void)
{
	const struct dsn_rcpt r[] = {
		{ .addr = "bob@site.example", .orcpt = "rfc822;bob+2Bx@site.example",
		  .notify = DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY, .action = DSN_ACTION_FAILED,
		  .status = "5.1.1", .remote_mta = "mx.site.example",
		  .diagnostic = "smtp; 550 5.1.1 <bob@site.example>: no such user",
		  .last_attempt = params.now - 60 },
		{ .addr = "carol@site.example", .notify = 0, .action = DSN_ACTION_FAILED,
		  .status = "4.4.7" },
		{ .addr = "dave@site.example", .notify = DSN_NOTIFY_NEVER,
		  .action = DSN_ACTION_FAILED, .status = "5.0.0" },
	};
	struct notice n;
	char *st, *g, *text;

	if (!notice_made("failure", DSN_RET_FULL, r, 3, "Undelivered Mail Returned to Sender",
	    "message/rfc822", &n))
		goto out;
	/* DSN_TEST_DUMP=1 shows a whole notice, for a human to read. */
	if (getenv("DSN_TEST_DUMP") != NULL)
		fwrite(n.data, 1, n.len, stderr);
	text = part_copy(&n, 0);
	ok(strstr(text, "<bob@site.example>") != NULL && strstr(text, "550 5.1.1") != NULL,
	    "failure: text names bob and the reason");
	ok(strstr(text, "<carol@site.example>") != NULL, "failure: text names carol");
	ok(strstr(text, "dave@") == NULL, "failure: NOTIFY=NEVER dave left out of the text");
	free(text);
	st = part_body(&n, 1);
	ok(header_is(st, "Reporting-MTA", "dns; mx.test"), "failure: Reporting-MTA");
	ok(header_is(st, "Original-Envelope-Id", "ENV 123"), "failure: Original-Envelope-Id");
	ok(has_header(st, "Arrival-Date"), "failure: Arrival-Date");
	g = rcpt_group(st, "bob@site.example");
	ok(g != NULL, "failure: group for bob");
	if (g != NULL) {
		ok(header_is(g, "Original-Recipient", "rfc822;bob+x@site.example"),
		    "failure: bob Original-Recipient xtext-decoded");
		ok(header_is(g, "Action", "failed"), "failure: bob Action");
		ok(header_is(g, "Status", "5.1.1"), "failure: bob Status");
		ok(header_is(g, "Remote-MTA", "dns; mx.site.example"), "failure: bob Remote-MTA");
		ok(header_is(g, "Diagnostic-Code",
		    "smtp; 550 5.1.1 <bob@site.example>: no such user"), "failure: bob Diagnostic-Code");
		ok(has_header(g, "Last-Attempt-Date"), "failure: bob Last-Attempt-Date");
		ok(!has_header(g, "Will-Retry-Until"), "failure: no Will-Retry-Until");
	}
	free(g);
	g = rcpt_group(st, "carol@site.example");
	ok(g != NULL, "failure: group for carol (absent NOTIFY means FAILURE)");
	if (g != NULL) {
		ok(!has_header(g, "Original-Recipient"), "failure: carol without ORCPT");
		ok(header_is(g, "Status", "4.4.7"), "failure: carol Status");
		ok(header_is(g, "Action", "failed"), "failure: carol Action");
	}
	free(g);
	ok(rcpt_group(st, "dave@site.example") == NULL, "failure: dave (NEVER) left out");
	free(st);
	text = part_copy(&n, 2);
	ok(strstr(text, "BODY-MARKER") != NULL, "failure: RET=FULL attaches the body");
	ok(strstr(text, "Subject: quarterly report\r\n") != NULL, "failure: and the headers");
	free(text);
out:
	notice_free(&n);
}

/* test_delay - a delay notice: Will-Retry-Until, headers only even with RET=FULL */
static void
test_delay(void)
{
	const struct dsn_rcpt r[] = {
		{ .addr = "bob@site.example", .orcpt = "rfc822;bob+2Bx@site.example",
		  .notify = DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY, .action = DSN_ACTION_DELAYED,
		  .status = "4.4.1", .diagnostic = "connect to site.example: refused" },
		{ .addr = "erin@site.example", .notify = DSN_NOTIFY_SUCCESS,
		  .action = DSN_ACTION_DELAYED, .status = "4.4.1" },
	};
	struct notice n;
	char *st, *g, *text;

	if (!notice_made("delay", DSN_RET_FULL, r, 2, "Delayed Mail (still being retried)",
	    "text/rfc822-headers", &n))
		goto out;
	text = part_copy(&n, 0);
	ok(strstr(text, "5 days") != NULL, "delay: text says how long we keep trying");
	free(text);
	st = part_body(&n, 1);
	g = rcpt_group(st, "bob@site.example");
	ok(g != NULL && header_is(g, "Action", "delayed"), "delay: bob Action delayed");
	ok(g != NULL && header_is(g, "Diagnostic-Code", "smtp; connect to site.example: refused"),
	    "delay: a diagnostic without a type gets smtp;");
	ok(g != NULL && has_header(g, "Will-Retry-Until"), "delay: Will-Retry-Until");
	free(g);
	ok(rcpt_group(st, "erin@site.example") == NULL, "delay: NOTIFY=SUCCESS erin left out");
	free(st);
	text = part_copy(&n, 2);
	ok(strstr(text, "BODY-MARKER") == NULL && strstr(text, "Subject: quarterly report") != NULL,
	    "delay: headers only, even with RET=FULL");
	free(text);
out:
	notice_free(&n);
}

/* test_ret - RET=HDRS and an absent RET attach the headers only */
static void
test_ret(void)
{
	const struct dsn_rcpt r[] = {
		{ .addr = "bob@site.example", .notify = DSN_NOTIFY_FAILURE,
		  .action = DSN_ACTION_FAILED, .status = "5.1.1" },
	};
	const enum dsn_ret rets[] = { DSN_RET_HDRS, DSN_RET_UNSET };
	struct notice n;
	char *text;
	size_t i;

	for (i = 0; i < 2; i++) {
		if (notice_made(rets[i] == DSN_RET_HDRS ? "RET=HDRS" : "RET unset", rets[i],
		    r, 1, "Undelivered Mail Returned to Sender", "text/rfc822-headers", &n)) {
			text = part_copy(&n, 2);
			ok(strstr(text, "BODY-MARKER") == NULL &&
			    strstr(text, "Message-ID: <orig.1@sender.example>\r\n") != NULL,
			    "ret %d: headers, no body", (int)rets[i]);
			free(text);
		}
		notice_free(&n);
	}
}

/* test_none_due - null sender, NEVER, nobody wanting it: 1 and no file */
static void
test_none_due(void)
{
	const struct dsn_rcpt fail = { .addr = "bob@site.example", .notify = 0,
	    .action = DSN_ACTION_FAILED };
	const struct dsn_rcpt never = { .addr = "dave@site.example",
	    .notify = DSN_NOTIFY_NEVER, .action = DSN_ACTION_FAILED };
	const struct dsn_rcpt success = { .addr = "bob@site.example", .notify = 0,
	    .action = DSN_ACTION_DELIVERED };
	struct dsn_params pm = params;
	struct envelope *orig;
	struct notice n;
	char id[QUEUE_ID_LEN + 1];

	ok(make_dsn("", plain_msg, sizeof(plain_msg) - 1, DSN_RET_FULL, &fail, 1, &params,
	    &n, NULL) == 1, "null sender: no notice");
	ok(make_dsn(SENDER, plain_msg, sizeof(plain_msg) - 1, DSN_RET_FULL, &never, 1,
	    &params, &n, NULL) == 1, "NOTIFY=NEVER: no notice");
	ok(make_dsn(SENDER, plain_msg, sizeof(plain_msg) - 1, DSN_RET_FULL, &success, 1,
	    &params, &n, NULL) == 1, "success without NOTIFY=SUCCESS: no notice");
	ok(make_dsn(SENDER, plain_msg, sizeof(plain_msg) - 1, DSN_RET_FULL, &fail, 0,
	    &params, &n, NULL) == 1, "no recipients: no notice");

	/* Null-sender mail may be reported to the postmaster instead. */
	pm.recipient = "postmaster@mx.test";
	ok(make_dsn("", plain_msg, sizeof(plain_msg) - 1, DSN_RET_FULL, &fail, 1, &pm,
	    &n, NULL) == 0, "null sender with recipient override: notice created");
	ok(n.env != NULL && strcmp(n.env->rcpt[0].addr, "postmaster@mx.test") == 0 &&
	    strcmp(n.env->sender, "") == 0, "override: to the postmaster from <>");
	ok(header_is(n.data, "To", "<postmaster@mx.test>"), "override: To header");
	notice_free(&n);

	/* The original must still be there. */
	orig = queue_original(SENDER, plain_msg, sizeof(plain_msg) - 1, DSN_RET_FULL);
	queue_remove(qdir, orig->id);
	errno = 0;
	ok(dsn_create(qdir, orig->id, orig, &fail, 1, &params, id) == -1 && errno == ENOENT,
	    "original gone: -1 with ENOENT: got %s", strerror(errno));
	envelope_free(&orig);
}

/* test_success - NOTIFY=SUCCESS and a delivery: a success report */
static void
test_success(void)
{
	const struct dsn_rcpt r = { .addr = "erin@site.example", .notify = DSN_NOTIFY_SUCCESS,
	    .action = DSN_ACTION_DELIVERED, .remote_mta = "dns; mx.site.example",
	    .diagnostic = "smtp; 250 2.0.0 ok" };
	struct notice n;
	char *st, *g;

	if (notice_made("success", DSN_RET_FULL, &r, 1, "Successful Mail Delivery Report",
	    "text/rfc822-headers", &n)) {
		st = part_body(&n, 1);
		g = rcpt_group(st, "erin@site.example");
		ok(g != NULL && header_is(g, "Action", "delivered") &&
		    header_is(g, "Status", "2.0.0") &&
		    header_is(g, "Remote-MTA", "dns; mx.site.example"),
		    "success: delivered, 2.0.0 by default, typed Remote-MTA kept");
		free(g);
		free(st);
	}
	notice_free(&n);
}

/* test_long_lines - huge header and body lines, long diagnostics: none over 998 */
static void
test_long_lines(void)
{
	struct dsn_rcpt r = { .addr = "bob@site.example", .notify = 0,
	    .action = DSN_ACTION_FAILED, .status = "5.3.4" };
	char *content, *diag, *text;
	size_t clen, i;
	struct notice n;
	enum dsn_ret ret;

	/* One unbroken 5000-octet header, a folded 3000-octet one, a 3000-octet body line. */
	content = xmalloc(20000);
	clen = (size_t)sprintf(content, "X-Huge: ");
	for (i = 0; i < 5000; i++)
		content[clen++] = (char)('a' + i % 26);
	clen += (size_t)sprintf(content + clen, "\r\nX-Words:");
	for (i = 0; i < 500; i++)
		clen += (size_t)sprintf(content + clen, " word%zu", i % 10);
	clen += (size_t)sprintf(content + clen, "\r\nSubject: long\r\n\r\n");
	for (i = 0; i < 3000; i++)
		content[clen++] = 'b';
	clen += (size_t)sprintf(content + clen, "\r\nBODY-MARKER\r\n");
	diag = xmalloc(3100);
	i = (size_t)sprintf(diag, "smtp; 552 5.3.4 ");
	memset(diag + i, 'x', 3000);
	diag[i + 3000] = '\0';
	r.diagnostic = diag;
	for (ret = DSN_RET_FULL; ret <= DSN_RET_HDRS; ret++) {
		ok(make_dsn(SENDER, content, clen, ret, &r, 1, &params, &n, NULL) == 0,
		    "long lines, ret %d: notice created", (int)ret);
		check_lines(ret == DSN_RET_FULL ? "long lines, RET=FULL" : "long lines, RET=HDRS",
		    n.data, n.len);
		ok(n.nparts == 3 && n.closed, "long lines, ret %d: three parts", (int)ret);
		if (n.nparts == 3) {
			text = part_copy(&n, 2);
			ok(strstr(text, "\r\n abcdef") != NULL || strstr(text, "\r\n ") != NULL,
			    "long lines, ret %d: the long header was folded", (int)ret);
			ok((strstr(text, "BODY-MARKER") != NULL) == (ret == DSN_RET_FULL),
			    "long lines, ret %d: body only with RET=FULL", (int)ret);
			free(text);
		}
		notice_free(&n);
	}
	free(diag);
	free(content);
}

/* test_big - RET=FULL past DSN_FULL_MAX falls back to the headers */
static void
test_big(void)
{
	const struct dsn_rcpt r = { .addr = "bob@site.example", .action = DSN_ACTION_FAILED };
	size_t clen = DSN_FULL_MAX + 100, i;
	char *content = xmalloc(clen), *text;
	struct notice n;

	memcpy(content, plain_msg, sizeof(plain_msg) - 1);
	/* Body lines of 78 octets up to the end. */
	for (i = sizeof(plain_msg) - 1; i < clen; i++)
		content[i] = (i - sizeof(plain_msg) + 1) % 80 == 78 ? '\r' :
		    (i - sizeof(plain_msg) + 1) % 80 == 79 ? '\n' : 'z';
	memcpy(content + clen - 2, "\r\n", 2);
	ok(make_dsn(SENDER, content, clen, DSN_RET_FULL, &r, 1, &params, &n, NULL) == 0,
	    "big: notice created");
	ok(n.nparts == 3 && header_is(n.part[2], "Content-Type", "text/rfc822-headers"),
	    "big: over DSN_FULL_MAX, RET=FULL returns the headers");
	ok(n.len < 64 * 1024, "big: notice is small: %zu octets", n.len);
	if (n.nparts == 3) {
		text = part_copy(&n, 2);
		ok(strstr(text, "Subject: quarterly report\r\n") != NULL &&
		    strstr(text, "BODY-MARKER") == NULL, "big: headers, no body");
		free(text);
	}
	notice_free(&n);
	/* Just under the limit, the whole message comes back. */
	ok(make_dsn(SENDER, content, DSN_FULL_MAX, DSN_RET_FULL, &r, 1, &params, &n, NULL) == 0,
	    "big: notice at DSN_FULL_MAX created");
	ok(n.nparts == 3 && header_is(n.part[2], "Content-Type", "message/rfc822") &&
	    n.len > DSN_FULL_MAX, "big: at DSN_FULL_MAX, the whole message: %zu octets", n.len);
	check_lines("big", n.data, n.len);
	notice_free(&n);
	free(content);
}

/* test_8bit - an 8-bit original makes the report say Content-Transfer-Encoding: 8bit */
static void
test_8bit(void)
{
	static const char msg8[] = "Subject: caf\xc3\xa9\r\n\r\nna\xc3\xafve\r\n";
	const struct dsn_rcpt r = { .addr = "bob@site.example", .action = DSN_ACTION_FAILED,
	    .diagnostic = "smtp; 550 \xff\x01 bad\r\n550 second line" };
	struct notice n;

	char *v;

	ok(make_dsn(SENDER, msg8, sizeof(msg8) - 1, DSN_RET_FULL, &r, 1, &params, &n, NULL) == 0,
	    "8bit: notice created");
	ok(header_is(n.data, "Content-Transfer-Encoding", "8bit"), "8bit: top-level 8bit");
	ok(n.nparts == 3 && header_is(n.part[2], "Content-Transfer-Encoding", "8bit"),
	    "8bit: part 3 8bit");
	ok(n.nparts == 3 && !has_header(n.part[1], "Content-Transfer-Encoding"),
	    "8bit: part 2 stays 7bit");
	check_lines("8bit", n.data, n.len);
	if (n.nparts == 3) {
		char *st = part_body(&n, 1);
		char *g = rcpt_group(st, "bob@site.example");

		v = g != NULL ? header_value(g, "Diagnostic-Code") : NULL;
		ok(v != NULL && strcmp(v, "smtp; 550 ? bad 550 second line") == 0,
		    "8bit: diagnostic cleaned to one ASCII line: got %s", v ? v : "(none)");
		free(v);
		free(g);
		free(st);
	}
	notice_free(&n);
}

/* test_notify - the daily customer notice */
static void
test_notify(void)
{
	char id[QUEUE_ID_LEN + 1];
	struct notice n;

	char *s;

	ok(dsn_create_notify(qdir, "site.example", "admin@site.example", 0, 5, &params, id) == 1,
	    "notify: nothing expiring, nothing sent");
	ok(dsn_create_notify(qdir, "site.example", "admin@site.example", 3, 17, &params, id) == 0,
	    "notify: created");
	if (notice_read(id, &n) == -1) {
		ok(false, "notify: read back: %s", strerror(errno));
		return;
	}
	ok(strcmp(n.env->sender, "") == 0 && n.env->nrcpt == 1 &&
	    strcmp(n.env->rcpt[0].addr, "admin@site.example") == 0 &&
	    n.env->rcpt[0].notify == DSN_NOTIFY_NEVER, "notify: envelope <> -> admin, NEVER");
	check_lines("notify", n.data, n.len);
	ok(header_is(n.data, "Content-Type", "text/plain; charset=us-ascii"), "notify: text/plain");
	ok(header_is(n.data, "Auto-Submitted", "auto-generated"), "notify: auto-generated");
	ok(header_is(n.data, "To", "<admin@site.example>"), "notify: To");
	s = header_value(n.data, "Message-ID");
	ok(s != NULL && strncmp(s + 1, id, QUEUE_ID_LEN) == 0, "notify: Message-ID has the ID");
	free(s);
	s = header_value(n.data, "Subject");
	ok(s != NULL && strstr(s, "3 messages") != NULL, "notify: subject counts: %s", s ? s : "");
	free(s);
	ok(strstr(body_of(n.data), "17") != NULL, "notify: body gives the total");
	notice_free(&n);
	ok(dsn_create_notify(qdir, "site.example", "not an address", 3, 17, &params, id) == -1 &&
	    errno == EINVAL, "notify: bad address refused with EINVAL");
}

/*
 * test_python_parse - a mail library we did not write parses the report
 * (Python's email package), when python3 is installed.
 */
static void
test_python_parse(void)
{
	static const char script[] =
	    "import sys, email\n"
	    "m = email.message_from_binary_file(open(sys.argv[1], 'rb'))\n"
	    "assert m.get_content_type() == 'multipart/report', m.get_content_type()\n"
	    "assert m.get_param('report-type') == 'delivery-status'\n"
	    "p = m.get_payload()\n"
	    "assert [x.get_content_type() for x in p] == ['text/plain', "
	    "'message/delivery-status', 'message/rfc822'], [x.get_content_type() for x in p]\n"
	    "ds = p[1].get_payload()\n"
	    "assert ds[1]['Final-Recipient'] == 'rfc822; bob@site.example', ds[1]['Final-Recipient']\n"
	    "assert ds[1]['Action'] == 'failed' and ds[1]['Status'] == '5.1.1'\n"
	    "assert p[2].get_payload()[0]['Subject'] == 'quarterly report'\n";
	const struct dsn_rcpt r = { .addr = "bob@site.example", .action = DSN_ACTION_FAILED,
	    .status = "5.1.1" };
	char path[300], spath[300], *cmd;
	struct notice n;
	FILE *f;
	int st;

	if (system("python3 -c 'import email' >/dev/null 2>&1") != 0) {
		printf("ok %d - # SKIP python3 not installed\n", ++tap_count);
		return;
	}
	if (make_dsn(SENDER, plain_msg, sizeof(plain_msg) - 1, DSN_RET_FULL, &r, 1, &params,
	    &n, NULL) != 0) {
		ok(false, "python: notice created");
		return;
	}
	snprintf(path, sizeof(path), "%s.eml", qdir);
	snprintf(spath, sizeof(spath), "%s.py", qdir);
	if ((f = fopen(path, "wb")) != NULL) {
		fwrite(n.data, 1, n.len, f);
		fclose(f);
	}
	if ((f = fopen(spath, "w")) != NULL) {
		fputs(script, f);
		fclose(f);
	}
	cmd = xasprintf("python3 %s %s", spath, path);
	st = system(cmd);
	ok(st == 0, "python's email package parses the report as expected");
	free(cmd);
	unlink(path);
	unlink(spath);
	notice_free(&n);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(qdir, sizeof(qdir), "%s/dsn_test.XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
	if (mkdtemp(qdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(logpath, sizeof(logpath), "%s.log", qdir);
	log_init("dsn_test");
	if (log_set_dest(LOG_DEST_FILE, logpath) == -1)
		log_set_dest(LOG_DEST_STDERR, NULL);
	if (queue_init_dirs(qdir) == -1) {
		perror("queue_init_dirs");
		return 1;
	}
	test_needed();
	test_failure();
	test_delay();
	test_ret();
	test_none_due();
	test_success();
	test_long_lines();
	test_big();
	test_8bit();
	test_notify();
	test_python_parse();
	nftw(qdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	unlink(logpath);
	return tap_done();
}
