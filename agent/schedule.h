/* schedule.h - when each message is due: open loop (--rate R starts message k
 * at start + k/R whatever the server's speed, so latency is measured from
 * the due time and coordinated omission cannot hide a stall) or closed loop
 * (a message is due when a session asks). Bounded by a count (-m) and a
 * deadline (--duration), whichever comes first. The open-loop rate may
 * also change in steps (a campaign's ramp, in one-second steps, run by
 * the same sessions throughout). Pure: times are passed in. */
#ifndef SMTPSTORM_AGENT_SCHEDULE_H
#define SMTPSTORM_AGENT_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

/* One step of a stepped open-loop rate. */
struct schedule_step {
    uint64_t duration_ns;
    double rate;                /* messages per second, > 0 (a step at 0 sends nothing) */
};

struct schedule {
    uint64_t start_ns;          /* monotonic time of message 0 */
    double rate;                /* messages per second; 0: closed loop (stepped: the first step's) */
    const struct schedule_step *steps;  /* not owned; NULL: rate throughout */
    size_t n_steps;
    double scale;               /* each step's rate times this (a share of the campaign's) */
    size_t cur;                 /* stepped: the step of message issued, */
    double cur_first;           /* the (fractional) number of its first message, */
    uint64_t cur_offset_ns;     /* and when it begins, after start_ns */
    uint64_t limit;             /* messages in all; UINT64_MAX: no limit */
    uint64_t stop_ns;           /* no message is due at or after this; 0: none */
    uint64_t issued;            /* messages handed out so far */
    int stopped;                /* schedule_stop was called */
};

enum { SCHEDULE_EXHAUSTED = -1, SCHEDULE_WAIT = 0, SCHEDULE_DUE = 1 };

/* schedule_init - prepare s. duration_ns 0 means no deadline. */
void schedule_init(struct schedule *s, uint64_t start_ns, double rate, uint64_t limit,
                uint64_t duration_ns);

/* schedule_init_steps - prepare s for an open-loop rate in n steps (each
 * rate times scale), then nothing: the deadline is the end of the last
 * step. steps must outlive s. */
void schedule_init_steps(struct schedule *s, uint64_t start_ns, const struct schedule_step *steps,
                         size_t n, double scale, uint64_t limit);

/* schedule_due - the due time of message k (open loop), or start_ns;
 * UINT64_MAX when k is past the last step. */
uint64_t schedule_due(const struct schedule *s, uint64_t k);

/* schedule_next - take the next message if it is due at now: returns
 * SCHEDULE_DUE with *due its due time (closed loop: now), SCHEDULE_WAIT with
 * *due the time to ask again, or SCHEDULE_EXHAUSTED when no message is left. */
int schedule_next(struct schedule *s, uint64_t now, uint64_t *due);

/* schedule_stop - hand out no more messages. */
void schedule_stop(struct schedule *s);

#endif
