/*
 * queue_inject - test helper: commit a message to a queue directory the
 * way smtpd does (queue_file_create/write/commit) and print its ID.
 *
 *	queue_inject QDIR SENDER RCPT... < content     (content: CRLF lines)
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
	char buf[8192];
	size_t n;
	int i;

	log_init("queue_inject");
	if (argc < 4) {
		fprintf(stderr, "usage: queue_inject QDIR SENDER RCPT... < content\n");
		return 2;
	}
	if (queue_init_dirs(argv[1]) < 0) {
		perror("queue_init_dirs");
		return 1;
	}
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
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
		if (queue_file_write(qf, buf, n) < 0) {
			perror("queue_file_write");
			return 1;
		}
	if (queue_file_commit(&qf) < 0) {
		perror("queue_file_commit");
		return 1;
	}
	printf("%s\n", env->id);
	envelope_free(&env);
	return 0;
}
