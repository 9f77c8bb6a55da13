/* capacity_search.h - the search of `smtpstorm capacity`, pure: fed each
 * step's verdict, it says which open-loop rate to try next. Growth by a
 * factor from the start rate until a step fails (or the upper bound
 * holds), then bisection between the last good and the first bad rate
 * until they are within the resolution. A step the generator limited
 * (an agent saturated, or behind its schedule) is not the target's
 * failure: the same rate is tried once more (with the sessions the caller
 * recomputes), and a second time ends the search. Plus the rules that
 * decide a step's verdict and its sessions. No I/O, no clock. */
#ifndef SMTPSTORM_COORDINATOR_CAPACITY_SEARCH_H
#define SMTPSTORM_COORDINATOR_CAPACITY_SEARCH_H

#include <stdint.h>

#define CAPACITY_HEADROOM       2.0     /* sessions: twice what Little's law asks (L = R * W) */
#define CAPACITY_LATENCY0_S     1.0     /* W before any step measured one: smtp-sink -w 1's */
#define CAPACITY_BEHIND_RATIO   0.9     /* attempted under 90% of the planned rate: behind */

enum capacity_verdict {
    CAPACITY_PASS,              /* every objective held */
    CAPACITY_FAIL,              /* an objective did not hold: the target's failure */
    CAPACITY_GENERATOR,         /* the generator was the limit: not counted */
};

enum capacity_end {
    CAPACITY_SEARCHING,         /* capacity_search_next has a rate */
    CAPACITY_FOUND,             /* good and bad within the resolution: capacity is good */
    CAPACITY_AT_MAX,            /* the upper bound held: capacity is at least max */
    CAPACITY_START_FAILED,      /* even the start rate failed: no capacity */
    CAPACITY_GENERATOR_LIMIT,   /* the generator limited a rate twice: capacity is at least good */
};

struct capacity_search {
    double start, max;          /* messages/s: the first rate and the upper bound */
    double factor;              /* growth before the first failure, > 1 */
    double resolution_pct;      /* stop when bad - good <= good * this / 100 */
    double good;                /* the highest rate that held; 0: none yet */
    double bad;                 /* the lowest rate that failed; 0: none yet */
    double next;                /* the rate to try next (SEARCHING) */
    int retried;                /* next is a retry after a generator-limited step */
    enum capacity_end end;
};

/* capacity_search_init - a search from start (> 0) to max (>= start),
 * growing by factor (> 1), to resolution_pct (> 0); -EINVAL otherwise,
 * s untouched. */
int capacity_search_init(struct capacity_search *s, double start, double max, double factor,
                         double resolution_pct);

/* capacity_search_next - the rate of the next step; 0 when the search is
 * over (s->end says how). */
double capacity_search_next(const struct capacity_search *s);

/* capacity_search_record - the verdict of the step at rate (the rate
 * capacity_search_next gave); moves the search on. */
void capacity_search_record(struct capacity_search *s, double rate, enum capacity_verdict v);

/* capacity_search_end_name - "found", "at_max", "start_failed",
 * "generator_limit" or "searching"; static. */
const char *capacity_search_end_name(enum capacity_end end);

/* capacity_classify - a step's verdict: the generator's when an agent was
 * saturated, or when it fell behind its schedule although the objectives
 * held or its sessions were capped by the ceiling; else the objectives'.
 * (Behind with the objectives failed and the sessions sized by the rule:
 * the target's latency more than doubled, so the target is the limit.) */
enum capacity_verdict capacity_classify(int held, int saturated, int behind, int capped);

/* capacity_sessions - the sessions for rate: ceil(CAPACITY_HEADROOM * rate
 * * latency_s) within [floor, ceiling] (floor wins over a smaller
 * ceiling); *capped set when the ceiling cut it. */
uint32_t capacity_sessions(double rate, double latency_s, uint32_t floor, uint32_t ceiling, int *capped);

#endif
