/*
 * domains - the customer domain table and recipient lists
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/address.h"
#include "mail/conf.h"
#include "mail/domains.h"
#include "mail/home.h"
#include "mail/netlist.h"
#include "util/xmalloc.h"

/*
 * strtab - a hash table of lowercase string keys, open addressing with
 * linear probing, kept at most half full. Both the domain table and every
 * recipient list use it, so RCPT costs O(1) however long the lists are.
 */
struct strtab {
	size_t cap;		/* a power of two */
	size_t n;
	char **key;
	void **val;
};

/* strtab_hash - FNV-1a over the lowercased key */
static uint64_t
strtab_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (uint64_t)tolower((unsigned char)*s);
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* strtab_slot - the slot holding key, or the empty slot it would take */
static size_t
strtab_slot(const struct strtab *t, const char *key)
{
	size_t i = (size_t)strtab_hash(key) & (t->cap - 1);

	while (t->key[i] != NULL && strcasecmp(t->key[i], key) != 0)
		i = (i + 1) & (t->cap - 1);
	return i;
}

/* strtab_get - the value stored under key (case-insensitive), or NULL */
static void *
strtab_get(const struct strtab *t, const char *key)
{
	size_t i;

	if (t->cap == 0)
		return NULL;
	i = strtab_slot(t, key);
	return t->key[i] != NULL ? t->val[i] : NULL;
}

/* strtab_put - store key (copied, lowercased) -> val; the key must be new */
static void
strtab_put(struct strtab *t, const char *key, void *val)
{
	struct strtab old = *t;
	size_t i;
	char *k;

	if (2 * (t->n + 1) > t->cap) {
		t->cap = t->cap == 0 ? 16 : t->cap * 2;
		t->key = xcalloc(t->cap, sizeof(*t->key));
		t->val = xcalloc(t->cap, sizeof(*t->val));
		for (i = 0; i < old.cap; i++)
			if (old.key[i] != NULL) {
				size_t j = strtab_slot(t, old.key[i]);

				t->key[j] = old.key[i];
				t->val[j] = old.val[i];
			}
		free(old.key);
		free(old.val);
	}
	k = xstrdup(key);
	for (i = 0; k[i] != '\0'; i++)
		k[i] = (char)tolower((unsigned char)k[i]);
	i = strtab_slot(t, k);
	t->key[i] = k;
	t->val[i] = val;
	t->n++;
}

/* strtab_clear - free the keys and the slots (not the values) */
static void
strtab_clear(struct strtab *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		free(t->key[i]);
	free(t->key);
	free(t->val);
	memset(t, 0, sizeof(*t));
}

struct rcpt_set {
	struct strtab tab;
};

struct domain_table {
	struct strtab byname;
	struct domain **v;	/* in file order, for walking */
	size_t n, cap;
	char *file;		/* path the domains came from */
};

/* The state of parsing one domains file. */
struct dload {
	const char *file;
	unsigned int line;
	const struct config *cfg;
	struct config_errors *errs;
	struct domain *d;	/* the domain whose keys are being read */
	const char *hint;	/* what the last parser of a value said (key_hinted) */
};

/* dload_error - "FILE:LINE: text" */
static void
dload_error(struct dload *dl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
dload_error(struct dload *dl, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	config_errors_add(dl->errs, "%s:%u: %s", dl->file, dl->line, msg);
	free(msg);
}

/* rcpt_entry_ok - a full address, or a plausible local part */
static bool
rcpt_entry_ok(const char *s)
{
	const char *p;

	if (strchr(s, '@') != NULL)
		return address_mailbox_ok(s);
	if (*s == '\0' || strlen(s) > ADDRESS_LOCAL_MAX)
		return false;
	for (p = s; *p != '\0'; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return false;
	return true;
}

/* rcpt_set_free - free a recipient list */
static void
rcpt_set_free(struct rcpt_set **sp)
{
	if (*sp == NULL)
		return;
	strtab_clear(&(*sp)->tab);
	xfree(sp);
}

/*
 * rcpt_set_load - read a recipients= file: one address or local part per
 * line, "#" comments. Errors name the file and line; a file that cannot
 * be opened is reported at the domains line that names it.
 */
static int
rcpt_set_load(struct dload *dl, const char *path, struct rcpt_set **set_r)
{
	struct rcpt_set *set;
	char *buf = NULL, *p, *end;
	size_t cap = 0;
	unsigned int lineno = 0;
	int rc = 0;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		dload_error(dl, "recipients=%s: open: %s; create the file "
		    "or remove recipients=", path, strerror(errno));
		return -1;
	}
	set = xcalloc(1, sizeof(*set));
	while (getline(&buf, &cap, fp) != -1) {
		lineno++;
		if ((p = strchr(buf, '#')) != NULL)
			*p = '\0';
		p = buf + strspn(buf, " \t\r\n");
		end = p + strlen(p);
		while (end > p && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*p == '\0')
			continue;
		if (!rcpt_entry_ok(p)) {
			config_errors_add(dl->errs, "%s:%u: bad recipient "
			    "\"%s\"; use local@domain or a local part",
			    path, lineno, p);
			rc = -1;
			continue;
		}
		if (strtab_get(&set->tab, p) == NULL)
			strtab_put(&set->tab, p, set);
	}
	if (ferror(fp)) {
		dload_error(dl, "recipients=%s: read: %s", path,
		    strerror(errno));
		rc = -1;
	}
	free(buf);
	fclose(fp);
	if (rc < 0)
		rcpt_set_free(&set);
	*set_r = set;
	return rc;
}

/*
 * Value parsers for the keys of a domains line, one per kind of value; the
 * row of domain_keys[] gives the key's name and, for the kinds several
 * keys share (times, names), where in struct domain the value goes.
 */
struct domain_key;
typedef int key_fn(struct dload *, const struct domain_key *, const char *);

struct domain_key {
	const char *name;
	key_fn *parse;
	size_t field;		/* times and names: offsetof(struct domain, ...) */
	long min;		/* times: the least value */
	bool allow_no;		/* times: "no" means 0 */
};

static const char *const mode_words[] = { "hold", "backup", NULL };

/* key_choice - val as an index into words, or -1 with an error */
static int
key_choice(struct dload *dl, const char *key, const char *const *words,
    const char *val)
{
	char *list = xstrdup(""), *tmp;
	int i;

	for (i = 0; words[i] != NULL; i++)
		if (strcasecmp(words[i], val) == 0) {
			free(list);
			return i;
		}
	for (i = 0; words[i] != NULL; i++) {
		tmp = xasprintf("%s%s%s=%s", list, i > 0 ? ", " : "", key,
		    words[i]);
		free(list);
		list = tmp;
	}
	dload_error(dl, "%s=%s: bad value; use %s", key, val, list);
	free(list);
	return -1;
}

/*
 * key_hinted - the result rc of a parser that explains itself in dl->hint
 * (route_parse, route_tls_parse, config_parse_bool): on -1 the error
 * "key=val: hint"; 0/-1
 */
static int
key_hinted(struct dload *dl, const struct domain_key *k, const char *val, int rc)
{
	if (rc >= 0)
		return 0;
	dload_error(dl, "%s=%s: %s", k->name, val, dl->hint);
	return -1;
}

/* key_mode - mode=hold|backup */
static int
key_mode(struct dload *dl, const struct domain_key *k, const char *val)
{
	int i = key_choice(dl, k->name, mode_words, val);

	if (i >= 0)
		dl->d->mode = (enum domain_mode)i;
	return i < 0 ? -1 : 0;
}

/* key_route - route=[host]:port, route=[host], route=mx or route=client[:port], by route_parse() */
static int
key_route(struct dload *dl, const struct domain_key *k, const char *val)
{
	return key_hinted(dl, k, val, route_parse(val, &dl->d->route, &dl->hint));
}

/* key_time - a TIME value (lease=, lifetime=, warn=, probe=) into its field */
static int
key_time(struct dload *dl, const struct domain_key *k, const char *val)
{
	long *field = (long *)((char *)dl->d + k->field);
	const char *hint;
	long v;

	if (k->allow_no && strcasecmp(val, "no") == 0) {
		*field = 0;
		return 0;
	}
	if (config_parse_time(val, &v, &hint) < 0) {
		dload_error(dl, "%s=%s: %s%s", k->name, val, hint,
		    k->allow_no ? ", or no" : "");
		return -1;
	}
	if (v < k->min) {
		dload_error(dl, "%s=%s: value too small; use %lds or more",
		    k->name, val, k->min);
		return -1;
	}
	*field = v;
	return 0;
}

/* key_etrn_from - etrn_from=NET,NET */
static int
key_etrn_from(struct dload *dl, const struct domain_key *k, const char *val)
{
	char *err;

	netlist_free(&dl->d->etrn_from);
	if (netlist_parse(val, &dl->d->etrn_from, &err) < 0) {
		dload_error(dl, "%s=%s: %s", k->name, val, err);
		free(err);
		return -1;
	}
	return 0;
}

/* key_finger - finger=yes|no */
static int
key_finger(struct dload *dl, const struct domain_key *k, const char *val)
{
	return key_hinted(dl, k, val, config_parse_bool(val, &dl->d->finger, &dl->hint));
}

/* key_word - a name without odd characters (group=, owner=) into its field */
static int
key_word(struct dload *dl, const struct domain_key *k, const char *val)
{
	char **field = (char **)((char *)dl->d + k->field);
	const char *p;

	for (p = val; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("._-+", *p) == NULL)
			break;
	if (*val == '\0' || *p != '\0' || strlen(val) > 64) {
		dload_error(dl, "%s=%s: bad name; use letters, digits, "
		    "\".\", \"_\", \"-\" or \"+\"", k->name, val);
		return -1;
	}
	free(*field);
	*field = xstrdup(val);
	return 0;
}

/* key_tls - tls=may|encrypt|verify, by route_tls_parse() */
static int
key_tls(struct dload *dl, const struct domain_key *k, const char *val)
{
	return key_hinted(dl, k, val, route_tls_parse(val, &dl->d->tls, &dl->hint));
}

/* key_notify - notify=ADDRESS */
static int
key_notify(struct dload *dl, const struct domain_key *k, const char *val)
{
	if (!address_mailbox_ok(val)) {
		dload_error(dl, "%s=%s: bad address; use local@domain",
		    k->name, val);
		return -1;
	}
	free(dl->d->notify);
	dl->d->notify = xstrdup(val);
	return 0;
}

/* key_recipients - recipients=FILE, loaded now */
static int
key_recipients(struct dload *dl, const struct domain_key *k, const char *val)
{
	(void)k;
	/* Relative names are relative to the configuration directory. */
	free(dl->d->recipients_file);
	if (val[0] == '/')
		dl->d->recipients_file = xstrdup(val);
	else
		dl->d->recipients_file = xasprintf("%s/%s",
		    dl->cfg->config_directory, val);
	rcpt_set_free(&dl->d->recipients);
	return rcpt_set_load(dl, dl->d->recipients_file, &dl->d->recipients);
}

/* key_home - home=HOST:PORT, this host or one of peers (home.h) */
static int
key_home(struct dload *dl, const struct domain_key *k, const char *val)
{
	struct domain *d = dl->d;
	char *self;

	(void)k;
	free(d->home);
	d->home = NULL;
	if (home_member(dl->cfg, val, &d->home) == 0)
		return 0;
	self = home_self(dl->cfg);
	dload_error(dl, "home=%s: not this host (%s) nor one of peers; name "
	    "a host of the fleet as peers writes it, host:port", val, self);
	free(self);
	return -1;
}

/* key_cap - max_messages=N|none, max_bytes=SIZE|none into its field */
static int
key_cap(struct dload *dl, const struct domain_key *k, const char *val)
{
	long *field = (long *)((char *)dl->d + k->field);
	bool size = strcmp(k->name, "max_bytes") == 0;
	const char *hint;
	long v = 0;
	int rc;

	if (strcasecmp(val, "none") == 0) {
		*field = 0;
		return 0;
	}
	rc = size ? config_parse_size(val, &v, &hint) : config_parse_int(val, &v, &hint);
	if (rc < 0 || v < 1) {
		dload_error(dl, "%s=%s: %s; use %s, or none", k->name, val,
		    rc < 0 ? "bad value" : "a cap of 0 would refuse all mail",
		    size ? "a size of 1 or more (with k, M or G)" : "a number of 1 or more");
		return -1;
	}
	*field = v;
	return 0;
}

#define DOMAIN_FIELD(f)	offsetof(struct domain, f)

static const struct domain_key domain_keys[] = {
	{ .name = "mode", .parse = key_mode },
	{ .name = "route", .parse = key_route },
	{ .name = "lease", .parse = key_time, .field = DOMAIN_FIELD(lease), .min = 1 },
	{ .name = "lifetime", .parse = key_time, .field = DOMAIN_FIELD(lifetime), .min = 1 },
	{ .name = "warn", .parse = key_time, .field = DOMAIN_FIELD(warn), .allow_no = true },
	{ .name = "etrn_from", .parse = key_etrn_from },
	{ .name = "finger", .parse = key_finger },
	{ .name = "probe", .parse = key_time, .field = DOMAIN_FIELD(probe), .allow_no = true },
	{ .name = "tls", .parse = key_tls },
	{ .name = "recipients", .parse = key_recipients },
	{ .name = "group", .parse = key_word, .field = DOMAIN_FIELD(group) },
	{ .name = "owner", .parse = key_word, .field = DOMAIN_FIELD(owner) },
	{ .name = "notify", .parse = key_notify },
	{ .name = "home", .parse = key_home },
	{ .name = "max_messages", .parse = key_cap, .field = DOMAIN_FIELD(max_messages) },
	{ .name = "max_bytes", .parse = key_cap, .field = DOMAIN_FIELD(max_bytes) },
};

#define NKEYS (sizeof(domain_keys) / sizeof(domain_keys[0]))

/* domain_free - free one domain */
static void
domain_free(struct domain **dp)
{
	struct domain *d = *dp;

	if (d == NULL)
		return;
	free(d->name);
	route_clear(&d->route);
	netlist_free(&d->etrn_from);
	free(d->group);
	free(d->owner);
	free(d->notify);
	free(d->home);
	rcpt_set_free(&d->recipients);
	free(d->recipients_file);
	xfree(dp);
}

/* domain_parse_line - one "domain key=value ..." line; NULL on error */
static struct domain *
domain_parse_line(struct dload *dl, char *line)
{
	struct domain *d;
	bool seen[NKEYS] = { false };
	char *tok, *save = NULL, *eq;
	size_t i;
	int bad = 0;

	tok = strtok_r(line, " \t", &save);
	if (!address_domain_ok(tok, strlen(tok)) || tok[0] == '[') {
		dload_error(dl, "bad domain name \"%s\"; write the domain "
		    "first, then key=value settings", tok);
		return NULL;
	}
	d = xcalloc(1, sizeof(*d));
	d->name = xstrdup(tok);
	for (i = 0; d->name[i] != '\0'; i++)
		d->name[i] = (char)tolower((unsigned char)d->name[i]);
	d->mode = dl->cfg->default_domain_mode;
	d->route.mx = true;
	d->lease = dl->cfg->default_lease;
	d->lifetime = dl->cfg->maximal_queue_lifetime;
	d->warn = dl->cfg->delay_warning_time;
	d->probe = dl->cfg->default_probe_interval;
	d->tls = ROUTE_TLS_MAY;
	d->max_messages = dl->cfg->default_max_messages;
	d->max_bytes = dl->cfg->default_max_bytes;
	d->file = dl->file;
	d->line = dl->line;

	dl->d = d;
	while ((tok = strtok_r(NULL, " \t", &save)) != NULL) {
		if ((eq = strchr(tok, '=')) == NULL) {
			dload_error(dl, "\"%s\" is not key=value; see "
			    "sluice-domains(5)", tok);
			bad = 1;
			continue;
		}
		*eq = '\0';
		for (i = 0; i < NKEYS; i++)
			if (strcmp(domain_keys[i].name, tok) == 0)
				break;
		if (i == NKEYS) {
			dload_error(dl, "unknown key \"%s\"; see "
			    "sluice-domains(5)", tok);
			bad = 1;
			continue;
		}
		if (seen[i]) {
			dload_error(dl, "%s= given twice; keep one", tok);
			bad = 1;
			continue;
		}
		seen[i] = true;
		if (domain_keys[i].parse(dl, &domain_keys[i], eq + 1) < 0)
			bad = 1;
	}
	dl->d = NULL;
	/* Only the owner's login gives route=client its address. */
	if (!bad && d->route.client && d->owner == NULL) {
		dload_error(dl, "route=client needs owner=: the address is that of the "
		    "owner's web login or ETRN after AUTH");
		bad = 1;
	}
	if (bad)
		domain_free(&d);
	return d;
}

/* domain_table_new - an empty table */
struct domain_table *
domain_table_new(void)
{
	return xcalloc(1, sizeof(struct domain_table));
}

/* domain_table_add - add d (owned from now on); -1 if the name is taken */
static int
domain_table_add(struct dload *dl, struct domain_table *t, struct domain *d)
{
	const struct domain *old;

	if ((old = strtab_get(&t->byname, d->name)) != NULL) {
		dload_error(dl, "domain \"%s\" is already listed at line %u; "
		    "merge the two lines", d->name, old->line);
		domain_free(&d);
		return -1;
	}
	if (t->n == t->cap) {
		/* Doubling keeps a table of thousands linear to load. */
		t->cap = t->cap == 0 ? 64 : t->cap * 2;
		t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
	}
	t->v[t->n++] = d;
	strtab_put(&t->byname, d->name, d);
	return 0;
}

/* domain_table_load - read a domains file */
int
domain_table_load(const char *path, const struct config *cfg,
    struct domain_table **t_r, struct config_errors *errs)
{
	struct domain_table *t;
	struct dload dl = { .cfg = cfg, .errs = errs };
	struct domain *d;
	char *buf = NULL, *p, *end;
	size_t cap = 0;
	int rc = 0;
	FILE *fp;

	*t_r = NULL;
	if ((fp = fopen(path, "r")) == NULL) {
		config_errors_add(errs, "%s: open: %s; create it (it may be "
		    "empty) or set domains_file", path, strerror(errno));
		return -1;
	}
	t = domain_table_new();
	t->file = xstrdup(path);
	dl.file = t->file;
	while (getline(&buf, &cap, fp) != -1) {
		dl.line++;
		if ((p = strchr(buf, '#')) != NULL)
			*p = '\0';
		p = buf + strspn(buf, " \t\r\n");
		end = p + strlen(p);
		while (end > p && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*p == '\0')
			continue;
		if ((d = domain_parse_line(&dl, p)) == NULL ||
		    domain_table_add(&dl, t, d) < 0)
			rc = -1;
	}
	if (ferror(fp)) {
		config_errors_add(errs, "%s: read: %s", path, strerror(errno));
		rc = -1;
	}
	free(buf);
	fclose(fp);
	if (rc < 0) {
		domain_table_free(&t);
		return -1;
	}
	*t_r = t;
	return 0;
}

/* domain_table_free - free a table and its domains */
void
domain_table_free(struct domain_table **tp)
{
	struct domain_table *t = *tp;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		domain_free(&t->v[i]);
	free(t->v);
	strtab_clear(&t->byname);
	free(t->file);
	xfree(tp);
}

/* domain_find - look a domain up, case-insensitive, O(1) */
const struct domain *
domain_find(const struct domain_table *t, const char *name)
{
	if (t == NULL || name == NULL)
		return NULL;
	return strtab_get(&t->byname, name);
}

/* domain_count - number of domains */
size_t
domain_count(const struct domain_table *t)
{
	return t == NULL ? 0 : t->n;
}

/* domain_table_walk - call fn for each domain in file order */
int
domain_table_walk(const struct domain_table *t,
    int (*fn)(const struct domain *d, void *ctx), void *ctx)
{
	size_t i;
	int rc;

	if (t == NULL)
		return 0;
	for (i = 0; i < t->n; i++)
		if ((rc = fn(t->v[i], ctx)) != 0)
			return rc;
	return 0;
}

/* domain_rcpt_known - may this recipient be accepted? */
bool
domain_rcpt_known(const struct domain *d, const char *mailbox)
{
	const char *at;
	char *local;
	bool known;

	if (d->recipients == NULL)
		return true;
	if (strtab_get(&d->recipients->tab, mailbox) != NULL)
		return true;
	if ((at = strrchr(mailbox, '@')) == NULL)
		return false;
	local = xstrndup(mailbox, (size_t)(at - mailbox));
	known = strtab_get(&d->recipients->tab, local) != NULL;
	free(local);
	return known;
}

/* domain_mode_name - the mode= keyword of a mode */
const char *
domain_mode_name(enum domain_mode mode)
{
	return mode == DOMAIN_MODE_BACKUP ? "backup" : "hold";
}
