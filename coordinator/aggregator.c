/* aggregator.c - totals and merges from the peers' last cumulative
 * reports, and the timeline's flow figures (see aggregator.h). */
#include "aggregator.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

double agg_cpu_pct(const struct peer *agent)
{
    const Smtpstorm__Progress *pr = agg_progress_of(agent);

    if (pr == NULL || pr->elapsed_ns == 0)
        return 0;
    return 100.0 * (double)pr->cpu_ns / (double)pr->elapsed_ns / (double)(agent->cores ? agent->cores : 1);
}

const Smtpstorm__Progress *agg_progress_of(const struct peer *agent)
{
    const Smtpstorm__Envelope *env = agent->latest;

    if (env == NULL)
        return NULL;
    if (env->body_case == SMTPSTORM__ENVELOPE__BODY_PROGRESS)
        return env->progress;
    if (env->body_case == SMTPSTORM__ENVELOPE__BODY_DONE)
        return env->done->final;
    return NULL;
}

const Smtpstorm__CampaignCounters *agg_sink_campaign(const struct peer *sink, const char *campaign)
{
    const Smtpstorm__Envelope *env = sink->latest;
    size_t i;

    if (env == NULL || env->body_case != SMTPSTORM__ENVELOPE__BODY_SINK_COUNTERS)
        return NULL;
    for (i = 0; i < env->sink_counters->n_campaigns; i++)
        if (strcmp(env->sink_counters->campaigns[i]->campaign, campaign) == 0)
            return env->sink_counters->campaigns[i];
    return NULL;
}

static void agg_count_failure_replies(const Smtpstorm__Progress *p, struct agg_totals *t)
{
    size_t i;

    for (i = 0; i < p->n_replies; i++) {
        if (p->replies[i]->code >= 400 && p->replies[i]->code < 500)
            t->replies_4xx += p->replies[i]->count;
        else if (p->replies[i]->code >= 500 && p->replies[i]->code < 600)
            t->replies_5xx += p->replies[i]->count;
    }
}

void agg_totals(struct peer *const *agents, size_t na, struct peer *const *sinks, size_t ns,
                const char *campaign, struct agg_totals *t)
{
    const Smtpstorm__Progress *p;
    const Smtpstorm__CampaignCounters *c;
    size_t i;

    memset(t, 0, sizeof(*t));
    for (i = 0; i < na; i++) {
        if ((p = agg_progress_of(agents[i])) == NULL)
            continue;
        t->sessions += p->sessions;
        t->attempted += p->messages_attempted;
        t->accepted += p->messages_accepted;
        t->rejected += p->messages_rejected;
        t->unfinished += p->messages_unfinished;
        t->errors += p->errors;
        t->recipients += p->recipients;
        t->bytes += p->bytes;
        agg_count_failure_replies(p, t);
        if (agents[i]->latest->body_case == SMTPSTORM__ENVELOPE__BODY_PROGRESS)
            t->sessions_active += p->sessions_active;
    }
    for (i = 0; i < ns; i++) {
        if ((c = agg_sink_campaign(sinks[i], campaign)) == NULL)
            continue;
        t->received += c->received;
        t->duplicates += c->duplicates;
        t->sink_bytes += c->bytes;
    }
}

void agg_merge_stats(struct peer *const *agents, size_t na, struct load_stats *out)
{
    const Smtpstorm__Progress *p;
    size_t i;

    for (i = 0; i < na; i++)
        if ((p = agg_progress_of(agents[i])) != NULL)
            (void)wire_progress_merge(out, p);
}

void agg_merge_phase(struct peer *const *agents, size_t na, enum stats_phase phase, struct hist *out)
{
    const Smtpstorm__Progress *p;
    size_t i, j;

    for (i = 0; i < na; i++) {
        if ((p = agg_progress_of(agents[i])) == NULL)
            continue;
        for (j = 0; j < p->n_latency; j++)
            if (p->latency[j]->phase == (uint32_t)phase)
                (void)wire_hist_merge(out, p->latency[j]);
    }
}

void agg_merge_delivery(struct peer *const *sinks, size_t ns, const char *campaign, struct hist *out)
{
    const Smtpstorm__CampaignCounters *c;
    size_t i;

    for (i = 0; i < ns; i++)
        if ((c = agg_sink_campaign(sinks[i], campaign)) != NULL && c->delivery != NULL)
            (void)wire_hist_merge(out, c->delivery);
}

void agg_sink_for_agent(struct peer *const *sinks, size_t ns, const char *campaign, const char *agent,
                        struct sink_count *out)
{
    const Smtpstorm__CampaignCounters *c;
    size_t i, j;

    memset(out, 0, sizeof(*out));
    for (i = 0; i < ns; i++) {
        if ((c = agg_sink_campaign(sinks[i], campaign)) == NULL)
            continue;
        for (j = 0; j < c->n_agents; j++) {
            if (strcmp(c->agents[j]->agent, agent) == 0) {
                out->received += c->agents[j]->received;
                out->duplicates += c->agents[j]->duplicates;
                out->rejected += c->agents[j]->rejected;
                out->deferred += c->agents[j]->deferred;
            }
        }
    }
}

void agg_latency_of(const struct hist *h, struct agg_latency *out)
{
    memset(out, 0, sizeof(*out));
    out->count = h->count;
    if (h->count == 0)
        return;
    out->p50_us = hist_percentile(h, 50);
    out->p90_us = hist_percentile(h, 90);
    out->p99_us = hist_percentile(h, 99);
    out->max_us = h->max;
}

int agg_row_add(struct aggregator *a, uint32_t t, const struct agg_totals *cum)
{
    struct agg_row *grown;
    size_t cap;

    while (a->n == 0 || a->rows[a->n - 1].t < t) {
        if (a->n == a->cap) {
            cap = a->cap ? 2 * a->cap : 64;
            if ((grown = realloc(a->rows, cap * sizeof(*grown))) == NULL)
                return -ENOMEM;
            a->rows = grown;
            a->cap = cap;
        }
        a->rows[a->n].t = a->n == 0 ? t : a->rows[a->n - 1].t + 1;
        a->rows[a->n].cum = *cum;
        memset(&a->rows[a->n].message, 0, sizeof(a->rows[a->n].message));
        memset(&a->rows[a->n].delivery, 0, sizeof(a->rows[a->n].delivery));
        a->n++;
        if (a->rows[a->n - 1].t >= t)
            break;
    }
    return 0;
}

int64_t agg_row_backlog(const struct aggregator *a, size_t i)
{
    return (int64_t)a->rows[i].cum.accepted - (int64_t)a->rows[i].cum.received;
}

/* When a cumulative count (accepted: 0, received: 1) first reached its end
 * value: the second before the row where it did, plus the part of that
 * second the last messages needed at the rate of the second before (a
 * whole second when there is no such rate or it was slower). */
static double agg_reached_s(const struct aggregator *a, int received)
{
    uint64_t end, before, last, rate;
    size_t i;

#define AGG_COUNT(k) (received ? a->rows[k].cum.received : a->rows[k].cum.accepted)
    end = AGG_COUNT(a->n - 1);
    if (end == 0)
        return 0;
    for (i = 0; AGG_COUNT(i) < end; i++)
        ;
    if (i == 0)
        return (double)a->rows[0].t;
    before = AGG_COUNT(i - 1);
    last = end - before;
    rate = i >= 2 && AGG_COUNT(i - 1) > AGG_COUNT(i - 2) ? AGG_COUNT(i - 1) - AGG_COUNT(i - 2) : 0;
#undef AGG_COUNT
    if (rate == 0 || last >= rate)
        return (double)a->rows[i].t;
    return (double)a->rows[i - 1].t + (double)last / (double)rate * (double)(a->rows[i].t - a->rows[i - 1].t);
}

void agg_flow(const struct aggregator *a, struct agg_flow *out)
{
    const struct agg_totals *c, *p;
    static const struct agg_totals zero;
    int64_t b;
    size_t i;

    memset(out, 0, sizeof(*out));
    if (a->n == 0)
        return;
    for (i = 0; i < a->n; i++) {
        c = &a->rows[i].cum;
        p = i > 0 ? &a->rows[i - 1].cum : &zero;
        if (c->accepted > p->accepted && c->accepted - p->accepted > out->inject_peak)
            out->inject_peak = c->accepted - p->accepted;
        if (c->received > p->received && c->received - p->received > out->deliver_peak)
            out->deliver_peak = c->received - p->received;
        b = agg_row_backlog(a, i);
        if (b > out->backlog_peak) {
            out->backlog_peak = b;
            out->backlog_peak_t = a->rows[i].t;
        }
    }
    out->accepted = a->rows[a->n - 1].cum.accepted;
    out->received = a->rows[a->n - 1].cum.received;
    out->backlog_end = agg_row_backlog(a, a->n - 1);
    out->inject_s = agg_reached_s(a, 0);
    out->deliver_s = agg_reached_s(a, 1);
    if (out->inject_s > 0)
        out->inject_rate = (double)out->accepted / out->inject_s;
    if (out->deliver_s > 0)
        out->deliver_rate = (double)out->received / out->deliver_s;
}

void agg_free(struct aggregator *a)
{
    free(a->rows);
    memset(a, 0, sizeof(*a));
}
