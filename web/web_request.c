/*
 * web_request - checks on a request's head before any page sees it:
 * framing that two HTTP parsers could read differently (request
 * smuggling, RFC 9112 6.1) and the Host it was meant for (web_hostnames).
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <microhttpd.h>

/* lib/util */
#include "util/log.h"
/* lib/mail */
#include "mail/conf.h"
/* web */
#include "web/web.h"

#define WEB_HOST_MAX	255

/* web_host_name - the host part of a Host value (no port, no brackets, no
 * final dot) into buf; false if it does not fit */
static bool
web_host_name(const char *host, char *buf, size_t size)
{
	const char *end;
	size_t n;

	if (*host == '[') {
		host++;
		end = strchr(host, ']');
		if (end == NULL)
			return false;
	} else {
		end = strchr(host, ':');
		if (end == NULL)
			end = host + strlen(host);
	}
	n = (size_t)(end - host);
	if (n > 0 && host[n - 1] == '.')
		n--;
	if (n == 0 || n >= size)
		return false;
	memcpy(buf, host, n);
	buf[n] = '\0';
	return true;
}

/* web_host_listed - is name in the web_hostnames list (any case)? */
static bool
web_host_listed(const char *list, const char *name)
{
	size_t nl = strlen(name);

	while (*list != '\0') {
		size_t wl;

		list += strspn(list, " \t,");
		wl = strcspn(list, " \t,");
		if (wl > 0 && list[wl - 1] == '.')
			wl--;	/* "mx.example." names mx.example */
		if (wl == nl && strncasecmp(list, name, nl) == 0)
			return true;
		list += strcspn(list, " \t,");
	}
	return false;
}

/* web_host_is_local - is name the address literal the connection came to? */
static bool
web_host_is_local(struct MHD_Connection *conn, const char *name)
{
	struct sockaddr_storage ss;
	socklen_t len;
	unsigned char want[16], *got;
	size_t glen;

	/* Under HTTPS libmicrohttpd's socket is a socketpair: ask web_server. */
	if (!web_conn_local(conn, &ss, &len))
		return false;
	if (ss.ss_family == AF_INET) {
		got = (unsigned char *)&((struct sockaddr_in *)&ss)->sin_addr;
		glen = 4;
	} else if (ss.ss_family == AF_INET6) {
		got = ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr;
		glen = 16;
		/* An IPv4 client of a dual-stack socket names the IPv4 address. */
		if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)got)) {
			got += 12;
			glen = 4;
		}
	} else
		return false;
	if (glen == 4)
		return inet_pton(AF_INET, name, want) == 1 && memcmp(want, got, 4) == 0;
	return inet_pton(AF_INET6, name, want) == 1 && memcmp(want, got, 16) == 0;
}

/* web_refuse - answer status with a short page and close the connection */
static int
web_refuse(struct web *w, struct MHD_Connection *conn, unsigned int status,
    const char *text)
{
	struct web_reply r = { .status = status, .close = true };

	r.body = web_page_notice(w->cfg->web_title, "Bad request", text, false,
	    &r.len);
	return web_reply_send(w, conn, &r);
}

bool
web_request_refused(struct web *w, struct MHD_Connection *conn,
    const char *version, const char *client, int *ret_r)
{
	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_HOST);
	char name[WEB_HOST_MAX + 1];

	/*
	 * RFC 9112 6.1: a message with both may be a smuggling attempt,
	 * since a proxy in front may have used the other one to find its
	 * end; the server "ought to" close the connection after answering.
	 */
	if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL &&
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH) != NULL) {
		log_warn("refuse request: client=%s: both Transfer-Encoding and "
		    "Content-Length", client);
		*ret_r = web_refuse(w, conn, 400,
		    "Transfer-Encoding and Content-Length together.");
		return true;
	}
	/*
	 * RFC 9112 3.2: HTTP/1.1 without Host is a 400. HTTP/1.0 may lack
	 * it: a client that sends none names no other site, and the
	 * browsers a DNS rebinding attack needs always send one.
	 */
	if (host == NULL) {
		if (strcmp(version, MHD_HTTP_VERSION_1_0) == 0)
			return false;
		log_warn("refuse request: client=%s: no Host header", client);
		*ret_r = web_refuse(w, conn, 400, "The request names no Host.");
		return true;
	}
	/*
	 * Only the names of web_hostnames, or the address the client came
	 * to: a page reached under any other name was not meant for us
	 * (DNS rebinding: another site's script talking to this page).
	 */
	if (web_host_name(host, name, sizeof(name)) &&
	    (web_host_listed(w->cfg->web_hostnames, name) ||
	    web_host_is_local(conn, name)))
		return false;
	log_warn("refuse request: client=%s: Host \"%.100s\" is not served here "
	    "(web_hostnames)", client, host);
	*ret_r = web_refuse(w, conn, 421, "This site is not served here.");
	return true;
}
