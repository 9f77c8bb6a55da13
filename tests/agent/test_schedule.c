/* test_schedule.c - the rate scheduler: open-loop due times computed from
 * the start (no drift), the count and duration limits, closed loop, and a
 * late caller still getting the old due time (coordinated omission). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "clock.h"
#include "schedule.h"

#define T0 (1000 * NS_PER_SEC)

static void test_schedule_open_loop_due_times(void **state)
{
    struct schedule s;
    uint64_t due;

    (void)state;
    schedule_init(&s, T0, 400, UINT64_MAX, 0);
    assert_int_equal(schedule_next(&s, T0, &due), SCHEDULE_DUE);
    assert_int_equal(due, T0);
    assert_int_equal(schedule_next(&s, T0, &due), SCHEDULE_WAIT);
    assert_int_equal(due, T0 + 2500000);                /* 1/400 s later */
    assert_int_equal(schedule_next(&s, T0 + 2500000, &due), SCHEDULE_DUE);
    assert_int_equal(schedule_due(&s, 400000), T0 + 1000 * NS_PER_SEC);    /* no drift */
    schedule_init(&s, T0, 3, UINT64_MAX, 0);
    assert_int_equal(schedule_due(&s, 1), T0 + 333333333);
    assert_int_equal(schedule_due(&s, 3), T0 + NS_PER_SEC);
}

static void test_schedule_late_caller_gets_due_time(void **state)
{
    struct schedule s;
    uint64_t due;
    int i;

    (void)state;
    schedule_init(&s, T0, 100, UINT64_MAX, 0);
    /* the caller stalled for a second: 101 messages are due, each with its own time */
    for (i = 0; i <= 100; i++) {
        assert_int_equal(schedule_next(&s, T0 + NS_PER_SEC, &due), SCHEDULE_DUE);
        assert_int_equal(due, T0 + (uint64_t)i * 10 * NS_PER_MS);
    }
    assert_int_equal(schedule_next(&s, T0 + NS_PER_SEC, &due), SCHEDULE_WAIT);
}

static void test_schedule_rate_times_duration(void **state)
{
    struct schedule s;
    uint64_t due, n = 0, now = T0;

    (void)state;
    schedule_init(&s, T0, 400, UINT64_MAX, 5 * NS_PER_SEC);
    for (;;) {
        int r = schedule_next(&s, now, &due);

        if (r == SCHEDULE_EXHAUSTED)
            break;
        if (r == SCHEDULE_WAIT)
            now = due;
        else
            n++;
    }
    assert_int_equal(n, 2000);
    assert_true(now < T0 + 5 * NS_PER_SEC);
}

static void test_schedule_count_limit_first(void **state)
{
    struct schedule s;
    uint64_t due;

    (void)state;
    schedule_init(&s, T0, 1000, 3, 5 * NS_PER_SEC);
    assert_int_equal(schedule_next(&s, T0 + NS_PER_SEC, &due), SCHEDULE_DUE);
    assert_int_equal(schedule_next(&s, T0 + NS_PER_SEC, &due), SCHEDULE_DUE);
    assert_int_equal(schedule_next(&s, T0 + NS_PER_SEC, &due), SCHEDULE_DUE);
    assert_int_equal(schedule_next(&s, T0 + NS_PER_SEC, &due), SCHEDULE_EXHAUSTED);
}

static void test_schedule_closed_loop(void **state)
{
    struct schedule s;
    uint64_t due;

    (void)state;
    schedule_init(&s, T0, 0, UINT64_MAX, 2 * NS_PER_SEC);
    assert_int_equal(schedule_next(&s, T0 - 5, &due), SCHEDULE_WAIT);   /* before the start */
    assert_int_equal(due, T0);
    assert_int_equal(schedule_next(&s, T0 + 7, &due), SCHEDULE_DUE);
    assert_int_equal(due, T0 + 7);                      /* due when asked */
    assert_int_equal(schedule_next(&s, T0 + 2 * NS_PER_SEC, &due), SCHEDULE_EXHAUSTED);
    schedule_init(&s, T0, 0, 2, 0);
    schedule_stop(&s);
    assert_int_equal(schedule_next(&s, T0, &due), SCHEDULE_EXHAUSTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_open_loop_due_times),
        cmocka_unit_test(test_schedule_late_caller_gets_due_time),
        cmocka_unit_test(test_schedule_rate_times_duration),
        cmocka_unit_test(test_schedule_count_limit_first),
        cmocka_unit_test(test_schedule_closed_loop),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
