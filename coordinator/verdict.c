/* verdict.c - the --threshold expressions judged against a finished
 * campaign (see result.h): the values threshold.c asks for, taken from the
 * merged histograms and totals the report shows. */
#include "result.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* What one threshold is judged on: the campaign, or one of its phases. */
struct verdict_ctx {
    const struct run_result *res;
    const struct phase_result *ph;      /* NULL: the whole campaign */
};

static const struct hist *verdict_hist(const struct verdict_ctx *c, const char *phase)
{
    const struct run_result *res = c->res;
    int i;

    if (c->ph != NULL)      /* a campaign phase keeps these two */
        return strcmp(phase, "message") == 0 ? c->ph->message
            : strcmp(phase, "delivery") == 0 ? c->ph->delivery : NULL;
    for (i = 0; i < PHASE_COUNT; i++)
        if (strcmp(stats_phase_name((enum stats_phase)i), phase) == 0)
            return result_phase_hist(res, (enum stats_phase)i);
    return NULL;
}

static int verdict_latency_ms(void *ctx, const char *phase, double pct, double *out)
{
    const struct hist *h = verdict_hist(ctx, phase);

    if (h == NULL || h->count == 0)
        return -1;      /* nothing measured: a threshold on it cannot hold */
    *out = (pct >= 100 ? (double)h->max : (double)hist_percentile(h, pct)) / 1000.0;
    return 0;
}

/* verdict_phase_counter - a campaign phase's count by name; -1 if it has none. */
static int verdict_phase_counter(const struct verdict_ctx *c, const char *name, double *out)
{
    const struct phase_result *p = c->ph;

    if (strcmp(name, "accepted") == 0) *out = (double)p->accepted;
    else if (strcmp(name, "attempted") == 0) *out = (double)p->attempted;
    else if (strcmp(name, "rejected") == 0) *out = (double)p->rejected;
    else if (strcmp(name, "errors") == 0) *out = (double)p->errors;
    else if (strcmp(name, "received") == 0 && c->res->n_sinks > 0) *out = (double)p->received;
    else if (strcmp(name, "duplicates") == 0 && c->res->n_sinks > 0) *out = (double)p->duplicates;
    else if (strcmp(name, "backlog_growth") == 0 && c->res->n_sinks > 0) *out = phases_backlog_growth(p);
    else return -1;         /* lost, sessions, recipients: the campaign's only */
    return 0;
}

static int verdict_counter(void *ctx, const char *name, double *out)
{
    const struct verdict_ctx *c = ctx;
    const struct run_result *res = c->res;
    const struct agg_totals *t = &res->totals;

    if (c->ph != NULL)
        return verdict_phase_counter(c, name, out);
    if (strcmp(name, "accepted") == 0) *out = (double)t->accepted;
    else if (strcmp(name, "attempted") == 0) *out = (double)t->attempted;
    else if (strcmp(name, "rejected") == 0) *out = (double)t->rejected;
    else if (strcmp(name, "errors") == 0) *out = (double)t->errors;
    else if (strcmp(name, "sessions") == 0) *out = (double)t->sessions;
    else if (strcmp(name, "recipients") == 0) *out = (double)t->recipients;
    else if (strcmp(name, "received") == 0 && res->n_sinks > 0) *out = (double)t->received;
    else if (strcmp(name, "duplicates") == 0 && res->n_sinks > 0) *out = (double)t->duplicates;
    else if (strcmp(name, "lost") == 0 && res->sinks_in_path) *out = (double)res->total.lost;
    else return -1;     /* no sinks: received, duplicates and lost are unknown; backlog_growth: a phase's only */
    return 0;
}

/* verdict_phase - the campaign phase named (or, unnamed, of the kind) scope; NULL if none. */
static const struct phase_result *verdict_phase(const struct run_result *res, const char *scope)
{
    size_t i;

    for (i = 0; i < res->n_phases; i++)
        if (strcmp(res->phases[i].name, scope) == 0)
            return &res->phases[i];
    return NULL;
}

int verdict_judge(struct run_result *res)
{
    struct verdict_ctx ctx;
    struct threshold_source src = { verdict_latency_ms, verdict_counter, 0, &ctx };
    size_t i, n = res->config ? res->config->n_thresholds : 0;

    res->verdicts = NULL;
    res->n_verdicts = 0;
    res->thresholds_failed = 0;
    if (n == 0)
        return 0;
    if ((res->verdicts = calloc(n, sizeof(*res->verdicts))) == NULL)
        return -ENOMEM;
    for (i = 0; i < n; i++) {
        struct threshold_verdict *v = &res->verdicts[i];

        v->t = &res->config->thresholds[i];
        ctx.res = res;
        ctx.ph = v->t->scope[0] ? verdict_phase(res, v->t->scope) : NULL;
        src.duration_s = ctx.ph ? ctx.ph->end_s - ctx.ph->start_s : res->duration_s;
        if (v->t->scope[0] && ctx.ph == NULL)
            v->held = -1;               /* no such phase: not measurable, so it fails */
        else
            v->held = threshold_eval(v->t, &src, &v->value);
        res->thresholds_failed += v->held != 1;
    }
    res->n_verdicts = n;
    return 0;
}
