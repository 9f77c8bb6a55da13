/* csv.c - the timeline as CSV, one row a second keyed by the coordinator's
 * clock (seconds since the campaign's start): per-second counts and the
 * running totals they come from. */
#include "result.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

int csv_write_timeline(const char *path, const struct run_result *res, char *err, size_t errlen)
{
    const struct aggregator *a = res->timeline;
    const struct agg_totals *prev, *cur;
    static const struct agg_totals zero;
    FILE *f = fopen(path, "w");
    size_t i;

    if (f == NULL) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -errno;
    }
    fprintf(f, "t,accepted,received,errors,attempted,rejected,accepted_total,received_total,errors_total\n");
    for (i = 0; i < a->n; i++) {
        cur = &a->rows[i].cum;
        prev = i > 0 ? &a->rows[i - 1].cum : &zero;
#define DELTA(field) (cur->field >= prev->field ? cur->field - prev->field : 0)
        fprintf(f, "%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
                ",%" PRIu64 "\n", a->rows[i].t, DELTA(accepted), DELTA(received), DELTA(errors),
                DELTA(attempted), DELTA(rejected), cur->accepted, cur->received, cur->errors);
#undef DELTA
    }
    if (fclose(f) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -errno;
    }
    return 0;
}
