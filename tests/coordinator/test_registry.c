/* test_registry.c - the coordinator's registry of peers: lookups by
 * routing id agree with a plain list through hellos, reconnections (a
 * known id on a new route) and routes taken over by another id, at the
 * scale of thousands of peers; how often each peer is sent a heartbeat. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
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

/* The beats a peer whose Hello says dead_ms gets from a timer ticking
 * every second for 60 s, the welcome sent welcome_ns after a tick; the
 * longest gap between two (the welcome included) into *gap_ns. */
static unsigned beats_in_a_minute(uint32_t dead_ms, uint64_t welcome_ns, uint64_t *gap_ns)
{
    struct registry r;
    struct peer *p;
    uint64_t tick, now;
    unsigned n = 0;
    Smtpstorm__Hello h = SMTPSTORM__HELLO__INIT;
    uint8_t route[8];

    registry_init(&r, 4000);
    h.id = "a1";
    h.role = SMTPSTORM__ROLE__ROLE_AGENT;
    h.dead_ms = dead_ms;
    p = registry_hello(&r, NULL, route, make_route(route, 1), &h, 1);
    assert_non_null(p);
    assert_true(p->dead_ms == dead_ms);
    p->beat_tx_ns = 1000 * NS_PER_SEC + welcome_ns;
    *gap_ns = 0;
    for (tick = 1; tick <= 60; tick++) {
        /* the loop's delays: each tick up to 30 ms late */
        now = (1000 + tick) * NS_PER_SEC + (tick * 7919 % 31) * NS_PER_MS;
        if (registry_beat_due(p, now, NS_PER_SEC)) {
            if (now - p->beat_tx_ns > *gap_ns)
                *gap_ns = now - p->beat_tx_ns;
            p->beat_tx_ns = now;        /* as send_beat notes it */
            n++;
        }
    }
    registry_free(&r);
    return n;
}

static void test_registry_beats_a_long_dead_man_every_2_s_the_default_every_second(void **state)
{
    const uint64_t welcomes[] = { 0, 10 * NS_PER_MS, 490 * NS_PER_MS, 510 * NS_PER_MS, 990 * NS_PER_MS };
    uint64_t gap;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(welcomes) / sizeof(welcomes[0]); i++) {
        /* 8 s or more: every other tick (gaps of 2.5 s at most: any 8 s
         * of silence the peer would notice holds three beats). */
        assert_in_range(beats_in_a_minute(WIRE_BEAT_SLOW_DEAD_MS, welcomes[i], &gap), 29, 31);
        assert_true(gap <= (uint64_t)WIRE_BEAT_SLOW_MS * NS_PER_MS + NS_PER_SEC / 2 + 50 * NS_PER_MS);
        assert_in_range(beats_in_a_minute(10000, welcomes[i], &gap), 29, 31);
        /* Shorter, the default 5 s included, or not said: every tick. */
        assert_int_equal(beats_in_a_minute(WIRE_BEAT_SLOW_DEAD_MS - 1, welcomes[i], &gap), 60);
        assert_int_equal(beats_in_a_minute(5000, welcomes[i], &gap), 60);
        assert_true(gap <= NS_PER_SEC + 50 * NS_PER_MS);
        assert_int_equal(beats_in_a_minute(2000, welcomes[i], &gap), 60);
        assert_int_equal(beats_in_a_minute(0, welcomes[i], &gap), 60);
    }
}

static void test_registry_report_interval_grows_with_agents_within_a_quarter_of_the_timeout(void **state)
{
    (void)state;
    /* Up to REGISTRY_REPORTS_PER_S agents: every second, whatever the timeout. */
    assert_int_equal(registry_report_interval_ms(0, 4000), 1000);
    assert_int_equal(registry_report_interval_ms(1, 4000), 1000);
    assert_int_equal(registry_report_interval_ms(REGISTRY_REPORTS_PER_S, 60000), 1000);
    /* More: whole seconds keeping the reports under the rate. */
    assert_int_equal(registry_report_interval_ms(REGISTRY_REPORTS_PER_S + 1, 60000), 2000);
    assert_int_equal(registry_report_interval_ms(5000, 8000), 2000);
    assert_int_equal(registry_report_interval_ms(12501, 60000), 4000);
    assert_int_equal(registry_report_interval_ms(10000, 60000), 4000);
    /* Never more than a quarter of the heartbeat timeout (the default 4 s
     * keeps 1 s), nor under a second. */
    assert_int_equal(registry_report_interval_ms(5000, 4000), 1000);
    assert_int_equal(registry_report_interval_ms(10000, 11999), 2000);
    assert_int_equal(registry_report_interval_ms(10000, 1000), 1000);
    assert_int_equal(registry_report_interval_ms((size_t)REGISTRY_REPORTS_PER_S * 1000, UINT64_MAX),
                     CONFIG_REPORT_INTERVAL_MAX_MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_finds_thousands_of_peers_by_route),
        cmocka_unit_test(test_registry_reconnect_and_takeover_keep_one_owner_per_route),
        cmocka_unit_test(test_registry_beats_a_long_dead_man_every_2_s_the_default_every_second),
        cmocka_unit_test(test_registry_report_interval_grows_with_agents_within_a_quarter_of_the_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
