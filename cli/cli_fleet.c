/*
 * cli_fleet - sluice queue summary --fleet: this host's queue and every peer's
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* lib/mail */
#include "mail/conf.h"
#include "mail/peer.h"
#include "mail/proto.h"
/* lib/util */
#include "util/ipc.h"
#include "util/xmalloc.h"
/* this program */
#include "cli/cli.h"

/* One host of the fleet and what it said. */
struct cli_fleet_host {
	char name[300];			/* myhostname, or peers' host:port */
	bool self;
	bool reached;
	char error[512];		/* why not reached */
	struct cli_summary_row *rows;
	size_t nrows;
	unsigned long long malformed;	/* lines or records we could not read */
};

/* cli_fleet_add - keep one row of host h */
static void
cli_fleet_add(struct cli_fleet_host *h, const struct cli_summary_row *row)
{
	h->rows = xreallocarray(h->rows, h->nrows + 1, sizeof(*h->rows));
	h->rows[h->nrows++] = *row;
}

/* cli_fleet_emit - this host's qmgr: each type=domain record (qctl_emit_fn) */
static int
cli_fleet_emit(const struct ipc_rec *rec, void *ctx)
{
	struct cli_fleet_host *h = ctx;
	struct cli_summary_row row;

	if (strcmp(ipc_rec_type(rec), PROTO_T_END) == 0) {
		const char *st = ipc_rec_get(rec, PROTO_F_STATUS);
		const char *why = ipc_rec_get(rec, PROTO_F_REASON);

		h->reached = st != NULL && strcmp(st, "ok") == 0;
		if (!h->reached)
			snprintf(h->error, sizeof(h->error), "%s",
			    why != NULL ? why : "qmgr refused the summary");
		return 0;
	}
	/* The whole queue's line: the fleet listing shows domains only. */
	if (strcmp(ipc_rec_type(rec), PROTO_T_TOTAL) == 0)
		return 0;
	if (cli_summary_parse(rec, &row) < 0)
		h->malformed++;
	else
		cli_fleet_add(h, &row);
	return 0;
}

/* cli_fleet_name_ok - a field name as util/ipc.h allows it */
static bool
cli_fleet_name_ok(const char *s, size_t n)
{
	return n > 0 && n <= IPC_NAME_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "0123456789_") >= n;
}

/*
 * cli_fleet_line - one "250-" line of a peer's XSUMMARY: "name=value"
 * words, reason= last and taking the rest of the line (mail/peer.h). It is
 * read as the type=domain record it came from, through the parser the
 * local summary uses, so a peer's answer is checked as our qmgr's is.
 */
static void
cli_fleet_line(const char *line, void *ctx)
{
	struct cli_fleet_host *h = ctx;
	struct ipc_rec *rec = ipc_rec_new(PROTO_T_DOMAIN);
	struct cli_summary_row row;
	const char *p = line, *eq, *end;
	char name[IPC_NAME_MAX + 1], *value;
	bool bad = false;

	/* The last line ("N domains") carries no fields. */
	if (strchr(line, '=') == NULL) {
		ipc_rec_free(&rec);
		return;
	}
	while (*p != '\0' && !bad && rec->n < 40) {
		eq = strchr(p, '=');
		if (eq == NULL || !cli_fleet_name_ok(p, (size_t)(eq - p))) {
			bad = true;
			break;
		}
		memcpy(name, p, (size_t)(eq - p));
		name[eq - p] = '\0';
		end = strcmp(name, PROTO_F_REASON) == 0 ? eq + strlen(eq) : eq + strcspn(eq, " ");
		if ((size_t)(end - eq - 1) > IPC_VALUE_MAX) {
			bad = true;
			break;
		}
		value = xstrndup(eq + 1, (size_t)(end - eq - 1));
		ipc_rec_add(rec, name, value);
		free(value);
		p = end + strspn(end, " ");
	}
	if (bad || cli_summary_parse(rec, &row) < 0)
		h->malformed++;
	else
		cli_fleet_add(h, &row);
	ipc_rec_free(&rec);
}

/* cli_fleet_local - this host's summary, from its qmgr (or its index) */
static void
cli_fleet_local(struct cli *cli, struct cli_fleet_host *h)
{
	struct ipc_rec *req = ipc_rec_new(PROTO_T_SUMMARY);
	char *why = NULL;

	snprintf(h->name, sizeof(h->name), "%s", cli->cfg->myhostname);
	h->self = true;
	if (cli_request(cli, "queue summary", req, cli_fleet_emit, h, &why) != 0) {
		h->reached = false;
		snprintf(h->error, sizeof(h->error), "%s", why != NULL ? why :
		    "cannot read the queue");
	}
	free(why);
	ipc_rec_free(&req);
}

/* cli_fleet_peer - peer i's summary over the peer login (XSUMMARY) */
static void
cli_fleet_peer(struct cli *cli, size_t i, const char *secret, struct cli_fleet_host *h)
{
	const struct hostport *hp = &cli->cfg->peers.v[i];
	struct peer_result r;

	snprintf(h->name, sizeof(h->name), "%s:%s", hp->host, hp->port);
	if (secret == NULL)
		return;
	if (peer_call(hp, peer_source(&cli->cfg->smtp_listen), cli->cfg->myhostname,
	    secret, PEER_VERB_SUMMARY,
	    (int)(cli->cfg->peer_timeout * 1000), cli_fleet_line, h, &r) < 0 ||
	    r.code != 250) {
		/* Rows of a reply that failed halfway are not its queue. */
		free(h->rows);
		h->rows = NULL;
		h->nrows = 0;
		snprintf(h->error, sizeof(h->error), "%s", r.text);
		return;
	}
	h->reached = true;
}

/* cli_fleet_print - one host: a heading, then its rows (text or JSON) */
static void
cli_fleet_print(FILE *out, const struct cli_fleet_host *h, bool json, time_t now)
{
	size_t i;

	if (json) {
		putc('{', out);
		cli_json_key(out, "host", true);
		cli_json_string(out, h->name);
		cli_json_key(out, "state", false);
		cli_json_string(out, h->reached ? "ok" : "unreachable");
		if (!h->reached) {
			cli_json_key(out, "error", false);
			cli_json_string(out, h->error);
		} else
			fprintf(out, ",\"domains\":%zu", h->nrows);
		fputs("}\n", out);
		for (i = 0; i < h->nrows; i++) {
			/* The row's own object, with the host in front. */
			fputs("{\"host\":", out);
			cli_json_string(out, h->name);
			fputs(",", out);
			cli_summary_json_fields(out, &h->rows[i]);
		}
		return;
	}
	if (!h->reached) {
		fprintf(out, "host %s: unreachable (%s)\n", h->name, h->error);
		return;
	}
	fprintf(out, "host %s%s: %zu domains\n", h->name, h->self ? " (this host)" : "",
	    h->nrows);
	if (h->nrows == 0)
		return;
	cli_summary_header(out);
	for (i = 0; i < h->nrows; i++)
		cli_summary_text(out, &h->rows[i], now);
}

int
cli_fleet_summary(struct cli *cli, bool json)
{
	struct cli_fleet_host *hosts;
	char *secret = NULL, *err = NULL;
	size_t n, i;
	int ret = EX_OK;

	if ((ret = cli_config_need(cli)) != 0)
		return ret;
	if (cli->cfg->peers.n == 0)
		cli_err("queue summary --fleet: peers is empty: this host has no fleet");
	else if (peer_secret_load(cli->cfg->peer_secret_file, &secret, &err) < 0) {
		cli_err("queue summary --fleet: %s", err);
		free(err);
	}
	n = cli->cfg->peers.n + 1;
	hosts = xcalloc(n, sizeof(*hosts));
	cli_fleet_local(cli, &hosts[0]);
	for (i = 1; i < n; i++) {
		cli_fleet_peer(cli, i - 1, secret, &hosts[i]);
		if (secret == NULL)
			snprintf(hosts[i].error, sizeof(hosts[i].error),
			    "no peer secret to log in with");
	}
	for (i = 0; i < n; i++) {
		cli_fleet_print(cli->out, &hosts[i], json, time(NULL));
		if (hosts[i].malformed > 0)
			cli_err("queue summary --fleet: %s: %llu malformed lines left out",
			    hosts[i].name, hosts[i].malformed);
		/* Every host is shown; the exit says whether all answered. */
		if (!hosts[i].reached)
			ret = EX_UNAVAILABLE;
		free(hosts[i].rows);
	}
	free(hosts);
	if (secret != NULL) {
		OPENSSL_cleanse(secret, strlen(secret));
		free(secret);
	}
	return ret;
}
