/* phases.h - one result per campaign phase (ramp, steady, spike), read off
 * the event-time timeline: where each phase begins and ends, what it asked
 * for and what it achieved, and its latency, so that a steady state reads
 * apart from the ramp before it. */
#ifndef SMTPSTORM_COORDINATOR_PHASES_H
#define SMTPSTORM_COORDINATOR_PHASES_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "hist.h"
#include "timeline.h"

struct phase_result {
    const char *name;               /* its name: in the campaign file, or its kind; static or w's */
    const char *kind;               /* "ramp", "steady", "spike"; static */
    double start_s, end_s;          /* after the common start; the last one runs to the last row */
    uint32_t last_row;              /* its last timeline row (timeline_phase_of's bound) */
    double planned_rate;            /* messages/s asked for on average (a ramp: the mean of its
                                     * two ends); 0: as fast as the sessions go */
    double rate;                    /* accepted within its span, per second of it */
    uint64_t attempted, accepted, rejected, errors, received, duplicates;
    const struct hist *message;     /* whole-message latency; the timeline's */
    const struct hist *delivery;    /* by the second the sinks received it; the timeline's */
    int64_t backlog_end;            /* accepted - received so far at its last row */
    int64_t backlog_start;          /* the same before its first row */
    uint64_t attempted_span;        /* attempted within its span */
    uint64_t accepted_span;         /* accepted within its span (the last phase's accepted
                                     * also counts what ended in the drain after it) */
    int64_t backlog_span_end;       /* the same at the end of its span (the last phase's
                                     * last row also holds the drain after it) */
};

/* phases_backlog_growth - how fast the backlog (accepted - received) grew
 * during p's span, per second; 0 for a phase of no length. */
double phases_backlog_growth(const struct phase_result *p);

/* phases_last_rows - the last timeline row of each of w's phases into
 * last_rows (w->n_phases of them, at most CONFIG_PHASES_MAX): the phases
 * as they run, cut at --duration and the last held until it. Returns how
 * many phases run. */
size_t phases_last_rows(const struct workload_spec *w, uint32_t *last_rows);

/* phases_build - the result of each phase from tl (timeline_finish done,
 * timeline_set_phases given phases_last_rows' rows) into a new array *out
 * (the caller frees it) of *n. Pointers in it are valid while w and tl
 * are. Returns 0 (with *out NULL and *n 0 when w has no phases) or
 * -ENOMEM. */
int phases_build(const struct workload_spec *w, const struct timeline *tl, struct phase_result **out,
                 size_t *n);

#endif
