/* planner.h - split a campaign's workload exactly over its agents: message
 * count, sessions and rate (and each phase's) in parts that sum to what was
 * asked, weighted by each agent's cores, with deterministic disjoint
 * segments of message numbers (-N and trace sequence numbers) and an even
 * spread of sessions over the targets. Pure arithmetic, no I/O. */
#ifndef SMTPSTORM_COORDINATOR_PLANNER_H
#define SMTPSTORM_COORDINATOR_PLANNER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* One agent's share. Agents that take no part have active == 0. */
struct plan_part {
    int active;
    uint64_t messages;          /* 0 with a duration: until it ends */
    uint32_t sessions;
    uint64_t rate_milli;        /* messages per 1000 s; 0: closed loop */
    uint64_t seq_first;         /* message k is number seq_first + k * seq_stride */
    uint64_t seq_stride;
    uint32_t target_first;      /* session j goes to targets[(target_first + j) % n] */
    uint64_t phase_rate_milli[CONFIG_PHASES_MAX];
    uint32_t phase_sessions[CONFIG_PHASES_MAX];
};

/* plan_split - split total into n parts proportional to weights (largest
 * remainder; ties go to the lower index), so that the parts sum to total.
 * Returns 0, or -EINVAL when total > 0 and every weight is 0. */
int plan_split(uint64_t total, const uint64_t *weights, size_t n, uint64_t *parts);

/* plan_make - split w over n agents with the given cores (in the order the
 * caller will address them: sort by id for determinism) into parts[n].
 * Sessions default to one per agent. Every active agent gets at least one
 * session, one message (count mode) and some rate (when rated); agents with
 * the fewest cores sit out when there is not enough to go round. Returns
 * the number of active agents, or -EINVAL with the reason in err. */
int plan_make(const struct workload_spec *w, const uint32_t *cores, size_t n,
              struct plan_part *parts, char *err, size_t errlen);

#endif
