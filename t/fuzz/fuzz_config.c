/*
 * fuzz_config - the sluice.conf loader (lib/mail/config.c): the input is
 * written as sluice.conf in a scratch directory and loaded as every
 * daemon loads it at start and on reload. What loads must print and load
 * again to the same effective values (config_print, as `sluice config`).
 * domains_file is whatever the input says; in the scratch directory
 * there is none, so the loader reads sluice.conf alone.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* lib/util */
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/conf.h"

#include "t/fuzz/fuzz.h"

static char *dir, *conf;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet("fuzz_config");
	dir = xstrdup(fuzz_tmpdir());
	conf = xasprintf("%s/sluice.conf", dir);
	return 0;
}

/* printed - config_print of cfg as a new string */
static char *
printed(const struct config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	if (fp == NULL)
		log_panic("open_memstream: %s", strerror(errno));
	config_print(fp, cfg, CONFIG_PRINT_ALL);
	fclose(fp);
	return text;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors errs = { 0 };
	struct config *cfg = NULL, *again = NULL;
	char *text, *text2, *value;
	const char *const *name;

	if (size > 64 * 1024)
		return 0;
	fuzz_write(conf, data, size);
	if (config_load(dir, &cfg, &errs) < 0) {
		FUZZ_CHECK(cfg == NULL && errs.n > 0);
		config_errors_clear(&errs);
		return 0;
	}
	config_errors_clear(&errs);
	for (name = config_param_names(); *name != NULL; name++) {
		FUZZ_CHECK(config_get(cfg, *name, &value) == 0);
		free(value);
	}
	(void)config_queue_minfree(cfg);
	/* The printout is a config file with the same effective values. */
	text = printed(cfg);
	fuzz_write(conf, (const uint8_t *)text, strlen(text));
	if (config_load(dir, &again, &errs) < 0) {
		fprintf(stderr, "reloading the printout failed: %s\n--\n%s--\n",
		    errs.n > 0 ? errs.msg[0] : "?", text);
		fuzz_fail(__FILE__, __LINE__, "printout loads again");
	}
	config_errors_clear(&errs);
	text2 = printed(again);
	if (strcmp(text, text2) != 0) {
		fprintf(stderr, "--\n%s--\n%s--\n", text, text2);
		fuzz_fail(__FILE__, __LINE__, "printout of the printout is the same");
	}
	free(text2);
	free(text);
	config_free(&again);
	config_free(&cfg);
	return 0;
}
