/*
 * tls - OpenSSL 3 contexts for sluice's servers and clients
 *
 * Copyright (c) 2026 the sluice authors
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* lib/util */
#include "util/log.h"
#include "util/tls.h"
#include "util/xmalloc.h"

#define TLS_CERT_DAYS	3650

/* tls_err - a new "what: OpenSSL reason" text; clears the error queue */
static char *
tls_err(const char *what)
{
	char buf[256];
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, sizeof(buf), "%s", errno ? strerror(errno) :
		    "unknown error");
	else
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return xasprintf("%s: %s", what, buf);
}

/* tls_ctx_common - settings every context shares */
static SSL_CTX *
tls_ctx_common(const SSL_METHOD *method, char **err_r)
{
	SSL_CTX *ctx;

	ERR_clear_error();
	ctx = SSL_CTX_new(method);
	if (ctx == NULL) {
		*err_r = tls_err("create TLS context");
		return NULL;
	}
	/* TLS 1.2 is the floor (RFC 8996 retired 1.0 and 1.1). */
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		*err_r = tls_err("set minimum TLS version");
		SSL_CTX_free(ctx);
		return NULL;
	}
	/*
	 * No compression (CRIME), no renegotiation (a cheap way for a client
	 * to make us burn CPU), and a peer that drops TCP without close_notify
	 * is an end of stream, as SMTP has its own end of data.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	return ctx;
}

SSL_CTX *
tls_server_ctx_new(const char *cert_file, const char *key_file, char **err_r)
{
	static const unsigned char sid_ctx[] = "sluice";
	SSL_CTX *ctx = tls_ctx_common(TLS_server_method(), err_r);
	char *what;

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	(void)SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		what = xasprintf("load certificate %s", cert_file);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		what = xasprintf("load private key %s", key_file);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		what = xasprintf("check private key %s", key_file);
		goto fail;
	}
	return ctx;
fail:
	*err_r = tls_err(what);
	free(what);
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tls_client_ctx_new(bool verify, char **err_r)
{
	SSL_CTX *ctx = tls_ctx_common(TLS_client_method(), err_r);

	if (ctx == NULL)
		return NULL;
	if (verify) {
		if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
			*err_r = tls_err("load system trust store");
			SSL_CTX_free(ctx);
			return NULL;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

/* tls_name_text - a name on one line, RFC 2253 ("CN=mx.example,O=ISP") */
static void
tls_name_text(const X509_NAME *name, char *buf, size_t size)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n = 0;

	snprintf(buf, size, "?");
	/* UTF-8 is kept as it is; control characters are escaped. */
	if (b != NULL && X509_NAME_print_ex(b, name, 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0)
		n = BIO_get_mem_data(b, &p);
	if (n > 0)
		snprintf(buf, size, "%.*s", n > INT32_MAX ? INT32_MAX : (int)n, p);
	BIO_free(b);
}

void
tls_ctx_describe(SSL_CTX *ctx, char *buf, size_t size)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	char subject[256], serial[80] = "?", until[32] = "?";
	BIGNUM *bn;
	char *hex;
	struct tm tm;

	if (x == NULL) {
		snprintf(buf, size, "no certificate");
		return;
	}
	tls_name_text(X509_get_subject_name(x), subject, sizeof(subject));
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	if (bn != NULL && (hex = BN_bn2hex(bn)) != NULL) {
		snprintf(serial, sizeof(serial), "%s", hex);
		OPENSSL_free(hex);
	}
	BN_free(bn);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		(void)strftime(until, sizeof(until), "%Y-%m-%d %H:%M:%S UTC", &tm);
	ERR_clear_error();
	snprintf(buf, size, "subject %s, serial %s, notAfter %s", subject, serial,
	    until);
}

void
tls_ctx_free(SSL_CTX **ctxp)
{
	if (*ctxp != NULL)
		SSL_CTX_free(*ctxp);
	*ctxp = NULL;
}

/* tls_make_cert - a self-signed certificate for key, CN and DNS name cn */
static X509 *
tls_make_cert(EVP_PKEY *key, const char *cn)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	char *san;
	bool ok = false;

	if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1)
		goto out;
	/* A random positive serial, as RFC 5280 asks of a CA (we are our own). */
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto out;
	if (X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), TLS_CERT_DAYS, 0, NULL) == NULL)
		goto out;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, key) != 1)
		goto out;
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	san = xasprintf("DNS:%s", cn);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	free(san);
	if (ext == NULL)
		goto out;
	ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	if (ok)
		ok = X509_sign(x, key, EVP_sha256()) > 0;
out:
	BN_free(bn);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/*
 * tls_write_pem - write path via a temporary name: create 0600 exclusive,
 * write, fsync, rename. A reader never sees half a file.
 */
static int
tls_write_pem(const char *path, EVP_PKEY *key, X509 *cert, char **err_r)
{
	char *tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	FILE *fp = NULL;
	int fd, ok;

	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || (fp = fdopen(fd, "w")) == NULL) {
		*err_r = xasprintf("create %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			(void)close(fd);
		goto fail;
	}
	ERR_clear_error();
	ok = key != NULL ? PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL) :
	    PEM_write_X509(fp, cert);
	if (ok != 1) {
		*err_r = tls_err("write PEM");
		(void)fclose(fp);
		goto fail;
	}
	if (fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
		*err_r = xasprintf("write %s: %s", tmp, strerror(errno));
		(void)fclose(fp);
		goto fail;
	}
	if (fclose(fp) != 0) {
		*err_r = xasprintf("close %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (rename(tmp, path) != 0) {
		*err_r = xasprintf("rename %s: %s", tmp, strerror(errno));
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	(void)unlink(tmp);
	free(tmp);
	return -1;
}

/* tls_generate - a new key and certificate, key written first */
static int
tls_generate(const char *cert_path, const char *key_path, const char *cn,
    char **err_r)
{
	EVP_PKEY *key;
	X509 *cert = NULL;
	int ret = -1;

	ERR_clear_error();
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (key == NULL) {
		*err_r = tls_err("generate EC key");
		return -1;
	}
	cert = tls_make_cert(key, cn);
	if (cert == NULL) {
		*err_r = tls_err("make self-signed certificate");
		goto out;
	}
	/* The certificate goes last: its presence means the pair is whole. */
	if (tls_write_pem(key_path, key, NULL, err_r) < 0 ||
	    tls_write_pem(cert_path, NULL, cert, err_r) < 0)
		goto out;
	log_info("generated self-signed certificate %s for %s", cert_path, cn);
	ret = 0;
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	return ret;
}

int
tls_selfsigned_ensure(const char *dir, const char *name, const char *cn,
    char **cert_r, char **key_r, char **err_r)
{
	char *cert = xasprintf("%s/%s-cert.pem", dir, name);
	char *key = xasprintf("%s/%s-key.pem", dir, name);
	char *lock = xasprintf("%s/%s-tls.lock", dir, name);
	struct stat sb;
	int fd, ret = -1;

	/* Two processes starting at once must not each write half a pair. */
	fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		*err_r = xasprintf("open %s: %s", lock, strerror(errno));
		goto out;
	}
	if (flock(fd, LOCK_EX) < 0) {
		*err_r = xasprintf("lock %s: %s", lock, strerror(errno));
		goto out;
	}
	if (stat(cert, &sb) == 0 && stat(key, &sb) == 0)
		ret = 0;
	else
		ret = tls_generate(cert, key, cn, err_r);
out:
	if (fd >= 0)
		(void)close(fd);
	free(lock);
	if (ret == 0) {
		*cert_r = cert;
		*key_r = key;
	} else {
		free(cert);
		free(key);
	}
	return ret;
}
