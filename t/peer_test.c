/*
 * peer_test - the fleet's client dialogue (lib/mail/peer.c) against a
 * scripted server over a socketpair: the login sends HMAC-MD5 of the
 * challenge and never the secret, every reply is matched to its command,
 * and each way a peer can answer or misbehave ends as the pass's retry
 * logic needs it (a reply, a temporary failure, a final one).
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* lib/util */
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/passwd.h"
#include "mail/peer.h"
#include "mail/sasl.h"

#include "t/tap.h"

#define SECRET		"fleet-secret-0123456789abcdef"
#define CHALLENGE	"<12345.1700000000@mx2.isp.example>"

/* A greeting and a login that works, as a real peer sends them. */
static char *
login_script(const char *after)
{
	char *b64 = sasl_base64_encode(CHALLENGE, strlen(CHALLENGE));
	char *s = xasprintf("220 mx2.isp.example ESMTP\r\n"
	    "250-mx2.isp.example\r\n250-PIPELINING\r\n250-AUTH CRAM-MD5\r\n250 ETRN\r\n"
	    "334 %s\r\n235 2.7.0 Authentication successful\r\n%s", b64, after);

	free(b64);
	return s;
}

struct lines {
	size_t n;
	char last[200];
};

static void
count_line(const char *line, void *ctx)
{
	struct lines *l = ctx;

	l->n++;
	snprintf(l->last, sizeof(l->last), "%s", line);
}

/*
 * run - play script as the server (all of it written at once, then the
 * server's side shut), run the session; the client's bytes in *sent_r.
 */
static int
run(const char *script, const char *command, struct peer_result *r, struct lines *l,
    char **sent_r)
{
	int sv[2], rc;
	char buf[8192];
	ssize_t n;
	size_t len = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	if (write(sv[1], script, strlen(script)) != (ssize_t)strlen(script))
		abort();
	(void)shutdown(sv[1], SHUT_WR);
	memset(r, 0, sizeof(*r));
	rc = peer_session(sv[0], "mx1.isp.example", SECRET, command, 5000,
	    l != NULL ? count_line : NULL, l, r);
	(void)close(sv[0]);
	while ((n = read(sv[1], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	(void)close(sv[1]);
	if (sent_r != NULL)
		*sent_r = xstrdup(buf);
	return rc;
}

static void
test_good(void)
{
	struct peer_result r;
	char *script = login_script("253 2.0.0 OK, 2 pending messages for node site.example "
	    "started\r\n221 2.0.0 Bye\r\n"), *sent, *resp, *line, *b64;
	int rc = run(script, "ETRN site.example", &r, NULL, &sent);

	ok(rc == 0 && r.code == 253, "ETRN answered: rc %d, code %d", rc, r.code);
	ok(strcmp(r.text, "253 2.0.0 OK, 2 pending messages for node site.example started") == 0,
	    "the ETRN reply is kept, not QUIT's: %s", r.text);
	ok(!r.temporary, "a reply is final");
	resp = passwd_cram_response(SECRET, CHALLENGE);
	line = xasprintf("sluice-peer %s", resp);
	b64 = sasl_base64_encode(line, strlen(line));
	free(line);
	line = xasprintf("EHLO mx1.isp.example\r\nAUTH CRAM-MD5\r\n%s\r\nETRN site.example\r\n"
	    "QUIT\r\n", b64);
	ok(strcmp(sent, line) == 0, "the client sent EHLO, AUTH, the HMAC response, ETRN, "
	    "QUIT (%zu octets, want %zu)", strlen(sent), strlen(line));
	ok(strstr(sent, SECRET) == NULL, "the secret never crosses the wire");
	free(b64);
	free(line);
	free(resp);
	free(sent);
	free(script);
}

static void
test_summary(void)
{
	struct peer_result r;
	struct lines l = { 0 };
	char *script = login_script("250-domain=site.example messages=3 gate=held\r\n"
	    "250-domain=other.example messages=1 gate=open until 12:00:00 (etrn)\r\n"
	    "250 2.0.0 2 domains\r\n221 Bye\r\n");

	ok(run(script, PEER_VERB_SUMMARY, &r, &l, NULL) == 0 && r.code == 250,
	    "XSUMMARY answered");
	ok(l.n == 3 && strcmp(l.last, "2.0.0 2 domains") == 0,
	    "every line of the reply reaches the callback: %zu, last %s", l.n, l.last);
	free(script);
}

/* Each way a peer fails, and whether another try may help. */
static void
test_failures(void)
{
	char *b64 = sasl_base64_encode(CHALLENGE, strlen(CHALLENGE));
	char *wrong = xasprintf("220 mx2 ESMTP\r\n250 mx2\r\n334 %s\r\n"
	    "535 5.7.8 Error: authentication failed\r\n", b64);
	char *late = login_script("421 4.3.2 Shutting down\r\n");
	char *longline = xasprintf("220 %0*d\r\n", 5000, 0);
	static const char *const temp[][2] = {
		{ "421 4.3.2 Service not available\r\n", "greeting" },
		{ "220 mx2 ESMTP\r\n", "lost connection" },
		{ "", "lost connection" },
		{ "220 mx2 ESMTP\r\n250-mx2\r\n", "lost connection" },
	};
	static const char *const final[][2] = {
		{ "554 5.7.1 Go away\r\n", "greeting" },
		{ "220 mx2 ESMTP\r\n250-mx2\r\n251 mx2\r\n", "malformed" },
		{ "hello there\r\n", "malformed" },
		{ "220 mx2 ESMTP\r\n250 mx2\r\n503 5.5.1 Error: authentication not enabled\r\n",
		    "AUTH CRAM-MD5: 503" },
		{ "220 mx2 ESMTP\r\n250 mx2\r\n334 not*base64\r\n", "AUTH CRAM-MD5" },
		{ "220 mx2 ESMTP\r\n250 mx2\r\n334\r\n", "AUTH CRAM-MD5" },
		{ "220 mx2 ESMTP\r\n250 mx2\r\n3340 x\r\n", "malformed" },
		{ "220 mx2 ESMTP\r\n250 mx2\r\n699 x\r\n", "malformed" },
	};
	struct peer_result r;
	size_t i;

	ok(run(wrong, "ETRN site.example", &r, NULL, NULL) < 0 && !r.temporary &&
	    strstr(r.text, "peer login: 535") != NULL, "wrong secret: final, %s", r.text);
	ok(run(late, "ETRN site.example", &r, NULL, NULL) == 0 && r.code == 421 &&
	    r.temporary, "421 to ETRN: a reply, but worth another try");
	/* Found by t/fuzz/fuzz_peer: a peer that hangs up at QUIT. */
	free(late);
	late = login_script("250 2.0.0 OK, queuing for node site.example started\r\n");
	ok(run(late, "ETRN site.example", &r, NULL, NULL) == 0 && r.code == 250 &&
	    !r.temporary && strstr(r.text, "250 2.0.0 OK") != NULL,
	    "no answer to QUIT: the ETRN's 250 stands, not a failure to retry (%s)", r.text);
	ok(run(longline, "ETRN x", &r, NULL, NULL) < 0 && !r.temporary &&
	    strstr(r.text, "too long") != NULL, "an endless line: %s", r.text);
	for (i = 0; i < sizeof(temp) / sizeof(temp[0]); i++)
		ok(run(temp[i][0], "ETRN x", &r, NULL, NULL) < 0 && r.temporary &&
		    strstr(r.text, temp[i][1]) != NULL, "temporary %zu: %s", i, r.text);
	for (i = 0; i < sizeof(final) / sizeof(final[0]); i++)
		ok(run(final[i][0], "ETRN x", &r, NULL, NULL) < 0 && !r.temporary &&
		    strstr(r.text, final[i][1]) != NULL, "final %zu: %s", i, r.text);
	free(longline);
	free(late);
	free(wrong);
	free(b64);
}

/* The secret file: its first line, within bounds, or a message with the fix. */
static void
test_secret(void)
{
	char path[] = "/tmp/peer_test.XXXXXX";
	char *secret = NULL, *err = NULL;
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, "short\n", 6) != 6)
		abort();
	close(fd);
	ok(peer_secret_load(path, &secret, &err) < 0 && err != NULL &&
	    strstr(err, "openssl rand") != NULL, "a short secret is refused: %s", err);
	free(err);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0 || write(fd, SECRET "\nsecond line\n", strlen(SECRET) + 13) < 0)
		abort();
	close(fd);
	ok(peer_secret_load(path, &secret, &err) == 0 && strcmp(secret, SECRET) == 0,
	    "the first line is the secret");
	free(secret);
	unlink(path);
	ok(peer_secret_load(path, &secret, &err) < 0 && strstr(err, path) != NULL,
	    "a missing file names itself: %s", err);
	free(err);
}

int
main(void)
{
	test_good();
	test_summary();
	test_failures();
	test_secret();
	return tap_done();
}
