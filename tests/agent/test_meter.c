/* test_meter.c - the engine's meter: what it publishes equals recording
 * into plain histograms, across seconds closing; each message's latency
 * lands in the second it happened in; a reader sees what was recorded
 * before the last publication and nothing after it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "clock.h"
#include "hist.h"
#include "meter.h"
#include "stats.h"

#define ORIGIN (100 * NS_PER_SEC)

/* The histograms a direct recording would have filled, to compare with. */
struct expected {
    struct hist latency[PHASE_COUNT];
    struct hist body;
};

static void assert_hist_equal(const struct hist *a, const struct hist *b)
{
    assert_int_equal(a->count, b->count);
    assert_int_equal(a->sum, b->sum);
    assert_int_equal(a->min, b->min);
    assert_int_equal(a->max, b->max);
    assert_memory_equal(a->slots, b->slots, sizeof(a->slots));
}

static struct meter *meter_started(void)
{
    struct meter *m = malloc(sizeof(*m));

    assert_non_null(m);
    assert_int_equal(meter_init(m), 0);
    meter_begin(m, ORIGIN, ORIGIN);
    return m;
}

static void meter_free(struct meter *m)
{
    meter_destroy(m);
    free(m);
}

/* Values of every phase and size (past the histogram's range too), with
 * seconds closing now and then: the published histograms equal plain
 * recordings. */
static void test_meter_publishes_what_was_recorded(void **state)
{
    struct meter *m = meter_started();
    struct expected *x = calloc(1, sizeof(*x));
    struct load_stats *snap = malloc(sizeof(*snap));
    uint64_t now = ORIGIN, value = 1;
    int i, p;

    (void)state;
    assert_non_null(x);
    assert_non_null(snap);
    for (p = 0; p < PHASE_COUNT; p++)
        hist_init(&x->latency[p]);
    hist_init(&x->body);
    for (i = 0; i < 800; i++) {
        enum stats_phase phase = (enum stats_phase)(i % PHASE_COUNT);

        value = value * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t us = (value >> 20) % (i % 7 == 0 ? HIST_VALUE_MAX + 2 : 100000);
        if (phase == PHASE_MESSAGE) {
            meter_accepted(m, now, us * 1000);
        } else {
            meter_latency(m, phase, us * 1000);
        }
        hist_record(&x->latency[phase], us);
        if (i % 5 == 0) {
            meter_body(m, us);
            hist_record(&x->body, us);
        }
        if (i % 97 == 0) {                  /* a second ends */
            now += NS_PER_SEC;
            meter_tick(m, now);
        }
    }
    meter_finish(m);
    meter_snapshot(m, snap);
    for (p = 0; p < PHASE_COUNT; p++)
        assert_hist_equal(&snap->latency[p], &x->latency[p]);
    assert_hist_equal(&snap->body_sizes, &x->body);
    free(snap);
    free(x);
    meter_free(m);
}

struct rows {
    uint64_t accepted[16];
    uint64_t message_count[16];
    uint64_t message_max[16];
};

static void take_row(void *arg, const struct meter_second *row)
{
    struct rows *r = arg;

    assert_true(row->n.t < 16);
    r->accepted[row->n.t] = row->n.accepted;
    r->message_count[row->n.t] = row->message.count;
    r->message_max[row->n.t] = row->message.max;
}

/* A message's latency counts in the second it was accepted in. */
static void test_meter_message_latency_in_its_second(void **state)
{
    struct meter *m = meter_started();
    struct rows rows;
    int live;

    (void)state;
    memset(&rows, 0, sizeof(rows));
    meter_accepted(m, ORIGIN + NS_PER_SEC / 2, 5000 * 1000);           /* second 1 */
    meter_accepted(m, ORIGIN + NS_PER_SEC / 2, 7000 * 1000);
    meter_tick(m, ORIGIN + NS_PER_SEC);
    meter_accepted(m, ORIGIN + 3 * NS_PER_SEC / 2, 9000 * 1000);       /* second 2 */
    meter_tick(m, ORIGIN + 2 * NS_PER_SEC);
    meter_accepted(m, ORIGIN + 5 * NS_PER_SEC / 2, 3000 * 1000);       /* second 3, open */
    assert_int_equal(meter_take(m, 0, take_row, &rows, &live), 3);
    assert_true(live);
    assert_int_equal(rows.accepted[1], 2);
    assert_int_equal(rows.message_count[1], 2);
    assert_int_equal(rows.message_max[1], 7000);
    assert_int_equal(rows.accepted[2], 1);
    assert_int_equal(rows.message_count[2], 1);
    assert_int_equal(rows.message_max[2], 9000);
    meter_finish(m);
    assert_int_equal(meter_take(m, 3, take_row, &rows, &live), 4);
    assert_false(live);
    assert_int_equal(rows.message_count[3], 1);
    assert_int_equal(rows.message_max[3], 3000);
    meter_free(m);
}

/* What a reader gets: what was recorded before the last publication. */
static void test_meter_snapshot_after_tick(void **state)
{
    struct meter *m = meter_started();
    struct load_stats *snap = malloc(sizeof(*snap));

    (void)state;
    assert_non_null(snap);
    meter_latency(m, PHASE_RCPT, 250 * 1000);
    meter_snapshot(m, snap);
    assert_int_equal(snap->latency[PHASE_RCPT].count, 0);     /* not published yet */
    meter_tick(m, ORIGIN + NS_PER_SEC);
    meter_snapshot(m, snap);
    assert_int_equal(snap->latency[PHASE_RCPT].count, 1);
    assert_int_equal(snap->latency[PHASE_RCPT].max, 250);
    meter_latency(m, PHASE_DOT, 900 * 1000);
    meter_snapshot(m, snap);
    assert_int_equal(snap->latency[PHASE_DOT].count, 0);
    meter_finish(m);
    meter_snapshot(m, snap);
    assert_int_equal(snap->latency[PHASE_DOT].count, 1);
    free(snap);
    meter_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_meter_publishes_what_was_recorded),
        cmocka_unit_test(test_meter_message_latency_in_its_second),
        cmocka_unit_test(test_meter_snapshot_after_tick),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
