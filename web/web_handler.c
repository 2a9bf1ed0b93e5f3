/*
 * web_handler - the pages: login form, login, status (lease renewal), logout
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

/* lib/util */
#include "util/events.h"
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/address.h"
#include "mail/authlock.h"
#include "mail/conf.h"
#include "mail/passwd.h"
#include "mail/proto_rec.h"
#include "mail/queue.h"
/* web */
#include "web/web.h"

#define WEB_COOKIE		"sluice_session"

/* The form fields we read; anything else in a body is ignored. */
enum web_field {
	WEB_F_USER,
	WEB_F_PASSWORD,
	WEB_F_CSRF,
	WEB_F_DOMAIN,
	WEB_F_ID,
	WEB_F_ALL,
	WEB_F_N,
};

static const struct {
	const char *name;
	size_t max;
} web_fields[WEB_F_N] = {
	[WEB_F_USER] = { "user", PASSWD_LOGIN_MAX },
	[WEB_F_PASSWORD] = { "password", PASSWD_PASSWORD_MAX },
	[WEB_F_CSRF] = { "csrf", WEB_TOKEN_HEX },
	[WEB_F_DOMAIN] = { "domain", WEB_DOMAIN_MAX },
	[WEB_F_ID] = { "id", QUEUE_ID_LEN },
	[WEB_F_ALL] = { "all", 1 },
};

/* One request from its first header to its completion. */
struct web_req {
	struct web *w;
	struct MHD_Connection *conn;
	struct MHD_PostProcessor *pp;
	size_t body;			/* bytes of body seen */
	bool bad_type;			/* a body we cannot parse */
	bool bad_body;			/* over WEB_BODY_MAX or a field too long */
	char *field[WEB_F_N];
	size_t field_len[WEB_F_N];
	char client[INET6_ADDRSTRLEN];
	/* A failed login waits auth_failure_delay, suspended. */
	bool resumed;
	struct ev_timer *timer;
	struct web_req *next;		/* in w->suspended */
};

typedef int web_route_fn(struct web_req *req, const char *url);

/* web_post_field - libmicrohttpd's form iterator: keep the fields we know */
static enum MHD_Result
web_post_field(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *filename, const char *content_type,
    const char *transfer_encoding, const char *data, uint64_t off, size_t size)
{
	struct web_req *req = cls;
	size_t i;

	(void)kind;
	(void)filename;
	(void)content_type;
	(void)transfer_encoding;
	(void)off;
	for (i = 0; i < WEB_F_N; i++) {
		if (strcmp(key, web_fields[i].name) != 0)
			continue;
		/* A field given twice, or longer than allowed, spoils the form. */
		if (req->field_len[i] + size > web_fields[i].max ||
		    (off == 0 && req->field[i] != NULL)) {
			req->bad_body = true;
			return MHD_NO;
		}
		req->field[i] = xrealloc(req->field[i], req->field_len[i] + size + 1);
		memcpy(req->field[i] + req->field_len[i], data, size);
		req->field_len[i] += size;
		req->field[i][req->field_len[i]] = '\0';
	}
	return MHD_YES;
}

/* web_form - a form field (NUL-terminated), or "" when absent */
static const char *
web_form(const struct web_req *req, enum web_field f)
{
	const char *v = req->field[f];

	/* A NUL inside a value would cut it short unseen: treat as absent. */
	if (v == NULL || strlen(v) != req->field_len[f])
		return "";
	return v;
}

/* web_session_of - the request's live session, or NULL */
static struct web_session *
web_session_of(struct web_req *req)
{
	const char *id = MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND,
	    WEB_COOKIE);

	if (id == NULL)
		return NULL;
	return web_session_find(req->w->sessions, id, time(NULL), web_session_idle(req->w));
}

/* web_cookie - the Set-Cookie value for session id ("" ends the session) */
static char *
web_cookie(const struct web *w, const char *id)
{
	/*
	 * HttpOnly: no script may read it; SameSite=Strict: no other site
	 * can make the browser send it (a second wall behind the CSRF
	 * token); Secure under HTTPS. No Max-Age: it dies with the browser.
	 */
	return xasprintf("%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s", WEB_COOKIE,
	    id, w->tls ? "; Secure" : "", *id == '\0' ? "; Max-Age=0" : "");
}

/* web_send_page - a page with a status code and maybe a cookie */
static int
web_send_page(struct web_req *req, unsigned int status, char *body, size_t len,
    const char *cookie)
{
	struct web_reply r = { .status = status, .body = body, .len = len,
	    .cookie = cookie };

	return web_reply_send(req->w, req->conn, &r);
}

/* web_send_notice - a short page: title, text */
static int
web_send_notice(struct web_req *req, unsigned int status, const char *title,
    const char *text)
{
	size_t len;
	char *body = web_page_notice(req->w->cfg->web_title, title, text,
	    status != 404, &len);

	return web_send_page(req, status, body, len, NULL);
}

/* web_redirect - 303 See Other to path (after a POST, or to the login form) */
static int
web_redirect(struct web_req *req, const char *path, const char *cookie)
{
	struct web_reply r = { .status = 303, .location = path, .cookie = cookie };

	r.body = web_page_notice(req->w->cfg->web_title, "Moved",
	    "Continue to the next page.", false, &r.len);
	return web_reply_send(req->w, req->conn, &r);
}

/* web_login_form - the login form (anonymous session made when needed) */
static int
web_login_form(struct web_req *req, struct web_session *ss, const char *domain,
    const char *notice, unsigned int status)
{
	char *cookie = NULL, *body;
	size_t len;
	int ret;

	if (ss == NULL) {
		ss = web_session_create(req->w->sessions, time(NULL));
		if (ss == NULL)
			return web_send_notice(req, 503, "Busy",
			    "Too many visitors right now; try again in a minute.");
		cookie = web_cookie(req->w, ss->id);
	}
	body = web_page_login(req->w->cfg->web_title, ss->csrf, domain, notice,
	    &len);
	ret = web_send_page(req, status, body, len, cookie);
	free(cookie);
	return ret;
}

/* web_url_domain - the lowercase domain of "/DOMAIN" into buf; 0/-1 */
static int
web_url_domain(const char *url, char *buf, size_t size)
{
	size_t len = strlen(url), i;

	if (len < 2 || len - 1 >= size || url[0] != '/' ||
	    !address_domain_ok(url + 1, len - 1) || url[1] == '[')
		return -1;
	for (i = 1; i <= len; i++)
		buf[i - 1] = (char)(url[i] >= 'A' && url[i] <= 'Z' ?
		    url[i] - 'A' + 'a' : url[i]);
	return 0;
}

/* web_get_login - GET / and GET /DOMAIN: the login form */
static int
web_get_login(struct web_req *req, const char *url)
{
	struct web_session *ss = web_session_of(req);
	char domain[WEB_DOMAIN_MAX + 1];
	bool with_domain = strcmp(url, "/") != 0;

	if (with_domain && web_url_domain(url, domain, sizeof(domain)) < 0)
		return web_send_notice(req, 404, "Not found",
		    "There is no such page here.");
	/* Logged in already: the status page is what this visitor wants. */
	if (ss != NULL && ss->user != NULL && !with_domain)
		return web_redirect(req, "/status", NULL);
	return web_login_form(req, ss, with_domain ? domain : NULL, NULL, 200);
}

/* web_not_found - favicon and friends: plain 404 */
static int
web_not_found(struct web_req *req, const char *url)
{
	(void)url;
	return web_send_notice(req, 404, "Not found", "There is no such page here.");
}

/* web_get_elsewhere - GET of a POST-only address: the form is at / */
static int
web_get_elsewhere(struct web_req *req, const char *url)
{
	(void)url;
	return web_redirect(req, "/", NULL);
}

/* web_csrf_ok - does the form carry the session's CSRF token? */
static bool
web_csrf_ok(const struct web_req *req, const struct web_session *ss)
{
	return ss != NULL && web_token_equal(web_form(req, WEB_F_CSRF), ss->csrf);
}

/* web_forbidden - 403 for a form without the right CSRF token */
static int
web_forbidden(struct web_req *req, const char *what)
{
	log_warn("refuse %s: client=%s: missing or wrong form token", what,
	    req->client);
	return web_send_notice(req, 403, "Form expired",
	    "This form has expired or did not come from this site. "
	    "Open the login page again.");
}

/*
 * web_same_origin - does the request's Origin (or, without one, its
 * Referer) name this site, as its Host says? A request with neither
 * passes: the CSRF token decides alone (some browsers and proxies send
 * neither). Origin "null" (a sandboxed frame, a file) never matches.
 */
static bool
web_same_origin(const struct web_req *req)
{
	const char *host = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_HOST);
	const char *src = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
	    "Origin");
	size_t len;

	if (src == NULL)
		src = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_REFERER);
	if (src == NULL)
		return true;
	if (host == NULL)
		return false;
	if (strncasecmp(src, "https://", 8) == 0)
		src += 8;
	else if (strncasecmp(src, "http://", 7) == 0)
		src += 7;
	else
		return false;
	len = strcspn(src, "/?#");
	return len == strlen(host) && strncasecmp(src, host, len) == 0;
}

/*
 * web_customer_form - the session of a form that may act on the
 * customer's mail: logged in, the session's own CSRF token, and from
 * this site. NULL when refused (logged).
 */
static struct web_session *
web_customer_form(struct web_req *req, const char *what)
{
	struct web_session *ss = web_session_of(req);

	if (ss == NULL || ss->user == NULL || !web_csrf_ok(req, ss)) {
		log_warn("refuse %s: client=%s: missing or wrong form token", what,
		    req->client);
		return NULL;
	}
	if (!web_same_origin(req)) {
		log_warn("refuse %s: user=%s, client=%s: the form came from another site",
		    what, ss->user, req->client);
		return NULL;
	}
	return ss;
}

/* web_req_resume - the failed-login pause is over: answer the request */
static void
web_req_resume(void *ctx)
{
	struct web_req *req = ctx, **pp;

	req->timer = NULL;
	for (pp = &req->w->suspended; *pp != NULL; pp = &(*pp)->next)
		if (*pp == req) {
			*pp = req->next;
			break;
		}
	req->resumed = true;
	MHD_resume_connection(req->conn);
	web_server_kick(req->w);
}

/* web_login_delay - hold a failed login back without blocking anyone else */
static int
web_login_delay(struct web_req *req)
{
	struct web *w = req->w;

	MHD_suspend_connection(req->conn);
	req->timer = ev_timer_add(w->loop, (uint64_t)w->cfg->auth_failure_delay * 1000,
	    web_req_resume, req);
	req->next = w->suspended;
	w->suspended = req;
	return MHD_YES;
}

/* web_post_login - POST /login: check the password, release the domains */
static int
web_post_login(struct web_req *req, const char *url)
{
	struct web *w = req->w;
	struct web_session *ss = web_session_of(req);
	const char *user = web_form(req, WEB_F_USER);
	const char *domain = web_form(req, WEB_F_DOMAIN);
	char dom[WEB_DOMAIN_MAX + 1], *cookie, **owned = NULL, *path;
	unsigned long long *sent;
	enum proto_status status;
	const char *why;
	size_t n, i;
	int ok;

	(void)url;
	if (*domain != '\0') {
		path = xasprintf("/%s", domain);
		i = (size_t)web_url_domain(path, dom, sizeof(dom));
		free(path);
		if (i != 0)
			return web_send_notice(req, 400, "Bad request",
			    "That is not a domain name.");
		domain = dom;
	}
	if (req->resumed)
		return web_login_form(req, ss, *domain != '\0' ? domain : NULL,
		    "Wrong customer name or password.", 403);
	if (web_rate_limited(&w->login_rate, req->client, w->cfg->web_login_limit,
	    time(NULL))) {
		struct web_reply r = { .status = 429, .retry = true };

		log_warn("refuse login: client=%s: more than %ld attempts a minute",
		    req->client, w->cfg->web_login_limit);
		r.body = web_page_notice(w->cfg->web_title, "Too many attempts",
		    "Too many logins from your address; wait a minute and try again.",
		    true, &r.len);
		return web_reply_send(w, req->conn, &r);
	}
	if (!web_csrf_ok(req, ss))
		return web_forbidden(req, "login");
	ok = passwd_login_ok(user) ? web_gate_login(w, user,
	    web_form(req, WEB_F_PASSWORD)) : 0;
	if (ok < 0)
		return web_send_notice(req, 503, "Try again later",
		    "Logins cannot be checked right now.");
	/* The right password, but too many wrong ones came before: the
	 * same page as a wrong one, the reason in the log only. */
	if (ok == 1 && authlock_locked(w->cfg, user, req->client, &why)) {
		log_warn("refuse login: user=%s, client=%s: %s", user,
		    req->client, why);
		return web_login_delay(req);
	}
	if (ok == 0) {
		log_warn("refuse login: user=%s, client=%s: wrong name or password",
		    passwd_login_ok(user) ? user : "(bad)", req->client);
		authlock_fail(w->cfg, user, req->client);
		return web_login_delay(req);
	}
	authlock_success(w->cfg, user);
	n = web_gate_owned(w->cfg, user, *domain != '\0' ? domain : NULL, &owned);
	if (*domain != '\0' && n == 0) {
		log_warn("refuse login: user=%s, client=%s: does not own %s", user,
		    req->client, domain);
		return web_login_form(req, ss, domain,
		    "That domain is not registered to this customer name.", 403);
	}
	/*
	 * "Delivered this session" counts from qmgr's sent= count as it is
	 * now, read before the trigger lets anything through.
	 */
	sent = xcalloc(n + 1, sizeof(*sent));
	for (i = 0; i < n; i++) {
		struct web_domain_view v = { .name = owned[i] };

		if (web_gate_status(w, &v) == 0)
			sent[i] = v.sent;
	}
	for (i = 0; i < n; i++)
		(void)web_gate_trigger(w, owned[i], user, req->client, &status);
	ok = web_session_login(w->sessions, &ss, user, owned, sent, n, time(NULL));
	free(sent);
	if (ok < 0) {
		web_gate_list_free(&owned, n);
		return web_send_notice(req, 503, "Try again later",
		    "No session could be made right now.");
	}
	log_info("login: user=%s, client=%s, domains=%zu", user, req->client, n);
	web_gate_list_free(&owned, n);
	cookie = web_cookie(w, ss->id);
	ok = web_redirect(req, "/status", cookie);
	free(cookie);
	return ok;
}

/* web_trigger_notice - what the status page says about a refused renewal */
static const char *
web_trigger_notice(enum proto_status status)
{
	static const char *const notices[PROTO_STATUS_N] = {
		[PROTO_STATUS_BUSY] = "Too many requests from your address: delivery "
		    "goes on, and the next refresh renews it.",
		[PROTO_STATUS_DENIED] = "This domain may not be released from here.",
		[PROTO_STATUS_UNKNOWN] = "This domain is no longer served here.",
		[PROTO_STATUS_ERROR] = "The queue could not be read; the next refresh "
		    "tries again.",
	};

	return status < PROTO_STATUS_N ? notices[status] : NULL;
}

/* web_get_status - GET /status: renew each domain's lease, show its queue */
static int
web_get_status(struct web_req *req, const char *url)
{
	struct web *w = req->w;
	struct web_session *ss = web_session_of(req);
	struct web_domain_view *v;
	enum proto_status *status;
	char *body;
	size_t len, i;
	int ret;

	(void)url;
	if (ss == NULL || ss->user == NULL)
		return web_redirect(req, "/", NULL);
	v = xcalloc(ss->ndomains + 1, sizeof(*v));
	status = xcalloc(ss->ndomains + 1, sizeof(*status));
	for (i = 0; i < ss->ndomains; i++) {
		/*
		 * Every refresh is a trigger: it renews the lease, and qmgr
		 * joins it to the flush under way (trigger_min_interval).
		 */
		(void)web_gate_trigger(w, ss->domains[i], ss->user, req->client,
		    &status[i]);
		v[i].name = ss->domains[i];
		v[i].notice = web_trigger_notice(status[i]);
		if (web_gate_status(w, &v[i]) < 0)
			continue;
		/*
		 * A count below the session's start: qmgr restarted and
		 * counts afresh, so this session counts from 0 from now on.
		 */
		if (v[i].sent < ss->sent_base[i])
			ss->sent_base[i] = 0;
		v[i].session = v[i].sent - ss->sent_base[i];
	}
	body = web_page_status(w->cfg->web_title, ss->user, ss->csrf,
	    w->cfg->web_refresh, time(NULL), v, ss->ndomains, &len);
	ret = web_send_page(req, 200, body, len, NULL);
	free(status);
	free(v);
	return ret;
}

/* The notices of the list page after an action, by the code of its redirect. */
static const struct {
	const char *code;
	const char *text;
} web_held_done[] = {
	{ "deleted", "The message was deleted." },
	{ "returned", "The message is being returned to its sender." },
	{ "released", "Your mail is being delivered to your site now." },
	{ "busy", "Released a moment ago already: delivery goes on." },
	{ "refused", "That domain may not be released from here now." },
};

/*
 * web_get_mail - GET /mail[?after=ID|before=ID][&done=CODE]: the list of
 * held mail, a page after or before a queue-ID cursor
 */
static int
web_get_mail(struct web_req *req, const char *url)
{
	struct web *w = req->w;
	struct web_session *ss = web_session_of(req);
	const char *after = MHD_lookup_connection_value(req->conn,
	    MHD_GET_ARGUMENT_KIND, "after");
	const char *before = MHD_lookup_connection_value(req->conn,
	    MHD_GET_ARGUMENT_KIND, "before");
	const char *done = MHD_lookup_connection_value(req->conn,
	    MHD_GET_ARGUMENT_KIND, "done");
	struct web_held_list l;
	struct web_held_view v;
	char *body;
	size_t len, i;
	int ret;

	(void)url;
	if (ss == NULL || ss->user == NULL)
		return web_redirect(req, "/", NULL);
	if (after != NULL && *after == '\0')
		after = NULL;
	if (before != NULL && *before == '\0')
		before = NULL;
	if ((after != NULL && !queue_id_ok(after)) ||
	    (before != NULL && (!queue_id_ok(before) || after != NULL)))
		return web_send_notice(req, 400, "Bad request",
		    "That is not a page of your list.");
	v = (struct web_held_view){ .user = ss->user, .csrf = ss->csrf,
	    .domains = ss->domains, .ndomains = ss->ndomains, .list = &l,
	    .after = after, .before = before };
	for (i = 0; done != NULL && i < sizeof(web_held_done) / sizeof(web_held_done[0]); i++)
		if (strcmp(done, web_held_done[i].code) == 0)
			v.done = web_held_done[i].text;
	v.failed = web_held_page(w, ss, after, before, WEB_HELD_PAGE, &l) < 0;
	body = web_page_held(w->cfg->web_title, &v, time(NULL), &len);
	web_held_list_clear(&l);
	ret = web_send_page(req, 200, body, len, NULL);
	return ret;
}

/*
 * web_post_held - POST /mail/delete and /mail/return: the customer's
 * recipients of one message, in each of the session's domains; qmgr
 * checks the owner again and touches no other recipient.
 */
static int
web_post_held(struct web_req *req, const char *url)
{
	struct web *w = req->w;
	bool del = strcmp(url, "/mail/delete") == 0;
	const char *action = del ? PROTO_ACTION_DELETE : PROTO_ACTION_BOUNCE;
	const char *verb = del ? "deleted" : "returned to the sender";
	struct web_session *ss = web_customer_form(req, action);
	const char *id = web_form(req, WEB_F_ID);
	enum proto_status st;
	size_t i, acted = 0, failed = 0;

	if (ss == NULL)
		return web_send_notice(req, 403, "Form expired",
		    "This form has expired or did not come from this site. "
		    "Open the page again.");
	for (i = 0; queue_id_ok(id) && i < ss->ndomains; i++) {
		if (web_held_act(w, id, ss->domains[i], action, ss->user, req->client,
		    &st) < 0 || st == PROTO_STATUS_ERROR) {
			failed++;
		} else if (st == PROTO_STATUS_OK) {
			acted++;
			log_info("%s: %s by customer %s from [%s] (domain %s)", id, verb,
			    ss->user, req->client, ss->domains[i]);
		}
	}
	if (acted > 0)
		return web_redirect(req, del ? "/mail?done=deleted" : "/mail?done=returned",
		    NULL);
	if (failed > 0)
		return web_send_notice(req, 503, "Try again later",
		    "Your queue could not be changed right now.");
	log_warn("refuse %s: user=%s, client=%s, id=%s: no such message for this "
	    "customer", action, ss->user, req->client, queue_id_ok(id) ? id : "(bad)");
	return web_send_notice(req, 404, "Not found",
	    "There is no such message among your held mail.");
}

/* web_post_release - POST /mail/release: one of the session's domains, or all */
static int
web_post_release(struct web_req *req, const char *url)
{
	struct web *w = req->w;
	struct web_session *ss = web_customer_form(req, "release");
	const char *domain = web_form(req, WEB_F_DOMAIN);
	bool all = strcmp(web_form(req, WEB_F_ALL), "1") == 0;
	enum proto_status st = PROTO_STATUS_N, worst = PROTO_STATUS_OK;
	size_t i, n = 0;

	(void)url;
	if (ss == NULL)
		return web_send_notice(req, 403, "Form expired",
		    "This form has expired or did not come from this site. "
		    "Open the page again.");
	for (i = 0; i < ss->ndomains; i++) {
		if (!all && strcasecmp(domain, ss->domains[i]) != 0)
			continue;
		n++;
		(void)web_gate_trigger(w, ss->domains[i], ss->user, req->client, &st);
		log_info("release: user=%s, client=%s, domain=%s: %s", ss->user,
		    req->client, ss->domains[i], st < PROTO_STATUS_N ?
		    proto_status_name(st) : "no answer");
		if (st != PROTO_STATUS_OK && st != PROTO_STATUS_NONE)
			worst = st;
	}
	if (n == 0) {
		log_warn("refuse release: user=%s, client=%s, domain=%s: not a domain "
		    "of this session", ss->user, req->client,
		    *domain != '\0' ? domain : "(none)");
		return web_send_notice(req, 403, "Not your domain",
		    "That domain is not one of this login's.");
	}
	if (worst == PROTO_STATUS_N || worst == PROTO_STATUS_ERROR)
		return web_send_notice(req, 503, "Try again later",
		    "Your mail could not be released right now.");
	return web_redirect(req, worst == PROTO_STATUS_BUSY ? "/mail?done=busy" :
	    worst == PROTO_STATUS_OK ? "/mail?done=released" : "/mail?done=refused",
	    NULL);
}

/* web_get_mail_elsewhere - GET of an action's address: the list, nothing done */
static int
web_get_mail_elsewhere(struct web_req *req, const char *url)
{
	(void)url;
	return web_redirect(req, "/mail", NULL);
}

/* web_post_logout - POST /logout: close the gates now, end the session */
static int
web_post_logout(struct web_req *req, const char *url)
{
	struct web *w = req->w;
	struct web_session *ss = web_session_of(req);
	char *cookie, *body;
	size_t len, i;
	int ret;

	(void)url;
	if (!web_csrf_ok(req, ss) || ss->user == NULL)
		return web_forbidden(req, "logout");
	for (i = 0; i < ss->ndomains; i++)
		(void)web_gate_close(w, ss->domains[i], ss->user, req->client);
	log_info("logout: user=%s, client=%s, domains=%zu", ss->user, req->client,
	    ss->ndomains);
	web_session_drop(w->sessions, &ss);
	cookie = web_cookie(w, "");
	body = web_page_notice(w->cfg->web_title, "Logged out",
	    "Your mail is held again until you next log in.", true, &len);
	ret = web_send_page(req, 200, body, len, cookie);
	free(cookie);
	return ret;
}

/*
 * The pages. A path of NULL matches any other path of that method (GET
 * "/DOMAIN"). HEAD is answered as GET, without the body.
 */
static const struct web_route {
	const char *method;
	const char *path;
	web_route_fn *fn;
} web_routes[] = {
	{ "GET", "/", web_get_login },
	{ "GET", "/status", web_get_status },
	{ "GET", "/login", web_get_elsewhere },
	{ "GET", "/logout", web_get_elsewhere },
	{ "GET", "/favicon.ico", web_not_found },
	{ "GET", "/robots.txt", web_not_found },
	{ "GET", "/mail", web_get_mail },
	{ "GET", "/mail/delete", web_get_mail_elsewhere },
	{ "GET", "/mail/return", web_get_mail_elsewhere },
	{ "GET", "/mail/release", web_get_mail_elsewhere },
	{ "GET", NULL, web_get_login },
	{ "POST", "/login", web_post_login },
	{ "POST", "/logout", web_post_logout },
	{ "POST", "/mail/delete", web_post_held },
	{ "POST", "/mail/return", web_post_held },
	{ "POST", "/mail/release", web_post_release },
};

/* web_dispatch - the whole request is in: run its route */
static int
web_dispatch(struct web_req *req, const char *url, const char *method)
{
	const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
	bool method_known = false;
	size_t i;

	for (i = 0; i < sizeof(web_routes) / sizeof(web_routes[0]); i++) {
		const struct web_route *r = &web_routes[i];

		if (strcmp(r->method, m) != 0)
			continue;
		method_known = true;
		if (r->path == NULL || strcmp(r->path, url) == 0)
			return r->fn(req, url);
	}
	if (!method_known) {
		struct web_reply r = { .status = 405, .allow = "GET, HEAD, POST" };

		r.body = web_page_notice(req->w->cfg->web_title, "Not allowed",
		    "This method is not served here.", false, &r.len);
		return web_reply_send(req->w, req->conn, &r);
	}
	return web_not_found(req, url);
}

int
web_handle(struct web *w, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **req_ctx)
{
	struct web_req *req = *req_ctx;

	if (req == NULL) {
		char client[INET6_ADDRSTRLEN];
		int ret;

		/* Headers are in; the body (if any) comes in the next calls. */
		web_conn_addr(conn, client, sizeof(client));
		if (web_request_refused(w, conn, version, client, &ret))
			return ret;
		req = xcalloc(1, sizeof(*req));
		req->w = w;
		req->conn = conn;
		memcpy(req->client, client, sizeof(req->client));
		/* NULL for a body that is no form: refused if one comes. */
		if (strcmp(method, "POST") == 0)
			req->pp = MHD_create_post_processor(conn, 1024, web_post_field, req);
		*req_ctx = req;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		req->body += *upload_size;
		if (req->body > WEB_BODY_MAX)
			req->bad_body = true;
		else if (req->pp == NULL)
			req->bad_type = true;
		else if (!req->bad_body &&
		    MHD_post_process(req->pp, upload, *upload_size) != MHD_YES)
			req->bad_body = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (req->bad_type)
		return web_send_notice(req, 415, "Bad request",
		    "Send the form as the login page does.");
	if (req->bad_body)
		return web_send_notice(req, 413, "Bad request", "That form is too large.");
	return web_dispatch(req, url, method);
}

void
web_request_done(void **req_ctx)
{
	struct web_req *req = *req_ctx;
	size_t i;

	if (req == NULL)
		return;
	if (req->pp != NULL)
		(void)MHD_destroy_post_processor(req->pp);
	for (i = 0; i < WEB_F_N; i++) {
		if (req->field[i] != NULL)
			/* The password must not linger in freed memory. */
			explicit_bzero(req->field[i], req->field_len[i]);
		free(req->field[i]);
	}
	free(req);
	*req_ctx = NULL;
}

void
web_resume_all(struct web *w)
{
	struct web_req *req;

	/* libmicrohttpd must not be stopped with suspended connections. */
	while ((req = w->suspended) != NULL) {
		w->suspended = req->next;
		ev_timer_cancel(w->loop, &req->timer);
		req->resumed = true;
		MHD_resume_connection(req->conn);
	}
}
