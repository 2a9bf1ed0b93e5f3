/*
 * header - what a customer's list of held mail shows of a message's
 * header: its Subject, found in a bounded head of the content and
 * decoded for display.
 *
 * Only the first HEADER_HEAD_MAX bytes of the content are ever read:
 * listing a page of held mail costs a page of small reads, whatever
 * the messages' sizes. A Subject beyond them is shown as none.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_HEADER_H
#define SLUICE_HEADER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The most content bytes read to find the Subject. */
#define HEADER_HEAD_MAX		8192
/* The longest raw (unfolded, undecoded) Subject kept, in bytes. */
#define HEADER_SUBJECT_RAW_MAX	998

/*
 * header_subject - the unfolded value of the first Subject field of the
 * header in text[0..len) (which may be cut anywhere: a field cut off at
 * the end is not used), leading and trailing blanks removed, into buf
 * (NUL-terminated, cut at size - 1). 1 found, 0 none.
 */
int header_subject(const char *text, size_t len, char *buf, size_t size);

/*
 * header_subject_read - header_subject() of the first HEADER_HEAD_MAX
 * bytes at content_off of the open queue file fd (pread: the offset of
 * fd is left as it was). 1 found, 0 none, -1 read error.
 */
int header_subject_read(int fd, off_t content_off, uint64_t content_len,
    char *buf, size_t size);

/*
 * header_display - raw (a Subject as header_subject found it) made fit
 * to show: RFC 2047 encoded-words in UTF-8, US-ASCII or ISO-8859-1, "B"
 * or "Q", decoded (blanks between two of them dropped, as RFC 2047 6.2
 * says); anything else, and any word that does not decode, stays as
 * written. The result is valid UTF-8 without control characters (each
 * bad octet or control becomes '?'), at most max_chars characters (cut
 * with "..."), into buf of size bytes. HTML escaping is the page's job.
 */
void header_display(const char *raw, size_t max_chars, char *buf, size_t size);

#endif
