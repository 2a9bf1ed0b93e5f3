/*
 * cli_dns - sluice check DOMAIN: the DNS setup of a customer domain
 * (mail/dnscheck.h), then whether the site answers now: a connection to
 * the route's host or to the MX hosts preferred over us, up to the 220
 * greeting, with the time it took.
 *
 * Exit codes (sysexits(3)): 0 no error (warnings allowed: a part-time
 * site that is offline now is normal), EX_DATAERR an error finding,
 * EX_NOHOST the domain does not exist, EX_TEMPFAIL DNS did not answer
 * (SERVFAIL, timeout), EX_UNAVAILABLE no resolver, EX_USAGE, EX_CONFIG.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

/* lib/util */
#include "util/events.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/address.h"
#include "mail/conf.h"
#include "mail/dns.h"
#include "mail/dnscheck.h"
#include "mail/domains.h"
#include "mail/selfaddr.h"
/* this program */
#include "cli/cli.h"

/* The DNS part of `sluice check` ends in this time, answered or not. */
#define CLI_DNS_DEADLINE_MS	10000
/* Per try, and tries: a dead server costs 1s + 2s per phase of the check. */
#define CLI_DNS_TRY_MS		1000
#define CLI_DNS_TRIES		2
/* The connections to the site, all together, and each at most. */
#define CLI_REACH_DEADLINE_MS	10000
#define CLI_REACH_TRY_MS	5000
/* config check: domains checked at once, and the time for all of them. */
#define CLI_ALL_PARALLEL	16
#define CLI_ALL_DEADLINE_MS	60000

/* What the loop of one check waits for. */
struct cli_dns_wait {
	struct ev_loop *loop;
	struct dnscheck_result *res;
	bool timed_out;
};

/* cli_dns_done - the check is done */
static void
cli_dns_done(struct dnscheck_result *res, void *ctx)
{
	struct cli_dns_wait *w = ctx;

	w->res = res;
	ev_stop(w->loop);
}

/* cli_dns_deadline - DNS took too long */
static void
cli_dns_deadline(void *ctx)
{
	struct cli_dns_wait *w = ctx;

	w->timed_out = true;
	ev_stop(w->loop);
}

/* cli_wait_fd - poll fd for events until deadline (ev_now ms); >0 ready, 0 timeout, -1 */
static int
cli_wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	uint64_t now;
	int r;

	for (;;) {
		now = ev_now();
		if (now >= deadline)
			return 0;
		r = poll(&pfd, 1, (int)(deadline - now));
		if (r >= 0 || errno != EINTR)
			return r;
	}
}

/*
 * cli_reach_one - connect to t and read its greeting, until deadline.
 * 0 when it greets with 220; -1 with the reason in why.
 */
static int
cli_reach_one(const struct dnscheck_target *t, uint64_t deadline, char *why,
    size_t whysize)
{
	char buf[1024];
	size_t len = 0;
	socklen_t elen = sizeof(int);
	int fd, err = 0, r;
	char *nl;

	fd = socket(t->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, whysize, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&t->sa, t->len) < 0 &&
	    errno != EINPROGRESS) {
		snprintf(why, whysize, "connect: %s", strerror(errno));
		goto fail;
	}
	if ((r = cli_wait_fd(fd, POLLOUT, deadline)) <= 0) {
		snprintf(why, whysize, "connect: %s", r == 0 ?
		    "timed out" : strerror(errno));
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0) {
		snprintf(why, whysize, "connect: %s", strerror(err != 0 ? err : errno));
		goto fail;
	}
	/* The greeting: lines until one without a continuation ("220-"). */
	for (;;) {
		ssize_t n;

		if ((r = cli_wait_fd(fd, POLLIN, deadline)) <= 0) {
			snprintf(why, whysize, "no greeting: %s", r == 0 ?
			    "timed out" : strerror(errno));
			goto fail;
		}
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0) {
			snprintf(why, whysize, "no greeting: %s", n == 0 ?
			    "connection closed" : strerror(errno));
			goto fail;
		}
		/* A NUL is no SMTP, and would hide the rest of the line from strchr. */
		if (memchr(buf + len, '\0', (size_t)n) != NULL) {
			snprintf(why, whysize, "greeting: a NUL byte in it, not SMTP");
			goto fail;
		}
		len += (size_t)n;
		buf[len] = '\0';
		while ((nl = strchr(buf, '\n')) != NULL) {
			*nl = '\0';
			if (nl > buf && nl[-1] == '\r')
				nl[-1] = '\0';
			if (strlen(buf) < 4 || buf[3] != '-') {
				bool ok = strncmp(buf, "220", 3) == 0 &&
				    (buf[3] == ' ' || buf[3] == '\0');
				char *p;

				if (!ok) {
					/* Shown to the operator: no control characters. */
					for (p = buf; *p != '\0'; p++)
						if (!isprint((unsigned char)*p))
							*p = '?';
					snprintf(why, whysize, "greeting: %.200s", buf);
					goto fail;
				}
				/* Polite, and never waited for. */
				(void)!write(fd, "QUIT\r\n", 6);
				(void)close(fd);
				return 0;
			}
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len + 1);
		}
		if (len == sizeof(buf) - 1) {
			snprintf(why, whysize, "greeting: a line longer than %zu octets",
			    sizeof(buf) - 1);
			goto fail;
		}
	}
fail:
	(void)close(fd);
	return -1;
}

/* cli_reach - try the targets in order until one greets; a finding for each try */
static void
cli_reach(struct dnscheck_result *res)
{
	uint64_t start = ev_now(), deadline = start + CLI_REACH_DEADLINE_MS;
	struct dnscheck_finding *f;
	char addr[64], why[300];
	size_t i;

	for (i = 0; i < res->ntargets; i++) {
		const struct dnscheck_target *t = &res->targets[i];
		uint64_t t0 = ev_now(), end = t0 + CLI_REACH_TRY_MS;
		int r;

		dns_addr_format((const struct sockaddr *)&t->sa, addr, sizeof(addr));
		if (t0 >= deadline) {
			dnscheck_add(res, DNSCHECK_WARNING, DNSCHECK_REACH, t->host, addr,
			    "%s[%s]:%u not tried: the %d s for all tries are over",
			    t->host, addr, t->port, CLI_REACH_DEADLINE_MS / 1000);
			continue;
		}
		r = cli_reach_one(t, end < deadline ? end : deadline, why, sizeof(why));
		if (r == 0) {
			f = dnscheck_add(res, DNSCHECK_OK, DNSCHECK_REACH, t->host, addr,
			    "%s[%s]:%u answers: 220 greeting in %llu ms", t->host, addr,
			    t->port, (unsigned long long)(ev_now() - t0));
			f->ms = (long)(ev_now() - t0);
			return;
		}
		f = dnscheck_add(res, DNSCHECK_WARNING, DNSCHECK_REACH, t->host, addr,
		    "%s[%s]:%u does not answer: %s (after %llu ms)", t->host, addr,
		    t->port, why, (unsigned long long)(ev_now() - t0));
		f->ms = (long)(ev_now() - t0);
	}
	if (res->ntargets > 0)
		dnscheck_add(res, DNSCHECK_WARNING, DNSCHECK_REACH, NULL, NULL,
		    "the site of %s is not reachable now: its mail waits here "
		    "until the site is online and triggers a release (or the "
		    "prober finds it)", res->domain);
}

/* cli_dns_exit - the exit code a check's result gives */
static int
cli_dns_exit(const struct dnscheck_result *res)
{
	if (res->mx_status == DNS_TEMPFAIL)
		return EX_TEMPFAIL;
	if (res->mx_status == DNS_NXDOMAIN)
		return EX_NOHOST;
	return dnscheck_worst(res) == DNSCHECK_ERROR ? EX_DATAERR : EX_OK;
}

/* cli_dns_json - the result as one JSON object */
static void
cli_dns_json(FILE *fp, const struct dnscheck_result *res, int code)
{
	size_t i;

	fputc('{', fp);
	cli_json_key(fp, "domain", true);
	cli_json_string(fp, res->domain);
	cli_json_key(fp, "verdict", false);
	cli_json_string(fp, dnscheck_verdict_name(dnscheck_worst(res)));
	cli_json_key(fp, "exit", false);
	fprintf(fp, "%d", code);
	cli_json_key(fp, "findings", false);
	fputc('[', fp);
	for (i = 0; i < res->n; i++) {
		const struct dnscheck_finding *f = &res->v[i];

		fputs(i > 0 ? ",{" : "{", fp);
		cli_json_key(fp, "verdict", true);
		cli_json_string(fp, dnscheck_verdict_name(f->verdict));
		cli_json_key(fp, "check", false);
		cli_json_string(fp, f->check);
		cli_json_key(fp, "text", false);
		cli_json_string(fp, f->text);
		if (f->host != NULL) {
			cli_json_key(fp, "host", false);
			cli_json_string(fp, f->host);
		}
		if (f->addr != NULL) {
			cli_json_key(fp, "address", false);
			cli_json_string(fp, f->addr);
		}
		if (f->pref >= 0) {
			cli_json_key(fp, "preference", false);
			fprintf(fp, "%ld", f->pref);
		}
		if (f->ms >= 0) {
			cli_json_key(fp, "ms", false);
			fprintf(fp, "%ld", f->ms);
		}
		fputc('}', fp);
	}
	fputs("]}\n", fp);
}

/* cli_dns_text - one line per finding, the verdict first */
static void
cli_dns_text(FILE *fp, const struct dnscheck_result *res)
{
	size_t i;

	for (i = 0; i < res->n; i++) {
		fprintf(fp, "%s: ", dnscheck_verdict_name(res->v[i].verdict));
		cli_put_text(fp, res->v[i].text);
		fputc('\n', fp);
	}
}

/*
 * cli_dns_resolver - a resolver on loop for cfg (dns_servers, else
 * resolv.conf) with the CLI's short timeouts; NULL after a message
 */
static struct dns *
cli_dns_resolver(struct ev_loop *loop, const struct config *cfg, const char *what)
{
	struct dns *dns;
	char *err = NULL;

	dns = dns_new(loop, &cfg->dns_servers, &err);
	if (dns == NULL) {
		cli_err("%s: %s", what, err);
		free(err);
		return NULL;
	}
	dns_report_servfail(dns, CLI_DNS_TRY_MS, CLI_DNS_TRIES);
	return dns;
}

/* cli_cmd_check - sluice check DOMAIN [--json] [--no-connect] */
int
cli_cmd_check(struct cli *cli, int argc, char **argv)
{
	struct cli_dns_wait w = { 0 };
	struct self_addrs self = { 0 };
	struct ev_timer *deadline;
	struct dnscheck *c;
	struct dns *dns;
	bool json = false, connect = true;
	char *domain = NULL, *p;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--no-connect") == 0)
			connect = false;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			free(domain);
			(void)cli_usage(stdout, "check");
			return EX_OK;
		} else if (argv[i][0] == '-' || domain != NULL) {
			cli_err("check: unexpected argument %s", argv[i]);
			free(domain);
			return cli_usage(stderr, "check");
		} else {
			/* "site.example." as a zone file writes it is the same name. */
			size_t len = strlen(argv[i]);

			if (len > 1 && argv[i][len - 1] == '.')
				len--;
			if (argv[i][0] == '[' || !address_domain_ok(argv[i], len)) {
				cli_err("check: %s: not a domain name", argv[i]);
				return cli_usage(stderr, "check");
			}
			domain = xstrndup(argv[i], len);
			for (p = domain; *p != '\0'; p++)
				*p = (char)tolower((unsigned char)*p);
		}
	}
	if (domain == NULL)
		return cli_usage(stderr, "check");
	if ((ret = cli_config_need(cli)) != 0) {
		free(domain);
		return ret;
	}
	w.loop = ev_loop_new();
	if ((dns = cli_dns_resolver(w.loop, cli->cfg, "check")) == NULL) {
		ev_loop_free(&w.loop);
		free(domain);
		return EX_UNAVAILABLE;
	}
	if (self_addrs_refresh(&self) < 0)
		cli_err("warning: check: list interface addresses: %s; only "
		    "myhostname and smtp_listen say which MX hosts are this host",
		    strerror(errno));
	c = dnscheck_start(dns, cli->cfg, &self, domain, cli_dns_done, &w);
	deadline = ev_timer_add(w.loop, CLI_DNS_DEADLINE_MS, cli_dns_deadline, &w);
	(void)ev_run(w.loop);
	ev_timer_cancel(w.loop, &deadline);
	if (w.res == NULL) {
		dnscheck_cancel(&c);
		cli_err("check: %s: DNS gave no complete answer in %d s: is a DNS "
		    "server reachable (dns_servers, /etc/resolv.conf)?", domain,
		    CLI_DNS_DEADLINE_MS / 1000);
		ret = EX_TEMPFAIL;
		if (json) {
			/* A script still gets its one object. */
			struct dnscheck_result *res = xcalloc(1, sizeof(*res));

			res->domain = xstrdup(domain);
			dnscheck_add(res, DNSCHECK_ERROR, DNSCHECK_MX, NULL, NULL,
			    "DNS gave no complete answer in %d s",
			    CLI_DNS_DEADLINE_MS / 1000);
			cli_dns_json(cli->out, res, ret);
			dnscheck_result_free(&res);
		}
	} else {
		if (connect)
			cli_reach(w.res);
		ret = cli_dns_exit(w.res);
		if (json)
			cli_dns_json(cli->out, w.res, ret);
		else
			cli_dns_text(cli->out, w.res);
		dnscheck_result_free(&w.res);
	}
	dns_free(&dns);
	ev_loop_free(&w.loop);
	self_addrs_clear(&self);
	free(domain);
	return ret;
}

/* What config check's loop waits for. */
struct cli_dns_all {
	struct ev_loop *loop;
	size_t problems;
	bool done;
};

/* cli_dns_all_each - print one domain's problems as warnings */
static void
cli_dns_all_each(const struct dnscheck_result *res, void *ctx)
{
	struct cli_dns_all *a = ctx;
	size_t i;

	/* "DNS check skipped" says it once, for every domain. */
	if (res->no_server)
		return;
	for (i = 0; i < res->n; i++) {
		if (res->v[i].verdict != DNSCHECK_WARNING &&
		    res->v[i].verdict != DNSCHECK_ERROR)
			continue;
		fflush(stdout);
		fprintf(stderr, "sluice: warning: dns check: %s: ", res->domain);
		cli_put_text(stderr, res->v[i].text);
		fputc('\n', stderr);
		a->problems++;
	}
}

/* cli_dns_all_done - every domain is checked, or DNS is down */
static void
cli_dns_all_done(size_t checked, size_t total, const char *skipped, void *ctx)
{
	struct cli_dns_all *a = ctx;

	if (skipped != NULL)
		cli_err("warning: DNS check skipped: %s; %zu of %zu domains "
		    "checked (dns_servers, /etc/resolv.conf)", skipped, checked,
		    total);
	a->done = true;
	ev_stop(a->loop);
}

/* cli_dns_all_deadline - config check does not wait for ever */
static void
cli_dns_all_deadline(void *ctx)
{
	struct cli_dns_all *a = ctx;

	ev_stop(a->loop);
}

void
cli_dns_check_all(struct cli *cli)
{
	struct cli_dns_all a = { 0 };
	struct self_addrs self = { 0 };
	struct dnscheck_batch *b;
	struct ev_timer *deadline;
	struct dns *dns;

	if (domain_count(cli->cfg->domains) == 0)
		return;
	a.loop = ev_loop_new();
	if ((dns = cli_dns_resolver(a.loop, cli->cfg,
	    "warning: DNS check skipped")) == NULL) {
		ev_loop_free(&a.loop);
		return;
	}
	(void)self_addrs_refresh(&self);
	b = dnscheck_batch_start(a.loop, dns, cli->cfg, &self, CLI_ALL_PARALLEL,
	    0, cli_dns_all_each, cli_dns_all_done, &a);
	deadline = ev_timer_add(a.loop, CLI_ALL_DEADLINE_MS, cli_dns_all_deadline, &a);
	(void)ev_run(a.loop);
	ev_timer_cancel(a.loop, &deadline);
	if (!a.done) {
		cli_err("warning: DNS check stopped after %d s, before every domain "
		    "was checked; qmgr checks them all at start and reload",
		    CLI_ALL_DEADLINE_MS / 1000);
		dnscheck_batch_cancel(&b);
	}
	dns_free(&dns);
	ev_loop_free(&a.loop);
	self_addrs_clear(&self);
}
