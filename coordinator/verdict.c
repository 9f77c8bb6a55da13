/* verdict.c - the --threshold expressions judged against a finished
 * campaign (see result.h): the values threshold.c asks for, taken from the
 * merged histograms and totals the report shows. */
#include "result.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct hist *verdict_hist(const struct run_result *res, const char *phase)
{
    int i;

    if (strcmp(phase, "delivery") == 0)
        return &res->delivery;
    for (i = 0; i < PHASE_COUNT; i++)
        if (i != PHASE_DELIVERY && strcmp(stats_phase_name((enum stats_phase)i), phase) == 0)
            return &res->stats->latency[i];
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

static int verdict_counter(void *ctx, const char *name, double *out)
{
    const struct run_result *res = ctx;
    const struct agg_totals *t = &res->totals;

    if (strcmp(name, "accepted") == 0) *out = (double)t->accepted;
    else if (strcmp(name, "attempted") == 0) *out = (double)t->attempted;
    else if (strcmp(name, "rejected") == 0) *out = (double)t->rejected;
    else if (strcmp(name, "errors") == 0) *out = (double)t->errors;
    else if (strcmp(name, "sessions") == 0) *out = (double)t->sessions;
    else if (strcmp(name, "recipients") == 0) *out = (double)t->recipients;
    else if (strcmp(name, "received") == 0 && res->n_sinks > 0) *out = (double)t->received;
    else if (strcmp(name, "duplicates") == 0 && res->n_sinks > 0) *out = (double)t->duplicates;
    else if (strcmp(name, "lost") == 0 && res->sinks_in_path) *out = (double)res->total.lost;
    else return -1;     /* no sinks: received, duplicates and lost are unknown */
    return 0;
}

int verdict_judge(struct run_result *res)
{
    struct threshold_source src = { verdict_latency_ms, verdict_counter, res->duration_s, res };
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
        v->held = threshold_eval(v->t, &src, &v->value);
        res->thresholds_failed += v->held != 1;
    }
    res->n_verdicts = n;
    return 0;
}
