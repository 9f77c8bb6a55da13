/* csv.c - the timeline as CSV, one row a second keyed by the coordinator's
 * clock (seconds since the campaign's start): per-second counts, the
 * running totals they come from, the sessions open, and the whole
 * message's latency in that second (empty when none ended), and the
 * target's backlog then: accepted minus received, cumulative (empty when no
 * sinks are in the path), the phase, and the 4xx and 5xx replies the
 * sinks' --behaviour rules gave in that second (empty without sinks). */
#include "result.h"
#include "report_file.h"

#include <inttypes.h>
#include <string.h>

/* csv_phase_name - the name of the phase row t belongs to, "" without phases. */
static const char *csv_phase_name(const struct run_result *res, uint32_t t)
{
    size_t i;

    if (res->n_phases == 0)
        return "";
    for (i = 0; i + 1 < res->n_phases && t > res->phases[i].last_row; i++)
        ;
    return res->phases[i].name;
}

/* csv_fill - the whole CSV into f (a report_file_fill_fn: arg is the result). */
static int csv_fill(FILE *f, const void *arg)
{
    const struct run_result *res = arg;
    const struct aggregator *a = res->timeline;
    const struct agg_totals *prev, *cur;
    const struct agg_latency *m;
    static const struct agg_totals zero;
    size_t i;

    fprintf(f, "t,accepted,received,errors,attempted,rejected,accepted_total,received_total,errors_total,"
            "replies_4xx,replies_5xx,sessions_active,message_count,message_p50_ms,message_p90_ms,"
            "message_p99_ms,message_max_ms,backlog,delivery_p50_ms,delivery_p99_ms,phase,"
            "sink_deferred,sink_rejected\n");
    for (i = 0; i < a->n; i++) {
        cur = &a->rows[i].cum;
        prev = i > 0 ? &a->rows[i - 1].cum : &zero;
        m = &a->rows[i].message;
#define DELTA(field) (cur->field >= prev->field ? cur->field - prev->field : 0)
        fprintf(f, "%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
                ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%u,%" PRIu64, a->rows[i].t, DELTA(accepted),
                DELTA(received), DELTA(errors), DELTA(attempted), DELTA(rejected), cur->accepted,
                cur->received, cur->errors, DELTA(replies_4xx), DELTA(replies_5xx), cur->sessions_active,
                m->count);
#undef DELTA
        if (m->count > 0)
            fprintf(f, ",%.3f,%.3f,%.3f,%.3f", (double)m->p50_us / 1000, (double)m->p90_us / 1000,
                    (double)m->p99_us / 1000, (double)m->max_us / 1000);
        else
            fputs(",,,,", f);
        if (res->sinks_in_path)
            fprintf(f, ",%" PRId64, agg_row_backlog(a, i));
        else
            fputc(',', f);
        if (a->rows[i].delivery.count > 0)
            fprintf(f, ",%.3f,%.3f", (double)a->rows[i].delivery.p50_us / 1000,
                    (double)a->rows[i].delivery.p99_us / 1000);
        else
            fputs(",,", f);
        fprintf(f, ",%s", csv_phase_name(res, a->rows[i].t));
        if (res->n_sinks > 0)
            fprintf(f, ",%" PRIu64 ",%" PRIu64 "\n", cur->sink_deferred - prev->sink_deferred,
                    cur->sink_rejected - prev->sink_rejected);
        else
            fputs(",,\n", f);
    }
    return 0;
}

int csv_write_timeline(const char *path, const struct run_result *res, char *err, size_t errlen)
{
    return report_file_write(path, 0, csv_fill, res, err, errlen);
}
