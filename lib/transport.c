/* transport.c - plain or TLS non-blocking transport for the agent's
 * sessions and the sink's connections (see transport.h). */
#include "transport.h"
#include "rawio.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

void transport_tls_error(char *err, size_t errlen)
{
    unsigned long e = ERR_get_error();

    if (e == 0)
        snprintf(err, errlen, "TLS failure");
    else
        ERR_error_string_n(e, err, errlen);
    ERR_clear_error();
}

int transport_client_ctx_new(void **ctx, int verify, const char *cafile, char *err, size_t errlen)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());

    *ctx = NULL;
    if (c == NULL)
        goto fail;
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                        | SSL_MODE_RELEASE_BUFFERS);  /* an idle session holds no record buffers (as the sink) */
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
    transport_tls_error(err, errlen);
    return -EINVAL;
}

void transport_ctx_free(void *ctx) { SSL_CTX_free(ctx); }

void transport_init(struct transport *t, int fd)
{
    t->fd = fd;
    t->ssl = NULL;
    t->tls_want_write = 0;
}

/* transport_tls_new - an SSL object from ctx on t's socket; NULL on error
 * (with the error in OpenSSL's queue). The caller owns it (SSL_free). */
static SSL *transport_tls_new(struct transport *t, void *ctx)
{
    SSL *ssl;

    assert(t->fd >= 0 && t->ssl == NULL && ctx != NULL);   /* open, TLS not begun */
    if ((ssl = SSL_new(ctx)) == NULL)
        return NULL;
    if (SSL_set_fd(ssl, t->fd) != 1) {
        SSL_free(ssl);
        return NULL;
    }
    return ssl;
}

int transport_tls_accept(struct transport *t, void *ctx, char *err, size_t errlen)
{
    SSL *ssl = transport_tls_new(t, ctx);

    if (ssl == NULL) {
        transport_tls_error(err, errlen);
        return TRANSPORT_ETLS;
    }
    SSL_set_accept_state(ssl);
    t->ssl = ssl;
    return 0;
}

int transport_tls_connect(struct transport *t, void *ctx, const char *host, char *err, size_t errlen)
{
    SSL *ssl = transport_tls_new(t, ctx);
    unsigned char addr[16];
    int is_ip;

    if (ssl == NULL)
        goto fail;
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
    t->ssl = ssl;
    return 0;

fail_ssl:
    SSL_free(ssl);
fail:
    transport_tls_error(err, errlen);
    return TRANSPORT_ETLS;
}

/* The SSL ex_data slot that holds a connection's transport_resume. */
static int resume_index = -1;
static pthread_once_t resume_once = PTHREAD_ONCE_INIT;

static void resume_index_new(void)
{
    resume_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* resume_on_session - OpenSSL's new-session callback: the server gave a
 * session (in TLS 1.3 a ticket after the handshake): keep the latest in
 * the connection's transport_resume. Returns 1: we own sess. */
static int resume_on_session(SSL *ssl, SSL_SESSION *sess)
{
    struct transport_resume *r = resume_index >= 0 ? SSL_get_ex_data(ssl, resume_index) : NULL;

    if (r == NULL || !SSL_SESSION_is_resumable(sess))
        return 0;
    SSL_SESSION_free(r->session);
    r->session = sess;
    return 1;
}

int transport_client_ctx_resume(void *ctx, char *err, size_t errlen)
{
    if (pthread_once(&resume_once, resume_index_new) != 0 || resume_index < 0) {
        snprintf(err, errlen, "no TLS session slot");
        return TRANSPORT_ETLS;
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, resume_on_session);
    return 0;
}

int transport_tls_offer(struct transport *t, struct transport_resume *r, char *err, size_t errlen)
{
    assert(t->ssl != NULL && resume_index >= 0);
    if (SSL_set_ex_data(t->ssl, resume_index, r) != 1
        || (r->session != NULL && SSL_set_session(t->ssl, r->session) != 1)) {
        transport_tls_error(err, errlen);
        return TRANSPORT_ETLS;
    }
    return 0;
}

int transport_tls_resumed(const struct transport *t)
{
    return t->ssl != NULL && SSL_session_reused(t->ssl);
}

void transport_resume_free(struct transport_resume *r)
{
    SSL_SESSION_free(r->session);
    r->session = NULL;
}

/* transport_tls_result - turn an SSL_* return into -EAGAIN (retry when
 * the socket is ready; tls_want_write says for what), 0 (the peer's
 * close_notify) or an error. */
static int transport_tls_result(struct transport *t, int ret)
{
    int e = SSL_get_error(t->ssl, ret);

    t->tls_want_write = 0;
    switch (e) {
    case SSL_ERROR_WANT_READ:
        return -EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        t->tls_want_write = 1;
        return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0)
            return errno ? -errno : -ECONNRESET;
        return TRANSPORT_ETLS;
    default:
        return TRANSPORT_ETLS;
    }
}

int transport_tls_handshake(struct transport *t, char *err, size_t errlen)
{
    int ret, rc;
    long v;

    assert(t->ssl != NULL);         /* transport_tls_connect or _accept first */
    ERR_clear_error();
    errno = 0;
    ret = SSL_do_handshake(t->ssl);
    if (ret == 1) {
        t->tls_want_write = 0;
        return 1;
    }
    rc = transport_tls_result(t, ret);
    if (rc == -EAGAIN)
        return 0;
    if (rc == TRANSPORT_ETLS) {
        v = SSL_get_verify_result(t->ssl);
        if (v != X509_V_OK)
            snprintf(err, errlen, "certificate verification failed: %s",
                     X509_verify_cert_error_string(v));
        else
            transport_tls_error(err, errlen);
        ERR_clear_error();
        return TRANSPORT_ETLS;
    }
    snprintf(err, errlen, "TLS handshake: %s", rc ? strerror(-rc) : "connection closed");
    return rc ? rc : -ECONNRESET;
}

ssize_t transport_read(struct transport *t, char *buf, size_t len)
{
    ssize_t n;
    int ret;

    assert(t->fd >= 0);
    if (t->ssl == NULL) {
        do
            n = rawio_read(t->fd, buf, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        return n;
    }
    ERR_clear_error();
    errno = 0;
    ret = SSL_read(t->ssl, buf, len > 1u << 30 ? 1 << 30 : (int)len);
    if (ret > 0) {
        t->tls_want_write = 0;
        return ret;
    }
    return transport_tls_result(t, ret);
}

int transport_pending(const struct transport *t) { return t->ssl ? SSL_pending(t->ssl) : 0; }

/* transport_send - transport_writev with sendmsg flags for a plain socket. */
static ssize_t transport_send(struct transport *t, const struct iovec *iov, int iovcnt, int flags)
{
    struct msghdr mh = { 0 };
    ssize_t n, total = 0;
    int i, ret, rc;

    assert(t->fd >= 0 && iovcnt >= 0);
    if (t->ssl == NULL) {
        mh.msg_iov = (struct iovec *)iov;
        mh.msg_iovlen = (size_t)iovcnt;
        do          /* one buffer by send(2), as the sink always sent its replies */
            n = iovcnt == 1 ? rawio_send(t->fd, iov->iov_base, iov->iov_len, MSG_NOSIGNAL | flags)
                            : rawio_sendmsg(t->fd, &mh, MSG_NOSIGNAL | flags);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        return n;
    }
    for (i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len == 0)
            continue;
        ERR_clear_error();
        errno = 0;
        ret = SSL_write(t->ssl, iov[i].iov_base,
                        iov[i].iov_len > 1u << 30 ? 1 << 30 : (int)iov[i].iov_len);
        if (ret > 0) {
            t->tls_want_write = 0;
            total += ret;
            if ((size_t)ret < iov[i].iov_len)
                break;
            continue;
        }
        rc = transport_tls_result(t, ret);
        if (total > 0)
            break;
        return rc == 0 ? -ECONNRESET : rc;
    }
    return total;
}

ssize_t transport_writev(struct transport *t, const struct iovec *iov, int iovcnt)
{
    return transport_send(t, iov, iovcnt, 0);
}

ssize_t transport_write(struct transport *t, const void *buf, size_t len, int more)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

    return transport_send(t, &iov, 1, more ? MSG_MORE : 0);
}

void transport_close(struct transport *t)
{
    if (t->ssl) {
        /* No close_notify (the SMTP dialogue ends the session), but a
         * finished handshake's session stays good to resume: OpenSSL
         * marks a session not resumable when its SSL is freed neither
         * shut down nor in a handshake. */
        if (SSL_is_init_finished(t->ssl))
            SSL_set_shutdown(t->ssl, SSL_SENT_SHUTDOWN);
        SSL_free(t->ssl);
        t->ssl = NULL;
    }
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
    t->tls_want_write = 0;
}
