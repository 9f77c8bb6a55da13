/* test_capacity_search.c - the capacity search fed verdicts: growth by the
 * factor, bisection to the resolution, the upper bound, a failing start,
 * generator-limited steps retried and never counted, the step rules and
 * the sessions rule. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "capacity_search.h"

/* run_against - drive s against a target holding every rate <= capacity;
 * returns the steps taken. */
static int run_against(struct capacity_search *s, double capacity)
{
    double rate;
    int n = 0;

    while ((rate = capacity_search_next(s)) > 0 && n < 100) {
        capacity_search_record(s, rate, rate <= capacity ? CAPACITY_PASS : CAPACITY_FAIL);
        n++;
    }
    return n;
}

static void test_capacity_search_grows_by_the_factor(void **state)
{
    struct capacity_search s;

    (void)state;
    assert_int_equal(capacity_search_init(&s, 10, 10000, 2, 5), 0);
    assert_true(capacity_search_next(&s) == 10);
    capacity_search_record(&s, 10, CAPACITY_PASS);
    assert_true(capacity_search_next(&s) == 20);
    capacity_search_record(&s, 20, CAPACITY_PASS);
    assert_true(capacity_search_next(&s) == 40);
    capacity_search_record(&s, 40, CAPACITY_FAIL);
    assert_true(capacity_search_next(&s) == 30);      /* bisection between 20 and 40 */
    assert_int_equal(s.end, CAPACITY_SEARCHING);
}

static void test_capacity_search_bisects_to_the_resolution(void **state)
{
    struct capacity_search s;

    (void)state;
    assert_int_equal(capacity_search_init(&s, 10, 10000, 2, 5), 0);
    run_against(&s, 100);
    assert_int_equal(s.end, CAPACITY_FOUND);
    assert_true(s.good <= 100 && s.bad > 100);
    assert_true(s.bad - s.good <= s.good * 0.05);
    assert_true(s.good >= 95);
}

static void test_capacity_search_resolution_bounds_the_steps(void **state)
{
    struct capacity_search coarse, fine;
    int n_coarse, n_fine;

    (void)state;
    assert_int_equal(capacity_search_init(&coarse, 10, 10000, 2, 20), 0);
    assert_int_equal(capacity_search_init(&fine, 10, 10000, 2, 1), 0);
    n_coarse = run_against(&coarse, 300);
    n_fine = run_against(&fine, 300);
    assert_true(n_coarse < n_fine);
    assert_true(coarse.bad - coarse.good <= coarse.good * 0.20);
    assert_true(fine.bad - fine.good <= fine.good * 0.01);
}

static void test_capacity_search_stops_at_the_upper_bound(void **state)
{
    struct capacity_search s;

    (void)state;
    assert_int_equal(capacity_search_init(&s, 10, 50, 2, 5), 0);
    assert_int_equal(run_against(&s, 1e9), 4);
    assert_int_equal(s.end, CAPACITY_AT_MAX);
    assert_true(s.good == 50);                       /* 10 20 40 then 50, not 80 */
}

static void test_capacity_search_start_fails(void **state)
{
    struct capacity_search s;

    (void)state;
    assert_int_equal(capacity_search_init(&s, 10, 1000, 2, 5), 0);
    capacity_search_record(&s, 10, CAPACITY_FAIL);
    assert_int_equal(s.end, CAPACITY_START_FAILED);
    assert_true(capacity_search_next(&s) == 0);
    assert_true(s.good == 0);
}

static void test_capacity_search_generator_step_not_counted(void **state)
{
    struct capacity_search s;

    (void)state;
    assert_int_equal(capacity_search_init(&s, 10, 1000, 2, 5), 0);
    capacity_search_record(&s, 10, CAPACITY_PASS);
    capacity_search_record(&s, 20, CAPACITY_GENERATOR);
    assert_true(capacity_search_next(&s) == 20);      /* the same rate again */
    assert_true(s.bad == 0 && s.good == 10);         /* neither good nor bad */
    capacity_search_record(&s, 20, CAPACITY_PASS);
    assert_true(capacity_search_next(&s) == 40);
    capacity_search_record(&s, 40, CAPACITY_GENERATOR);
    capacity_search_record(&s, 40, CAPACITY_GENERATOR);
    assert_int_equal(s.end, CAPACITY_GENERATOR_LIMIT);
    assert_true(s.good == 20 && s.bad == 0);
}

static void test_capacity_search_bad_parameters(void **state)
{
    struct capacity_search s;

    (void)state;
    assert_int_equal(capacity_search_init(&s, 0, 10, 2, 5), -22);
    assert_int_equal(capacity_search_init(&s, 20, 10, 2, 5), -22);
    assert_int_equal(capacity_search_init(&s, 10, 20, 1, 5), -22);
    assert_int_equal(capacity_search_init(&s, 10, 20, 2, 0), -22);
}

static void test_capacity_classify_rules(void **state)
{
    (void)state;
    assert_int_equal(capacity_classify(1, 0, 0, 0), CAPACITY_PASS);
    assert_int_equal(capacity_classify(0, 0, 0, 0), CAPACITY_FAIL);
    assert_int_equal(capacity_classify(1, 1, 0, 0), CAPACITY_GENERATOR);   /* saturated */
    assert_int_equal(capacity_classify(0, 1, 0, 0), CAPACITY_GENERATOR);
    assert_int_equal(capacity_classify(1, 0, 1, 0), CAPACITY_GENERATOR);   /* behind, target fine */
    assert_int_equal(capacity_classify(0, 0, 1, 1), CAPACITY_GENERATOR);   /* behind, sessions capped */
    assert_int_equal(capacity_classify(0, 0, 1, 0), CAPACITY_FAIL);        /* behind: the target's latency */
}

static void test_capacity_sessions_rule(void **state)
{
    int capped;

    (void)state;
    assert_int_equal(capacity_sessions(100, 1.0, 4, 2000, &capped), 200);
    assert_false(capped);
    assert_int_equal(capacity_sessions(10, 0.01, 4, 2000, &capped), 4);      /* the floor */
    assert_false(capped);
    assert_int_equal(capacity_sessions(5000, 1.0, 4, 2000, &capped), 2000);  /* the ceiling */
    assert_true(capped);
    assert_int_equal(capacity_sessions(10, 1.0, 8, 2, &capped), 8);          /* floor over ceiling */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capacity_search_grows_by_the_factor),
        cmocka_unit_test(test_capacity_search_bisects_to_the_resolution),
        cmocka_unit_test(test_capacity_search_resolution_bounds_the_steps),
        cmocka_unit_test(test_capacity_search_stops_at_the_upper_bound),
        cmocka_unit_test(test_capacity_search_start_fails),
        cmocka_unit_test(test_capacity_search_generator_step_not_counted),
        cmocka_unit_test(test_capacity_search_bad_parameters),
        cmocka_unit_test(test_capacity_classify_rules),
        cmocka_unit_test(test_capacity_sessions_rule),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
