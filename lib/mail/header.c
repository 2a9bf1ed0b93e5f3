/*
 * header - a message's Subject for the customer's list of held mail
 * (see header.h)
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* lib/util */
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/header.h"

/* header_blank - SP or HTAB */
static bool
header_blank(char c)
{
	return c == ' ' || c == '\t';
}

int
header_subject(const char *text, size_t len, char *buf, size_t size)
{
	static const char name[] = "subject:";
	const char *p = text, *end = text + len, *eol;
	size_t n = 0;
	bool in_subject = false, found = false;

	if (size == 0)
		return 0;
	buf[0] = '\0';
	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		/*
		 * A line cut off by the bounded read: its field is not whole.
		 * A Subject it continues is none; one it follows is whole.
		 */
		if (eol == NULL) {
			if (in_subject && header_blank(*p))
				found = false;
			break;
		}
		if (in_subject && !header_blank(*p))
			break;
		if (!in_subject) {
			/* The empty line ends the header. */
			if (p == eol || (p + 1 == eol && *p == '\r'))
				break;
			if ((size_t)(eol - p) >= sizeof(name) - 1 &&
			    strncasecmp(p, name, sizeof(name) - 1) == 0) {
				in_subject = found = true;
				p += sizeof(name) - 1;
			} else {
				p = eol + 1;
				continue;
			}
		}
		/* Unfolding removes the line break only (RFC 5322 2.2.3). */
		for (; p < eol; p++) {
			if (*p == '\r' && p + 1 == eol)
				break;
			/* Leading blanks are not kept (nor counted against
			 * size). */
			if (n == 0 && header_blank(*p))
				continue;
			if (n + 1 < size)
				buf[n++] = *p;
		}
		p = eol + 1;
	}
	/* Whatever was copied, buf is a string: none, or the value. */
	if (!found) {
		buf[0] = '\0';
		return 0;
	}
	/* Trim the blanks around the value. */
	while (n > 0 && header_blank(buf[n - 1]))
		n--;
	buf[n] = '\0';
	return 1;
}

int
header_subject_read(
    int fd, off_t content_off, uint64_t content_len, char *buf, size_t size)
{
	char head[HEADER_HEAD_MAX];
	size_t want =
	    content_len < sizeof(head) ? (size_t)content_len : sizeof(head);
	size_t got = 0;
	ssize_t r;

	while (got < want) {
		r = pread(fd, head + got, want - got, content_off + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return header_subject(head, got, buf, size);
}

/* A growing byte string (the decoded text before it is checked). */
struct hbuf {
	char *p;
	size_t n, cap;
};

static void
hbuf_add(struct hbuf *b, const void *data, size_t len)
{
	if (b->n + len + 1 > b->cap) {
		b->cap = (b->n + len + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, data, len);
	b->n += len;
	b->p[b->n] = '\0';
}

/* hbuf_latin1 - add one ISO-8859-1 octet as UTF-8 */
static void
hbuf_latin1(struct hbuf *b, unsigned char c)
{
	unsigned char u[2];

	if (c < 0x80) {
		hbuf_add(b, &c, 1);
		return;
	}
	u[0] = (unsigned char)(0xc0 | c >> 6);
	u[1] = (unsigned char)(0x80 | (c & 0x3f));
	hbuf_add(b, u, 2);
}

/* header_hex - the value of a hex digit, or -1 */
static int
header_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* header_b64 - the value of a base64 digit, or -1 */
static int
header_b64(char c)
{
	static const char digits[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *d = c != '\0' ? strchr(digits, c) : NULL;

	return d != NULL ? (int)(d - digits) : -1;
}

/*
 * header_word_decode - the octets of an encoded-word's text in enc
 * ('B' or 'Q') into out (at least len bytes); their count, or -1 when
 * the text is not valid in that encoding.
 */
static long
header_word_decode(char enc, const char *text, size_t len, unsigned char *out)
{
	size_t i, n = 0;

	if (enc == 'Q' || enc == 'q') {
		for (i = 0; i < len; i++) {
			if (text[i] == '_')
				out[n++] = ' ';
			else if (text[i] == '=') {
				int hi, lo;

				if (i + 2 >= len ||
				    (hi = header_hex(text[i + 1])) < 0 ||
				    (lo = header_hex(text[i + 2])) < 0)
					return -1;
				out[n++] = (unsigned char)(hi << 4 | lo);
				i += 2;
			} else
				out[n++] = (unsigned char)text[i];
		}
		return (long)n;
	}
	if (enc == 'B' || enc == 'b') {
		unsigned acc = 0;
		int bits = 0, v;

		if (len % 4 != 0)
			return -1;
		for (i = 0; i < len; i++) {
			if (text[i] == '=') {
				/* Padding only at the end. */
				if (strspn(text + i, "=") != len - i ||
				    len - i > 2)
					return -1;
				break;
			}
			if ((v = header_b64(text[i])) < 0)
				return -1;
			acc = acc << 6 | (unsigned)v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				out[n++] = (unsigned char)(acc >> bits & 0xff);
			}
		}
		return (long)n;
	}
	return -1;
}

/*
 * header_word - decode the encoded-word at p (which starts "=?") into b:
 * its length in raw, or 0 when it is none we decode (then b is as it
 * was).
 */
static size_t
header_word(const char *p, struct hbuf *b)
{
	const char *cs = p + 2, *q, *enc, *text, *end;
	size_t cslen, i;
	unsigned char *out;
	long n;
	enum { CS_UTF8, CS_LATIN1 } charset;

	if ((q = strchr(cs, '?')) == NULL)
		return 0;
	/* RFC 2231 adds "*LANGUAGE" to the charset. */
	cslen = strcspn(cs, "*?");
	enc = q + 1;
	if (enc[0] == '\0' || enc[1] != '?')
		return 0;
	text = enc + 2;
	if ((end = strstr(text, "?=")) == NULL)
		return 0;
	/* An encoded-word has no blank in it (RFC 2047 2). */
	for (q = cs; q < end; q++)
		if (*q == ' ' || *q == '\t')
			return 0;
	if ((cslen == 5 && strncasecmp(cs, "utf-8", 5) == 0) ||
	    (cslen == 8 && strncasecmp(cs, "us-ascii", 8) == 0))
		charset = CS_UTF8;
	else if ((cslen == 10 && strncasecmp(cs, "iso-8859-1", 10) == 0) ||
	         (cslen == 6 && strncasecmp(cs, "latin1", 6) == 0))
		charset = CS_LATIN1;
	else
		return 0;
	out = xmalloc((size_t)(end - text) + 1);
	n = header_word_decode(*enc, text, (size_t)(end - text), out);
	if (n >= 0) {
		if (charset == CS_UTF8)
			hbuf_add(b, out, (size_t)n);
		else
			for (i = 0; i < (size_t)n; i++)
				hbuf_latin1(b, out[i]);
	}
	free(out);
	return n < 0 ? 0 : (size_t)(end + 2 - p);
}

/*
 * header_utf8_len - the length of the valid UTF-8 sequence at s (n bytes
 * left) that is no control character; 0 when it is invalid or a control.
 */
static size_t
header_utf8_len(const unsigned char *s, size_t n)
{
	unsigned cp;
	size_t len, i;

	if (s[0] < 0x80)
		return s[0] >= 0x20 && s[0] != 0x7f ? 1 : 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, past U+10FFFF, C1 controls. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
	    (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return len;
}

void
header_display(const char *raw, size_t max_chars, char *buf, size_t size)
{
	struct hbuf b = {0};
	const char *p = raw, *blank = NULL;
	bool after_word = false;
	size_t i, n, chars = 0, out = 0;

	if (size < 4) {
		if (size > 0)
			buf[0] = '\0';
		return;
	}
	hbuf_add(&b, "", 0);
	while (*p != '\0') {
		size_t w = p[0] == '=' && p[1] == '?' ? header_word(p, &b) : 0;

		if (w > 0) {
			/* Blanks between two encoded-words are not text (RFC
			 * 2047 6.2). */
			blank = NULL;
			after_word = true;
			p += w;
			continue;
		}
		if (header_blank(*p)) {
			size_t nb = strspn(p, " \t");

			if (after_word && blank == NULL) {
				blank = p;
				p += nb;
				/* Held back: dropped if another encoded-word
				 * follows. */
				if (*p == '=' && p[1] == '?')
					continue;
				hbuf_add(&b, blank, nb);
				blank = NULL;
				after_word = false;
				continue;
			}
			hbuf_add(&b, p, nb);
			p += nb;
			continue;
		}
		if (blank != NULL) {
			hbuf_add(&b, blank, strspn(blank, " \t"));
			blank = NULL;
		}
		after_word = false;
		hbuf_add(&b, p, 1);
		p++;
	}
	if (blank != NULL)
		hbuf_add(&b, blank, strspn(blank, " \t"));
	/* Now make it valid, printable UTF-8 of at most max_chars characters.
	 */
	for (i = 0; i < b.n;) {
		const unsigned char *s = (const unsigned char *)b.p + i;

		n = header_utf8_len(s, b.n - i);
		if (chars == max_chars || out + (n ? n : 1) + 4 > size) {
			/* Room for "..." and the NUL is kept above. */
			memcpy(buf + out, "...", 3);
			out += 3;
			break;
		}
		if (n == 0) {
			buf[out++] = s[0] == '\t' ? ' ' : '?';
			i++;
		} else {
			memcpy(buf + out, s, n);
			out += n;
			i += n;
		}
		chars++;
	}
	buf[out] = '\0';
	free(b.p);
}
