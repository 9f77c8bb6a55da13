/* test_planner.c - the workload split: parts sum exactly to what was asked
 * for awkward numbers and weights, shares follow cores, message-number
 * segments are disjoint and cover the campaign, sessions spread evenly
 * over targets, phases split too, and impossible splits are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "planner.h"

static void spec_init(struct workload_spec *w)
{
    static char *targets[] = { "t1:25", "t2:25", "t3:25" };

    memset(w, 0, sizeof(*w));
    w->messages = 1;
    w->recipients = 1;
    w->targets = targets;
    w->n_targets = 3;
}

static void test_plan_split_sums_exactly_with_weights(void **state)
{
    uint64_t w[3] = { 1, 2, 4 }, parts[3];

    (void)state;
    assert_int_equal(plan_split(10, w, 3, parts), 0);
    assert_true(parts[0] + parts[1] + parts[2] == 10);
    assert_true(parts[0] == 1 && parts[1] == 3 && parts[2] == 6);
    assert_int_equal(plan_split(UINT64_MAX, w, 3, parts), 0);
    assert_true(parts[0] + parts[1] + parts[2] == UINT64_MAX);
    w[0] = w[1] = w[2] = 0;
    assert_int_equal(plan_split(5, w, 3, parts), -EINVAL);
}

static void test_plan_m10_over_cores_1_2_4(void **state)
{
    struct workload_spec w;
    struct plan_part parts[3];
    uint32_t cores[3] = { 1, 2, 4 };
    char err[200];

    (void)state;
    spec_init(&w);
    w.messages = 10;
    w.messages_set = 1;
    w.sessions = 7;
    w.sessions_set = 1;
    assert_int_equal(plan_make(&w, cores, 3, parts, err, sizeof(err)), 3);
    assert_true(parts[0].messages == 1 && parts[1].messages == 3 && parts[2].messages == 6);
    assert_true(parts[0].sessions == 1 && parts[1].sessions == 2 && parts[2].sessions == 4);
    /* Contiguous, disjoint segments of message numbers 0..9, in agent order. */
    assert_true(parts[0].seq_first == 0 && parts[1].seq_first == 1 && parts[2].seq_first == 4);
    assert_true(parts[0].seq_stride == 1 && parts[2].seq_stride == 1);
    /* Sessions 0, 1-2, 3-6 round-robin over three targets. */
    assert_true(parts[0].target_first == 0 && parts[1].target_first == 1 && parts[2].target_first == 0);
}

/* Check every invariant of a count-mode plan. */
static void check_plan(const struct workload_spec *w, const uint32_t *cores, size_t n,
                       const struct plan_part *parts, int k)
{
    uint64_t msgs = 0, sess = 0, rate = 0, next = 0, per_target[3] = { 0 }, j;
    size_t a, active = 0;

    for (a = 0; a < n; a++) {
        if (!parts[a].active)
            continue;
        active++;
        assert_true(parts[a].sessions >= 1 && parts[a].messages >= 1);
        assert_true(parts[a].seq_first == next);        /* disjoint and gap-free */
        next += parts[a].messages;
        msgs += parts[a].messages;
        sess += parts[a].sessions;
        rate += parts[a].rate_milli;
        for (j = 0; j < parts[a].sessions; j++)
            per_target[(parts[a].target_first + j) % 3]++;
        /* A busier machine never gets less than a lesser one. */
        for (size_t b = 0; b < n; b++)
            if (parts[b].active && cores[b] > cores[a])
                assert_true(parts[b].messages + 1 >= parts[a].messages);
    }
    assert_int_equal(active, (size_t)k);
    assert_true(msgs == w->messages);
    assert_true(sess == (w->sessions_set ? w->sessions : n));
    assert_true(rate == (uint64_t)(w->rate * 1000 + 0.5));
    /* Sessions spread evenly: targets differ by at most one. */
    for (j = 0; j < 3; j++)
        assert_true(per_target[j] + 1 >= per_target[(j + 1) % 3]);
}

static void test_plan_awkward_numbers_always_sum(void **state)
{
    static const uint64_t messages[] = { 1, 2, 3, 7, 10, 11, 97, 1000, 1000003, 18446744073709551ULL };
    static const uint32_t sessions[] = { 1, 2, 3, 5, 13, 100 };
    static const double rates[] = { 0, 1, 3.333, 1000.5 };
    struct workload_spec w;
    struct plan_part parts[7];
    uint32_t cores[7];
    char err[200];
    size_t mi, si, ri, n;
    int k;

    (void)state;
    srand(7);
    for (n = 1; n <= 7; n++) {
        for (mi = 0; mi < sizeof(messages) / sizeof(messages[0]); mi++) {
            for (si = 0; si < sizeof(sessions) / sizeof(sessions[0]); si++) {
                for (ri = 0; ri < sizeof(rates) / sizeof(rates[0]); ri++) {
                    for (size_t a = 0; a < n; a++)
                        cores[a] = 1 + (uint32_t)rand() % 64;
                    spec_init(&w);
                    w.messages = messages[mi];
                    w.messages_set = 1;
                    w.sessions = sessions[si];
                    w.sessions_set = 1;
                    w.rate = rates[ri];
                    k = plan_make(&w, cores, n, parts, err, sizeof(err));
                    assert_true(k >= 1);
                    check_plan(&w, cores, n, parts, k);
                }
            }
        }
    }
}

static void test_plan_default_sessions_one_per_agent(void **state)
{
    struct workload_spec w;
    struct plan_part parts[4];
    uint32_t cores[4] = { 2, 2, 2, 2 };
    char err[200];

    (void)state;
    spec_init(&w);
    w.messages = 100;
    w.messages_set = 1;
    assert_int_equal(plan_make(&w, cores, 4, parts, err, sizeof(err)), 4);
    for (int a = 0; a < 4; a++)
        assert_true(parts[a].sessions == 1 && parts[a].messages == 25);
}

static void test_plan_fewer_messages_than_agents_leaves_smallest_out(void **state)
{
    struct workload_spec w;
    struct plan_part parts[3];
    uint32_t cores[3] = { 1, 8, 4 };
    char err[200];

    (void)state;
    spec_init(&w);
    w.messages = 2;
    w.messages_set = 1;
    w.sessions = 3;
    w.sessions_set = 1;
    assert_int_equal(plan_make(&w, cores, 3, parts, err, sizeof(err)), 2);
    assert_false(parts[0].active);
    assert_true(parts[1].active && parts[2].active);
    assert_true(parts[1].messages + parts[2].messages == 2);
    assert_true(parts[1].sessions + parts[2].sessions == 3);
}

static void test_plan_duration_mode_interleaves_sequence_numbers(void **state)
{
    struct workload_spec w;
    struct plan_part parts[3];
    uint32_t cores[3] = { 1, 1, 1 };
    char err[200];
    uint64_t seen[30] = { 0 };

    (void)state;
    spec_init(&w);
    w.duration_ms = 60000;
    w.rate = 100;
    assert_int_equal(plan_make(&w, cores, 3, parts, err, sizeof(err)), 3);
    for (int a = 0; a < 3; a++) {
        assert_true(parts[a].messages == 0 && parts[a].seq_stride == 3);
        for (uint64_t k = 0; k < 10; k++)
            seen[parts[a].seq_first + k * parts[a].seq_stride]++;
    }
    for (int i = 0; i < 30; i++)
        assert_true(seen[i] == 1);
    assert_true(parts[0].rate_milli + parts[1].rate_milli + parts[2].rate_milli == 100000);
}

static void test_plan_phases_split_and_refuse_too_small(void **state)
{
    struct workload_spec w;
    struct plan_part parts[3];
    struct phase_spec ph[2] = {
        { .kind = PHASE_KIND_RAMP, .duration_ms = 10000, .rate = 999.999 },
        { .kind = PHASE_KIND_SPIKE, .duration_ms = 5000, .sessions = 10 },
    };
    uint32_t cores[3] = { 1, 2, 4 };
    char err[200];

    (void)state;
    spec_init(&w);
    w.phases = ph;
    w.n_phases = 2;
    w.sessions = 7;
    w.sessions_set = 1;
    assert_int_equal(plan_make(&w, cores, 3, parts, err, sizeof(err)), 3);
    assert_true(parts[0].phase_rate_milli[0] + parts[1].phase_rate_milli[0] + parts[2].phase_rate_milli[0] == 999999);
    assert_true(parts[0].phase_sessions[1] + parts[1].phase_sessions[1] + parts[2].phase_sessions[1] == 10);
    assert_true(parts[0].messages == 0);                /* phases without -m: until they end */
    ph[1].sessions = 2;                                 /* fewer than the 3 agents */
    assert_int_equal(plan_make(&w, cores, 3, parts, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "phase 2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_split_sums_exactly_with_weights),
        cmocka_unit_test(test_plan_m10_over_cores_1_2_4),
        cmocka_unit_test(test_plan_awkward_numbers_always_sum),
        cmocka_unit_test(test_plan_default_sessions_one_per_agent),
        cmocka_unit_test(test_plan_fewer_messages_than_agents_leaves_smallest_out),
        cmocka_unit_test(test_plan_duration_mode_interleaves_sequence_numbers),
        cmocka_unit_test(test_plan_phases_split_and_refuse_too_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
