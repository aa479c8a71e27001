#include "tlsget.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

static int fail(char *out, int outlen, const char *what) {
    unsigned long err = ERR_get_error();
    snprintf(out, outlen, "%s: %s", what, err ? ERR_reason_error_string(err) : "no OpenSSL error");
    return 1;
}

int tls_get(const char *host, int port, const char *ca_file, char *out, int outlen, char *info, int infolen) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) return fail(out, outlen, "SSL_CTX_new");
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) return fail(out, outlen, "load CA");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    BIO *bio = BIO_new_ssl_connect(ctx);
    SSL *ssl = NULL;
    BIO_get_ssl(bio, &ssl);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
    char target[300];
    snprintf(target, sizeof target, "%s:%d", host, port);
    BIO_set_conn_hostname(bio, target);
    if (BIO_do_handshake(bio) <= 0) return fail(out, outlen, "handshake");
    if (SSL_get_verify_result(ssl) != X509_V_OK) return fail(out, outlen, "certificate");
    char request[400];
    int n = snprintf(request, sizeof request, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", host);
    if (BIO_write(bio, request, n) != n) return fail(out, outlen, "write");
    int total = 0, got;
    while (total < outlen - 1 && (got = BIO_read(bio, out + total, outlen - 1 - total)) > 0) total += got;
    out[total] = 0;
    snprintf(info, infolen, "%s %s, %s, zlib %s", SSL_get_version(ssl), SSL_get_cipher(ssl),
             OpenSSL_version(OPENSSL_VERSION), zlibVersion());
    BIO_free_all(bio);
    SSL_CTX_free(ctx);
    return 0;
}
