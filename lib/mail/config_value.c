/*
 * config_value - the grammar of sluice.conf's typed values (lists, times,
 * sizes, numbers, booleans, host:port lists, choices), the error list a
 * load fills, and the computed defaults of myhostname and mydomain. The
 * parameter table and the loader that uses them are in config.c.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/address.h"
#include "mail/conf.h"
#include "mail/config_int.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* errors_append - add one formatted message to a message array */
static void
errors_append(size_t *n, char ***msg, const char *fmt, va_list ap)
{
	*msg = xreallocarray(*msg, *n + 1, sizeof(**msg));
	(*msg)[(*n)++] = xvasprintf(fmt, ap);
}

/* config_errors_add - append an error message */
void
config_errors_add(struct config_errors *errs, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errors_append(&errs->n, &errs->msg, fmt, ap);
	va_end(ap);
}

/* config_errors_warn - append a warning */
void
config_errors_warn(struct config_errors *errs, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errors_append(&errs->nwarn, &errs->warn, fmt, ap);
	va_end(ap);
}

/* config_errors_clear - free the messages, leaving errs empty */
void
config_errors_clear(struct config_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		free(errs->msg[i]);
	for (i = 0; i < errs->nwarn; i++)
		free(errs->warn[i]);
	free(errs->msg);
	free(errs->warn);
	memset(errs, 0, sizeof(*errs));
}

/* config_list_next - next item of a comma/space separated list */
const char *
config_list_next(const char **sp, size_t *len_r)
{
	const char *s = *sp, *start;

	while (*s == ',' || isspace((unsigned char)*s))
		s++;
	if (*s == '\0') {
		*sp = s;
		return NULL;
	}
	start = s;
	while (*s != '\0' && *s != ',' && !isspace((unsigned char)*s))
		s++;
	*len_r = (size_t)(s - start);
	*sp = s;
	return start;
}

/* parse_number - digits, then an optional unit from units (multipliers in
 * mult); any other text is an error. Overflow of long is an error too. */
static int
parse_number(const char *s, const char *units, const long *mult, long *val_r)
{
	const char *u;
	char *end;
	long m = 1;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || v > LONG_MAX)
		return -1;
	if (*end != '\0') {
		if (end[1] != '\0' || (u = strchr(units, *end)) == NULL)
			return -1;
		m = mult[u - units];
	}
	if (v > (unsigned long long)(LONG_MAX / m))
		return -1;
	*val_r = (long)v * m;
	return 0;
}

/* config_parse_time - a time value in seconds */
int
config_parse_time(const char *s, long *secs_r, const char **hint_r)
{
	static const long mult[] = { 1, 60, 3600, 86400, 604800 };

	if (parse_number(s, "smhdw", mult, secs_r) < 0) {
		*hint_r = "bad time value; use a number with s, m, h, d or w";
		return -1;
	}
	return 0;
}

/* config_parse_size - a size in bytes, with k/M/G */
int
config_parse_size(const char *s, long *bytes_r, const char **hint_r)
{
	static const long mult[] = { 1024, 1024, 1024L * 1024,
	    1024L * 1024 * 1024, 1024L * 1024 * 1024 };

	if (parse_number(s, "kKMmG", mult, bytes_r) < 0) {
		*hint_r = "bad size value; use a number of bytes, "
		    "optionally with k, M or G";
		return -1;
	}
	return 0;
}

/* config_parse_int - a plain whole number */
int
config_parse_int(const char *s, long *val_r, const char **hint_r)
{
	if (parse_number(s, "", NULL, val_r) < 0) {
		*hint_r = "bad number; use a whole number";
		return -1;
	}
	return 0;
}

/* config_parse_bool - yes or no */
int
config_parse_bool(const char *s, bool *b_r, const char **hint_r)
{
	if (strcasecmp(s, "yes") == 0)
		*b_r = true;
	else if (strcasecmp(s, "no") == 0)
		*b_r = false;
	else {
		*hint_r = "bad boolean value; use yes or no";
		return -1;
	}
	return 0;
}

/* port_ok - a port number 1..65535 or a service name */
static bool
port_ok(const char *s)
{
	const char *p;
	long v;

	if (*s == '\0' || strlen(s) > 32)
		return false;
	if (isdigit((unsigned char)*s)) {
		if (parse_number(s, "", NULL, &v) < 0)
			return false;
		return v >= 1 && v <= 65535;
	}
	for (p = s; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return false;
	return true;
}

/* hostport_parse - "host:port", "[v6]:port", "*:port", ":port", "port" */
static int
hostport_parse(const char *s, size_t len, struct hostport *hp)
{
	char *buf = xstrndup(s, len), *host, *port, *end;

	if (buf[0] == '[') {
		end = strchr(buf, ']');
		if (end == NULL || end[1] != ':' || end == buf + 1)
			goto bad;
		*end = '\0';
		host = buf + 1;
		port = end + 2;
	} else if ((port = strrchr(buf, ':')) != NULL) {
		*port++ = '\0';
		host = buf;
		/* An unbracketed IPv6 address would make the port ambiguous. */
		if (strchr(host, ':') != NULL)
			goto bad;
		if (strcmp(host, "*") == 0)
			host = buf + strlen(buf);
	} else {
		host = buf + len;
		port = buf;
	}
	if (!port_ok(port))
		goto bad;
	hp->host = xstrdup(host);
	hp->port = xstrdup(port);
	free(buf);
	return 0;
bad:
	free(buf);
	return -1;
}

/* config_parse_hostports - a list of listening addresses */
int
config_parse_hostports(const char *s, struct hostport_list *l_r,
    const char **hint_r)
{
	struct hostport_list l = { 0, NULL };
	const char *tok;
	size_t len;

	while ((tok = config_list_next(&s, &len)) != NULL) {
		l.v = xreallocarray(l.v, l.n + 1, sizeof(*l.v));
		if (hostport_parse(tok, len, &l.v[l.n]) < 0) {
			config_hostports_clear(&l);
			*hint_r = "bad listen address; use host:port, "
			    "[ipv6]:port or *:port";
			return -1;
		}
		l.n++;
	}
	*l_r = l;
	return 0;
}

/* config_hostports_clear - free and empty a listen list */
void
config_hostports_clear(struct hostport_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].host);
		free(l->v[i].port);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* choice_index - position of word s among the space-separated choices */
int
choice_index(const char *choices, const char *s)
{
	const char *p = choices, *tok;
	size_t len;
	int i = 0;

	while ((tok = config_list_next(&p, &len)) != NULL) {
		if (strlen(s) == len && strncasecmp(s, tok, len) == 0)
			return i;
		i++;
	}
	return -1;
}

/* choice_name - the word at position idx of choices, in a new string */
char *
choice_name(const char *choices, int idx)
{
	const char *p = choices, *tok;
	size_t len;

	while ((tok = config_list_next(&p, &len)) != NULL)
		if (idx-- == 0)
			return xstrndup(tok, len);
	return xstrdup("?");
}

/* default_hostname - this host's name, fully qualified if the resolver
 * knows it; Postfix does the same for its myhostname default */
char *
default_hostname(void)
{
	char name[256];
	struct addrinfo hints, *res;
	char *fqdn;

	if (gethostname(name, sizeof(name)) < 0 || name[0] == '\0')
		return xstrdup("localhost.localdomain");
	name[sizeof(name) - 1] = '\0';
	if (strchr(name, '.') != NULL)
		return xstrdup(name);
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_CANONNAME;
	hints.ai_family = AF_UNSPEC;
	if (getaddrinfo(name, NULL, &hints, &res) == 0) {
		if (res->ai_canonname != NULL &&
		    strchr(res->ai_canonname, '.') != NULL) {
			fqdn = xstrdup(res->ai_canonname);
			freeaddrinfo(res);
			return fqdn;
		}
		freeaddrinfo(res);
	}
	return xstrdup(name);
}

/* domain_of - a host name minus its first label ("localdomain" if none) */
char *
domain_of(const char *host)
{
	const char *dot = strchr(host, '.');

	return xstrdup(dot != NULL && dot[1] != '\0' ? dot + 1 : "localdomain");
}
