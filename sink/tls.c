/* tls.c - OpenSSL server context for STARTTLS (see tls.h). */
#include "tls.h"

#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

struct tls_server {
    SSL_CTX *ctx;
};

struct tls_server *tls_server_new(const char *cert, const char *key, char *err, size_t errlen)
{
    struct tls_server *t = calloc(1, sizeof(*t));
    unsigned long e;

    if (t == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if ((t->ctx = SSL_CTX_new(TLS_server_method())) == NULL)
        goto fail;
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                     | SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(t->ctx, cert) != 1
        || SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1
        || SSL_CTX_check_private_key(t->ctx) != 1)
        goto fail;
    return t;

fail:
    e = ERR_get_error();
    snprintf(err, errlen, "TLS certificate %s / key %s: %s", cert, key,
             e ? ERR_reason_error_string(e) : "cannot create context");
    ERR_clear_error();
    tls_server_free(t);
    return NULL;
}

void tls_server_free(struct tls_server *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

void *tls_server_ctx(const struct tls_server *t) { return t->ctx; }
