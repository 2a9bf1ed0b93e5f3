/*
 * web_page_held - the HTML of the customer's list of held mail: release
 * forms, one row per message with its delete and return forms, and the
 * links to the next page and back to the first
 *
 * Everything that came with the mail (sender, Subject) or from the
 * customer is escaped here; the Subject is decoded and cut first
 * (mail/header.h), so an escape is never cut in half.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* lib/mail */
#include "mail/header.h"
/* web */
#include "web/web.h"

/* web_page_size - "512 B", "12.3 KB", "4.5 MB" */
static void
web_page_size(unsigned long long bytes, char *buf, size_t size)
{
	if (bytes < 1024)
		snprintf(buf, size, "%llu B", bytes);
	else if (bytes < 1024 * 1024)
		snprintf(buf, size, "%.1f KB", (double)bytes / 1024);
	else
		snprintf(buf, size, "%.1f MB", (double)bytes / (1024 * 1024));
}

/* web_page_action - a one-button form that posts id to path */
static void
web_page_action(FILE *fp, const char *csrf, const char *path, const char *id,
    const char *label, const char *cls)
{
	fprintf(fp, "<form method=\"post\" action=\"%s\">\n", path);
	web_page_csrf(fp, csrf);
	fprintf(fp,
	    "<input type=\"hidden\" name=\"id\" value=\"%s\">"
	    "<button type=\"submit\" class=\"%s\">%s</button></form>\n",
	    id, cls, label);
}

/* web_page_held_row - one message */
static void
web_page_held_row(FILE *fp, const struct web_held_view *v,
    const struct web_held_row *r, time_t now)
{
	char subject[WEB_SUBJECT_MAX * 4 + 4], t[64];

	/* The ID is 20 hex digits (queue_id_ok): safe in an attribute. */
	fprintf(
	    fp, "<tr class=\"msg\" id=\"m-%s\">\n<td class=\"from\">", r->id);
	web_html(
	    fp, r->sender[0] != '\0' ? r->sender : "<> (a delivery notice)");
	fputs("</td>\n<td class=\"subject\">", fp);
	if (r->subject != NULL) {
		header_display(
		    r->subject, WEB_SUBJECT_MAX, subject, sizeof(subject));
		web_html(fp, subject);
	} else
		fputs("<em>(no subject)</em>", fp);
	fputs("</td>\n<td class=\"domain\">", fp);
	web_html(fp, r->domains);
	web_page_size(r->size, t, sizeof(t));
	fprintf(fp, "</td>\n<td class=\"size\">%s</td>\n", t);
	web_page_duration((long)(now - r->arrival), t, sizeof(t));
	fprintf(fp, "<td class=\"age\">%s</td>\n<td class=\"expiry\">", t);
	if (r->expiry > now) {
		web_page_duration((long)(r->expiry - now), t, sizeof(t));
		fprintf(fp, "in %s", t);
	} else
		fputs("due now", fp);
	fputs("</td>\n<td class=\"actions\">\n", fp);
	web_page_action(fp, v->csrf, "/mail/delete", r->id, "Delete", "danger");
	web_page_action(
	    fp, v->csrf, "/mail/return", r->id, "Return to sender", "plain");
	fputs("</td>\n</tr>\n", fp);
}

/* web_page_release - the release forms: each domain, and all of them */
static void
web_page_release(FILE *fp, const struct web_held_view *v)
{
	size_t i;

	fputs("<section class=\"card\">\n<h2>Release</h2>\n<p>Deliver the mail "
	      "held for a domain to your site now.</p>\n",
	    fp);
	for (i = 0; i < v->ndomains; i++) {
		fputs("<form method=\"post\" action=\"/mail/release\">\n", fp);
		web_page_csrf(fp, v->csrf);
		fputs("<input type=\"hidden\" name=\"domain\" value=\"", fp);
		web_html(fp, v->domains[i]);
		fputs(
		    "\"><button type=\"submit\" class=\"plain\">Release ", fp);
		web_html(fp, v->domains[i]);
		fputs("</button></form>\n", fp);
	}
	if (v->ndomains > 1) {
		fputs("<form method=\"post\" action=\"/mail/release\">\n", fp);
		web_page_csrf(fp, v->csrf);
		fputs("<input type=\"hidden\" name=\"all\" value=\"1\">"
		      "<button type=\"submit\">Release all my "
		      "domains</button></form>\n",
		    fp);
	}
	fputs("</section>\n", fp);
}

char *
web_page_held(const char *service, const struct web_held_view *v, time_t now,
    size_t *len_r)
{
	char *buf = NULL;
	FILE *fp = web_page_open(&buf, len_r, service, "Held mail", 0);
	const struct web_held_list *l = v->list;
	size_t i;

	fputs("<p>Logged in as <strong>", fp);
	web_html(fp, v->user);
	fputs("</strong>. <a href=\"/status\">Delivery status</a></p>\n", fp);
	if (v->done != NULL) {
		fputs("<p class=\"note done\">", fp);
		web_html(fp, v->done);
		fputs("</p>\n", fp);
	}
	if (v->failed)
		fputs(
		    "<p class=\"note err\">Part of the list could not be read; "
		    "reload the page to try again.</p>\n",
		    fp);
	if (v->ndomains > 0)
		web_page_release(fp, v);
	fputs("<section class=\"card wide\">\n<h2>Held messages</h2>\n", fp);
	if (l->n == 0) {
		fprintf(fp, "<p class=\"empty\">%s</p>\n",
		    v->after != NULL || v->before != NULL
		        ? "No more messages."
		        : "No mail is held for your domains.");
	} else {
		fputs(
		    "<div class=\"scroll\"><table "
		    "class=\"heldmail\">\n<thead><tr>"
		    "<th>From</th><th>Subject</th><th>Domain</th><th>Size</th>"
		    "<th>Age</th><th>Returned</th><th></th></tr></"
		    "thead>\n<tbody>\n",
		    fp);
		for (i = 0; i < l->n; i++)
			web_page_held_row(fp, v, &l->rows[i], now);
		fputs("</tbody>\n</table></div>\n", fp);
	}
	fputs("<nav class=\"pages\">", fp);
	if (v->after != NULL || v->before != NULL)
		fputs("<a class=\"first\" href=\"/mail\">First page</a> ", fp);
	if (l->prev && l->n > 0)
		fprintf(fp,
		    "<a class=\"prev\" href=\"/mail?before=%s\">Previous "
		    "page</a> ",
		    l->rows[0].id);
	if (l->more && l->n > 0)
		fprintf(fp,
		    "<a class=\"next\" href=\"/mail?after=%s\">Next page</a>",
		    l->rows[l->n - 1].id);
	fputs("</nav>\n</section>\n", fp);
	return web_page_close(fp, &buf, len_r);
}
