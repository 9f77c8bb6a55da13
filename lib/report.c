/* report.c - write the JSON report of the contract in design.md (see
 * report.h). */
#include "report.h"
#include "report_file.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int report_timeline_append(struct report_timeline *tl, const struct report_row *row)
{
    struct report_row *grown;
    size_t cap;

    if (tl->count == tl->cap) {
        cap = tl->cap ? tl->cap * 2 : 64;
        grown = realloc(tl->rows, cap * sizeof(*grown));
        if (grown == NULL)
            return -ENOMEM;
        tl->rows = grown;
        tl->cap = cap;
    }
    tl->rows[tl->count++] = *row;
    return 0;
}

void report_timeline_free(struct report_timeline *tl)
{
    free(tl->rows);
    memset(tl, 0, sizeof(*tl));
}

void report_init(struct report *r)
{
    memset(r, 0, sizeof(*r));
    r->sink_received = REPORT_NULL;
    r->duplicates = REPORT_NULL;
    r->lost = REPORT_NULL;
    r->cpu_s = -1;
}

/* JSON values. */

void report_json_string(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");

    if (s == NULL) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void json_i64(FILE *f, int64_t v)
{
    if (v < 0)
        fputs("null", f);
    else
        fprintf(f, "%" PRId64, v);
}

static void json_double(FILE *f, double v, int decimals)
{
    if (v != v || v < 0)
        fputs("null", f);
    else
        fprintf(f, "%.*f", decimals, v);
}

static void json_time(FILE *f, uint64_t ns)
{
    time_t sec = (time_t)(ns / 1000000000ULL);
    struct tm tm;
    char buf[32];

    if (ns == 0 || gmtime_r(&sec, &tm) == NULL
        || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        fputs("null", f);
        return;
    }
    fprintf(f, "\"%s.%03uZ\"", buf, (unsigned)(ns % 1000000000ULL / 1000000ULL));
}

/* Sections. */

static void report_totals(FILE *f, const struct report *r, const struct load_stats *t)
{
    double rate = r->duration_s > 0 ? (double)t->messages_accepted / r->duration_s : -1;
    int i;

    fprintf(f, "\"totals\":{\"sessions\":%" PRIu64 ",\"messages_attempted\":%" PRIu64
            ",\"messages_accepted\":%" PRIu64 ",\"messages_rejected\":%" PRIu64
            ",\"errors\":%" PRIu64 ",\"recipients\":%" PRIu64 ",\"bytes\":%" PRIu64
            ",\"rate_msgs_per_s\":", t->sessions, t->messages_attempted, t->messages_accepted,
            t->messages_rejected, t->errors, t->recipients, t->bytes);
    json_double(f, rate, 3);
    fprintf(f, ",\"messages_unfinished\":%" PRIu64, t->messages_unfinished);
    fprintf(f, ",\"tls_handshakes\":%" PRIu64 ",\"tls_resumed\":%" PRIu64, t->latency[PHASE_STARTTLS].count,
            t->tls_resumed);
    fputs(",\"sink_received\":", f);
    json_i64(f, r->sink_received);
    fputs(",\"duplicates\":", f);
    json_i64(f, r->duplicates);
    fputs(",\"lost\":", f);
    json_i64(f, r->lost);
    fputs("},\"errors_by_kind\":{", f);
    for (i = 0; i < ERROR_KIND_COUNT; i++)
        fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", stats_error_name((enum stats_error)i),
                t->errors_by_kind[i]);
    fputc('}', f);
}

static void report_latency(FILE *f, const struct load_stats *t)
{
    const struct hist *h;
    int i;

    fputs("\"latency_ms\":{", f);
    for (i = 0; i < PHASE_COUNT; i++) {
        h = &t->latency[stats_phases_shown[i]];
        fprintf(f, "%s\"%s\":", i ? "," : "", stats_phase_name(stats_phases_shown[i]));
        if (h->count == 0) {
            fputs("null", f);
            continue;
        }
        fprintf(f, "{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f,"
                "\"mean\":%.3f,\"count\":%" PRIu64 "}",
                hist_percentile(h, 50) / 1e3, hist_percentile(h, 90) / 1e3,
                hist_percentile(h, 99) / 1e3, hist_percentile(h, 99.9) / 1e3,
                h->max / 1e3, hist_mean(h) / 1e3, h->count);
    }
    fputc('}', f);
}

/* report_body_sizes - the body lengths drawn (--size): null without. */
static void report_body_sizes(FILE *f, const struct load_stats *t)
{
    const struct hist *h = &t->body_sizes;

    fputs("\"body_sizes\":", f);
    if (h->count == 0) {
        fputs("null", f);
        return;
    }
    fprintf(f, "{\"count\":%" PRIu64 ",\"p50\":%" PRIu64 ",\"p99\":%" PRIu64 ",\"max\":%" PRIu64
            ",\"mean\":%.1f,\"total_octets\":%" PRIu64 "}", h->count, hist_percentile(h, 50),
            hist_percentile(h, 99), h->max, hist_mean(h), h->sum);
}

static void report_replies(FILE *f, const struct load_stats *t)
{
    int i, first = 1;

    fputs("\"replies\":{", f);
    for (i = 0; i < STATS_REPLY_CODES; i++) {
        if (t->replies[i] == 0)
            continue;
        if (i == 0)
            fprintf(f, "%s\"other\":%" PRIu64, first ? "" : ",", t->replies[i]);
        else
            fprintf(f, "%s\"%d\":%" PRIu64, first ? "" : ",", i, t->replies[i]);
        first = 0;
    }
    fputc('}', f);
}

static void report_agents(FILE *f, const struct report *r)
{
    const struct report_agent *a;
    size_t i;

    fputs("\"agents\":[", f);
    for (i = 0; i < r->agent_count; i++) {
        a = &r->agents[i];
        fprintf(f, "%s{\"id\":", i ? "," : "");
        report_json_string(f, a->id);
        fputs(",\"host\":", f);
        report_json_string(f, a->host);
        fprintf(f, ",\"sessions\":%" PRIu64 ",\"messages_attempted\":%" PRIu64
                ",\"messages_accepted\":%" PRIu64 ",\"messages_rejected\":%" PRIu64
                ",\"errors\":%" PRIu64 ",\"recipients\":%" PRIu64 ",\"bytes\":%" PRIu64
                ",\"cpu_s\":", a->sessions, a->messages_attempted, a->messages_accepted,
                a->messages_rejected, a->errors, a->recipients, a->bytes);
        json_double(f, a->cpu_s, 3);
        fprintf(f, ",\"messages_unfinished\":%" PRIu64, a->messages_unfinished);
        fputs(",\"threads\":", f);
        json_i64(f, a->threads > 0 ? a->threads : REPORT_NULL);
        fprintf(f, ",\"saturated\":%s,\"missing\":%s}",
                a->saturated < 0 ? "null" : a->saturated ? "true" : "false",
                a->missing ? "true" : "false");
    }
    fputc(']', f);
}

static void report_sinks(FILE *f, const struct report *r)
{
    const struct report_sink *s;
    size_t i;

    fputs("\"sinks\":[", f);
    for (i = 0; i < r->sink_count; i++) {
        s = &r->sinks[i];
        fprintf(f, "%s{\"id\":", i ? "," : "");
        report_json_string(f, s->id);
        fputs(",\"host\":", f);
        report_json_string(f, s->host);
        fputs(",\"received\":", f);
        json_i64(f, s->received);
        fputs(",\"duplicates\":", f);
        json_i64(f, s->duplicates);
        fputc('}', f);
    }
    fputc(']', f);
}

static void report_timeline(FILE *f, const struct report *r)
{
    const struct report_row *row;
    size_t i;

    fputs("\"timeline\":[", f);
    for (i = 0; r->timeline && i < r->timeline->count; i++) {
        row = &r->timeline->rows[i];
        fprintf(f, "%s{\"t\":%" PRIu64 ",\"accepted\":%" PRIu64 ",\"received\":", i ? "," : "",
                row->t, row->accepted);
        json_i64(f, row->received);
        fprintf(f, ",\"errors\":%" PRIu64 "}", row->errors);
    }
    fputc(']', f);
}

int report_write(FILE *f, const struct report *r)
{
    struct load_stats empty;
    const struct load_stats *t = r->totals;

    if (t == NULL) {
        stats_init(&empty);
        t = &empty;
    }
    fprintf(f, "{\"version\":%d,", REPORT_VERSION);
    if (r->generator) {
        fputs("\"generator\":", f);
        report_json_string(f, r->generator);
        fputc(',', f);
    }
    fputs("\"campaign\":", f);
    report_json_string(f, r->campaign);
    fputs(",\"started_at\":", f);
    json_time(f, r->started_at_ns);
    fputs(",\"duration_s\":", f);
    json_double(f, r->duration_s, 3);
    if (r->cpu_s >= 0) {
        fputs(",\"cpu_s\":", f);
        json_double(f, r->cpu_s, 3);
    }
    fputc(',', f);
    report_totals(f, r, t);
    fputc(',', f);
    report_latency(f, t);
    fputc(',', f);
    report_body_sizes(f, t);
    fputc(',', f);
    report_replies(f, t);
    fputc(',', f);
    report_agents(f, r);
    fputc(',', f);
    report_sinks(f, r);
    fputc(',', f);
    report_timeline(f, r);
    fputs("}\n", f);
    return ferror(f) ? -EIO : 0;
}

/* report_fill - report_write as a report_file_fill_fn. */
static int report_fill(FILE *f, const void *arg)
{
    return report_write(f, arg);
}

int report_write_file(const char *path, const struct report *r, char *err, size_t errlen)
{
    return report_file_write(path, REPORT_FILE_ATOMIC, report_fill, r, err, errlen);
}
