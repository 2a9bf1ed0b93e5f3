/*
 * web_page - the HTML of the login, status and notice pages, and their CSS
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

/* lib/util */
#include "util/log.h"
#include "util/xmalloc.h"
/* lib/mail */
#include "mail/passwd.h"
#include "mail/proto_rec.h"
#include "mail/quota.h"
/* web */
#include "web/web.h"

/*
 * The one stylesheet, inline in every page: a saved page renders as
 * served, and the Content-Security-Policy allows exactly this text by
 * its hash, so no other style (and no script at all) can run. Laid out
 * for a phone first: one column, large touch targets.
 */
static const char web_css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;"
    "margin:0;background:#f3f4f6;color:#1c2230;line-height:1.4}"
    "header{background:#1f4f99;color:#fff;padding:.8rem 1rem}"
    "header h1{font-size:1.15rem;margin:0}"
    "main{max-width:34rem;margin:0 auto;padding:1rem}"
    "h2{font-size:1.1rem;margin:0 0 .6rem;word-break:break-all}"
    ".card{background:#fff;border:1px solid #d6dae2;border-radius:.5rem;"
    "padding:1rem;margin:0 0 1rem}"
    "label{display:block;margin:.7rem 0 .25rem;font-weight:600}"
    "input[type=text],input[type=password]{width:100%;box-sizing:border-box;"
    "padding:.65rem;font-size:1rem;border:1px solid #a9b0bd;border-radius:.3rem}"
    "button{margin-top:1rem;padding:.7rem 1.2rem;font-size:1rem;border:0;"
    "border-radius:.3rem;background:#1f4f99;color:#fff;width:100%}"
    "dl{display:grid;grid-template-columns:auto 1fr;gap:.35rem 1rem;margin:0}"
    "dt{color:#4d5566}dd{margin:0;font-weight:600;text-align:right}"
    ".open{color:#157a3a}.held{color:#9a5800}.failing{color:#b3261e}"
    ".note{background:#fff6d5;border:1px solid #e6d185;padding:.6rem;"
    "border-radius:.3rem}"
    ".err{background:#fde3e3;border-color:#e5a3a3}"
    "footer{color:#5c6373;font-size:.85rem;text-align:center}"
    /*
     * The list of held mail (web_page_held.c): a table on a wide screen
     * (main widens where :has is known; elsewhere the table scrolls),
     * one block per message on a phone.
     */
    "main:has(.wide){max-width:64rem}.scroll{overflow-x:auto}"
    "table.heldmail{width:100%;border-collapse:collapse;font-size:.9rem}"
    ".heldmail th,.heldmail td{padding:.35rem;border-bottom:1px solid #d6dae2;"
    "text-align:left;vertical-align:top}"
    ".heldmail .subject{overflow-wrap:anywhere}"
    ".heldmail td.size,.heldmail td.age,.heldmail td.expiry,.heldmail td.actions"
    "{white-space:nowrap}"
    ".heldmail td.actions form{display:inline-block}"
    "@media (max-width:40rem){.heldmail thead{display:none}"
    ".heldmail tr{display:block;padding:.5rem 0;border-bottom:1px solid #d6dae2}"
    ".heldmail td{display:inline;border:0;padding:0 .5rem 0 0}"
    ".heldmail td.from,.heldmail td.subject,.heldmail td.actions{display:block}"
    ".heldmail td.from{font-weight:600}"
    ".heldmail td.age::before{content:'age '}"
    ".heldmail td.expiry::before{content:'returned '}}"
    "form{margin:0}td.actions button,button.plain{width:auto;margin:.2rem .3rem 0 0;"
    "padding:.4rem .7rem;font-size:.9rem}"
    "button.danger{background:#b3261e;width:auto;margin:.2rem .3rem 0 0;"
    "padding:.4rem .7rem;font-size:.9rem}"
    ".done{background:#e3f4e8;border-color:#9fd3ae}"
    ".pages a{margin-right:1rem}";

char *
web_page_csp_new(void)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];

	if (EVP_Digest(web_css, sizeof(web_css) - 1, md, &mdlen, EVP_sha256(),
	    NULL) != 1)
		log_fatal("hash the stylesheet: OpenSSL EVP_Digest failed");
	(void)EVP_EncodeBlock((unsigned char *)b64, md, (int)mdlen);
	/*
	 * Nothing but the inline stylesheet; forms may post only here, and
	 * no other site may frame the page (clickjacking of "log out").
	 */
	return xasprintf("default-src 'none'; style-src 'sha256-%s'; "
	    "img-src 'none'; form-action 'self'; frame-ancestors 'none'; "
	    "base-uri 'none'", b64);
}

/* web_html - write s with the five HTML metacharacters escaped */
void
web_html(FILE *fp, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", fp);
			break;
		case '<':
			fputs("&lt;", fp);
			break;
		case '>':
			fputs("&gt;", fp);
			break;
		case '"':
			fputs("&quot;", fp);
			break;
		case '\'':
			fputs("&#39;", fp);
			break;
		default:
			fputc(*s, fp);
		}
	}
}

void
web_page_duration(long secs, char *buf, size_t size)
{
	long d, h, m, s;

	if (secs < 0)
		secs = 0;
	d = secs / 86400;
	h = secs % 86400 / 3600;
	m = secs % 3600 / 60;
	s = secs % 60;
	if (secs < 60)
		snprintf(buf, size, "%lds", secs);
	else if (secs < 3600)
		snprintf(buf, size, "%ldm %lds", m, s);
	else if (secs < 86400)
		snprintf(buf, size, "%ldh %ldm", h, m);
	else
		snprintf(buf, size, "%ldd %ldh", d, h);
}

/* web_page_open - a memory stream with the head of a page written */
FILE *
web_page_open(char **buf_r, size_t *len_r, const char *service,
    const char *title, long refresh)
{
	FILE *fp = open_memstream(buf_r, len_r);

	if (fp == NULL)
		log_fatal("open memory stream: out of memory");
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
	    fp);
	if (refresh > 0)
		fprintf(fp, "<meta http-equiv=\"refresh\" content=\"%ld\">\n", refresh);
	/* The service's name is the operator's text (web_title): escaped too. */
	fputs("<title>", fp);
	web_html(fp, title);
	fputs(" - ", fp);
	web_html(fp, service);
	fprintf(fp, "</title>\n<style>%s</style>\n</head>\n<body>\n<header><h1>",
	    web_css);
	web_html(fp, service);
	fputs("</h1></header>\n<main>\n", fp);
	return fp;
}

/* web_page_close - finish the page; the text is in *buf_r, *len_r */
char *
web_page_close(FILE *fp, char **buf_r, size_t *len_r)
{
	fputs("</main>\n</body>\n</html>\n", fp);
	if (fclose(fp) != 0)
		log_fatal("write page: out of memory");
	return *buf_r;
}

/* web_page_csrf - the hidden field every form carries */
void
web_page_csrf(FILE *fp, const char *csrf)
{
	fputs("<input type=\"hidden\" name=\"csrf\" value=\"", fp);
	web_html(fp, csrf);
	fputs("\">\n", fp);
}

char *
web_page_login(const char *service, const char *csrf, const char *domain,
    const char *notice, size_t *len_r)
{
	char *buf = NULL;
	FILE *fp = web_page_open(&buf, len_r, service, "Log in", 0);

	fputs("<p>Log in to <span class=\"service\">", fp);
	web_html(fp, service);
	fputs("</span> to receive the mail held for your site", fp);
	if (domain != NULL) {
		fputs(" <strong>", fp);
		web_html(fp, domain);
		fputs("</strong>", fp);
	}
	fputs(". While this page stays open your mail is delivered; close it "
	    "and new mail is held for you again.</p>\n", fp);
	if (notice != NULL) {
		fputs("<p class=\"note err\">", fp);
		web_html(fp, notice);
		fputs("</p>\n", fp);
	}
	fputs("<form class=\"card\" method=\"post\" action=\"/login\">\n", fp);
	web_page_csrf(fp, csrf);
	if (domain != NULL) {
		fputs("<input type=\"hidden\" name=\"domain\" value=\"", fp);
		web_html(fp, domain);
		fputs("\">\n", fp);
	}
	fprintf(fp, "<label for=\"user\">Customer name</label>\n"
	    "<input id=\"user\" name=\"user\" type=\"text\" maxlength=\"%d\" "
	    "autocomplete=\"username\" autocapitalize=\"none\" required>\n"
	    "<label for=\"password\">Password</label>\n"
	    "<input id=\"password\" name=\"password\" type=\"password\" "
	    "maxlength=\"%d\" autocomplete=\"current-password\" required>\n"
	    "<button type=\"submit\">Log in</button>\n</form>\n",
	    PASSWD_LOGIN_MAX, PASSWD_PASSWORD_MAX);
	return web_page_close(fp, &buf, len_r);
}

/* web_page_domain - one domain's card on the status page */
static void
web_page_domain(FILE *fp, const struct web_domain_view *v, time_t now)
{
	char t[64], progress[sizeof(v->failing) + 64];

	fputs("<section class=\"card\">\n<h2>", fp);
	web_html(fp, v->name);
	fputs("</h2>\n", fp);
	if (!v->known) {
		fputs("<p class=\"note err\">The queue manager did not answer; "
		    "this page tries again at its next refresh.</p>\n</section>\n", fp);
		return;
	}
	proto_delivery_text(&(struct proto_delivery){ .open = v->open,
	    .pending = v->pending, .in_flight = v->in_flight, .finished = v->finished,
	    .failing = v->failing, .failing_at = v->failing_at }, now, progress,
	    sizeof(progress));
	fputs("<dl>\n<dt>Delivery</dt>", fp);
	/*
	 * Failing is said where "open" would be, never a green gate to a
	 * dead site, with the reason, the time of the attempt and of the
	 * next one when qmgr knows it; the progress row would only repeat it.
	 */
	if (strncmp(progress, PROTO_D_FAILING, strlen(PROTO_D_FAILING)) == 0) {
		fputs("<dd class=\"gate failing\">Delivery to your site is failing</dd>\n"
		    "<dt>Reason</dt><dd class=\"reason\">", fp);
		web_html(fp, v->failing);
		proto_utc(v->failing_at, false, t, sizeof(t));
		fprintf(fp, "</dd>\n<dt>Last attempt</dt><dd class=\"attempt\">%s</dd>\n",
		    t);
		if (v->next_try > now) {
			proto_utc(v->next_try, false, t, sizeof(t));
			fprintf(fp, "<dt>Next try</dt><dd class=\"retry\">%s</dd>\n", t);
		}
	} else {
		if (v->open) {
			web_page_duration((long)(v->open_until - now), t, sizeof(t));
			fprintf(fp, "<dd class=\"gate open\">open (%s left)</dd>\n", t);
		} else
			fputs("<dd class=\"gate held\">held</dd>\n", fp);
		fputs("<dt>Progress</dt><dd class=\"progress\">", fp);
		web_html(fp, progress);
		fputs("</dd>\n", fp);
	}
	/* route=client: the address this login gave, so the customer can check it. */
	if (v->route[0] != '\0') {
		fputs("<dt>Delivering to</dt><dd class=\"route\">", fp);
		web_html(fp, v->route);
		fputs(" (your address)</dd>\n", fp);
	}
	fprintf(fp, "<dt>Messages waiting</dt><dd class=\"pending\">%llu</dd>\n"
	    "<dt>In flight</dt><dd class=\"inflight\">%llu</dd>\n"
	    "<dt>Delivered this session</dt><dd class=\"delivered\">%llu</dd>\n",
	    v->pending, v->in_flight, v->session);
	/* A capped domain: how full it is (max_messages=, max_bytes=). */
	if (v->max_messages > 0 || v->max_bytes > 0) {
		char qt[128];

		quota_text(v->pending, v->max_messages, v->bytes, v->max_bytes, qt, sizeof(qt));
		fputs("<dt>Space used</dt><dd class=\"quota\">", fp);
		web_html(fp, qt);
		fputs("</dd>\n", fp);
	}
	if (v->next_probe != 0) {
		proto_utc(v->next_probe, false, t, sizeof(t));
		fprintf(fp, "<dt>Next probe</dt><dd class=\"probe\">%s</dd>\n", t);
	}
	fputs("<dt>Oldest message</dt><dd class=\"oldest\">", fp);
	if (v->oldest > 0) {
		web_page_duration((long)(now - v->oldest), t, sizeof(t));
		fprintf(fp, "%s old", t);
	} else
		fputs("none", fp);
	fputs("</dd>\n<dt>Next bounce</dt><dd class=\"expiry\">", fp);
	if (v->next_expiry > now) {
		web_page_duration((long)(v->next_expiry - now), t, sizeof(t));
		fprintf(fp, "in %s", t);
	} else if (v->next_expiry > 0)
		fputs("due now", fp);
	else
		fputs("none", fp);
	fputs("</dd>\n</dl>\n", fp);
	if (v->notice != NULL) {
		fputs("<p class=\"note\">", fp);
		web_html(fp, v->notice);
		fputs("</p>\n", fp);
	}
	fputs("</section>\n", fp);
}

char *
web_page_status(const char *service, const char *user, const char *csrf,
    long refresh, time_t now, const struct web_domain_view *v, size_t n,
    size_t *len_r)
{
	char *buf = NULL, t[64], stamp[64];
	struct tm tm;
	FILE *fp = web_page_open(&buf, len_r, service, "Your mail", refresh);
	size_t i;

	fputs("<p>Logged in as <strong>", fp);
	web_html(fp, user);
	web_page_duration(refresh, t, sizeof(t));
	fprintf(fp, "</strong>. Keep this page open while your mail server is "
	    "online: it refreshes every %s and keeps delivery going. Close it "
	    "and your mail is held again once the lease runs out.</p>\n", t);
	if (n == 0)
		fputs("<p class=\"note\">No domain is registered to this customer "
		    "name.</p>\n", fp);
	for (i = 0; i < n; i++)
		web_page_domain(fp, &v[i], now);
	fputs("<p class=\"heldlink\"><a href=\"/mail\">See your held mail: "
	    "release, delete or return messages</a></p>\n", fp);
	fputs("<form method=\"post\" action=\"/logout\">\n", fp);
	web_page_csrf(fp, csrf);
	fputs("<button type=\"submit\">Log out and hold my mail</button>\n</form>\n",
	    fp);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fprintf(fp, "<footer><p>Updated %s</p></footer>\n", stamp);
	return web_page_close(fp, &buf, len_r);
}

char *
web_page_notice(const char *service, const char *title, const char *text,
    bool home_link, size_t *len_r)
{
	char *buf = NULL;
	FILE *fp = web_page_open(&buf, len_r, service, title, 0);

	fputs("<section class=\"card\">\n<h2>", fp);
	web_html(fp, title);
	fputs("</h2>\n<p>", fp);
	web_html(fp, text);
	fputs("</p>\n", fp);
	if (home_link)
		fputs("<p><a href=\"/\">Log in again</a></p>\n", fp);
	fputs("</section>\n", fp);
	return web_page_close(fp, &buf, len_r);
}
