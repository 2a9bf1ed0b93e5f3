/*
 * testutil - scaffolding shared by the C unit tests (see testutil.h)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/xmalloc.h"
#include "mail/queue.h"
#include "tap.h"
#include "testutil.h"

/* test_bail - give up on the whole test: the TAP "Bail out!" line, exit 1 */
static _Noreturn void
test_bail(const char *what, const char *name)
{
	printf("Bail out! %s %s\n", what, name);
	exit(1);
}

/* test_esc - s with newlines shown as \n, for one-line test names (new string) */
char *
test_esc(const char *s)
{
	char *out = xmalloc(2 * strlen(s) + 1), *o = out;

	for (; *s != '\0'; s++) {
		if (*s == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else
			*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* test_put - dir/name := text */
void
test_put(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) < 0 || fclose(fp) != 0)
		test_bail("cannot write", path);
	free(path);
}

/* test_tmpdir - make the directory tmpl names (mkdtemp's XXXXXX filled in) */
void
test_tmpdir(char *tmpl)
{
	if (mkdtemp(tmpl) == NULL)
		test_bail("mkdtemp", tmpl);
}

/* test_rmdir - remove dir and all below it; a diagnostic if that fails */
void
test_rmdir(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	if (system(cmd) != 0)
		tap_diag("cannot remove %s", dir);
	free(cmd);
}

/* test_log - prog's log written to DIR.log, whose name it returns (new string) */
char *
test_log(const char *dir, const char *prog)
{
	char *logpath = xasprintf("%s.log", dir);

	log_init(prog);
	if (log_set_dest(LOG_DEST_FILE, logpath) == -1)
		log_set_dest(LOG_DEST_STDERR, NULL);
	return logpath;
}

/* test_queue - a scratch queue and prog's log beside it (see testutil.h) */
char *
test_queue(char *tmpl, const char *prog)
{
	char *logpath;

	test_tmpdir(tmpl);
	logpath = test_log(tmpl, prog);
	if (queue_init_dirs(tmpl) == -1)
		test_bail("queue_init_dirs", tmpl);
	return logpath;
}

/* test_queue_done - remove the queue dir and the log *logpathp; NULLs it */
void
test_queue_done(const char *dir, char **logpathp)
{
	test_rmdir(dir);
	unlink(*logpathp);
	free(*logpathp);
	*logpathp = NULL;
}

/* test_envelope - an envelope with every field but the recipients set */
struct envelope *
test_envelope(const char *sender)
{
	struct envelope *env = envelope_new();

	env->arrival = 1700000000;
	env->sender = xstrdup(sender);
	env->envid = xstrdup(TEST_ENVID);
	env->ret = DSN_RET_HDRS;
	env->client_name = xstrdup("mail.example.org");
	env->client_addr = xstrdup("2001:db8::1");
	env->helo = xstrdup("mail.example.org");
	env->protocol = xstrdup("ESMTPSA");
	env->auth_user = xstrdup("j\xc3\xbcrgen");
	return env;
}
