/* test_ev.c - the event loop's timers fire in deadline order, can be
 * stopped and re-armed, I/O readiness is dispatched, and each event's
 * handler gets its own time. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <unistd.h>
#include <cmocka.h>

#include "clock.h"
#include "ev.h"

struct order { int seen[16]; int n; };
struct tagged { struct order *order; int tag; struct ev_timer timer; };

static void on_timer(struct ev_loop *loop, void *arg)
{
    struct tagged *t = arg;

    t->order->seen[t->order->n++] = t->tag;
    if (t->order->n == 4)
        ev_stop(loop);
}

static void test_ev_timers_fire_in_deadline_order(void **state)
{
    struct ev_loop *loop = ev_loop_new();
    struct order order = { 0 };
    struct tagged t[5];
    const int delays_ms[5] = { 30, 10, 20, 5, 15 };
    int i;

    (void)state;
    assert_non_null(loop);
    for (i = 0; i < 5; i++) {
        t[i].order = &order;
        t[i].tag = i;
        ev_timer_init(&t[i].timer, on_timer, &t[i]);
        ev_timer_start(loop, &t[i].timer, delays_ms[i] * NS_PER_MS);
    }
    ev_timer_stop(loop, &t[4].timer);                     /* 15 ms never fires */
    ev_timer_start(loop, &t[0].timer, 1 * NS_PER_MS);     /* re-armed earliest */
    assert_int_equal(ev_run(loop), 0);
    assert_int_equal(order.n, 4);
    assert_int_equal(order.seen[0], 0);
    assert_int_equal(order.seen[1], 3);
    assert_int_equal(order.seen[2], 1);
    assert_int_equal(order.seen[3], 2);
    assert_false(ev_timer_armed(&t[4].timer));
    ev_loop_free(loop);
}

static void on_readable(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    char c;

    assert_true(events & EV_READ);
    assert_int_equal(read(fd, &c, 1), 1);
    *(char *)arg = c;
    ev_stop(loop);
}

static void test_ev_dispatches_readable_fd(void **state)
{
    struct ev_loop *loop = ev_loop_new();
    int p[2];
    char got = 0;

    (void)state;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(ev_io_set(loop, p[0], EV_READ, on_readable, &got), 0);
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(ev_run(loop), 0);
    assert_int_equal(got, 'x');
    ev_io_del(loop, p[0]);
    close(p[0]);
    close(p[1]);
    ev_loop_free(loop);
}

/* Two fds ready in one wake-up: the first handler's time is the
 * wake-up's reading; the second's is read anew, after the first handler's
 * work (whether or not the first asked the time), and becomes the loop's
 * time. */
struct event_times {
    int first_asks;             /* the first handler calls ev_event_now */
    uint64_t wake, first, second, now_after_second;
    int calls;
};

static void on_timed(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    struct event_times *t = arg;
    char c;

    (void)events;
    assert_int_equal(read(fd, &c, 1), 1);
    if (t->calls++ == 0) {
        t->wake = ev_now(loop);
        if (t->first_asks)
            t->first = ev_event_now(loop);
        while (clock_mono_ns() <= t->wake)      /* the first handler takes time */
            ;
        return;
    }
    t->second = ev_event_now(loop);
    t->now_after_second = ev_now(loop);
    ev_stop(loop);
}

static void two_events_in_one_wake_up(struct event_times *t)
{
    struct ev_loop *loop = ev_loop_new();
    int a[2], b[2];

    assert_non_null(loop);
    assert_int_equal(pipe(a), 0);
    assert_int_equal(pipe(b), 0);
    assert_int_equal(ev_io_set(loop, a[0], EV_READ, on_timed, t), 0);
    assert_int_equal(ev_io_set(loop, b[0], EV_READ, on_timed, t), 0);
    assert_int_equal(write(a[1], "x", 1), 1);
    assert_int_equal(write(b[1], "y", 1), 1);
    assert_int_equal(ev_run_once(loop, 1000), 0);
    assert_int_equal(t->calls, 2);
    ev_io_del(loop, a[0]);
    ev_io_del(loop, b[0]);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
    ev_loop_free(loop);
}

static void test_ev_event_now_per_event(void **state)
{
    struct event_times asks = { .first_asks = 1 }, silent = { .first_asks = 0 };

    (void)state;
    two_events_in_one_wake_up(&asks);
    assert_int_equal(asks.first, asks.wake);
    assert_true(asks.second > asks.first);
    assert_int_equal(asks.now_after_second, asks.second);
    two_events_in_one_wake_up(&silent);         /* the first ran, though it never asked */
    assert_true(silent.second > silent.wake);
    assert_int_equal(silent.now_after_second, silent.second);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ev_timers_fire_in_deadline_order),
        cmocka_unit_test(test_ev_dispatches_readable_fd),
        cmocka_unit_test(test_ev_event_now_per_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
