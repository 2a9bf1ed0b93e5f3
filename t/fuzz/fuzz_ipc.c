/*
 * fuzz_ipc - the IPC record grammar (lib/util/ipc.c): one datagram as a
 * receiver gets it from another sluice process. A record that decodes
 * must encode and decode again to the same fields.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* lib/util */
#include "util/ipc.h"

#include "t/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_rec *rec = NULL, *again = NULL;
	unsigned long long v;
	char *buf;
	size_t len, i;

	if (size > IPC_RECORD_MAX)
		return 0;
	if (ipc_rec_decode((const char *)data, size, &rec) < 0) {
		FUZZ_CHECK(rec == NULL);
		return 0;
	}
	FUZZ_CHECK(rec->n >= 1 && rec->n <= IPC_FIELDS_MAX);
	(void)ipc_rec_type(rec);
	for (i = 0; i < rec->n; i++) {
		FUZZ_CHECK(strlen(rec->f[i].name) >= 1 &&
		    strlen(rec->f[i].name) <= IPC_NAME_MAX);
		FUZZ_CHECK(strlen(rec->f[i].value) <= IPC_VALUE_MAX);
		FUZZ_CHECK(ipc_rec_get(rec, rec->f[i].name) != NULL);
		if (ipc_rec_get_num(rec, rec->f[i].name, 1000000, &v) == 0)
			FUZZ_CHECK(v <= 1000000);
	}
	FUZZ_CHECK(ipc_rec_encode(rec, &buf, &len) == 0);
	FUZZ_CHECK(ipc_rec_decode(buf, len, &again) == 0);
	FUZZ_CHECK(again->n == rec->n);
	for (i = 0; i < rec->n; i++)
		FUZZ_CHECK(strcmp(again->f[i].name, rec->f[i].name) == 0 &&
		    strcmp(again->f[i].value, rec->f[i].value) == 0);
	free(buf);
	ipc_rec_free(&again);
	ipc_rec_free(&rec);
	return 0;
}
