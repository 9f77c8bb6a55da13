/* capacity.h - `smtpstorm capacity`: the highest open-loop rate at which
 * every objective (--slo) holds. One process, one set of agents and sinks
 * kept connected: each step is a short campaign of its own (two phases at
 * one rate: "settle", then "step", the measured window), run by run.c's
 * machinery, reconciled on its own; capacity_search.c decides the next
 * rate, capacity_report.c writes what was found. */
#ifndef SMTPSTORM_COORDINATOR_CAPACITY_H
#define SMTPSTORM_COORDINATOR_CAPACITY_H

#include <stddef.h>
#include <stdint.h>

#include "capacity_search.h"
#include "config.h"
#include "hist.h"
#include "phases.h"
#include "reconcile.h"
#include "threshold.h"
#include "trace.h"

#define CAPACITY_STEPS_MAX 64       /* a search of more steps stops there */

/* One step: a campaign at one rate, what its measured window showed. */
struct capacity_step {
    char campaign[TRACE_ID_MAX];
    double planned;                 /* messages/s asked for */
    uint32_t sessions;              /* by the sessions rule */
    int capped;                     /* the rule asked for more than --max-sessions */
    struct phase_result window;     /* the measured window ("step"); its hists are these: */
    struct hist message, delivery;
    double attempted_rate;          /* messages begun per second of the window */
    double backlog_growth;          /* per second of the window; with sinks only */
    int with_sinks;
    uint64_t accepted, received;    /* the whole step (settle and drain too), reconciled */
    int64_t lost;                   /* accepted, never counted by a sink; -1: no sinks */
    int drained;                    /* the sinks had it all before the next step */
    int saturated, behind;          /* the generator's share of the verdict */
    double cpu_pct;                 /* the busiest agent's */
    struct threshold_verdict *verdicts; /* one per objective, owned */
    size_t n_verdicts;
    const char *failed;             /* the first objective that did not hold; NULL: none */
    enum capacity_verdict verdict;
};

/* The search's outcome. */
struct capacity_result {
    const struct run_config *cfg;
    struct capacity_search search;
    struct capacity_step *steps;    /* owned */
    size_t n;
    double rate;                    /* the capacity: the highest rate that held; 0: none */
    const char *limited_by;         /* the objective that failed above it, "max", "generator", or NULL */
    const struct capacity_step *final;  /* the step whose verdicts are the final verdict; NULL: none */
    uint64_t started_at_ns;         /* wall clock */
    double duration_s;
    int interrupted;
    enum run_exit exit_code;
};

/* capacity_run - the search as cfg (cfg->cap on, objectives in its
 * thresholds) says, with the table on stdout and the reports asked for;
 * returns the exit code. */
enum run_exit capacity_run(const struct run_config *cfg);

/* capacity_report - print res (unless quiet) and write --json, --html and
 * --junit; returns res->exit_code, or EXIT_RUN_FAILED when a report could
 * not be written. */
enum run_exit capacity_report(const struct capacity_result *res);

#endif
