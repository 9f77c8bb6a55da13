/* test_timeline - coordinator/timeline.c folds the peers' event-time rows:
 * counts land in the second they happened whatever the order and timing of
 * the reports; a lost report loses no count and changes no final row; a row
 * is final only when every live peer has passed it; latency percentiles
 * come from the merged histograms of that second. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "timeline.h"
#include "wire.h"

static const int agent, sink, other;    /* their addresses name the peers */

/* A report: rows for seconds first..closed-1 with accepted (or received,
 * for sinks) = per_second each, before = the sum of seconds 1..closed-1,
 * total = before + open. */
static Smtpstorm__Seconds *report(struct wire_seconds_store *st, int is_sink, uint32_t first,
                                  uint32_t closed, uint64_t per_second, uint64_t open,
                                  const struct hist *lat)
{
    static struct stats_second rows[WIRE_SECONDS_MAX];
    struct wire_seconds src;
    uint32_t t;

    memset(&src, 0, sizeof(src));
    src.closed = closed;
    for (t = first; t < closed && src.n < WIRE_SECONDS_MAX; t++) {
        memset(&rows[src.n], 0, sizeof(rows[0]));
        rows[src.n].t = t;
        if (is_sink)
            rows[src.n].received = per_second;
        else
            rows[src.n].accepted = rows[src.n].attempted = per_second;
        src.rows[src.n] = &rows[src.n];
        src.messages[src.n] = lat;
        src.n++;
    }
    if (is_sink)
        src.before.received = per_second * (closed > 0 ? closed - 1 : 0);
    else
        src.before.accepted = src.before.attempted = per_second * (closed > 0 ? closed - 1 : 0);
    src.total = src.before;
    if (is_sink)
        src.total.received += open;
    else
        src.total.accepted += open;
    return wire_seconds_fill(st, &src);
}

static void test_timeline_counts_by_event_second_and_final_waits_for_all(void **state)
{
    struct wire_seconds_store *st = wire_seconds_store_new(1);
    struct timeline tl;
    struct aggregator a = { 0 };

    (void)state;
    timeline_init(&tl);
    assert_int_equal(timeline_expect(&tl, &agent), 0);
    assert_int_equal(timeline_expect(&tl, &sink), 0);
    /* the agent is at second 5, the sink behind it at second 3 */
    assert_int_equal(timeline_take(&tl, &agent, report(st, 0, 1, 5, 100, 0, NULL)), 0);
    assert_int_equal(timeline_take(&tl, &sink, report(st, 1, 1, 3, 100, 0, NULL)), 0);
    assert_int_equal(tl.final, 3);          /* the sink has not passed second 3 */
    assert_int_equal(timeline_take(&tl, &sink, report(st, 1, 3, 6, 100, 0, NULL)), 0);
    assert_int_equal(tl.final, 5);
    timeline_finish(&tl);
    assert_int_equal(timeline_rows(&tl, &a), 0);
    assert_int_equal(a.n, 5);               /* seconds 1..5 */
    assert_int_equal(a.rows[0].t, 1);
    for (size_t i = 0; i < 4; i++) {        /* seconds 1..4: 100 a second on both sides */
        assert_int_equal(a.rows[i].cum.accepted, 100 * (i + 1));
        assert_int_equal(a.rows[i].cum.received, 100 * (i + 1));
        assert_int_equal(agg_row_backlog(&a, i), 0);
    }
    assert_int_equal(a.rows[4].cum.accepted, 400);  /* the agent had closed second 4 only */
    assert_int_equal(a.rows[4].cum.received, 500);
    agg_free(&a);
    timeline_free(&tl);
    wire_seconds_store_free(st);
}

static void test_timeline_lost_report_loses_no_count_and_keeps_final_rows(void **state)
{
    struct wire_seconds_store *st = wire_seconds_store_new(1);
    struct timeline tl;
    struct aggregator a = { 0 };
    struct timeline_row kept[4];

    (void)state;
    timeline_init(&tl);
    assert_int_equal(timeline_take(&tl, &agent, report(st, 0, 1, 4, 10, 0, NULL)), 0);
    timeline_retire(&tl, &other);           /* an unknown peer: harmless */
    assert_int_equal(tl.final, 4);
    memcpy(kept, tl.rows, sizeof(kept));
    /* reports for seconds 4..9 lost; this one holds rows 10..13 only, and
     * its before sums seconds 1..13 */
    assert_int_equal(timeline_take(&tl, &agent, report(st, 0, 10, 14, 10, 0, NULL)), 0);
    assert_memory_equal(tl.rows, kept, sizeof(kept));      /* final rows unchanged */
    /* a late, older report changes nothing */
    assert_int_equal(timeline_take(&tl, &agent, report(st, 0, 2, 8, 10, 0, NULL)), 0);
    assert_memory_equal(tl.rows, kept, sizeof(kept));
    timeline_finish(&tl);
    assert_int_equal(timeline_rows(&tl, &a), 0);
    assert_int_equal(a.rows[a.n - 1].cum.accepted, 130);   /* every count is there */
    assert_int_equal(tl.rows[9].n.accepted, 60);            /* seconds 4..9 went to the last of them */
    assert_int_equal(tl.rows[4].n.accepted, 0);
    agg_free(&a);
    timeline_free(&tl);
    wire_seconds_store_free(st);
}

/* settled_check - timeline_settled's sum is the final rows' sum, and its
 * second the last final one; returns that second. */
static uint32_t settled_check(const struct timeline *tl, struct stats_second *sum)
{
    uint64_t accepted = 0, received = 0;
    uint32_t at = timeline_settled(tl, sum), t;

    for (t = 0; t < tl->final && t < tl->n; t++) {
        accepted += tl->rows[t].n.accepted;
        received += tl->rows[t].n.received;
    }
    assert_int_equal(sum->accepted, accepted);
    assert_int_equal(sum->received, received);
    assert_int_equal(at, t > 0 ? t - 1 : 0);
    return at;
}

static void test_timeline_settled_backlog_is_by_event_second(void **state)
{
    struct wire_seconds_store *st = wire_seconds_store_new(1);
    struct stats_second sum;
    struct timeline tl;

    (void)state;
    timeline_init(&tl);
    assert_int_equal(timeline_expect(&tl, &agent), 0);
    assert_int_equal(timeline_expect(&tl, &sink), 0);
    assert_int_equal(timeline_expect(&tl, &other), 0);
    assert_int_equal(settled_check(&tl, &sum), 0);          /* nothing settled yet */
    assert_true(timeline_settled_rate(&tl, 5) == 0.0);
    /* The agent has reported 4 seconds, the sink 2: by their last reports
     * 400 accepted and 200 received, a backlog of 200 that never was; by
     * event time, at the end of second 2, 200 and 200. */
    assert_int_equal(timeline_take(&tl, &agent, report(st, 0, 1, 5, 100, 0, NULL)), 0);
    assert_int_equal(timeline_take(&tl, &sink, report(st, 1, 1, 3, 100, 0, NULL)), 0);
    assert_int_equal(timeline_take(&tl, &other, report(st, 0, 1, 2, 10, 0, NULL)), 0);
    assert_int_equal(settled_check(&tl, &sum), 1);          /* "other" has passed second 1 only */
    assert_int_equal(sum.accepted, 110);
    assert_int_equal(sum.received, 100);
    timeline_retire(&tl, &other);                           /* lost: the rest go final without it */
    assert_int_equal(settled_check(&tl, &sum), 2);
    assert_int_equal(sum.accepted, 210);
    assert_int_equal(sum.received, 200);
    assert_int_equal(timeline_take(&tl, &sink, report(st, 1, 3, 6, 100, 0, NULL)), 0);
    assert_int_equal(settled_check(&tl, &sum), 4);
    assert_int_equal(sum.accepted, 410);
    assert_int_equal(sum.received, 400);
    /* The lost peer's late report counts into rows already final: the
     * settled sum takes them too. */
    assert_int_equal(timeline_take(&tl, &other, report(st, 0, 2, 5, 10, 0, NULL)), 0);
    assert_int_equal(settled_check(&tl, &sum), 4);
    assert_int_equal(sum.accepted, 440);
    /* The rate by event time: seconds 1..4 held 110 accepted each. */
    assert_true(timeline_settled_rate(&tl, 5) == 110.0);
    assert_true(timeline_settled_rate(&tl, 2) == 110.0);
    assert_int_equal(timeline_take(&tl, &agent, report(st, 0, 5, 8, 50, 0, NULL)), 0);
    assert_int_equal(timeline_take(&tl, &sink, report(st, 1, 6, 8, 50, 0, NULL)), 0);
    assert_int_equal(settled_check(&tl, &sum), 7);
    assert_true(timeline_settled_rate(&tl, 3) == 50.0);     /* seconds 5..7 */
    assert_true(timeline_settled_rate(&tl, 4) == (110.0 + 150.0) / 4);
    timeline_free(&tl);
    wire_seconds_store_free(st);
}

static void test_timeline_finish_adds_the_open_second(void **state)
{
    struct wire_seconds_store *st = wire_seconds_store_new(0);
    struct timeline tl;

    (void)state;
    timeline_init(&tl);
    /* a sink whose last report had 7 messages in its open second 3 */
    assert_int_equal(timeline_take(&tl, &sink, report(st, 1, 1, 3, 5, 7, NULL)), 0);
    timeline_finish(&tl);
    assert_int_equal(tl.rows[3].n.received, 7);
    assert_int_equal(tl.rows[1].n.received + tl.rows[2].n.received, 10);
    timeline_free(&tl);
    wire_seconds_store_free(st);
}

/* Thousands of peers reporting in a random order, some retiring, some new
 * ones joining late: after every report the final row is where the
 * slowest live peer is (never moving back), and every count is there. */
static void test_timeline_final_follows_the_slowest_of_thousands(void **state)
{
    enum { PEERS = 3000, REPORTS = 60000 };
    struct wire_seconds_store *st = wire_seconds_store_new(0);
    static char peers[PEERS];
    static uint32_t closed[PEERS];
    static int live[PEERS], known[PEERS];
    uint64_t sent = 0;
    uint32_t want = 0;
    unsigned seed = 11;
    struct timeline tl;
    size_t i, k;

    (void)state;
    timeline_init(&tl);
    for (i = 0; i < PEERS / 2; i++) {
        assert_int_equal(timeline_expect(&tl, &peers[i]), 0);
        known[i] = live[i] = 1;
    }
    for (k = 0; k < REPORTS; k++) {
        uint32_t least = UINT32_MAX;

        seed = seed * 1103515245u + 12345u;
        i = (seed >> 8) % PEERS;
        if (!known[i]) {
            known[i] = live[i] = 1;             /* a late peer: folded nothing yet */
        } else if ((seed >> 24) % 500 == 0) {
            timeline_retire(&tl, &peers[i]);
            live[i] = 0;
        }
        if (live[i] && closed[i] < 200) {
            uint32_t first = closed[i] ? closed[i] : 1, next = first + 1 + (seed >> 4) % 3;

            assert_int_equal(timeline_take(&tl, &peers[i], report(st, 0, first, next, 2, 0, NULL)), 0);
            sent += 2 * (uint64_t)(next - first);
            closed[i] = next;
        } else if (live[i] && closed[i] == 0) {
            assert_int_equal(timeline_expect(&tl, &peers[i]), 0);
        }
        for (size_t j = 0; j < PEERS; j++)
            if (live[j] && known[j] && closed[j] < least)
                least = closed[j];
        if (least != UINT32_MAX && least > want)
            want = least;
        assert_int_equal(tl.final, want);
    }
    timeline_finish(&tl);
    {
        uint64_t got = 0;

        for (i = 0; i < tl.n; i++)
            got += tl.rows[i].n.accepted;
        assert_int_equal(got, sent);
    }
    timeline_free(&tl);
    wire_seconds_store_free(st);
}

static void test_timeline_restarted_peer_counts_again_from_zero(void **state)
{
    struct wire_seconds_store *st = wire_seconds_store_new(0);
    struct timeline tl;
    (void)state;
    timeline_init(&tl);
    assert_int_equal(timeline_take(&tl, &sink, report(st, 1, 1, 5, 10, 0, NULL)), 0);
    timeline_restarted(&tl, &sink);
    /* the new process counted 3 in second 5 and nothing before */
    Smtpstorm__Seconds *sc = report(st, 1, 5, 6, 3, 0, NULL);
    sc->before->received = 3;
    assert_int_equal(timeline_take(&tl, &sink, sc), 0);
    assert_int_equal(tl.rows[5].n.received, 3);
    assert_int_equal(tl.rows[1].n.received + tl.rows[2].n.received + tl.rows[3].n.received
                     + tl.rows[4].n.received, 40);
    timeline_free(&tl);
    wire_seconds_store_free(st);
}

static void test_timeline_latency_of_a_second_merges_every_agent(void **state)
{
    struct wire_seconds_store *st = wire_seconds_store_new(1);
    struct hist *fast = malloc(sizeof(*fast)), *slow = malloc(sizeof(*slow));
    struct timeline tl;

    (void)state;
    hist_init(fast);
    hist_init(slow);
    hist_record_n(fast, 1000, 90);
    hist_record_n(slow, 50000, 10);
    timeline_init(&tl);
    assert_int_equal(timeline_expect(&tl, &agent), 0);
    assert_int_equal(timeline_expect(&tl, &other), 0);
    assert_int_equal(timeline_take(&tl, &agent, report(st, 0, 1, 2, 90, 0, fast)), 0);
    assert_int_equal(tl.rows[1].message.count, 0);      /* not final: the other agent is behind */
    assert_int_equal(timeline_take(&tl, &other, report(st, 0, 1, 1, 0, 0, NULL)), 0);
    assert_int_equal(timeline_take(&tl, &other, report(st, 0, 1, 2, 10, 0, slow)), 0);
    assert_int_equal(tl.final, 2);
    assert_int_equal(tl.rows[1].message.count, 100);
    assert_true(tl.rows[1].message.p50_us >= 1000 && tl.rows[1].message.p50_us < 1010);
    assert_true(tl.rows[1].message.p99_us >= 50000 && tl.rows[1].message.max_us == 50000);
    assert_int_equal(tl.late_latencies, 0);
    timeline_free(&tl);
    wire_seconds_store_free(st);
    free(fast);
    free(slow);
}

/* A day of reports, one a second from an agent (with each second's latency)
 * and a sink: the coordinator's memory is the rows (one per second, fixed
 * size) and nothing else grows; a report's size does not grow with the
 * campaign's length (its rows are a fixed window, only the sums' varints
 * lengthen); every count is in its second. */
static void test_timeline_a_day_stays_bounded(void **state)
{
    enum { DAY = 24 * 3600 };
    struct wire_seconds_store *st = wire_seconds_store_new(1);
    struct hist *lat = malloc(sizeof(*lat));
    struct timeline tl;
    struct aggregator a = { 0 };
    size_t size, first_size = 0, max_size = 0;
    Smtpstorm__Seconds *sc;
    uint32_t t;

    (void)state;
    hist_init(lat);
    hist_record_n(lat, 1500, 100);
    timeline_init(&tl);
    assert_int_equal(timeline_expect(&tl, &agent), 0);
    assert_int_equal(timeline_expect(&tl, &sink), 0);
    for (t = 1; t <= DAY; t++) {
        sc = report(st, 0, t, t + 1, 100, 7, lat);
        size = smtpstorm__seconds__get_packed_size(sc);
        first_size = first_size ? first_size : size;
        max_size = size > max_size ? size : max_size;
        assert_int_equal(timeline_take(&tl, &agent, sc), 0);
        sc = report(st, 1, t, t + 1, 100, 7, NULL);
        assert_int_equal(timeline_take(&tl, &sink, sc), 0);
        assert_true(tl.final == t + 1);                 /* final as soon as both passed it */
    }
    assert_true(max_size <= first_size + 32);           /* varints of the sums only */
    assert_true(tl.cap <= 2 * (size_t)(DAY + 2));       /* the rows, grown by doubling */
    assert_true(tl.nfolds == 2);
    timeline_finish(&tl);
    assert_int_equal(timeline_rows(&tl, &a), 0);
    assert_int_equal(a.rows[DAY - 1].cum.accepted, 100ull * DAY);
    assert_int_equal(a.rows[DAY - 1].cum.received, 100ull * DAY);
    assert_int_equal(tl.rows[DAY / 2].message.count, 100);
    print_message("a day: %zu rows of %zu octets (%.1f MB), a report at most %zu octets\n", tl.n,
                  sizeof(struct timeline_row), (double)tl.cap * sizeof(struct timeline_row) / 1e6, max_size);
    agg_free(&a);
    timeline_free(&tl);
    wire_seconds_store_free(st);
    free(lat);
}

static void test_timeline_refuses_a_second_past_a_week(void **state)
{
    struct wire_seconds_store *st = wire_seconds_store_new(0);
    struct timeline tl;

    (void)state;
    timeline_init(&tl);
    assert_int_equal(timeline_take(&tl, &sink, report(st, 1, TIMELINE_SECONDS_MAX, TIMELINE_SECONDS_MAX + 1,
                                                      1, 0, NULL)), -ERANGE);
    assert_int_equal(tl.n, 0);
    timeline_free(&tl);
    wire_seconds_store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeline_counts_by_event_second_and_final_waits_for_all),
        cmocka_unit_test(test_timeline_lost_report_loses_no_count_and_keeps_final_rows),
        cmocka_unit_test(test_timeline_finish_adds_the_open_second),
        cmocka_unit_test(test_timeline_settled_backlog_is_by_event_second),
        cmocka_unit_test(test_timeline_restarted_peer_counts_again_from_zero),
        cmocka_unit_test(test_timeline_final_follows_the_slowest_of_thousands),
        cmocka_unit_test(test_timeline_latency_of_a_second_merges_every_agent),
        cmocka_unit_test(test_timeline_refuses_a_second_past_a_week),
        cmocka_unit_test(test_timeline_a_day_stays_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
