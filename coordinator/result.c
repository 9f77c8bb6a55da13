/* result.c - the end of a campaign: its result (result.h) built from the
 * run, judged (verdict.c) and given to the reporters: the summary, --json,
 * --csv, --html and --junit. */
#include "run_private.h"
#include "junit.h"
#include "log.h"
#include "result.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* result_agent - agent p's line: its last report against what the sinks counted of it. */
static void result_agent(struct run *r, struct peer *p, struct agent_result *a)
{
    const Smtpstorm__Progress *pr = agg_progress_of(p);
    struct sink_count sc;

    assert(p->part >= 0 && (size_t)p->part < r->na);
    memset(a, 0, sizeof(*a));
    a->peer = p;
    a->planned = r->parts[p->part].messages + rebalance_taken(r, p);
    if (pr != NULL) {
        a->sessions = pr->sessions;
        a->attempted = pr->messages_attempted;
        a->accepted = pr->messages_accepted;
        a->rejected = pr->messages_rejected;
        a->unfinished = pr->messages_unfinished;
        a->errors = pr->errors;
        a->recipients = pr->recipients;
        a->bytes = pr->bytes;
        a->cpu_s = (double)pr->cpu_ns / 1e9;
        a->elapsed_s = (double)pr->elapsed_ns / 1e9;
        a->cpu_pct = agg_cpu_pct(p);
    }
    agg_sink_for_agent(r->sinks, r->ns, r->campaign, p->id, &sc);
    a->received = sc.received;
    a->duplicates = sc.duplicates;
    reconcile_line_set(&a->line, a->accepted, &sc);
    if (p->lost && a->received > a->accepted)
        log_warn("agent %s was lost after reporting %llu accepted; the sinks counted %llu of its messages: "
                 "the difference is what it sent after its last report, not failures",
                 p->id, (unsigned long long)a->accepted, (unsigned long long)a->received);
    a->missing = p->lost;
    a->status = p->status;
}

/* result_sink - sink p's line for this campaign. */
static void result_sink(struct run *r, struct peer *p, struct sink_result *s)
{
    const Smtpstorm__CampaignCounters *c = agg_sink_campaign(p, r->campaign);
    size_t i;

    memset(s, 0, sizeof(*s));
    s->peer = p;
    if (c != NULL) {
        s->received = c->received;
        s->duplicates = c->duplicates;
        s->bytes = c->bytes;
        s->rejected = c->rejected;
        s->deferred = c->deferred;
        for (i = 0; i < RESULT_SINK_OUTCOMES && i < c->n_outcomes; i++)
            s->outcomes[i] = c->outcomes[i];
    }
    if (p->latest != NULL && p->latest->body_case == SMTPSTORM__ENVELOPE__BODY_SINK_COUNTERS)
        s->messages = p->latest->sink_counters->messages;
    s->missing = !p->alive;
}

const char *result_sink_outcome_name(size_t i)
{
    static const char *const names[RESULT_SINK_OUTCOMES] = { "deferred", "rejected", "disconnected", "delayed",
                                                             "greylist_deferred", "greylist_passed" };

    assert(i < RESULT_SINK_OUTCOMES);
    return names[i];
}

uint64_t result_sink_outcomes_total(const struct run_result *res, size_t i)
{
    uint64_t sum = 0;
    size_t k;

    for (k = 0; k < res->n_sinks; k++)
        sum += res->sinks[k].outcomes[i];
    return sum;
}

/* result_is_agent, result_is_sink - timeline_last_ns's pick of a peer. */
static int result_is_agent(const void *peer, void *arg)
{
    (void)arg;
    return ((const struct peer *)peer)->role == PEERLINK_AGENT;
}

static int result_is_sink(const void *peer, void *arg)
{
    (void)arg;
    return ((const struct peer *)peer)->role == PEERLINK_SINK;
}

/* result_warmup - --warmup: the headline message and delivery latency
 * become the seconds after it, and what it held is said. */
static void result_warmup(struct run *r, struct run_result *res)
{
    size_t i;

    if (r->tl.steady == NULL)
        return;
    res->warmup_s = (double)r->tl.warmup_last;
    for (i = 0; i < r->agg.n && r->agg.rows[i].t <= r->tl.warmup_last; i++) {
        res->warmup_accepted = r->agg.rows[i].cum.accepted;
        res->warmup_received = r->agg.rows[i].cum.received;
    }
    memcpy(&res->stats->latency[PHASE_MESSAGE], &r->tl.steady->message, sizeof(struct hist));
    memcpy(&res->delivery, &r->tl.steady->delivery, sizeof(struct hist));
}

/* result_merge - the campaign's counters, histograms, timeline and phases
 * merged from its peers' last reports; 0, or -1 out of memory. */
static int result_merge(struct run *r, struct run_result *res)
{
    uint64_t now = clock_mono_ns();

    res->config = r->cfg;
    res->campaign = r->campaign;
    res->started_at_ns = r->start_wall_ns;
    res->report_interval_ms = r->report_ms;
    res->duration_s = r->ran && now > r->start_ns ? (double)(now - r->start_ns) / 1e9 : 0;
    if ((res->stats = malloc(sizeof(*res->stats))) == NULL)
        return -1;
    stats_init(res->stats);
    agg_merge_stats(r->agents, r->na, res->stats);
    hist_init(&res->delivery);
    agg_merge_delivery(r->sinks, r->ns, r->campaign, &res->delivery);
    run_totals(r, &res->totals);
    timeline_finish(&r->tl);
    agg_free(&r->agg);
    if (timeline_rows(&r->tl, &r->agg) != 0)
        log_warn("out of memory for the timeline: the reports have none");
    res->timeline = &r->agg;
    if (phases_build(&r->cfg->w, &r->tl, &res->phases, &res->n_phases) != 0)
        log_warn("out of memory for the phases: the report has no per-phase results");
    res->inject_end_s = (double)timeline_last_ns(&r->tl, result_is_agent, r) / 1e9;
    res->deliver_end_s = (double)timeline_last_ns(&r->tl, result_is_sink, r) / 1e9;
    result_warmup(r, res);
    if (res->duration_s > res->warmup_s)
        res->rate = (double)(res->totals.accepted - res->warmup_accepted) / (res->duration_s - res->warmup_s);
    return 0;
}

/* result_peers - a line per agent and per sink, and the reconciliation of
 * their sum; counts the missing ones. 0, or -1 out of memory. */
static int result_peers(struct run *r, struct run_result *res)
{
    size_t i;

    res->agents = calloc(r->na + 1, sizeof(*res->agents));
    res->sinks = calloc(r->ns + 1, sizeof(*res->sinks));
    if (res->agents == NULL || res->sinks == NULL)
        return -1;
    memset(&res->total, 0, sizeof(res->total));
    for (i = 0; i < r->na; i++) {
        result_agent(r, r->agents[i], &res->agents[res->n_agents]);
        reconcile_line_add(&res->total, &res->agents[res->n_agents++].line);
        /* a lost agent whose unsent messages all moved fails nothing */
        r->agents_missing += r->agents[i]->lost && !rebalance_covered(r, r->agents[i]);
    }
    /* what the sinks counted from agents not taking part (a replay, a
     * stale agent): received, never accepted here */
    if (res->totals.received > res->total.received) {
        res->total.beyond += res->totals.received - res->total.received;
        res->total.received = res->totals.received;
    }
    res->total.duplicates = res->totals.duplicates;
    for (i = 0; i < r->ns; i++) {
        result_sink(r, r->sinks[i], &res->sinks[res->n_sinks++]);
        r->sinks_missing += !r->sinks[i]->earlier && !r->sinks[i]->alive;  /* gone, not back */
    }
    return 0;
}

void run_control_counts(const struct run *r, struct control_counts *out)
{
    out->dropped = r->dropped + zlink_malformed(r->ctl) + zlink_malformed(r->snk);
    out->refused = r->refused;
    out->unauthorized = zap_refused_keys(r->zap);
    out->impostors = r->impostors;
    out->handshakes_failed = zlink_handshakes_failed(r->ctl) + zlink_handshakes_failed(r->snk);
    out->oversize = zlink_oversize(r->ctl) + zlink_oversize(r->snk);
    out->disconnects = zlink_disconnects(r->ctl) + zlink_disconnects(r->snk);
}

/* result_judge - the control plane's counts, the thresholds' verdicts and
 * the exit code; 0, or -1 out of memory. */
static int result_judge(struct run *r, struct run_result *res)
{
    run_control_counts(r, &res->control);
    res->outcome.ran = r->ran;
    res->outcome.agents_missing = r->agents_missing;
    res->outcome.sinks_missing = r->sinks_missing;
    res->outcome.sinks_in_path = res->sinks_in_path;
    res->outcome.lost = res->total.lost;
    res->outcome.errors = res->totals.errors;
    res->outcome.rejected = res->totals.rejected;
    res->outcome.interrupted = r->interrupted;
    if (verdict_judge(res) != 0)
        return -1;
    res->outcome.thresholds = r->cfg->n_thresholds > 0;
    res->outcome.thresholds_failed = res->thresholds_failed;
    res->exit_code = reconcile_exit(&res->outcome);
    return 0;
}

int result_build(struct run *r, struct run_result *res)
{
    memset(res, 0, sizeof(*res));
    if (result_merge(r, res) != 0)
        return -1;
    res->sinks_in_path = r->want_sinks > 0;
    rebalance_finish(r);
    res->moves = r->moves;
    res->n_moves = r->n_moves;
    if (result_peers(r, res) != 0)
        return -1;
    return result_judge(r, res);
}

void result_free(struct run_result *res)
{
    free(res->verdicts);
    free(res->phases);
    free(res->stats);
    free(res->agents);
    free(res->sinks);
}

/* result_written - a report writer's rc: on failure, log err and fail the
 * run unless its exit code already says what went wrong. */
static void result_written(int rc, const char *err, enum run_exit *code)
{
    if (rc == 0)
        return;
    log_error("%s", err);
    *code = *code ? *code : EXIT_RUN_FAILED;
}

enum run_exit result_report(struct run *r)
{
    struct run_result res;
    enum run_exit code;
    char err[256];

    if (result_build(r, &res) != 0) {
        log_error("out of memory building the report");
        result_free(&res);
        return EXIT_RUN_FAILED;
    }
    if (!r->cfg->quiet)
        summary_print(stdout, &res);
    code = res.exit_code;
    if (r->cfg->json)
        result_written(json_write_report(r->cfg->json, &res, err, sizeof(err)), err, &code);
    if (r->cfg->csv)
        result_written(csv_write_timeline(r->cfg->csv, &res, err, sizeof(err)), err, &code);
    if (r->cfg->html)
        result_written(html_write_report(r->cfg->html, &res, err, sizeof(err)), err, &code);
    if (r->cfg->junit)
        result_written(junit_write(r->cfg->junit, "smtpstorm run", res.campaign, res.verdicts, res.n_verdicts,
                                   res.duration_s, err, sizeof(err)), err, &code);
    webjson_publish_final(r, &res, (int)code);
    result_free(&res);
    return code;
}

const struct hist *result_phase_hist(const struct run_result *res, enum stats_phase phase)
{
    return phase == PHASE_DELIVERY ? &res->delivery : &res->stats->latency[phase];
}
