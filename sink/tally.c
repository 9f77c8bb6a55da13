/* tally.c - per-campaign received/duplicate/latency accounting (see
 * tally.h). Writers own their loop's entries and store with relaxed
 * atomics (plain moves on x86); readers load relaxed. */
#include "tally.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tally_entry {
    char campaign[TRACE_ID_MAX];
    _Atomic uint64_t received, duplicates, unchecked, bytes;
    _Atomic uint64_t lat_sum, lat_min, lat_max;
    _Atomic uint64_t slots[HIST_SLOTS];
};

struct tally {
    struct tally_seen *seen;
    _Atomic size_t count;               /* published entries */
    _Atomic uint64_t untraced, overflow;
    struct tally_entry entries[TALLY_CAMPAIGNS_MAX];
};

/* A (campaign, agent) pair and its seq window. Each word holds the low 32
 * bits of its window number (seq / 32) in the top half and 32 seen-bits in
 * the bottom half, so test-and-set is one compare-and-swap. */
struct seen_agent {
    _Atomic int state;                  /* 0 free, 1 being filled, 2 ready */
    char campaign[TRACE_ID_MAX];
    char agent[TRACE_ID_MAX];
    _Atomic uint64_t *words;
    _Atomic uint64_t received, duplicates;     /* any loop adds: fetch-and-add */
    _Atomic int64_t offset_us;                  /* the agent's clock minus ours */
};

struct tally_seen {
    struct seen_agent agents[TALLY_AGENTS_MAX];
};

/* bump - single-writer increment, visible to relaxed readers. */
static inline void bump(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline uint64_t get(const _Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

static uint64_t hash_ids(const char *a, const char *b)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *a; a++)
        h = (h ^ (unsigned char)*a) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (; *b; b++)
        h = (h ^ (unsigned char)*b) * 1099511628211ULL;
    return h;
}

struct tally_seen *tally_seen_new(void)
{
    return calloc(1, sizeof(struct tally_seen));
}

void tally_seen_free(struct tally_seen *seen)
{
    size_t i;

    if (seen == NULL)
        return;
    for (i = 0; i < TALLY_AGENTS_MAX; i++)
        free((void *)seen->agents[i].words);
    free(seen);
}

/* seen_find - the pair's slot, inserted when new; NULL when full. */
static struct seen_agent *seen_find(struct tally_seen *seen, const char *campaign, const char *agent)
{
    size_t i, n, start = (size_t)(hash_ids(campaign, agent) % TALLY_AGENTS_MAX);
    struct seen_agent *a;
    int expect, st;

    for (n = 0; n < TALLY_AGENTS_MAX; n++) {
        i = (start + n) % TALLY_AGENTS_MAX;
        a = &seen->agents[i];
        st = atomic_load_explicit(&a->state, memory_order_acquire);
        if (st == 0) {
            expect = 0;
            if (atomic_compare_exchange_strong(&a->state, &expect, 1)) {
                snprintf(a->campaign, sizeof(a->campaign), "%s", campaign);
                snprintf(a->agent, sizeof(a->agent), "%s", agent);
                a->words = calloc(TALLY_SEQ_WORDS, sizeof(*a->words));
                atomic_store_explicit(&a->state, 2, memory_order_release);
                return a->words ? a : NULL;
            }
            st = expect;
        }
        while (st == 1)         /* another loop is filling it in: a few stores */
            st = atomic_load_explicit(&a->state, memory_order_acquire);
        if (strcmp(a->campaign, campaign) == 0 && strcmp(a->agent, agent) == 0)
            return a->words ? a : NULL;
    }
    return NULL;
}

/* seen_check - test-and-set t's seq in a's window: 1 seen, 0 new, -1 unchecked. */
static int seen_check(struct seen_agent *a, const struct trace *t)
{
    uint64_t window = t->seq / 32, bit = 1ULL << (t->seq % 32), v, nv;
    uint32_t tag = (uint32_t)window, have;
    _Atomic uint64_t *w;

    if (a == NULL)
        return -1;
    w = &a->words[window % TALLY_SEQ_WORDS];
    v = atomic_load_explicit(w, memory_order_relaxed);
    for (;;) {
        have = (uint32_t)(v >> 32);
        if (have == tag && (v & bit))
            return 1;
        if (have == tag)
            nv = v | bit;
        else if ((int32_t)(tag - have) > 0 || v == 0)
            nv = ((uint64_t)tag << 32) | bit;   /* the window slid forward */
        else
            return -1;                          /* older than the window */
        if (atomic_compare_exchange_weak(w, &v, nv))
            return 0;
    }
}

int tally_seen_check(struct tally_seen *seen, const struct trace *t)
{
    return seen_check(seen_find(seen, t->campaign, t->agent), t);
}

/* seen_count - check t and count it for its agent; as seen_check. */
static int seen_count(struct tally_seen *seen, const struct trace *t, int64_t *offset_us)
{
    struct seen_agent *a = seen_find(seen, t->campaign, t->agent);
    int dup;

    *offset_us = 0;
    if (a == NULL)
        return -1;
    *offset_us = atomic_load_explicit(&a->offset_us, memory_order_relaxed);
    dup = seen_check(a, t);
    atomic_fetch_add_explicit(dup > 0 ? &a->duplicates : &a->received, 1, memory_order_relaxed);
    return dup;
}

int tally_seen_set_offset(struct tally_seen *seen, const char *campaign, const char *agent,
                          int64_t offset_ns)
{
    struct seen_agent *a = seen_find(seen, campaign, agent);

    if (a == NULL)
        return -ENOSPC;
    atomic_store_explicit(&a->offset_us, offset_ns / 1000, memory_order_relaxed);
    return 0;
}

size_t tally_seen_agents(const struct tally_seen *seen, const char *campaign, struct tally_agent *out,
                         size_t max)
{
    size_t i, n = 0;

    for (i = 0; i < TALLY_AGENTS_MAX && n < max; i++) {
        const struct seen_agent *a = &seen->agents[i];

        if (atomic_load_explicit(&a->state, memory_order_acquire) != 2 || strcmp(a->campaign, campaign) != 0)
            continue;
        snprintf(out[n].agent, sizeof(out[n].agent), "%s", a->agent);
        out[n].received = atomic_load_explicit(&a->received, memory_order_relaxed);
        out[n].duplicates = atomic_load_explicit(&a->duplicates, memory_order_relaxed);
        n++;
    }
    return n;
}

struct tally *tally_new(struct tally_seen *seen)
{
    struct tally *t = calloc(1, sizeof(*t));

    if (t)
        t->seen = seen;
    return t;
}

void tally_free(struct tally *t)
{
    free(t);
}

/* entry_for - this loop's entry of campaign, created when new. */
static struct tally_entry *entry_for(struct tally *t, const char *campaign)
{
    size_t i, n = atomic_load_explicit(&t->count, memory_order_relaxed);
    struct tally_entry *e;

    for (i = 0; i < n; i++)
        if (strcmp(t->entries[i].campaign, campaign) == 0)
            return &t->entries[i];
    if (n == TALLY_CAMPAIGNS_MAX)
        return NULL;
    e = &t->entries[n];
    memcpy(e->campaign, campaign, sizeof(e->campaign));
    atomic_store_explicit(&e->lat_min, UINT64_MAX, memory_order_relaxed);
    atomic_store_explicit(&t->count, n + 1, memory_order_release);
    return e;
}

void tally_count(struct tally *t, const struct trace *tr, uint64_t now_us)
{
    tally_count_message(t, tr, now_us, 0);
}

void tally_count_message(struct tally *t, const struct trace *tr, uint64_t now_us, uint64_t bytes)
{
    struct tally_entry *e = entry_for(t, tr->campaign);
    int64_t offset_us = 0, at;
    uint64_t lat;
    int dup;

    if (e == NULL) {
        bump(&t->overflow, 1);
        return;
    }
    bump(&e->received, 1);
    bump(&e->bytes, bytes);
    dup = t->seen ? seen_count(t->seen, tr, &offset_us) : -1;
    at = (int64_t)now_us + offset_us;       /* our receive time on the agent's clock */
    lat = at > 0 && (uint64_t)at > tr->sent_us ? (uint64_t)at - tr->sent_us : 0;
    if (dup > 0)
        bump(&e->duplicates, 1);
    else if (dup < 0)
        bump(&e->unchecked, 1);
    if (lat > HIST_VALUE_MAX)
        lat = HIST_VALUE_MAX;
    bump(&e->slots[hist_slot_of(lat)], 1);
    bump(&e->lat_sum, lat);
    if (lat < get(&e->lat_min))
        atomic_store_explicit(&e->lat_min, lat, memory_order_relaxed);
    if (lat > get(&e->lat_max))
        atomic_store_explicit(&e->lat_max, lat, memory_order_relaxed);
}

void tally_count_untraced(struct tally *t)
{
    bump(&t->untraced, 1);
}

void tally_snapshot_init(struct tally_snapshot *s)
{
    size_t i;

    memset(s, 0, sizeof(*s));
    for (i = 0; i < TALLY_CAMPAIGNS_MAX; i++)
        hist_init(&s->campaigns[i].latency_us);
}

/* snapshot_slot - s's campaign entry for name, added when new. */
static struct tally_campaign *snapshot_slot(struct tally_snapshot *s, const char *name)
{
    size_t i;

    for (i = 0; i < s->count; i++)
        if (strcmp(s->campaigns[i].campaign, name) == 0)
            return &s->campaigns[i];
    if (s->count == TALLY_CAMPAIGNS_MAX)
        return NULL;
    memcpy(s->campaigns[s->count].campaign, name, TRACE_ID_MAX);
    return &s->campaigns[s->count++];
}

/* entry_add - merge one entry's figures into c. */
static void entry_add(struct tally_campaign *c, const struct tally_entry *e)
{
    struct hist *h = malloc(sizeof(*h));
    uint64_t n;
    size_t i;

    c->received += get(&e->received);
    c->duplicates += get(&e->duplicates);
    c->bytes += get(&e->bytes);
    c->unchecked += get(&e->unchecked);
    if (h == NULL)
        return;
    hist_init(h);
    for (i = 0; i < HIST_SLOTS; i++)
        if ((n = get(&e->slots[i])) != 0)
            (void)hist_add_slot(h, i, n);
    h->sum = get(&e->lat_sum);
    h->min = get(&e->lat_min);
    h->max = get(&e->lat_max);
    hist_merge(&c->latency_us, h);
    free(h);
}

void tally_snapshot_add(struct tally_snapshot *s, const struct tally *t)
{
    size_t i, n = atomic_load_explicit(&t->count, memory_order_acquire);
    struct tally_campaign *c;

    s->untraced += get(&t->untraced);
    s->overflow += get(&t->overflow);
    for (i = 0; i < n; i++) {
        if ((c = snapshot_slot(s, t->entries[i].campaign)) == NULL) {
            s->overflow += get(&t->entries[i].received);
            continue;
        }
        entry_add(c, &t->entries[i]);
    }
}
