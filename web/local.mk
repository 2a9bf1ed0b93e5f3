# web: the login page that holds a site's gate open (web(8sluice)), on
# libmicrohttpd. Everything but main() is a convenience library.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
pkglibexec_PROGRAMS += web/web
noinst_LIBRARIES += web/libweb.a
web_libweb_a_CPPFLAGS = $(AM_CPPFLAGS) $(MHD_CFLAGS) $(OPENSSL_CFLAGS)
web_libweb_a_SOURCES = web/web.h \
	web/web_server.c web/web_handler.c web/web_session.c \
	web/web_page.c web/web_gate.c web/web_request.c web/web_tls.c
web_web_CPPFLAGS = $(AM_CPPFLAGS) $(MHD_CFLAGS) $(OPENSSL_CFLAGS)
web_web_SOURCES = web/web.c
web_web_LDADD = web/libweb.a $(SLUICE_LIBS) $(MHD_LIBS)
dist_man_MANS += man/web.8sluice
# Integration tests: curl and headless Chromium against a real sluice.
WEB_TESTS = t/61-web.t t/62-web-tls.t t/19-web-service.t
TESTS += $(WEB_TESTS)
EXTRA_DIST += $(WEB_TESTS) t/lib/WebTest.pm
# The finished signal on the page (issue 9).
TESTS += t/47-web-finished.t
EXTRA_DIST += t/47-web-finished.t
# HTTPS in our own OpenSSL code, certificate reload (issue 10).
TESTS += t/48-web-tls-openssl.t
EXTRA_DIST += t/48-web-tls-openssl.t
# The customer's list of held mail and its actions (issue 11).
web_libweb_a_SOURCES += web/web_held.c web/web_page_held.c
TESTS += t/61-web-held.t
EXTRA_DIST += t/61-web-held.t
