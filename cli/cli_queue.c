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

/* XXX proto.h lists type=missing but names no constant for it yet. */

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
	struct cli_summary_row *rows;
	size_t nrows;
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
		}
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
 * cli_opts - the options of the queue commands: --json (when json is
 * not NULL) and --domain D / --domain=D (when domain_r is not NULL).
 * Other arguments are left in place, counted in *nargs_r. 0, or EX_USAGE.
 */
static int
cli_opts(const char *what, int argc, char **argv, bool *json, char **domain_r,
    int *nargs_r)
{
	const char *val;
	int i, n = 0;

	for (i = 0; i < argc; i++) {
		val = NULL;
		if (json != NULL && strcmp(argv[i], "--json") == 0) {
			*json = true;
			continue;
		}
		if (domain_r != NULL && strncmp(argv[i], "--domain=", 9) == 0)
			val = argv[i] + 9;
		else if (domain_r != NULL && strcmp(argv[i], "--domain") == 0) {
			if (++i == argc) {
				cli_err("%s: --domain needs a domain name", what);
				return EX_USAGE;
			}
			val = argv[i];
		} else if (argv[i][0] == '-') {
			cli_err("%s: unknown option %s", what, argv[i]);
			return EX_USAGE;
		}
		if (val == NULL) {
			argv[n++] = argv[i];
			continue;
		}
		free(*domain_r);
		if ((*domain_r = cli_domain_arg(what, val)) == NULL)
			return EX_USAGE;
	}
	*nargs_r = n;
	return 0;
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

/* cli_list_rec - one type=entry reply of queue list */
static int
cli_list_rec(struct cli_q *q, const struct ipc_rec *rec)
{
	FILE *out = q->cli->out;

	if (strcmp(ipc_rec_type(rec), PROTO_T_ENTRY) != 0)
		return -1;
	if (q->json)
		return cli_list_json(out, rec, q->host);
	if (q->count == 0)
		cli_list_header(out);
	if (cli_list_text(out, rec, &q->bytes) < 0)
		return -1;
	q->count++;
	return 0;
}

/* cli_queue_list - queue list [--domain D] [--json] */
static int
cli_queue_list(struct cli *cli, int argc, char **argv)
{
	struct cli_q q = { .cli = cli, .what = "queue list", .on_rec = cli_list_rec };
	struct ipc_rec *req;
	char *domain = NULL;
	int n, ret;

	if (cli_opts(q.what, argc - 2, argv + 2, &q.json, &domain, &n) != 0 || n != 0) {
		free(domain);
		return cli_usage(stderr, q.what);
	}
	req = ipc_rec_new(PROTO_T_LIST);
	if (domain != NULL)
		ipc_rec_add(req, PROTO_F_DOMAIN, domain);
	if ((ret = cli_config_need(cli)) == 0) {
		cli_q_host(&q);
		ret = cli_q_run(&q, req);
	}
	if (ret == EX_OK && !q.json)
		cli_list_footer(cli->out, q.bytes, q.count);
	ipc_rec_free(&req);
	free(domain);
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
	if (cli_opts(q.what, argc - 2, argv + 2, &q.json, NULL, &n) != 0 || n != 0)
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
 * cli_show_headers - copy the message header (up to the first empty line)
 * from fd, len content bytes, turning CRLF into the local newline.
 * 0, or -1 with errno on a read error.
 */
static int
cli_show_headers(FILE *out, int fd, uint64_t len)
{
	char buf[8192];
	bool bol = true, cr = false;
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
				if (bol)
					return 0;
				putc('\n', out);
				bol = true;
				cr = false;
				continue;
			}
			/* A CR not before LF, like any control byte, shows as '?'. */
			if (cr)
				putc('?', out);
			cr = c == '\r';
			if (cr)
				continue;
			putc((c < 0x20 && c != '\t') || c == 0x7f ? '?' : c, out);
			bol = false;
		}
	}
	if (!bol)
		putc('\n', out);
	return 0;
}

/* cli_queue_show - queue show ID: envelope, then the message header */
static int
cli_queue_show(struct cli *cli, int argc, char **argv)
{
	struct queue_msg m;
	enum journal_status *st = NULL;
	char *id;
	int ret, n;

	if (cli_opts("queue show", argc - 2, argv + 2, NULL, NULL, &n) != 0 || n != 1)
		return cli_usage(stderr, "queue show");
	if ((id = cli_id_arg("queue show", argv[2])) == NULL)
		return EX_NOINPUT;
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
	st = xcalloc(m.env->nrcpt > 0 ? m.env->nrcpt : 1, sizeof(*st));
	if (queue_journal_read(cli->cfg->queue_directory, id, m.env->nrcpt, st) < 0) {
		cli_err("queue show %s: cannot read its journal: %s", id, strerror(errno));
		xfree(&st);
	}
	cli_show_envelope(cli, m.env, st);
	putc('\n', cli->out);
	ret = EX_OK;
	if (cli_show_headers(cli->out, m.fd, m.content_len) < 0) {
		cli_err("queue show %s: read content: %s", id, strerror(errno));
		ret = EX_IOERR;
	}
	queue_msg_clear(&m);
	free(st);
	free(id);
	return ret;
}

/*
 * cli_q_add_ids - put the n ID arguments into q (to match the replies)
 * and into req; 0, or EX_NOINPUT for a malformed ID (already said).
 */
static int
cli_q_add_ids(struct cli_q *q, struct ipc_rec *req, int n, char **ids)
{
	int i;

	q->ids = xcalloc((size_t)n + 1, sizeof(*q->ids));
	q->gone = xcalloc((size_t)n + 1, sizeof(*q->gone));
	for (i = 0; i < n; i++) {
		if ((q->ids[q->nids] = cli_id_arg(q->what, ids[i])) == NULL)
			return EX_NOINPUT;
		ipc_rec_add(req, PROTO_F_ID, q->ids[q->nids++]);
	}
	return 0;
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
	bool all;		/* --all may name every message */
	bool scoped;		/* --domain acts on that domain's recipients only */
} cli_acts[] = {
	{ "delete", PROTO_T_DELETE, PROTO_T_DELETED, "removed", "deleted", false, true },
	{ "hold", PROTO_T_HOLD, PROTO_T_ACTED, "placed on hold", "queue hold", true, false },
	{ "release", PROTO_T_RELEASE, PROTO_T_ACTED, "released from hold", "queue release",
	    true, false },
	{ "bounce", PROTO_T_BOUNCE, PROTO_T_ACTED, "returned to the sender", "queue bounce",
	    true, false },
	{ "requeue", PROTO_T_REQUEUE, PROTO_T_ACTED, "requeued", "queue requeue", true, false },
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
	if (strcmp(type, q->act->acted) != 0)
		return -1;
	for (i = 0; i < q->nids; i++)
		if (strcmp(q->ids[i], id) == 0)
			q->gone[i] = true;
	/* With --domain, recipients elsewhere keep the message queued. */
	if (q->act->scoped && q->domain != NULL)
		fprintf(q->cli->out, "sluice: %s: %s (recipients in %s)\n", id,
		    q->act->done, q->domain);
	else
		fprintf(q->cli->out, "sluice: %s: %s\n", id, q->act->done);
	q->count++;
	return 0;
}

/* cli_queue_act - queue delete|hold|release|bounce|requeue ID... | --domain D | --all */
static int
cli_queue_act(struct cli *cli, int argc, char **argv)
{
	struct cli_q q = { .cli = cli, .on_rec = cli_act_rec };
	struct ipc_rec *req;
	char *domain = NULL, what[32];
	bool all = false;
	size_t a;
	int i, n = 0, ret;

	for (a = 0; strcmp(cli_acts[a].sub, argv[1]) != 0; a++)
		;
	q.act = &cli_acts[a];
	snprintf(what, sizeof(what), "queue %s", q.act->sub);
	q.what = what;
	for (i = 2; q.act->all && i < argc; i++)
		if (strcmp(argv[i], "--all") == 0) {
			all = true;
			argv[i] = argv[argc - 1];
			argc--;
			i--;
		}
	if (cli_opts(what, argc - 2, argv + 2, NULL, &domain, &n) != 0 ||
	    (domain != NULL) + (n > 0) + all != 1) {
		free(domain);
		return cli_usage(stderr, what);
	}
	req = ipc_rec_new(q.act->type);
	if (domain != NULL)
		ipc_rec_add(req, PROTO_F_DOMAIN, domain);
	if (all)
		ipc_rec_add(req, PROTO_F_ALL, "1");
	q.domain = domain;
	if ((ret = cli_q_add_ids(&q, req, n, argv + 2)) != 0)
		goto out;
	ret = cli_q_run(&q, req);
	/* Malformed replies (EX_PROTOCOL, said) do not hide what was done. */
	if (ret == EX_OK || ret == EX_PROTOCOL) {
		fprintf(cli->out, "sluice: %s: %llu message%s\n", q.act->total, q.count,
		    q.count == 1 ? "" : "s");
		ret = cli_q_missing(&q, ret);
	}
out:
	ipc_rec_free(&req);
	free(domain);
	cli_q_clear(&q);
	return ret;
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
