/* test_schedule.c - the rate scheduler: open-loop due times computed from
 * the start (no drift), the count and duration limits, closed loop, and a
 * late caller still getting the old due time (coordinated omission). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
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

/* Run s to exhaustion; count the messages due in each second from T0. */
static uint64_t drain(struct schedule *s, uint64_t *per_second, int seconds)
{
    uint64_t due, n = 0, now = T0;
    int r;

    while ((r = schedule_next(s, now, &due)) != SCHEDULE_EXHAUSTED) {
        if (r == SCHEDULE_WAIT) {
            assert_true(due > now);
            now = due;
            continue;
        }
        assert_true(due >= T0 && due < T0 + (uint64_t)seconds * NS_PER_SEC);
        per_second[(due - T0) / NS_PER_SEC]++;
        n++;
    }
    return n;
}

static void test_schedule_steps(void **state)
{
    /* a ramp's steps: 100, 200, 300 a second, then 50 a second for two */
    static const struct schedule_step steps[] = {
        { NS_PER_SEC, 100 }, { NS_PER_SEC, 200 }, { NS_PER_SEC, 300 }, { 2 * NS_PER_SEC, 50 },
    };
    uint64_t per[5] = { 0 }, half[5] = { 0 };
    struct schedule s;

    (void)state;
    schedule_init_steps(&s, T0, steps, 4, 1.0, UINT64_MAX);
    assert_int_equal(drain(&s, per, 5), 700);
    assert_int_equal(per[0], 100);
    assert_int_equal(per[1], 200);
    assert_int_equal(per[2], 300);
    assert_int_equal(per[3], 50);
    assert_int_equal(per[4], 50);
    /* due times computed from the start: message 150 is half-way through step 2 */
    assert_int_equal(schedule_due(&s, 150), T0 + NS_PER_SEC + NS_PER_SEC / 4);
    assert_int_equal(schedule_due(&s, 700), UINT64_MAX);
    /* a share (one of two threads): half of every step */
    schedule_init_steps(&s, T0, steps, 4, 0.5, UINT64_MAX);
    assert_int_equal(drain(&s, half, 5), 350);
    assert_int_equal(half[2], 150);
    /* the count still comes first */
    schedule_init_steps(&s, T0, steps, 4, 1.0, 120);
    memset(per, 0, sizeof(per));
    assert_int_equal(drain(&s, per, 5), 120);
    assert_int_equal(per[1], 20);
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
        cmocka_unit_test(test_schedule_steps),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
