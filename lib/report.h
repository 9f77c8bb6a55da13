/* report.h - the JSON report of design.md's contract ("Report contract"),
 * written the same way by smtpstorm-agent --json (standalone) and by the
 * coordinator (campaign): totals from a struct load_stats, latency_ms per
 * phase, replies by code, agents, sinks and a per-second timeline, with
 * null wherever a value is unknown. The caller fills a struct report with
 * pointers to its own data; nothing here allocates except the timeline. */
#ifndef SMTPSTORM_REPORT_H
#define SMTPSTORM_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "stats.h"

#define REPORT_VERSION 1        /* bump when a contract key is removed or renamed */
#define REPORT_NULL    (-1)     /* an int64_t count that is unknown: written as null */

/* One agent's line in "agents". Counts are the agent's cumulative totals. */
struct report_agent {
    const char *id;
    const char *host;           /* NULL: null */
    uint64_t sessions, messages_attempted, messages_accepted, messages_rejected;
    uint64_t messages_unfinished;   /* begun, neither accepted nor rejected */
    uint64_t errors, recipients, bytes;
    double cpu_s;               /* CPU seconds the agent used; < 0: null */
    int threads;                /* event loops; 0: null */
    int saturated;              /* 1: its CPU was the bottleneck, 0: not, < 0: null */
    int missing;                /* 1: lost during the campaign (heartbeats stopped) */
};

/* One sink's line in "sinks". */
struct report_sink {
    const char *id;
    const char *host;           /* NULL: null */
    int64_t received;           /* REPORT_NULL: null */
    int64_t duplicates;         /* REPORT_NULL: null */
};

/* One timeline row: what happened in the second that ends t seconds after
 * the start (counts for that interval, not cumulative). Rows are keyed by
 * the coordinator's clock (design.md), or the agent's when standalone. */
struct report_row {
    uint64_t t;
    uint64_t accepted;
    int64_t received;           /* REPORT_NULL: null (no sinks) */
    uint64_t errors;
};

/* A growing array of rows. Zero-initialize before use. */
struct report_timeline {
    struct report_row *rows;
    size_t count, cap;
};

/* report_timeline_append - add a copy of row at the end. Returns 0 or
 * -ENOMEM. The timeline owns its array (report_timeline_free). */
int report_timeline_append(struct report_timeline *tl, const struct report_row *row);

/* report_timeline_free - release the rows; tl is empty again. */
void report_timeline_free(struct report_timeline *tl);

/* A whole report. Pointers are borrowed for the duration of the write. */
struct report {
    const char *generator;      /* "smtpstorm-agent 0.1.0"; NULL: omitted */
    const char *campaign;
    uint64_t started_at_ns;     /* wall clock, ns since the epoch: ISO 8601 UTC */
    double duration_s;
    const struct load_stats *totals;    /* merged over every agent (and thread) */
    int64_t sink_received;      /* REPORT_NULL when no sink is in the path */
    int64_t duplicates;         /* REPORT_NULL likewise */
    int64_t lost;               /* accepted - sink_received after draining, else REPORT_NULL */
    double cpu_s;               /* CPU seconds of the generator(s); < 0: omitted */
    const struct report_agent *agents;
    size_t agent_count;
    const struct report_sink *sinks;
    size_t sink_count;
    const struct report_timeline *timeline;     /* NULL: empty */
};

/* report_init - r with every unknown set to null and nothing borrowed. */
void report_init(struct report *r);

/* report_json_string - s as a JSON string (escaped), or null for NULL. */
void report_json_string(FILE *f, const char *s);

/* report_write - write r as one JSON object (and a newline) to f. Keys:
 * version, generator, campaign, started_at, duration_s, totals{sessions,
 * messages_attempted, messages_accepted, messages_rejected, errors,
 * recipients, bytes, rate_msgs_per_s, sink_received, duplicates, lost},
 * errors_by_kind{...}, latency_ms{<phase>: {p50, p90, p99, p999, max,
 * mean, count} or null when nothing was measured}, replies{"<code>": n},
 * agents[], sinks[], timeline[]. Returns 0 or -EIO. */
int report_write(FILE *f, const struct report *r);

/* report_write_file - report_write into path, atomically (a temporary file
 * renamed over it); "-" means stdout. Returns 0 or -errno with a message
 * for the user in err. */
int report_write_file(const char *path, const struct report *r, char *err, size_t errlen);

#endif
