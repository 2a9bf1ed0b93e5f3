/*
 * chunk - a writer's fixed buffer, filled from any number of octets and
 * emptied by the writer's own flush each time it is full (the queue file
 * writer, the DSN writer's boundary scanner). Nothing is allocated.
 *
 *	return chunk_put(w->buf, sizeof(w->buf), &w->len, p, n, w_flush, w);
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_CHUNK_H
#define SLUICE_CHUNK_H

#include <stddef.h>

/*
 * chunk_put - append n octets at p to buf (cap octets, *len of them in
 * use), calling flush(ctx) whenever buf is full before more go in; flush
 * must empty it (*len = 0) or fail. 0, or -1 as soon as flush fails.
 */
int chunk_put(unsigned char *buf, size_t cap, size_t *len, const void *p,
    size_t n, int (*flush)(void *ctx), void *ctx);

#endif
