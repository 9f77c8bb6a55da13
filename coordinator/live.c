/* live.c - what a running campaign shows: the progress line's view
 * (progress.c draws it) and the --metrics document (exporter.c builds it,
 * lib/metrics serves it). */
#include "run_private.h"
#include "exporter.h"
#include "log.h"

#include <stdlib.h>

#define LIVE_RATE_SPAN_S 5      /* the progress line's rate: the last settled seconds' mean */

void live_show_progress(struct run *r, uint64_t now)
{
    struct progress_view v = { 0 };
    struct agg_totals t;
    struct stats_second settled;
    struct hist *h;
    size_t i;

    if (r->cfg->quiet || (r->last_line_ns && run_since(now, r->last_line_ns) < NS_PER_SEC))
        return;
    r->last_line_ns = now;
    run_totals(r, &t);
    v.attempted = t.attempted;
    v.accepted = t.accepted;
    v.errors = t.errors;
    v.rejected = t.rejected;
    v.sinks = r->want_sinks > 0;
    v.received = t.received;
    /* The backlog by event time: both counts at the end of the same
     * second, not as the last reports of agents and sinks (sent at
     * different times) happen to stand. */
    v.backlog_t = timeline_settled(&r->tl, &settled);
    v.backlog = (int64_t)settled.accepted - (int64_t)settled.received;
    v.rate = timeline_settled_rate(&r->tl, LIVE_RATE_SPAN_S);
    v.draining = r->state == RUN_DRAIN;
    v.planned = r->cfg->w.messages_set || (r->cfg->w.duration_ms == 0 && r->cfg->w.n_phases == 0)
        ? r->cfg->w.messages : 0;
    for (i = 0; i < r->na; i++)
        v.agents_up += r->agents[i]->alive && !r->agents[i]->lost;
    v.agents_total = r->na;
    v.elapsed_s = now > r->start_ns ? (double)(now - r->start_ns) / 1e9 : 0;
    v.eta_s = -1;
    if (v.planned && v.rate > 0)
        v.eta_s = (double)(v.planned > t.attempted ? v.planned - t.attempted : 0) / v.rate;
    else if (!v.planned)
        v.eta_s = (double)config_total_duration_ms(&r->cfg->w) / 1000.0 - v.elapsed_s;
    if ((h = malloc(sizeof(*h))) != NULL) {
        hist_init(h);
        agg_merge_phase(r->agents, r->na, PHASE_MESSAGE, h);
        v.p99_us = hist_percentile(h, 99.0);
        free(h);
    }
    progress_update(&r->line, &v, now);
}

/* --metrics: a fresh document for the server's thread, once a second. */
void live_publish_metrics(struct run *r, uint64_t now)
{
    struct exporter_view v = { 0 };

    if (r->metrics == NULL)
        return;
    v.campaign = r->state >= RUN_READY ? r->campaign : "";
    v.running = r->state == RUN_RUNNING && now >= r->start_ns;
    v.elapsed_s = r->ran && now > r->start_ns ? (double)(now - r->start_ns) / 1e9 : 0;
    v.agents_alive = registry_alive(&r->reg, PEERLINK_AGENT);
    v.sinks_alive = registry_alive(&r->reg, PEERLINK_SINK);
    v.agents = r->agents;
    v.na = r->na;
    v.sinks = r->sinks;
    v.ns = r->ns;
    run_control_counts(r, &v.control);
    metrics_text_reset(&r->metrics_text);
    if (exporter_build(&r->metrics_text, &v) != 0 || metrics_publish(r->metrics, &r->metrics_text) != 0)
        log_debug("metrics: out of memory; the last document stays");
}
