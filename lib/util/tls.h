/*
 * tls - OpenSSL 3 contexts for sluice's servers and clients.
 *
 * Servers load a certificate and key from files, or, when none is
 * configured, use a self-signed pair generated once into a private
 * directory and reused after (tls_selfsigned_ensure). Every context
 * refuses anything older than TLS 1.2, compression and renegotiation.
 *
 * Errors are returned as text in a new string (*err_r) so the caller can
 * log them with its own context, or print them in a config check.
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#ifndef SLUICE_TLS_H
#define SLUICE_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

/*
 * tls_server_ctx_new - a server context with the certificate chain from
 * cert_file and the private key from key_file (PEM). NULL on failure,
 * with a new error text in *err_r.
 */
SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file,
    char **err_r);

/*
 * tls_client_ctx_new - a client context. With verify, the system trust
 * store is loaded and peers are verified (the caller still checks the
 * name); without, any certificate is accepted (opportunistic TLS).
 * NULL on failure with *err_r.
 */
SSL_CTX *tls_client_ctx_new(bool verify, char **err_r);

/*
 * tls_ctx_describe - the certificate ctx serves, for a log line, into
 * buf: "subject CN=mx.example, serial 0A1B..., notAfter 2027-01-31
 * 12:00:00 UTC" (the serial in hex as "openssl x509 -serial" prints it);
 * "no certificate" when it has none.
 */
void tls_ctx_describe(SSL_CTX *ctx, char *buf, size_t size);

/* tls_ctx_free - drop our reference to *ctxp and set it to NULL */
void tls_ctx_free(SSL_CTX **ctxp);

/*
 * tls_selfsigned_ensure - make sure dir/NAME-cert.pem and dir/NAME-key.pem
 * exist: if either is missing, generate an EC P-256 key and a self-signed
 * certificate for common name cn valid for 10 years, each written 0600 to
 * a temporary name, fsync'd and renamed, under an exclusive lock so that
 * two processes starting together agree on one pair. The paths go to
 * *cert_r and *key_r (new strings). 0, or -1 with *err_r.
 */
int tls_selfsigned_ensure(const char *dir, const char *name, const char *cn,
    char **cert_r, char **key_r, char **err_r);

#endif
