/*
 * queue_inject - test helper: commit a message to a queue directory the
 * way smtpd does (queue_file_create/write/commit) and print its ID.
 *
 *	queue_inject [-n COUNT] QDIR SENDER RCPT... < content   (content: CRLF lines)
 *
 * With -n, COUNT messages of the same envelope and content, one ID a
 * line (filling a queue for the list-paging test and bench/webview).
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
	long count = 1, k;
	int i;

	log_init("queue_inject");
	if (argc > 2 && strcmp(argv[1], "-n") == 0) {
		count = strtol(argv[2], NULL, 10);
		argc -= 2;
		argv += 2;
	}
	if (argc < 4 || count < 1) {
		fprintf(stderr, "usage: queue_inject [-n COUNT] QDIR SENDER RCPT... < content\n");
		return 2;
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
		for (i = 3; i < argc; i++)
			envelope_add_rcpt(env, argv[i], NULL, 0);
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
