/* tally.c - per-campaign received/duplicate/latency accounting (see
 * tally.h). Writers own their loop's entries and store with relaxed
 * atomics (plain moves on x86); readers load relaxed. An entry reused for
 * another campaign is bracketed by its sequence count (odd while being
 * rewritten), so a reader skips it rather than mixing two campaigns. The
 * process-wide pair table is shared by every loop: a slot is pinned (users)
 * while used, and only an unpinned slot is reused, under a mutex. */
#include "tally.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "behaviour.h"

#define NAME_WORDS (TRACE_ID_MAX / 8)   /* a campaign id as words a reader loads atomically */
#define SEEN_ACTIVE_US 1000             /* a pair's activity stamp is refreshed this often */
#define SEEN_EVICT_TRIES 8              /* victims tried while loops keep pinning them */

struct tally_entry {
    _Atomic uint32_t gen;               /* even: stable; odd: being reused */
    _Atomic uint64_t name[NAME_WORDS];  /* the campaign id, NUL-padded */
    uint64_t last_us, epoch;            /* the writer's: last message, and the retire epoch then */
    _Atomic uint64_t received, duplicates, unchecked, bytes;
    _Atomic uint64_t outcomes[TALLY_OUTCOMES];
    _Atomic uint64_t lat_sum, lat_min, lat_max;
    _Atomic uint64_t slots[HIST_SLOTS];
    /* by event time: slot k holds second sec_t[k] (UINT64_MAX while being
     * reset), written by the loop alone */
    _Atomic uint64_t sec_t[TALLY_SECONDS], sec_received[TALLY_SECONDS], sec_dups[TALLY_SECONDS];
    _Atomic uint64_t sec_deferred[TALLY_SECONDS], sec_rejected[TALLY_SECONDS];  /* --behaviour 4xx, 5xx */
    _Atomic uint64_t last_rx_us, origin_us;     /* the last arrival, and its campaign's start */
    struct tally_sec_hists *_Atomic sech;      /* delivery latency by second; NULL until a
                                                 * message of a started campaign came */
};

/* Delivery latency (us) of each second slot of an entry, as hist slots. */
struct tally_sec_hists {
    _Atomic uint64_t slots[TALLY_SECONDS][HIST_SLOTS];
};

struct tally {
    struct tally_seen *seen;
    _Atomic uint64_t counting;          /* odd while the loop counts a message or an outcome */
    _Atomic size_t count;               /* published entries */
    _Atomic uint64_t untraced, overflow, evicted;
    char names[TALLY_CAMPAIGNS_MAX][TRACE_ID_MAX];     /* the writer's copy, for lookups */
    struct tally_entry entries[TALLY_CAMPAIGNS_MAX];
};

/* A (campaign, agent) pair and its seq window. Each word holds the low 32
 * bits of its window number (seq / 32) in the top half and 32 seen-bits in
 * the bottom half, so test-and-set is one compare-and-swap. The names are
 * written only in state 1 with no user, and read only by a user that saw
 * state 2 after pinning. */
struct seen_agent {
    _Atomic int state;                  /* 0 free, 1 being filled, 2 ready */
    _Atomic uint32_t users;             /* pins: a loop counting, a reader copying */
    _Atomic uint64_t key;               /* hash of the names: probe without pinning */
    char campaign[TRACE_ID_MAX];
    char agent[TRACE_ID_MAX];
    _Atomic uint64_t *words;
    /* what --behaviour rules did to its messages before they were taken,
     * by seq, in windows as words': deferred (4xx, greylisted, hung up)
     * and rejected (5xx); NULL until the first such outcome */
    _Atomic uint64_t *_Atomic deferred, *_Atomic rejected;
    _Atomic uint64_t received, duplicates;     /* any loop adds: fetch-and-add */
    _Atomic int64_t offset_us;                  /* the agent's clock minus ours */
    _Atomic uint64_t origin_us;                 /* the campaign's start on our clock; 0: unknown */
    _Atomic uint64_t last_us, epoch;            /* last activity, and the retire epoch then */
};

struct tally_seen {
    pthread_mutex_t refill;             /* one reuse of a used slot at a time */
    _Atomic uint64_t epoch;             /* tally_seen_retire_all bumps it */
    _Atomic uint64_t evicted;
    size_t cap;                         /* agents[0..cap) */
    struct seen_agent *agents;
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

static inline void put(_Atomic uint64_t *c, uint64_t v)
{
    atomic_store_explicit(c, v, memory_order_relaxed);
}


static uint64_t wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- the process-wide pair table ---- */

struct tally_seen *tally_seen_new(size_t pairs)
{
    struct tally_seen *seen = calloc(1, sizeof(struct tally_seen));

    if (seen == NULL)
        return NULL;
    seen->cap = pairs ? pairs : TALLY_AGENTS_MAX;
    if ((seen->agents = calloc(seen->cap, sizeof(*seen->agents))) == NULL) {
        free(seen);
        return NULL;
    }
    if (pthread_mutex_init(&seen->refill, NULL) != 0) {
        free(seen->agents);
        free(seen);
        return NULL;
    }
    atomic_store(&seen->epoch, 1);
    return seen;
}

void tally_seen_free(struct tally_seen *seen)
{
    size_t i;

    if (seen == NULL)
        return;
    for (i = 0; i < seen->cap; i++) {
        free((void *)seen->agents[i].words);
        free((void *)seen->agents[i].deferred);
        free((void *)seen->agents[i].rejected);
    }
    pthread_mutex_destroy(&seen->refill);
    free(seen->agents);
    free(seen);
}

void tally_seen_retire_all(struct tally_seen *seen)
{
    atomic_fetch_add(&seen->epoch, 1);
}

uint64_t tally_seen_evicted(const struct tally_seen *seen)
{
    return atomic_load_explicit(&seen->evicted, memory_order_relaxed);
}

static void seen_unpin(struct seen_agent *a)
{
    if (a != NULL)
        atomic_fetch_sub(&a->users, 1);
}

/* words_clear - forget every seq of a window array (NULL is fine). */
static void words_clear(_Atomic uint64_t *words)
{
    size_t i;

    for (i = 0; words != NULL && i < TALLY_SEQ_WORDS; i++)
        put(&words[i], 0);
}

/* seen_pin_match - pin a; keep the pin and return 1 when it is ready and
 * names campaign+agent; 0 (unpinned) when another pair; -1 (unpinned)
 * while it is being filled. */
static int seen_pin_match(struct seen_agent *a, const char *campaign, const char *agent)
{
    int st;

    atomic_fetch_add(&a->users, 1);
    st = atomic_load(&a->state);
    if (st == 2 && strcmp(a->campaign, campaign) == 0 && strcmp(a->agent, agent) == 0)
        return 1;
    atomic_fetch_sub(&a->users, 1);
    return st == 2 ? 0 : -1;
}

/* seen_fill - give a claimed slot (state 1, no user) to campaign+agent and
 * return it pinned and ready. */
static struct seen_agent *seen_fill(struct tally_seen *seen, struct seen_agent *a, const char *campaign,
                                    const char *agent, uint64_t key, uint64_t now_us)
{
    size_t i;

    snprintf(a->campaign, sizeof(a->campaign), "%s", campaign);
    snprintf(a->agent, sizeof(a->agent), "%s", agent);
    if (a->words == NULL)
        a->words = calloc(TALLY_SEQ_WORDS, sizeof(*a->words));
    else
        for (i = 0; i < TALLY_SEQ_WORDS; i++)
            put(&a->words[i], 0);
    words_clear(atomic_load(&a->deferred));
    words_clear(atomic_load(&a->rejected));
    put(&a->received, 0);
    put(&a->duplicates, 0);
    atomic_store_explicit(&a->offset_us, 0, memory_order_relaxed);
    put(&a->last_us, now_us);
    put(&a->epoch, atomic_load(&seen->epoch));
    atomic_store(&a->key, key);
    atomic_fetch_add(&a->users, 1);
    atomic_store(&a->state, 2);
    return a;
}

/* seen_evict - under the refill mutex: campaign+agent if another loop put
 * it in meanwhile, else a free slot, else the unpinned slot retired first
 * nearest its hash (else the least recently active), reused. Pinned, or
 * NULL when every slot stays pinned. */
static struct seen_agent *seen_evict(struct tally_seen *seen, const char *campaign, const char *agent,
                                     uint64_t key, uint64_t now_us)
{
    uint64_t epoch = atomic_load(&seen->epoch), best_us;
    size_t n, start = (size_t)(key % seen->cap);
    struct seen_agent *a, *victim;
    int tries, expect;

    for (tries = 0; tries < SEEN_EVICT_TRIES; tries++) {
        victim = NULL;
        best_us = UINT64_MAX;
        for (n = 0; n < seen->cap; n++) {
            a = &seen->agents[(start + n) % seen->cap];
            expect = 0;
            if (atomic_load(&a->state) == 0 && atomic_compare_exchange_strong(&a->state, &expect, 1))
                return seen_fill(seen, a, campaign, agent, key, now_us);
            if (atomic_load(&a->key) == key && seen_pin_match(a, campaign, agent) == 1)
                return a;
            if (atomic_load(&a->users) != 0 || atomic_load(&a->state) != 2)
                continue;
            if (get(&a->epoch) < epoch) {
                if (best_us != 0)           /* the first retired one in probe order */
                    victim = a, best_us = 0;
            } else if (get(&a->last_us) < best_us) {
                victim = a, best_us = get(&a->last_us);
            }
        }
        if (victim == NULL)
            continue;
        expect = 2;
        if (!atomic_compare_exchange_strong(&victim->state, &expect, 1))
            continue;
        if (atomic_load(&victim->users) != 0) {     /* a loop pinned it first: back off */
            atomic_store(&victim->state, 2);
            continue;
        }
        atomic_fetch_add(&seen->evicted, 1);
        return seen_fill(seen, victim, campaign, agent, key, now_us);
    }
    return NULL;
}

/* seen_find - the pair's slot, pinned (seen_unpin it), inserted when new;
 * NULL when the table stays full of pinned pairs. */
static struct seen_agent *seen_find(struct tally_seen *seen, const char *campaign, const char *agent,
                                    uint64_t now_us)
{
    uint64_t key = trace_pair_key(campaign, agent);
    size_t i, n, start = (size_t)(key % seen->cap);
    struct seen_agent *a;
    int expect, st, m;

    for (n = 0; n < seen->cap; n++) {
        i = (start + n) % seen->cap;
        a = &seen->agents[i];
        for (;;) {
            st = atomic_load_explicit(&a->state, memory_order_acquire);
            if (st == 0) {
                expect = 0;
                if (atomic_compare_exchange_strong(&a->state, &expect, 1))
                    return seen_fill(seen, a, campaign, agent, key, now_us);
                continue;
            }
            if (st == 1)        /* another thread is filling it in: a few stores */
                continue;
            if (atomic_load_explicit(&a->key, memory_order_relaxed) != key)
                break;
            if ((m = seen_pin_match(a, campaign, agent)) == 1)
                return a;
            if (m == 0)
                break;
        }
    }
    /* Full and not found: reuse a slot, one thread at a time. */
    pthread_mutex_lock(&seen->refill);
    a = seen_evict(seen, campaign, agent, key, now_us);
    pthread_mutex_unlock(&seen->refill);
    return a;
}

/* window_set - test-and-set seq in a window array: 1 set before, 0 new,
 * -1 unchecked (older than the window). Each word holds the low 32 bits of
 * its window number (seq / 32) in the top half and 32 bits in the bottom
 * half, so test-and-set is one compare-and-swap. */
static int window_set(_Atomic uint64_t *words, uint64_t seq)
{
    uint64_t window = seq / 32, bit = 1ULL << (seq % 32), v, nv;
    uint32_t tag = (uint32_t)window, have;
    _Atomic uint64_t *w = &words[window % TALLY_SEQ_WORDS];

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

/* seen_check - test-and-set t's seq in a's window: 1 seen, 0 new, -1 unchecked. */
static int seen_check(struct seen_agent *a, const struct trace *t)
{
    if (a == NULL || a->words == NULL)
        return -1;
    return window_set(a->words, t->seq);
}

/* seen_find_key - the ready pair whose key is key, pinned; NULL when none
 * (a pair is known once one of its messages came or a Start named it). */
static struct seen_agent *seen_find_key(struct tally_seen *seen, uint64_t key)
{
    size_t i, n, start = (size_t)(key % seen->cap);
    struct seen_agent *a;

    for (n = 0; n < seen->cap; n++) {
        i = (start + n) % seen->cap;
        a = &seen->agents[i];
        if (atomic_load_explicit(&a->state, memory_order_acquire) == 0)
            return NULL;                        /* probing stops at a free slot */
        if (atomic_load_explicit(&a->key, memory_order_relaxed) != key)
            continue;
        atomic_fetch_add(&a->users, 1);
        if (atomic_load(&a->state) == 2 && atomic_load(&a->key) == key)
            return a;
        atomic_fetch_sub(&a->users, 1);
    }
    return NULL;
}

/* outcome_words - the window array outcome marks (allocated on first use,
 * published with one compare-and-swap), or NULL: outcomes that do not
 * leave a message to come back, or no memory. */
static _Atomic uint64_t *outcome_words(struct seen_agent *a, int outcome)
{
    _Atomic uint64_t *_Atomic *slot, *words, *fresh = NULL;

    switch (outcome) {
    case BEHAVIOUR_OUT_DEFERRED:
    case BEHAVIOUR_OUT_DISCONNECTED:
    case BEHAVIOUR_OUT_GREY_DEFERRED: slot = &a->deferred; break;
    case BEHAVIOUR_OUT_REJECTED: slot = &a->rejected; break;
    default: return NULL;
    }
    if ((words = atomic_load(slot)) != NULL)
        return words;
    if ((fresh = calloc(TALLY_SEQ_WORDS, sizeof(*fresh))) == NULL)
        return NULL;
    if (atomic_compare_exchange_strong(slot, &words, fresh))
        return fresh;
    free((void *)fresh);                        /* another loop was first */
    return words;
}

/* seen_mark - note what outcome did to seq of pair a. */
static void seen_mark(struct seen_agent *a, int outcome, uint64_t seq)
{
    _Atomic uint64_t *words = outcome_words(a, outcome);

    if (words != NULL)
        (void)window_set(words, seq);
}

/* window_bits - the bits of word v for window tag; 0 when v holds another. */
static uint32_t window_bits(uint64_t v, uint32_t tag)
{
    return (uint32_t)(v >> 32) == tag ? (uint32_t)v : 0;
}

/* seen_outcomes - of a's seqs that a rule refused and that never came in
 * since: how many were rejected (5xx) at their last word, and how many
 * only deferred. Counted over the window, so exact for a campaign of up
 * to 32 * TALLY_SEQ_WORDS messages per agent. */
static void seen_outcomes(struct seen_agent *a, uint64_t *rejected, uint64_t *deferred)
{
    _Atomic uint64_t *dw = atomic_load(&a->deferred), *rw = atomic_load(&a->rejected);
    uint64_t d, r, s;
    uint32_t tag, taken, rej;
    size_t i;

    *rejected = *deferred = 0;
    for (i = 0; (dw || rw) && i < TALLY_SEQ_WORDS; i++) {
        d = dw ? get(&dw[i]) : 0;
        r = rw ? get(&rw[i]) : 0;
        s = get(&a->words[i]);
        if (r != 0) {
            tag = (uint32_t)(r >> 32);
            taken = window_bits(s, tag);
            rej = (uint32_t)r & ~taken;
            *rejected += (uint64_t)__builtin_popcount(rej);
        }
        if (d != 0) {
            tag = (uint32_t)(d >> 32);
            taken = window_bits(s, tag) | window_bits(r, tag);
            *deferred += (uint64_t)__builtin_popcount((uint32_t)d & ~taken);
        }
    }
}

int tally_seen_check(struct tally_seen *seen, const struct trace *t)
{
    struct seen_agent *a = seen_find(seen, t->campaign, t->agent, wall_us());
    int rc = seen_check(a, t);

    seen_unpin(a);
    return rc;
}

/* seen_count - check t and count it for its agent, with the agent's clock
 * offset and its campaign's start; as seen_check. */
static int seen_count(struct tally_seen *seen, const struct trace *t, uint64_t now_us, int64_t *offset_us,
                      uint64_t *origin_us)
{
    struct seen_agent *a = seen_find(seen, t->campaign, t->agent, now_us);
    uint64_t epoch;
    int dup;

    *offset_us = 0;
    *origin_us = 0;
    if (a == NULL)
        return -1;
    *offset_us = atomic_load_explicit(&a->offset_us, memory_order_relaxed);
    *origin_us = get(&a->origin_us);
    dup = seen_check(a, t);
    atomic_fetch_add_explicit(dup > 0 ? &a->duplicates : &a->received, 1, memory_order_relaxed);
    if (now_us > get(&a->last_us) + SEEN_ACTIVE_US)
        put(&a->last_us, now_us);
    if (get(&a->epoch) != (epoch = get(&seen->epoch)))
        put(&a->epoch, epoch);
    seen_unpin(a);
    return dup;
}

int tally_seen_set_offset(struct tally_seen *seen, const char *campaign, const char *agent,
                          int64_t offset_ns, uint64_t origin_us)
{
    struct seen_agent *a = seen_find(seen, campaign, agent, wall_us());

    if (a == NULL)
        return -ENOSPC;
    atomic_store_explicit(&a->offset_us, offset_ns / 1000, memory_order_relaxed);
    put(&a->origin_us, origin_us);
    put(&a->epoch, atomic_load(&seen->epoch));
    seen_unpin(a);
    return 0;
}

size_t tally_seen_agents(const struct tally_seen *seen, const char *campaign, struct tally_agent *out,
                         size_t max)
{
    struct tally_seen *s = (struct tally_seen *)seen;  /* pins are the only writes */
    size_t i, n = 0;

    for (i = 0; i < s->cap && n < max; i++) {
        struct seen_agent *a = &s->agents[i];

        if (atomic_load_explicit(&a->state, memory_order_acquire) != 2)
            continue;
        atomic_fetch_add(&a->users, 1);
        if (atomic_load(&a->state) == 2 && strcmp(a->campaign, campaign) == 0) {
            snprintf(out[n].agent, sizeof(out[n].agent), "%s", a->agent);
            out[n].received = atomic_load_explicit(&a->received, memory_order_relaxed);
            out[n].duplicates = atomic_load_explicit(&a->duplicates, memory_order_relaxed);
            seen_outcomes(a, &out[n].rejected, &out[n].deferred);
            n++;
        }
        seen_unpin(a);
    }
    return n;
}

/* ---- one loop's campaigns ---- */

/* count_begin, count_end - bracket one count (a sequence count): a reader
 * whose tally_counting marks match and are even saw all of it or none. */
static void count_begin(struct tally *t)
{
    put(&t->counting, get(&t->counting) + 1);
    atomic_thread_fence(memory_order_release);
}

static void count_end(struct tally *t)
{
    atomic_store_explicit(&t->counting, get(&t->counting) + 1, memory_order_release);
}

uint64_t tally_counting(const struct tally *t)
{
    atomic_thread_fence(memory_order_acquire);     /* a snapshot's loads before this one */
    return atomic_load_explicit(&t->counting, memory_order_acquire);
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
    size_t i;

    if (t == NULL)
        return;
    for (i = 0; i < TALLY_CAMPAIGNS_MAX; i++)
        free(atomic_load(&t->entries[i].sech));
    free(t);
}


static void name_store(_Atomic uint64_t *w, const char *name)
{
    uint64_t buf[NAME_WORDS] = { 0 };
    size_t i;

    snprintf((char *)buf, sizeof(buf), "%s", name);
    for (i = 0; i < NAME_WORDS; i++)
        put(&w[i], buf[i]);
}

static void name_load(const _Atomic uint64_t *w, char *out)
{
    uint64_t buf[NAME_WORDS];
    size_t i;

    for (i = 0; i < NAME_WORDS; i++)
        buf[i] = get(&w[i]);
    memcpy(out, buf, TRACE_ID_MAX);
    out[TRACE_ID_MAX - 1] = '\0';
}

/* entry_reset - make e campaign's, empty (the writer only; e may be read). */
static void entry_reset(struct tally *t, size_t i, const char *campaign)
{
    struct tally_entry *e = &t->entries[i];
    uint32_t g = atomic_load_explicit(&e->gen, memory_order_relaxed);
    size_t k;

    atomic_store_explicit(&e->gen, g + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    put(&e->received, 0);
    put(&e->duplicates, 0);
    put(&e->unchecked, 0);
    put(&e->bytes, 0);
    for (k = 0; k < TALLY_OUTCOMES; k++)
        put(&e->outcomes[k], 0);
    put(&e->lat_sum, 0);
    put(&e->lat_max, 0);
    put(&e->lat_min, UINT64_MAX);
    for (k = 0; k < HIST_SLOTS; k++)
        if (get(&e->slots[k]) != 0)
            put(&e->slots[k], 0);
    for (k = 0; k < TALLY_SECONDS; k++) {
        put(&e->sec_t[k], UINT64_MAX);
        put(&e->sec_received[k], 0);
        put(&e->sec_dups[k], 0);
        put(&e->sec_deferred[k], 0);
        put(&e->sec_rejected[k], 0);
    }
    put(&e->last_rx_us, 0);
    put(&e->origin_us, 0);
    name_store(e->name, campaign);
    snprintf(t->names[i], sizeof(t->names[i]), "%s", campaign);
    atomic_store_explicit(&e->gen, g + 2, memory_order_release);
}

/* entry_victim - the entry to reuse: not active since the last retire,
 * least recently active first; else the least recently active. */
static size_t entry_victim(const struct tally *t, uint64_t epoch)
{
    size_t i, best = 0;
    int best_retired = 0, retired;

    for (i = 0; i < TALLY_CAMPAIGNS_MAX; i++) {
        const struct tally_entry *e = &t->entries[i];

        retired = e->epoch < epoch;
        if (i == 0 || retired > best_retired
            || (retired == best_retired && e->last_us < t->entries[best].last_us)) {
            best = i;
            best_retired = retired;
        }
    }
    return best;
}

/* entry_for - this loop's entry of campaign, created (or reusing the
 * least recently active one's) when new. */
static struct tally_entry *entry_for(struct tally *t, const char *campaign, uint64_t now_us)
{
    size_t i, k, n = atomic_load_explicit(&t->count, memory_order_relaxed);
    uint64_t epoch = t->seen ? atomic_load_explicit(&t->seen->epoch, memory_order_relaxed) : 0;
    struct tally_entry *e;

    for (i = 0; i < n; i++)
        if (strcmp(t->names[i], campaign) == 0)
            break;
    if (i == n && n < TALLY_CAMPAIGNS_MAX) {
        e = &t->entries[n];
        name_store(e->name, campaign);
        snprintf(t->names[n], sizeof(t->names[n]), "%s", campaign);
        atomic_store_explicit(&e->lat_min, UINT64_MAX, memory_order_relaxed);
        for (k = 0; k < TALLY_SECONDS; k++)
            put(&e->sec_t[k], UINT64_MAX);
        atomic_store_explicit(&t->count, n + 1, memory_order_release);
    } else if (i == n) {
        i = entry_victim(t, epoch);
        entry_reset(t, i, campaign);
        bump(&t->evicted, 1);
    }
    e = &t->entries[i];
    e->last_us = now_us;
    e->epoch = epoch;
    return e;
}

/* entry_slot - the slot of event-time second sec in e, emptied first when
 * it held an older second (its counts, and its latency histogram h when
 * given). */
static size_t entry_slot(struct tally_entry *e, uint64_t sec, struct tally_sec_hists *h)
{
    size_t k = sec % TALLY_SECONDS, i;

    if (get(&e->sec_t[k]) != sec) {         /* the slot's second is over: reuse it */
        put(&e->sec_t[k], UINT64_MAX);
        atomic_thread_fence(memory_order_release);
        put(&e->sec_received[k], 0);
        put(&e->sec_dups[k], 0);
        put(&e->sec_deferred[k], 0);
        put(&e->sec_rejected[k], 0);
        for (i = 0; h != NULL && i < HIST_SLOTS; i++)
            if (get(&h->slots[k][i]) != 0)
                put(&h->slots[k][i], 0);
        atomic_store_explicit(&e->sec_t[k], sec, memory_order_release);
    }
    return k;
}

/* entry_second - count one arrival, its delivery latency in histogram
 * slot lat_slot, in its event-time second. */
static void entry_second(struct tally_entry *e, uint64_t now_us, uint64_t origin_us, int dup, size_t lat_slot)
{
    struct tally_sec_hists *h = atomic_load_explicit(&e->sech, memory_order_relaxed);
    size_t k;

    if (h == NULL && origin_us != 0 && (h = calloc(1, sizeof(*h))) != NULL)
        atomic_store_explicit(&e->sech, h, memory_order_release);   /* once per entry */
    k = entry_slot(e, tally_second_of(now_us, origin_us), h);
    bump(dup > 0 ? &e->sec_dups[k] : &e->sec_received[k], 1);
    if (h != NULL && dup <= 0)
        bump(&h->slots[k][lat_slot], 1);
    put(&e->last_rx_us, now_us);
    put(&e->origin_us, origin_us);
}

/* entry_outcome_second - a rule's 4xx or 5xx (outcome) in its event-time
 * second, the campaign's start being origin_us on our clock (0: unknown,
 * row 0). Other outcomes are not counted by second. */
static void entry_outcome_second(struct tally_entry *e, int outcome, uint64_t now_us, uint64_t origin_us)
{
    size_t k;

    if (outcome != BEHAVIOUR_OUT_DEFERRED && outcome != BEHAVIOUR_OUT_REJECTED)
        return;
    k = entry_slot(e, tally_second_of(now_us, origin_us),
                   atomic_load_explicit(&e->sech, memory_order_relaxed));
    bump(outcome == BEHAVIOUR_OUT_DEFERRED ? &e->sec_deferred[k] : &e->sec_rejected[k], 1);
}

void tally_count_outcome(struct tally *t, const struct trace *tr, int outcome, uint64_t now_us)
{
    struct tally_entry *e = entry_for(t, tr->campaign, now_us);
    struct seen_agent *a;
    uint64_t origin_us = 0;

    assert(outcome >= 0 && outcome < TALLY_OUTCOMES);
    count_begin(t);
    bump(&e->outcomes[outcome], 1);
    if (t->seen && (a = seen_find(t->seen, tr->campaign, tr->agent, now_us)) != NULL) {
        seen_mark(a, outcome, tr->seq);
        origin_us = get(&a->origin_us);
        seen_unpin(a);
    }
    entry_outcome_second(e, outcome, now_us, origin_us);
    count_end(t);
}

int tally_count_tag_outcome(struct tally *t, const struct trace_tag *tag, int outcome, uint64_t now_us)
{
    char campaign[TRACE_ID_MAX];
    struct tally_entry *e;
    struct seen_agent *a;
    uint64_t origin_us;

    assert(outcome >= 0 && outcome < TALLY_OUTCOMES);
    if (t->seen == NULL || (a = seen_find_key(t->seen, tag->key)) == NULL)
        return -1;
    count_begin(t);
    seen_mark(a, outcome, tag->seq);
    snprintf(campaign, sizeof(campaign), "%s", a->campaign);
    origin_us = get(&a->origin_us);
    seen_unpin(a);
    e = entry_for(t, campaign, now_us);
    bump(&e->outcomes[outcome], 1);
    entry_outcome_second(e, outcome, now_us, origin_us);
    count_end(t);
    return 0;
}

void tally_count(struct tally *t, const struct trace *tr, uint64_t now_us)
{
    tally_count_message(t, tr, now_us, 0);
}

void tally_count_message(struct tally *t, const struct trace *tr, uint64_t now_us, uint64_t bytes)
{
    struct tally_entry *e = entry_for(t, tr->campaign, now_us);
    int64_t offset_us = 0, at;
    uint64_t lat, origin_us = 0;
    size_t slot;
    int dup;

    count_begin(t);
    bump(&e->received, 1);
    bump(&e->bytes, bytes);
    dup = t->seen ? seen_count(t->seen, tr, now_us, &offset_us, &origin_us) : -1;
    at = (int64_t)now_us + offset_us;       /* our receive time on the agent's clock */
    lat = at > 0 && (uint64_t)at > tr->sent_us ? (uint64_t)at - tr->sent_us : 0;
    if (dup > 0)
        bump(&e->duplicates, 1);
    else if (dup < 0)
        bump(&e->unchecked, 1);
    if (lat > HIST_VALUE_MAX)
        lat = HIST_VALUE_MAX;
    slot = hist_slot_of(lat);
    entry_second(e, now_us, origin_us, dup, slot);
    bump(&e->slots[slot], 1);
    bump(&e->lat_sum, lat);
    if (lat < get(&e->lat_min))
        atomic_store_explicit(&e->lat_min, lat, memory_order_relaxed);
    if (lat > get(&e->lat_max))
        atomic_store_explicit(&e->lat_max, lat, memory_order_relaxed);
    count_end(t);
}

void tally_count_untraced(struct tally *t)
{
    bump(&t->untraced, 1);
}

/* ---- snapshots ---- */

void tally_snapshot_init(struct tally_snapshot *s)
{
    size_t i;

    memset(s, 0, sizeof(*s));
    for (i = 0; i < TALLY_CAMPAIGNS_MAX; i++)
        hist_init(&s->campaigns[i].latency_us);
}

/* entry_read_seconds - e's event-time rows into c (after its totals, so
 * that totals less rows never count more than happened); a slot being
 * reset is skipped (the next snapshot has it). */
static void entry_read_seconds(const struct tally_entry *e, struct tally_campaign *c)
{
    uint64_t t, r, d, def, rej, last, origin;
    size_t k;

    c->n_seconds = 0;
    for (k = 0; k < TALLY_SECONDS; k++) {
        if ((t = atomic_load_explicit(&e->sec_t[k], memory_order_acquire)) == UINT64_MAX)
            continue;
        r = get(&e->sec_received[k]);
        d = get(&e->sec_dups[k]);
        def = get(&e->sec_deferred[k]);
        rej = get(&e->sec_rejected[k]);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&e->sec_t[k], memory_order_relaxed) != t || (r == 0 && d == 0 && def == 0 && rej == 0))
            continue;
        memset(&c->seconds[c->n_seconds], 0, sizeof(c->seconds[0]));
        c->seconds[c->n_seconds].t = (uint32_t)t;
        c->seconds[c->n_seconds].received = r;
        c->seconds[c->n_seconds].duplicates = d;
        c->seconds[c->n_seconds].sink_deferred = def;
        c->seconds[c->n_seconds].sink_rejected = rej;
        c->n_seconds++;
    }
    last = get(&e->last_rx_us);
    origin = get(&e->origin_us);
    c->last_ns = origin != 0 && last > origin ? (last - origin) * 1000 : 0;
}

/* snapshot_add_seconds - one loop's rows into the merged view's, by second. */
static void snapshot_add_seconds(struct tally_campaign *c, const struct tally_campaign *one)
{
    size_t i, j;

    for (i = 0; i < one->n_seconds; i++) {
        for (j = 0; j < c->n_seconds && c->seconds[j].t != one->seconds[i].t; j++)
            ;
        if (j == c->n_seconds) {
            if (j == sizeof(c->seconds) / sizeof(c->seconds[0]))
                continue;       /* loops far apart in time: the totals still count it */
            memset(&c->seconds[j], 0, sizeof(c->seconds[j]));
            c->seconds[j].t = one->seconds[i].t;
            c->n_seconds++;
        }
        stats_second_add(&c->seconds[j], &one->seconds[i]);
    }
    if (one->last_ns > c->last_ns)
        c->last_ns = one->last_ns;
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

/* entry_read - one entry's figures into c (its name) and h; -1 when the
 * writer is reusing it meanwhile (then c and h are to be ignored). */
static int entry_read(const struct tally_entry *e, struct tally_campaign *c, struct hist *h)
{
    uint32_t g = atomic_load_explicit(&e->gen, memory_order_acquire);
    uint64_t n;
    size_t i;

    if (g & 1)
        return -1;
    name_load(e->name, c->campaign);
    c->received = get(&e->received);
    c->duplicates = get(&e->duplicates);
    c->bytes = get(&e->bytes);
    c->unchecked = get(&e->unchecked);
    for (i = 0; i < TALLY_OUTCOMES; i++)
        c->outcomes[i] = get(&e->outcomes[i]);
    hist_init(h);
    for (i = 0; i < HIST_SLOTS; i++)
        if ((n = get(&e->slots[i])) != 0)
            (void)hist_add_slot(h, i, n);
    h->sum = get(&e->lat_sum);
    h->min = get(&e->lat_min);
    h->max = get(&e->lat_max);
    entry_read_seconds(e, c);
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&e->gen, memory_order_relaxed) == g ? 0 : -1;
}

void tally_snapshot_add(struct tally_snapshot *s, const struct tally *t)
{
    size_t i, k, n = atomic_load_explicit(&t->count, memory_order_acquire);
    struct tally_campaign *c, *one = malloc(sizeof(*one));

    s->untraced += get(&t->untraced);
    s->overflow += get(&t->overflow);
    s->evicted += get(&t->evicted);
    if (one == NULL)
        return;
    for (i = 0; i < n; i++) {
        if (entry_read(&t->entries[i], one, &one->latency_us) != 0)
            continue;           /* being reused: the next snapshot has it */
        if ((c = snapshot_slot(s, one->campaign)) == NULL) {
            s->overflow += one->received;
            continue;
        }
        c->received += one->received;
        c->duplicates += one->duplicates;
        c->bytes += one->bytes;
        c->unchecked += one->unchecked;
        for (k = 0; k < TALLY_OUTCOMES; k++)
            c->outcomes[k] += one->outcomes[k];
        hist_merge(&c->latency_us, &one->latency_us);
        snapshot_add_seconds(c, one);
    }
    free(one);
}

void tally_second_delivery(const struct tally *t, const char *campaign, uint32_t sec, struct hist *out)
{
    size_t i, n = atomic_load_explicit(&t->count, memory_order_acquire), k = sec % TALLY_SECONDS, j;
    const struct tally_entry *e;
    const struct tally_sec_hists *h;
    char name[TRACE_ID_MAX];
    struct hist *one;
    uint32_t g;
    uint64_t c;

    if ((one = malloc(sizeof(*one))) == NULL)
        return;
    for (i = 0; i < n; i++) {
        e = &t->entries[i];
        g = atomic_load_explicit(&e->gen, memory_order_acquire);
        if (g & 1)
            continue;
        name_load(e->name, name);
        h = atomic_load_explicit(&e->sech, memory_order_acquire);
        if (strcmp(name, campaign) != 0 || h == NULL
            || atomic_load_explicit(&e->sec_t[k], memory_order_acquire) != sec)
            continue;
        hist_init(one);
        for (j = 0; j < HIST_SLOTS; j++)
            if ((c = get(&h->slots[k][j])) != 0)
                (void)hist_add_slot(one, j, c);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&e->sec_t[k], memory_order_relaxed) != sec
            || atomic_load_explicit(&e->gen, memory_order_relaxed) != g || one->count == 0)
            continue;           /* being reused meanwhile: the next report has it */
        hist_bound_by_slots(one);
        hist_merge(out, one);
    }
    free(one);
}
