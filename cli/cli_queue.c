/*
 * cli_queue - sluice queue: list, summary, show, delete, reindex
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

/* lib/mail */
#include "mail/address.h"
#include "mail/conf.h"
#include "mail/proto.h"
#include "mail/proto_rec.h"
#include "mail/qctl.h"
#include "mail/queue.h"
/* lib/util */
#include "util/ipc.h"
#include "util/xmalloc.h"
/* this program */
#include "cli/cli.h"

/* Queue IDs one request carries: well under IPC_FIELDS_MAX and IPC_RECORD_MAX. */
#define CLI_IDS_PER_REQ	500

/*
 * What selects messages in queue list, count and delete (exiqgrep's
 * -f, -r, -o, -y; --domain goes to qmgr, which lists a domain from its
 * own index). Unset: NULL, or -1 for the ages.
 */
struct cli_filter {
	char *sender;		/* "<>" for the null sender */
	char *recipient;
	long long older;	/* seconds */
	long long younger;
};

/* One request in flight: what the reply records are collected into. */
struct cli_q {
	struct cli *cli;
	const char *what;	/* "queue list", for messages */
	/* handles one reply record other than type=end; 0, or -1 if malformed */
	int (*on_rec)(struct cli_q *q, const struct ipc_rec *rec);
	bool ended;
	char *reason;		/* type=end status=error reason=, or NULL */
	bool denied;		/* type=end status=denied: qmgr refused the caller */
	unsigned long long malformed;

	bool json;
	char host[256];
	unsigned long long count, bytes;
	const struct cli_filter *filter;	/* queue list|count|delete: what to keep */
	time_t now;
	struct cli_qmsg msg;	/* ... the message whose entries are coming in */
	bool quiet;		/* ... count only: print no message */
	char **picked;		/* ... delete: the IDs the filter kept */
	size_t npicked;
	struct cli_summary_row *rows;
	size_t nrows;
	struct cli_summary_row total;	/* queue summary: qmgr's TOTAL row */
	bool has_total;
	const struct cli_act *act;	/* queue delete|hold|...: its row */
	const char *domain;	/* ... its --domain */
	char **ids;		/* ... the IDs asked for */
	bool *gone;		/* ... and which of them came back acted on */
	size_t nids;
};

/* cli_q_emit - qctl_emit_fn: the end record here, the others by q->on_rec */
static int
cli_q_emit(const struct ipc_rec *rec, void *ctx)
{
	struct cli_q *q = ctx;
	struct proto_reply end;

	if (q->ended)
		return -1;
	if (strcmp(ipc_rec_type(rec), PROTO_T_END) == 0) {
		q->ended = true;
		if (proto_reply_decode(rec, PROTO_T_END, &end, "qmgr") < 0)
			end.status = PROTO_STATUS_ERROR;
		if (end.status != PROTO_STATUS_OK) {
			q->denied = end.status == PROTO_STATUS_DENIED;
			q->reason = xstrdup(end.reason != NULL ? end.reason : "request failed");
		} else if (end.reason != NULL)
			/* A note from qmgr (its index still being reconciled): the answer stands. */
			cli_err("%s: note: %s", q->what, end.reason);
		return 0;
	}
	if (q->on_rec(q, rec) < 0) {
		/* Report and go on: one bad record should not hide the rest. */
		if (q->malformed++ == 0)
			cli_err("%s: malformed %s record in reply; skipped", q->what,
			    ipc_rec_type(rec));
	}
	return 0;
}

/* cli_q_run - send req and collect the replies into q; an EX_* code */
static int
cli_q_run(struct cli_q *q, const struct ipc_rec *req)
{
	char *why = NULL;
	int ret;

	if ((ret = cli_config_need(q->cli)) != 0)
		return ret;
	if ((ret = cli_request(q->cli, q->what, req, cli_q_emit, q, &why)) != 0) {
		if (why != NULL)
			cli_err("%s: %s", q->what, why);
		free(why);
		return ret;
	}
	if (!q->ended) {
		cli_err("%s: reply ended early", q->what);
		return EX_PROTOCOL;
	}
	if (q->reason != NULL) {
		cli_err("%s: %s", q->what, q->reason);
		return q->denied ? EX_NOPERM : EX_UNAVAILABLE;
	}
	return q->malformed > 0 ? EX_PROTOCOL : EX_OK;
}

/* cli_q_clear - release what the replies left in q */
static void
cli_q_clear(struct cli_q *q)
{
	size_t i;

	free(q->reason);
	free(q->rows);
	cli_qmsg_clear(&q->msg);
	for (i = 0; i < q->npicked; i++)
		free(q->picked[i]);
	free(q->picked);
	for (i = 0; i < q->nids; i++)
		free(q->ids[i]);
	free(q->ids);
	free(q->gone);
}

/*
 * cli_domain_arg - take a --domain argument: a valid domain, lowercased
 * as the index keys are. New string, or NULL after a message.
 */
static char *
cli_domain_arg(const char *what, const char *arg)
{
	char *d, *p;

	if (!address_domain_ok(arg, strlen(arg))) {
		cli_err("%s: --domain %s: not a domain name", what, arg);
		return NULL;
	}
	d = xstrdup(arg);
	for (p = d; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

/*
 * cli_id_arg - take a queue ID argument, accepting lowercase hex as a
 * convenience. New string, or NULL after a message.
 */
static char *
cli_id_arg(const char *what, const char *arg)
{
	char *id = xstrdup(arg), *p;

	for (p = id; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	if (!queue_id_ok(id)) {
		cli_err("%s %s: not a queue ID (%d hexadecimal digits)", what, arg,
		    QUEUE_ID_LEN);
		free(id);
		return NULL;
	}
	return id;
}

/*
 * cli_age_arg - an age as exiqgrep takes one: a number and a unit, s, m,
 * h, d or w (seconds when none): "30m", "2h", "3d". Seconds, or -1.
 */
static long long
cli_age_arg(const char *what, const char *opt, const char *arg)
{
	static const struct {
		char unit;
		long long secs;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 } };
	unsigned long long n;
	char *end;
	size_t i;

	errno = 0;
	n = strtoull(arg, &end, 10);
	if (end != arg && isdigit((unsigned char)arg[0]) && errno == 0 && n < (1ULL << 40)) {
		if (*end == '\0')
			return (long long)n;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (end[0] == units[i].unit && end[1] == '\0')
				return (long long)n * units[i].secs;
	}
	cli_err("%s: %s %s: not an age; give a number and a unit s, m, h, d or w, "
	    "as 30m, 2h or 3d", what, opt, arg);
	return -1;
}

/* cli_addr_arg - a --sender/--recipient pattern: ADDR, @DOMAIN or <>; copy or NULL */
static char *
cli_addr_arg(const char *what, const char *opt, const char *arg)
{
	const char *at = strrchr(arg, '@');

	if (strcmp(arg, "<>") == 0 ||
	    (arg[0] == '@' && address_domain_ok(arg + 1, strlen(arg + 1))) ||
	    (at != NULL && at != arg && address_mailbox_ok(arg)))
		return xstrdup(arg);
	cli_err("%s: %s %s: give an address (user@example.org), a domain as @example.org, "
	    "or <> for the null sender", what, opt, arg);
	return NULL;
}

/* The options that take a value, as the queue commands accept them. */
enum cli_opt { CLI_OPT_DOMAIN, CLI_OPT_SENDER, CLI_OPT_RECIPIENT, CLI_OPT_OLDER,
	CLI_OPT_YOUNGER };
static const char *const cli_opt_names[] = {
	[CLI_OPT_DOMAIN] = "--domain", [CLI_OPT_SENDER] = "--sender",
	[CLI_OPT_RECIPIENT] = "--recipient", [CLI_OPT_OLDER] = "--older-than",
	[CLI_OPT_YOUNGER] = "--younger-than",
};

/* cli_opt_set - take the value of option o; 0 or EX_USAGE */
static int
cli_opt_set(const char *what, enum cli_opt o, const char *val, char **domain_r,
    struct cli_filter *f)
{
	const char *name = cli_opt_names[o];

	switch (o) {
	case CLI_OPT_DOMAIN:
		free(*domain_r);
		*domain_r = cli_domain_arg(what, val);
		return *domain_r != NULL ? 0 : EX_USAGE;
	case CLI_OPT_SENDER:
		free(f->sender);
		f->sender = cli_addr_arg(what, name, val);
		return f->sender != NULL ? 0 : EX_USAGE;
	case CLI_OPT_RECIPIENT:
		free(f->recipient);
		f->recipient = cli_addr_arg(what, name, val);
		return f->recipient != NULL ? 0 : EX_USAGE;
	case CLI_OPT_OLDER:
		return (f->older = cli_age_arg(what, name, val)) < 0 ? EX_USAGE : 0;
	case CLI_OPT_YOUNGER:
		return (f->younger = cli_age_arg(what, name, val)) < 0 ? EX_USAGE : 0;
	}
	return EX_USAGE;
}

/*
 * cli_opts - the options of the queue commands: --json (when json is
 * not NULL), --domain D (when domain_r is not NULL) and the filters
 * (when f is not NULL), each as --opt VALUE or --opt=VALUE. Other
 * arguments ("-" too) are left in place, counted in *nargs_r. 0, or
 * EX_USAGE.
 */
static int
cli_opts(const char *what, int argc, char **argv, bool *json, char **domain_r,
    struct cli_filter *f, int *nargs_r)
{
	const char *val;
	size_t o, len;
	int i, n = 0;

	for (i = 0; i < argc; i++) {
		if (json != NULL && strcmp(argv[i], "--json") == 0) {
			*json = true;
			continue;
		}
		if (argv[i][0] != '-' || strcmp(argv[i], "-") == 0) {
			argv[n++] = argv[i];
			continue;
		}
		for (o = 0; o < sizeof(cli_opt_names) / sizeof(cli_opt_names[0]); o++) {
			if ((o == CLI_OPT_DOMAIN ? domain_r == NULL : f == NULL))
				continue;
			len = strlen(cli_opt_names[o]);
			if (strncmp(argv[i], cli_opt_names[o], len) == 0 &&
			    (argv[i][len] == '=' || argv[i][len] == '\0'))
				break;
		}
		if (o == sizeof(cli_opt_names) / sizeof(cli_opt_names[0])) {
			cli_err("%s: unknown option %s", what, argv[i]);
			return EX_USAGE;
		}
		if (argv[i][len] == '=') {
			val = argv[i] + len + 1;
		} else if (++i == argc) {
			cli_err("%s: %s needs a value", what, cli_opt_names[o]);
			return EX_USAGE;
		} else {
			val = argv[i];
		}
		if (cli_opt_set(what, (enum cli_opt)o, val, domain_r, f) != 0)
			return EX_USAGE;
	}
	*nargs_r = n;
	return 0;
}

/* cli_filter_set - does f select anything by sender, recipient or age? */
static bool
cli_filter_set(const struct cli_filter *f)
{
	return f->sender != NULL || f->recipient != NULL || f->older >= 0 || f->younger >= 0;
}

/* cli_filter_clear - release the patterns of f */
static void
cli_filter_clear(struct cli_filter *f)
{
	free(f->sender);
	free(f->recipient);
}

/*
 * cli_addr_match - does addr match pattern? Case-insensitively, the
 * whole address, or with "@domain" its domain part; "<>" the null sender.
 */
static bool
cli_addr_match(const char *pattern, const char *addr)
{
	size_t plen = strlen(pattern), alen = strlen(addr);

	if (strcmp(pattern, "<>") == 0)
		return addr[0] == '\0';
	if (pattern[0] == '@')
		return alen > plen && strcasecmp(addr + alen - plen, pattern) == 0;
	return strcasecmp(pattern, addr) == 0;
}

/* cli_filter_match - does message m pass every filter of f (at now)? */
static bool
cli_filter_match(const struct cli_filter *f, const struct cli_qmsg *m, time_t now)
{
	long long age = (long long)now - (long long)m->arrival;
	size_t i, k;
	bool found;

	if (f->sender != NULL && !cli_addr_match(f->sender, m->sender))
		return false;
	if (f->older >= 0 && !(m->arrival <= (unsigned long long)now && age >= f->older))
		return false;
	if (f->younger >= 0 && !(m->arrival > (unsigned long long)now || age < f->younger))
		return false;
	if (f->recipient == NULL)
		return true;
	found = false;
	for (i = 0; i < m->ndom && !found; i++)
		for (k = 0; k < m->dom[i].nrcpt && !found; k++)
			found = cli_addr_match(f->recipient, m->dom[i].rcpt[k]);
	return found;
}

/* cli_q_host - the host name the JSON names: myhostname, else the kernel's */
static void
cli_q_host(struct cli_q *q)
{
	if (q->cli->cfg != NULL && q->cli->cfg->myhostname[0] != '\0')
		snprintf(q->host, sizeof(q->host), "%s", q->cli->cfg->myhostname);
	else if (gethostname(q->host, sizeof(q->host) - 1) != 0)
		snprintf(q->host, sizeof(q->host), "localhost");
	q->host[sizeof(q->host) - 1] = '\0';
}

/* cli_list_done - a message is whole: show, count or pick it if it passes the filters */
static void
cli_list_done(struct cli_q *q)
{
	FILE *out = q->cli->out;

	if (q->msg.id[0] == '\0')
		return;
	if (q->filter == NULL || cli_filter_match(q->filter, &q->msg, q->now)) {
		if (q->picked != NULL || q->act != NULL) {
			q->picked = xreallocarray(q->picked, q->npicked + 1, sizeof(*q->picked));
			q->picked[q->npicked++] = xstrdup(q->msg.id);
		} else if (q->json) {
			cli_list_json(out, &q->msg, q->host);
		} else if (!q->quiet) {
			if (q->count == 0)
				cli_list_header(out);
			cli_list_text(out, &q->msg);
		}
		q->count++;
		q->bytes += q->msg.size;
	}
	cli_qmsg_clear(&q->msg);
}

/*
 * cli_list_rec - one type=entry reply of queue list. qmgr lists a
 * message's entries (one per domain) one after the other: a new ID
 * means that the one before is whole.
 */
static int
cli_list_rec(struct cli_q *q, const struct ipc_rec *rec)
{
	int ret = cli_qmsg_add(&q->msg, rec);

	if (ret == 1) {
		cli_list_done(q);
		ret = cli_qmsg_add(&q->msg, rec);
	}
	return ret < 0 ? -1 : 0;
}

/*
 * cli_list_run - send type=list [domain=D] and take its entries as whole
 * messages through q->filter (cli_list_done); an EX_* code.
 */
static int
cli_list_run(struct cli_q *q, const char *domain)
{
	struct ipc_rec *req = ipc_rec_new(PROTO_T_LIST);
	int ret;

	if (domain != NULL)
		ipc_rec_add(req, PROTO_F_DOMAIN, domain);
	q->on_rec = cli_list_rec;
	q->now = time(NULL);
	if ((ret = cli_config_need(q->cli)) == 0) {
		cli_q_host(q);
		ret = cli_q_run(q, req);
	}
	if (ret == EX_OK || ret == EX_PROTOCOL)
		cli_list_done(q);
	ipc_rec_free(&req);
	return ret;
}

/* cli_queue_list - queue list|count [--domain D] [filters] [--json] */
static int
cli_queue_list(struct cli *cli, int argc, char **argv)
{
	struct cli_filter f = { .older = -1, .younger = -1 };
	bool count = strcmp(argv[1], "count") == 0;
	struct cli_q q = { .cli = cli, .what = count ? "queue count" : "queue list",
		.filter = &f, .quiet = count };
	char *domain = NULL;
	int n, ret;

	if (cli_opts(q.what, argc - 2, argv + 2, count ? NULL : &q.json, &domain, &f,
	    &n) != 0 || n != 0) {
		free(domain);
		cli_filter_clear(&f);
		return cli_usage(stderr, q.what);
	}
	ret = cli_list_run(&q, domain);
	if (ret == EX_OK && count)
		fprintf(cli->out, "%llu\n", q.count);
	else if (ret == EX_OK && !q.json)
		cli_list_footer(cli->out, q.bytes, q.count);
	free(domain);
	cli_filter_clear(&f);
	cli_q_clear(&q);
	return ret;
}

/* cli_summary_rec - one type=domain reply of queue summary */
static int
cli_summary_rec(struct cli_q *q, const struct ipc_rec *rec)
{
	struct cli_summary_row row;

	if (cli_summary_parse(rec, &row) < 0)
		return -1;
	/* type=total: the whole queue, a message for two domains once. */
	if (strcmp(ipc_rec_type(rec), PROTO_T_TOTAL) == 0) {
		q->total = row;
		q->has_total = true;
		return 0;
	}
	q->rows = xreallocarray(q->rows, q->nrows + 1, sizeof(*q->rows));
	q->rows[q->nrows++] = row;
	return 0;
}

/* cli_row_cmp - qshape's order: most messages first, then by name */
static int
cli_row_cmp(const void *a, const void *b)
{
	const struct cli_summary_row *ra = a, *rb = b;

	if (ra->messages != rb->messages)
		return ra->messages > rb->messages ? -1 : 1;
	return strcmp(ra->domain, rb->domain);
}

/* cli_queue_summary - queue summary [--json] */
static int
cli_queue_summary(struct cli *cli, int argc, char **argv)
{
	struct cli_q q = { .cli = cli, .what = "queue summary", .on_rec = cli_summary_rec };
	struct cli_summary_row total = { .domain = "TOTAL" };
	struct ipc_rec *req;
	time_t now = time(NULL);
	bool fleet = false;
	size_t i;
	int n, ret, n_kept = 2;

	/* --fleet: every peer's queue too (cli_fleet.c). */
	for (i = 2; i < (size_t)argc; i++)
		if (strcmp(argv[i], "--fleet") == 0)
			fleet = true;
		else
			argv[n_kept++] = argv[i];
	argc = n_kept;
	if (cli_opts(q.what, argc - 2, argv + 2, &q.json, NULL, NULL, &n) != 0 || n != 0)
		return cli_usage(stderr, q.what);
	if (fleet)
		return cli_fleet_summary(cli, q.json);
	req = ipc_rec_new(PROTO_T_SUMMARY);
	ret = cli_q_run(&q, req);
	ipc_rec_free(&req);
	if (ret == EX_OK || ret == EX_PROTOCOL) {
		if (q.nrows > 0)
			qsort(q.rows, q.nrows, sizeof(*q.rows), cli_row_cmp);
		if (!q.json) {
			cli_summary_header(cli->out);
			/* An older qmgr sends no total: the sum, each message per domain. */
			if (q.has_total)
				total = q.total;
			else
				for (i = 0; i < q.nrows; i++)
					cli_summary_add(&total, &q.rows[i]);
			cli_summary_text(cli->out, &total, now);
		}
		for (i = 0; i < q.nrows; i++) {
			if (q.json)
				cli_summary_json(cli->out, &q.rows[i]);
			else
				cli_summary_text(cli->out, &q.rows[i], now);
		}
	}
	cli_q_clear(&q);
	return ret;
}

/* cli_read_error - an exit code and message for a failed queue file read */
static int
cli_read_error(struct cli *cli, const char *id, int err)
{
	const char *qdir = cli->cfg->queue_directory;

	switch (err) {
	case ENOENT:
		cli_err("queue show %s: no such message in %s/msg", id, qdir);
		return EX_NOINPUT;
	case EBADMSG:
		cli_err("queue show %s: damaged queue file, moved to %s/corrupt", id, qdir);
		return EX_DATAERR;
	case EACCES:
	case EPERM:
		cli_err("queue show %s: %s (run as the sluice user or root)", id,
		    strerror(err));
		return EX_NOPERM;
	default:
		cli_err("queue show %s: %s", id, strerror(err));
		return EX_IOERR;
	}
}

/* cli_put_field - "name: value" for a value that may be absent */
static void
cli_put_field(FILE *out, const char *name, const char *value)
{
	if (value == NULL)
		return;
	fprintf(out, "%s: ", name);
	cli_put_text(out, value);
	putc('\n', out);
}

/* cli_show_envelope - the envelope of a message, one "name: value" per line */
static void
cli_show_envelope(struct cli *cli, const struct envelope *env,
    const enum journal_status *st)
{
	static const char *const status_name[] = {
		[JOURNAL_PENDING] = "pending", [JOURNAL_DONE] = "delivered",
		[JOURNAL_BOUNCED] = "bounced", [JOURNAL_EXPIRED] = "expired",
		[JOURNAL_DELETED] = "deleted",
	};
	static const char *const ret_name[] = {
		[DSN_RET_UNSET] = NULL, [DSN_RET_FULL] = "FULL", [DSN_RET_HDRS] = "HDRS",
	};
	FILE *out = cli->out;
	char date[64], notify[64];
	struct tm tm;
	size_t i;

	if (localtime_r(&env->arrival, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		date[0] = '\0';
	fprintf(out, "queue_id: %s\n", env->id);
	fprintf(out, "arrival_time: %s (%lld)\n", date, (long long)env->arrival);
	fprintf(out, "message_size: %llu\n", (unsigned long long)env->content_size);
	fputs("sender: <", out);
	cli_put_text(out, env->sender);
	fputs(">\n", out);
	cli_put_field(out, "envid", env->envid);
	if ((size_t)env->ret < sizeof(ret_name) / sizeof(ret_name[0]))
		cli_put_field(out, "ret", ret_name[env->ret]);
	cli_put_field(out, "client_name", env->client_name);
	cli_put_field(out, "client_address", env->client_addr);
	cli_put_field(out, "helo", env->helo);
	cli_put_field(out, "protocol", env->protocol);
	cli_put_field(out, "auth_user", env->auth_user);
	for (i = 0; i < env->nrcpt; i++) {
		const struct envelope_rcpt *r = &env->rcpt[i];

		snprintf(notify, sizeof(notify), "%s%s%s%s",
		    r->notify & DSN_NOTIFY_NEVER ? ",NEVER" : "",
		    r->notify & DSN_NOTIFY_SUCCESS ? ",SUCCESS" : "",
		    r->notify & DSN_NOTIFY_FAILURE ? ",FAILURE" : "",
		    r->notify & DSN_NOTIFY_DELAY ? ",DELAY" : "");
		fputs("recipient: <", out);
		cli_put_text(out, r->addr);
		fprintf(out, "> status=%s",
		    st != NULL && (size_t)st[i] < sizeof(status_name) / sizeof(status_name[0]) ?
		    status_name[st[i]] : "unknown");
		if (notify[0] != '\0')
			fprintf(out, " notify=%s", notify + 1);
		if (r->orcpt != NULL) {
			fputs(" orcpt=", out);
			cli_put_text(out, r->orcpt);
		}
		putc('\n', out);
	}
}

/*
 * cli_show_content - copy the message content from fd, len bytes: its
 * header (up to the first empty line) when header, the rest when body,
 * turning CRLF into the local newline. A CR not before LF, like any
 * control byte but tab, shows as '?': the bytes came from a client and
 * must not drive the terminal. 0, or -1 with errno on a read error.
 */
static int
cli_show_content(FILE *out, int fd, uint64_t len, bool header, bool body)
{
	char buf[8192];
	bool bol = true, cr = false, in_body = false, show = header;
	ssize_t n, i;

	while (len > 0) {
		n = read(fd, buf, len < sizeof(buf) ? (size_t)len : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EBADMSG;
			return -1;
		}
		len -= (uint64_t)n;
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)buf[i];

			if (c == '\n') {
				if (bol && !in_body) {
					/* The empty line ends the header; the body follows it. */
					in_body = true;
					if (!body)
						return 0;
					if (header)
						putc('\n', out);
					show = true;
					cr = false;
					continue;
				}
				if (show)
					putc('\n', out);
				bol = true;
				cr = false;
				continue;
			}
			if (cr && show)
				putc('?', out);
			cr = c == '\r';
			if (cr)
				continue;
			if (show)
				putc((c < 0x20 && c != '\t') || c == 0x7f ? '?' : c, out);
			bol = false;
		}
	}
	if (!bol && show)
		putc('\n', out);
	return 0;
}

/* The parts queue show prints: --envelope, --header, --body (postcat -e, -h, -b). */
static const struct {
	const char *opt;
	unsigned bit;
} cli_show_parts[] = {
	{ "--envelope", 1 }, { "--header", 2 }, { "--body", 4 },
};

/*
 * cli_queue_show - queue show ID [--envelope] [--header] [--body]: the
 * parts asked for, in that order; envelope and header when none is.
 */
static int
cli_queue_show(struct cli *cli, int argc, char **argv)
{
	struct queue_msg m;
	enum journal_status *st = NULL;
	unsigned parts = 0;
	char *id = NULL;
	size_t k;
	int ret, i;

	for (i = 2; i < argc; i++) {
		for (k = 0; k < sizeof(cli_show_parts) / sizeof(cli_show_parts[0]); k++)
			if (strcmp(argv[i], cli_show_parts[k].opt) == 0)
				break;
		if (k < sizeof(cli_show_parts) / sizeof(cli_show_parts[0])) {
			parts |= cli_show_parts[k].bit;
			continue;
		}
		if (argv[i][0] == '-' || id != NULL) {
			if (argv[i][0] == '-')
				cli_err("queue show: unknown option %s", argv[i]);
			free(id);
			return cli_usage(stderr, "queue show");
		}
		if ((id = cli_id_arg("queue show", argv[i])) == NULL)
			return EX_NOINPUT;
	}
	if (id == NULL)
		return cli_usage(stderr, "queue show");
	if (parts == 0)
		parts = 1 | 2;
	if ((ret = cli_config_need(cli)) != 0 ||
	    (ret = cli_become_queue_owner(cli, "queue show")) != 0) {
		free(id);
		return ret;
	}
	/* The queue file is the truth: read it directly (once), qmgr or not. */
	if (queue_open(cli->cfg->queue_directory, id, &m) < 0) {
		ret = cli_read_error(cli, id, errno);
		free(id);
		return ret;
	}
	if (parts & 1) {
		st = xcalloc(m.env->nrcpt > 0 ? m.env->nrcpt : 1, sizeof(*st));
		if (queue_journal_read(cli->cfg->queue_directory, id, m.env->nrcpt, st) < 0) {
			cli_err("queue show %s: cannot read its journal: %s", id,
			    strerror(errno));
			xfree(&st);
		}
		cli_show_envelope(cli, m.env, st);
		/* An empty line between the parts, as between header and body. */
		if (parts & 6)
			putc('\n', cli->out);
	}
	ret = EX_OK;
	if ((parts & 6) != 0 &&
	    cli_show_content(cli->out, m.fd, m.content_len, parts & 2, parts & 4) < 0) {
		cli_err("queue show %s: read content: %s", id, strerror(errno));
		ret = EX_IOERR;
	}
	queue_msg_clear(&m);
	free(st);
	free(id);
	return ret;
}

/* cli_q_add_id - add one ID (checked) to those q asks about */
static void
cli_q_add_id(struct cli_q *q, char *id)
{
	q->ids = xreallocarray(q->ids, q->nids + 1, sizeof(*q->ids));
	q->gone = xreallocarray(q->gone, q->nids + 1, sizeof(*q->gone));
	q->ids[q->nids] = id;
	q->gone[q->nids++] = false;
}

/*
 * cli_q_read_ids - IDs from fp, one a line, as postsuper -d - reads them:
 * blank lines and surrounding blanks are ignored, a bad line is named
 * with its number and skipped. 0, or EX_DATAERR when a line was bad.
 */
static int
cli_q_read_ids(struct cli_q *q, FILE *fp)
{
	char *line = NULL, *p, *end, *id;
	size_t cap = 0;
	unsigned long lineno = 0;
	int ret = 0;

	while (getline(&line, &cap, fp) >= 0) {
		lineno++;
		for (p = line; isspace((unsigned char)*p); p++)
			;
		for (end = p + strlen(p); end > p && isspace((unsigned char)end[-1]); end--)
			;
		*end = '\0';
		if (*p == '\0')
			continue;
		id = xstrdup(p);
		for (end = id; *end != '\0'; end++)
			*end = (char)toupper((unsigned char)*end);
		if (!queue_id_ok(id)) {
			fputs("sluice: ", stderr);
			fprintf(stderr, "%s: standard input, line %lu: ", q->what, lineno);
			cli_put_text(stderr, p);
			fprintf(stderr, ": not a queue ID (%d hexadecimal digits); skipped\n",
			    QUEUE_ID_LEN);
			free(id);
			ret = EX_DATAERR;
			continue;
		}
		cli_q_add_id(q, id);
	}
	if (ferror(fp)) {
		cli_err("%s: read standard input: %s", q->what, strerror(errno));
		ret = EX_IOERR;
	}
	free(line);
	return ret;
}

/* cli_q_missing - name every ID no reply acted on; EX_NOINPUT if any, else ret */
static int
cli_q_missing(const struct cli_q *q, int ret)
{
	size_t k;

	for (k = 0; k < q->nids; k++) {
		if (q->gone[k])
			continue;
		cli_err("%s %s: no such message", q->what, q->ids[k]);
		ret = EX_NOINPUT;
	}
	return ret;
}

/* cli_reindex_rec - the type=reindexed reply of queue reindex */
static int
cli_reindex_rec(struct cli_q *q, const struct ipc_rec *rec)
{
	if (strcmp(ipc_rec_type(rec), PROTO_T_REINDEXED) != 0 ||
	    ipc_rec_get_num(rec, PROTO_F_MESSAGES, 1ULL << 62, &q->count) < 0)
		return -1;
	fprintf(q->cli->out, "sluice: index rebuilt from msg/: %llu message%s\n",
	    q->count, q->count == 1 ? "" : "s");
	return 0;
}

/* cli_queue_reindex - queue reindex: rebuild the index from the files */
static int
cli_queue_reindex(struct cli *cli, int argc, char **argv)
{
	struct cli_q q = { .cli = cli, .what = "queue reindex", .on_rec = cli_reindex_rec };
	struct ipc_rec *req;
	int ret;

	if (argc != 2)
		return cli_usage(stderr, q.what);
	req = ipc_rec_new(PROTO_T_REINDEX);
	ret = cli_q_run(&q, req);
	ipc_rec_free(&req);
	cli_q_clear(&q);
	return ret;
}

/*
 * The operator's actions on messages named by ID, --domain or --all, as
 * the word after "queue": the request, the reply that names a message
 * acted on, and what the output says of each message and of them all.
 */
static const struct cli_act {
	const char *sub;
	const char *type;	/* the request */
	const char *acted;	/* the reply for each message acted on */
	const char *done;	/* "sluice: ID: done" */
	const char *total;	/* "sluice: total: N messages" */
	bool scoped;		/* --domain acts on that domain's recipients only */
} cli_acts[] = {
	{ "delete", PROTO_T_DELETE, PROTO_T_DELETED, "removed", "deleted", true },
	{ "hold", PROTO_T_HOLD, PROTO_T_ACTED, "placed on hold", "queue hold", false },
	{ "release", PROTO_T_RELEASE, PROTO_T_ACTED, "released from hold", "queue release", false },
	{ "bounce", PROTO_T_BOUNCE, PROTO_T_ACTED, "returned to the sender", "queue bounce", false },
	{ "requeue", PROTO_T_REQUEUE, PROTO_T_ACTED, "requeued", "queue requeue", false },
};

/*
 * cli_act_rec - one reply of an action: the acted-on type of its row, or
 * type=missing, which is reported after the count with the other IDs
 * that no reply named.
 */
static int
cli_act_rec(struct cli_q *q, const struct ipc_rec *rec)
{
	const char *id = ipc_rec_get(rec, PROTO_F_ID), *type = ipc_rec_type(rec);
	size_t i;

	if (id == NULL || !queue_id_ok(id))
		return -1;
	if (strcmp(type, PROTO_T_MISSING) == 0)
		return 0;
	if (strcmp(type, PROTO_T_SKIPPED) != 0 && strcmp(type, q->act->acted) != 0)
		return -1;
	for (i = 0; i < q->nids; i++)
		if (strcmp(q->ids[i], id) == 0)
			q->gone[i] = true;
	/* Nothing changed (release of mail not on hold): said, not counted. */
	if (strcmp(type, PROTO_T_SKIPPED) == 0) {
		const char *why = ipc_rec_get(rec, PROTO_F_REASON);

		fprintf(q->cli->out, "sluice: %s: ", id);
		cli_put_text(q->cli->out, why != NULL ? why : "left as it is");
		putc('\n', q->cli->out);
		return 0;
	}
	/* With --domain, recipients elsewhere keep the message queued. */
	if (q->act->scoped && q->domain != NULL)
		fprintf(q->cli->out, "sluice: %s: %s (recipients in %s)\n", id,
		    q->act->done, q->domain);
	else
		fprintf(q->cli->out, "sluice: %s: %s\n", id, q->act->done);
	q->count++;
	return 0;
}

/*
 * cli_act_send - send the action's request for the IDs from..to of q
 * (none: --domain or --all alone) and count the replies; an EX_* code.
 */
static int
cli_act_send(struct cli_q *q, const char *domain, bool all, size_t from, size_t to)
{
	struct ipc_rec *req = ipc_rec_new(q->act->type);
	size_t k;
	int ret;

	if (domain != NULL)
		ipc_rec_add(req, PROTO_F_DOMAIN, domain);
	if (all)
		ipc_rec_add(req, PROTO_F_ALL, "1");
	for (k = from; k < to; k++)
		ipc_rec_add(req, PROTO_F_ID, q->ids[k]);
	/* Each request has its own end record. */
	q->ended = false;
	ret = cli_q_run(q, req);
	ipc_rec_free(&req);
	return ret;
}

/*
 * cli_queue_act - queue delete|hold|release|bounce|requeue ID... | - |
 * --domain D | --all, and for delete the filters of queue list.
 */
static int
cli_queue_act(struct cli *cli, int argc, char **argv)
{
	struct cli_filter f = { .older = -1, .younger = -1 };
	struct cli_q q = { .cli = cli, .on_rec = cli_act_rec };
	char *domain = NULL, what[32], *id;
	bool all = false, stdin_ids = false, filtered;
	size_t a, k;
	int i, n = 0, ret, bad = 0;

	for (a = 0; strcmp(cli_acts[a].sub, argv[1]) != 0; a++)
		;
	q.act = &cli_acts[a];
	snprintf(what, sizeof(what), "queue %s", q.act->sub);
	q.what = what;
	for (i = 2; i < argc; i++)
		if (strcmp(argv[i], "--all") == 0) {
			all = true;
			argv[i] = argv[argc - 1];
			argc--;
			i--;
		}
	if (cli_opts(what, argc - 2, argv + 2, NULL, &domain, q.act->scoped ? &f : NULL,
	    &n) != 0)
		goto usage;
	for (i = 0; i < n; i++)
		if (strcmp(argv[2 + i], "-") == 0)
			stdin_ids = true;
	filtered = cli_filter_set(&f);
	/*
	 * One way to name the messages: IDs (with - for standard input),
	 * --domain, --all, or filters (which --domain narrows, and --all
	 * adds nothing to). Nothing at all is refused: it would be a guess.
	 */
	if ((n > 0) + (filtered || domain != NULL || all) != 1 ||
	    (all && domain != NULL && !filtered) || (stdin_ids && n != 1))
		goto usage;
	for (i = 0; i < n && !stdin_ids; i++) {
		if ((id = cli_id_arg(what, argv[2 + i])) == NULL) {
			ret = EX_NOINPUT;
			goto out;
		}
		cli_q_add_id(&q, id);
	}
	if (stdin_ids && (bad = cli_q_read_ids(&q, stdin)) == EX_IOERR) {
		ret = bad;
		goto out;
	}
	q.domain = domain;
	if (filtered) {
		/* The filters choose the messages from a listing; qmgr acts on those. */
		struct cli_q l = { .cli = cli, .what = what, .filter = &f, .act = q.act };

		ret = cli_list_run(&l, domain);
		for (k = 0; k < l.npicked; k++) {
			cli_q_add_id(&q, l.picked[k]);
			l.picked[k] = NULL;
		}
		cli_q_clear(&l);
		if (ret != EX_OK)
			goto out;
	}
	ret = EX_OK;
	if (q.nids == 0 && (n == 0 && !filtered))
		ret = cli_act_send(&q, domain, all, 0, 0);
	for (k = 0; k < q.nids && ret == EX_OK; k += CLI_IDS_PER_REQ)
		ret = cli_act_send(&q, filtered ? domain : NULL, false, k,
		    k + CLI_IDS_PER_REQ < q.nids ? k + CLI_IDS_PER_REQ : q.nids);
	/* Malformed replies (EX_PROTOCOL, said) do not hide what was done. */
	if (ret == EX_OK || ret == EX_PROTOCOL) {
		fprintf(cli->out, "sluice: %s: %llu message%s\n", q.act->total, q.count,
		    q.count == 1 ? "" : "s");
		if (!filtered)
			ret = cli_q_missing(&q, ret);
		/* A bad line of input says more than a message already gone. */
		if ((ret == EX_OK || ret == EX_NOINPUT) && bad != 0)
			ret = bad;
	}
out:
	free(domain);
	cli_filter_clear(&f);
	cli_q_clear(&q);
	return ret;
usage:
	free(domain);
	cli_filter_clear(&f);
	return cli_usage(stderr, what);
}

/* cli_flush_rec - the type=triggered reply of flush */
static int
cli_flush_rec(struct cli_q *q, const struct ipc_rec *rec)
{
	struct proto_triggered t;
	unsigned long long pending, domains;

	if (proto_triggered_decode(rec, &t, "qmgr") < 0 || t.pending > 1ULL << 62 ||
	    t.domains > 1ULL << 62)
		return -1;
	pending = t.pending;
	domains = t.domains;
	if (t.status == PROTO_STATUS_OK || t.status == PROTO_STATUS_NONE) {
		fprintf(q->cli->out, "sluice: %s: %llu message%s waiting in %llu domain%s%s\n",
		    q->what, pending, pending == 1 ? "" : "s", domains, domains == 1 ? "" : "s",
		    pending > 0 ? ", delivery started" : "");
		q->count = 1;
	} else {
		cli_err("%s: %s%s%s", q->what, proto_status_name(t.status),
		    t.reason != NULL ? ": " : "", t.reason != NULL ? t.reason : "");
	}
	return 0;
}

/* cli_cmd_flush - flush DOMAIN | --all: release now, as a trigger would */
int
cli_cmd_flush(struct cli *cli, int argc, char **argv)
{
	struct cli_q q = { .cli = cli, .what = "flush", .on_rec = cli_flush_rec };
	struct ipc_rec *req;
	char *domain = NULL;
	int ret;

	if (argc != 2)
		return cli_usage(stderr, "flush");
	req = ipc_rec_new(PROTO_T_FLUSH);
	if (strcmp(argv[1], "--all") == 0) {
		ipc_rec_add(req, PROTO_F_ALL, "1");
	} else if ((domain = cli_domain_arg("flush", argv[1])) != NULL) {
		ipc_rec_add(req, PROTO_F_DOMAIN, domain);
	} else {
		ipc_rec_free(&req);
		return cli_usage(stderr, "flush");
	}
	ret = cli_q_run(&q, req);
	if (ret == EX_OK && q.count == 0)
		ret = EX_UNAVAILABLE;
	ipc_rec_free(&req);
	free(domain);
	cli_q_clear(&q);
	return ret;
}

/* The queue subcommands, as the word after "queue". */
static const struct {
	const char *name;
	cli_run_fn *run;
} cli_queue_cmds[] = {
	{ "list", cli_queue_list },
	{ "count", cli_queue_list },
	{ "summary", cli_queue_summary },
	{ "show", cli_queue_show },
	{ "delete", cli_queue_act },
	{ "reindex", cli_queue_reindex },
	{ "hold", cli_queue_act },
	{ "release", cli_queue_act },
	{ "bounce", cli_queue_act },
	{ "requeue", cli_queue_act },
};

/* cli_cmd_queue - queue SUBCOMMAND ... */
int
cli_cmd_queue(struct cli *cli, int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return cli_usage(stderr, "queue");
	for (i = 0; i < sizeof(cli_queue_cmds) / sizeof(cli_queue_cmds[0]); i++)
		if (strcmp(argv[1], cli_queue_cmds[i].name) == 0)
			return cli_queue_cmds[i].run(cli, argc, argv);
	cli_err("queue: unknown subcommand %s", argv[1]);
	return cli_usage(stderr, "queue");
}
