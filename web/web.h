/*
 * web - the login page that holds a customer's gate open (web(8sluice)).
 *
 * Modules:
 *	web_server.c	libmicrohttpd on our epoll loop, the request table,
 *			the headers every response carries
 *	web_tls.c	HTTPS: our listeners, the OpenSSL handshake, and a
 *			socketpair pump into libmicrohttpd; certificate reload
 *	web_handler.c	the pages: login form, login, status, logout
 *	web_session.c	random tokens, the server-side session table, the
 *			per-client login rate limit
 *	web_page.c	HTML and CSS
 *	web_gate.c	what the pages ask of qmgr and of the passwd file
 *
 * One process, one thread, one epoll loop: libmicrohttpd runs in its
 * "external epoll" mode, so its epoll descriptor is one more watch in
 * our loop and every handler runs in the loop's thread. The session
 * table therefore needs no lock. Under HTTPS libmicrohttpd has no
 * listener and no TLS: web_tls.c terminates TLS with OpenSSL (as smtpd
 * and etrn do) and adds each connection to it as plaintext from the
 * client's address, so one TLS stack serves every door. Handlers call
 * qmgr with a short
 * blocking request (qmgr answers from memory); a failed login is held
 * back by suspending the connection, never by sleeping.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_WEB_H
#define SLUICE_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include "mail/proto.h"
#include "mail/queue.h"

struct config;
struct daemon;
struct daemon_server;
struct ev_loop;
struct ssl_ctx_st;
struct ev_timer;
struct htable;
struct MHD_Daemon;
struct web_req;
struct web_conn;
struct web_conn_local;
struct passwd_table;

/* Random tokens (session cookie, CSRF): 32 bytes from getrandom, in hex. */
#define WEB_TOKEN_BYTES		32
#define WEB_TOKEN_HEX		(2 * WEB_TOKEN_BYTES)

#define WEB_DOMAIN_MAX		255
/* The largest request body we read (a login form is far smaller). */
#define WEB_BODY_MAX		4096
/* qmgr answers from memory: a short wait is enough. */
#define WEB_QMGR_TIMEOUT_MS	3000

struct web {
	struct ev_loop *loop;
	const char *confdir;
	struct config *cfg;
	int listen_fd;			/* plain HTTP: from master, fd 3; else -1 */
	struct MHD_Daemon *mhd;
	int mhd_epfd;			/* libmicrohttpd's epoll fd, watched by us */
	struct ev_timer *mhd_timer;	/* when libmicrohttpd wants to run */
	struct ev_timer *sweep_timer;	/* session expiry */
	bool tls;			/* HTTPS (every connection): cookies get Secure */
	bool stopping;
	struct web_sessions *sessions;
	struct htable *login_rate;	/* client address -> struct web_rate */
	char *csp;			/* Content-Security-Policy header value */
	struct ssl_ctx_st *ssl_ctx;	/* HTTPS: for new connections (reload swaps it) */
	struct daemon_server *tls_srv;	/* HTTPS: our listeners and connections */
	struct web_conn_local *adding;	/* during web_server_add only */
	struct web_req *suspended;	/* requests held back after a failed login */
	struct passwd_table *passwd;	/* reloaded when the file changes */
	/* Open connections, oldest request first, for web_request_deadline. */
	struct web_conn *conn_head, *conn_tail;
	struct ev_timer *deadline_timer;
};

/* A session: anonymous (login form shown) or logged in (user != NULL). */
struct web_session {
	char id[WEB_TOKEN_HEX + 1];	/* the cookie value */
	char csrf[WEB_TOKEN_HEX + 1];	/* the hidden field of every form */
	char *user;			/* customer login, or NULL */
	char **domains;			/* the domains this login released */
	/*
	 * qmgr's sent= count of each domain when the login began: the page
	 * shows what was delivered since, in this session only.
	 */
	unsigned long long *sent_base;
	size_t ndomains;
	time_t created;
	time_t last_seen;
};

/* web_server.c */
struct MHD_Connection;

/*
 * web_server_new - start libmicrohttpd inside loop: on d's first
 * listener for plain HTTP, or behind web_tls.c on every listener of d
 * (taken over) when cfg names a certificate and key. Fatal when it
 * cannot start.
 */
struct web *web_server_new(struct ev_loop *loop, const char *confdir,
    struct config *cfg, struct daemon *d);
/* web_server_free - stop libmicrohttpd, close the listener, free *wp */
void web_server_free(struct web **wp);
/* web_server_kick - let libmicrohttpd run now (after a resume) */
void web_server_kick(struct web *w);
/*
 * web_conn_is_tls - did conn's request come over TLS? (HSTS is sent
 * exactly then.)
 */
bool web_conn_is_tls(const struct web *w, struct MHD_Connection *conn);
/* web_conn_addr - conn's client address as every door logs it (IPv4-mapped as IPv4) */
void web_conn_addr(struct MHD_Connection *conn, char *buf, size_t size);
/*
 * web_conn_local - the address conn's client connected to (ours), also
 * under HTTPS where libmicrohttpd's socket is one end of a socketpair;
 * false when unknown.
 */
bool web_conn_local(struct MHD_Connection *conn, struct sockaddr_storage *ss_r,
    socklen_t *len_r);
/*
 * web_server_add - give libmicrohttpd fd (one end of a socketpair: it
 * owns and closes it, even on failure) as a plaintext connection from
 * peer that came to local. 0, or -1 (logged).
 */
int web_server_add(struct web *w, int fd, const struct sockaddr_storage *peer,
    socklen_t peer_len, const struct sockaddr_storage *local,
    socklen_t local_len);

/* web_tls.c */

/*
 * web_tls_configured - does cfg ask for HTTPS (web_tls_cert_file and
 * web_tls_key_file)? Exits EX_CONFIG when only one of them is set.
 */
bool web_tls_configured(const struct config *cfg);
/*
 * web_tls_start - load the certificate (exits EX_CONFIG, naming the file,
 * when it cannot) and serve TLS on every listener of d (taken over).
 */
void web_tls_start(struct web *w, struct daemon *d);
/*
 * web_tls_reload - after SIGHUP (w->cfg is the new configuration): load
 * the certificate and key again for new connections, and log it; one
 * that fails keeps the old one, with a warning naming the file.
 */
void web_tls_reload(struct web *w);
/* web_tls_stop - close our listeners and TLS connections, free the context */
void web_tls_stop(struct web *w);

/* web_session.c */

/* web_token_new - WEB_TOKEN_HEX hex digits of fresh randomness into buf; 0/-1 */
int web_token_new(char buf[WEB_TOKEN_HEX + 1]);
/* web_token_equal - compare two tokens in time independent of their contents */
bool web_token_equal(const char *a, const char *b);
/* web_token_ok - is s exactly WEB_TOKEN_HEX lowercase hex digits? */
bool web_token_ok(const char *s);

/* web_session_idle - seconds a session lives without a request */
long web_session_idle(const struct web *w);
struct web_sessions *web_sessions_new(void);
void web_sessions_free(struct web_sessions **sp);
/*
 * web_session_create - a new anonymous session, or NULL when the table
 * is full of logged-in sessions (the oldest anonymous one makes room).
 */
struct web_session *web_session_create(struct web_sessions *s, time_t now);
/* web_session_find - the live session with cookie id, or NULL; marks it seen */
struct web_session *web_session_find(struct web_sessions *s, const char *id,
    time_t now, long idle);
/*
 * web_session_login - log *sp in as user: a new session id (no fixation),
 * a new CSRF token, the domains it released and qmgr's sent= count of
 * each as the login began (both copied). 0, or -1 (no randomness: *sp
 * is dropped).
 */
int web_session_login(struct web_sessions *s, struct web_session **sp,
    const char *user, char *const *domains, const unsigned long long *sent,
    size_t ndomains, time_t now);
/* web_session_drop - remove and free *sp, set it to NULL */
void web_session_drop(struct web_sessions *s, struct web_session **sp);
/* web_sessions_expire - drop sessions idle for longer than idle seconds */
void web_sessions_expire(struct web_sessions *s, time_t now, long idle);
/* web_sessions_count - how many sessions the table holds */
size_t web_sessions_count(const struct web_sessions *s);

/*
 * web_rate_limited - count one login attempt of client in the current
 * minute; true when it is over limit. The table's memory is bounded.
 */
bool web_rate_limited(struct htable **tp, const char *client, long limit,
    time_t now);
/* web_rate_free - free the rate table and its entries */
void web_rate_free(struct htable **tp);

/* What the status page shows of one domain (qmgr's domainstatus). */
struct web_domain_view {
	const char *name;
	bool known;			/* qmgr answered */
	unsigned long long pending;	/* messages waiting */
	unsigned long long delivered;	/* recipients sent since the gate opened */
	unsigned long long sent;	/* recipients sent since qmgr started */
	unsigned long long session;	/* recipients sent in this login session */
	time_t oldest;			/* arrival of the oldest message, or 0 */
	time_t next_expiry;		/* when the next one bounces, or 0 */
	bool open;			/* the gate */
	time_t open_until;
	const char *notice;		/* what the trigger said, or NULL */
	unsigned long long in_flight;	/* deliveries under way */
	time_t finished;		/* nothing left since; 0 */
	char failing[256];		/* the last connection failure, "" none */
	time_t failing_at;
	time_t next_probe;		/* 0 none */
	time_t next_try;		/* qmgr's own retry; 0 none */
	char route[80];			/* route=client: "[addr]:port" mail goes to now, or "" */
	unsigned long long bytes;	/* bytes waiting */
	unsigned long long max_messages, max_bytes; /* the domain's caps (quota.h); 0 none */
};

/*
 * web_page.c: each page is a new NUL-terminated string; *len_r its
 * length. service is the name of the service (web_title), escaped here.
 */

/* web_page_csp_new - the Content-Security-Policy value (hash of the CSS) */
char *web_page_csp_new(void);
/* web_page_login - the login form; domain and notice may be NULL */
char *web_page_login(const char *service, const char *csrf, const char *domain,
    const char *notice, size_t *len_r);
/* web_page_status - the page that refreshes itself and keeps the gate open */
char *web_page_status(const char *service, const char *user, const char *csrf,
    long refresh, time_t now, const struct web_domain_view *v, size_t n,
    size_t *len_r);
/* web_page_notice - a short page: logged out, errors */
char *web_page_notice(const char *service, const char *title, const char *text,
    bool home_link, size_t *len_r);
/* web_page_duration - "12s", "4m 10s", "2h 5m", "3d 4h" */
void web_page_duration(long secs, char *buf, size_t size);

/* web_gate.c */

/*
 * web_gate_login - check user's password against the passwd file:
 * 1 right, 0 wrong (or no such customer), -1 the file cannot be read.
 */
int web_gate_login(struct web *w, const char *user, const char *password);
/*
 * web_gate_owned - the domains user owns (owner= in the domains table),
 * or only the domain only if user owns it: a new array of new strings
 * in *list_r, its length returned. Free with web_gate_list_free.
 */
size_t web_gate_owned(const struct config *cfg, const char *user,
    const char *only, char ***list_r);
/* web_gate_list_free - free an array from web_gate_owned */
void web_gate_list_free(char ***listp, size_t n);
/*
 * web_gate_trigger - ask qmgr to release domain for user (source=web):
 * qmgr's answer in *status_r, PROTO_STATUS_N when qmgr does not answer
 * (or not in its protocol). 0 released (ok or none), -1 not.
 */
int web_gate_trigger(const struct web *w, const char *domain, const char *user,
    const char *client, enum proto_status *status_r);
/* web_gate_status - fill v (name already set) from qmgr; 0/-1 */
int web_gate_status(const struct web *w, struct web_domain_view *v);
/* web_gate_close - close domain's gate now (logout); 0/-1 */
int web_gate_close(const struct web *w, const char *domain, const char *user,
    const char *client);

/* web_held.c: the customer's list of held mail (issue 11) */

/* Rows on one page of the list. */
#define WEB_HELD_PAGE		50
/* The most characters of a Subject shown. */
#define WEB_SUBJECT_MAX		80

/* One held message as the list shows it. */
struct web_held_row {
	char id[QUEUE_ID_LEN + 1];
	char *domains;			/* its domains of this customer, ", " between */
	char *sender;			/* "" for the null sender */
	char *subject;			/* raw (mail/header.h), or NULL */
	unsigned long long size;
	time_t arrival, expiry;
	unsigned long long nrcpt;	/* its recipients in those domains */
};

struct web_held_list {
	struct web_held_row *rows;
	size_t n;
	bool more;			/* a next page exists (after rows[n - 1]) */
	bool prev;			/* a page before exists (before rows[0]) */
};

/*
 * web_held_page - the page of at most page messages of ss's domains
 * after queue ID after (NULL or "": the first page), or the page before
 * queue ID before (NULL: none), in queue ID order, into *l (free with
 * web_held_list_clear). 0, or -1 when a domain's list could not be read
 * (logged; l holds the rest).
 */
int web_held_page(const struct web *w, const struct web_session *ss, const char *after,
    const char *before, size_t page, struct web_held_list *l);
void web_held_list_clear(struct web_held_list *l);
/*
 * web_held_act - ask qmgr to act (PROTO_ACTION_*) on message id's
 * recipients in domain for user: qmgr's answer in *status_r (ok,
 * unknown: none there, denied, error). 0 answered, -1 not (logged).
 */
int web_held_act(const struct web *w, const char *id, const char *domain,
    const char *action, const char *user, const char *client,
    enum proto_status *status_r);

/* web_page_held.c */

/* What the list page says after an action (POST/redirect/GET), by its code. */
struct web_held_view {
	const char *user;
	const char *csrf;
	char *const *domains;		/* the session's */
	size_t ndomains;
	const struct web_held_list *list;
	const char *after;		/* this page's cursor, or NULL (first page) */
	const char *before;		/* or this one (a previous page), or NULL */
	const char *done;		/* the notice of the last action, or NULL */
	bool failed;			/* the list could not be read in full */
};

/* web_page_held - the list of held mail with its forms */
char *web_page_held(const char *service, const struct web_held_view *v, time_t now,
    size_t *len_r);

/* web_page.c, for the pages of other files */
/* web_html - write s with the five HTML metacharacters escaped */
void web_html(FILE *fp, const char *s);
/* web_page_open - a memory stream with the head of a page written */
FILE *web_page_open(char **buf_r, size_t *len_r, const char *service,
    const char *title, long refresh);
/* web_page_close - finish the page; the text is in *buf_r, *len_r */
char *web_page_close(FILE *fp, char **buf_r, size_t *len_r);
/* web_page_csrf - the hidden field every form carries */
void web_page_csrf(FILE *fp, const char *csrf);

/* web_server.c: one response, with the headers every page carries */

struct MHD_Connection;

struct web_reply {
	unsigned int status;		/* HTTP status code */
	char *body;			/* malloc'd; the reply takes it */
	size_t len;
	const char *location;		/* a redirect's target, or NULL */
	const char *cookie;		/* a Set-Cookie value, or NULL */
	const char *allow;		/* the Allow header of a 405, or NULL */
	bool retry;			/* Retry-After: 60 (429) */
	bool close;			/* Connection: close (a refused request) */
};

/* web_reply_send - queue r on conn (frees r->body); MHD_YES / MHD_NO */
int web_reply_send(const struct web *w, struct MHD_Connection *conn,
    struct web_reply *r);

/* web_request.c */
/*
 * web_request_refused - check a request's head (first call of the access
 * handler): Transfer-Encoding with Content-Length (400), no Host in
 * HTTP/1.1 (400), a Host not in web_hostnames nor the address the client
 * connected to (421). True if refused: answered, the connection closes,
 * and *ret_r is the handler's return value.
 */
bool web_request_refused(struct web *w, struct MHD_Connection *conn,
    const char *version, const char *client, int *ret_r);

/* web_handler.c */

/*
 * web_handle - answer one request (libmicrohttpd's access handler, its
 * arguments as they come). Returns MHD_YES / MHD_NO.
 */
int web_handle(struct web *w, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **req_ctx);
/* web_request_done - free what web_handle kept for a request */
void web_request_done(void **req_ctx);
/* web_resume_all - end every failed-login pause now (before stopping) */
void web_resume_all(struct web *w);

#endif
