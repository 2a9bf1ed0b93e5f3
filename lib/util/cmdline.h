/*
 * cmdline - the options every sluice program takes: --help and --version.
 *
 *	int
 *	main(int argc, char **argv)
 *	{
 *		cmdline_std(argc, argv, "master", cmdline_usage_line,
 *		    "master [-f] [-v] [-c config_dir]");
 *		...
 *
 * cmdline_std() looks at the arguments before anything else happens (no
 * configuration read, no log opened, no privilege used), so that both
 * work on a host with a broken or missing sluice.conf. It stops at "--".
 * --version prints "PROG (sluice) VERSION" and --help the usage to
 * stdout; either exits 0. Otherwise it returns and the program parses
 * its arguments as before.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_CMDLINE_H
#define SLUICE_CMDLINE_H

#include <stdio.h>

/* cmdline_usage_fn - print the program's usage to fp (ctx: cmdline_std's) */
typedef void cmdline_usage_fn(FILE *fp, const void *ctx);

/* cmdline_std - handle --help and --version (exit 0), or return */
void cmdline_std(int argc, char **argv, const char *prog,
    cmdline_usage_fn *usage, const void *ctx);

/* cmdline_version - "PROG (sluice) VERSION" and a newline to fp */
void cmdline_version(FILE *fp, const char *prog);

/* cmdline_usage_line - a cmdline_usage_fn: "usage: " and ctx, a string */
void cmdline_usage_line(FILE *fp, const void *ctx);

#endif
