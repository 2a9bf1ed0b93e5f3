/*
 * xmalloc - allocation that cannot fail visibly.
 *
 * Every function here either returns usable memory or logs a fatal error
 * and exits (EX_OSERR): callers never test for NULL. Sizes are checked for
 * multiplication overflow. Sizes that come from the network must be
 * bounded by the caller before they reach these functions.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_XMALLOC_H
#define SLUICE_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* xreallocarray - resize to nmemb * size, refusing overflow */
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* xasprintf - allocate a formatted string; never returns NULL */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* xfree - free *pp and set it to NULL */
#define xfree(pp) do { free(*(pp)); *(pp) = NULL; } while (0)

#endif
