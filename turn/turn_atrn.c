/*
 * turn_atrn - sluice-turn atrn: the ODMR client (RFC 2645) for a site
 * without a fixed address. The protocol is lib/mail/odmr_client; this
 * file maps the options onto it and adds what the other subcommands
 * have: the retry series, the link commands and the result lines.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

/* lib/util */
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/odmr_client.h"
/* turn */
#include "turn/turn.h"

/* turn_atrn_log - odmr_client's log lines become result lines */
static void
turn_atrn_log(void *ctx, const char *line)
{
	(void)ctx;
	turn_report("%s", line);
}

/* turn_atrn_opts - the options as odmr_client's; the password is borrowed */
static void
turn_atrn_opts(const struct turn_opts *opts, char *const *domains, size_t ndomains,
    const char *password, struct odmr_client_opts *o)
{
	static const enum odmr_client_tls tls[] = {
		[TURN_TLS_NONE] = ODMR_TLS_NONE,
		[TURN_TLS_MAY] = ODMR_TLS_MAY,
		[TURN_TLS_ENCRYPT] = ODMR_TLS_REQUIRED,
	};

	memset(o, 0, sizeof(*o));
	o->server = opts->server;
	o->port = opts->odmr_port;
	o->user = opts->auth_user;
	o->password = password;
	o->domains = (const char *const *)domains;
	o->ndomains = ndomains;
	o->tls = opts->odmrs ? ODMR_TLS_WRAP : tls[opts->tls];
	o->ca_file = opts->ca_file;
	o->verify = opts->verify;
	o->mta_host = opts->mta;
	o->mta_port = opts->mta_port;
	o->lmtp = opts->lmtp;
	o->helo_name = opts->helo;
	o->timeout = (int)opts->io_timeout;
	o->log = turn_atrn_log;
}

int
turn_atrn_run(const struct turn_opts *opts, char *const *domains, size_t ndomains)
{
	struct odmr_client_opts o;
	struct odmr_client_result r;
	char why[256], *password;
	int status = 0;
	size_t round;

	if (opts->server == NULL || opts->auth_user == NULL) {
		turn_report("atrn needs --server (the ISP's ODMR server) and "
		    "--auth-user with --auth-password-file (the site's ODMR login)");
		return EX_USAGE;
	}
	if ((password = turn_password_read(opts->auth_file, why, sizeof(why))) == NULL) {
		turn_report("%s", why);
		return EX_NOINPUT;
	}
	turn_atrn_opts(opts, domains, ndomains, password, &o);
	/* The link comes up once, before the first round, and down after the last. */
	if (opts->link_up != NULL && turn_link_cmd("link-up", opts->link_up) < 0)
		status = EX_TEMPFAIL;
	for (round = 0; status == 0; round++) {
		memset(&r, 0, sizeof(r));
		status = odmr_client_run(&o, &r);
		turn_report("%s: ATRN %s%s: messages=%lu, recipients=%lu, refused=%lu, "
		    "deferred=%lu, status=%s%s%s", opts->server, domains[0],
		    ndomains > 1 ? " and more" : "", r.messages,
		    r.recipients, r.refused, r.deferred, status == 0 ? "done" : "failed",
		    status != 0 && r.error[0] != '\0' ? ": " : "", status != 0 ? r.error : "");
		if (status != EX_TEMPFAIL || round == opts->nretry)
			break;
		turn_report("round %zu of %zu: retrying in %llus", round + 1,
		    opts->nretry + 1, (unsigned long long)opts->retry[round]);
		turn_pause(opts->retry[round]);
		status = 0;
	}
	if (opts->link_down != NULL)
		(void)turn_link_cmd("link-down", opts->link_down);
	explicit_bzero(password, strlen(password));
	free(password);
	return status;
}
