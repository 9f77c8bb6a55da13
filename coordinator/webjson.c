/* webjson.c - the --web document served at /api/live (its keys are
 * documented in docs/smtpstorm.1, LIVE PAGE): built by the loop once a
 * second from the peers' last reports and the event-time timeline, and once
 * more from the finished campaign's result, whose totals are the --json
 * report's. Text from peers and the command line is JSON-escaped here; the
 * page puts it in the DOM as text only. */
#include "run_private.h"
#include "behaviours.h"
#include "log.h"
#include "report.h"
#include "result.h"
#include "threshold.h"
#include "web.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WEBJSON_ROWS_MAX   3600     /* the timeline's last hour: a page polled every second stays small */

static const char *const webjson_states[] = { "wait", "ready", "running", "drain", "done" };

/* webjson_status - a peer's word on the page: ok, missing, saturated, restarted. */
static const char *webjson_status(const struct peer *p)
{
    if (p->lost || !p->alive)
        return "missing";
    if (p->role == PEERLINK_SINK)
        return p->restarts > 0 ? "restarted" : "ok";
    return agg_cpu_pct(p) > AGG_SATURATED_PCT ? "saturated" : "ok";
}

static void webjson_peers(FILE *f, const struct run *r)
{
    const Smtpstorm__Progress *pr;
    size_t i;

    fputs(",\n\"agents\": [", f);
    for (i = 0; i < r->na; i++) {
        const struct peer *p = r->agents[i];

        pr = agg_progress_of(p);
        fprintf(f, "%s\n {\"id\": ", i ? "," : "");
        json_write_string(f, p->id);
        fputs(", \"host\": ", f);
        json_write_string(f, p->host);
        fprintf(f, ", \"status\": \"%s\", \"messages_accepted\": %" PRIu64 ", \"errors\": %" PRIu64
                ", \"cpu_pct\": %.1f, \"detail\": ", webjson_status(p), pr ? pr->messages_accepted : 0,
                pr ? pr->errors : 0, agg_cpu_pct(p));
        json_write_string(f, p->status);
        fputc('}', f);
    }
    fputs("],\n\"sinks\": [", f);
    for (i = 0; i < r->ns; i++) {
        const struct peer *p = r->sinks[i];
        const Smtpstorm__CampaignCounters *c = agg_sink_campaign(p, r->campaign);

        fprintf(f, "%s\n {\"id\": ", i ? "," : "");
        json_write_string(f, p->id);
        fputs(", \"host\": ", f);
        json_write_string(f, p->host);
        fprintf(f, ", \"status\": \"%s\", \"received\": %" PRIu64 ", \"earlier_run\": %s}",
                p->earlier ? "restarted" : webjson_status(p), c ? c->received : 0, p->earlier ? "true" : "false");
    }
    fputs("]", f);
}

/* webjson_timeline - by event time, one row a second (the last ones may
 * still grow): accepted, received, errors in it, and the backlog after it. */
static void webjson_timeline(FILE *f, const struct timeline *tl)
{
    uint64_t acc = 0, rcv = 0, backlog;
    size_t t, first = tl->n > WEBJSON_ROWS_MAX ? tl->n - WEBJSON_ROWS_MAX : 0;

    fputs(",\n\"timeline\": [", f);
    for (t = 0; t < tl->n; t++) {
        const struct stats_second *s = &tl->rows[t].n;

        acc += s->accepted;
        rcv += s->received;
        if (t < first)
            continue;
        backlog = acc > rcv ? acc - rcv : 0;
        fprintf(f, "%s\n {\"t\": %zu, \"accepted\": %" PRIu64 ", \"received\": %" PRIu64 ", \"errors\": %"
                PRIu64 ", \"backlog\": %" PRIu64 "}", t > first ? "," : "", t, s->accepted, s->received,
                s->errors, backlog);
    }
    fputs("]", f);
}

static void webjson_thresholds(FILE *f, const struct threshold_verdict *v, size_t n)
{
    fputs(",\n\"thresholds\": ", f);
    json_write_verdicts(f, v, n, 1);        /* not measured yet: ok null */
}

/* webjson_head - what the campaign is and where it stands. */
static void webjson_head(FILE *f, const struct run *r, uint64_t now, int final)
{
    const struct workload_spec *w = &r->cfg->w;
    size_t i, ph;

    fprintf(f, "{\"version\": 1, \"final\": %s, \"state\": \"%s\", \"stopping\": %s, \"campaign\": ",
            final ? "true" : "false", final ? "done" : webjson_states[r->state],
            r->stop_at_ns || r->interrupted ? "true" : "false");
    json_write_string(f, r->state >= RUN_READY ? r->campaign : "");
    fputs(",\n\"targets\": [", f);
    for (i = 0; i < w->n_targets; i++) {
        fputs(i ? ", " : "", f);
        json_write_string(f, w->targets[i]);
    }
    fputs("], \"subject\": ", f);
    report_json_string(f, w->subject);
    fprintf(f, ", \"elapsed_s\": %.3f, \"duration_s\": %.3f, \"planned_messages\": %" PRIu64,
            r->ran && now > r->start_ns ? (double)(now - r->start_ns) / 1e9 : 0.0,
            (double)config_total_duration_ms(w) / 1000.0, w->messages_set ? w->messages : 0);
    fputs(",\n\"phase\": ", f);
    if (w->n_phases == 0 || !r->ran) {
        fputs("null", f);
    } else {
        ph = behaviours_phase_at(w, run_since(now, r->start_ns) / NS_PER_MS);
        fprintf(f, "{\"index\": %zu, \"count\": %zu, \"name\": ", ph + 1, w->n_phases);
        json_write_string(f, w->phases[ph].name[0] ? w->phases[ph].name : config_phase_kind_name(w->phases[ph].kind));
        fputc('}', f);
    }
}

/* webjson_live_totals - the totals so far, under the report's key names,
 * the backlog and the rate of the last second every peer has reported
 * past (by event time, timeline_settled). */
static void webjson_live_totals(FILE *f, const struct run *r, const struct agg_totals *t)
{
    struct stats_second settled;
    uint32_t at = timeline_settled(&r->tl, &settled);

    fprintf(f, ",\n\"totals\": {\"sessions\": %" PRIu64 ", \"messages_attempted\": %" PRIu64
            ", \"messages_accepted\": %" PRIu64 ", \"messages_rejected\": %" PRIu64 ", \"errors\": %" PRIu64
            ", \"recipients\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"sink_received\": ",
            t->sessions, t->attempted, t->accepted, t->rejected, t->errors, t->recipients, t->bytes);
    if (r->ns > 0)
        fprintf(f, "%" PRIu64 ", \"duplicates\": %" PRIu64, t->received, t->duplicates);
    else
        fputs("null, \"duplicates\": null", f);
    fprintf(f, ", \"sessions_active\": %" PRIu32 ", \"backlog\": %" PRId64 ", \"backlog_at_s\": %" PRIu32 "}",
            t->sessions_active, (int64_t)settled.accepted - (int64_t)settled.received, at);
    fprintf(f, ",\n\"rate_msgs_per_s\": %.0f", timeline_settled_rate(&r->tl, 1));
}

/* webjson_live_verdicts - the thresholds judged on the totals so far (a
 * threshold on a campaign phase is judged at the end only). */
static struct threshold_verdict *webjson_live_verdicts(const struct run *r, const struct agg_totals *t, uint64_t now,
                                                       size_t *n)
{
    struct run_result res;

    *n = 0;
    if (r->cfg->n_thresholds == 0)
        return NULL;
    memset(&res, 0, sizeof(res));
    if ((res.stats = malloc(sizeof(*res.stats))) == NULL)
        return NULL;
    res.config = r->cfg;
    res.totals = *t;
    res.duration_s = r->ran && now > r->start_ns ? (double)(now - r->start_ns) / 1e9 : 0;
    res.n_sinks = r->ns;
    stats_init(res.stats);
    agg_merge_stats(r->agents, r->na, res.stats);
    hist_init(&res.delivery);
    agg_merge_delivery(r->sinks, r->ns, r->campaign, &res.delivery);
    if (verdict_judge(&res) == 0)
        *n = res.n_verdicts;
    free(res.stats);
    return res.verdicts;
}

/* webjson_send - hand the document in f (an open_memstream of *buf) to the server. */
static void webjson_send(struct run *r, FILE *f, char **buf, size_t *len)
{
    if (fclose(f) != 0 || web_publish(r->web, *buf, *len) != 0)
        log_debug("web: out of memory; the last document stays");
    free(*buf);
}

void webjson_publish(struct run *r, uint64_t now)
{
    struct threshold_verdict *v;
    struct agg_totals t;
    char *buf = NULL;
    size_t len = 0, n;
    FILE *f;

    if (r->web == NULL || (f = open_memstream(&buf, &len)) == NULL)
        return;
    run_totals(r, &t);
    webjson_head(f, r, now, 0);
    webjson_live_totals(f, r, &t);
    v = webjson_live_verdicts(r, &t, now, &n);
    webjson_thresholds(f, v, n);
    free(v);
    webjson_timeline(f, &r->tl);
    webjson_peers(f, r);
    fputs(",\n\"exit_code\": null}\n", f);
    webjson_send(r, f, &buf, &len);
}

void webjson_publish_final(struct run *r, const struct run_result *res, int exit_code)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    if (r->web == NULL || (f = open_memstream(&buf, &len)) == NULL)
        return;
    webjson_head(f, r, clock_mono_ns(), 1);
    fputs(",\n\"totals\": ", f);
    json_write_totals(f, res);
    fprintf(f, ",\n\"rate_msgs_per_s\": %.3f", res->rate);
    webjson_thresholds(f, res->verdicts, res->n_verdicts);
    webjson_timeline(f, &r->tl);
    webjson_peers(f, r);
    fprintf(f, ",\n\"exit_code\": %d, \"result\": ", exit_code);
    json_write_string(f, reconcile_exit_text((enum run_exit)exit_code));
    fputs("}\n", f);
    webjson_send(r, f, &buf, &len);
}
