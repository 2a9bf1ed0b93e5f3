/*
 * config_int - what the files of the configuration module share:
 * config.c (the parameter table and the loader), config_value.c (the
 * grammar of values) and config_print.c (the printer). Not for use
 * outside them: everyone else has conf.h.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_CONFIG_INT_H
#define SLUICE_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>

enum param_type {
	PT_STRING,		/* any text */
	PT_WORD,		/* one of choices, kept as text */
	PT_ENUM,		/* one of choices, kept as its index */
	PT_INT,			/* whole number >= min */
	PT_SIZE,		/* bytes, with k/M/G */
	PT_TIME,		/* seconds, with s/m/h/d/w */
	PT_BOOL,		/* yes/no */
	PT_HOSTPORTS,		/* list of host:port */
	PT_NETLIST,		/* list of networks */
};

/* Defaults that cannot be a constant: computed when a config is loaded. */
enum param_dyn {
	DYN_NONE,
	DYN_CONFIG_DIR,		/* the directory being read */
	DYN_HOSTNAME,		/* gethostname(), qualified if possible */
	DYN_DOMAIN,		/* $myhostname minus its first label */
};

struct param {
	const char *name;
	enum param_type type;
	const char *def;	/* default text, may use $name */
	size_t offset;		/* of the field in struct config */
	long min;		/* PT_INT, PT_TIME: smallest allowed */
	long max;		/* PT_INT: largest allowed; 0: no limit */
	const char *choices;	/* PT_WORD, PT_ENUM: words, space-separated */
	enum param_dyn dyn;
	bool none;		/* PT_INT, PT_SIZE: "none" is allowed, stored as 0 */
};

/* The one table of parameters (config.c) and its length. */
extern const struct param params[];
extern const size_t nparams;

/* param_find - index of the parameter called name (len bytes), or -1 */
int param_find(const char *name, size_t len);
/*
 * param_default - the default text of parameter i. DYN_DOMAIN follows
 * the effective myhostname (hostname may be NULL: then the computed one).
 */
char *param_default(size_t i, const char *config_dir, const char *hostname);
/* choice_index - position of word s among the space-separated choices */
int choice_index(const char *choices, const char *s);
/* choice_name - the word at position idx of choices, in a new string */
char *choice_name(const char *choices, int idx);
/* default_hostname - this host's name, fully qualified if the resolver knows it */
char *default_hostname(void);
/* domain_of - a host name minus its first label ("localdomain" if none) */
char *domain_of(const char *host);

#endif
