/* test_tally.c - per-campaign counts, duplicates across loops, latency. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "behaviour.h"
#include "tally.h"

#define SMALL_TABLE 256         /* pairs, for the tests of eviction */
#define CAMPAIGN_AGENTS 3000    /* far past the 256 pairs a sink kept before, short of
                                 * WIRE_AGENTS_MAX (10,000) for memory: 64 KiB a pair */

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
    struct tally_seen *seen = tally_seen_new(0);
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
    struct tally_seen *seen = tally_seen_new(0);
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

static void test_tally_full_table_evicts_least_recent(void **state)
{
    struct tally *a = tally_new(NULL);
    struct tally_snapshot *s = malloc(sizeof(*s));
    struct trace t;
    char name[16];
    size_t i;
    int k, found_c0 = 0;

    (void)state;
    for (k = 0; k < TALLY_CAMPAIGNS_MAX + 3; k++) {
        snprintf(name, sizeof(name), "c%d", k);
        t = tr(name, "a", 1, 0);
        tally_count(a, &t, 10 + (uint64_t)k);
        if (k == 1) {                       /* c0 stays active: c1, c2, c3 go */
            t = tr("c0", "a", 2, 0);
            tally_count(a, &t, 100);
        }
    }
    tally_snapshot_init(s);
    tally_snapshot_add(s, a);
    assert_int_equal(s->count, TALLY_CAMPAIGNS_MAX);
    assert_true(s->overflow == 0);
    assert_true(s->evicted == 3);
    for (i = 0; i < s->count; i++) {
        assert_string_not_equal(s->campaigns[i].campaign, "c1");
        if (strcmp(s->campaigns[i].campaign, "c0") == 0) {
            found_c0 = 1;
            assert_true(s->campaigns[i].received == 2);
            assert_true(s->campaigns[i].unchecked == 2);   /* no detector given */
        }
        if (strcmp(s->campaigns[i].campaign, "c18") == 0)
            assert_true(s->campaigns[i].received == 1 && s->campaigns[i].latency_us.count == 1);
    }
    assert_true(found_c0);
    free(s);
    tally_free(a);
}

/* find - campaign's figures in s, NULL when absent. */
static const struct tally_campaign *find(const struct tally_snapshot *s, const char *campaign)
{
    size_t i;

    for (i = 0; i < s->count; i++)
        if (strcmp(s->campaigns[i].campaign, campaign) == 0)
            return &s->campaigns[i];
    return NULL;
}

/* 100 campaigns in a row through two loops, 3 agents each (300 pairs, more
 * than a table of SMALL_TABLE), a Start (retire) before each, and stragglers of
 * the previous campaigns meanwhile: every campaign's counts are exact at
 * its end, duplicates are still found, memory stays bounded. */
static void test_tally_hundred_campaigns_in_sequence(void **state)
{
    struct tally_seen *seen = tally_seen_new(SMALL_TABLE);
    struct tally *a = tally_new(seen), *b = tally_new(seen);
    struct tally_snapshot *s = malloc(sizeof(*s));
    struct tally_agent ag[SMALL_TABLE];
    const struct tally_campaign *c;
    char name[16], old[16], agent[8];
    uint64_t now = 1000000, seq;
    struct trace t;
    size_t n, j;
    int k, g, nag;

    (void)state;
    for (k = 0; k < 100; k++) {
        snprintf(name, sizeof(name), "camp%d", k);
        tally_seen_retire_all(seen);
        for (g = 0; g < 3; g++) {
            snprintf(agent, sizeof(agent), "ag%d", g);
            assert_int_equal(tally_seen_set_offset(seen, name, agent, 0, 0), 0);
        }
        for (seq = 0; seq < 200; seq++) {
            snprintf(agent, sizeof(agent), "ag%d", (int)(seq % 3));
            t = tr(name, agent, seq, now - 10);
            tally_count(seq % 2 ? a : b, &t, now++);
            if (seq % 50 == 0 && k > 0) {       /* a straggler of an older campaign */
                snprintf(old, sizeof(old), "camp%d", k - 1 - (int)(seq / 50) % (k < 4 ? k : 4));
                t = tr(old, "ag0", 100000 + seq, now - 10);
                tally_count(b, &t, now++);
            }
        }
        t = tr(name, "ag1", 7, now);            /* a duplicate, on the other loop */
        tally_count(a, &t, now++);
        tally_snapshot_init(s);
        tally_snapshot_add(s, a);
        tally_snapshot_add(s, b);
        assert_non_null(c = find(s, name));
        assert_true(c->received == 201);
        assert_true(c->duplicates == 1);
        assert_true(c->unchecked == 0);
        assert_true(c->latency_us.count == 201);
        n = tally_seen_agents(seen, name, ag, SMALL_TABLE);
        assert_int_equal(n, 3);
        for (j = 0, nag = 0; j < n; j++)
            nag += (int)ag[j].received;
        assert_int_equal(nag, 200);
        assert_true(s->count <= TALLY_CAMPAIGNS_MAX);
    }
    assert_true(s->evicted > 0);
    assert_true(tally_seen_evicted(seen) > 0);
    free(s);
    tally_free(a);
    tally_free(b);
    tally_seen_free(seen);
}

/* A campaign with thousands of agents, counted by two loops: no pair is
 * evicted, every agent's count is exact and listed, and a message sent
 * again is a duplicate. (That the table holds WIRE_AGENTS_MAX pairs is
 * asserted in sink/link.c.) */
static void test_tally_every_agent_of_a_campaign_kept(void **state)
{
    struct tally_seen *seen = tally_seen_new(0);
    struct tally *a = tally_new(seen), *b = tally_new(seen);
    struct tally_snapshot *s = malloc(sizeof(*s));
    struct tally_agent *ag = calloc(CAMPAIGN_AGENTS + 1, sizeof(*ag));
    const struct tally_campaign *c;
    char agent[16];
    struct trace t;
    size_t n, i;
    int g, seq;

    (void)state;
    assert_non_null(s);
    assert_non_null(ag);
    for (seq = 0; seq < 3; seq++)
        for (g = 0; g < CAMPAIGN_AGENTS; g++) {
            snprintf(agent, sizeof(agent), "agent%d", g);
            t = tr("big", agent, (uint64_t)seq, 100);
            tally_count(g % 2 ? a : b, &t, 200);
        }
    t = tr("big", "agent2999", 1, 100);         /* again, on the other loop */
    tally_count(a, &t, 300);
    tally_snapshot_init(s);
    tally_snapshot_add(s, a);
    tally_snapshot_add(s, b);
    assert_non_null(c = find(s, "big"));
    assert_true(c->received == 3u * CAMPAIGN_AGENTS + 1);
    assert_true(c->duplicates == 1);
    assert_true(c->unchecked == 0);
    assert_true(tally_seen_evicted(seen) == 0);
    n = tally_seen_agents(seen, "big", ag, CAMPAIGN_AGENTS + 1);
    assert_int_equal(n, CAMPAIGN_AGENTS);
    for (i = 0; i < n; i++)
        assert_true(ag[i].received == 3 && ag[i].duplicates == (strcmp(ag[i].agent, "agent2999") == 0));
    free(ag);
    free(s);
    tally_free(a);
    tally_free(b);
    tally_seen_free(seen);
}

struct churn {
    struct tally *t;
    int id;
};

static void *churn_loop(void *arg)
{
    struct churn *c = arg;
    char name[16], agent[8];
    struct trace t;
    uint64_t i;

    for (i = 0; i < 40000; i++) {
        snprintf(name, sizeof(name), "k%d", (int)(i / 500) % 40);
        snprintf(agent, sizeof(agent), "a%d", (int)(i % 11));
        t = tr(name, agent, i + (uint64_t)c->id * 1000000, 0);
        tally_count(c->t, &t, 1000 + i);
    }
    return NULL;
}

/* Two loops churning through 40 campaigns and 440 pairs while a reader
 * takes snapshots: no torn entry (every campaign read has a sane name and
 * no more than was sent), and the sanitizers see nothing. */
static void test_tally_eviction_with_concurrent_readers(void **state)
{
    struct tally_seen *seen = tally_seen_new(SMALL_TABLE);
    struct churn c[2] = { { tally_new(seen), 0 }, { tally_new(seen), 1 } };
    struct tally_snapshot *s = malloc(sizeof(*s));
    struct tally_agent ag[SMALL_TABLE];
    pthread_t th[2];
    size_t i;
    int r;

    (void)state;
    for (r = 0; r < 2; r++)
        assert_int_equal(pthread_create(&th[r], NULL, churn_loop, &c[r]), 0);
    for (r = 0; r < 200; r++) {
        tally_snapshot_init(s);
        tally_snapshot_add(s, c[0].t);
        tally_snapshot_add(s, c[1].t);
        for (i = 0; i < s->count; i++) {
            assert_true(s->campaigns[i].campaign[0] == 'k');
            assert_true(s->campaigns[i].received <= 80000);
        }
        (void)tally_seen_agents(seen, "k3", ag, SMALL_TABLE);
        if (r % 50 == 0)
            tally_seen_retire_all(seen);
    }
    for (r = 0; r < 2; r++)
        pthread_join(th[r], NULL);
    free(s);
    tally_free(c[0].t);
    tally_free(c[1].t);
    tally_seen_free(seen);
}

#define STEADY_COUNTS 300000

struct counter {
    struct tally *t;
    const char *agent;
    atomic_int done;
};

static void *count_loop(void *arg)
{
    struct counter *c = arg;
    struct trace t;
    uint64_t i;

    for (i = 0; i < STEADY_COUNTS; i++) {
        t = tr("steady", c->agent, i % (STEADY_COUNTS * 2 / 3), 0);    /* the last third are duplicates */
        tally_count(c->t, &t, 1000 + i);
    }
    atomic_store(&c->done, 1);
    return NULL;
}

/* reading_agrees - one reading of both loops and the pairs between two
 * tally_counting marks: -1 when a count ran meanwhile, else whether the
 * campaign's total is what its agents' lines add up to. */
static int reading_agrees(struct tally *a, struct tally *b, struct tally_seen *seen, struct tally_snapshot *s)
{
    struct tally_agent ag[4];
    uint64_t before = tally_counting(a) + tally_counting(b), agents = 0;
    int busy = (int)((tally_counting(a) | tally_counting(b)) & 1);
    size_t i, n;

    tally_snapshot_init(s);
    tally_snapshot_add(s, a);
    tally_snapshot_add(s, b);
    n = tally_seen_agents(seen, "steady", ag, 4);
    if (busy || tally_counting(a) + tally_counting(b) != before)
        return -1;
    for (i = 0; i < n; i++)
        agents += ag[i].received + ag[i].duplicates;
    return s->count == 0 ? agents == 0 : s->campaigns[0].received == agents;
}

/* Two loops counting while a reader reads: a reading no count ran during
 * adds up (the campaign's total is its agents' sum), and so does the one
 * after the load, which is what a drain ends on. */
static void test_tally_quiet_reading_adds_up(void **state)
{
    struct tally_seen *seen = tally_seen_new(0);
    struct counter c[2] = { { tally_new(seen), "ag0", 0 }, { tally_new(seen), "ag1", 0 } };
    struct tally_snapshot *s = malloc(sizeof(*s));
    pthread_t th[2];
    int r, rc;

    (void)state;
    for (r = 0; r < 2; r++)
        assert_int_equal(pthread_create(&th[r], NULL, count_loop, &c[r]), 0);
    while (!atomic_load(&c[0].done) || !atomic_load(&c[1].done))
        if ((rc = reading_agrees(c[0].t, c[1].t, seen, s)) >= 0)
            assert_int_equal(rc, 1);
    for (r = 0; r < 2; r++)
        pthread_join(th[r], NULL);
    assert_int_equal(reading_agrees(c[0].t, c[1].t, seen, s), 1);
    assert_true(s->campaigns[0].received == 2 * STEADY_COUNTS && s->campaigns[0].duplicates == 2 * STEADY_COUNTS / 3);
    assert_true(tally_counting(c[0].t) == 2 * STEADY_COUNTS);   /* two steps a count */
    free(s);
    tally_free(c[0].t);
    tally_free(c[1].t);
    tally_seen_free(seen);
}

/* What rules did, by seq, until the messages came: deferred twice then
 * received is neither; rejected for good stays rejected; deferred and
 * never seen again stays deferred; a tag of an unknown pair is refused. */
static void test_tally_outcomes_by_seq_until_received(void **state)
{
    struct tally_seen *seen = tally_seen_new(0);
    struct tally *a = tally_new(seen), *b = tally_new(seen);
    struct tally_agent ag[4];
    struct trace_tag tag = { trace_pair_key("c", "ag0"), 0 };
    struct trace t;
    uint64_t now = 1000000, seq;
    size_t n;

    (void)state;
    assert_int_equal(tally_seen_set_offset(seen, "c", "ag0", 0, 0), 0);     /* a Start named it */
    for (seq = 0; seq < 100; seq++) {
        tag.seq = seq;
        if (seq < 60) {                 /* greylisted, then deferred at RCPT on another loop */
            assert_int_equal(tally_count_tag_outcome(a, &tag, BEHAVIOUR_OUT_GREY_DEFERRED, now), 0);
            assert_int_equal(tally_count_tag_outcome(b, &tag, BEHAVIOUR_OUT_DEFERRED, now), 0);
        } else if (seq < 80) {          /* rejected for good */
            assert_int_equal(tally_count_tag_outcome(a, &tag, BEHAVIOUR_OUT_REJECTED, now), 0);
        } else if (seq < 90) {          /* hung up on, never back */
            assert_int_equal(tally_count_tag_outcome(b, &tag, BEHAVIOUR_OUT_DISCONNECTED, now), 0);
        }
        if (seq < 50 || seq >= 90) {    /* 0..49 came back; 90..99 came straight */
            t = tr("c", "ag0", seq, now - 10);
            tally_count(seq % 2 ? a : b, &t, now++);
        }
    }
    t = tr("c", "ag0", 95, now - 10);       /* refused at the end of data, though received before */
    tally_count_outcome(a, &t, BEHAVIOUR_OUT_REJECTED, now);
    n = tally_seen_agents(seen, "c", ag, 4);
    assert_int_equal(n, 1);
    assert_true(ag[0].received == 60);
    assert_true(ag[0].rejected == 20);
    assert_true(ag[0].deferred == 20);      /* 50..59 and 80..89 */
    tag.key = trace_pair_key("c", "nobody");
    assert_int_equal(tally_count_tag_outcome(a, &tag, BEHAVIOUR_OUT_DEFERRED, now), -1);
    tally_free(a);
    tally_free(b);
    tally_seen_free(seen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tally_counts_duplicates_across_loops),
        cmocka_unit_test(test_tally_seq_window_slides),
        cmocka_unit_test(test_tally_full_table_evicts_least_recent),
        cmocka_unit_test(test_tally_hundred_campaigns_in_sequence),
        cmocka_unit_test(test_tally_every_agent_of_a_campaign_kept),
        cmocka_unit_test(test_tally_eviction_with_concurrent_readers),
        cmocka_unit_test(test_tally_quiet_reading_adds_up),
        cmocka_unit_test(test_tally_outcomes_by_seq_until_received),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
