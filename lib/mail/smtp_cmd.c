/*
 * smtp_cmd - SMTP command lines, MAIL/RCPT parameters, xtext
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* lib/util */
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/address.h"
#include "mail/queue.h"
#include "mail/smtp_cmd.h"

/*
 * One ESMTP parameter a command accepts: its keyword and the parser of
 * its value, which stores into the command's argument struct.
 */
struct smtp_param {
	const char *name;
	int (*parse)(const char *v, size_t len, void *args);
};

enum smtp_parse
smtp_cmd_split(const char *line, size_t len, struct smtp_cmd *cmd)
{
	size_t i, n;
	char *p;

	if (memchr(line, '\0', len) != NULL)
		return SMTP_PARSE_NUL;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len > SMTP_CMD_LINE_MAX)
		len = SMTP_CMD_LINE_MAX;
	memcpy(cmd->text, line, len);
	cmd->text[len] = '\0';
	/* Trailing white space is noise some clients add. */
	while (len > 0 && (cmd->text[len - 1] == ' ' || cmd->text[len - 1] == '\t'))
		cmd->text[--len] = '\0';
	for (n = 0; n < len && cmd->text[n] != ' ' && cmd->text[n] != '\t'; n++)
		;
	if (n == 0 || n > SMTP_VERB_MAX)
		cmd->verb[0] = '\0';
	else {
		for (i = 0; i < n; i++)
			cmd->verb[i] = (char)toupper((unsigned char)cmd->text[i]);
		cmd->verb[n] = '\0';
	}
	p = cmd->text + n;
	while (*p == ' ' || *p == '\t')
		p++;
	cmd->arg = p;
	return SMTP_PARSE_OK;
}

bool
smtp_line_bare_lf(const char *line, size_t len)
{
	return len > 0 && line[len - 1] == '\n' && (len < 2 || line[len - 2] != '\r');
}

/* smtp_xtext_char_ok - may c stand for itself in xtext? */
static bool
smtp_xtext_char_ok(unsigned char c)
{
	return c >= 33 && c <= 126 && c != '+' && c != '=';
}

/* smtp_hex - value of an uppercase hex digit, or -1 */
static int
smtp_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
smtp_xtext_decode(const char *s, size_t len, char **out_r)
{
	char *out = xmalloc(len + 1);
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '+') {
			int hi, lo;

			if (i + 2 >= len)
				goto bad;
			hi = smtp_hex(s[i + 1]);
			lo = smtp_hex(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (smtp_xtext_char_ok(c))
			out[o++] = (char)c;
		else
			goto bad;
	}
	out[o] = '\0';
	*out_r = out;
	return 0;
bad:
	free(out);
	return -1;
}

char *
smtp_xtext_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = xreallocarray(NULL, strlen(s) + 1, 3), *o = out;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (smtp_xtext_char_ok(c))
			*o++ = (char)c;
		else {
			*o++ = '+';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 0xf];
		}
	}
	*o = '\0';
	return out;
}

/* smtp_word_is - does v (len octets) equal word, ignoring case? */
static bool
smtp_word_is(const char *v, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(v, word, len) == 0;
}

/* smtp_mail_size - SIZE=1*20DIGIT (RFC 1870), without overflow */
static int
smtp_mail_size(const char *v, size_t len, void *args)
{
	struct smtp_mail_args *m = args;
	uint64_t n = 0;
	size_t i;

	if (len == 0 || len > 20)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned d;

		if (!isdigit((unsigned char)v[i]))
			return -1;
		d = (unsigned)(v[i] - '0');
		if (n > (UINT64_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	m->size = n;
	m->size_given = true;
	return 0;
}

/* smtp_mail_body - BODY=7BIT|8BITMIME (RFC 6152); BINARYMIME is not offered */
static int
smtp_mail_body(const char *v, size_t len, void *args)
{
	struct smtp_mail_args *m = args;

	if (smtp_word_is(v, len, "7BIT"))
		m->body = SMTP_BODY_7BIT;
	else if (smtp_word_is(v, len, "8BITMIME"))
		m->body = SMTP_BODY_8BITMIME;
	else
		return -1;
	return 0;
}

/* smtp_mail_ret - RET=FULL|HDRS (RFC 3461 4.3) */
static int
smtp_mail_ret(const char *v, size_t len, void *args)
{
	struct smtp_mail_args *m = args;

	if (smtp_word_is(v, len, "FULL"))
		m->ret = DSN_RET_FULL;
	else if (smtp_word_is(v, len, "HDRS"))
		m->ret = DSN_RET_HDRS;
	else
		return -1;
	return 0;
}

/* smtp_printable - is every octet of s printable US-ASCII? */
static bool
smtp_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/*
 * smtp_mail_envid - ENVID=xtext (RFC 3461 4.4). Decoded, it ends up in
 * log lines and DSN headers, so only printable ASCII is kept.
 */
static int
smtp_mail_envid(const char *v, size_t len, void *args)
{
	struct smtp_mail_args *m = args;
	char *d;

	if (len == 0 || smtp_xtext_decode(v, len, &d) < 0)
		return -1;
	if (strlen(d) > SMTP_ENVID_MAX || !smtp_printable(d)) {
		free(d);
		return -1;
	}
	m->envid = d;
	return 0;
}

/* smtp_rcpt_notify - NOTIFY=NEVER or a list of SUCCESS, FAILURE, DELAY */
static int
smtp_rcpt_notify(const char *v, size_t len, void *args)
{
	static const struct {
		const char *word;
		unsigned bit;
	} words[] = {
		{ "NEVER", DSN_NOTIFY_NEVER },
		{ "SUCCESS", DSN_NOTIFY_SUCCESS },
		{ "FAILURE", DSN_NOTIFY_FAILURE },
		{ "DELAY", DSN_NOTIFY_DELAY },
	};
	struct smtp_rcpt_args *r = args;
	unsigned bits = 0;
	size_t i, start = 0;

	while (start <= len) {
		const char *comma = memchr(v + start, ',', len - start);
		size_t wl = comma ? (size_t)(comma - (v + start)) : len - start;
		unsigned bit = 0;

		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (smtp_word_is(v + start, wl, words[i].word))
				bit = words[i].bit;
		if (bit == 0 || (bits & bit))
			return -1;
		bits |= bit;
		start += wl + 1;
	}
	/* NEVER stands alone (RFC 3461 4.1). */
	if ((bits & DSN_NOTIFY_NEVER) && bits != DSN_NOTIFY_NEVER)
		return -1;
	r->notify = bits;
	return 0;
}

/* smtp_rcpt_orcpt - ORCPT=addr-type;xtext (RFC 3461 4.2), kept as given */
static int
smtp_rcpt_orcpt(const char *v, size_t len, void *args)
{
	struct smtp_rcpt_args *r = args;
	const char *semi = memchr(v, ';', len);
	size_t i, tlen;
	char *d;

	if (semi == NULL || semi == v)
		return -1;
	tlen = (size_t)(semi - v);
	for (i = 0; i < tlen; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '-')
			return -1;
	if (semi + 1 == v + len ||
	    smtp_xtext_decode(semi + 1, len - tlen - 1, &d) < 0)
		return -1;
	i = strlen(d);
	free(d);
	if (i > SMTP_ORCPT_MAX)
		return -1;
	r->orcpt = xstrndup(v, len);
	return 0;
}

static const struct smtp_param smtp_mail_params[] = {
	{ "SIZE", smtp_mail_size },
	{ "BODY", smtp_mail_body },
	{ "RET", smtp_mail_ret },
	{ "ENVID", smtp_mail_envid },
	{ NULL, NULL },
};

static const struct smtp_param smtp_rcpt_params[] = {
	{ "NOTIFY", smtp_rcpt_notify },
	{ "ORCPT", smtp_rcpt_orcpt },
	{ NULL, NULL },
};

/*
 * smtp_params - parse " keyword=value" pairs at s with table into args;
 * the keyword of a failing parameter goes to param_r.
 */
static enum smtp_parse
smtp_params(const char *s, const struct smtp_param *table, void *args,
    char param_r[SMTP_PARAM_NAME_MAX + 1])
{
	unsigned seen = 0;

	for (;;) {
		const char *kw, *eq, *end;
		size_t klen, i;

		if (*s == '\0')
			return SMTP_PARSE_OK;
		if (*s != ' ')
			return SMTP_PARSE_SYNTAX;
		while (*s == ' ')
			s++;
		if (*s == '\0')
			return SMTP_PARSE_OK;
		kw = s;
		end = s + strcspn(s, " ");
		eq = memchr(kw, '=', (size_t)(end - kw));
		klen = (size_t)((eq ? eq : end) - kw);
		snprintf(param_r, SMTP_PARAM_NAME_MAX + 1, "%.*s",
		    (int)(klen > SMTP_PARAM_NAME_MAX ? SMTP_PARAM_NAME_MAX : klen), kw);
		for (i = 0; i < klen; i++)
			if (!isalnum((unsigned char)kw[i]) && !(i > 0 && kw[i] == '-'))
				return SMTP_PARSE_PARAM_BAD;
		if (klen == 0)
			return SMTP_PARSE_PARAM_BAD;
		for (i = 0; table[i].name != NULL; i++)
			if (smtp_word_is(kw, klen, table[i].name))
				break;
		if (table[i].name == NULL)
			return SMTP_PARSE_PARAM_UNKNOWN;
		for (char *u = param_r; *u != '\0'; u++)
			*u = (char)toupper((unsigned char)*u);
		if (seen & (1u << i))
			return SMTP_PARSE_PARAM_DUP;
		seen |= 1u << i;
		/* esmtp-value = 1*(%d33-60 / %d62-126): no "=", no controls. */
		if (eq == NULL || eq + 1 == end)
			return SMTP_PARSE_PARAM_BAD;
		for (const char *p = eq + 1; p < end; p++)
			if ((unsigned char)*p < 33 || (unsigned char)*p > 126 || *p == '=')
				return SMTP_PARSE_PARAM_BAD;
		if (table[i].parse(eq + 1, (size_t)(end - eq - 1), args) < 0)
			return SMTP_PARSE_PARAM_BAD;
		s = end;
	}
}

/*
 * smtp_parse_path_cmd - "WORD:" then a path, then the parameters: the
 * shared shape of MAIL and RCPT.
 */
static enum smtp_parse
smtp_parse_path_cmd(const char *arg, const char *word, bool null_ok,
    char **addr_r, const struct smtp_param *table, void *args,
    char param_r[SMTP_PARAM_NAME_MAX + 1])
{
	size_t wl = strlen(word);
	const char *end;
	enum smtp_parse ret;

	param_r[0] = '\0';
	*addr_r = NULL;
	if (strncasecmp(arg, word, wl) != 0)
		return SMTP_PARSE_SYNTAX;
	/*
	 * Parameters are ASCII by their own grammar, so an octet over 127
	 * is in the address: without SMTPUTF8 (not offered) it is refused
	 * before the address grammar, which might otherwise take it.
	 */
	for (const char *p = arg; *p != '\0'; p++)
		if ((unsigned char)*p > 127)
			return SMTP_PARSE_8BIT;
	arg += wl;
	/* RFC 5321 4.1.2 forbids the space; enough clients send it to allow it. */
	while (*arg == ' ')
		arg++;
	if (address_parse_path(arg, null_ok, addr_r, &end) < 0) {
		*addr_r = NULL;
		return SMTP_PARSE_PATH;
	}
	ret = smtp_params(end, table, args, param_r);
	if (ret != SMTP_PARSE_OK)
		xfree(addr_r);
	return ret;
}

enum smtp_parse
smtp_parse_mail(const char *arg, struct smtp_mail_args *m)
{
	enum smtp_parse ret;

	memset(m, 0, sizeof(*m));
	ret = smtp_parse_path_cmd(arg, "FROM:", true, &m->sender,
	    smtp_mail_params, m, m->param);
	if (ret != SMTP_PARSE_OK) {
		char param[SMTP_PARAM_NAME_MAX + 1];

		memcpy(param, m->param, sizeof(param));
		smtp_mail_args_clear(m);
		memcpy(m->param, param, sizeof(param));
	}
	return ret;
}

void
smtp_mail_args_clear(struct smtp_mail_args *m)
{
	free(m->sender);
	free(m->envid);
	memset(m, 0, sizeof(*m));
}

enum smtp_parse
smtp_parse_rcpt(const char *arg, struct smtp_rcpt_args *r)
{
	enum smtp_parse ret;

	memset(r, 0, sizeof(*r));
	ret = smtp_parse_path_cmd(arg, "TO:", false, &r->addr,
	    smtp_rcpt_params, r, r->param);
	if (ret != SMTP_PARSE_OK) {
		char param[SMTP_PARAM_NAME_MAX + 1];

		memcpy(param, r->param, sizeof(param));
		smtp_rcpt_args_clear(r);
		memcpy(r->param, param, sizeof(param));
	}
	return ret;
}

void
smtp_rcpt_args_clear(struct smtp_rcpt_args *r)
{
	free(r->addr);
	free(r->orcpt);
	memset(r, 0, sizeof(*r));
}

const struct smtp_verb *
smtp_verb_find(const struct smtp_verb *table, const char *verb)
{
	for (; table->name != NULL; table++)
		if (strcmp(table->name, verb) == 0)
			return table;
	return NULL;
}
