/*
 * turn_etrn - ETRN (RFC 1985) to every MX, in a retry series, with the link
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

/* lib/util */
#include "util/log.h"
#include "util/tls.h"
#include "util/xmalloc.h"
/* turn */
#include "turn/turn.h"

/* What one attempt came to, for the series. */
enum turn_result {
	TURN_OK = 0,		/* 250, 251, 252, 253 */
	TURN_TEMP,		/* try again in the next round */
	TURN_PERM,		/* refused: retrying cannot help */
};

/* One SMTP reply, every line's text joined by spaces. */
struct turn_reply {
	int code;
	char text[TURN_LINE_MAX * 2];
	bool starttls, auth_plain;	/* EHLO keywords */
};

/* One ETRN session: the connection and what it needs. */
struct turn_session {
	const struct turn_opts *opts;
	SSL_CTX *tls_ctx;
	struct turn_conn conn;
	const char *where;	/* "mx1.isp.example[192.0.2.1]:25" */
	bool tls_failed;	/* the STARTTLS handshake failed */
	bool plain;		/* this attempt without STARTTLS */
	char why[TURN_LINE_MAX * 2 + 64];
};

/* turn_ehlo_keyword - note the extensions ETRN's session cares about */
static void
turn_ehlo_keyword(struct turn_reply *r, const char *kw)
{
	if (strncasecmp(kw, "STARTTLS", 8) == 0 && (kw[8] == '\0' || kw[8] == ' '))
		r->starttls = true;
	else if (strncasecmp(kw, "AUTH ", 5) == 0 || strncasecmp(kw, "AUTH=", 5) == 0)
		for (kw += 5; (kw = strcasestr(kw, "PLAIN")) != NULL; kw += 5)
			if ((kw[5] == '\0' || kw[5] == ' ') &&
			    (kw[-1] == ' ' || kw[-1] == '='))
				r->auth_plain = true;
}

/*
 * turn_smtp_reply - read one reply. Every line is three digits, the same
 * for all lines, then "-" (more follow) or " " or nothing (the last);
 * anything else, or more than TURN_REPLY_LINES_MAX lines, is a protocol
 * error (-1 with s->why), as the MX is not trusted.
 */
static int
turn_smtp_reply(struct turn_session *s, struct turn_reply *r)
{
	char line[TURN_LINE_MAX];
	size_t nlines, used = 0;
	int code;

	memset(r, 0, sizeof(*r));
	for (nlines = 0; nlines < TURN_REPLY_LINES_MAX; nlines++) {
		if (turn_conn_line(&s->conn, line, sizeof(line)) < 0) {
			snprintf(s->why, sizeof(s->why), "%s", s->conn.err);
			return -1;
		}
		if (s->opts->verbose)
			log_info("%s: < %s", s->where, line);
		if (!isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
		    !isdigit((unsigned char)line[2]) || line[0] < '2' || line[0] > '5' ||
		    (line[3] != '\0' && line[3] != ' ' && line[3] != '-')) {
			snprintf(s->why, sizeof(s->why), "protocol error: reply \"%.80s\"",
			    line);
			return -1;
		}
		code = atoi(line);
		if (nlines > 0 && code != r->code) {
			snprintf(s->why, sizeof(s->why),
			    "protocol error: reply code %d inside a %d reply", code,
			    r->code);
			return -1;
		}
		r->code = code;
		if (nlines > 0 && line[3] != '\0')
			turn_ehlo_keyword(r, line + 4);
		if (used < sizeof(r->text) - 1)
			used += (size_t)snprintf(r->text + used, sizeof(r->text) - used,
			    "%s%s", used > 0 ? " " : "", nlines == 0 ? line :
			    line + (line[3] != '\0' ? 4 : 3));
		if (used >= sizeof(r->text))
			used = sizeof(r->text) - 1;
		if (line[3] != '-')
			return 0;
	}
	snprintf(s->why, sizeof(s->why), "protocol error: reply of more than %d lines",
	    TURN_REPLY_LINES_MAX);
	return -1;
}

/* turn_smtp_cmd - send one command line and read its reply; 0/-1 */
static int
turn_smtp_cmd(struct turn_session *s, const char *cmd, struct turn_reply *r,
    bool secret)
{
	char *line = xasprintf("%s\r\n", cmd);
	int ret;

	if (s->opts->verbose)
		log_info("%s: > %s", s->where, secret ? "AUTH PLAIN (hidden)" : cmd);
	ret = turn_conn_write(&s->conn, line, strlen(line));
	OPENSSL_cleanse(line, strlen(line));
	free(line);
	if (ret < 0) {
		snprintf(s->why, sizeof(s->why), "%s", s->conn.err);
		return -1;
	}
	return turn_smtp_reply(s, r);
}

/* turn_refused - why from a reply, and its class: 4xx temporary */
static enum turn_result
turn_refused(struct turn_session *s, const char *after, const struct turn_reply *r)
{
	snprintf(s->why, sizeof(s->why), "%s: %s", after, r->text);
	return r->code >= 500 ? TURN_PERM : TURN_TEMP;
}

/* turn_password - the first line of the password file, in a new string */
static char *
turn_password(struct turn_session *s)
{
	return turn_password_read(s->opts->auth_file, s->why, sizeof(s->why));
}

char *
turn_password_read(const char *file, char *why, size_t size)
{
	char buf[512];
	FILE *fp = fopen(file, "re");

	if (fp == NULL || fgets(buf, sizeof(buf), fp) == NULL) {
		snprintf(why, size, "read the password from %s: %s", file,
		    fp == NULL ? strerror(errno) : "empty file");
		if (fp != NULL)
			fclose(fp);
		return NULL;
	}
	fclose(fp);
	buf[strcspn(buf, "\r\n")] = '\0';
	return xstrdup(buf);
}

/* turn_auth - AUTH PLAIN (RFC 4616), only over TLS; a turn_result */
static enum turn_result
turn_auth(struct turn_session *s)
{
	const char *user = s->opts->auth_user;
	struct turn_reply r;
	unsigned char raw[1100];
	char *pass, *cmd;
	size_t ulen, plen;
	int ret;

	/* A password in clear text on the way to the ISP is never sent. */
	if (s->conn.ssl == NULL) {
		snprintf(s->why, sizeof(s->why), "AUTH needs TLS, and the session "
		    "is not encrypted (use --tls encrypt, or check the server's STARTTLS)");
		return TURN_PERM;
	}
	if ((pass = turn_password(s)) == NULL)
		return TURN_PERM;
	ulen = strlen(user);
	plen = strlen(pass);
	if (ulen + plen + 2 > 512) {
		snprintf(s->why, sizeof(s->why), "AUTH: user name and password "
		    "longer than 510 bytes");
		free(pass);
		return TURN_PERM;
	}
	/* authzid NUL authcid NUL password, authzid empty */
	raw[0] = '\0';
	memcpy(raw + 1, user, ulen);
	raw[1 + ulen] = '\0';
	memcpy(raw + 2 + ulen, pass, plen);
	OPENSSL_cleanse(pass, plen);
	free(pass);
	cmd = xmalloc(16 + 4 * ((ulen + plen + 2 + 2) / 3) + 1);
	memcpy(cmd, "AUTH PLAIN ", 11);
	EVP_EncodeBlock((unsigned char *)cmd + 11, raw, (int)(ulen + plen + 2));
	OPENSSL_cleanse(raw, sizeof(raw));
	ret = turn_smtp_cmd(s, cmd, &r, true);
	OPENSSL_cleanse(cmd, strlen(cmd));
	free(cmd);
	if (ret < 0)
		return TURN_TEMP;
	if (r.code != 235)
		return turn_refused(s, "AUTH", &r);
	return TURN_OK;
}

/* turn_greet - banner, EHLO (HELO if refused), STARTTLS, AUTH; a turn_result */
static enum turn_result
turn_greet(struct turn_session *s)
{
	struct turn_reply r;
	char *cmd;
	int ret;

	if (turn_smtp_reply(s, &r) < 0)
		return TURN_TEMP;
	if (r.code != 220)
		return turn_refused(s, "greeting", &r);
	cmd = xasprintf("EHLO %s", s->opts->helo);
	ret = turn_smtp_cmd(s, cmd, &r, false);
	if (ret == 0 && r.code >= 500) {
		/* An old server: HELO, and no extensions at all. */
		cmd[0] = 'H';
		ret = turn_smtp_cmd(s, cmd, &r, false);
		r.starttls = r.auth_plain = false;
	}
	if (ret < 0 || r.code != 250) {
		free(cmd);
		return ret < 0 ? TURN_TEMP : turn_refused(s, "EHLO", &r);
	}
	if (r.starttls && s->opts->tls != TURN_TLS_NONE && !s->plain) {
		if (turn_smtp_cmd(s, "STARTTLS", &r, false) < 0 || r.code != 220 ||
		    turn_conn_starttls(&s->conn, s->tls_ctx, NULL) < 0) {
			s->tls_failed = r.code == 220;
			if (s->why[0] == '\0' || r.code == 220)
				snprintf(s->why, sizeof(s->why), "STARTTLS: %s",
				    r.code != 220 ? r.text : s->conn.err);
			free(cmd);
			return TURN_TEMP;
		}
		ret = turn_smtp_cmd(s, cmd, &r, false);
		if (ret < 0 || r.code != 250) {
			free(cmd);
			return ret < 0 ? TURN_TEMP : turn_refused(s, "EHLO after STARTTLS", &r);
		}
	} else if (s->opts->tls == TURN_TLS_ENCRYPT) {
		snprintf(s->why, sizeof(s->why), "TLS is required (--tls encrypt) "
		    "and the server does not offer STARTTLS");
		free(cmd);
		return TURN_TEMP;
	}
	free(cmd);
	if (s->opts->auth_user == NULL)
		return TURN_OK;
	/* Without TLS, turn_auth refuses to send the password at all. */
	if (s->conn.ssl != NULL && !r.auth_plain) {
		snprintf(s->why, sizeof(s->why), "the server offers no AUTH PLAIN");
		return TURN_PERM;
	}
	return turn_auth(s);
}

/* turn_etrn_one - one session to one address: greet, ETRN domain, QUIT */
static enum turn_result
turn_etrn_one(struct turn_session *s, const struct turn_mx *mx, size_t i)
{
	struct turn_reply r;
	enum turn_result res;
	bool answered = false;
	char *cmd;

	s->why[0] = '\0';
	if (turn_conn_open(&s->conn, (const struct sockaddr *)&mx->addr[i],
	    mx->addrlen[i], s->opts->port, s->opts->bind, (int)s->opts->io_timeout * 1000) < 0) {
		snprintf(s->why, sizeof(s->why), "%s", s->conn.err);
		return TURN_TEMP;
	}
	res = turn_greet(s);
	if (res == TURN_OK) {
		cmd = xasprintf("ETRN %s", mx->domain);
		answered = turn_smtp_cmd(s, cmd, &r, false) == 0;
		free(cmd);
		if (!answered) {
			res = TURN_TEMP;
		} else if (r.code >= 250 && r.code <= 253) {
			snprintf(s->why, sizeof(s->why), "%s", r.text);
		} else {
			/*
			 * 458 (RFC 1985: unable to queue now) is worth another
			 * round; 459 (the node is not allowed, or not queued
			 * there) and 5xx are refusals no retry changes.
			 */
			res = turn_refused(s, "ETRN", &r);
			if (r.code == 459)
				res = TURN_PERM;
		}
		/* The answer is in; a QUIT that fails changes nothing. */
		if (answered) {
			char keep[sizeof(s->why)];

			memcpy(keep, s->why, sizeof(keep));
			(void)turn_smtp_cmd(s, "QUIT", &r, false);
			memcpy(s->why, keep, sizeof(keep));
		}
	}
	turn_conn_close(&s->conn);
	return res;
}

/* turn_etrn_mx - ETRN to the first address of mx that answers; one line each */
static enum turn_result
turn_etrn_mx(struct turn_session *s, const struct turn_mx *mx, bool last_round)
{
	enum turn_result res = TURN_TEMP;
	char where[300];
	size_t i;

	for (i = 0; i < mx->naddr; i++) {
		turn_addr_text(mx, i, s->opts->port, where, sizeof(where));
		s->where = where;
		s->plain = s->tls_failed = false;
		res = turn_etrn_one(s, mx, i);
		/*
		 * --tls may: a failed handshake is reported and the same
		 * address tried again in plain text, as Postfix's "may" does;
		 * never with AUTH, whose password needs the encryption.
		 */
		if (res == TURN_TEMP && s->tls_failed &&
		    s->opts->tls == TURN_TLS_MAY && s->opts->auth_user == NULL) {
			turn_report("%s: %s; trying again without TLS", where, s->why);
			s->plain = true;
			res = turn_etrn_one(s, mx, i);
		}
		if (res == TURN_OK)
			turn_report("%s: %s", where, s->why);
		else
			turn_report("%s: ETRN %s %s: %s", where, mx->domain,
			    res == TURN_PERM ? "refused" : last_round &&
			    i + 1 == mx->naddr ? "failed" : "deferred", s->why);
		if (res != TURN_TEMP)
			break;
	}
	return res;
}

int
turn_link_cmd(const char *what, const char *cmd)
{
	int st;

	fflush(NULL);
	/* The command gets SIGPIPE back, as from a shell (see main). */
	(void)signal(SIGPIPE, SIG_DFL);
	st = system(cmd);
	(void)signal(SIGPIPE, SIG_IGN);
	if (st == 0) {
		turn_report("%s: \"%s\": done", what, cmd);
		return 0;
	}
	if (st == -1)
		turn_report("%s: \"%s\": cannot run: %s", what, cmd, strerror(errno));
	else if (WIFEXITED(st))
		turn_report("%s: \"%s\": exit status %d", what, cmd, WEXITSTATUS(st));
	else
		turn_report("%s: \"%s\": killed by signal %d", what, cmd,
		    WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return -1;
}

/* The MX hosts already done (accepted or refused), as "domain host". */
struct turn_done {
	size_t n;
	char **v;
	bool refused;		/* one of them refused for good */
};

/* turn_done_has - was domain's host done in an earlier round? */
static bool
turn_done_has(const struct turn_done *done, const struct turn_mx *mx)
{
	size_t i, dl = strlen(mx->domain);

	for (i = 0; i < done->n; i++)
		if (strncmp(done->v[i], mx->domain, dl) == 0 &&
		    done->v[i][dl] == ' ' && strcmp(done->v[i] + dl + 1, mx->host) == 0)
			return true;
	return false;
}

/* turn_round - one round over the MXes not done; EX_TEMPFAIL if any failed */
static int
turn_round(const struct turn_opts *opts, SSL_CTX *ctx, char *const *domains,
    size_t ndomains, struct turn_done *done, bool last_round)
{
	struct turn_session s = { .opts = opts, .tls_ctx = ctx };
	struct turn_mx_set set;
	enum turn_result res;
	int status;
	size_t i;

	status = turn_mx_resolve(opts, domains, ndomains, &set);
	if (status == EX_CONFIG) {
		turn_mx_set_clear(&set);
		return status;
	}
	for (i = 0; i < set.n; i++) {
		if (turn_done_has(done, &set.v[i]))
			continue;
		res = turn_etrn_mx(&s, &set.v[i], last_round);
		if (res == TURN_TEMP) {
			status = EX_TEMPFAIL;
			continue;
		}
		done->refused |= res == TURN_PERM;
		done->v = xreallocarray(done->v, done->n + 1, sizeof(*done->v));
		done->v[done->n++] = xasprintf("%s %s", set.v[i].domain, set.v[i].host);
	}
	turn_mx_set_clear(&set);
	return status;
}

void
turn_pause(uint64_t secs)
{
	struct timespec ts = { .tv_sec = (time_t)secs }, rem;

	while (nanosleep(&ts, &rem) < 0)
		ts = rem;
}

int
turn_etrn_run(const struct turn_opts *opts, char *const *domains, size_t ndomains)
{
	struct turn_done done = { 0 };
	SSL_CTX *ctx = NULL;
	char *err = NULL;
	int status = 0;
	size_t round, i;

	if (opts->tls != TURN_TLS_NONE &&
	    (ctx = tls_client_ctx_new(false, &err)) == NULL) {
		turn_report("TLS client context: %s", err);
		free(err);
		return EX_SOFTWARE;
	}
	/* The link comes up once, before the first round, and down after the last. */
	if (opts->link_up != NULL && turn_link_cmd("link-up", opts->link_up) < 0)
		status = EX_TEMPFAIL;
	for (round = 0; status == 0 || status == EX_TEMPFAIL; round++) {
		if (round == 0 && status != 0)
			break;
		status = turn_round(opts, ctx, domains, ndomains, &done,
		    round == opts->nretry);
		if (status != EX_TEMPFAIL || round == opts->nretry)
			break;
		turn_report("round %zu of %zu: retrying the deferred in %llus",
		    round + 1, opts->nretry + 1,
		    (unsigned long long)opts->retry[round]);
		turn_pause(opts->retry[round]);
	}
	if (opts->link_down != NULL)
		(void)turn_link_cmd("link-down", opts->link_down);
	if (status == 0 && done.refused)
		status = EX_UNAVAILABLE;
	for (i = 0; i < done.n; i++)
		free(done.v[i]);
	free(done.v);
	tls_ctx_free(&ctx);
	return status;
}
