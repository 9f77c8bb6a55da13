/* conn.c - plain or TLS non-blocking transport for agent sessions (see
 * conn.h). */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

void conn_tls_error(char *err, size_t errlen)
{
    unsigned long e = ERR_get_error();

    if (e == 0)
        snprintf(err, errlen, "TLS failure");
    else
        ERR_error_string_n(e, err, errlen);
    ERR_clear_error();
}

int tls_ctx_new(void **ctx, int verify, const char *cafile, char *err, size_t errlen)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());

    *ctx = NULL;
    if (c == NULL)
        goto fail;
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    if (verify) {
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
        if (cafile ? SSL_CTX_load_verify_locations(c, cafile, NULL) != 1
            : SSL_CTX_set_default_verify_paths(c) != 1)
            goto fail_ctx;
    } else {
        SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    }
    *ctx = c;
    return 0;

fail_ctx:
    SSL_CTX_free(c);
fail:
    conn_tls_error(err, errlen);
    return -EINVAL;
}

void tls_ctx_free(void *ctx) { SSL_CTX_free(ctx); }

void conn_init(struct conn *c, int fd)
{
    c->fd = fd;
    c->ssl = NULL;
    c->tls_want_write = 0;
}

int conn_tls_start(struct conn *c, void *ctx, const char *host, char *err, size_t errlen)
{
    SSL *ssl = SSL_new(ctx);
    unsigned char addr[16];
    int is_ip;

    if (ssl == NULL)
        goto fail;
    if (SSL_set_fd(ssl, c->fd) != 1)
        goto fail_ssl;
    if (host && *host) {
        is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
        if (!is_ip && SSL_set_tlsext_host_name(ssl, host) != 1)
            goto fail_ssl;
        if (SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER) {
            if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1
                : SSL_set1_host(ssl, host) != 1)
                goto fail_ssl;
        }
    }
    SSL_set_connect_state(ssl);
    c->ssl = ssl;
    return 0;

fail_ssl:
    SSL_free(ssl);
fail:
    conn_tls_error(err, errlen);
    return CONN_ETLS;
}

/* conn_tls_result - turn an SSL_* return into 0 (retry later) or an error. */
static int conn_tls_result(struct conn *c, int ret)
{
    int e = SSL_get_error(c->ssl, ret);

    c->tls_want_write = 0;
    switch (e) {
    case SSL_ERROR_WANT_READ:
        return -EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        c->tls_want_write = 1;
        return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0)
            return errno ? -errno : -ECONNRESET;
        return CONN_ETLS;
    default:
        return CONN_ETLS;
    }
}

int conn_tls_handshake(struct conn *c, char *err, size_t errlen)
{
    int ret, rc;
    long v;

    ERR_clear_error();
    errno = 0;
    ret = SSL_do_handshake(c->ssl);
    if (ret == 1) {
        c->tls_want_write = 0;
        return 1;
    }
    rc = conn_tls_result(c, ret);
    if (rc == -EAGAIN)
        return 0;
    if (rc == CONN_ETLS) {
        v = SSL_get_verify_result(c->ssl);
        if (v != X509_V_OK)
            snprintf(err, errlen, "certificate verification failed: %s",
                     X509_verify_cert_error_string(v));
        else
            conn_tls_error(err, errlen);
        ERR_clear_error();
        return CONN_ETLS;
    }
    snprintf(err, errlen, "TLS handshake: %s", rc ? strerror(-rc) : "connection closed");
    return rc ? rc : -ECONNRESET;
}

ssize_t conn_read(struct conn *c, char *buf, size_t len)
{
    ssize_t n;
    int ret, rc;

    if (c->ssl == NULL) {
        n = read(c->fd, buf, len);
        if (n < 0)
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        return n;
    }
    ERR_clear_error();
    errno = 0;
    ret = SSL_read(c->ssl, buf, len > 1u << 30 ? 1 << 30 : (int)len);
    if (ret > 0) {
        c->tls_want_write = 0;
        return ret;
    }
    rc = conn_tls_result(c, ret);
    return rc;
}

int conn_pending(const struct conn *c) { return c->ssl ? SSL_pending(c->ssl) : 0; }

ssize_t conn_writev(struct conn *c, const struct iovec *iov, int iovcnt)
{
    ssize_t n, total = 0;
    int i, ret, rc;

    struct msghdr mh = { 0 };

    if (c->ssl == NULL) {
        mh.msg_iov = (struct iovec *)iov;
        mh.msg_iovlen = (size_t)iovcnt;
        n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        return n;
    }
    for (i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len == 0)
            continue;
        ERR_clear_error();
        errno = 0;
        ret = SSL_write(c->ssl, iov[i].iov_base,
                        iov[i].iov_len > 1u << 30 ? 1 << 30 : (int)iov[i].iov_len);
        if (ret > 0) {
            c->tls_want_write = 0;
            total += ret;
            if ((size_t)ret < iov[i].iov_len)
                break;
            continue;
        }
        rc = conn_tls_result(c, ret);
        if (total > 0)
            break;
        return rc == 0 ? -ECONNRESET : rc;
    }
    return total;
}

void conn_close(struct conn *c)
{
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->tls_want_write = 0;
}
