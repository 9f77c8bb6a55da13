/* capacity_report.c - what `smtpstorm capacity` found (see capacity.h):
 * the table of steps on a terminal, --json (capacity: {rate, limited_by,
 * resolution, steps} and phases, one per step), --html (the steps and a
 * chart of latency and backlog against rate) and --junit (each objective
 * at the capacity found a testcase). */
#include "capacity.h"
#include "junit.h"
#include "log.h"
#include "report_file.h"
#include "report.h"
#include "result.h"
#include "svg.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CAPACITY_JSON_VERSION 1

static const char *const capacity_verdict_names[] = { "pass", "fail", "generator" };

/* capacity_ms - percentile pct of h in ms; NAN when empty. */
static double capacity_ms(const struct hist *h, double pct)
{
    return h->count ? (double)hist_percentile(h, pct) / 1000 : NAN;
}

/* capacity_cell - percentile pct of h in ms as a table cell into buf; "-" when empty. */
static void capacity_cell(char *buf, size_t len, const struct hist *h, double pct)
{
    if (h->count == 0)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.0f", capacity_ms(h, pct));
}

/* capacity_headline - "capacity: 98.0 msgs/s, limited by ..." */
static void capacity_headline(FILE *out, const struct capacity_result *res)
{
    const struct capacity_search *k = &res->search;

    switch (k->end) {
    case CAPACITY_START_FAILED:
        fprintf(out, "capacity: none: even the start rate %.1f/s failed %s\n", k->start,
                res->final && res->final->failed ? res->final->failed : "an objective");
        return;
    case CAPACITY_AT_MAX:
        fprintf(out, "capacity: at least %.1f msgs/s: the upper bound (--max) held\n", res->rate);
        return;
    case CAPACITY_GENERATOR_LIMIT:
        fprintf(out, "capacity: at least %.1f msgs/s: the generator was the limit above it (an agent saturated "
                "or behind its schedule twice at %.1f/s); add agents or cores\n", res->rate, k->next);
        return;
    case CAPACITY_FOUND:
        fprintf(out, "capacity: %.1f msgs/s, limited by %s (failed at %.1f/s; resolution %g%%)\n", res->rate,
                res->limited_by ? res->limited_by : "?", k->bad, k->resolution_pct);
        return;
    case CAPACITY_SEARCHING:
        fprintf(out, "capacity: at least %.1f msgs/s: the search did not finish%s\n", res->rate,
                res->interrupted ? " (interrupted)" : "");
        return;
    }
}

/* The cells of a step that may be empty ("-"): the terminal's and the
 * HTML's table both print these. */
struct capacity_cells {
    char p50[24], p99[24], dlv[24], growth[24], lost[24];
};

static void capacity_step_cells(const struct capacity_step *s, struct capacity_cells *c)
{
    capacity_cell(c->p50, sizeof(c->p50), &s->message, 50);
    capacity_cell(c->p99, sizeof(c->p99), &s->message, 99);
    capacity_cell(c->dlv, sizeof(c->dlv), &s->delivery, 99);
    snprintf(c->growth, sizeof(c->growth), "-");
    snprintf(c->lost, sizeof(c->lost), "-");
    if (s->with_sinks)
        snprintf(c->growth, sizeof(c->growth), "%.1f", s->backlog_growth);
    if (s->lost >= 0)
        snprintf(c->lost, sizeof(c->lost), "%" PRId64, s->lost);
}

/* capacity_print - the table of steps and the headline. */
static void capacity_print(FILE *out, const struct capacity_result *res)
{
    size_t i;

    fprintf(out, "\n%4s %9s %8s %9s %9s %8s %8s %9s %10s %7s %7s  %s\n", "step", "planned/s", "sessions", "accepted/s",
            "begun/s", "p50 ms", "p99 ms", "dlv p99", "backlog/s", "errors", "lost", "verdict");
    for (i = 0; i < res->n; i++) {
        const struct capacity_step *s = &res->steps[i];
        struct capacity_cells c;

        capacity_step_cells(s, &c);
        fprintf(out, "%4zu %9.1f %8u %9.1f %9.1f %8s %8s %9s %10s %7" PRIu64 " %7s  %s%s%s%s%s%s%s\n", i + 1,
                s->planned, s->sessions, s->window.rate, s->attempted_rate, c.p50, c.p99, c.dlv, c.growth,
                s->window.errors, c.lost,
                capacity_verdict_names[s->verdict], s->failed ? ": " : "", s->failed ? s->failed : "",
                s->saturated ? " (an agent saturated)" : "", s->behind ? " (behind schedule)" : "",
                s->capped ? " (sessions capped)" : "", s->drained ? "" : " (did not drain)");
    }
    capacity_headline(out, res);
}

/* capacity_json_num - a number, or null when not finite. */
static void capacity_json_num(FILE *f, const char *key, double v)
{
    if (isfinite(v))
        fprintf(f, ", \"%s\": %.3f", key, v);
    else
        fprintf(f, ", \"%s\": null", key);
}

static void capacity_json_step(FILE *f, const struct capacity_step *s, size_t i)
{
    fprintf(f, "%s{\"index\": %zu, \"campaign\": ", i ? ",\n      " : "\n      ", i);
    json_write_string(f, s->campaign);
    fprintf(f, ", \"planned_rate\": %.3f, \"achieved_rate\": %.3f, \"attempted_rate\": %.3f, \"sessions\": %u"
            ", \"sessions_capped\": %s", s->planned, s->window.rate, s->attempted_rate, s->sessions,
            s->capped ? "true" : "false");
    capacity_json_num(f, "message_p50_ms", capacity_ms(&s->message, 50));
    capacity_json_num(f, "message_p99_ms", capacity_ms(&s->message, 99));
    capacity_json_num(f, "delivery_p50_ms", capacity_ms(&s->delivery, 50));
    capacity_json_num(f, "delivery_p99_ms", capacity_ms(&s->delivery, 99));
    capacity_json_num(f, "backlog_growth_per_s", s->with_sinks ? s->backlog_growth : NAN);
    fprintf(f, ", \"attempted\": %" PRIu64 ", \"errors\": %" PRIu64 ", \"rejected\": %" PRIu64
            ", \"accepted\": %" PRIu64 ", \"received\": ", s->window.attempted, s->window.errors, s->window.rejected,
            s->accepted);
    if (s->with_sinks)
        fprintf(f, "%" PRIu64, s->received);
    else
        fputs("null", f);
    if (s->lost >= 0)
        fprintf(f, ", \"lost\": %" PRId64, s->lost);
    else
        fputs(", \"lost\": null", f);
    fprintf(f, ", \"drained\": %s, \"saturated\": %s, \"behind\": %s, \"cpu_pct\": %.1f, \"verdict\": \"%s\", "
            "\"failed\": ", s->drained ? "true" : "false", s->saturated ? "true" : "false",
            s->behind ? "true" : "false", s->cpu_pct, capacity_verdict_names[s->verdict]);
    report_json_string(f, s->failed);
    fputs(", \"objectives\": ", f);
    json_write_verdicts(f, s->verdicts, s->n_verdicts, 0);
    fputc('}', f);
}

static int capacity_json_fill(FILE *f, const void *arg)
{
    const struct capacity_result *res = arg;
    struct phase_result *ph = calloc(res->n ? res->n : 1, sizeof(*ph));
    char (*names)[32] = calloc(res->n ? res->n : 1, sizeof(*names));     /* "stepN", each phase's */
    size_t i;
    int with_sinks = 0;

    if (ph == NULL || names == NULL) {
        free(ph);
        free(names);
        return -ENOMEM;
    }
    fprintf(f, "{\n  \"version\": %d,\n  \"generator\": \"smtpstorm %s\",\n  \"command\": \"capacity\",\n"
            "  \"started_at\": ", CAPACITY_JSON_VERSION, SMTPSTORM_VERSION);
    json_write_time(f, res->started_at_ns);
    fprintf(f, ",\n  \"duration_s\": %.3f,\n  \"capacity\": {\"rate\": ", res->duration_s);
    if (res->search.end == CAPACITY_START_FAILED)
        fputs("null", f);
    else
        fprintf(f, "%.3f", res->rate);
    fputs(", \"limited_by\": ", f);
    report_json_string(f, res->limited_by);
    fprintf(f, ", \"resolution\": %g, \"end\": \"%s\", \"start\": %.3f, \"max\": %.3f, \"factor\": %g"
            ", \"step_s\": %.3f, \"settle_s\": %.3f, \"first_bad\": ", res->search.resolution_pct,
            capacity_search_end_name(res->search.end), res->search.start, res->search.max, res->search.factor,
            (double)res->cfg->cap.step_ms / 1000, (double)res->cfg->cap.settle_ms / 1000);
    if (res->search.bad > 0)
        fprintf(f, "%.3f", res->search.bad);
    else
        fputs("null", f);
    fputs(",\n    \"steps\": [", f);
    for (i = 0; i < res->n; i++) {
        capacity_json_step(f, &res->steps[i], i);
        ph[i] = res->steps[i].window;
        with_sinks |= res->steps[i].with_sinks;
    }
    fputs(res->n ? "\n    ]},\n" : "]},\n", f);
    for (i = 0; i < res->n; i++) {     /* every step a per-phase result, named for its index */
        snprintf(names[i], sizeof(names[i]), "step%zu", i + 1);
        ph[i].name = names[i];
    }
    json_write_phases(f, ph, res->n, with_sinks, with_sinks);
    free(names);
    free(ph);
    fputs("  \"thresholds\": ", f);
    json_write_verdicts(f, res->final ? res->final->verdicts : NULL, res->final ? res->final->n_verdicts : 0, 0);
    fprintf(f, ",\n  \"exit_code\": %d,\n  \"result\": \"%s\"\n}\n", (int)res->exit_code,
            reconcile_exit_text(res->exit_code));
    return 0;
}

/* capacity_html_chart - latency (p50, p99 message, p99 delivery) and the
 * backlog's growth against the planned rate of every step, in rate order. */
static void capacity_html_chart(FILE *f, const struct capacity_result *res)
{
    double *x = calloc(res->n + 1, sizeof(double) * 5), *p50, *p99, *dlv, *bl;
    struct svg_series lat[3], back[1];
    char mark[48];
    size_t i, j, n = res->n;

    if (x == NULL)
        return;
    p50 = x + n + 1;
    p99 = p50 + n;
    dlv = p99 + n;
    bl = dlv + n;
    for (i = 0; i < n; i++)
        x[i] = res->steps[i].planned;
    for (i = 1; i < n; i++)             /* insertion sort of the step indices by rate */
        for (j = i; j > 0 && x[j - 1] > x[j]; j--) {
            double t = x[j];

            x[j] = x[j - 1];
            x[j - 1] = t;
        }
    for (i = 0; i < n; i++) {
        const struct capacity_step *s = NULL;

        for (j = 0; j < n; j++)     /* the last step at that rate */
            if (res->steps[j].planned == x[i])
                s = &res->steps[j];
        p50[i] = capacity_ms(&s->message, 50);
        p99[i] = capacity_ms(&s->message, 99);
        dlv[i] = capacity_ms(&s->delivery, 99);
        bl[i] = s->with_sinks ? s->backlog_growth : NAN;
    }
    lat[0] = (struct svg_series){ "p50(message)", "s-p50", p50, 0 };
    lat[1] = (struct svg_series){ "p99(message)", "s-p99", p99, 0 };
    lat[2] = (struct svg_series){ "p99(delivery)", "s-backlog", dlv, 1 };     /* not p50's blue */
    back[0] = (struct svg_series){ "backlog growth", "s-backlog", bl, 0 };
    if (res->rate > 0)
        snprintf(mark, sizeof(mark), "capacity %g/s", res->rate);
    fputs("<h2>Latency and backlog against rate (x: planned messages/s)</h2>\n", f);
    svg_time_chart(f, &(struct svg_chart){ "capacity-latency", "latency by rate", "ms", x, n, lat, 3, 900, 260, 0, 1,
                                           res->rate, res->rate > 0 ? mark : NULL });
    svg_time_chart(f, &(struct svg_chart){ "capacity-backlog", "backlog growth by rate", "msg/s", x, n, back, 1, 900,
                                           200, 0, 1, res->rate, res->rate > 0 ? mark : NULL });
    free(x);
}

static int capacity_html_fill(FILE *f, const void *arg)
{
    const struct capacity_result *res = arg;
    size_t i;

    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>smtpstorm capacity</title>\n", f);
    html_write_style(f);
    fputs("</head>\n<body>\n<main>\n<h1>smtpstorm capacity</h1>\n<p class=\"sub\" id=\"capacity\">", f);
    {
        char *text = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&text, &len);

        if (m != NULL) {
            capacity_headline(m, res);
            fclose(m);
            svg_escape(f, text);
        }
        free(text);
    }
    fputs("</p>\n", f);
    capacity_html_chart(f, res);
    fputs("<h2>Steps</h2>\n<table id=\"steps\"><tr><th>step</th><th>planned/s</th><th>sessions</th>"
          "<th>accepted/s</th><th>p50 ms</th><th>p99 ms</th><th>delivery p99 ms</th><th>backlog/s</th>"
          "<th>errors</th><th>lost</th><th>drained</th><th>verdict</th></tr>\n", f);
    for (i = 0; i < res->n; i++) {
        const struct capacity_step *s = &res->steps[i];
        struct capacity_cells c;

        capacity_step_cells(s, &c);
        fprintf(f, "<tr><td>%zu</td><td>%.1f</td><td>%u</td><td>%.1f</td><td>%s</td><td>%s</td><td>%s</td>"
                "<td>%s</td><td>%" PRIu64 "</td><td>%s</td><td>%s</td><td>%s ", i + 1, s->planned,
                s->sessions, s->window.rate, c.p50, c.p99, c.dlv, c.growth, s->window.errors, c.lost,
                s->drained ? "yes" : "no", capacity_verdict_names[s->verdict]);
        svg_escape(f, s->failed ? s->failed : "");
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n</main>\n</body>\n</html>\n", f);
    return 0;
}

enum run_exit capacity_report(const struct capacity_result *res)
{
    const struct run_config *cfg = res->cfg;
    enum run_exit code = res->exit_code;
    char err[256];

    if (!cfg->quiet)
        capacity_print(stdout, res);
    if (cfg->json && report_file_write(cfg->json, 0, capacity_json_fill, res, err, sizeof(err)) != 0) {
        log_error("%s", err);
        code = code ? code : EXIT_RUN_FAILED;
    }
    if (cfg->html && report_file_write(cfg->html, 0, capacity_html_fill, res, err, sizeof(err)) != 0) {
        log_error("%s", err);
        code = code ? code : EXIT_RUN_FAILED;
    }
    if (cfg->junit && junit_write(cfg->junit, "smtpstorm capacity", res->final ? res->final->campaign : "capacity",
                                  res->final ? res->final->verdicts : NULL, res->final ? res->final->n_verdicts : 0,
                                  res->duration_s, err, sizeof(err)) != 0) {
        log_error("%s", err);
        code = code ? code : EXIT_RUN_FAILED;
    }
    return code;
}
