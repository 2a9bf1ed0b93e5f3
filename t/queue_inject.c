/*
 * queue_inject - test helper: commit a message to a queue directory the
 * way smtpd does (queue_file_create/write/commit) and print its ID.
 *
 *	queue_inject [-n COUNT] [-d DOMAINS] QDIR SENDER RCPT... < content
 *	(content: CRLF lines)
 *
 * With -n, COUNT messages of the same envelope and content, one ID a
 * line (filling a queue for the list-paging test and bench/webview).
 * With -d, every RCPT holds one "%d", replaced in message K (from 0) by
 * K % DOMAINS + 1: -n 100000 -d 100 user@other%d.example puts 1,000
 * messages in each of other1..other100.example in one process
 * (bench/run's fill, under eatmydata).
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "mail/queue.h"

int
main(int argc, char **argv)
{
	struct envelope *env;
	struct queue_file *qf;
	char *content = NULL;
	size_t len = 0, cap = 0, n;
	long count = 1, ndom = 0, k;
	const char *p;
	char *rcpt;
	int i;

	log_init("queue_inject");
	while (argc > 2 &&
	       (strcmp(argv[1], "-n") == 0 || strcmp(argv[1], "-d") == 0)) {
		if (argv[1][1] == 'n')
			count = strtol(argv[2], NULL, 10);
		else
			ndom = strtol(argv[2], NULL, 10);
		argc -= 2;
		argv += 2;
	}
	if (argc < 4 || count < 1 || ndom < 0) {
		fprintf(stderr, "usage: queue_inject [-n COUNT] [-d DOMAINS] "
		                "QDIR SENDER RCPT... < content\n");
		return 2;
	}
	for (i = 3; ndom > 0 && i < argc; i++) {
		p = strchr(argv[i], '%');
		if (p == NULL || p[1] != 'd' || strchr(p + 1, '%') != NULL) {
			fprintf(stderr,
			    "queue_inject: -d %ld: recipient %s: "
			    "write one %%d where the number goes\n",
			    ndom, argv[i]);
			return 2;
		}
	}
	if (queue_init_dirs(argv[1]) < 0) {
		perror("queue_init_dirs");
		return 1;
	}
	do {
		if (cap - len < 8192)
			content = realloc(content, cap = cap * 2 + 8192);
		if (content == NULL) {
			perror("realloc");
			return 1;
		}
		n = fread(content + len, 1, cap - len, stdin);
		len += n;
	} while (n > 0);
	for (k = 0; k < count; k++) {
		env = envelope_new();
		env->arrival = time(NULL);
		env->sender = strdup(argv[2]);
		env->client_name = strdup("localhost");
		env->client_addr = strdup("127.0.0.1");
		env->protocol = strdup("ESMTP");
		for (i = 3; i < argc; i++) {
			if (ndom == 0) {
				envelope_add_rcpt(env, argv[i], NULL, 0);
				continue;
			}
			p = strchr(argv[i], '%');
			if (asprintf(&rcpt, "%.*s%ld%s", (int)(p - argv[i]),
			        argv[i], k % ndom + 1, p + 2) < 0) {
				perror("asprintf");
				return 1;
			}
			envelope_add_rcpt(env, rcpt, NULL, 0);
			free(rcpt);
		}
		qf = queue_file_create(argv[1], env);
		if (qf == NULL) {
			perror("queue_file_create");
			return 1;
		}
		if (len > 0 && queue_file_write(qf, content, len) < 0) {
			perror("queue_file_write");
			return 1;
		}
		if (queue_file_commit(&qf) < 0) {
			perror("queue_file_commit");
			return 1;
		}
		printf("%s\n", env->id);
		envelope_free(&env);
	}
	free(content);
	return 0;
}
