/* timeline.c - the event-time timeline (see timeline.h). */
#include "timeline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void timeline_init(struct timeline *tl)
{
    memset(tl, 0, sizeof(*tl));
    tl->least = UINT32_MAX;
}

void timeline_free(struct timeline *tl)
{
    free(tl->rows);
    free(tl->pending);
    free(tl->phases);
    free(tl->steady);
    free(tl->folds);
    free(tl->fold_index);
    memset(tl, 0, sizeof(*tl));
    tl->least = UINT32_MAX;
}

/* fold_slot - peer's slot in the index: where its fold number is, or the
 * empty one where it goes. */
static size_t fold_slot(const struct timeline *tl, const void *peer)
{
    uint64_t h = (uint64_t)(uintptr_t)peer * 0x9E3779B97F4A7C15ULL;
    size_t mask = tl->fold_index_cap - 1, i = (size_t)(h >> 32) & mask;

    while (tl->fold_index[i] != 0 && tl->folds[tl->fold_index[i] - 1].peer != peer)
        i = (i + 1) & mask;
    return i;
}

/* fold_index_grow - room in the index for want folds at half load. */
static int fold_index_grow(struct timeline *tl, size_t want)
{
    size_t *old = tl->fold_index, cap = tl->fold_index_cap ? tl->fold_index_cap : 64, i;

    if (2 * want <= tl->fold_index_cap)
        return 0;
    while (cap < 2 * want)
        cap *= 2;
    if ((tl->fold_index = calloc(cap, sizeof(*tl->fold_index))) == NULL) {
        tl->fold_index = old;
        return -ENOMEM;
    }
    tl->fold_index_cap = cap;
    for (i = 0; i < tl->nfolds; i++)
        tl->fold_index[fold_slot(tl, tl->folds[i].peer)] = i + 1;
    free(old);
    return 0;
}

/* least_recount - the least folded second of the live folds, counted anew. */
static void least_recount(struct timeline *tl)
{
    size_t i;

    tl->least = UINT32_MAX;
    tl->at_least = 0;
    for (i = 0; i < tl->nfolds; i++) {
        if (!tl->folds[i].live || tl->folds[i].folded > tl->least)
            continue;
        if (tl->folds[i].folded < tl->least) {
            tl->least = tl->folds[i].folded;
            tl->at_least = 0;
        }
        tl->at_least++;
    }
}

/* least_leave - a fold was live at second folded and is no more (it moved
 * past it, or retired): already updated, so a recount sees it as it is. */
static void least_leave(struct timeline *tl, uint32_t folded)
{
    if (folded == tl->least && --tl->at_least == 0)
        least_recount(tl);
}

/* fold_of - peer's fold, added (live) when new and create is set. */
static struct timeline_fold *fold_of(struct timeline *tl, const void *peer, int create)
{
    struct timeline_fold *grown;
    size_t cap;

    if (tl->fold_index_cap > 0 && tl->fold_index[fold_slot(tl, peer)] != 0)
        return &tl->folds[tl->fold_index[fold_slot(tl, peer)] - 1];
    if (!create || fold_index_grow(tl, tl->nfolds + 1) != 0)
        return NULL;
    if (tl->nfolds == tl->capfolds) {
        cap = tl->capfolds ? 2 * tl->capfolds : 16;
        if ((grown = realloc(tl->folds, cap * sizeof(*grown))) == NULL)
            return NULL;
        tl->folds = grown;
        tl->capfolds = cap;
    }
    memset(&tl->folds[tl->nfolds], 0, sizeof(tl->folds[0]));
    tl->folds[tl->nfolds].peer = peer;
    tl->folds[tl->nfolds].live = 1;
    tl->fold_index[fold_slot(tl, peer)] = tl->nfolds + 1;
    if (tl->least > 0)
        tl->at_least = 0;
    tl->least = 0;                  /* a new fold has folded nothing */
    tl->at_least++;
    return &tl->folds[tl->nfolds++];
}

/* rows_reserve - rows[0..n) exist (zeroed when new). */
static int rows_reserve(struct timeline *tl, size_t n)
{
    struct timeline_row *grown;
    size_t cap;

    if (n <= tl->n)
        return 0;
    if (n > tl->cap) {
        cap = tl->cap ? tl->cap : 64;
        while (cap < n)
            cap *= 2;
        if ((grown = realloc(tl->rows, cap * sizeof(*grown))) == NULL)
            return -ENOMEM;
        tl->rows = grown;
        tl->cap = cap;
    }
    memset(&tl->rows[tl->n], 0, (n - tl->n) * sizeof(tl->rows[0]));
    tl->n = n;
    return 0;
}

int timeline_set_phases(struct timeline *tl, const uint32_t *last_rows, size_t n)
{
    size_t i;

    free(tl->phases);
    tl->nphases = 0;
    if (n == 0)
        return 0;
    if ((tl->phases = malloc(n * sizeof(*tl->phases))) == NULL)
        return -ENOMEM;
    for (i = 0; i < n; i++) {
        tl->phases[i].last = last_rows[i];
        hist_init(&tl->phases[i].message);
        hist_init(&tl->phases[i].delivery);
    }
    tl->nphases = n;
    return 0;
}

int timeline_set_warmup(struct timeline *tl, uint32_t last_row)
{
    if (tl->steady == NULL && (tl->steady = malloc(sizeof(*tl->steady))) == NULL)
        return -ENOMEM;
    tl->warmup_last = last_row;
    tl->steady->last = UINT32_MAX;
    hist_init(&tl->steady->message);
    hist_init(&tl->steady->delivery);
    return 0;
}

size_t timeline_phase_of(const struct timeline *tl, uint32_t t)
{
    size_t i;

    for (i = 0; i + 1 < tl->nphases && t > tl->phases[i].last; i++)
        ;
    return i;
}

/* row_finalize - row t's latencies from its pending histograms, merged
 * into its phase's too; the slots are emptied for second t + TIMELINE_PENDING. */
static void row_finalize(struct timeline *tl, uint32_t t)
{
    struct timeline_phase *ph;
    struct hist *m, *d;

    if (t >= tl->n)
        return;
    stats_second_add(&tl->settled, &tl->rows[t].n);
    if (tl->pending == NULL)
        return;
    m = &tl->pending[t % TIMELINE_PENDING];
    d = &tl->pending[TIMELINE_PENDING + t % TIMELINE_PENDING];
    agg_latency_of(m, &tl->rows[t].message);
    agg_latency_of(d, &tl->rows[t].delivery);
    ph = tl->nphases ? &tl->phases[timeline_phase_of(tl, t)] : NULL;
    if (ph != NULL) {
        hist_merge(&ph->message, m);
        hist_merge(&ph->delivery, d);
    }
    if (tl->steady != NULL && t > tl->warmup_last) {
        hist_merge(&tl->steady->message, m);
        hist_merge(&tl->steady->delivery, d);
    }
    if (m->count > 0)
        hist_init(m);
    if (d->count > 0)
        hist_init(d);
}

/* finalize_before - every row before t is final. */
static void finalize_before(struct timeline *tl, uint32_t t)
{
    for (; tl->final < t; tl->final++)
        row_finalize(tl, tl->final);
}

/* advance_final - rows before every live peer's folded second are final. */
static void advance_final(struct timeline *tl)
{
    if (tl->least != UINT32_MAX)
        finalize_before(tl, tl->least);
}

/* pending_for - the histogram second t's message (or delivery) latency
 * gathers in, or NULL when the row is final already; a second
 * TIMELINE_PENDING beyond the oldest row not final makes the oldest final. */
static struct hist *pending_for(struct timeline *tl, uint32_t t, int delivery)
{
    size_t i;

    if (t < tl->final)
        return NULL;
    if (tl->pending == NULL) {
        if ((tl->pending = malloc(2 * TIMELINE_PENDING * sizeof(*tl->pending))) == NULL)
            return NULL;
        for (i = 0; i < 2 * TIMELINE_PENDING; i++)
            hist_init(&tl->pending[i]);
    }
    if (t >= tl->final + TIMELINE_PENDING)
        finalize_before(tl, t - TIMELINE_PENDING + 1);
    return &tl->pending[(delivery ? TIMELINE_PENDING : 0) + t % TIMELINE_PENDING];
}

/* fold_latency - one reported second's histogram into its pending one. */
static void fold_latency(struct timeline *tl, uint32_t t, const Smtpstorm__Hist *pb, int delivery)
{
    struct hist *h;

    if (pb == NULL || pb->count == 0)
        return;
    if ((h = pending_for(tl, t, delivery)) == NULL || wire_hist_merge(h, pb) != 0)
        tl->late_latencies += pb->count;
}

static int counts_any(const struct stats_second *d)
{
    return d->attempted || d->accepted || d->rejected || d->errors || d->replies_4xx
        || d->replies_5xx || d->received || d->duplicates || d->sink_deferred || d->sink_rejected;
}

/* row_add - counts c into row t (a final row's into the settled sum too). */
static void row_add(struct timeline *tl, uint32_t t, const struct stats_second *c)
{
    stats_second_add(&tl->rows[t].n, c);
    if (t < tl->final)
        stats_second_add(&tl->settled, c);
}

/* fold_row - add one reported second into the rows and the peer's sum. */
static void fold_row(struct timeline *tl, struct timeline_fold *f, const Smtpstorm__Second *pb)
{
    struct stats_second c;

    wire_second_get(pb, &c);
    row_add(tl, c.t, &c);
    c.sessions_active = 0;
    stats_second_add(&f->sum, &c);
    fold_latency(tl, c.t, pb->message, 0);
    fold_latency(tl, c.t, pb->delivery, 1);
}

int timeline_expect(struct timeline *tl, const void *peer)
{
    return fold_of(tl, peer, 1) != NULL ? 0 : -ENOMEM;
}

int timeline_take(struct timeline *tl, const void *peer, const Smtpstorm__Seconds *sc)
{
    struct timeline_fold *f;
    struct stats_second before, missing;
    uint32_t first_new = UINT32_MAX, target, old;
    size_t i;

    if (sc == NULL)
        return 0;
    if (sc->closed > TIMELINE_SECONDS_MAX)
        return -ERANGE;
    if ((f = fold_of(tl, peer, 1)) == NULL || rows_reserve(tl, (size_t)sc->closed + 1) != 0)
        return -ENOMEM;
    if (sc->last_ns > f->last_ns)
        f->last_ns = sc->last_ns;
    if (sc->closed > tl->end)
        tl->end = sc->closed;
    if (sc->total != NULL)
        wire_second_get(sc->total, &f->total);
    for (i = 0; i < sc->n_rows; i++) {
        if (sc->rows[i]->t < f->folded)
            continue;                   /* folded from an earlier report */
        if (first_new == UINT32_MAX)
            first_new = sc->rows[i]->t;
        fold_row(tl, f, sc->rows[i]);
    }
    /* What the sum of every second before closed holds beyond what the rows
     * brought: reports lost on the wire (then it happened before the first
     * new row), or a count that reached a second after it was reported
     * (then it goes to the next second of this peer's) */
    if (sc->closed > f->folded) {
        target = first_new != UINT32_MAX && first_new > f->folded ? first_new - 1 : sc->closed - 1;
        old = f->folded;
        f->folded = sc->closed;
        if (f->live)
            least_leave(tl, old);
    } else {
        target = f->folded;
    }
    if (sc->before != NULL) {
        wire_second_get(sc->before, &before);
        stats_second_sub(&before, &f->sum, &missing);
        if (counts_any(&missing)) {
            missing.sessions_active = 0;
            row_add(tl, target, &missing);
            stats_second_add(&f->sum, &missing);
        }
    }
    advance_final(tl);
    return 0;
}

void timeline_restarted(struct timeline *tl, const void *peer)
{
    struct timeline_fold *f = fold_of(tl, peer, 0);

    if (f != NULL) {
        memset(&f->sum, 0, sizeof(f->sum));
        memset(&f->total, 0, sizeof(f->total));
    }
}

void timeline_retire(struct timeline *tl, const void *peer)
{
    struct timeline_fold *f = fold_of(tl, peer, 0);

    if (f != NULL && f->live) {
        f->live = 0;
        least_leave(tl, f->folded);
    }
    advance_final(tl);
}

void timeline_revive(struct timeline *tl, const void *peer)
{
    struct timeline_fold *f = fold_of(tl, peer, 0);

    if (f != NULL && !f->live) {
        f->live = 1;
        least_recount(tl);
    }
}

uint64_t timeline_last_ns(const struct timeline *tl, int (*pick)(const void *peer, void *arg), void *arg)
{
    uint64_t last = 0;
    size_t i;

    for (i = 0; i < tl->nfolds; i++)
        if (tl->folds[i].last_ns > last && pick(tl->folds[i].peer, arg))
            last = tl->folds[i].last_ns;
    return last;
}

/* settled_end - the first row not final (or none: n). */
static uint32_t settled_end(const struct timeline *tl)
{
    return tl->final < tl->n ? tl->final : (uint32_t)tl->n;
}

uint32_t timeline_settled(const struct timeline *tl, struct stats_second *sum)
{
    uint32_t end = settled_end(tl);

    *sum = tl->settled;
    return end > 0 ? end - 1 : 0;
}

double timeline_settled_rate(const struct timeline *tl, uint32_t span)
{
    uint32_t end = settled_end(tl), t;
    uint32_t first = end > span + 1 ? end - span : 1;   /* row 0: before the start */
    uint64_t accepted = 0;

    if (end <= first)
        return 0;
    for (t = first; t < end; t++)
        accepted += tl->rows[t].n.accepted;
    return (double)accepted / (double)(end - first);
}

void timeline_finish(struct timeline *tl)
{
    struct stats_second open;
    struct timeline_fold *f;
    size_t i;

    for (i = 0; i < tl->nfolds; i++) {
        f = &tl->folds[i];
        stats_second_sub(&f->total, &f->sum, &open);
        if (!counts_any(&open) || rows_reserve(tl, (size_t)f->folded + 1) != 0)
            continue;
        row_add(tl, f->folded, &open);
        stats_second_add(&f->sum, &open);
    }
    finalize_before(tl, (uint32_t)tl->n);
}

int timeline_rows(const struct timeline *tl, struct aggregator *out)
{
    struct agg_totals cum;
    const struct stats_second *n;
    size_t t, first, last;

    memset(&cum, 0, sizeof(cum));
    if (tl->n == 0)
        return 0;
    /* from second 1 (0 too when it holds a count) to the last reported
     * closed, or beyond to the last with a count */
    first = tl->n > 1 && !counts_any(&tl->rows[0].n) ? 1 : 0;
    last = tl->end > 0 ? tl->end - 1 : 0;
    for (t = tl->n - 1; t > last; t--)
        if (counts_any(&tl->rows[t].n))
            break;
    last = t > last ? t : last;
    if (last < first)
        return 0;
    if ((out->rows = calloc(last + 1 - first, sizeof(*out->rows))) == NULL)
        return -ENOMEM;
    out->cap = last + 1 - first;
    for (t = first; t <= last; t++) {
        n = &tl->rows[t].n;
        cum.attempted += n->attempted;
        cum.accepted += n->accepted;
        cum.rejected += n->rejected;
        cum.errors += n->errors;
        cum.replies_4xx += n->replies_4xx;
        cum.replies_5xx += n->replies_5xx;
        cum.received += n->received;
        cum.duplicates += n->duplicates;
        cum.sink_deferred += n->sink_deferred;
        cum.sink_rejected += n->sink_rejected;
        cum.sessions_active = n->sessions_active;
        out->rows[out->n].t = (uint32_t)t;
        out->rows[out->n].cum = cum;
        out->rows[out->n].message = tl->rows[t].message;
        out->rows[out->n].delivery = tl->rows[t].delivery;
        out->n++;
    }
    return 0;
}
