/*
 * qctl_int - what the request half of qctl (qctl.c) takes from the index
 * half (qctl_index.c): collecting entries and IDs in a walk. Not for use
 * outside them.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_QCTL_INT_H
#define SLUICE_QCTL_INT_H

#include <stddef.h>

#include "mail/qctl.h"
#include "mail/qindex.h"

/* Entries of one message, collected before it is rewritten. */
struct qctl_old {
	struct qindex_entry **e;
	size_t n;
};

struct qctl_scan {
	struct qctl_env *env;
	int changed;
	char **ids;
	size_t nids;
};

/* qctl_collect_old - walk callback: a copy of each entry into a struct qctl_old */
int qctl_collect_old(const struct qindex_entry *e, void *ctx);
/* qctl_collect_ids - walk callback: each message ID once into a struct qctl_scan */
int qctl_collect_ids(const struct qindex_entry *e, void *ctx);

#endif
