/* result.h - a finished campaign as the reporters see it: what was asked,
 * totals, merged latency histograms, replies, per-agent and per-sink lines,
 * the reconciliation, the timeline and the thresholds' verdicts. Filled by
 * result.c and verdict.c; read by summary.c (terminal), csv.c, json.c and
 * html.c. */
#ifndef SMTPSTORM_COORDINATOR_RESULT_H
#define SMTPSTORM_COORDINATOR_RESULT_H

#include <stdint.h>
#include <stdio.h>

#include "aggregator.h"
#include "config.h"
#include "control.h"
#include "phases.h"
#include "rebalance.h"
#include "reconcile.h"
#include "registry.h"
#include "stats.h"

struct agent_result {
    const struct peer *peer;
    uint64_t planned;               /* its share of -m (and extra shares it took,
                                     * --rebalance); 0: until the duration ends */
    uint64_t sessions, attempted, accepted, rejected, unfinished, errors, recipients, bytes;
    uint64_t received, duplicates;  /* what the sinks counted from it */
    struct reconcile_line line;     /* accepted against received */
    double cpu_s;                   /* CPU seconds it used during the workload */
    double elapsed_s;
    double cpu_pct;                 /* of its cores, during the workload */
    int missing;                    /* lost, refused or never finished */
    const char *status;             /* Done's status or why it is missing; "" when ok */
};

#define RESULT_SINK_OUTCOMES 6      /* BEHAVIOUR_OUT_* of sink/behaviour.h, in its order */

struct sink_result {
    const struct peer *peer;
    uint64_t received, duplicates, bytes;   /* this campaign */
    uint64_t rejected, deferred;    /* its rules refused for good / deferred, never received since */
    uint64_t outcomes[RESULT_SINK_OUTCOMES];    /* what its rules did to this campaign's mail */
    uint64_t messages;              /* everything it took since it started */
    int missing;
};

struct run_result {
    const struct run_config *config;    /* what was asked (targets include --local's sink) */
    const char *campaign;
    uint64_t started_at_ns;         /* wall clock */
    uint32_t report_interval_ms;    /* how often each agent reported (--report-interval) */
    double duration_s;
    struct load_stats *stats;       /* merged agents' counters and histograms */
    struct hist delivery;           /* merged sinks' end-to-end latency */
    struct agg_totals totals;
    double rate;                    /* accepted messages per second */
    int sinks_in_path;
    struct reconcile_line total;
    struct agent_result *agents;
    size_t n_agents;
    struct sink_result *sinks;
    size_t n_sinks;
    const struct aggregator *timeline;  /* by event time */
    struct phase_result *phases;    /* one per campaign phase, owned (free()); NULL: no phases */
    size_t n_phases;
    double warmup_s;                /* --warmup: the first seconds, out of the headline
                                     * message and delivery latency and the rates; 0: none */
    uint64_t warmup_accepted, warmup_received;  /* what they held */
    double inject_end_s;            /* the last message accepted, s after the start; 0: none */
    double deliver_end_s;           /* the last message received by a sink; 0: none */
    struct control_counts control;  /* what the control plane refused */
    const struct rebalance_move *moves; /* --rebalance: lost agents' messages moved (the run's) */
    size_t n_moves;
    struct threshold_verdict *verdicts; /* one per config->thresholds, owned (free()) */
    size_t n_verdicts;
    int thresholds_failed;
    struct run_outcome outcome;
    enum run_exit exit_code;
};

/* verdict_judge - judge every threshold of res->config against res: fills
 * res->verdicts (which res then owns: free()) and res->thresholds_failed.
 * Returns 0 or -ENOMEM. */
int verdict_judge(struct run_result *res);

/* result_flow - injection and delivery of res apart (agg_flow of its
 * timeline), each ending at the event time of its last message when the
 * peers reported one (finer than the timeline's second); with a warmup,
 * the rates are over what came after it. */
void result_flow(const struct run_result *res, struct agg_flow *out);

/* result_phase_hist - res's latency of phase: the agents' merged, or
 * for delivery the sinks'; owned by res. */
const struct hist *result_phase_hist(const struct run_result *res, enum stats_phase phase);

/* result_sink_outcome_name - the report's name of outcome i (deferred,
 * rejected, disconnected, delayed, greylist_deferred, greylist_passed);
 * static. */
const char *result_sink_outcome_name(size_t i);

/* result_sink_outcomes_total - the sinks' outcome i summed. */
uint64_t result_sink_outcomes_total(const struct run_result *res, size_t i);

/* summary_print - the end-of-campaign table for a terminal. */
void summary_print(FILE *out, const struct run_result *res);

/* csv_write_timeline - the timeline, one row a second, to path. Returns 0
 * or -errno with the reason in err. */
int csv_write_timeline(const char *path, const struct run_result *res, char *err, size_t errlen);

/* json_write_report - the report (design.md's contract, written like
 * lib/report.c's, plus reconciliation per agent and control-plane counters)
 * to path ("-": stdout). Returns 0 or -errno with the reason in err. */
int json_write_report(const char *path, const struct run_result *res, char *err, size_t errlen);

/* json_write_string - s as a JSON string, quotes, backslashes and control
 * characters escaped (peers' and users' text is never trusted). */
void json_write_string(FILE *f, const char *s);

/* json_write_verdicts - the verdicts as a JSON array of {expr, ok, value,
 * unit}: a threshold not measured has value null and ok false, or ok null
 * with unknown_null (the live page: not yet). */
void json_write_verdicts(FILE *f, const struct threshold_verdict *v, size_t n, int unknown_null);

/* html_write_style - the report page's <style> element (its CSS: the
 * svg.c charts' classes too), for another page of the same look. */
void html_write_style(FILE *f);

/* json_write_time - wall_ns as a JSON string, UTC with milliseconds
 * ("2026-01-02T03:04:05.678Z"); null when 0. */
void json_write_time(FILE *f, uint64_t wall_ns);

/* json_write_phases - the report's "phases" key and array of n phase
 * results (a line of its own, a comma after): received and duplicates
 * with sinks, the backlog with the sinks in the delivery path. */
void json_write_phases(FILE *f, const struct phase_result *phases, size_t n, int with_sinks, int sinks_in_path);

/* json_write_totals - the report's "totals" object (no key, no comma):
 * what --json writes, for --web's final figures too. */
void json_write_totals(FILE *f, const struct run_result *res);

/* html_write_report - the report as one self-contained HTML page (inline
 * CSS and SVG charts, no network fetches; every peer's text escaped) to
 * path. Returns 0 or -errno with the reason in err. */
int html_write_report(const char *path, const struct run_result *res, char *err, size_t errlen);

#endif
