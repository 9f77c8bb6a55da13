/* test_registry.c - the coordinator's registry of peers: lookups by
 * routing id agree with a plain list through hellos, reconnections (a
 * known id on a new route) and routes taken over by another id, at the
 * scale of thousands of peers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "registry.h"

#define PEERS 5000

/* A route as libzmq makes them: a zero octet and a 32-bit counter. */
static size_t make_route(uint8_t *route, uint32_t n)
{
    route[0] = 0;
    memcpy(route + 1, &n, sizeof(n));
    return 1 + sizeof(n);
}

static struct peer *hello(struct registry *r, struct zlink *z, uint32_t route_n, const char *id)
{
    Smtpstorm__Hello h = SMTPSTORM__HELLO__INIT;
    uint8_t route[8];
    size_t len = make_route(route, route_n);

    h.id = (char *)id;
    h.role = SMTPSTORM__ROLE__ROLE_AGENT;
    return registry_hello(r, z, route, len, &h, 1);
}

static struct peer *by_route(const struct registry *r, struct zlink *z, uint32_t route_n)
{
    uint8_t route[8];
    size_t len = make_route(route, route_n);

    return registry_by_route(r, z, route, len);
}

/* The plain answer: scan every peer. */
static struct peer *scan(const struct registry *r, struct zlink *z, uint32_t route_n)
{
    uint8_t route[8];
    size_t len = make_route(route, route_n), i;

    for (i = 0; i < r->n; i++)
        if (r->peers[i]->z == z && r->peers[i]->route_len == len && memcmp(r->peers[i]->route, route, len) == 0)
            return r->peers[i];
    return NULL;
}

static void test_registry_finds_thousands_of_peers_by_route(void **state)
{
    struct registry r;
    struct zlink *ctl = (struct zlink *)&r, *snk = (struct zlink *)&state;    /* two distinct keys */
    char id[32];
    uint32_t i;

    (void)state;
    registry_init(&r, 3000);
    for (i = 0; i < PEERS; i++) {
        snprintf(id, sizeof(id), "a-%u", i);
        assert_non_null(hello(&r, ctl, i + 1, id));
    }
    assert_int_equal(r.n, PEERS);
    for (i = 0; i < PEERS; i++) {
        struct peer *p = by_route(&r, ctl, i + 1);

        snprintf(id, sizeof(id), "a-%u", i);
        assert_non_null(p);
        assert_string_equal(p->id, id);
    }
    assert_null(by_route(&r, ctl, PEERS + 1));
    assert_null(by_route(&r, snk, 1));          /* the same routing id on the other socket */
    registry_free(&r);
}

static void test_registry_reconnect_and_takeover_keep_one_owner_per_route(void **state)
{
    struct registry r;
    struct zlink *ctl = (struct zlink *)&r;
    char id[32];
    uint32_t i, k, route_of[300], next_route = 1;
    unsigned seed = 7;

    (void)state;
    registry_init(&r, 3000);
    for (i = 0; i < 300; i++) {
        snprintf(id, sizeof(id), "a-%u", i);
        route_of[i] = next_route++;
        assert_non_null(hello(&r, ctl, route_of[i], id));
    }
    /* reconnections to new routes, and hellos on another peer's route */
    for (k = 0; k < 20000; k++) {
        seed = seed * 1103515245u + 12345u;
        i = (seed >> 8) % 300;
        snprintf(id, sizeof(id), "a-%u", i);
        if ((seed >> 20) % 4 == 0 && route_of[(seed >> 12) % 300] != 0) {
            uint32_t j = (seed >> 12) % 300;    /* i says hello on j's route: j loses it */
            struct peer *p = hello(&r, ctl, route_of[j], id), *q;

            assert_non_null(p);
            assert_string_equal(p->id, id);
            assert_ptr_equal(by_route(&r, ctl, route_of[j]), p);
            if (j != i) {
                snprintf(id, sizeof(id), "a-%u", j);
                q = registry_by_id(&r, PEERLINK_AGENT, id);
                assert_non_null(q);
                assert_int_equal(q->route_len, 0);
                route_of[i] = route_of[j];
                route_of[j] = 0;
            }
        } else {
            route_of[i] = next_route++;
            assert_non_null(hello(&r, ctl, route_of[i], id));
        }
        if (k % 97 == 0)
            for (uint32_t q = 0; q < next_route; q++)
                assert_ptr_equal(by_route(&r, ctl, q), scan(&r, ctl, q));
    }
    for (uint32_t q = 0; q < next_route; q++)
        assert_ptr_equal(by_route(&r, ctl, q), scan(&r, ctl, q));
    assert_int_equal(r.n, 300);
    registry_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_finds_thousands_of_peers_by_route),
        cmocka_unit_test(test_registry_reconnect_and_takeover_keep_one_owner_per_route),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
