/* test_tally.c - per-campaign counts, duplicates across loops, latency. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tally.h"

static struct trace tr(const char *campaign, const char *agent, uint64_t seq, uint64_t sent)
{
    struct trace t;

    memset(&t, 0, sizeof(t));
    strcpy(t.campaign, campaign);
    strcpy(t.agent, agent);
    t.seq = seq;
    t.sent_us = sent;
    return t;
}

static void test_tally_counts_duplicates_across_loops(void **state)
{
    struct tally_seen *seen = tally_seen_new();
    struct tally *a = tally_new(seen), *b = tally_new(seen);
    struct tally_snapshot *s = malloc(sizeof(*s));
    struct trace t;
    uint64_t i;

    (void)state;
    for (i = 0; i < 1000; i++) {
        t = tr("c1", "ag1", i, 1000);
        tally_count(i % 2 ? a : b, &t, 1000 + i);
    }
    t = tr("c1", "ag1", 500, 1000);
    tally_count(a, &t, 2000);            /* seen on loop b first */
    t = tr("c1", "ag2", 500, 1000);
    tally_count(a, &t, 1500);            /* another agent: new */
    t = tr("c2", "ag1", 1, 5000);
    tally_count(b, &t, 4000);            /* sent "after" now: latency 0 */
    tally_count_untraced(a);
    tally_snapshot_init(s);
    tally_snapshot_add(s, a);
    tally_snapshot_add(s, b);
    assert_int_equal(s->count, 2);
    assert_string_equal(s->campaigns[0].campaign, "c1");
    assert_true(s->campaigns[0].received == 1002);
    assert_true(s->campaigns[0].duplicates == 1);
    assert_true(s->campaigns[0].latency_us.count == 1002);
    assert_true(s->campaigns[0].latency_us.max == 1000);
    assert_true(s->campaigns[0].latency_us.min == 0);
    assert_true(s->campaigns[1].received == 1);
    assert_true(s->campaigns[1].latency_us.max == 0);
    assert_true(s->untraced == 1);
    free(s);
    tally_free(a);
    tally_free(b);
    tally_seen_free(seen);
}

static void test_tally_seq_window_slides(void **state)
{
    struct tally_seen *seen = tally_seen_new();
    struct trace t;
    uint64_t window = (uint64_t)TALLY_SEQ_WORDS * 32;

    (void)state;
    t = tr("c", "a", 5, 0);
    assert_int_equal(tally_seen_check(seen, &t), 0);
    assert_int_equal(tally_seen_check(seen, &t), 1);
    t.seq = 5 + window;                   /* same word, next window: slides */
    assert_int_equal(tally_seen_check(seen, &t), 0);
    t.seq = 5;                            /* fell out of the window */
    assert_int_equal(tally_seen_check(seen, &t), -1);
    tally_seen_free(seen);
}

static void test_tally_campaign_overflow_is_counted(void **state)
{
    struct tally *a = tally_new(NULL);
    struct tally_snapshot *s = malloc(sizeof(*s));
    struct trace t;
    char name[16];
    int i;

    (void)state;
    for (i = 0; i < TALLY_CAMPAIGNS_MAX + 3; i++) {
        snprintf(name, sizeof(name), "c%d", i);
        t = tr(name, "a", 1, 0);
        tally_count(a, &t, 10);
    }
    tally_snapshot_init(s);
    tally_snapshot_add(s, a);
    assert_int_equal(s->count, TALLY_CAMPAIGNS_MAX);
    assert_true(s->overflow == 3);
    assert_true(s->campaigns[0].unchecked == 1);   /* no detector given */
    free(s);
    tally_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tally_counts_duplicates_across_loops),
        cmocka_unit_test(test_tally_seq_window_slides),
        cmocka_unit_test(test_tally_campaign_overflow_is_counted),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
