/*
 * address - RFC 5321 mailbox, path and domain grammar
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "mail/address.h"
#include "util/xmalloc.h"

/* atext of RFC 5322 3.2.3 */
static bool
address_atext(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool
address_label_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		/* Letters, digits, hyphen; underscore too, as every MTA tolerates it. */
		if (!(isalnum(c) || c == '-' || c == '_'))
			return false;
	}
	return true;
}

static bool
address_literal_ok(const char *s, size_t len)
{
	size_t i;

	if (len < 3 || s[0] != '[' || s[len - 1] != ']')
		return false;
	for (i = 1; i < len - 1; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(isxdigit(c) || c == '.' || c == ':' || (isalnum(c) && i < 6)))
			return false;
	}
	return true;
}

bool
address_domain_ok(const char *s, size_t len)
{
	size_t start = 0, i;

	if (len == 0 || len > ADDRESS_DOMAIN_MAX)
		return false;
	if (s[0] == '[')
		return address_literal_ok(s, len);
	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (!address_label_ok(s + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

/* address_local_len - length of a valid local-part at s, or 0 */
static size_t
address_local_len(const char *s)
{
	size_t i = 0;

	if (s[0] == '"') {
		for (i = 1; s[i] != '"'; i++) {
			unsigned char c = (unsigned char)s[i];

			if (c == '\\') {
				i++;
				if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
					return 0;
			} else if (c < 0x20 || c > 0x7e) {
				return 0;
			}
		}
		i++;
	} else {
		bool dot_ok = false;

		for (;;) {
			unsigned char c = (unsigned char)s[i];

			if (address_atext(c) || c >= 0x80) {
				/* UTF-8 local parts (SMTPUTF8) are carried as opaque bytes. */
				dot_ok = true;
			} else if (c == '.' && dot_ok) {
				dot_ok = false;
			} else {
				break;
			}
			i++;
		}
		if (i == 0 || s[i - 1] == '.')
			return 0;
	}
	return i <= ADDRESS_LOCAL_MAX ? i : 0;
}

bool
address_mailbox_ok(const char *s)
{
	size_t local = address_local_len(s), total = strlen(s);

	if (local == 0 || s[local] != '@' || total > ADDRESS_PATH_MAX - 2)
		return false;
	return address_domain_ok(s + local + 1, total - local - 1);
}

bool
address_stored_ok(const char *s, bool null_ok)
{
	if (s[0] == '\0')
		return null_ok;
	return address_mailbox_ok(s);
}

int
address_parse_path(const char *s, bool null_ok, char **addr_r, const char **end_r)
{
	const char *p = s, *close;
	size_t len;
	char *addr;

	if (*p != '<')
		return -1;
	p++;
	if (*p == '>') {
		if (!null_ok)
			return -1;
		*addr_r = xstrdup("");
		*end_r = p + 1;
		return 0;
	}
	/* Source route "@a,@b:" is obsolete; parse and discard it. */
	if (*p == '@') {
		const char *colon = strchr(p, ':');

		if (colon == NULL || (size_t)(colon - p) > ADDRESS_PATH_MAX)
			return -1;
		p = colon + 1;
	}
	len = address_local_len(p);
	if (len == 0 || p[len] != '@')
		return -1;
	close = strchr(p + len, '>');
	if (close == NULL || (size_t)(close - p) > ADDRESS_PATH_MAX - 2)
		return -1;
	addr = xstrndup(p, (size_t)(close - p));
	if (!address_mailbox_ok(addr)) {
		free(addr);
		return -1;
	}
	*addr_r = addr;
	*end_r = close + 1;
	return 0;
}

const char *
address_domain(const char *mailbox)
{
	const char *at = strrchr(mailbox, '@');

	return at != NULL ? at + 1 : "";
}

char *
address_lower(const char *domain)
{
	char *d = xstrdup(domain), *p;

	for (p = d; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

char *
address_domain_lower(const char *mailbox)
{
	return address_lower(address_domain(mailbox));
}

char *
address_localpart(const char *mailbox)
{
	const char *at = strrchr(mailbox, '@');

	return at != NULL ? xstrndup(mailbox, (size_t)(at - mailbox)) : xstrdup(mailbox);
}
