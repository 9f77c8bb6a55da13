/* summary.c - the human-readable end-of-run summary (see summary.h). */
#include "summary.h"

#include <inttypes.h>

void summary_print(FILE *f, const struct load_stats *st, double elapsed_s, double cpu_s)
{
    const struct hist *h;
    int i, n;

    fprintf(f, "messages: %" PRIu64 " accepted, %" PRIu64 " rejected, %" PRIu64 " unfinished, of %"
            PRIu64 " attempted in %.3f s (%.1f msg/s); %" PRIu64 " errors\n", st->messages_accepted,
            st->messages_rejected, st->messages_unfinished, st->messages_attempted, elapsed_s,
            elapsed_s > 0 ? (double)st->messages_accepted / elapsed_s : 0.0, st->errors);
    fprintf(f, "sessions: %" PRIu64 ", recipients accepted: %" PRIu64 ", bytes sent: %" PRIu64
            ", cpu: %.3f s (%.1f us/msg)\n", st->sessions, st->recipients, st->bytes, cpu_s,
            st->messages_attempted ? cpu_s * 1e6 / (double)st->messages_attempted : 0.0);
    if (st->latency[PHASE_STARTTLS].count > 0)
        fprintf(f, "tls: %" PRIu64 " handshakes, %" PRIu64 " resumed\n", st->latency[PHASE_STARTTLS].count,
                st->tls_resumed);
    fprintf(f, "latency ms %10s %10s %10s %10s %10s %10s\n", "p50", "p90", "p99", "p99.9", "max",
            "count");
    for (i = 0; i < PHASE_COUNT; i++) {
        h = &st->latency[stats_phases_shown[i]];
        if (h->count == 0)
            continue;
        fprintf(f, "  %-8s %10.3f %10.3f %10.3f %10.3f %10.3f %10" PRIu64 "\n",
                stats_phase_name(stats_phases_shown[i]), hist_percentile(h, 50) / 1e3,
                hist_percentile(h, 90) / 1e3, hist_percentile(h, 99) / 1e3,
                hist_percentile(h, 99.9) / 1e3, h->max / 1e3, h->count);
    }
    h = &st->body_sizes;
    if (h->count > 0)
        fprintf(f, "bodies drawn (--size): %" PRIu64 ", p50 %" PRIu64 ", p99 %" PRIu64 ", max %" PRIu64
                " octets; %" PRIu64 " octets in all\n", h->count, hist_percentile(h, 50),
                hist_percentile(h, 99), h->max, h->sum);
    fputs("replies:", f);
    for (i = 0, n = 0; i < STATS_REPLY_CODES; i++)
        if (st->replies[i]) {
            if (i == 0)
                fprintf(f, " other=%" PRIu64, st->replies[i]);
            else
                fprintf(f, " %d=%" PRIu64, i, st->replies[i]);
            n++;
        }
    fputs(n ? "\n" : " none\n", f);
    fputs("errors:", f);
    for (i = 0, n = 0; i < ERROR_KIND_COUNT; i++)
        if (st->errors_by_kind[i]) {
            fprintf(f, " %s=%" PRIu64, stats_error_name((enum stats_error)i), st->errors_by_kind[i]);
            n++;
        }
    fputs(n ? "\n" : " none\n", f);
}
