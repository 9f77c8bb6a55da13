/* test_hist.c - the histogram's percentiles against a sorted array, merge,
 * and slot boundaries. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>

#include "hist.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t exact_percentile(const uint64_t *sorted, size_t n, double pct)
{
    size_t rank = (size_t)(pct / 100.0 * (double)n + 0.999999);
    return sorted[(rank ? rank : 1) - 1];
}

static void test_hist_slots_cover_every_value_once(void **state)
{
    uint64_t v;
    size_t slot;

    (void)state;
    for (v = 0; v < 1u << 20; v++) {
        slot = hist_slot_of(v);
        assert_true(hist_slot_lowest(slot) <= v);
        assert_true(hist_slot_highest(slot) >= v);
    }
    assert_int_equal(hist_slot_of(HIST_VALUE_MAX), HIST_SLOTS - 1);
    assert_int_equal(hist_slot_of(UINT64_MAX), HIST_SLOTS - 1);
}

static void test_hist_percentiles_within_one_percent_of_sorted(void **state)
{
    enum { N = 100000 };
    static uint64_t values[N];
    static struct hist h;
    const double pcts[] = { 1, 50, 90, 99, 99.9, 100 };
    uint64_t got, want;
    size_t i;

    (void)state;
    hist_init(&h);
    srand(42);
    for (i = 0; i < N; i++) {
        values[i] = (uint64_t)rand() % 5000000u;   /* up to 5 s in us */
        hist_record(&h, values[i]);
    }
    qsort(values, N, sizeof(values[0]), cmp_u64);
    for (i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
        got = hist_percentile(&h, pcts[i]);
        want = exact_percentile(values, N, pcts[i]);
        assert_true(got >= want);
        assert_true((double)(got - want) <= (double)want * 0.01 + 1);
    }
    assert_int_equal(h.max, values[N - 1]);
    assert_int_equal(h.min, values[0]);
}

static void test_hist_merge_equals_recording_into_one(void **state)
{
    static struct hist a, b, both;
    uint64_t v;

    (void)state;
    hist_init(&a);
    hist_init(&b);
    hist_init(&both);
    for (v = 1; v < 300000; v += 7) {
        hist_record(v % 2 ? &a : &b, v);
        hist_record(&both, v);
    }
    hist_merge(&a, &b);
    assert_memory_equal(a.slots, both.slots, sizeof(a.slots));
    assert_int_equal(a.count, both.count);
    assert_int_equal(a.sum, both.sum);
    assert_int_equal(a.max, both.max);
    assert_int_equal(a.min, both.min);
    assert_true(hist_percentile(&a, 99) == hist_percentile(&both, 99));
}

static void test_hist_percentile_never_exceeds_max(void **state)
{
    static struct hist h;

    (void)state;
    hist_init(&h);
    assert_int_equal(hist_percentile(&h, 99), 0);
    hist_record(&h, 1000001);
    assert_int_equal(hist_percentile(&h, 50), 1000001);
    assert_int_equal(hist_percentile(&h, 99.9), 1000001);
    hist_record_n(&h, 3, 9);
    assert_int_equal(hist_percentile(&h, 50), 3);
    assert_int_equal(hist_percentile(&h, 90), 3);
    assert_int_equal(hist_percentile(&h, 91), 1000001);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_slots_cover_every_value_once),
        cmocka_unit_test(test_hist_percentiles_within_one_percent_of_sorted),
        cmocka_unit_test(test_hist_merge_equals_recording_into_one),
        cmocka_unit_test(test_hist_percentile_never_exceeds_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
