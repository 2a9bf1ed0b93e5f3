/*
 * chunk - a writer's fixed buffer (see chunk.h)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <string.h>

#include "util/chunk.h"

/* chunk_put - append n octets, flushing each time the buffer is full; 0/-1 */
int
chunk_put(unsigned char *buf, size_t cap, size_t *len, const void *p,
    size_t n, int (*flush)(void *ctx), void *ctx)
{
	const unsigned char *s = p;
	size_t k;

	while (n > 0) {
		if (*len == cap && flush(ctx) == -1)
			return -1;
		k = cap - *len < n ? cap - *len : n;
		memcpy(buf + *len, s, k);
		*len += k;
		s += k;
		n -= k;
	}
	return 0;
}
