/* rebalance.h - `smtpstorm run --rebalance`: when an agent is lost during a
 * campaign of a message count, the messages it never sent are planned
 * again over the campaign's other agents still connected, as extra shares
 * (a Workload with `extension` set) beside their own; one already done
 * with its part runs again. When none is left, idle agents connected to
 * the coordinator join (an empty part, then the share as their part),
 * waited for up to --wait. The lost agent's own new process (its id) takes
 * none: the sinks count an id's messages as one.
 *
 * How many moved: its planned messages (its part and the extra shares it
 * took) less those whose fate is known, the larger of what the sinks saw of
 * them (received, refused, deferred) and what it reported (accepted,
 * rejected). The count is decided once every sink has reported twice since
 * the loss (bounded: REBALANCE_WAIT_NS), and, through an MTA, once the
 * sinks have what the lost agent reported accepted (bounded likewise), so
 * that mail still on its way is not sent again. Moved messages get new
 * numbers, above every planned one, so no trace or -N number is used twice.
 * Exact when the agents send straight to the sinks; through an MTA, a
 * message it accepted after its last report and still queued at the
 * decision is sent again, and the report counts those ("received after
 * the move"). */
#ifndef SMTPSTORM_COORDINATOR_REBALANCE_H
#define SMTPSTORM_COORDINATOR_REBALANCE_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"
#include "trace.h"

#define REBALANCE_WAIT_NS   (10ULL * 1000000000ULL) /* at most this long for the sinks' view */
#define REBALANCE_REPORTS   2                       /* sink reports after the loss, each */

enum rebalance_share_state {
    REBALANCE_WAITING,      /* not sent: its agent has another one outstanding */
    REBALANCE_SENT,         /* sent, Ready awaited (resent every second) */
    REBALANCE_TAKEN,        /* the agent took it */
    REBALANCE_REFUSED,      /* the agent refused it (it had just finished): placed again */
};

/* One extra share: messages of a lost agent given to one agent. */
struct rebalance_share {
    char agent[TRACE_ID_MAX];
    struct peer *to;
    uint64_t messages;
    uint32_t sessions;
    uint64_t rate_milli;            /* 0: as fast as its sessions go */
    uint64_t seq_first, seq_stride; /* message k is number seq_first + k * seq_stride */
    uint32_t extension;             /* the n-th extra share sent to this agent */
    enum rebalance_share_state state;
    uint64_t sent_ns;               /* monotonic, last sent */
};

/* One lost agent's messages, moved. */
struct rebalance_move {
    char from[TRACE_ID_MAX];
    char why[128];                  /* why it was lost */
    struct peer *lost;
    uint64_t lost_ns;               /* monotonic */
    uint64_t *sink_seq;             /* each sink's report seq at the loss */
    size_t n_sink_seq;              /* r->ns then */
    int decided;                    /* the count is known and shared out */
    uint64_t planned;               /* its part and the extra shares it took */
    uint64_t done;                  /* of those, sent by it as far as anyone saw */
    uint64_t moved;                 /* planned - done: shared out */
    uint64_t not_moved;             /* of moved, no agent took within --wait */
    uint64_t unplaced;              /* of moved, waiting for an agent to take them */
    uint64_t unplaced_ns;           /* monotonic: since when */
    uint64_t received_then;         /* the sinks' count of its messages at the decision */
    uint64_t received_after;        /* and after it, by the report (sent twice) */
    struct rebalance_share *shares;
    size_t n_shares;
};

struct run;

/* rebalance_lost - agent p of the running campaign is lost (silent, or a
 * new process): note its move; nothing when --rebalance is off or the
 * campaign is stopping. */
void rebalance_lost(struct run *r, struct peer *p, const char *why);

/* rebalance_tick - decide and share out moves whose sinks have reported,
 * send waiting shares, repeat unanswered ones. */
void rebalance_tick(struct run *r, uint64_t now);

/* rebalance_busy - a move is undecided or a share unanswered: the campaign
 * must not drain yet (never once it is stopping: what did not move by
 * then is reported so). */
int rebalance_busy(const struct run *r);

/* rebalance_ready - agent p said Ready during the campaign: its outstanding
 * share is taken. */
void rebalance_ready(struct run *r, struct peer *p);

/* rebalance_refused - agent p refused (text) its outstanding share: place
 * its messages again. Returns 1 when p had one, 0 otherwise. */
int rebalance_refused(struct run *r, struct peer *p, const char *text);

/* rebalance_taken - the messages of extra shares agent p took. */
uint64_t rebalance_taken(const struct run *r, const struct peer *p);

/* rebalance_covered - every message of lost agent p is accounted for:
 * moved to agents that took them (then its loss fails nothing). */
int rebalance_covered(const struct run *r, const struct peer *p);

/* rebalance_finish - the sinks' final counts into every move's
 * received_after (result.c, before the reports). */
void rebalance_finish(struct run *r);

/* rebalance_state_name - "waiting", "sent", "taken" or "refused" (static). */
const char *rebalance_state_name(enum rebalance_share_state state);

/* rebalance_free - forget every move (a campaign's end). */
void rebalance_free(struct run *r);

#endif
