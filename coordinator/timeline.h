/* timeline.h - the campaign's timeline by event time: one row for every
 * second of the campaign on the coordinator's clock, counting what
 * happened in it (a message accepted in the second its end-of-data reply
 * reached the agent, received in the second it reached a sink), merged from
 * the per-second rows every agent and sink reports (proto Seconds), not
 * from when the reports arrived. A row is final once every peer still
 * taking part has reported past it; its message latency percentiles are
 * computed then. A report lost on the wire loses no count: each report
 * also sums every second before its rows, and what the rows did not bring
 * is added to the last second it could have happened in. Bounded: a row
 * is some 100 octets, and latency is kept for at most TIMELINE_PENDING
 * seconds not yet final. */
#ifndef SMTPSTORM_COORDINATOR_TIMELINE_H
#define SMTPSTORM_COORDINATOR_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "aggregator.h"
#include "hist.h"
#include "stats.h"
#include "wire.h"

#define TIMELINE_PENDING 64         /* seconds whose latency may still grow */
#define TIMELINE_SECONDS_MAX (7u * 24 * 3600)   /* rows beyond a week are refused */

/* What one peer's reports have brought so far. */
struct timeline_fold {
    const void *peer;               /* the key: the coordinator's record of the peer */
    uint32_t folded;                /* its seconds before this one are in the rows */
    int live;                       /* still reporting: rows it has not passed are not final */
    struct stats_second sum;        /* every count folded from it */
    struct stats_second total;      /* its Seconds.total, the last seen: what it counted */
    uint64_t last_ns;               /* its Seconds.last_ns, the largest seen */
};

struct timeline_row {
    struct stats_second n;          /* the counts of this second, all peers */
    struct agg_latency message;     /* set once final */
    struct agg_latency delivery;    /* of the messages the sinks received in it; once final */
};

/* The latency of one campaign phase: every final row's in it, merged. */
struct timeline_phase {
    uint32_t last;                  /* its last row (the last phase takes every later row) */
    struct hist message, delivery;
};

struct timeline {
    struct timeline_row *rows;      /* rows[t], t < n */
    size_t n, cap;
    uint32_t final;                 /* rows before this one are final */
    struct stats_second settled;    /* the counts of the final rows, summed */
    uint32_t end;                   /* seconds before this one were reported closed by a peer */
    struct hist *pending;           /* [2 * TIMELINE_PENDING]: message, then delivery latency
                                     * of second t at [t % TIMELINE_PENDING]; NULL until needed */
    struct timeline_phase *phases;  /* timeline_set_phases; NULL: none */
    size_t nphases;
    uint32_t warmup_last;           /* rows up to this one are the warmup (0: none) */
    struct timeline_phase *steady;  /* latency of the final rows after the warmup; NULL: none */
    uint64_t late_latencies;        /* latency samples that came after their row was final */
    struct timeline_fold *folds;
    size_t nfolds, capfolds;
    size_t *fold_index;             /* by peer pointer: open addressing, fold number + 1, 0 empty */
    size_t fold_index_cap;          /* a power of two, at least twice nfolds; 0: none yet */
    uint32_t least;                 /* the least folded second of the live folds (UINT32_MAX: none) */
    size_t at_least;                /* how many live folds are at it */
};

/* timeline_init - an empty timeline. */
void timeline_init(struct timeline *tl);

/* timeline_free - release everything it holds. */
void timeline_free(struct timeline *tl);

/* timeline_expect - peer takes part: rows are not final until it has
 * reported past them (or is retired). Returns 0 or -ENOMEM. */
int timeline_expect(struct timeline *tl, const void *peer);

/* timeline_set_phases - the campaign's phases, by the last row of each (a
 * row t counts what ended in the second before t s; the last phase also
 * takes what ended after it, so the phases sum to the totals). Before any
 * row is final. Returns 0 or -ENOMEM. */
int timeline_set_phases(struct timeline *tl, const uint32_t *last_rows, size_t n);

/* timeline_set_warmup - rows up to last_row are the warmup: the rows after
 * it also gather their latency in tl->steady. Before any row is final.
 * Returns 0 or -ENOMEM. */
int timeline_set_warmup(struct timeline *tl, uint32_t last_row);

/* timeline_phase_of - the phase row t belongs to (0 without phases). */
size_t timeline_phase_of(const struct timeline *tl, uint32_t t);

/* timeline_take - fold one report's Seconds from peer (any stable pointer
 * naming it) into the rows. Returns 0, -ENOMEM, or -ERANGE (a second past
 * TIMELINE_SECONDS_MAX: the report is ignored). */
int timeline_take(struct timeline *tl, const void *peer, const Smtpstorm__Seconds *sc);

/* timeline_restarted - peer is a new process counting from zero again: its
 * earlier counts stay in the rows, its sums start over. */
void timeline_restarted(struct timeline *tl, const void *peer);

/* timeline_retire - peer will report no more (done, lost, gone): rows no
 * longer wait for it. */
void timeline_retire(struct timeline *tl, const void *peer);

/* timeline_revive - a retired peer reports again (an agent done with its
 * part took an extra share): rows from its folded second on wait for it. */
void timeline_revive(struct timeline *tl, const void *peer);

/* timeline_last_ns - the largest last_ns of the peers for which pick(peer,
 * arg) is nonzero (agents: the last accepted message; sinks: the last
 * received), ns after the start; 0 when none. */
uint64_t timeline_last_ns(const struct timeline *tl, int (*pick)(const void *peer, void *arg), void *arg);

/* timeline_settled - the counts of every final row (the seconds every
 * peer still taking part has reported past) into *sum (sessions_active
 * aside); returns the campaign's second they stand at (row t is the
 * second that ends t s after the start), 0 while none has settled.
 * Cumulative by event time, so that accepted minus received is the
 * backlog at the end of that second, not as the reports arrived. */
uint32_t timeline_settled(const struct timeline *tl, struct stats_second *sum);

/* timeline_settled_rate - messages accepted a second over the last span
 * settled seconds (fewer at the start), by event time; 0 before one. */
double timeline_settled_rate(const struct timeline *tl, uint32_t span);

/* timeline_finish - the campaign is over: what each peer counted beyond
 * its folded seconds (in the second it had open at its last report) goes
 * to that second, and every row is final. */
void timeline_finish(struct timeline *tl);

/* timeline_rows - the rows as the reporters' timeline (cumulative totals,
 * one a second from 1 to the last second with a count, or 0 when only
 * row 0 has any) into out, which must be empty; out owns them (agg_free).
 * Returns 0 or -ENOMEM. */
int timeline_rows(const struct timeline *tl, struct aggregator *out);

#endif
