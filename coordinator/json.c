/* json.c - the campaign report as one JSON object (design.md, "Report
 * contract"; key names are fixed). Text from peers (hosts, statuses) is
 * escaped; it is never trusted. Written by the coordinator until a shared
 * lib/report exists. */
#include "report.h"
#include "result.h"
#include "report_file.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#define JSON_REPORT_VERSION 1       /* = lib/report.h REPORT_VERSION */

void json_write_string(FILE *f, const char *s)
{
    report_json_string(f, s ? s : "");      /* lib/report's escaping; "" where the report has no null */
}

void json_write_time(FILE *f, uint64_t wall_ns)
{
    time_t secs = (time_t)(wall_ns / 1000000000ULL);
    struct tm tm;
    char buf[40];

    if (wall_ns == 0 || gmtime_r(&secs, &tm) == NULL) {
        fputs("null", f);
        return;
    }
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(f, "\"%s.%03uZ\"", buf, (unsigned)(wall_ns / 1000000ULL % 1000));
}

/* json_sink_outcomes - "behaviour": what the sinks' rules did to the
 * campaign's mail (deferrals that later came in too), by outcome. */
static void json_sink_outcomes(FILE *f, const uint64_t *outcomes)
{
    size_t i;

    fputs(", \"behaviour\": {", f);
    for (i = 0; i < RESULT_SINK_OUTCOMES; i++)
        fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "", result_sink_outcome_name(i), outcomes[i]);
    fputc('}', f);
}

void json_write_totals(FILE *f, const struct run_result *res)
{
    const struct agg_totals *t = &res->totals;
    uint64_t outcomes[RESULT_SINK_OUTCOMES];
    size_t i;

    fprintf(f, "{\"sessions\": %" PRIu64 ", \"messages_attempted\": %" PRIu64
            ", \"messages_accepted\": %" PRIu64 ", \"messages_rejected\": %" PRIu64 ", \"errors\": %"
            PRIu64 ", \"recipients\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"rate_msgs_per_s\": %.3f",
            t->sessions, t->attempted, t->accepted, t->rejected, t->errors, t->recipients, t->bytes, res->rate);
    fprintf(f, ", \"messages_unfinished\": %" PRIu64, t->unfinished);
    fprintf(f, ", \"tls_handshakes\": %" PRIu64 ", \"tls_resumed\": %" PRIu64,
            res->stats->latency[PHASE_STARTTLS].count, res->stats->tls_resumed);
    if (res->n_sinks > 0)
        fprintf(f, ", \"sink_received\": %" PRIu64 ", \"duplicates\": %" PRIu64, t->received, t->duplicates);
    else
        fputs(", \"sink_received\": null, \"duplicates\": null", f);
    if (res->sinks_in_path) {
        fprintf(f, ", \"sink_rejected\": %" PRIu64 ", \"sink_deferred\": %" PRIu64 ", \"lost\": %" PRId64
                ", \"received_beyond_accepted\": %" PRIu64,
                res->total.rejected, res->total.deferred, res->total.lost, res->total.beyond);
        for (i = 0; i < RESULT_SINK_OUTCOMES; i++)
            outcomes[i] = result_sink_outcomes_total(res, i);
        json_sink_outcomes(f, outcomes);
        fputc('}', f);
    } else
        fputs(", \"lost\": null, \"received_beyond_accepted\": null}", f);
}

static void json_totals(FILE *f, const struct run_result *res)
{
    fputs("  \"totals\": ", f);
    json_write_totals(f, res);
    fputs(",\n", f);
}

static void json_hist(FILE *f, const char *name, const struct hist *h, int *first)
{
    fprintf(f, "%s\n    \"%s\": ", *first ? "" : ",", name);
    *first = 0;
    if (h->count == 0) {
        fputs("null", f);
        return;
    }
    fprintf(f, "{\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, \"p999\": %.3f, \"max\": %.3f, "
            "\"mean\": %.3f, \"count\": %" PRIu64 "}",
            (double)hist_percentile(h, 50) / 1000, (double)hist_percentile(h, 90) / 1000,
            (double)hist_percentile(h, 99) / 1000, (double)hist_percentile(h, 99.9) / 1000,
            (double)h->max / 1000, hist_mean(h) / 1000, h->count);
}

static void json_latency_replies(FILE *f, const struct run_result *res)
{
    int i, first = 1;

    fputs("  \"latency_ms\": {", f);
    for (i = 0; i < PHASE_COUNT; i++)
        json_hist(f, stats_phase_name(stats_phases_shown[i]), result_phase_hist(res, stats_phases_shown[i]), &first);
    fputs(first ? "},\n" : "\n  },\n", f);
    fputs("  \"replies\": {", f);
    for (i = 0, first = 1; i < STATS_REPLY_CODES; i++) {
        if (res->stats->replies[i] == 0)
            continue;
        if (i == 0)
            fprintf(f, "%s\"other\": %" PRIu64, first ? "" : ", ", res->stats->replies[i]);
        else
            fprintf(f, "%s\"%d\": %" PRIu64, first ? "" : ", ", i, res->stats->replies[i]);
        first = 0;
    }
    fputs("},\n  \"errors_by_kind\": {", f);
    for (i = 0, first = 1; i < ERROR_KIND_COUNT; i++) {
        fprintf(f, "%s\"%s\": %" PRIu64, first ? "" : ", ", stats_error_name((enum stats_error)i),
                res->stats->errors_by_kind[i]);
        first = 0;
    }
    fputs("},\n", f);
}

/* json_opt_string - "key": the string, or null. */
static void json_opt_string(FILE *f, const char *key, const char *s)
{
    fprintf(f, ", \"%s\": ", key);
    report_json_string(f, s);
}

/* json_traffic - what the campaign sent (issue 15): the options that
 * shaped the messages and the body lengths the agents drew. */
static void json_traffic(FILE *f, const struct run_result *res)
{
    const struct workload_spec *w = &res->config->w;
    const struct hist *h = &res->stats->body_sizes;

    fprintf(f, "  \"traffic\": {\"seed\": %" PRIu64 ", \"mime\": %s", w->seed,
            w->mime || w->attach ? "true" : "false");
    json_opt_string(f, "size", w->size);
    json_opt_string(f, "attach", w->attach);
    json_opt_string(f, "attachments", w->attachments);
    json_opt_string(f, "recipients", w->recipients_dist);
    fprintf(f, ", \"rcpt_domains\": %" PRIu64 ", \"rcpt_zipf\": %.3f", w->rcpt_domains, w->rcpt_zipf);
    json_opt_string(f, "rcpt_file", w->rcpt_file);
    json_opt_string(f, "senders", w->senders);
    json_opt_string(f, "source", w->source);
    json_opt_string(f, "corpus", w->corpus);
    fputs(", \"body_sizes\": ", f);
    if (h->count == 0)
        fputs("null", f);
    else
        fprintf(f, "{\"count\": %" PRIu64 ", \"p50\": %" PRIu64 ", \"p99\": %" PRIu64 ", \"max\": %" PRIu64
                ", \"mean\": %.1f, \"total_octets\": %" PRIu64 "}", h->count, hist_percentile(h, 50),
                hist_percentile(h, 99), h->max, hist_mean(h), h->sum);
    fputs("},\n", f);
}

/* json_agent_traffic - what one agent sent from: its corpus (messages, and
 * those left out) and its --source pool; null when it had none. */
static void json_agent_traffic(FILE *f, const Smtpstorm__Progress *p)
{
    if (p && (p->corpus_messages || p->corpus_skipped))
        fprintf(f, ", \"corpus\": {\"messages\": %" PRIu64 ", \"skipped\": %" PRIu64 "}", p->corpus_messages,
                p->corpus_skipped);
    else
        fputs(", \"corpus\": null", f);
    if (p && p->source_pool)
        fprintf(f, ", \"source_pool\": %" PRIu64, p->source_pool);
    else
        fputs(", \"source_pool\": null", f);
}

/* json_clock - what the control plane knows of p's clock: its offset
 * (its wall clock minus ours) and the round trip of that sample, null
 * until one; the clock samples its beats gave and the Heartbeats it sent
 * on their own while it reported (none when its reports carry its beat). */
static void json_clock(FILE *f, const struct peer *p)
{
    fputs(", \"clock\": {", f);
    if (p->have_offset)
        fprintf(f, "\"offset_ms\": %.3f, \"rtt_ms\": %.3f", (double)p->offset_ns / 1e6, (double)p->rtt_ns / 1e6);
    else
        fputs("\"offset_ms\": null, \"rtt_ms\": null", f);
    fprintf(f, ", \"samples\": %" PRIu64 ", \"heartbeats\": %" PRIu64 "}", p->clock_samples, p->heartbeats);
}

static void json_agents(FILE *f, const struct run_result *res)
{
    size_t i;

    fputs("  \"agents\": [", f);
    for (i = 0; i < res->n_agents; i++) {
        const struct agent_result *a = &res->agents[i];

        fprintf(f, "%s\n    {\"id\": ", i ? "," : "");
        json_write_string(f, a->peer->id);
        fputs(", \"host\": ", f);
        json_write_string(f, a->peer->host);
        fprintf(f, ", \"sessions\": %" PRIu64 ", \"messages_attempted\": %" PRIu64
                ", \"messages_accepted\": %" PRIu64 ", \"messages_rejected\": %" PRIu64
                ", \"errors\": %" PRIu64 ", \"recipients\": %" PRIu64 ", \"bytes\": %" PRIu64
                ", \"cpu_s\": %.3f, \"threads\": null, \"saturated\": %s, \"cores\": %u"
                ", \"messages_planned\": %" PRIu64 ", \"cpu_pct\": %.1f, \"elapsed_s\": %.3f",
                a->sessions, a->attempted, a->accepted, a->rejected, a->errors, a->recipients, a->bytes,
                a->cpu_s, a->cpu_pct > AGG_SATURATED_PCT ? "true" : "false", a->peer->cores, a->planned,
                a->cpu_pct, a->elapsed_s);
        fprintf(f, ", \"messages_unfinished\": %" PRIu64, a->unfinished);
        if (res->sinks_in_path)
            fprintf(f, ", \"sink_received\": %" PRIu64 ", \"duplicates\": %" PRIu64 ", \"sink_rejected\": %"
                    PRIu64 ", \"sink_deferred\": %" PRIu64 ", \"lost\": %" PRId64
                    ", \"received_beyond_accepted\": %" PRIu64, a->received, a->duplicates, a->line.rejected,
                    a->line.deferred, a->line.lost, a->line.beyond);
        json_agent_traffic(f, agg_progress_of(a->peer));
        json_clock(f, a->peer);
        fprintf(f, ", \"missing\": %s, \"status\": ", a->missing ? "true" : "false");
        json_write_string(f, a->status);
        fputc('}', f);
    }
    fputs(res->n_agents ? "\n  ],\n" : "],\n", f);
}

/* json_moves - --rebalance: each lost agent's move. */
static void json_moves(FILE *f, const struct run_result *res)
{
    size_t i, k;

    fputs("  \"rebalance\": [", f);
    for (i = 0; i < res->n_moves; i++) {
        const struct rebalance_move *m = &res->moves[i];

        fprintf(f, "%s\n    {\"from\": ", i ? "," : "");
        json_write_string(f, m->from);
        fputs(", \"why\": ", f);
        json_write_string(f, m->why);
        fprintf(f, ", \"decided\": %s, \"planned\": %" PRIu64 ", \"sent\": %" PRIu64 ", \"moved\": %" PRIu64
                ", \"not_moved\": %" PRIu64 ", \"received_after\": %" PRIu64 ", \"to\": [",
                m->decided ? "true" : "false", m->planned, m->done, m->moved, m->not_moved, m->received_after);
        for (k = 0; k < m->n_shares; k++) {
            const struct rebalance_share *s = &m->shares[k];

            fprintf(f, "%s{\"agent\": ", k ? ", " : "");
            json_write_string(f, s->agent);
            fprintf(f, ", \"messages\": %" PRIu64 ", \"sessions\": %u, \"rate_msgs_per_s\": %.3f, \"numbers_from\": %"
                    PRIu64 ", \"numbers_stride\": %" PRIu64 ", \"state\": \"%s\"}", s->messages, s->sessions,
                    (double)s->rate_milli / 1000.0, s->seq_first, s->seq_stride, rebalance_state_name(s->state));
        }
        fputs("]}", f);
    }
    fputs(res->n_moves ? "\n  ],\n" : "],\n", f);
}

static void json_sinks(FILE *f, const struct run_result *res)
{
    size_t i;

    fputs("  \"sinks\": [", f);
    for (i = 0; i < res->n_sinks; i++) {
        const struct sink_result *s = &res->sinks[i];

        fprintf(f, "%s\n    {\"id\": ", i ? "," : "");
        json_write_string(f, s->peer->id);
        fputs(", \"host\": ", f);
        json_write_string(f, s->peer->host);
        fprintf(f, ", \"received\": %" PRIu64 ", \"duplicates\": %" PRIu64 ", \"bytes\": %" PRIu64
                ", \"messages\": %" PRIu64 ", \"rejected\": %" PRIu64 ", \"deferred\": %" PRIu64, s->received,
                s->duplicates, s->bytes, s->messages, s->rejected, s->deferred);
        json_sink_outcomes(f, s->outcomes);
        json_clock(f, s->peer);
        fprintf(f, ", \"missing\": %s}", s->missing ? "true" : "false");
    }
    fputs(res->n_sinks ? "\n  ],\n" : "],\n", f);
}

static void json_ms(FILE *f, const char *key, uint64_t us, int known)
{
    if (known)
        fprintf(f, ", \"%s\": %.3f", key, (double)us / 1000);
    else
        fprintf(f, ", \"%s\": null", key);
}

/* Injection (agents -> target) and delivery (target -> sinks) side by side:
 * counts, when the last message was accepted / received (seconds since the
 * start), mean and peak rates, and the target's backlog between them.
 * delivery is null when no sinks are in the path. */
static void json_flow(FILE *f, const struct run_result *res)
{
    const struct hist *m = &res->stats->latency[PHASE_MESSAGE], *d = &res->delivery;
    struct agg_flow fl;

    result_flow(res, &fl);
    fprintf(f, "  \"injection\": {\"accepted\": %" PRIu64 ", \"seconds\": %.3f, \"rate_msgs_per_s\": %.3f"
            ", \"peak_msgs_per_s\": %" PRIu64, res->totals.accepted, fl.inject_s, fl.inject_rate, fl.inject_peak);
    json_ms(f, "message_p50_ms", hist_percentile(m, 50), m->count > 0);
    json_ms(f, "message_p99_ms", hist_percentile(m, 99), m->count > 0);
    if (!res->sinks_in_path) {
        fputs("},\n  \"delivery\": null,\n", f);
        return;
    }
    fprintf(f, "},\n  \"delivery\": {\"received\": %" PRIu64 ", \"seconds\": %.3f, \"rate_msgs_per_s\": %.3f"
            ", \"peak_msgs_per_s\": %" PRIu64, res->totals.received, fl.deliver_s, fl.deliver_rate, fl.deliver_peak);
    json_ms(f, "delivery_p50_ms", hist_percentile(d, 50), d->count > 0);
    json_ms(f, "delivery_p99_ms", hist_percentile(d, 99), d->count > 0);
    fprintf(f, ", \"backlog_peak\": %" PRId64 ", \"backlog_peak_t\": %u, \"backlog_end\": %" PRId64 "},\n",
            fl.backlog_peak, fl.backlog_peak_t, fl.backlog_end);
}

/* One row: the counts of the second ending at t (not cumulative), the
 * sessions open then, and the whole message's latency in that second. */
static void json_timeline_row(FILE *f, const struct run_result *res, const struct agg_row *row,
                              const struct agg_totals *prev)
{
    const struct agg_totals *cur = &row->cum;
    const struct agg_latency *m = &row->message;

#define DELTA(field) (cur->field >= prev->field ? cur->field - prev->field : 0)
    fprintf(f, "{\"t\": %u, \"accepted\": %" PRIu64 ", \"received\": ", row->t, DELTA(accepted));
    if (res->n_sinks > 0)
        fprintf(f, "%" PRIu64, DELTA(received));
    else
        fputs("null", f);
    fprintf(f, ", \"errors\": %" PRIu64 ", \"attempted\": %" PRIu64 ", \"rejected\": %" PRIu64
            ", \"replies_4xx\": %" PRIu64 ", \"replies_5xx\": %" PRIu64 ", \"sessions_active\": %u"
            ", \"message_count\": %" PRIu64, DELTA(errors), DELTA(attempted), DELTA(rejected),
            DELTA(replies_4xx), DELTA(replies_5xx), cur->sessions_active, m->count);
#undef DELTA
    json_ms(f, "message_p50_ms", m->p50_us, m->count > 0);
    json_ms(f, "message_p90_ms", m->p90_us, m->count > 0);
    json_ms(f, "message_p99_ms", m->p99_us, m->count > 0);
    json_ms(f, "message_max_ms", m->max_us, m->count > 0);
    json_ms(f, "delivery_p50_ms", row->delivery.p50_us, row->delivery.count > 0);
    json_ms(f, "delivery_p99_ms", row->delivery.p99_us, row->delivery.count > 0);
    if (res->sinks_in_path)
        fprintf(f, ", \"backlog\": %" PRId64, (int64_t)cur->accepted - (int64_t)cur->received);
    else
        fputs(", \"backlog\": null", f);
    if (res->n_sinks > 0)
        fprintf(f, ", \"sink_deferred\": %" PRIu64 ", \"sink_rejected\": %" PRIu64,
                cur->sink_deferred >= prev->sink_deferred ? cur->sink_deferred - prev->sink_deferred : 0,
                cur->sink_rejected >= prev->sink_rejected ? cur->sink_rejected - prev->sink_rejected : 0);
    else
        fputs(", \"sink_deferred\": null, \"sink_rejected\": null", f);
    fputc('}', f);
}

/* What --warmup left out of the headline figures, or null. */
static void json_warmup(FILE *f, const struct run_result *res)
{
    if (res->warmup_s <= 0) {
        fputs("  \"warmup\": null,\n", f);
        return;
    }
    fprintf(f, "  \"warmup\": {\"seconds\": %.3f, \"accepted\": %" PRIu64 ", \"received\": %" PRIu64
            ", \"excluded_from\": [\"rate_msgs_per_s\", \"injection\", \"delivery\", "
            "\"latency_ms.message\", \"latency_ms.delivery\"]},\n",
            res->warmup_s, res->warmup_accepted, res->warmup_received);
}

void json_write_phases(FILE *f, const struct phase_result *phases, size_t n, int with_sinks, int sinks_in_path)
{
    const struct phase_result *p;
    size_t i;

    fputs("  \"phases\": [", f);
    for (i = 0; i < n; i++) {
        p = &phases[i];
        fprintf(f, "%s{\"index\": %zu, \"name\": ", i ? ",\n    " : "\n    ", i);
        json_write_string(f, p->name);
        fprintf(f, ", \"kind\": \"%s\", \"start_s\": %.3f, \"end_s\": %.3f, \"planned_rate_msgs_per_s\": %.3f"
                ", \"rate_msgs_per_s\": %.3f, \"attempted\": %" PRIu64 ", \"accepted\": %" PRIu64
                ", \"rejected\": %" PRIu64 ", \"errors\": %" PRIu64, p->kind, p->start_s, p->end_s,
                p->planned_rate, p->rate, p->attempted, p->accepted, p->rejected, p->errors);
        if (with_sinks)
            fprintf(f, ", \"received\": %" PRIu64 ", \"duplicates\": %" PRIu64, p->received, p->duplicates);
        else
            fputs(", \"received\": null, \"duplicates\": null", f);
        json_ms(f, "message_p50_ms", hist_percentile(p->message, 50), p->message->count > 0);
        json_ms(f, "message_p90_ms", hist_percentile(p->message, 90), p->message->count > 0);
        json_ms(f, "message_p99_ms", hist_percentile(p->message, 99), p->message->count > 0);
        json_ms(f, "message_max_ms", p->message->max, p->message->count > 0);
        fprintf(f, ", \"message_count\": %" PRIu64, p->message->count);
        json_ms(f, "delivery_p50_ms", hist_percentile(p->delivery, 50), p->delivery->count > 0);
        json_ms(f, "delivery_p99_ms", hist_percentile(p->delivery, 99), p->delivery->count > 0);
        fprintf(f, ", \"delivery_count\": %" PRIu64, p->delivery->count);
        if (sinks_in_path)
            fprintf(f, ", \"backlog_end\": %" PRId64 ", \"backlog_growth_per_s\": %.3f}", p->backlog_end,
                    phases_backlog_growth(p));
        else
            fputs(", \"backlog_end\": null, \"backlog_growth_per_s\": null}", f);
    }
    fputs(n ? "\n  ],\n" : "],\n", f);
}

static void json_timeline(FILE *f, const struct run_result *res)
{
    static const struct agg_totals zero;
    const struct aggregator *a = res->timeline;
    size_t i;

    fputs("  \"timeline\": [", f);
    for (i = 0; i < a->n; i++) {
        fputs(i ? ",\n    " : "\n    ", f);
        json_timeline_row(f, res, &a->rows[i], i > 0 ? &a->rows[i - 1].cum : &zero);
    }
    fputs(a->n ? "\n  ],\n" : "],\n", f);
}

void json_write_verdicts(FILE *f, const struct threshold_verdict *v, size_t n, int unknown_null)
{
    size_t i;

    fputc('[', f);
    for (i = 0; i < n; i++) {
        fputs(i ? ",\n    {\"expr\": " : "\n    {\"expr\": ", f);
        json_write_string(f, v[i].t->text);
        fprintf(f, ", \"ok\": %s, \"value\": ", v[i].held == 1 ? "true"
                : v[i].held == -1 && unknown_null ? "null" : "false");
        if (v[i].held >= 0)
            fprintf(f, "%.6g", v[i].value);
        else
            fputs("null", f);
        fputs(", \"unit\": ", f);
        json_write_string(f, threshold_unit_text(v[i].t));
        fputc('}', f);
    }
    fputs(n ? "\n  ]" : "]", f);
}

static void json_thresholds(FILE *f, const struct run_result *res)
{
    fputs("  \"thresholds\": ", f);
    json_write_verdicts(f, res->verdicts, res->n_verdicts, 0);
    fputs(",\n", f);
}

/* json_fill - the whole report into f (a report_file_fill_fn: arg is the result). */
static int json_fill(FILE *f, const void *arg)
{
    const struct run_result *res = arg;

    fprintf(f, "{\n  \"version\": %d,\n  \"generator\": \"smtpstorm %s\",\n  \"campaign\": ",
            JSON_REPORT_VERSION, SMTPSTORM_VERSION);
    json_write_string(f, res->campaign);
    fputs(",\n  \"started_at\": ", f);
    json_write_time(f, res->started_at_ns);
    fprintf(f, ",\n  \"duration_s\": %.3f,\n  \"report_interval_s\": %.3f,\n", res->duration_s,
            res->report_interval_ms / 1000.0);
    json_totals(f, res);
    json_flow(f, res);
    json_latency_replies(f, res);
    json_traffic(f, res);
    json_agents(f, res);
    json_moves(f, res);
    json_sinks(f, res);
    json_timeline(f, res);
    json_write_phases(f, res->phases, res->n_phases, res->n_sinks > 0, res->sinks_in_path);
    json_warmup(f, res);
    json_thresholds(f, res);
    fprintf(f, "  \"control\": {\"dropped\": %" PRIu64 ", \"refused\": %" PRIu64 ", \"unauthorized\": %"
            PRIu64 ", \"impostors\": %" PRIu64 ", \"handshakes_failed\": %" PRIu64 ", \"oversize\": %"
            PRIu64 ", \"disconnects\": %" PRIu64 "},\n", res->control.dropped, res->control.refused, res->control.unauthorized,
            res->control.impostors, res->control.handshakes_failed, res->control.oversize, res->control.disconnects);
    fprintf(f, "  \"exit_code\": %d,\n  \"result\": \"%s\"\n}\n", (int)res->exit_code,
            reconcile_exit_text(res->exit_code));
    return 0;
}

int json_write_report(const char *path, const struct run_result *res, char *err, size_t errlen)
{
    return report_file_write(path, 0, json_fill, res, err, errlen);
}
