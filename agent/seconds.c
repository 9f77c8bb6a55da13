/* seconds.c - event-time rows merged from several engines (see seconds.h). */
#include "seconds.h"

#include <string.h>

void seconds_window_init(struct seconds_window *w)
{
    memset(w, 0, sizeof(*w));
}

void seconds_add_row(void *arg, const struct meter_second *row)
{
    struct seconds_window *w = arg;
    size_t k = row->n.t % SECONDS_WINDOW;
    struct meter_second *slot = &w->rows[k];

    if (!w->used[k] || slot->n.t != row->n.t) {
        if (w->used[k] && slot->n.t > row->n.t)
            goto total;         /* older than the window: only its counts are kept */
        memset(&slot->n, 0, sizeof(slot->n));
        slot->n.t = row->n.t;
        hist_init(&slot->message);
        w->used[k] = 1;
    }
    stats_second_add(&slot->n, &row->n);
    hist_merge(&slot->message, &row->message);
total:
    stats_second_add(&w->total, &row->n);
    w->total.sessions_active = 0;
    if (row->last_ns > w->last_ns)
        w->last_ns = row->last_ns;
}

const struct meter_second *seconds_find(const struct seconds_window *w, uint32_t t)
{
    size_t k = t % SECONDS_WINDOW;

    return w->used[k] && w->rows[k].n.t == t ? &w->rows[k] : NULL;
}

void seconds_totals_before(const struct seconds_window *w, uint32_t t, struct stats_second *out)
{
    size_t k;

    *out = w->total;
    out->t = t;
    for (k = 0; k < SECONDS_WINDOW; k++)
        if (w->used[k] && w->rows[k].n.t >= t)
            stats_second_sub(out, &w->rows[k].n, out);
}

void seconds_round_begin(const struct seconds_window *w, struct seconds_round *r)
{
    r->least_live = UINT32_MAX;
    r->greatest = w->closed;
    r->any_live = 0;
}

void seconds_round_note(struct seconds_round *r, uint32_t closed, int live)
{
    if (live) {
        r->any_live = 1;
        if (closed < r->least_live)
            r->least_live = closed;
    }
    if (closed > r->greatest)
        r->greatest = closed;
}

void seconds_round_end(struct seconds_window *w, const struct seconds_round *r)
{
    uint32_t closed = r->any_live ? r->least_live : r->greatest;

    if (closed > w->closed)
        w->closed = closed;
}
