/* reconcile.h - the end of a campaign in numbers: accepted by the target
 * versus received by the sinks (in total and per agent), and the exit code
 * that sums it up. Pure arithmetic, shared by the run and its tests. */
#ifndef SMTPSTORM_COORDINATOR_RECONCILE_H
#define SMTPSTORM_COORDINATOR_RECONCILE_H

#include <stdint.h>

/* Exit codes of `smtpstorm run` (documented in its --help). */
enum run_exit {
    EXIT_RUN_OK = 0,
    EXIT_RUN_FAILED = 1,            /* could not run: bind, spawn, internal */
    EXIT_RUN_USAGE = 2,             /* bad option or campaign file */
    EXIT_RUN_AGENTS_MISSING = 3,    /* too few agents said hello, or one was lost or refused */
    EXIT_RUN_TARGET_ERRORS = 4,     /* the target refused or failed messages or sessions */
    EXIT_RUN_MESSAGES_LOST = 5,     /* accepted by the target, never counted by a sink */
    EXIT_RUN_SINKS_MISSING = 6,     /* too few sinks said hello, or one was lost */
    EXIT_RUN_THRESHOLDS = 7,        /* a --threshold did not hold */
    EXIT_CAPACITY_NONE = 8,         /* capacity: even the start rate failed an objective */
    EXIT_CAPACITY_GENERATOR = 9,    /* capacity: the generator limited one rate twice */
    EXIT_RUN_INTERRUPTED = 130,     /* stopped by a signal, otherwise fine (128 + SIGINT) */
};

/* What the sinks counted of one agent's messages. */
struct sink_count {
    uint64_t received;              /* distinct messages */
    uint64_t duplicates;
    uint64_t rejected;              /* refused for good by a sink's behaviour, never received */
    uint64_t deferred;              /* deferred by it, never received nor rejected since */
};

/* A count accepted by agents against a count received by sinks. lost and
 * beyond are never netted against each other: a total's are the sums of
 * its agents' (reconcile_line_add), so one agent's surplus never hides
 * another's loss. Of what was accepted and not received, the sinks'
 * rejections explain first, then their deferrals still pending; lost is
 * what remains (each sink counts what it refused, so a message refused by
 * one sink and taken by another would count twice: the explanations are
 * capped at the gap they explain). */
struct reconcile_line {
    uint64_t accepted;
    uint64_t received;              /* distinct messages the sinks counted */
    uint64_t duplicates;
    uint64_t rejected;              /* not received: a sink refused it for good (the MTA bounces it) */
    uint64_t deferred;              /* not received: a sink deferred it, and it had not come back
                                     * by the end of the drain */
    int64_t lost;                   /* accepted and never received, unexplained: 0 or more */
    uint64_t beyond;                /* received beyond what was accepted (an agent lost after
                                     * its last report, or messages the agents saw fail) */
};

/* reconcile_line_set - fill r from one agent's accepted and what the
 * sinks counted of it (lost saturating at INT64_MAX). */
void reconcile_line_set(struct reconcile_line *r, uint64_t accepted, const struct sink_count *c);

/* reconcile_line_add - add one agent's line into a total (start from a
 * zeroed total). */
void reconcile_line_add(struct reconcile_line *total, const struct reconcile_line *agent);

/* What the exit code is decided from. */
struct run_outcome {
    int ran;                        /* the campaign started */
    int agents_missing;             /* agents that never came, were lost or refused */
    int sinks_missing;
    int sinks_in_path;              /* sinks count what the target accepted */
    int64_t lost;                   /* total accepted - received */
    uint64_t errors;                /* session and protocol errors */
    uint64_t rejected;              /* messages the target refused */
    int interrupted;                /* stopped by a signal */
    int thresholds;                 /* --threshold given: they judge errors and rejections */
    int thresholds_failed;          /* how many did not hold (or could not be measured) */
};

/* reconcile_exit - the exit code for o, most severe first: agents missing,
 * sinks missing, messages lost, a threshold failed, target errors (only
 * when no threshold was given: thresholds say how many are acceptable),
 * interrupted, else 0. */
enum run_exit reconcile_exit(const struct run_outcome *o);

/* reconcile_exit_text - one line saying what an exit code means; static. */
const char *reconcile_exit_text(enum run_exit code);

#endif
