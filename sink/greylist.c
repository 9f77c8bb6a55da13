/* greylist.c - the greylisting table (see greylist.h): a chained hash of
 * 64-bit keys over a fixed array of entries, with a doubly linked LRU list
 * through them; nothing is allocated after greylist_new. */
#include "greylist.h"

#include <assert.h>
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define NONE UINT32_MAX

struct grey_entry {
    uint64_t key;
    uint64_t first_ms;          /* first attempt of this round */
    uint32_t hnext;             /* hash chain */
    uint32_t prev, next;        /* LRU list: head most recent */
};

struct greylist {
    pthread_mutex_t lock;
    size_t max, used;
    uint32_t mask;              /* buckets - 1 */
    uint32_t *bucket;
    uint32_t head, tail;
    _Atomic uint64_t evictions;
    struct grey_entry e[];
};

struct greylist *greylist_new(size_t max)
{
    struct greylist *g;
    size_t nb = 1, i;

    assert(max >= 1 && max < NONE);
    while (nb < max)
        nb *= 2;
    if ((g = calloc(1, sizeof(*g) + max * sizeof(g->e[0]))) == NULL)
        return NULL;
    if ((g->bucket = malloc(nb * sizeof(*g->bucket))) == NULL) {
        free(g);
        return NULL;
    }
    for (i = 0; i < nb; i++)
        g->bucket[i] = NONE;
    pthread_mutex_init(&g->lock, NULL);
    g->max = max;
    g->mask = (uint32_t)(nb - 1);
    g->head = g->tail = NONE;
    return g;
}

void greylist_free(struct greylist *g)
{
    if (g == NULL)
        return;
    pthread_mutex_destroy(&g->lock);
    free(g->bucket);
    free(g);
}

/* hash_str - FNV-1a of s, lower-cased, then a separator, into h. */
static uint64_t hash_str(uint64_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)tolower((unsigned char)*s)) * 1099511628211ULL;
    return (h ^ 0xff) * 1099511628211ULL;
}

static void lru_unlink(struct greylist *g, uint32_t i)
{
    struct grey_entry *e = &g->e[i];

    if (e->prev != NONE) g->e[e->prev].next = e->next; else g->head = e->next;
    if (e->next != NONE) g->e[e->next].prev = e->prev; else g->tail = e->prev;
}

static void lru_push(struct greylist *g, uint32_t i)
{
    g->e[i].prev = NONE;
    g->e[i].next = g->head;
    if (g->head != NONE)
        g->e[g->head].prev = i;
    g->head = i;
    if (g->tail == NONE)
        g->tail = i;
}

/* hash_unlink - take entry i out of its chain. */
static void hash_unlink(struct greylist *g, uint32_t i)
{
    uint32_t *p = &g->bucket[g->e[i].key & g->mask];

    while (*p != i) {
        assert(*p != NONE);     /* an entry in use is in its chain */
        p = &g->e[*p].hnext;
    }
    *p = g->e[i].hnext;
}

/* slot_new - a free entry, or the least recently used one evicted. */
static uint32_t slot_new(struct greylist *g)
{
    uint32_t i;

    if (g->used < g->max)
        return (uint32_t)g->used++;
    i = g->tail;
    lru_unlink(g, i);
    hash_unlink(g, i);
    atomic_fetch_add_explicit(&g->evictions, 1, memory_order_relaxed);
    return i;
}

/* find - the entry of key, or NONE. */
static uint32_t find(const struct greylist *g, uint64_t key)
{
    uint32_t i = g->bucket[key & g->mask];

    while (i != NONE && g->e[i].key != key)
        i = g->e[i].hnext;
    return i;
}

/* insert - a new entry for key first seen at now_ms. */
static void insert(struct greylist *g, uint64_t key, uint64_t now_ms)
{
    uint32_t i = slot_new(g);

    g->e[i].key = key;
    g->e[i].first_ms = now_ms;
    g->e[i].hnext = g->bucket[key & g->mask];
    g->bucket[key & g->mask] = i;
    lru_push(g, i);
}

enum greylist_result greylist_check(struct greylist *g, const char *client, const char *sender,
                                    const char *rcpt, uint64_t now_ms, uint64_t min_ms,
                                    uint64_t lifetime_ms)
{
    uint64_t key = hash_str(hash_str(hash_str(14695981039346656037ULL, client), sender), rcpt);
    enum greylist_result r = GREYLIST_DEFER;
    uint32_t i;

    pthread_mutex_lock(&g->lock);
    if ((i = find(g, key)) == NONE) {
        insert(g, key, now_ms);
    } else {
        lru_unlink(g, i);
        lru_push(g, i);
        if (now_ms - g->e[i].first_ms > lifetime_ms)
            g->e[i].first_ms = now_ms;      /* too late: a new first attempt */
        else if (now_ms - g->e[i].first_ms >= min_ms)
            r = GREYLIST_PASS;
    }
    pthread_mutex_unlock(&g->lock);
    return r;
}

uint64_t greylist_evictions(const struct greylist *g)
{
    return atomic_load_explicit(&g->evictions, memory_order_relaxed);
}

size_t greylist_size(const struct greylist *g)
{
    return g->used;
}
