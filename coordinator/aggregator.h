/* aggregator.h - the campaign's numbers from the peers' last cumulative
 * reports: totals, merged counters and histograms (exact: histograms are
 * merged, never percentiles), sink counts per agent; and the timeline as
 * the reporters read it, one row a second of cumulative totals (built by
 * event time in timeline.c), with its flow figures. */
#ifndef SMTPSTORM_COORDINATOR_AGGREGATOR_H
#define SMTPSTORM_COORDINATOR_AGGREGATOR_H

#include <stddef.h>
#include <stdint.h>

#include "hist.h"
#include "reconcile.h"
#include "registry.h"
#include "stats.h"

struct agg_totals {
    uint64_t sessions, attempted, accepted, rejected, unfinished, errors, recipients, bytes;
    uint64_t received, duplicates, sink_bytes;     /* this campaign, from the sinks */
    uint64_t replies_4xx, replies_5xx;              /* transient and permanent failure replies */
    uint64_t sink_deferred, sink_rejected;          /* the sinks' --behaviour 4xx and 5xx replies */
    uint32_t sessions_active;
};

/* The whole message's latency of the transactions that ended in one
 * second. */
struct agg_latency {
    uint64_t count;                 /* 0: none ended (the percentiles are 0) */
    uint64_t p50_us, p90_us, p99_us, max_us;
};

/* One timeline row: the totals at start + t seconds (coordinator clock). */
struct agg_row {
    uint32_t t;
    struct agg_totals cum;
    struct agg_latency message;     /* of the second ending at t */
    struct agg_latency delivery;    /* of the messages the sinks received in it */
};

struct aggregator {
    struct agg_row *rows;
    size_t n, cap;
};

#define AGG_SATURATED_PCT 90.0       /* an agent busier than this measured itself */

/* agg_cpu_pct - an agent's CPU use over its workload so far, in percent of
 * its cores; 0 before its first report. */
double agg_cpu_pct(const struct peer *agent);

/* agg_progress_of - an agent's last Progress (or its Done's final), NULL if none. */
const Smtpstorm__Progress *agg_progress_of(const struct peer *agent);

/* agg_sink_campaign - a sink's last counters for campaign, NULL if none. */
const Smtpstorm__CampaignCounters *agg_sink_campaign(const struct peer *sink, const char *campaign);

/* agg_totals - sum the agents' and the sinks' last reports for campaign into t. */
void agg_totals(struct peer *const *agents, size_t na, struct peer *const *sinks, size_t ns,
                const char *campaign, struct agg_totals *t);

/* agg_merge_stats - add every agent's last counters and histograms into out
 * (stats_init it first). */
void agg_merge_stats(struct peer *const *agents, size_t na, struct load_stats *out);

/* agg_merge_phase - add every agent's histogram of one phase into out. */
void agg_merge_phase(struct peer *const *agents, size_t na, enum stats_phase phase, struct hist *out);

/* agg_merge_delivery - add every sink's delivery histogram for campaign into out. */
void agg_merge_delivery(struct peer *const *sinks, size_t ns, const char *campaign, struct hist *out);

/* agg_sink_for_agent - what the sinks counted for one agent in campaign, into *out. */
void agg_sink_for_agent(struct peer *const *sinks, size_t ns, const char *campaign, const char *agent,
                        struct sink_count *out);

/* agg_row_add - append the row for second t (rows for seconds skipped are
 * filled with the same totals), with no latency. Returns 0 or -ENOMEM. */
int agg_row_add(struct aggregator *a, uint32_t t, const struct agg_totals *cum);

/* agg_latency_of - the percentiles and maximum of h into out. */
void agg_latency_of(const struct hist *h, struct agg_latency *out);

/* The two sides of a campaign through an MTA, from the timeline: injection
 * (agents -> target: what was accepted, and when the last of it was) and
 * delivery (target -> sinks: what the sinks received, and when the last of
 * it arrived), and the backlog between them. The times are seconds since
 * the common start, read off the one-a-second rows; within the second where
 * a count reached its end value, the rate of the second before says how
 * much of it the last messages took (good to about a second: both sides
 * report once a second). */
struct agg_flow {
    uint64_t accepted, received;    /* the last row's totals */
    double inject_s, deliver_s;     /* start until the last accepted / received; 0: none */
    double inject_rate, deliver_rate;   /* messages per second over those; 0: none */
    uint64_t inject_peak, deliver_peak; /* most accepted / received in one second */
    int64_t backlog_peak;           /* largest accepted - received of any row */
    uint32_t backlog_peak_t;        /* the first row with it */
    int64_t backlog_end;            /* of the last row: lost, once the sinks drained */
};

/* agg_row_backlog - accepted minus received up to row i (cumulative): what
 * the target has taken and not yet handed to a sink. Negative only while a
 * sink's count runs ahead of an agent's report, or when sinks counted
 * messages the agents saw fail. */
int64_t agg_row_backlog(const struct aggregator *a, size_t i);

/* agg_flow - the injection and delivery figures of the timeline into out
 * (all zero for an empty timeline). */
void agg_flow(const struct aggregator *a, struct agg_flow *out);

/* agg_free - release the timeline. */
void agg_free(struct aggregator *a);

#endif
