/* job.h - one campaign part in smtpstorm-agent's daemon mode: a workload
 * spread over one or more targets (session j goes to targets[(target_first
 * + j) % n]), each target's share run by a runner on --threads loops, in
 * segments for the campaign's phases (a ramp's one-second steps, and the
 * phases after it while the number of sessions stays, on the same runners
 * and connections, their rate in steps: see schedule.h), all
 * begun at one start time, with merged cumulative snapshots, stop on
 * demand, and a callback on the owner's event loop when it has finished.
 * Knows nothing of ZeroMQ or protobuf: agent/link.c fills the spec. */
#ifndef SMTPSTORM_AGENT_JOB_H
#define SMTPSTORM_AGENT_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"
#include "ev.h"
#include "seconds.h"
#include "stats.h"
#include "workload.h"

#define JOB_TARGETS_MAX   1024      /* = WIRE_TARGETS_MAX */
#define JOB_PHASES_MAX    64        /* = WIRE_PHASES_MAX */
#define JOB_SEGMENTS_MAX  4096      /* phases after ramps are cut into steps */
#define JOB_RAMP_STEP_NS  1000000000ULL     /* a ramp changes its rate every second */
#define JOB_SEQ_GAP       (1ULL << 32)      /* trace/-N numbers reserved per segment */

enum job_phase_kind { JOB_PHASE_STEADY, JOB_PHASE_RAMP, JOB_PHASE_SPIKE };

/* One phase: a ramp goes linearly from the previous phase's rate (0 at
 * first) to rate; steady and spike hold rate. */
struct job_phase {
    enum job_phase_kind kind;
    uint64_t duration_ns;
    double rate;                /* messages a second; 0: as fast as the sessions go */
    uint32_t sessions;          /* 0: the workload's */
};

struct job_spec {
    struct workload w;          /* the whole part; w.target is ignored, strings and payload
                                 * must outlive the job */
    const struct endpoint *targets;     /* copied */
    size_t n_targets;
    uint32_t target_first;
    const struct job_phase *phases;     /* copied; may be NULL */
    size_t n_phases;
    int threads;                /* event loops per target share, at least 1 */
};

struct job;

/* job_new - prepare spec on loop (the owner's; the job's done callback runs
 * there). Creates the first segment's runners now, so a bad target or
 * workload is known before the start. The caller owns the job (job_free).
 * NULL with the reason in err. */
struct job *job_new(struct ev_loop *loop, const struct job_spec *spec,
                    void (*on_done)(void *arg), void *arg, char *err, size_t errlen);

/* job_start - begin now (the owner's timer decides when). Returns 0 or -errno. */
int job_start(struct job *j);

/* An extra share for a running job (smtpstorm run --rebalance: messages a
 * lost agent never sent): the job's workload with these changed. */
struct job_extra {
    uint64_t messages;          /* at least 1 */
    uint32_t sessions;          /* at least 1 (at most messages are used) */
    double rate;                /* messages a second; 0: as fast as the sessions go */
    uint64_t seq_first, seq_stride;     /* message k is number seq_first + k * seq_stride */
};

/* job_extend - run x beside the job's running parts, now, on the job's
 * targets and options; the job ends when they have ended too (a finished
 * job runs again: on_done follows again). Only a job that sends a count of
 * messages, is in its last segment and was not stopped takes one.
 * Returns 0, or -errno with the reason in err (nothing changed). */
int job_extend(struct job *j, const struct job_extra *x, char *err, size_t errlen);

/* job_snapshot - the cumulative counters of every segment so far into out
 * (caller-owned), and the event-time rows up to date (job_seconds).
 * Owner's loop thread. */
void job_snapshot(struct job *j, struct load_stats *out);

/* job_seconds - the job's event-time rows as of the last job_snapshot;
 * owned by the job, valid until job_free. */
const struct seconds_window *job_seconds(const struct job *j);

/* job_stop - start no more messages: let sessions finish the one in hand
 * (abort 0) or close every connection now (abort 1). on_done follows. */
void job_stop(struct job *j, int abort);

/* job_running - nonzero between job_start and the end. */
int job_running(const struct job *j);

/* job_sessions_active - connections open at the end of the last closed
 * second (as of the last job_snapshot); 0 when not running. */
uint32_t job_sessions_active(const struct job *j);

/* job_fatal - why the job was aborted (an unexpected reply without -A, a
 * segment that could not start), or NULL; owned by j, valid until job_free. */
const char *job_fatal(const struct job *j);

/* job_free - stop and join what still runs and release j; NULL is harmless. */
void job_free(struct job *j);

#endif
