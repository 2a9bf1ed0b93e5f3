/*
 * cmdline - --help and --version, before anything else
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "util/cmdline.h"

void
cmdline_version(FILE *fp, const char *prog)
{
	fprintf(fp, "%s (%s) %s\n", prog, PACKAGE_NAME, PACKAGE_VERSION);
}

void
cmdline_usage_line(FILE *fp, const void *ctx)
{
	fprintf(fp, "usage: %s\n", (const char *)ctx);
}

/* cmdline_exit - flush stdout and exit 0, or EX_IOERR when it failed */
static _Noreturn void
cmdline_exit(const char *prog)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: write standard output failed\n", prog);
		exit(EX_IOERR);
	}
	exit(EX_OK);
}

void
cmdline_std(int argc, char **argv, const char *prog, cmdline_usage_fn *usage,
    const void *ctx)
{
	int i;

	for (i = 1; i < argc && argv[i] != NULL; i++) {
		if (strcmp(argv[i], "--") == 0)
			return;
		if (strcmp(argv[i], "--version") == 0) {
			cmdline_version(stdout, prog);
			cmdline_exit(prog);
		}
		if (strcmp(argv[i], "--help") == 0) {
			usage(stdout, ctx);
			cmdline_exit(prog);
		}
	}
}
