/* html.c - the campaign report as one self-contained HTML page (--html):
 * a headline of what was asked and what happened, the thresholds' verdict,
 * charts over time (svg.c), latency by phase, tables per agent, per sink,
 * replies and errors, and the campaign as run. No scripts, fonts or images
 * are fetched; every text that came from a peer or the command line is
 * escaped. Numbers carry data-key/data-value attributes with the JSON
 * report's values, so tests (and people) can check one against the other. */
#include "result.h"
#include "report_file.h"
#include "svg.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HTML_CHART_W      1200
#define HTML_CHART_H      280

static const char html_css[] =
    ":root{--fg:#1d2430;--muted:#5b6575;--line:#e3e7ee;--bg:#f6f7f9;--card:#fff;--ok:#1a7f37;--bad:#c62828;"
    "--warn:#b26a00}\n"
    "*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);"
    "font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif}\n"
    "main{max-width:1240px;margin:0 auto;padding:24px 20px 48px}\n"
    "h1{font-size:26px;margin:0 0 4px;font-weight:650}h1 .id{font-family:ui-monospace,'DejaVu Sans Mono',monospace;"
    "font-size:22px}\nh2{font-size:18px;margin:34px 0 10px;font-weight:650}\n"
    ".sub{color:var(--muted);margin:0 0 18px}\n"
    ".verdict{border-radius:10px;padding:14px 18px;font-size:20px;font-weight:700;margin:0 0 18px;"
    "display:flex;gap:18px;align-items:baseline;flex-wrap:wrap}\n"
    ".verdict .detail{font-size:15px;font-weight:500}\n"
    ".verdict.pass{background:#e6f4ea;color:var(--ok);border:1px solid #a6d9b4}\n"
    ".verdict.fail{background:#fdecea;color:var(--bad);border:1px solid #f1aeb5}\n"
    ".verdict.warn{background:#fff4e0;color:var(--warn);border:1px solid #f3cf8e}\n"
    ".asked{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 16px;margin:0 0 14px}\n"
    ".asked b{font-weight:600}\n"
    ".cards{display:grid;grid-template-columns:repeat(4,1fr);gap:12px}\n"
    ".card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}\n"
    ".card .label{color:var(--muted);font-size:13px;text-transform:uppercase;letter-spacing:.04em}\n"
    ".card .value{font-size:26px;font-weight:650;margin-top:2px;font-variant-numeric:tabular-nums}\n"
    ".card .note{color:var(--muted);font-size:13px}\n"
    ".card.bad .value{color:var(--bad)}.card.ok .value{color:var(--ok)}\n"
    ".panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:10px 12px;margin:0 0 14px}\n"
    "svg.chart{width:100%;height:auto;display:block}\n"
    "svg .chart-title{font-size:15px;font-weight:650;fill:var(--fg)}\n"
    "svg text{font-size:12px;fill:var(--muted)}svg .legend text{font-size:13px;fill:var(--fg)}\n"
    "svg .grid{stroke:#edf0f4}svg .grid.minor{stroke:#f5f6f8}svg .axis,svg .tickmark{stroke:#9aa3b2}\n"
    "svg .series polyline{fill:none;stroke-width:2.2;stroke-linejoin:round}\n"
    "svg .legend line{stroke-width:3}\n"
    "svg .mark line{stroke:#1a7f37;stroke-width:1.5;stroke-dasharray:4 3}svg .mark text{fill:#1a7f37;font-size:12px}\n"
    "svg .tips rect{fill:transparent}svg .tips rect:hover{fill:rgba(60,80,120,.08)}\n"
    ".s-attempted{stroke:#9aa6b8;fill:#9aa6b8}.s-accepted{stroke:#1a7f37;fill:#1a7f37}"
    ".s-received{stroke:#2b6cd4;fill:#2b6cd4}.s-p50{stroke:#2b6cd4;fill:#2b6cd4}"
    ".s-p99{stroke:#e8590c;fill:#e8590c}.s-errors{stroke:#c62828;fill:#c62828}"
    ".s-4xx{stroke:#f59f00;fill:#f59f00}.s-5xx{stroke:#862e9c;fill:#862e9c}"
    ".s-sessions{stroke:#0b7285;fill:#0b7285}.s-backlog{stroke:#5f3dc4;fill:#5f3dc4}\n"
    "svg .legend.s-attempted text,svg .legend.s-accepted text,svg .legend.s-received text,svg .legend.s-p50 text,"
    "svg .legend.s-p99 text,svg .legend.s-errors text,svg .legend.s-4xx text,svg .legend.s-5xx text,"
    "svg .legend.s-sessions text,svg .legend.s-backlog text{fill:var(--fg);stroke:none}\n"
    "svg .iqr{fill:#7aa7ea}svg .whisker{stroke:#7d8796;stroke-width:1.5}svg .p90{stroke:#1d2430;stroke-width:2}"
    "svg .max{stroke:#c62828;stroke-width:2}svg .p50{fill:#1d2430}svg .phase-label{fill:var(--fg);font-size:13px}"
    "svg .phase-values{fill:var(--fg);font-size:12px;font-variant-numeric:tabular-nums}\n"
    "table{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line);"
    "border-radius:10px;overflow:hidden;font-variant-numeric:tabular-nums}\n"
    "th,td{padding:7px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}\n"
    "th{background:#eef1f5;font-weight:600;font-size:13px;color:#39414f}\n"
    "th:first-child,td:first-child,td.text,th.text{text-align:left}\n"
    "td.text{white-space:normal;word-break:break-word}\n"
    "tr:last-child td{border-bottom:0}tr.bad td{background:#fdf1f1}td.bad{color:var(--bad);font-weight:600}"
    "td.ok{color:var(--ok);font-weight:600}td.zero{color:#a4acb9}\n"
    "td.worse{color:var(--bad);font-weight:600}td.better{color:var(--ok);font-weight:600}\n"
    ".two{display:grid;grid-template-columns:1fr 1fr;gap:14px}\n"
    "code{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:13.5px}\n"
    "footer{color:var(--muted);font-size:13px;margin-top:36px}\n"
    "@media (max-width:800px){.cards{grid-template-columns:repeat(2,1fr)}.two{grid-template-columns:1fr}}\n";

/* ---- small writers ---- */

void html_write_style(FILE *f)
{
    fprintf(f, "<style>\n%s</style>\n", html_css);
}

static char *html_count_text(uint64_t v, char *out, size_t outlen)
{
    char digits[32];
    size_t n, i, o = 0;

    n = (size_t)snprintf(digits, sizeof(digits), "%" PRIu64, v);
    for (i = 0; i < n && o + 2 < outlen; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    return out;
}

/* A count with the JSON report's key and raw value. */
static void html_count(FILE *f, const char *key, uint64_t v)
{
    char text[40];

    fprintf(f, "<span class=\"num\" data-key=\"%s\" data-value=\"%" PRIu64 "\">%s</span>", key, v,
            html_count_text(v, text, sizeof(text)));
}

/* Milliseconds, as the JSON report writes them (%.3f) and as people read them. */
static void html_ms(FILE *f, const char *key, double ms)
{
    char text[32];

    fprintf(f, "<span class=\"num\" data-key=\"%s\" data-value=\"%.3f\">%s</span>", key, ms,
            svg_format_value(ms, text, sizeof(text)));
}

static void html_td_count(FILE *f, const char *key, uint64_t v)
{
    fputs(v == 0 ? "<td class=\"zero\">" : "<td>", f);
    html_count(f, key, v);
    fputs("</td>", f);
}

static void html_td_text(FILE *f, const char *s)
{
    fputs("<td class=\"text\">", f);
    svg_escape(f, s);
    fputs("</td>", f);
}

static void html_time(uint64_t wall_ns, char *out, size_t outlen)
{
    time_t secs = (time_t)(wall_ns / 1000000000ULL);
    struct tm tm;

    if (wall_ns == 0 || gmtime_r(&secs, &tm) == NULL)
        snprintf(out, outlen, "not started");
    else
        strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static void html_duration_text(double s, char *out, size_t outlen)
{
    if (s >= 3600)
        snprintf(out, outlen, "%dh %02dm %02ds", (int)(s / 3600), (int)fmod(s / 60, 60), (int)fmod(s, 60));
    else if (s >= 120)
        snprintf(out, outlen, "%dm %02ds", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(out, outlen, "%.1f s", s);
}

/* ---- headline ---- */

static void html_head(FILE *f, const struct run_result *res)
{
    char when[64], dur[48];

    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta name=\"generator\" content=\"smtpstorm " SMTPSTORM_VERSION "\">\n<title>smtpstorm: ", f);
    svg_escape(f, res->campaign);
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n", html_css);
    html_time(res->started_at_ns, when, sizeof(when));
    html_duration_text(res->duration_s, dur, sizeof(dur));
    fputs("<h1>smtpstorm campaign <span class=\"id\" id=\"campaign\">", f);
    svg_escape(f, res->campaign);
    fprintf(f, "</span></h1>\n<p class=\"sub\">started %s · ran %s · %zu agent%s · %zu sink%s</p>\n", when, dur,
            res->n_agents, res->n_agents == 1 ? "" : "s", res->n_sinks, res->n_sinks == 1 ? "" : "s");
}

static void html_verdict(FILE *f, const struct run_result *res)
{
    const char *cls = res->exit_code == EXIT_RUN_OK ? "pass" : res->exit_code == EXIT_RUN_INTERRUPTED ? "warn" : "fail";

    fprintf(f, "<section id=\"verdict\" class=\"verdict %s\" data-exit=\"%d\">", cls, (int)res->exit_code);
    if (res->n_verdicts > 0)
        fprintf(f, "<span id=\"pass-fail\">%s</span><span class=\"detail\">%zu of %zu thresholds held</span>",
                res->thresholds_failed ? "FAIL" : "PASS", res->n_verdicts - (size_t)res->thresholds_failed,
                res->n_verdicts);
    else
        fprintf(f, "<span id=\"pass-fail\">%s</span>", res->exit_code == EXIT_RUN_OK ? "OK" : "NOT OK");
    fprintf(f, "<span class=\"detail\">result: %s (exit %d)</span></section>\n", reconcile_exit_text(res->exit_code),
            (int)res->exit_code);
}

/* What was asked, in one sentence. */
static void html_asked(FILE *f, const struct run_result *res)
{
    const struct workload_spec *w = &res->config->w;
    char n[40], d[48];

    fputs("<p class=\"asked\" id=\"asked\"><b>Asked:</b> ", f);
    if (w->messages_set || (w->duration_ms == 0 && w->n_phases == 0))
        fprintf(f, "%s message%s", html_count_text(w->messages, n, sizeof(n)), w->messages == 1 ? "" : "s");
    else
        fputs("messages", f);
    if (config_total_duration_ms(w) > 0) {
        html_duration_text((double)config_total_duration_ms(w) / 1000, d, sizeof(d));
        fprintf(f, " for %s", d);
    }
    if (w->n_phases > 0)
        fprintf(f, " in %zu phase%s", w->n_phases, w->n_phases == 1 ? "" : "s");
    if (w->sessions_set)
        fprintf(f, " over %s session%s", html_count_text(w->sessions, n, sizeof(n)), w->sessions == 1 ? "" : "s");
    else
        fputs(" over one session per agent", f);
    if (w->rate > 0)
        fprintf(f, " at %s msg/s", svg_format_value(w->rate, n, sizeof(n)));
    else if (w->n_phases == 0)
        fputs(" as fast as they go", f);
    fprintf(f, ", to %zu target%s", w->n_targets, w->n_targets == 1 ? "" : "s");
    fprintf(f, ", %s, %u recipient%s each.</p>\n", w->lmtp ? "LMTP" : "SMTP", w->recipients,
            w->recipients == 1 ? "" : "s");
}

static void html_card_count(FILE *f, const char *label, const char *key, uint64_t v, const char *cls,
                            const char *note)
{
    fprintf(f, "<div class=\"card %s\"><div class=\"label\">%s</div><div class=\"value\">", cls, label);
    html_count(f, key, v);
    fprintf(f, "</div><div class=\"note\">%s</div></div>\n", note);
}

static double html_peak_rate(const struct run_result *res)
{
    const struct aggregator *a = res->timeline;
    double peak = 0, d;
    size_t i;

    for (i = 1; i < a->n; i++) {
        d = (double)(a->rows[i].cum.accepted - a->rows[i - 1].cum.accepted);
        peak = d > peak ? d : peak;
    }
    if (a->n > 0 && (double)a->rows[0].cum.accepted > peak)
        peak = (double)a->rows[0].cum.accepted;
    return peak;
}

static void html_cards(FILE *f, const struct run_result *res)
{
    const struct agg_totals *t = &res->totals;
    const struct hist *m = &res->stats->latency[PHASE_MESSAGE];
    char note[96], v[32];

    fputs("<section class=\"cards\" id=\"headline\">\n", f);
    snprintf(note, sizeof(note), "of %s attempted", html_count_text(t->attempted, v, sizeof(v)));
    html_card_count(f, "Accepted", "messages_accepted", t->accepted, "ok", note);
    html_card_count(f, "Rejected", "messages_rejected", t->rejected, t->rejected ? "bad" : "", "4xx/5xx at end of data");
    html_card_count(f, "Errors", "errors", t->errors, t->errors ? "bad" : "", "session and protocol");
    if (res->sinks_in_path) {
        fprintf(f, "<div class=\"card %s\"><div class=\"label\">Lost</div><div class=\"value\">"
                "<span class=\"num\" data-key=\"lost\" data-value=\"%" PRId64 "\">%" PRId64 "</span></div>"
                "<div class=\"note\">accepted, never received by a sink%s</div></div>\n",
                res->total.lost > 0 ? "bad" : "ok", res->total.lost, res->total.lost,
                res->total.beyond > 0 ? "; more received than accepted by some agent (see the agents)" : "");
    } else {
        fputs("<div class=\"card\"><div class=\"label\">Lost</div><div class=\"value\">"
              "<span class=\"num\" data-key=\"lost\" data-value=\"null\">–</span></div>"
              "<div class=\"note\">no sinks in the path</div></div>\n", f);
    }
    fputs("<div class=\"card\"><div class=\"label\">Duration</div><div class=\"value\">", f);
    fprintf(f, "<span class=\"num\" data-key=\"duration_s\" data-value=\"%.3f\">%.1f s</span>", res->duration_s,
            res->duration_s);
    fputs("</div><div class=\"note\">start to last count</div></div>\n", f);
    fprintf(f, "<div class=\"card\"><div class=\"label\">Mean rate</div><div class=\"value\">"
            "<span class=\"num\" data-key=\"rate_msgs_per_s\" data-value=\"%.3f\">%s</span></div>"
            "<div class=\"note\">accepted msg/s</div></div>\n", res->rate, svg_format_value(res->rate, v, sizeof(v)));
    fprintf(f, "<div class=\"card\"><div class=\"label\">Peak rate</div><div class=\"value\">"
            "<span class=\"num\" data-key=\"peak_msgs_per_s\" data-value=\"%.0f\">%s</span></div>"
            "<div class=\"note\">accepted msg/s in one second</div></div>\n", html_peak_rate(res),
            svg_format_value(html_peak_rate(res), v, sizeof(v)));
    fputs("<div class=\"card\"><div class=\"label\">Message p99</div><div class=\"value\">", f);
    html_ms(f, "message.p99", m->count ? (double)hist_percentile(m, 99) / 1000 : 0);
    fputs(" ms</div><div class=\"note\">whole transaction; p50 ", f);
    html_ms(f, "message.p50", m->count ? (double)hist_percentile(m, 50) / 1000 : 0);
    fputs(" ms</div></div>\n</section>\n", f);
}

static void html_thresholds(FILE *f, const struct run_result *res)
{
    char v[32];
    size_t i;

    if (res->n_verdicts == 0)
        return;
    fputs("<h2>Thresholds</h2>\n<table id=\"thresholds\"><tr><th>threshold</th><th>measured</th>"
          "<th>verdict</th></tr>\n", f);
    for (i = 0; i < res->n_verdicts; i++) {
        const struct threshold_verdict *t = &res->verdicts[i];

        fprintf(f, "<tr class=\"%s\" data-ok=\"%s\"><td class=\"text\"><code>", t->held == 1 ? "" : "bad",
                t->held == 1 ? "true" : "false");
        svg_escape(f, t->t->text);
        fputs("</code></td><td>", f);
        if (t->held >= 0)   /* "4.38 ms", but "463/s" and "1%" */
            fprintf(f, "%s%s%s", svg_format_value(t->value, v, sizeof(v)),
                    strcmp(threshold_unit_text(t->t), "ms") == 0 ? " " : "", threshold_unit_text(t->t));
        else
            fputs("not measured", f);
        fprintf(f, "</td><td class=\"%s\">%s</td></tr>\n", t->held == 1 ? "ok" : "bad",
                t->held == 1 ? "held" : "FAILED");
    }
    fputs("</table>\n", f);
}

/* ---- injection and delivery ---- */

/* One side of the flow: count, when the last one was, mean and peak rate,
 * p50 and p99 of its latency. Keys are the JSON report's injection.* and
 * delivery.* */
static void html_flow_row(FILE *f, const char *side, const char *what, uint64_t count, double s, double rate,
                          uint64_t peak, const char *lat, const struct hist *h)
{
    char key[64], v[32];

    fprintf(f, "<tr data-side=\"%s\"><td class=\"text\">%s</td>", side, what);
    snprintf(key, sizeof(key), "%s.%s", side, strcmp(side, "injection") == 0 ? "accepted" : "received");
    html_td_count(f, key, count);
    fprintf(f, "<td><span class=\"num\" data-key=\"%s.seconds\" data-value=\"%.3f\">%.1f s</span></td>", side, s, s);
    fprintf(f, "<td><span class=\"num\" data-key=\"%s.rate_msgs_per_s\" data-value=\"%.3f\">%s</span></td>", side,
            rate, svg_format_value(rate, v, sizeof(v)));
    snprintf(key, sizeof(key), "%s.peak_msgs_per_s", side);
    html_td_count(f, key, peak);
    snprintf(key, sizeof(key), "%s.%s_p50_ms", side, lat);
    fputs("<td>", f);
    html_ms(f, key, h->count ? (double)hist_percentile(h, 50) / 1000 : 0);
    snprintf(key, sizeof(key), "%s.%s_p99_ms", side, lat);
    fputs(" ms</td><td>", f);
    html_ms(f, key, h->count ? (double)hist_percentile(h, 99) / 1000 : 0);
    fputs(" ms</td></tr>\n", f);
}

/* Injection (agents -> target) apart from delivery (target -> sinks), and
 * the target's backlog: what a campaign through an MTA is for. */
static void html_flow(FILE *f, const struct run_result *res)
{
    struct agg_flow fl;

    result_flow(res, &fl);
    fputs("<h2>Injection and delivery</h2>\n<table id=\"flow\"><tr><th class=\"text\">side</th><th>messages</th>"
          "<th>last by</th><th>mean msg/s</th><th>peak msg/s</th><th>p50</th><th>p99</th></tr>\n", f);
    html_flow_row(f, "injection", "injection: agents → target, accepted", res->totals.accepted, fl.inject_s,
                  fl.inject_rate, fl.inject_peak, "message", &res->stats->latency[PHASE_MESSAGE]);
    if (res->sinks_in_path)
        html_flow_row(f, "delivery", "delivery: target → sinks, received (end to end)", res->totals.received,
                      fl.deliver_s, fl.deliver_rate, fl.deliver_peak, "delivery", &res->delivery);
    fputs("</table>\n", f);
    if (res->warmup_s > 0)
        fprintf(f, "<p class=\"sub\" id=\"warmup\">Warmup: the first %.0f s (%" PRIu64 " accepted) are out of "
                "the rates and the message and delivery percentiles; the totals and the reconciliation "
                "count them.</p>\n", res->warmup_s, res->warmup_accepted);
    if (!res->sinks_in_path) {
        fputs("<p class=\"sub\">No sinks in the path: delivery and backlog were not measured.</p>\n", f);
        return;
    }
    fputs("<p class=\"sub\" id=\"backlog\">Backlog at the target (accepted minus received): peak ", f);
    fprintf(f, "<span class=\"num\" data-key=\"delivery.backlog_peak\" data-value=\"%" PRId64 "\">%" PRId64
            "</span> at %u s, <span class=\"num\" data-key=\"delivery.backlog_end\" data-value=\"%" PRId64 "\">%"
            PRId64 "</span> at the end. Times are seconds since the common start, to about a second.</p>\n",
            fl.backlog_peak, fl.backlog_peak, fl.backlog_peak_t, fl.backlog_end, fl.backlog_end);
}

/* ---- charts over time ---- */

struct html_series {
    double *x, *attempted, *accepted, *received, *p50, *p99, *errors, *r4, *r5, *sessions;
    double *backlog;                /* accepted - received, cumulative; NAN: no sinks in the path */
};

static int html_series_fill(const struct run_result *res, struct html_series *s)
{
    const struct aggregator *a = res->timeline;
    static const struct agg_totals zero;
    double **all[] = { &s->x, &s->attempted, &s->accepted, &s->received, &s->p50, &s->p99, &s->errors,
                       &s->r4, &s->r5, &s->sessions, &s->backlog };
    size_t i, k;

    for (k = 0; k < sizeof(all) / sizeof(all[0]); k++)
        if ((*all[k] = calloc(a->n + 1, sizeof(double))) == NULL)
            return -ENOMEM;
    for (i = 0; i < a->n; i++) {
        const struct agg_totals *c = &a->rows[i].cum, *p = i ? &a->rows[i - 1].cum : &zero;
        const struct agg_latency *m = &a->rows[i].message;

#define D(field) (double)(c->field >= p->field ? c->field - p->field : 0)
        s->x[i] = a->rows[i].t;
        s->attempted[i] = D(attempted);
        s->accepted[i] = D(accepted);
        s->received[i] = res->n_sinks ? D(received) : NAN;
        s->errors[i] = D(errors);
        s->r4[i] = D(replies_4xx);
        s->r5[i] = D(replies_5xx);
#undef D
        s->p50[i] = m->count ? (double)m->p50_us / 1000 : NAN;
        s->p99[i] = m->count ? (double)m->p99_us / 1000 : NAN;
        s->sessions[i] = c->sessions_active;
        /* a sink's count may run a report ahead of an agent's: no negative backlog drawn */
        s->backlog[i] = !res->sinks_in_path ? NAN
            : agg_row_backlog(a, i) > 0 ? (double)agg_row_backlog(a, i) : 0;
    }
    return 0;
}

static void html_series_free(struct html_series *s)
{
    free(s->x), free(s->attempted), free(s->accepted), free(s->received), free(s->p50);
    free(s->p99), free(s->errors), free(s->r4), free(s->r5), free(s->sessions), free(s->backlog);
}

static void html_chart(FILE *f, const char *id, const char *title, const char *unit, const double *x, size_t n,
                       const struct svg_series *series, size_t ns)
{
    struct svg_chart c = { id, title, unit, x, n, series, ns, HTML_CHART_W, HTML_CHART_H, strcmp(unit, "ms") != 0,
                           0, 0, NULL };

    fputs("<div class=\"panel\">\n", f);
    svg_time_chart(f, &c);
    fputs("</div>\n", f);
}

static int html_charts(FILE *f, const struct run_result *res)
{
    struct html_series s = { 0 };
    size_t n = res->timeline->n;

    if (html_series_fill(res, &s) != 0) {
        html_series_free(&s);
        return -ENOMEM;
    }
    fputs("<h2>Over time</h2>\n", f);
    html_chart(f, "chart-rate", "Messages per second", "msg/s", s.x, n, (const struct svg_series[]){
        { "attempted", "s-attempted", s.attempted, 0 }, { "accepted", "s-accepted", s.accepted, 0 },
        { "received by sinks", "s-received", s.received, 1 } }, res->n_sinks ? 3 : 2);
    if (res->sinks_in_path)
        html_chart(f, "chart-backlog", "Backlog at the target: accepted minus received by sinks", "messages", s.x, n,
                   (const struct svg_series[]){ { "backlog", "s-backlog", s.backlog, 0 } }, 1);
    html_chart(f, "chart-latency", "Whole-message latency, per second", "ms", s.x, n, (const struct svg_series[]){
        { "p50", "s-p50", s.p50, 0 }, { "p99", "s-p99", s.p99, 0 } }, 2);
    html_chart(f, "chart-errors", "Errors and failure replies per second", "per s", s.x, n,
               (const struct svg_series[]){ { "errors", "s-errors", s.errors, 0 },
               { "4xx replies", "s-4xx", s.r4, 0 }, { "5xx replies", "s-5xx", s.r5, 0 } }, 3);
    html_chart(f, "chart-sessions", "Active sessions", "sessions", s.x, n, (const struct svg_series[]){
        { "open sessions", "s-sessions", s.sessions, 0 } }, 1);
    html_series_free(&s);
    return 0;
}

/* ---- latency by phase ---- */

static void html_latency_row(FILE *f, const char *name, const struct hist *h)
{
    char key[48];

    fprintf(f, "<tr data-phase=\"%s\"><td>%s</td>", name, name);
    snprintf(key, sizeof(key), "%s.count", name);
    html_td_count(f, key, h->count);
#define CELL(label, value) \
    snprintf(key, sizeof(key), "%s.%s", name, label); fputs("<td>", f); html_ms(f, key, value); fputs("</td>", f);
    CELL("p50", (double)hist_percentile(h, 50) / 1000)
    CELL("p90", (double)hist_percentile(h, 90) / 1000)
    CELL("p99", (double)hist_percentile(h, 99) / 1000)
    CELL("p999", (double)hist_percentile(h, 99.9) / 1000)
    CELL("max", (double)h->max / 1000)
    CELL("mean", hist_mean(h) / 1000)
#undef CELL
    fputs("</tr>\n", f);
}

static void html_phases(FILE *f, const struct run_result *res)
{
    struct svg_range rows[PHASE_COUNT];
    const struct hist *h;
    size_t n = 0;
    int i;

    for (i = 0; i < PHASE_COUNT; i++) {
        if ((h = result_phase_hist(res, stats_phases_shown[i]))->count == 0)
            continue;
        rows[n].label = stats_phase_name(stats_phases_shown[i]);
        rows[n].p50 = (double)hist_percentile(h, 50) / 1000;
        rows[n].p90 = (double)hist_percentile(h, 90) / 1000;
        rows[n].p99 = (double)hist_percentile(h, 99) / 1000;
        rows[n].max = (double)h->max / 1000;
        rows[n].count = h->count;
        n++;
    }
    fputs("<h2>Latency by phase</h2>\n<div class=\"panel\">\n", f);
    svg_range_chart(f, "chart-phases", "Latency distribution per phase (ms)", rows, n, HTML_CHART_W);
    fputs("</div>\n<table id=\"latency\"><tr><th>phase</th><th>count</th><th>p50 ms</th><th>p90 ms</th>"
          "<th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>mean ms</th></tr>\n", f);
    for (i = 0; i < PHASE_COUNT; i++)
        if ((h = result_phase_hist(res, stats_phases_shown[i]))->count > 0)
            html_latency_row(f, stats_phase_name(stats_phases_shown[i]), h);
    fputs("</table>\n", f);
}

/* One row per campaign phase (phases.h): planned and achieved, latency,
 * the backlog at its end. */
static void html_campaign_phases(FILE *f, const struct run_result *res)
{
    const struct phase_result *p;
    char key[64];
    size_t i;

    if (res->n_phases == 0)
        return;
    fputs("<h2>Results by campaign phase</h2>\n<table id=\"campaign-phases\"><tr><th class=\"text\">phase</th>"
          "<th class=\"text\">kind</th><th>from s</th><th>to s</th><th>planned msg/s</th><th>achieved msg/s</th>"
          "<th>accepted</th><th>errors</th><th>message p50 ms</th><th>message p99 ms</th>"
          "<th>delivery p99 ms</th><th>backlog at end</th></tr>\n", f);
    for (i = 0; i < res->n_phases; i++) {
        p = &res->phases[i];
        fprintf(f, "<tr data-campaign-phase=\"%zu\">", i);
        html_td_text(f, p->name);
        html_td_text(f, p->kind);
        fprintf(f, "<td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td>", p->start_s, p->end_s,
                p->planned_rate, p->rate);
        snprintf(key, sizeof(key), "phase%zu.accepted", i);
        html_td_count(f, key, p->accepted);
        snprintf(key, sizeof(key), "phase%zu.errors", i);
        html_td_count(f, key, p->errors);
#define CELL(label, h, pct) \
        snprintf(key, sizeof(key), "phase%zu.%s", i, label); fputs("<td>", f); \
        html_ms(f, key, (double)hist_percentile(h, pct) / 1000); fputs("</td>", f);
        CELL("message_p50", p->message, 50)
        CELL("message_p99", p->message, 99)
        CELL("delivery_p99", p->delivery, 99)
#undef CELL
        if (res->sinks_in_path)
            fprintf(f, "<td>%" PRId64 "</td></tr>\n", p->backlog_end);
        else
            fputs("<td>–</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* ---- peers ---- */

static void html_agent_row(FILE *f, const struct run_result *res, const struct agent_result *a)
{
    char rate[32];

    fprintf(f, "<tr class=\"%s\" data-agent=\"", a->missing ? "bad" : "");
    svg_escape(f, a->peer->id);
    fputs("\">", f);
    html_td_text(f, a->peer->id);
    html_td_text(f, a->peer->host);
    html_td_text(f, a->peer->version);
    fprintf(f, "<td>%u</td>", a->peer->cores);
    html_td_count(f, "messages_planned", a->planned);
    html_td_count(f, "messages_attempted", a->attempted);
    html_td_count(f, "messages_accepted", a->accepted);
    html_td_count(f, "messages_rejected", a->rejected);
    html_td_count(f, "errors", a->errors);
    if (res->sinks_in_path) {
        html_td_count(f, "sink_received", a->received);
        html_td_count(f, "sink_rejected", a->line.rejected);
        html_td_count(f, "sink_deferred", a->line.deferred);
        fprintf(f, "<td class=\"%s\">%" PRId64 "</td>", a->line.lost > 0 ? "bad" : "zero", a->line.lost);
    }
    fprintf(f, "<td>%s</td><td class=\"%s\">%.0f%%</td>",
            svg_format_value(a->elapsed_s > 0 ? (double)a->accepted / a->elapsed_s : 0, rate, sizeof(rate)),
            a->cpu_pct > AGG_SATURATED_PCT ? "bad" : "", a->cpu_pct);
    html_td_text(f, a->status[0] ? a->status : (a->missing ? "missing" : "ok"));
    fputs("</tr>\n", f);
}

static void html_agents(FILE *f, const struct run_result *res)
{
    size_t i;

    fputs("<h2>Agents</h2>\n<table id=\"agents\"><tr><th>agent</th><th class=\"text\">host</th>"
          "<th class=\"text\">version</th><th>cores</th><th>planned</th><th>attempted</th><th>accepted</th>"
          "<th>rejected</th><th>errors</th>", f);
    if (res->sinks_in_path)
        fputs("<th>received</th><th title=\"refused for good by a sink's rule, never received\">sink rejected"
              "</th><th title=\"deferred by a sink's rule, not back by the end of the drain\">sink deferred</th>"
              "<th title=\"accepted, never received, unexplained\">lost</th>", f);
    fputs("<th>msg/s</th><th>cpu</th><th class=\"text\">status</th></tr>\n", f);
    for (i = 0; i < res->n_agents; i++)
        html_agent_row(f, res, &res->agents[i]);
    fputs("</table>\n", f);
}

/* html_moves - --rebalance: each lost agent's unsent messages, and where they went. */
static void html_moves(FILE *f, const struct run_result *res)
{
    char to[TRACE_ID_MAX + 48];
    size_t i, k;

    if (res->n_moves == 0)
        return;
    fputs("<h2>Rebalanced</h2>\n<table id=\"rebalance\"><tr><th>lost agent</th><th class=\"text\">why</th>"
          "<th>planned</th><th>sent</th><th>moved</th><th>not moved</th>"
          "<th title=\"its messages the sinks received after the move: sent twice\">received after</th>"
          "<th class=\"text\">to</th></tr>\n", f);
    for (i = 0; i < res->n_moves; i++) {
        const struct rebalance_move *m = &res->moves[i];

        fputs("<tr>", f);
        html_td_text(f, m->from);
        html_td_text(f, m->decided ? m->why : "the campaign ended before the move");
        html_td_count(f, "rebalance-planned", m->planned);
        html_td_count(f, "rebalance-sent", m->done);
        html_td_count(f, "rebalance-moved", m->moved);
        html_td_count(f, "rebalance-not-moved", m->not_moved);
        html_td_count(f, "rebalance-received-after", m->received_after);
        fputs("<td class=\"text\">", f);
        for (k = 0; k < m->n_shares; k++) {
            snprintf(to, sizeof(to), "%s%s %" PRIu64 " (%s)", k ? ", " : "", m->shares[k].agent,
                     m->shares[k].messages, rebalance_state_name(m->shares[k].state));
            svg_escape(f, to);
        }
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void html_sinks(FILE *f, const struct run_result *res)
{
    size_t i, k;

    fputs("<h2>Sinks</h2>\n", f);
    if (res->n_sinks == 0) {
        fputs("<p id=\"sinks\">No sinks took part: what the target accepted was not counted at the far end.</p>\n", f);
        return;
    }
    fputs("<table id=\"sinks\"><tr><th>sink</th><th class=\"text\">host</th><th class=\"text\">version</th>"
          "<th>received</th><th>duplicates</th><th>bytes</th><th>all messages</th>"
          "<th title=\"refused for good by its rules, never received\">rejected</th>"
          "<th title=\"deferred by its rules, not back by the end\">still deferred</th>", f);
    for (i = 0; i < RESULT_SINK_OUTCOMES; i++)
        fprintf(f, "<th title=\"what its rules did, mail that came back included\">rules: %s</th>",
                result_sink_outcome_name(i));
    fputs("<th class=\"text\">status</th></tr>\n", f);
    for (i = 0; i < res->n_sinks; i++) {
        const struct sink_result *s = &res->sinks[i];

        fprintf(f, "<tr class=\"%s\" data-sink=\"", s->missing ? "bad" : "");
        svg_escape(f, s->peer->id);
        fputs("\">", f);
        html_td_text(f, s->peer->id);
        html_td_text(f, s->peer->host);
        html_td_text(f, s->peer->version);
        html_td_count(f, "received", s->received);
        html_td_count(f, "duplicates", s->duplicates);
        html_td_count(f, "bytes", s->bytes);
        html_td_count(f, "messages", s->messages);
        html_td_count(f, "rejected", s->rejected);
        html_td_count(f, "deferred", s->deferred);
        for (k = 0; k < RESULT_SINK_OUTCOMES; k++)
            html_td_count(f, result_sink_outcome_name(k), s->outcomes[k]);
        html_td_text(f, s->missing ? "lost" : "ok");
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void html_replies_errors(FILE *f, const struct run_result *res)
{
    char code[16];
    int i, any = 0;

    fputs("<div class=\"two\">\n<div><h2>Replies by code</h2>\n<table id=\"replies\"><tr><th>code</th>"
          "<th>count</th></tr>\n", f);
    for (i = 0; i < STATS_REPLY_CODES; i++) {
        if (res->stats->replies[i] == 0)
            continue;
        snprintf(code, sizeof(code), i == 0 ? "other" : "%d", i);
        fprintf(f, "<tr data-code=\"%s\"><td class=\"%s\">%s</td>", code, i >= 400 ? "bad" : "", code);
        html_td_count(f, code, res->stats->replies[i]);
        fputs("</tr>\n", f);
        any = 1;
    }
    if (!any)
        fputs("<tr><td class=\"text\" colspan=\"2\">no replies</td></tr>\n", f);
    fputs("</table></div>\n<div><h2>Errors by kind</h2>\n<table id=\"errors\"><tr><th>kind</th><th>count</th></tr>\n", f);
    for (i = 0; i < ERROR_KIND_COUNT; i++) {
        fprintf(f, "<tr data-kind=\"%s\"><td>%s</td>", stats_error_name((enum stats_error)i),
                stats_error_name((enum stats_error)i));
        html_td_count(f, stats_error_name((enum stats_error)i), res->stats->errors_by_kind[i]);
        fputs("</tr>\n", f);
    }
    fputs("</table></div>\n</div>\n", f);
}

/* ---- the campaign as run ---- */

static void html_opt(FILE *f, const char *name, const char *value)
{
    fprintf(f, "<tr><td>%s</td>", name);
    html_td_text(f, value);
    fputs("</tr>\n", f);
}

static void html_opt_u64(FILE *f, const char *name, uint64_t v)
{
    char text[40];

    html_opt(f, name, html_count_text(v, text, sizeof(text)));
}

static void html_opt_ms(FILE *f, const char *name, uint64_t ms)
{
    char text[48];

    html_duration_text((double)ms / 1000, text, sizeof(text));
    html_opt(f, name, text);
}

static void html_workload(FILE *f, const struct workload_spec *w)
{
    char text[300];
    const char *colon;

    if (w->name) html_opt(f, "name", w->name);
    html_opt_u64(f, "messages (-m)", w->messages);
    if (w->sessions_set) html_opt_u64(f, "sessions (-s)", w->sessions);
    else html_opt(f, "sessions (-s)", "one per agent");
    html_opt(f, "rate (--rate)", w->rate > 0 ? svg_format_value(w->rate, text, sizeof(text)) : "as fast as sessions go");
    if (w->duration_ms) html_opt_ms(f, "duration (--duration)", w->duration_ms);
    html_opt_u64(f, "recipients (-r)", w->recipients);
    if (w->has_length) html_opt_u64(f, "length (-l)", w->length);
    if (w->size) html_opt(f, "sizes (--size)", w->size);
    if (w->recipients_dist) html_opt(f, "recipients (--recipients)", w->recipients_dist);
    if (w->mime || w->attach) html_opt(f, "MIME (--mime)", w->attach ? "with attachments" : "text and HTML");
    if (w->attach) html_opt(f, "attachment sizes (--attach)", w->attach);
    if (w->attachments) html_opt(f, "attachments (--attachments)", w->attachments);
    if (w->rcpt_domains) html_opt_u64(f, "recipient domains (--rcpt-domains)", w->rcpt_domains);
    if (w->rcpt_file) html_opt(f, "recipient list (--rcpt-file)", w->rcpt_file);
    if (w->senders) html_opt(f, "senders (--senders)", w->senders);
    if (w->source) html_opt(f, "source addresses (--source)", w->source);
    if (w->size || w->recipients_dist || w->mime || w->attach || w->rcpt_domains || w->rcpt_file || w->senders)
        html_opt_u64(f, "seed (--seed)", w->seed);
    if (w->from) html_opt(f, "from (-f)", w->from);
    if (w->to) html_opt(f, "to (-t)", w->to);
    if (w->helo_name) html_opt(f, "HELO name (-M)", w->helo_name);
    if (w->subject) html_opt(f, "subject (-S)", w->subject);
    if (w->content_file) html_opt(f, "message file (-F)", w->content_file);
    html_opt(f, "protocol", w->lmtp ? "LMTP (-L)" : "SMTP");
    snprintf(text, sizeof(text), "%s%s%s%s%s%s%s", w->pipelining ? "pipelining " : "", w->chunking ? "chunking " : "",
             w->starttls ? "starttls " : "", w->reuse_session ? "-d " : "", w->number_recipients ? "-N " : "",
             w->old_mode ? "-o " : "", w->no_abort ? "-A " : "");
    html_opt(f, "features", text[0] ? text : "none");
    if (w->auth) {      /* never the password */
        colon = strchr(w->auth, ':');
        snprintf(text, sizeof(text), "%.*s:***", colon ? (int)(colon - w->auth) : (int)strlen(w->auth), w->auth);
        html_opt(f, "auth (--auth)", text);
    }
    if (w->family) html_opt(f, "family", w->family == 4 ? "IPv4 (-4)" : "IPv6 (-6)");
    if (w->random_wait_ms) html_opt_ms(f, "random wait (-R)", w->random_wait_ms);
    if (w->fixed_wait_ms) html_opt_ms(f, "fixed wait (-w)", w->fixed_wait_ms);
    if (w->window) html_opt_u64(f, "TCP window (-T)", w->window);
    if (w->reset_retries != 1) html_opt_u64(f, "RESET retries (-C)", w->reset_retries);
}

static void html_cluster_options(FILE *f, const struct run_config *c)
{
    char text[64];
    size_t i;

    if (c->campaign_file) html_opt(f, "campaign file", c->campaign_file);
    if (c->local) {
        snprintf(text, sizeof(text), "%d agents on this machine", c->local);
        html_opt(f, "--local", text);
    } else {
        html_opt_u64(f, "--agents", (uint64_t)(c->agents > 0 ? c->agents : 1));
        html_opt_u64(f, "--sinks", (uint64_t)c->sinks);
        html_opt(f, "--bind", c->bind ? c->bind : CONFIG_BIND_DEFAULT);
        html_opt(f, "--sink-bind", c->sink_bind ? c->sink_bind : CONFIG_SINK_BIND_DEFAULT);
    }
    html_opt_ms(f, "--wait", c->wait_ms);
    html_opt_ms(f, "--drain", c->drain_ms);
    html_opt_ms(f, "--drain-quiet", c->drain_quiet_ms);
    html_opt_ms(f, "--heartbeat-timeout", c->peer_timeout_ms);
    if (c->report_interval_ms)
        html_opt_ms(f, "--report-interval", c->report_interval_ms);
    else
        html_opt(f, "--report-interval", "auto");
    if (c->w.rebalance)
        html_opt(f, "--rebalance", "on");
    for (i = 0; i < c->n_thresholds; i++)
        html_opt(f, "--threshold", c->thresholds[i].text);
}

static void html_phases_table(FILE *f, const struct workload_spec *w)
{
    char d[48], r[32];
    size_t i;

    if (w->n_phases == 0)
        return;
    fputs("<table id=\"campaign-phases\"><tr><th>phase</th><th class=\"text\">kind</th><th>duration</th>"
          "<th>rate msg/s</th><th>sessions</th></tr>\n", f);
    for (i = 0; i < w->n_phases; i++) {
        html_duration_text((double)w->phases[i].duration_ms / 1000, d, sizeof(d));
        fprintf(f, "<tr><td>%zu</td><td class=\"text\">%s</td><td>%s</td><td>%s</td><td>", i + 1,
                config_phase_kind_name(w->phases[i].kind), d,
                w->phases[i].rate > 0 ? svg_format_value(w->phases[i].rate, r, sizeof(r)) : "unlimited");
        if (w->phases[i].sessions)
            fprintf(f, "%u", w->phases[i].sessions);
        else
            fputs("as the campaign", f);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void html_campaign(FILE *f, const struct run_result *res)
{
    const struct workload_spec *w = &res->config->w;
    size_t i;

    fputs("<h2>The campaign as run</h2>\n<div class=\"two\">\n<div><table id=\"campaign-options\">"
          "<tr><th>option</th><th class=\"text\">value</th></tr>\n", f);
    html_workload(f, w);
    html_cluster_options(f, res->config);
    fputs("</table></div>\n<div><table id=\"targets\"><tr><th>target</th></tr>\n", f);
    for (i = 0; i < w->n_targets; i++) {
        fputs("<tr><td class=\"text\"><code>", f);
        svg_escape(f, w->targets[i]);
        fputs("</code></td></tr>\n", f);
    }
    fputs("</table>\n", f);
    html_phases_table(f, w);
    fputs("</div>\n</div>\n", f);
}

static void html_footer(FILE *f, const struct run_result *res)
{
    fprintf(f, "<footer>Written by smtpstorm %s. Timeline rows are seconds since the common start, by the "
            "coordinator's clock; latency over time is that of the transactions that ended in each second. "
            "Control plane: %" PRIu64 " messages dropped, %" PRIu64 " peers refused.</footer>\n"
            "</main>\n</body>\n</html>\n", SMTPSTORM_VERSION, res->control.dropped, res->control.refused);
}

/* html_fill - the whole page into f (a report_file_fill_fn: arg is the result). */
static int html_fill(FILE *f, const void *arg)
{
    const struct run_result *res = arg;
    int rc = 0;

    html_head(f, res);
    html_verdict(f, res);
    html_asked(f, res);
    html_cards(f, res);
    html_thresholds(f, res);
    html_flow(f, res);
    html_campaign_phases(f, res);
    if (html_charts(f, res) != 0)
        rc = -ENOMEM;
    html_phases(f, res);
    html_agents(f, res);
    html_moves(f, res);
    html_sinks(f, res);
    html_replies_errors(f, res);
    html_campaign(f, res);
    html_footer(f, res);
    return rc;
}

int html_write_report(const char *path, const struct run_result *res, char *err, size_t errlen)
{
    return report_file_write(path, 0, html_fill, res, err, errlen);
}
