/*
 * config_print - sluice.conf as text: the effective or default value of
 * every parameter, sorted by name, so that the printout reads back as is
 * (`sluice config`, `sluice config -d`), and one value by name.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/conf.h"
#include "mail/config_int.h"
#include "util/xmalloc.h"

/* param_cmp - qsort order of parameter indices: by name */
static int
param_cmp(const void *a, const void *b)
{
	return strcmp(params[*(const size_t *)a].name,
	    params[*(const size_t *)b].name);
}

/* print_value - "name = value" with "$" doubled so it reads back as is */
static void
print_value(FILE *fp, const char *name, const char *value, bool escape)
{
	const char *p;

	fprintf(fp, "%s =", name);
	if (*value != '\0')
		fputc(' ', fp);
	for (p = value; *p != '\0'; p++) {
		if (*p == '$' && escape)
			fputc('$', fp);
		fputc(*p, fp);
	}
	fputc('\n', fp);
}

/* config_print - "name = value" lines, sorted by name */
void
config_print(FILE *fp, const struct config *cfg, enum config_print_mode mode)
{
	size_t *order = xcalloc(nparams, sizeof(*order)), i, k;
	const char *dir;
	char *def;

	for (i = 0; i < nparams; i++)
		order[i] = i;
	qsort(order, nparams, sizeof(order[0]), param_cmp);
	for (k = 0; k < nparams; k++) {
		i = order[k];
		if (mode == CONFIG_PRINT_DEFAULTS) {
			dir = cfg != NULL ? cfg->config_directory :
			    config_default_dir();
			def = param_default(i, dir, NULL);
			print_value(fp, params[i].name, def, false);
			free(def);
		} else if (cfg != NULL && (mode == CONFIG_PRINT_ALL ||
		    cfg->param_set[i]))
			print_value(fp, params[i].name, cfg->param_text[i],
			    true);
	}
	free(order);
}

/* config_get - the effective value of one parameter as text */
int
config_get(const struct config *cfg, const char *name, char **value_r)
{
	int i = param_find(name, strlen(name));

	if (i < 0)
		return -1;
	*value_r = xstrdup(cfg->param_text[i]);
	return 0;
}
