/* test_wire.c - lib/wire: envelopes round-trip, garbage, other versions and
 * oversize frames are rejected, load_stats and histograms survive the wire
 * exactly, inconsistent histograms are refused, heartbeat clock samples,
 * and the beat a progress report or a sink's counters carry. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wire.h"
#include "wire_build.h"

static Smtpstorm__Envelope *round_trip(Smtpstorm__Envelope *env)
{
    Smtpstorm__Envelope *out = NULL;
    uint8_t *buf;
    size_t len;

    assert_int_equal(wire_encode(env, &buf, &len), 0);
    assert_int_equal(wire_decode(buf, len, &out), 0);
    free(buf);
    return out;
}

static void test_wire_hello_round_trips(void **state)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT, *out;
    Smtpstorm__Hello h = SMTPSTORM__HELLO__INIT;

    (void)state;
    h.id = "agent-7";
    h.host = "load01.example";
    h.cores = 16;
    h.version = "0.1.0";
    h.role = SMTPSTORM__ROLE__ROLE_AGENT;
    h.clock_ns = 1795000000123456789ULL;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_HELLO;
    env.hello = &h;
    out = round_trip(&env);
    assert_int_equal(out->version, WIRE_VERSION);
    assert_int_equal(out->body_case, SMTPSTORM__ENVELOPE__BODY_HELLO);
    assert_string_equal(out->hello->id, "agent-7");
    assert_string_equal(out->hello->host, "load01.example");
    assert_int_equal(out->hello->cores, 16);
    assert_true(out->hello->clock_ns == 1795000000123456789ULL);
    assert_string_equal(wire_body_name(out), "hello");
    wire_free(out);
}

static void test_wire_workload_round_trips_with_phases(void **state)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT, *out;
    Smtpstorm__Workload w = SMTPSTORM__WORKLOAD__INIT;
    Smtpstorm__Phase ph = SMTPSTORM__PHASE__INIT, *phs[1] = { &ph };
    char *targets[] = { "127.0.0.1:2525", "unix:/tmp/x" };

    (void)state;
    w.campaign = "c-1";
    w.targets = targets;
    w.n_targets = 2;
    w.messages = 3;
    w.sessions = 2;
    w.seq_first = 7;
    w.seq_stride = 1;
    w.rate_milli = 1500;
    w.timeout_ms = 5000;
    ph.kind = SMTPSTORM__PHASE__KIND__RAMP;
    ph.duration_ms = 30000;
    w.phases = phs;
    w.n_phases = 1;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_WORKLOAD;
    env.workload = &w;
    out = round_trip(&env);
    assert_int_equal(out->workload->n_targets, 2);
    assert_string_equal(out->workload->targets[1], "unix:/tmp/x");
    assert_true(out->workload->seq_first == 7 && out->workload->rate_milli == 1500);
    assert_true(out->workload->timeout_ms == 5000);
    assert_int_equal(out->workload->phases[0]->kind, SMTPSTORM__PHASE__KIND__RAMP);
    wire_free(out);
}

static void test_wire_workload_without_targets_is_refused(void **state)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT, *out;
    Smtpstorm__Workload w = SMTPSTORM__WORKLOAD__INIT;
    uint8_t *buf;
    size_t len;

    (void)state;
    w.campaign = "c-1";
    w.seq_stride = 1;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_WORKLOAD;
    env.workload = &w;
    assert_int_equal(wire_encode(&env, &buf, &len), 0);
    assert_int_equal(wire_decode(buf, len, &out), -EBADMSG);
    assert_null(out);
    free(buf);
}

/* decode_rc - what wire_decode says of env encoded. */
static int decode_rc(Smtpstorm__Envelope *env)
{
    Smtpstorm__Envelope *out;
    uint8_t *buf;
    size_t len;
    int rc;

    assert_int_equal(wire_encode(env, &buf, &len), 0);
    rc = wire_decode(buf, len, &out);
    assert_true(rc == 0 ? out != NULL : out == NULL);
    wire_free(out);
    free(buf);
    return rc;
}

static char *one_target[] = { "127.0.0.1:2525" };

/* workload_envelope - env holding w, a workload of campaign c-1 to one target. */
static void workload_envelope(Smtpstorm__Envelope *env, Smtpstorm__Workload *w)
{
    w->campaign = "c-1";
    w->targets = one_target;
    w->n_targets = 1;
    w->seq_stride = 1;
    env->body_case = SMTPSTORM__ENVELOPE__BODY_WORKLOAD;
    env->workload = w;
}

static void test_wire_workload_timeout_over_a_day_is_refused(void **state)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__Workload w = SMTPSTORM__WORKLOAD__INIT;

    (void)state;
    workload_envelope(&env, &w);
    w.timeout_ms = WIRE_TIMEOUT_MAX_MS;
    assert_int_equal(decode_rc(&env), 0);
    w.timeout_ms = WIRE_TIMEOUT_MAX_MS + 1;
    assert_int_equal(decode_rc(&env), -EBADMSG);
}

/* An extra share (--rebalance) carries messages and sessions, or is refused. */
static void test_wire_workload_extension_needs_messages_and_sessions(void **state)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__Workload w = SMTPSTORM__WORKLOAD__INIT;

    (void)state;
    workload_envelope(&env, &w);
    w.seq_stride = 2;
    w.extension = 1;
    assert_int_equal(decode_rc(&env), -EBADMSG);
    w.messages = 100;
    assert_int_equal(decode_rc(&env), -EBADMSG);
    w.sessions = 3;
    assert_int_equal(decode_rc(&env), 0);
    w.messages = 0;                     /* a part may be timed; an extra share never */
    assert_int_equal(decode_rc(&env), -EBADMSG);
}

/* A campaign of WIRE_AGENTS_MAX agents (more than WIRE_LIST_MAX): the
 * sinks' Start lists every agent's offset and a sink's counters name every
 * agent; one more is refused. */
static void test_wire_start_and_sink_counters_take_every_agent_of_a_campaign(void **state)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__Start st = SMTPSTORM__START__INIT;
    Smtpstorm__SinkCounters sc = SMTPSTORM__SINK_COUNTERS__INIT;
    Smtpstorm__CampaignCounters cc = SMTPSTORM__CAMPAIGN_COUNTERS__INIT, *ccp = &cc;
    Smtpstorm__PeerOffset *offs = calloc(WIRE_AGENTS_MAX + 1, sizeof(*offs)), **op;
    Smtpstorm__AgentReceived *ars = calloc(WIRE_AGENTS_MAX + 1, sizeof(*ars)), **ap;
    char (*ids)[16] = calloc(WIRE_AGENTS_MAX + 1, sizeof(*ids));
    size_t i;

    (void)state;
    op = calloc(WIRE_AGENTS_MAX + 1, sizeof(*op));
    ap = calloc(WIRE_AGENTS_MAX + 1, sizeof(*ap));
    assert_true(offs && ars && ids && op && ap);
    assert_true(WIRE_AGENTS_MAX > WIRE_LIST_MAX);
    for (i = 0; i <= WIRE_AGENTS_MAX; i++) {
        snprintf(ids[i], sizeof(ids[i]), "sim-%zu", i + 1);
        smtpstorm__peer_offset__init(&offs[i]);
        offs[i].id = ids[i];
        offs[i].offset_ns = (int64_t)i;
        op[i] = &offs[i];
        smtpstorm__agent_received__init(&ars[i]);
        ars[i].agent = ids[i];
        ars[i].received = i;
        ap[i] = &ars[i];
    }
    st.campaign = "c-1";
    st.agents = op;
    st.n_agents = WIRE_AGENTS_MAX;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_START;
    env.start = &st;
    assert_int_equal(decode_rc(&env), 0);
    st.n_agents = WIRE_AGENTS_MAX + 1;
    assert_int_equal(decode_rc(&env), -EBADMSG);

    cc.campaign = "c-1";
    cc.agents = ap;
    cc.n_agents = WIRE_AGENTS_MAX;
    sc.campaigns = &ccp;
    sc.n_campaigns = 1;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_SINK_COUNTERS;
    env.sink_counters = &sc;
    assert_int_equal(decode_rc(&env), 0);
    cc.n_agents = WIRE_AGENTS_MAX + 1;
    assert_int_equal(decode_rc(&env), -EBADMSG);
    free(ap);
    free(op);
    free(ids);
    free(ars);
    free(offs);
}

static void test_wire_garbage_is_rejected(void **state)
{
    static const char *const frames[] = {
        "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", "\x0f", ("\x0a\x10" "abc"), "", "\x08\x05",
        "\x08\x05\x52\x03\x0a\x01!",      /* a hello with an id that is not an id */
    };                                  /* \x08\x05: version 5, WIRE_VERSION (checked below) */
    static const size_t lens[] = { 11, 1, 5, 0, 2, 7 };
    Smtpstorm__Envelope *out;
    uint8_t junk[512];
    size_t i, j;

    (void)state;
    assert_int_equal(WIRE_VERSION, 5);
    for (i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
        assert_int_equal(wire_decode(frames[i], lens[i], &out), -EBADMSG);
        assert_null(out);
    }
    /* Random input: never a crash, never a leak (sanitizers watch). */
    srand(4);
    for (i = 0; i < 20000; i++) {
        size_t len = (size_t)rand() % sizeof(junk);

        for (j = 0; j < len; j++)
            junk[j] = (uint8_t)rand();
        if (wire_decode(junk, len, &out) == 0 || out != NULL)
            wire_free(out);
    }
}

static void test_wire_other_version_is_named(void **state)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT, *out;
    Smtpstorm__Hello h = SMTPSTORM__HELLO__INIT;
    uint8_t buf[256];
    size_t len;

    (void)state;
    h.id = "old-agent";
    env.version = WIRE_VERSION + 1;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_HELLO;
    env.hello = &h;
    len = smtpstorm__envelope__pack(&env, buf);
    assert_int_equal(wire_decode(buf, len, &out), -EPROTONOSUPPORT);
    assert_non_null(out);
    assert_int_equal(out->version, WIRE_VERSION + 1);
    assert_string_equal(out->hello->id, "old-agent");
    wire_free(out);
}

static void test_wire_oversize_is_rejected(void **state)
{
    Smtpstorm__Envelope *out;
    uint8_t *big = calloc(1, WIRE_MSG_MAX + 1);

    (void)state;
    assert_non_null(big);
    assert_int_equal(wire_decode(big, WIRE_MSG_MAX + 1, &out), -EMSGSIZE);
    assert_null(out);
    free(big);
}

static void fill_stats(struct load_stats *s, unsigned seed)
{
    unsigned i;

    stats_init(s);
    s->sessions = 10 + seed;
    s->messages_attempted = 1000 + seed;
    s->messages_accepted = 990 + seed;
    s->messages_rejected = 7;
    s->recipients = 1990;
    s->bytes = 123456789;
    stats_count_error(s, ERROR_TIMEOUT);
    stats_count_error(s, ERROR_RESET);
    stats_count_error(s, ERROR_TOO_BIG);        /* the last kinds cross the wire too */
    stats_count_error(s, ERROR_NO_SMTPUTF8);
    stats_count_reply(s, 250);
    stats_count_reply(s, 451);
    stats_count_reply(s, 99);
    for (i = 0; i < 5000; i++) {
        hist_record(&s->latency[PHASE_MESSAGE], (uint64_t)(i * 7919u + seed) % 2000000u);
        hist_record(&s->latency[PHASE_CONNECT], i % 300);
    }
    hist_record(&s->latency[PHASE_DOT], HIST_VALUE_MAX);
}

static void assert_hist_equal(const struct hist *a, const struct hist *b)
{
    assert_true(a->count == b->count);
    assert_true(a->sum == b->sum);
    assert_true(a->min == b->min);
    assert_true(a->max == b->max);
    assert_memory_equal(a->slots, b->slots, sizeof(a->slots));
}

static void assert_stats_equal(const struct load_stats *a, const struct load_stats *b)
{
    int i;

    assert_true(a->sessions == b->sessions && a->messages_attempted == b->messages_attempted);
    assert_true(a->messages_accepted == b->messages_accepted && a->messages_rejected == b->messages_rejected);
    assert_true(a->errors == b->errors && a->recipients == b->recipients && a->bytes == b->bytes);
    assert_memory_equal(a->errors_by_kind, b->errors_by_kind, sizeof(a->errors_by_kind));
    assert_memory_equal(a->replies, b->replies, sizeof(a->replies));
    for (i = 0; i < PHASE_COUNT; i++)
        assert_hist_equal(&a->latency[i], &b->latency[i]);
}

static struct load_stats *progress_round_trip(const struct load_stats *in)
{
    struct wire_progress_store *st = wire_progress_store_new();
    struct wire_progress_meta meta = { .campaign = "c-1", .seq = 5, .elapsed_ns = 1000, .cpu_ns = 10, .sessions_active = 3 };
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT, *out;
    struct load_stats *back = malloc(sizeof(*back));

    assert_non_null(st);
    env.body_case = SMTPSTORM__ENVELOPE__BODY_PROGRESS;
    env.progress = wire_progress_fill(st, in, &meta);
    assert_non_null(env.progress);
    out = round_trip(&env);
    assert_true(out->progress->seq == 5);
    stats_init(back);
    assert_int_equal(wire_progress_merge(back, out->progress), 0);
    wire_free(out);
    wire_progress_store_free(st);
    return back;
}

static void test_wire_progress_round_trips_stats_exactly(void **state)
{
    struct load_stats *in = malloc(sizeof(*in)), *back;

    (void)state;
    fill_stats(in, 1);
    back = progress_round_trip(in);
    assert_stats_equal(in, back);
    assert_true(hist_percentile(&back->latency[PHASE_MESSAGE], 99) == hist_percentile(&in->latency[PHASE_MESSAGE], 99));
    free(back);
    free(in);
}

static void test_wire_merged_progress_equals_merged_stats(void **state)
{
    struct load_stats *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b)), *want = malloc(sizeof(*want));
    struct load_stats *ba, *bb;

    (void)state;
    fill_stats(a, 1);
    fill_stats(b, 2);
    stats_init(want);
    stats_merge(want, a);
    stats_merge(want, b);
    ba = progress_round_trip(a);
    bb = progress_round_trip(b);
    stats_merge(ba, bb);        /* what the coordinator does: merge decoded agents */
    assert_stats_equal(want, ba);
    assert_true(hist_percentile(&ba->latency[PHASE_MESSAGE], 99) <= ba->latency[PHASE_MESSAGE].max);
    free(a);
    free(b);
    free(want);
    free(ba);
    free(bb);
}

static void test_wire_empty_stats_round_trip(void **state)
{
    struct load_stats *in = malloc(sizeof(*in)), *back;

    (void)state;
    stats_init(in);
    back = progress_round_trip(in);
    assert_stats_equal(in, back);
    free(back);
    free(in);
}

static void test_wire_hist_check_refuses_inconsistent(void **state)
{
    struct wire_hist_store *st = malloc(sizeof(*st));
    struct hist *h = malloc(sizeof(*h)), *dst = malloc(sizeof(*dst));
    Smtpstorm__Hist *pb;

    (void)state;
    hist_init(h);
    hist_init(dst);
    hist_record(h, 5);
    hist_record(h, 500);
    hist_record(h, 50000);
    pb = wire_hist_fill(st, h, PHASE_MESSAGE);
    assert_int_equal(wire_hist_check(pb), 0);
    pb->count++;                                    /* counts do not add up */
    assert_int_equal(wire_hist_check(pb), -EBADMSG);
    assert_int_equal(wire_hist_merge(dst, pb), -EBADMSG);
    assert_true(dst->count == 0);
    pb->count--;
    st->deltas[1] = 0;                              /* slots must increase */
    assert_int_equal(wire_hist_check(pb), -EBADMSG);
    st->deltas[1] = HIST_SLOTS;                     /* out of range */
    assert_int_equal(wire_hist_check(pb), -EBADMSG);
    pb = wire_hist_fill(st, h, PHASE_COUNT);        /* no such phase */
    assert_int_equal(wire_hist_check(pb), -EBADMSG);
    pb = wire_hist_fill(st, h, PHASE_MESSAGE);
    pb->min = pb->max + 1;
    assert_int_equal(wire_hist_check(pb), -EBADMSG);
    free(st);
    free(h);
    free(dst);
}

static void test_wire_beat_estimates_offset_and_rtt(void **state)
{
    struct wire_beat mine = { 0 }, theirs = { 0 };
    Smtpstorm__Heartbeat hb;
    int64_t offset;
    uint64_t rtt;
    const uint64_t skew = 5 * 1000000000ULL;   /* their clock runs 5 s ahead */

    (void)state;
    /* We send at our wall 1000 s; they get it 2 ms later, answer 1 ms after. */
    wire_beat_fill(&hb, &mine, 1000000000000ULL, 50);
    assert_int_equal(wire_beat_receive(&theirs, &hb, 1000002000000ULL + skew, 100, &offset, &rtt), -EAGAIN);
    wire_beat_fill(&hb, &theirs, 1000003000000ULL + skew, 100 + 1000000);
    assert_true(hb.held_ns == 1000000);
    assert_int_equal(wire_beat_receive(&mine, &hb, 1000005000000ULL, 200, &offset, &rtt), 0);
    assert_true(rtt == 4000000);
    assert_true(offset == (int64_t)skew - 0);
}

/* One round of the clock exchange of test_wire_beat_estimates_offset_and_rtt,
 * the answer carried by a report rather than a Heartbeat: we beat at our
 * wall 1000 s, they get it 2 ms later and answer 1 ms after in *theirs_hb;
 * their clock runs 5 s ahead. */
#define BEAT_SKEW (5 * 1000000000LL)
static void beat_answer(struct wire_beat *mine, Smtpstorm__Heartbeat *theirs_hb, const char *campaign)
{
    struct wire_beat theirs = { 0 };
    Smtpstorm__Heartbeat hb;
    int64_t offset;
    uint64_t rtt;

    memset(mine, 0, sizeof(*mine));
    wire_beat_fill(&hb, mine, 1000000000000ULL, 50);
    assert_int_equal(wire_beat_receive(&theirs, &hb, 1000002000000ULL + BEAT_SKEW, 100, &offset, &rtt), -EAGAIN);
    wire_beat_fill(theirs_hb, &theirs, 1000003000000ULL + BEAT_SKEW, 100 + 1000000);
    theirs_hb->campaign = (char *)campaign;
}

/* The beat in a decoded envelope is the one sent, and gives the same
 * clock sample as a Heartbeat would. */
static void assert_beat_sample(const Smtpstorm__Envelope *out, struct wire_beat *mine, const char *campaign)
{
    const Smtpstorm__Heartbeat *hb = wire_beat_of(out);
    int64_t offset;
    uint64_t rtt;

    assert_non_null(hb);
    assert_true(hb->sender_ns == 1000003000000ULL + BEAT_SKEW);
    assert_true(hb->echo_ns == 1000000000000ULL);
    assert_true(hb->held_ns == 1000000);
    assert_string_equal(hb->campaign, campaign);
    assert_int_equal(wire_beat_receive(mine, hb, 1000005000000ULL, 200, &offset, &rtt), 0);
    assert_true(rtt == 4000000);
    assert_true(offset == BEAT_SKEW);
}

static void test_wire_progress_carries_a_beat(void **state)
{
    struct wire_progress_store *st = wire_progress_store_new();
    struct wire_progress_meta meta = { .campaign = "c-1", .seq = 9, .elapsed_ns = 1000 };
    struct load_stats *in = malloc(sizeof(*in)), *back = malloc(sizeof(*back));
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT, *out;
    Smtpstorm__Done done = SMTPSTORM__DONE__INIT;
    Smtpstorm__Heartbeat hb;
    struct wire_beat mine;

    (void)state;
    assert_non_null(st);
    fill_stats(in, 3);
    beat_answer(&mine, &hb, "c-1");
    env.body_case = SMTPSTORM__ENVELOPE__BODY_PROGRESS;
    env.progress = wire_progress_fill(st, in, &meta);
    env.progress->beat = &hb;
    out = round_trip(&env);
    assert_beat_sample(out, &mine, "c-1");
    stats_init(back);                       /* the report itself is untouched by its beat */
    assert_int_equal(wire_progress_merge(back, out->progress), 0);
    assert_stats_equal(in, back);
    assert_true(out->progress->seq == 9);
    wire_free(out);

    hb.campaign = "not an id!";             /* a beat is checked as a Heartbeat is */
    assert_int_equal(decode_rc(&env), -EBADMSG);
    hb.campaign = "";

    env.progress->beat = NULL;              /* a report without one carries none */
    out = round_trip(&env);
    assert_null(wire_beat_of(out));
    wire_free(out);

    done.campaign = "c-1";                  /* a Done's final is no beat (it may be resent) */
    done.final = wire_progress_fill(st, in, &meta);
    done.final->beat = &hb;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_DONE;
    env.done = &done;
    out = round_trip(&env);
    assert_null(wire_beat_of(out));
    wire_free(out);
    wire_progress_store_free(st);
    free(in);
    free(back);
}

static void test_wire_sink_counters_carry_a_beat(void **state)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT, *out;
    Smtpstorm__SinkCounters sc = SMTPSTORM__SINK_COUNTERS__INIT;
    Smtpstorm__Heartbeat hb;
    struct wire_beat mine;

    (void)state;
    beat_answer(&mine, &hb, "");
    sc.seq = 4;
    sc.messages = 77;
    sc.beat = &hb;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_SINK_COUNTERS;
    env.sink_counters = &sc;
    out = round_trip(&env);
    assert_beat_sample(out, &mine, "");
    assert_true(out->sink_counters->seq == 4 && out->sink_counters->messages == 77);
    wire_free(out);
    hb.campaign = "x y";
    assert_int_equal(decode_rc(&env), -EBADMSG);
}

static void test_wire_build_beat_fills_as_a_heartbeat(void **state)
{
    struct wire_beat b = { .peer_sender_ns = 123456789, .received_mono_ns = 1 };
    struct wire_out out;
    Smtpstorm__Heartbeat hb;
    const Smtpstorm__Heartbeat *alone = wire_build_heartbeat(&out, &b, "c-2")->heartbeat;

    (void)state;
    assert_ptr_equal(wire_build_beat(&hb, &b, "c-2"), &hb);
    assert_true(hb.echo_ns == alone->echo_ns && hb.echo_ns == 123456789);
    assert_true(hb.sender_ns >= alone->sender_ns && hb.sender_ns - alone->sender_ns < 1000000000ULL);
    assert_true(hb.held_ns >= alone->held_ns && hb.held_ns > 0);
    assert_string_equal(hb.campaign, "c-2");
    assert_string_equal(wire_build_beat(&hb, &b, NULL)->campaign, "");
    assert_ptr_equal(wire_beat_of(&out.env), alone);
}

static void test_wire_beat_interval_is_2_s_for_a_switch_of_8_s_or_more(void **state)
{
    (void)state;
    assert_int_equal(wire_beat_interval_ms(0), 1000);           /* not said */
    assert_int_equal(wire_beat_interval_ms(5000), 1000);        /* the default switch */
    assert_int_equal(wire_beat_interval_ms(WIRE_BEAT_SLOW_DEAD_MS - 1), 1000);
    assert_int_equal(wire_beat_interval_ms(WIRE_BEAT_SLOW_DEAD_MS), WIRE_BEAT_SLOW_MS);
    assert_int_equal(wire_beat_interval_ms(600000), WIRE_BEAT_SLOW_MS);
    /* A switch of 8 s holds three beats (or ZMTP pings) at least. */
    assert_true(3 * WIRE_BEAT_SLOW_MS < WIRE_BEAT_SLOW_DEAD_MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_hello_round_trips),
        cmocka_unit_test(test_wire_workload_round_trips_with_phases),
        cmocka_unit_test(test_wire_workload_without_targets_is_refused),
        cmocka_unit_test(test_wire_workload_timeout_over_a_day_is_refused),
        cmocka_unit_test(test_wire_workload_extension_needs_messages_and_sessions),
        cmocka_unit_test(test_wire_garbage_is_rejected),
        cmocka_unit_test(test_wire_other_version_is_named),
        cmocka_unit_test(test_wire_oversize_is_rejected),
        cmocka_unit_test(test_wire_progress_round_trips_stats_exactly),
        cmocka_unit_test(test_wire_merged_progress_equals_merged_stats),
        cmocka_unit_test(test_wire_empty_stats_round_trip),
        cmocka_unit_test(test_wire_hist_check_refuses_inconsistent),
        cmocka_unit_test(test_wire_beat_estimates_offset_and_rtt),
        cmocka_unit_test(test_wire_progress_carries_a_beat),
        cmocka_unit_test(test_wire_sink_counters_carry_a_beat),
        cmocka_unit_test(test_wire_build_beat_fills_as_a_heartbeat),
        cmocka_unit_test(test_wire_start_and_sink_counters_take_every_agent_of_a_campaign),
        cmocka_unit_test(test_wire_beat_interval_is_2_s_for_a_switch_of_8_s_or_more),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
