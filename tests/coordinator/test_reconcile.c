/* test_reconcile.c - accepted against received, the exit code's order of
 * severity, and the aggregator's sums and histogram merge across agents and
 * sinks from their last cumulative reports. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "aggregator.h"
#include "reconcile.h"

static void test_reconcile_lost_is_accepted_minus_received(void **state)
{
    struct reconcile_line r;

    (void)state;
    reconcile_line_set(&r, 1000, &(struct sink_count){ 1000, 0, 0, 0 });
    assert_true(r.lost == 0);
    reconcile_line_set(&r, 1000, &(struct sink_count){ 997, 2, 0, 0 });
    assert_true(r.lost == 3 && r.duplicates == 2);
    reconcile_line_set(&r, 10, &(struct sink_count){ 12, 0, 0, 0 });          /* the sink got what the agent saw fail */
    assert_true(r.lost == 0 && r.beyond == 2);
    reconcile_line_set(&r, UINT64_MAX, &(struct sink_count){ 0, 0, 0, 0 });
    assert_true(r.lost == INT64_MAX);
    reconcile_line_set(&r, 0, &(struct sink_count){ UINT64_MAX, 0, 0, 0 });
    assert_true(r.lost == 0 && r.beyond == UINT64_MAX);
}

/* What the sinks refused explains the gap, rejections first, and never
 * more than the gap: lost is what stays unexplained. */
static void test_reconcile_sinks_refusals_explain_the_gap(void **state)
{
    struct reconcile_line r;

    (void)state;
    reconcile_line_set(&r, 1000, &(struct sink_count){ 900, 0, 60, 30 });
    assert_true(r.rejected == 60 && r.deferred == 30 && r.lost == 10);
    reconcile_line_set(&r, 1000, &(struct sink_count){ 900, 0, 80, 80 });     /* one refused, another took it */
    assert_true(r.rejected == 80 && r.deferred == 20 && r.lost == 0);
    reconcile_line_set(&r, 1000, &(struct sink_count){ 1000, 0, 5, 5 });
    assert_true(r.rejected == 0 && r.deferred == 0 && r.lost == 0);
}

static void test_reconcile_total_never_nets_one_agent_against_another(void **state)
{
    struct reconcile_line a, b, total = { 0 };

    (void)state;
    reconcile_line_set(&a, 594, &(struct sink_count){ 596, 0, 0, 0 });        /* its last messages reached the sinks unreported */
    reconcile_line_set(&b, 598, &(struct sink_count){ 456, 0, 0, 0 });        /* 142 really lost */
    reconcile_line_add(&total, &a);
    reconcile_line_add(&total, &b);
    assert_true(total.accepted == 1192 && total.received == 1052);
    assert_true(total.lost == 142 && total.beyond == 2);
}

static void test_reconcile_exit_most_severe_first(void **state)
{
    struct run_outcome o = { .ran = 1 };

    (void)state;
    assert_int_equal(reconcile_exit(&o), EXIT_RUN_OK);
    o.errors = 3;
    assert_int_equal(reconcile_exit(&o), EXIT_RUN_TARGET_ERRORS);
    o.sinks_in_path = 1;
    o.lost = 1;
    assert_int_equal(reconcile_exit(&o), EXIT_RUN_MESSAGES_LOST);
    o.sinks_missing = 1;
    assert_int_equal(reconcile_exit(&o), EXIT_RUN_SINKS_MISSING);
    o.agents_missing = 1;
    assert_int_equal(reconcile_exit(&o), EXIT_RUN_AGENTS_MISSING);
    memset(&o, 0, sizeof(o));
    o.ran = 1;
    o.lost = 5;                                 /* no sinks in the path: unknown, not lost */
    assert_int_equal(reconcile_exit(&o), EXIT_RUN_OK);
    o.lost = -1;
    o.sinks_in_path = 1;
    assert_int_equal(reconcile_exit(&o), EXIT_RUN_OK);
    o.ran = 0;
    assert_int_equal(reconcile_exit(&o), EXIT_RUN_AGENTS_MISSING);
    o.ran = 1;
    o.interrupted = 1;
    assert_int_equal(reconcile_exit(&o), EXIT_RUN_INTERRUPTED);
    o.rejected = 1;
    assert_int_equal(reconcile_exit(&o), EXIT_RUN_TARGET_ERRORS);
    assert_string_equal(reconcile_exit_text(EXIT_RUN_MESSAGES_LOST), "messages lost");
}

static void test_reconcile_thresholds_judge_errors_but_not_losses(void **state)
{
    struct run_outcome o = { .ran = 1, .thresholds = 1, .errors = 3, .rejected = 2 };

    (void)state;
    assert_int_equal(reconcile_exit(&o), EXIT_RUN_OK);          /* the thresholds held */
    o.thresholds_failed = 1;
    assert_int_equal(reconcile_exit(&o), EXIT_RUN_THRESHOLDS);
    o.interrupted = 1;
    assert_int_equal(reconcile_exit(&o), EXIT_RUN_THRESHOLDS);
    o.sinks_in_path = 1;
    o.lost = 2;
    assert_int_equal(reconcile_exit(&o), EXIT_RUN_MESSAGES_LOST);
    o.thresholds_failed = 0;
    assert_int_equal(reconcile_exit(&o), EXIT_RUN_MESSAGES_LOST);
    o.lost = 0;
    assert_int_equal(reconcile_exit(&o), EXIT_RUN_INTERRUPTED);
    assert_string_equal(reconcile_exit_text(EXIT_RUN_THRESHOLDS), "thresholds failed");
}

/* An agent peer whose last report is the Progress of s, via the wire. */
static void agent_with(struct peer *p, const char *id, const struct load_stats *s)
{
    struct wire_progress_store *st = wire_progress_store_new();
    struct wire_progress_meta meta = { .campaign = "c-1", .seq = 1, .elapsed_ns = 1 };
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT, *out;
    uint8_t *buf;
    size_t len;

    memset(p, 0, sizeof(*p));
    snprintf(p->id, sizeof(p->id), "%s", id);
    p->role = PEERLINK_AGENT;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_PROGRESS;
    env.progress = wire_progress_fill(st, s, &meta);
    assert_int_equal(wire_encode(&env, &buf, &len), 0);
    assert_int_equal(wire_decode(buf, len, &out), 0);
    registry_keep_latest(p, out, 1);
    free(buf);
    wire_progress_store_free(st);
}

static void sink_with(struct peer *p, const char *id, uint64_t from_a1, uint64_t from_a2, uint64_t dups)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT, *out;
    Smtpstorm__SinkCounters sc = SMTPSTORM__SINK_COUNTERS__INIT;
    Smtpstorm__CampaignCounters cc = SMTPSTORM__CAMPAIGN_COUNTERS__INIT, other = SMTPSTORM__CAMPAIGN_COUNTERS__INIT;
    Smtpstorm__CampaignCounters *ccs[2] = { &other, &cc };
    Smtpstorm__AgentReceived a1 = SMTPSTORM__AGENT_RECEIVED__INIT, a2 = SMTPSTORM__AGENT_RECEIVED__INIT;
    Smtpstorm__AgentReceived *as[2] = { &a1, &a2 };
    uint8_t *buf;
    size_t len;

    memset(p, 0, sizeof(*p));
    snprintf(p->id, sizeof(p->id), "%s", id);
    p->role = PEERLINK_SINK;
    a1.agent = "a1";
    a1.received = from_a1;
    a1.duplicates = dups;
    a2.agent = "a2";
    a2.received = from_a2;
    cc.campaign = "c-1";
    cc.received = from_a1 + from_a2;
    cc.duplicates = dups;
    cc.agents = as;
    cc.n_agents = 2;
    other.campaign = "c-0";                     /* an earlier campaign: not counted */
    other.received = 999;
    sc.campaigns = ccs;
    sc.n_campaigns = 2;
    sc.seq = 1;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_SINK_COUNTERS;
    env.sink_counters = &sc;
    assert_int_equal(wire_encode(&env, &buf, &len), 0);
    assert_int_equal(wire_decode(buf, len, &out), 0);
    registry_keep_latest(p, out, 1);
    free(buf);
}

static void test_aggregator_merges_agents_and_sinks(void **state)
{
    struct load_stats *s1 = malloc(sizeof(*s1)), *s2 = malloc(sizeof(*s2));
    struct load_stats *want = malloc(sizeof(*want)), *got = malloc(sizeof(*got));
    struct peer *agents[2], *sinks[2];
    struct agg_totals t;
    struct sink_count sc;
    struct hist *h = malloc(sizeof(*h));
    int i;

    (void)state;
    for (i = 0; i < 2; i++) {
        agents[i] = calloc(1, sizeof(struct peer));
        sinks[i] = calloc(1, sizeof(struct peer));
    }
    stats_init(s1);
    stats_init(s2);
    s1->messages_accepted = 600;
    s2->messages_accepted = 400;
    s2->errors = 2;
    for (i = 0; i < 1000; i++) {
        hist_record(&s1->latency[PHASE_MESSAGE], 1000 + (uint64_t)i);
        hist_record(&s2->latency[PHASE_MESSAGE], 50000 + (uint64_t)i * 3);
    }
    agent_with(agents[0], "a1", s1);
    agent_with(agents[1], "a2", s2);
    sink_with(sinks[0], "s1", 300, 200, 1);
    sink_with(sinks[1], "s2", 300, 199, 0);
    agg_totals(agents, 2, sinks, 2, "c-1", &t);
    assert_true(t.accepted == 1000 && t.errors == 2);
    assert_true(t.received == 999 && t.duplicates == 1);
    agg_sink_for_agent(sinks, 2, "c-1", "a2", &sc);
    assert_true(sc.received == 399 && sc.duplicates == 0 && sc.rejected == 0 && sc.deferred == 0);
    stats_init(want);
    stats_merge(want, s1);
    stats_merge(want, s2);
    stats_init(got);
    agg_merge_stats(agents, 2, got);
    assert_memory_equal(&want->latency[PHASE_MESSAGE], &got->latency[PHASE_MESSAGE], sizeof(struct hist));
    hist_init(h);
    agg_merge_phase(agents, 2, PHASE_MESSAGE, h);
    assert_true(hist_percentile(h, 99) == hist_percentile(&want->latency[PHASE_MESSAGE], 99));
    assert_true(hist_percentile(h, 50) <= 51000);
    for (i = 0; i < 2; i++) {
        registry_keep_latest(agents[i], NULL, 0);
        registry_keep_latest(sinks[i], NULL, 0);
        free(agents[i]);
        free(sinks[i]);
    }
    free(s1);
    free(s2);
    free(want);
    free(got);
    free(h);
}

static void test_aggregator_timeline_fills_skipped_seconds(void **state)
{
    struct aggregator a = { 0 };
    struct agg_totals t = { 0 };

    (void)state;
    t.accepted = 10;
    assert_int_equal(agg_row_add(&a, 0, &t), 0);
    assert_int_equal(agg_row_add(&a, 0, &t), 0);        /* same second: no new row */
    t.accepted = 40;
    assert_int_equal(agg_row_add(&a, 3, &t), 0);
    assert_int_equal(a.n, 4);
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(a.rows[i].t, i);
    assert_true(a.rows[3].cum.accepted == 40);
    agg_free(&a);
}

static void test_aggregator_flow_separates_injection_delivery_and_backlog(void **state)
{
    static const uint64_t acc[] = { 0, 100, 200, 250, 250 }, rec[] = { 0, 20, 120, 200, 250 };
    struct aggregator a = { 0 };
    struct agg_totals t = { 0 };
    struct agg_flow fl;
    uint32_t i;

    (void)state;
    agg_flow(&a, &fl);                                  /* empty: all zero */
    assert_true(fl.inject_s == 0 && fl.deliver_s == 0 && fl.backlog_peak == 0);
    for (i = 0; i < 5; i++) {
        t.accepted = acc[i];
        t.received = rec[i];
        assert_int_equal(agg_row_add(&a, i, &t), 0);
    }
    assert_int_equal(agg_row_backlog(&a, 1), 80);
    agg_flow(&a, &fl);
    assert_true(fl.accepted == 250 && fl.received == 250);
    assert_true(fl.inject_peak == 100 && fl.deliver_peak == 100);
    /* the last 50 accepted at 100/s: half of second 3; received at 80/s */
    assert_true(fl.inject_s > 2.49 && fl.inject_s < 2.51);
    assert_true(fl.deliver_s > 3.62 && fl.deliver_s < 3.63);
    assert_true(fl.inject_rate > 99.9 && fl.inject_rate < 100.1);
    assert_true(fl.backlog_peak == 80 && fl.backlog_peak_t == 1 && fl.backlog_end == 0);
    /* a sink that ran ahead of the agents' reports: negative, never a peak */
    t.accepted = 250;
    t.received = 260;
    assert_int_equal(agg_row_add(&a, 5, &t), 0);
    assert_true(agg_row_backlog(&a, 5) == -10);
    agg_flow(&a, &fl);
    assert_true(fl.backlog_peak == 80 && fl.backlog_end == -10);
    agg_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reconcile_lost_is_accepted_minus_received),
        cmocka_unit_test(test_reconcile_sinks_refusals_explain_the_gap),
        cmocka_unit_test(test_reconcile_total_never_nets_one_agent_against_another),
        cmocka_unit_test(test_reconcile_exit_most_severe_first),
        cmocka_unit_test(test_reconcile_thresholds_judge_errors_but_not_losses),
        cmocka_unit_test(test_aggregator_merges_agents_and_sinks),
        cmocka_unit_test(test_aggregator_timeline_fills_skipped_seconds),
        cmocka_unit_test(test_aggregator_flow_separates_injection_delivery_and_backlog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
