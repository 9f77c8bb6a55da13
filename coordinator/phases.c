/* phases.c - per-phase results from the event-time timeline (see phases.h). */
#include "phases.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* phase_span_ms - where phase i of w begins and ends (ms after the start),
 * cut at --duration, the last one held until it; 0 when it never runs. */
static int phase_span_ms(const struct workload_spec *w, size_t i, uint64_t *from, uint64_t *to)
{
    uint64_t at = 0, limit = w->duration_ms;
    size_t k;

    for (k = 0; k < i; k++)
        at += w->phases[k].duration_ms;
    if (limit > 0 && at >= limit)
        return 0;
    *from = at;
    *to = at + w->phases[i].duration_ms;
    if (limit > 0 && (*to > limit || i + 1 == w->n_phases))
        *to = limit;
    return 1;
}

size_t phases_last_rows(const struct workload_spec *w, uint32_t *last_rows)
{
    uint64_t from, to;
    size_t i, n = 0;

    for (i = 0; i < w->n_phases && i < CONFIG_PHASES_MAX; i++) {
        if (!phase_span_ms(w, i, &from, &to))
            break;
        /* row t holds the second ending t s after the start: a row is the
         * phase's whose span holds its middle */
        last_rows[n++] = (uint32_t)((to + 500) / 1000);
    }
    return n;
}

int phases_build(const struct workload_spec *w, const struct timeline *tl, struct phase_result **out,
                 size_t *n)
{
    struct phase_result *ph;
    const struct stats_second *c;
    uint64_t from, to, cum_accepted = 0, cum_received = 0;
    double prev = 0;
    size_t i, k;
    uint32_t t, *span_last;

    *out = NULL;
    *n = 0;
    if (w->n_phases == 0 || tl->nphases == 0)
        return 0;
    ph = calloc(tl->nphases, sizeof(*ph));
    span_last = calloc(tl->nphases, sizeof(*span_last));
    if (ph == NULL || span_last == NULL) {
        free(ph);
        free(span_last);
        return -ENOMEM;
    }
    for (i = 0; i < tl->nphases; i++) {
        const struct phase_spec *p = &w->phases[i];

        (void)phase_span_ms(w, i, &from, &to);
        ph[i].name = p->name[0] ? p->name : config_phase_kind_name(p->kind);
        ph[i].kind = config_phase_kind_name(p->kind);
        ph[i].start_s = (double)from / 1000;
        ph[i].end_s = (double)to / 1000;
        ph[i].last_row = tl->phases[i].last;
        ph[i].planned_rate = p->kind == PHASE_KIND_RAMP ? (prev + p->rate) / 2 : p->rate;
        ph[i].message = &tl->phases[i].message;
        ph[i].delivery = &tl->phases[i].delivery;
        span_last[i] = (uint32_t)((to + 500) / 1000);
        prev = p->rate;
    }
    for (t = 0; t < tl->n; t++) {
        k = timeline_phase_of(tl, t);
        c = &tl->rows[t].n;
        if (t == 0 || k != timeline_phase_of(tl, t - 1))       /* the phase's first row */
            ph[k].backlog_start = (int64_t)cum_accepted - (int64_t)cum_received;
        ph[k].attempted += c->attempted;
        ph[k].accepted += c->accepted;
        ph[k].rejected += c->rejected;
        ph[k].errors += c->errors;
        ph[k].received += c->received;
        ph[k].duplicates += c->duplicates;
        cum_accepted += c->accepted;
        cum_received += c->received;
        ph[k].backlog_end = (int64_t)cum_accepted - (int64_t)cum_received;
        if (t <= span_last[k]) {
            ph[k].backlog_span_end = ph[k].backlog_end;
            ph[k].accepted_span += c->accepted;
            ph[k].attempted_span += c->attempted;
        }
    }
    free(span_last);
    for (i = 0; i < tl->nphases; i++)        /* within its span: not the last one's drain tail */
        if (ph[i].end_s > ph[i].start_s)
            ph[i].rate = (double)ph[i].accepted_span / (ph[i].end_s - ph[i].start_s);
    *out = ph;
    *n = tl->nphases;
    return 0;
}

double phases_backlog_growth(const struct phase_result *p)
{
    if (p->end_s <= p->start_s)
        return 0;
    return (double)(p->backlog_span_end - p->backlog_start) / (p->end_s - p->start_s);
}
