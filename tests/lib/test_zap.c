/* test_zap.c - lib/zap and zlink's CURVE in one process: a CURVE ROUTER
 * behind the ZAP handler hears an authorized DEALER and never one whose key
 * is not in the ring, nor a plaintext one; no keys beyond loopback is
 * refused before anything is bound. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "ev.h"
#include "keys.h"
#include "zap.h"
#include "zlink.h"

struct heard {
    int from_good, from_other;
};

static void on_router(struct zlink *z, const uint8_t *peer, size_t peerlen, const uint8_t *data,
                      size_t len, void *arg)
{
    struct heard *h = arg;

    (void)z;
    (void)peer;
    (void)peerlen;
    if (len == 4 && memcmp(data, "good", 4) == 0)
        h->from_good++;
    else
        h->from_other++;
}

static void on_dealer(struct zlink *z, const uint8_t *peer, size_t peerlen, const uint8_t *data,
                      size_t len, void *arg)
{
    (void)z, (void)peer, (void)peerlen, (void)data, (void)len, (void)arg;
}

static void test_zap_admits_the_ring_only(void **state)
{
    struct keys_secret server, good, bad;
    static uint8_t keys[1][KEYS_BYTES];
    static char names[1][KEYS_NAME_MAX] = { "good" };
    struct keys_ring ring = { 0 };
    struct heard h = { 0 };
    struct ev_loop *loop = ev_loop_new();
    void *ctx = zmq_ctx_new();
    struct zlink_opts ro = { .type = ZLINK_ROUTER, .endpoint = "tcp://127.0.0.1:*", .bind = 1,
                             .curve_key = &server };
    struct zlink_opts dgood = { .type = ZLINK_DEALER, .curve_key = &good,
                                .curve_server_key = server.public_key };
    struct zlink_opts dbad = dgood, dplain = { .type = ZLINK_DEALER };
    struct zlink *router, *d1, *d2, *d3;
    struct zap *zap;
    char err[512];
    uint64_t until;
    int i;

    (void)state;
    assert_non_null(loop);
    assert_non_null(ctx);
    assert_int_equal(keys_generate(&server), 0);
    assert_int_equal(keys_generate(&good), 0);
    assert_int_equal(keys_generate(&bad), 0);
    dbad.curve_key = &bad;
    memcpy(keys[0], good.public_key, KEYS_BYTES);
    ring.keys = keys;
    ring.names = names;
    ring.n = 1;
    zap = zap_open(ctx, loop, &ring, err, sizeof(err));
    assert_non_null(zap);
    router = zlink_open(ctx, loop, &ro, on_router, &h, err, sizeof(err));
    assert_non_null(router);
    dgood.endpoint = dbad.endpoint = dplain.endpoint = zlink_endpoint(router);
    d1 = zlink_open(ctx, loop, &dgood, on_dealer, NULL, err, sizeof(err));
    d2 = zlink_open(ctx, loop, &dbad, on_dealer, NULL, err, sizeof(err));
    d3 = zlink_open(ctx, loop, &dplain, on_dealer, NULL, err, sizeof(err));
    assert_non_null(d1);
    assert_non_null(d2);
    assert_non_null(d3);
    for (i = 0; i < 5; i++) {
        assert_int_equal(zlink_send(d1, NULL, 0, "good", 4), 0);
        assert_int_equal(zlink_send(d2, NULL, 0, "bad!", 4), 0);
        assert_int_equal(zlink_send(d3, NULL, 0, "plain", 5), 0);
    }
    until = clock_mono_ns() + 3 * NS_PER_SEC;
    while (clock_mono_ns() < until && (h.from_good < 5 || zap_refused_keys(zap) < 1))
        assert_int_equal(ev_run_once(loop, 50), 0);
    /* Give a wrongly admitted peer time to show up. */
    until = clock_mono_ns() + 300 * NS_PER_MS;
    while (clock_mono_ns() < until)
        assert_int_equal(ev_run_once(loop, 50), 0);
    assert_int_equal(h.from_good, 5);
    assert_int_equal(h.from_other, 0);
    assert_int_equal(zap_refused_keys(zap), 1);
    assert_true(zap_refused(zap) >= 1);
    assert_true(zap_admitted(zap) >= 1);
    zlink_close(d1);
    zlink_close(d2);
    zlink_close(d3);
    zlink_close(router);
    zap_close(zap);
    assert_int_equal(zmq_ctx_term(ctx), 0);
    ev_loop_free(loop);
}

static void test_zlink_without_keys_refuses_beyond_loopback(void **state)
{
    struct ev_loop *loop = ev_loop_new();
    void *ctx = zmq_ctx_new();
    struct zlink_opts o = { .type = ZLINK_ROUTER, .endpoint = "tcp://198.18.0.1:7400", .bind = 1 };
    struct keys_secret k;
    char err[512] = "";

    (void)state;
    assert_null(zlink_open(ctx, loop, &o, on_dealer, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "not a loopback address"));
    assert_non_null(strstr(err, "--insecure"));
    o.type = ZLINK_DEALER;
    o.bind = 0;
    assert_null(zlink_open(ctx, loop, &o, on_dealer, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "refusing to connect to tcp://198.18.0.1:7400"));
    /* A client key without the server's key makes no sense. */
    assert_int_equal(keys_generate(&k), 0);
    o.curve_key = &k;
    assert_null(zlink_open(ctx, loop, &o, on_dealer, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "server's public key"));
    /* --insecure: the policy lets it through to the real bind, which fails here. */
    o.curve_key = NULL;
    o.type = ZLINK_ROUTER;
    o.bind = 1;
    o.insecure = 1;
    assert_null(zlink_open(ctx, loop, &o, on_dealer, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot bind tcp://198.18.0.1:7400"));
    assert_int_equal(zmq_ctx_term(ctx), 0);
    ev_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zap_admits_the_ring_only),
        cmocka_unit_test(test_zlink_without_keys_refuses_beyond_loopback),
    };

    if (!keys_available()) {
        fprintf(stderr, "skip: libzmq without CURVE\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
