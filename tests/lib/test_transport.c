/* test_transport.c - lib/transport over a socketpair: plain reads and
 * writes (EAGAIN, EOF, a closed peer), and TLS between a client and a
 * server transport with a throwaway self-signed key made here. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "transport.h"

#define HANDSHAKE_ROUNDS 100    /* each round moves one flight; TLS 1.3 needs a few */

static void pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
}

static void test_transport_plain_writev_then_read(void **state)
{
    struct transport a, b;
    struct iovec iov[2] = { { "hello ", 6 }, { "world", 5 } };
    char buf[64];
    int sv[2];

    (void)state;
    pair(sv);
    transport_init(&a, sv[0]);
    transport_init(&b, sv[1]);
    assert_int_equal(transport_read(&b, buf, sizeof(buf)), -EAGAIN);
    assert_int_equal(transport_writev(&a, iov, 2), 11);
    assert_int_equal(transport_write(&a, "!", 1, 1), 1);
    assert_int_equal(transport_pending(&b), 0);
    assert_int_equal(transport_read(&b, buf, sizeof(buf)), 12);
    assert_memory_equal(buf, "hello world!", 12);
    assert_int_equal(transport_read(&b, buf, sizeof(buf)), -EAGAIN);
    transport_close(&a);
    assert_int_equal(a.fd, -1);
    assert_int_equal(transport_read(&b, buf, sizeof(buf)), 0);      /* EOF */
    transport_close(&b);
    transport_close(&b);                                            /* harmless twice */
}

static void test_transport_plain_full_socket_is_eagain(void **state)
{
    struct transport a, b;
    static char big[64 * 1024];
    ssize_t n = 0;
    int sv[2], i;

    (void)state;
    pair(sv);
    transport_init(&a, sv[0]);
    transport_init(&b, sv[1]);
    for (i = 0; i < 1000 && (n = transport_write(&a, big, sizeof(big), 0)) > 0; i++)
        ;
    assert_int_equal(n, -EAGAIN);
    transport_close(&b);
    assert_int_equal(transport_write(&a, big, 1, 0), -EPIPE);      /* no SIGPIPE */
    transport_close(&a);
}

/* server_ctx - a server SSL_CTX with a fresh P-256 key and a self-signed
 * certificate for CN=localhost; the caller frees it. */
static SSL_CTX *server_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *name;

    assert_non_null(ctx);
    assert_non_null(key);
    assert_non_null(x);
    assert_int_equal(X509_set_version(x, 2), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
    assert_int_equal(X509_set_pubkey(x, key), 1);
    name = X509_get_subject_name(x);
    assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                                (const unsigned char *)"localhost", -1, -1, 0), 1);
    assert_int_equal(X509_set_issuer_name(x, name), 1);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    X509_free(x);
    EVP_PKEY_free(key);
    return ctx;
}

/* A client and a server transport over a socketpair, with their contexts. */
struct tls_pair {
    SSL_CTX *sctx;
    void *cctx;
    struct transport c, s;
    int crc, src;               /* the last handshake results */
    char err[256];
};

/* tls_pair_handshake - connect p's ends (the client verifying or not) and
 * drive both until each is done or one fails. */
static void tls_pair_handshake(struct tls_pair *p, int verify)
{
    int sv[2], i;

    memset(p, 0, sizeof(*p));
    p->sctx = server_ctx();
    assert_int_equal(transport_client_ctx_new(&p->cctx, verify, NULL, p->err, sizeof(p->err)), 0);
    pair(sv);
    transport_init(&p->c, sv[0]);
    transport_init(&p->s, sv[1]);
    assert_int_equal(transport_tls_connect(&p->c, p->cctx, "localhost", p->err, sizeof(p->err)), 0);
    assert_int_equal(transport_tls_accept(&p->s, p->sctx, p->err, sizeof(p->err)), 0);
    for (i = 0; i < HANDSHAKE_ROUNDS && (p->crc == 0 || p->src == 0) && p->crc >= 0 && p->src >= 0;
         i++) {
        if (p->crc == 0)
            p->crc = transport_tls_handshake(&p->c, p->err, sizeof(p->err));
        if (p->src == 0 && p->crc >= 0)
            p->src = transport_tls_handshake(&p->s, p->err, sizeof(p->err));
    }
}

static void tls_pair_free(struct tls_pair *p)
{
    transport_close(&p->c);
    transport_close(&p->s);
    transport_ctx_free(p->cctx);
    SSL_CTX_free(p->sctx);
}

static void test_transport_tls_handshake_and_records(void **state)
{
    struct tls_pair p;
    struct iovec iov[2] = { { "EHLO ", 5 }, { "client\r\n", 8 } };
    char buf[256];

    (void)state;
    tls_pair_handshake(&p, 0);
    assert_int_equal(p.crc, 1);
    assert_int_equal(p.src, 1);

    assert_int_equal(transport_read(&p.s, buf, sizeof(buf)), -EAGAIN);
    assert_int_equal(transport_writev(&p.c, iov, 2), 13);
    /* one TLS record per iovec, one record per read */
    assert_int_equal(transport_read(&p.s, buf, sizeof(buf)), 5);
    assert_int_equal(transport_read(&p.s, buf + 5, sizeof(buf) - 5), 8);
    assert_memory_equal(buf, "EHLO client\r\n", 13);
    /* one record of 100 octets, read 10 at a time: the rest is pending */
    memset(buf, 'x', 100);
    assert_int_equal(transport_write(&p.s, buf, 100, 1), 100);
    assert_int_equal(transport_read(&p.c, buf, 10), 10);
    assert_int_equal(transport_pending(&p.c), 90);
    assert_int_equal(transport_read(&p.c, buf, sizeof(buf)), 90);
    assert_int_equal(transport_pending(&p.c), 0);
    assert_int_equal(transport_read(&p.c, buf, sizeof(buf)), -EAGAIN);

    transport_close(&p.s);          /* no close_notify: the client sees a failure */
    assert_true(transport_read(&p.c, buf, sizeof(buf)) < 0);
    tls_pair_free(&p);
}

/* resume_round - one connection of cctx to sctx, offering r: handshake,
 * the server's first reply read (TLS 1.3's tickets come with it), closed.
 * Returns whether the client's and the server's handshakes resumed, as
 * two bits. */
static int resume_round(void *cctx, SSL_CTX *sctx, struct transport_resume *r)
{
    struct transport c, s;
    char err[256], buf[64];
    int sv[2], crc = 0, src = 0, i, resumed;

    pair(sv);
    transport_init(&c, sv[0]);
    transport_init(&s, sv[1]);
    assert_int_equal(transport_tls_connect(&c, cctx, "localhost", err, sizeof(err)), 0);
    assert_int_equal(transport_tls_offer(&c, r, err, sizeof(err)), 0);
    assert_int_equal(transport_tls_accept(&s, sctx, err, sizeof(err)), 0);
    for (i = 0; i < HANDSHAKE_ROUNDS && (crc == 0 || src == 0); i++) {
        if (crc == 0)
            crc = transport_tls_handshake(&c, err, sizeof(err));
        if (src == 0)
            src = transport_tls_handshake(&s, err, sizeof(err));
    }
    assert_int_equal(crc, 1);
    assert_int_equal(src, 1);
    assert_int_equal(transport_write(&s, "250 ok\r\n", 8, 0), 8);
    for (i = 0; i < HANDSHAKE_ROUNDS && transport_read(&c, buf, sizeof(buf)) == -EAGAIN; i++)
        ;
    resumed = transport_tls_resumed(&c) | transport_tls_resumed(&s) << 1;
    transport_close(&c);
    transport_close(&s);
    return resumed;
}

/* --tls-resume: the first connection keeps the server's ticket, the next
 * ones offer it and both sides resume; a client not offering it does a
 * full handshake; a connection closed without close_notify (as every
 * SMTP session ends) leaves the session good. */
static void test_transport_tls_resume_offers_the_last_ticket(void **state)
{
    struct transport_resume r = { 0 }, none = { 0 };
    SSL_CTX *sctx = server_ctx();
    void *cctx;
    char err[256];

    (void)state;
    assert_int_equal(transport_client_ctx_new(&cctx, 0, NULL, err, sizeof(err)), 0);
    assert_int_equal(transport_client_ctx_resume(cctx, err, sizeof(err)), 0);
    assert_int_equal(resume_round(cctx, sctx, &r), 0);
    assert_non_null(r.session);
    assert_int_equal(resume_round(cctx, sctx, &r), 3);
    assert_int_equal(resume_round(cctx, sctx, &r), 3);
    assert_int_equal(resume_round(cctx, sctx, &none), 0);
    transport_resume_free(&r);
    transport_resume_free(&none);
    assert_null(r.session);
    transport_ctx_free(cctx);
    SSL_CTX_free(sctx);
}

static void test_transport_tls_verify_rejects_self_signed(void **state)
{
    struct tls_pair p;

    (void)state;
    tls_pair_handshake(&p, 1);
    assert_int_equal(p.crc, TRANSPORT_ETLS);
    assert_non_null(strstr(p.err, "certificate verification failed"));
    tls_pair_free(&p);
}

static void test_transport_tls_garbage_fails_handshake(void **state)
{
    void *cctx;
    struct transport c;
    char err[256] = "", buf[4096];
    int sv[2], rc, i;

    (void)state;
    assert_int_equal(transport_client_ctx_new(&cctx, 0, NULL, err, sizeof(err)), 0);
    pair(sv);
    transport_init(&c, sv[0]);
    assert_int_equal(transport_tls_connect(&c, cctx, NULL, err, sizeof(err)), 0);
    assert_int_equal(transport_tls_handshake(&c, err, sizeof(err)), 0);    /* ClientHello sent */
    assert_true(read(sv[1], buf, sizeof(buf)) > 0);
    assert_int_equal(write(sv[1], "220 not TLS at all\r\n", 20), 20);
    for (i = 0; i < HANDSHAKE_ROUNDS && (rc = transport_tls_handshake(&c, err, sizeof(err))) == 0; i++)
        ;
    assert_int_equal(rc, TRANSPORT_ETLS);
    assert_true(err[0] != '\0');
    transport_close(&c);
    close(sv[1]);
    transport_ctx_free(cctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transport_plain_writev_then_read),
        cmocka_unit_test(test_transport_plain_full_socket_is_eagain),
        cmocka_unit_test(test_transport_tls_handshake_and_records),
        cmocka_unit_test(test_transport_tls_verify_rejects_self_signed),
        cmocka_unit_test(test_transport_tls_resume_offers_the_last_ticket),
        cmocka_unit_test(test_transport_tls_garbage_fails_handshake),
    };

    /* OpenSSL's socket BIO writes (an alert, say) with write(), not
     * send(MSG_NOSIGNAL): the programs ignore SIGPIPE, so does this test. */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
