/*
 * web_session - random tokens, the session table, the login rate limit
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* lib/util */
#include "util/htable.h"
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/conf.h"
/* web */
#include "web/web.h"

/*
 * Sessions held at once. A visitor who only looks at the login form
 * costs an anonymous session, so the table is bounded and the oldest
 * anonymous session makes room; logged-in sessions are never evicted.
 */
#define WEB_SESSIONS_MAX	4096
/* Clients remembered by the login rate limit before it starts afresh. */
#define WEB_RATE_MAX		10000

struct web_sessions {
	struct htable *by_id;		/* id -> struct web_session */
};

struct web_rate {
	time_t window;			/* start of the current minute */
	long count;
};

int
web_token_new(char buf[WEB_TOKEN_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[WEB_TOKEN_BYTES];
	size_t got = 0, i;
	ssize_t n;

	/* getrandom blocks only until the kernel pool is first seeded. */
	while (got < sizeof(raw)) {
		n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_warn("read random bytes: %s", strerror(errno));
			return -1;
		}
		got += (size_t)n;
	}
	for (i = 0; i < sizeof(raw); i++) {
		buf[2 * i] = hex[raw[i] >> 4];
		buf[2 * i + 1] = hex[raw[i] & 0xf];
	}
	buf[WEB_TOKEN_HEX] = '\0';
	return 0;
}

bool
web_token_equal(const char *a, const char *b)
{
	unsigned char diff = 0;
	size_t i;

	if (a == NULL || b == NULL || strlen(a) != WEB_TOKEN_HEX ||
	    strlen(b) != WEB_TOKEN_HEX)
		return false;
	/* Every byte is compared, so the time says nothing about the token. */
	for (i = 0; i < WEB_TOKEN_HEX; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

bool
web_token_ok(const char *s)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < WEB_TOKEN_HEX; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[WEB_TOKEN_HEX] == '\0';
}

long
web_session_idle(const struct web *w)
{
	/* Three missed refreshes, and never under a quarter of an hour. */
	return w->cfg->web_refresh * 3 > 900 ? w->cfg->web_refresh * 3 : 900;
}

struct web_sessions *
web_sessions_new(void)
{
	struct web_sessions *s = xcalloc(1, sizeof(*s));

	s->by_id = htable_new();
	return s;
}

/* web_session_free - free one session's memory (not in any table) */
static void
web_session_free(struct web_session **sp)
{
	struct web_session *ss = *sp;
	size_t i;

	if (ss == NULL)
		return;
	for (i = 0; i < ss->ndomains; i++)
		free(ss->domains[i]);
	free(ss->domains);
	free(ss->sent_base);
	free(ss->user);
	/* The tokens are secrets: do not leave them in freed memory. */
	explicit_bzero(ss, sizeof(*ss));
	free(ss);
	*sp = NULL;
}

/* web_session_free_value - web_session_free as htable_free_values calls it */
static void
web_session_free_value(void *value)
{
	struct web_session *ss = value;

	web_session_free(&ss);
}

void
web_sessions_free(struct web_sessions **sp)
{
	struct web_sessions *s = *sp;

	if (s == NULL)
		return;
	htable_free_values(&s->by_id, web_session_free_value);
	free(s);
	*sp = NULL;
}

/* web_session_oldest_anon - htable_walk callback: the oldest anonymous session */
static int
web_session_oldest_anon(const char *key, void *value, void *ctx)
{
	struct web_session **oldest = ctx, *ss = value;

	(void)key;
	if (ss->user == NULL && (*oldest == NULL || ss->last_seen < (*oldest)->last_seen))
		*oldest = ss;
	return 0;
}

struct web_session *
web_session_create(struct web_sessions *s, time_t now)
{
	struct web_session *ss;

	if (htable_count(s->by_id) >= WEB_SESSIONS_MAX) {
		struct web_session *oldest = NULL;

		htable_walk(s->by_id, web_session_oldest_anon, &oldest);
		if (oldest == NULL) {
			log_warn("create session: table full (%d logged-in sessions)",
			    WEB_SESSIONS_MAX);
			return NULL;
		}
		web_session_drop(s, &oldest);
	}
	ss = xcalloc(1, sizeof(*ss));
	if (web_token_new(ss->id) < 0 || web_token_new(ss->csrf) < 0) {
		web_session_free(&ss);
		return NULL;
	}
	ss->created = ss->last_seen = now;
	htable_put(s->by_id, ss->id, ss);
	return ss;
}

struct web_session *
web_session_find(struct web_sessions *s, const char *id, time_t now, long idle)
{
	struct web_session *ss;

	if (!web_token_ok(id))
		return NULL;
	ss = htable_get(s->by_id, id);
	if (ss == NULL)
		return NULL;
	if (now - ss->last_seen > idle) {
		web_session_drop(s, &ss);
		return NULL;
	}
	ss->last_seen = now;
	return ss;
}

int
web_session_login(struct web_sessions *s, struct web_session **sp,
    const char *user, char *const *domains, const unsigned long long *sent,
    size_t ndomains, time_t now)
{
	struct web_session *ss = *sp;
	size_t i;

	/*
	 * A new id at login: a cookie planted before the login (session
	 * fixation) never becomes a logged-in session.
	 */
	(void)htable_del(s->by_id, ss->id);
	if (web_token_new(ss->id) < 0 || web_token_new(ss->csrf) < 0) {
		web_session_free(sp);
		return -1;
	}
	free(ss->user);
	ss->user = xstrdup(user);
	/* A second login in the same browser replaces the first one's list. */
	for (i = 0; i < ss->ndomains; i++)
		free(ss->domains[i]);
	free(ss->domains);
	free(ss->sent_base);
	ss->domains = xreallocarray(NULL, ndomains + 1, sizeof(*ss->domains));
	ss->sent_base = xreallocarray(NULL, ndomains + 1, sizeof(*ss->sent_base));
	for (i = 0; i < ndomains; i++) {
		ss->domains[i] = xstrdup(domains[i]);
		ss->sent_base[i] = sent[i];
	}
	ss->ndomains = ndomains;
	ss->created = ss->last_seen = now;
	htable_put(s->by_id, ss->id, ss);
	return 0;
}

void
web_session_drop(struct web_sessions *s, struct web_session **sp)
{
	if (*sp == NULL)
		return;
	(void)htable_del(s->by_id, (*sp)->id);
	web_session_free(sp);
}

/* What web_sessions_expire asks of every session. */
struct web_expire {
	time_t now;
	long idle;	/* seconds; 0: no limit */
};

/* web_session_stale - has this session been idle too long? (htable_prune) */
static bool
web_session_stale(const char *key, void *value, void *ctx)
{
	const struct web_session *ss = value;
	const struct web_expire *x = ctx;

	(void)key;
	return x->idle > 0 && x->now - ss->last_seen > x->idle;
}

void
web_sessions_expire(struct web_sessions *s, time_t now, long idle)
{
	struct web_expire x = { .now = now, .idle = idle };

	(void)htable_prune(s->by_id, web_session_stale, &x, web_session_free_value);
}

size_t
web_sessions_count(const struct web_sessions *s)
{
	return htable_count(s->by_id);
}

void
web_rate_free(struct htable **tp)
{
	htable_free_values(tp, free);
}

bool
web_rate_limited(struct htable **tp, const char *client, long limit, time_t now)
{
	struct web_rate *r = htable_get(*tp, client);

	if (r == NULL) {
		/*
		 * Bounded memory: past WEB_RATE_MAX clients everyone starts
		 * afresh, which an attacker with that many addresses could
		 * use anyway.
		 */
		if (htable_count(*tp) >= WEB_RATE_MAX) {
			web_rate_free(tp);
			*tp = htable_new();
		}
		r = xcalloc(1, sizeof(*r));
		htable_put(*tp, client, r);
	}
	if (now - r->window >= 60) {
		r->window = now;
		r->count = 0;
	}
	return ++r->count > limit;
}
