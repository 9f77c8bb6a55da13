/* summary.c - the end-of-campaign table on the terminal: totals and rates,
 * latency percentiles per phase, replies by code, per agent, per sink, and
 * the reconciliation of accepted against received. */
#include "result.h"

#include <inttypes.h>


static void summary_totals(FILE *out, const struct run_result *res)
{
    const struct agg_totals *t = &res->totals;

    fprintf(out, "\ncampaign %s: %.1f s, %zu agents, %zu sinks\n", res->campaign, res->duration_s,
            res->n_agents, res->n_sinks);
    fprintf(out, "  sessions %" PRIu64 "  attempted %" PRIu64 "  accepted %" PRIu64 "  rejected %"
            PRIu64 "  unfinished %" PRIu64 "  errors %" PRIu64 "\n", t->sessions, t->attempted, t->accepted,
            t->rejected, t->unfinished, t->errors);
    fprintf(out, "  recipients %" PRIu64 "  bytes %" PRIu64 "  rate %.1f msg/s\n", t->recipients,
            t->bytes, res->rate);
    if (res->stats->body_sizes.count > 0)
        fprintf(out, "  bodies drawn (--size): p50 %" PRIu64 "  p99 %" PRIu64 "  max %" PRIu64 "  octets %" PRIu64
                "\n", hist_percentile(&res->stats->body_sizes, 50), hist_percentile(&res->stats->body_sizes, 99),
                res->stats->body_sizes.max, res->stats->body_sizes.sum);
    if (res->stats->latency[PHASE_STARTTLS].count > 0)
        fprintf(out, "  tls handshakes %" PRIu64 "  resumed %" PRIu64 "\n", res->stats->latency[PHASE_STARTTLS].count,
                res->stats->tls_resumed);
}

static double summary_ms(const struct hist *h, double pct)
{
    return h->count ? (double)hist_percentile(h, pct) / 1000 : 0;
}

/* Injection (agents -> target) and delivery (target -> sinks) apart, and
 * the target's backlog between them: what a campaign through an MTA shows. */
static void summary_flow(FILE *out, const struct run_result *res)
{
    const struct hist *m = &res->stats->latency[PHASE_MESSAGE];
    struct agg_flow fl;

    result_flow(res, &fl);
    fprintf(out, "  injection: accepted %" PRIu64 " by %.1f s, %.1f msg/s (peak %" PRIu64 "/s), "
            "message p50 %.2f ms p99 %.2f ms\n", res->totals.accepted, fl.inject_s, fl.inject_rate,
            fl.inject_peak, summary_ms(m, 50), summary_ms(m, 99));
    if (!res->sinks_in_path)
        return;
    fprintf(out, "  delivery:  received %" PRIu64 " by %.1f s, %.1f msg/s (peak %" PRIu64 "/s), "
            "delivery p50 %.2f ms p99 %.2f ms%s\n", res->totals.received, fl.deliver_s, fl.deliver_rate,
            fl.deliver_peak, summary_ms(&res->delivery, 50), summary_ms(&res->delivery, 99),
            res->delivery.count < res->totals.received ? " (not every message timed)" : "");
    fprintf(out, "  backlog (accepted - received): peak %" PRId64 " at %u s, %" PRId64 " at the end\n",
            fl.backlog_peak, fl.backlog_peak_t, fl.backlog_end);
}

/* summary_warmup - what --warmup left out, and where it still counts. */
static void summary_warmup(FILE *out, const struct run_result *res)
{
    if (res->warmup_s <= 0)
        return;
    fprintf(out, "  warmup: the first %.0f s (%" PRIu64 " accepted, %" PRIu64 " received) are out of the rates and "
            "the message and delivery percentiles; the totals, the other phases' latency and the "
            "reconciliation count them\n", res->warmup_s, res->warmup_accepted, res->warmup_received);
}

static void summary_latency_row(FILE *out, const char *name, const struct hist *h)
{
    if (h->count == 0)
        return;
    fprintf(out, "  %-9s %9.2f %9.2f %9.2f %9.2f %9.2f %10" PRIu64 "\n", name,
            (double)hist_percentile(h, 50) / 1000, (double)hist_percentile(h, 90) / 1000,
            (double)hist_percentile(h, 99) / 1000, (double)hist_percentile(h, 99.9) / 1000,
            (double)h->max / 1000, h->count);
}

static void summary_latency(FILE *out, const struct run_result *res)
{
    int i;

    fprintf(out, "\nlatency (ms)      p50       p90       p99     p99.9       max      count\n");
    for (i = 0; i < PHASE_COUNT; i++)
        summary_latency_row(out, stats_phase_name(stats_phases_shown[i]), result_phase_hist(res, stats_phases_shown[i]));
}

static void summary_replies(FILE *out, const struct run_result *res)
{
    int code, any = 0;

    for (code = 0; code < STATS_REPLY_CODES; code++) {
        if (res->stats->replies[code] == 0)
            continue;
        if (code == 0)
            fprintf(out, "%sother: %" PRIu64, any ? "  " : "\nreplies: ", res->stats->replies[code]);
        else
            fprintf(out, "%s%d: %" PRIu64, any ? "  " : "\nreplies: ", code, res->stats->replies[code]);
        any = 1;
    }
    for (code = 0; code < ERROR_KIND_COUNT; code++) {
        if (res->stats->errors_by_kind[code] == 0)
            continue;
        fprintf(out, "%s%s: %" PRIu64, any == 2 ? "  " : "\nerrors: ", stats_error_name((enum stats_error)code),
                res->stats->errors_by_kind[code]);
        any = 2;
    }
    if (any)
        fputc('\n', out);
}

static void summary_agents(FILE *out, const struct run_result *res)
{
    size_t i;

    fprintf(out, "\n%-20s %-16s %5s %10s %10s %10s %8s %10s %6s  %s\n", "agent", "host", "cores",
            "planned", "accepted", "received", "errors", "msg/s", "cpu%", "status");
    for (i = 0; i < res->n_agents; i++) {
        const struct agent_result *a = &res->agents[i];

        fprintf(out, "%-20s %-16.16s %5u %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %8" PRIu64
                " %10.1f %6.1f  %s\n", a->peer->id, a->peer->host, a->peer->cores, a->planned,
                a->accepted, a->received, a->errors,
                a->elapsed_s > 0 ? (double)a->accepted / a->elapsed_s : 0.0, a->cpu_pct,
                a->status[0] ? a->status : (a->missing ? "missing" : "ok"));
    }
    for (i = 0; i < res->n_agents; i++)
        if (res->agents[i].cpu_pct > AGG_SATURATED_PCT)
            fprintf(out, "warning: agent %s was saturated (%.0f%% CPU): its latencies partly measure itself\n",
                    res->agents[i].peer->id, res->agents[i].cpu_pct);
}

/* summary_moves - --rebalance: what each lost agent's loss moved, and to whom. */
static void summary_moves(FILE *out, const struct run_result *res)
{
    size_t i, k;

    for (i = 0; i < res->n_moves; i++) {
        const struct rebalance_move *m = &res->moves[i];

        if (!m->decided) {
            fprintf(out, "rebalance: agent %s lost (%s): nothing moved before the campaign ended\n", m->from, m->why);
            continue;
        }
        fprintf(out, "rebalance: agent %s lost (%s): %" PRIu64 " of its %" PRIu64 " messages sent, %" PRIu64
                " moved:", m->from, m->why, m->done, m->planned, m->moved);
        for (k = 0; k < m->n_shares; k++)
            if (m->shares[k].state == REBALANCE_TAKEN)
                fprintf(out, " %s %" PRIu64, m->shares[k].agent, m->shares[k].messages);
        if (m->not_moved > 0)
            fprintf(out, "; %" PRIu64 " not moved (no agent running the campaign took them)", m->not_moved);
        fputc('\n', out);
        if (m->received_after > 0)
            fprintf(out, "  the sinks received %" PRIu64 " more of %s's messages after the move: accepted "
                    "before its loss and still on their way, they were sent twice\n", m->received_after, m->from);
    }
}

static void summary_sinks(FILE *out, const struct run_result *res)
{
    size_t i;

    if (res->n_sinks == 0)
        return;
    fprintf(out, "\n%-20s %-16s %10s %10s %12s  %s\n", "sink", "host", "received", "duplicates",
            "bytes", "status");
    for (i = 0; i < res->n_sinks; i++) {
        const struct sink_result *s = &res->sinks[i];

        fprintf(out, "%-20s %-16.16s %10" PRIu64 " %10" PRIu64 " %12" PRIu64 "  %s\n", s->peer->id,
                s->peer->host, s->received, s->duplicates, s->bytes, s->missing ? "lost" : "ok");
    }
}

/* summary_beyond - why the sinks counted more than an agent accepted. */
static const char *summary_beyond(const struct run_result *res)
{
    size_t i;

    for (i = 0; i < res->n_agents; i++)
        if (res->agents[i].missing && res->agents[i].line.beyond > 0)
            return "a lost agent's messages reached the sinks after its last report";
    return "the target took messages the agents saw fail, or sinks counted another campaign's agents";
}

/* summary_sink_outcomes - what the sinks' rules did to the campaign's
 * mail, mail that came back later included; nothing without a rule at work. */
static void summary_sink_outcomes(FILE *out, const struct run_result *res)
{
    uint64_t v[RESULT_SINK_OUTCOMES], any = 0;
    size_t i;

    for (i = 0; i < RESULT_SINK_OUTCOMES; i++)
        any |= v[i] = result_sink_outcomes_total(res, i);
    if (any == 0)
        return;
    fputs("  the sinks' behaviour did:", out);
    for (i = 0; i < RESULT_SINK_OUTCOMES; i++)
        fprintf(out, " %s %" PRIu64 "%s", result_sink_outcome_name(i), v[i], i + 1 < RESULT_SINK_OUTCOMES ? "," : "");
    fputs(" (deferred includes greylisting; a deferral that came back is received once)\n", out);
}

static void summary_reconcile(FILE *out, const struct run_result *res)
{
    if (!res->sinks_in_path) {
        fprintf(out, "\nreconciliation: no sinks in the path; lost is unknown\n");
        return;
    }
    fprintf(out, "\nreconciliation: accepted %" PRIu64 ", received by sinks %" PRIu64
            ", duplicates %" PRIu64 ", lost %" PRId64 "\n", res->total.accepted, res->total.received,
            res->total.duplicates, res->total.lost);
    if (res->total.rejected > 0 || res->total.deferred > 0)
        fprintf(out, "  not received, explained by the sinks' behaviour: rejected for good %" PRIu64
                " (the MTA bounces them), deferred and not back by the end of the drain %" PRIu64 "\n",
                res->total.rejected, res->total.deferred);
    summary_sink_outcomes(out, res);
    if (res->total.beyond > 0)
        fprintf(out, "  received beyond accepted: %" PRIu64 " (not netted against lost: %s)\n",
                res->total.beyond, summary_beyond(res));
}

static void summary_thresholds(FILE *out, const struct run_result *res)
{
    size_t i;

    if (res->n_verdicts == 0)
        return;
    fprintf(out, "\nthresholds: %s (%zu of %zu held)\n", res->thresholds_failed ? "FAIL" : "PASS",
            res->n_verdicts - (size_t)res->thresholds_failed, res->n_verdicts);
    for (i = 0; i < res->n_verdicts; i++) {
        const struct threshold_verdict *v = &res->verdicts[i];

        if (v->held < 0)
            fprintf(out, "  %-6s %-32s not measured in this campaign\n", "FAILED", v->t->text);
        else
            fprintf(out, "  %-6s %-32s measured %.6g%s\n", v->held ? "ok" : "FAILED", v->t->text, v->value,
                    threshold_unit_text(v->t));
    }
}

/* summary_campaign_phases - one line per campaign phase. */
static void summary_campaign_phases(FILE *out, const struct run_result *res)
{
    const struct phase_result *p;
    char backlog[24];
    size_t i;

    if (res->n_phases == 0)
        return;
    fprintf(out, "\n%-16s %-6s %7s %7s %9s %9s %10s %8s %9s %9s %9s %8s\n", "campaign phase", "kind", "from s",
            "to s", "planned/s", "msg/s", "accepted", "errors", "msg p50", "msg p99", "dlv p99", "backlog");
    for (i = 0; i < res->n_phases; i++) {
        p = &res->phases[i];
        if (res->sinks_in_path)
            snprintf(backlog, sizeof(backlog), "%" PRId64, p->backlog_end);
        else
            snprintf(backlog, sizeof(backlog), "-");
        fprintf(out, "%-16s %-6s %7.1f %7.1f %9.1f %9.1f %10" PRIu64 " %8" PRIu64 " %9.2f %9.2f %9.2f %8s\n",
                p->name, p->kind, p->start_s, p->end_s, p->planned_rate, p->rate, p->accepted, p->errors,
                (double)hist_percentile(p->message, 50) / 1000, (double)hist_percentile(p->message, 99) / 1000,
                (double)hist_percentile(p->delivery, 99) / 1000, backlog);
    }
}

void summary_print(FILE *out, const struct run_result *res)
{
    summary_totals(out, res);
    summary_flow(out, res);
    summary_warmup(out, res);
    summary_campaign_phases(out, res);
    summary_latency(out, res);
    summary_replies(out, res);
    summary_agents(out, res);
    summary_moves(out, res);
    summary_sinks(out, res);
    summary_reconcile(out, res);
    summary_thresholds(out, res);
    if (res->control.dropped > 0 || res->control.refused > 0)
        fprintf(out, "control plane: %" PRIu64 " undecodable or malformed messages dropped, %" PRIu64
                " peers refused for another wire version\n", res->control.dropped, res->control.refused);
    if (res->control.unauthorized > 0)
        fprintf(out, "control plane: peer keys refused, not in --authorized-keys: %" PRIu64 "\n",
                res->control.unauthorized);
    if (res->control.handshakes_failed > 0)
        fprintf(out, "control plane: connections whose handshake failed (not ZeroMQ, or a wrong key): %"
                PRIu64 "\n", res->control.handshakes_failed);
    if (res->control.oversize > 0)
        fprintf(out, "control plane: frames over the wire's size limit dropped: %" PRIu64 "\n", res->control.oversize);
    if (res->control.impostors > 0)
        fprintf(out, "control plane: messages refused from a key speaking for an id not its own: %" PRIu64
                "\n", res->control.impostors);
    fprintf(out, "result: %s (exit %d)\n", reconcile_exit_text(res->exit_code), (int)res->exit_code);
    fflush(out);
}
