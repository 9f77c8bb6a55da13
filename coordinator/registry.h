/* registry.h - the coordinator's peers: agents and sinks by id and by
 * ZeroMQ routing id, what they said in hello, whether they are alive
 * (heard within the dead time), their clock offset from heartbeat round
 * trips, their part in the current campaign, and the last cumulative report
 * each sent (a Progress or Done for agents, SinkCounters for sinks). */
#ifndef SMTPSTORM_COORDINATOR_REGISTRY_H
#define SMTPSTORM_COORDINATOR_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "keys.h"
#include "peerlink.h"
#include "trace.h"
#include "wire.h"
#include "zlink.h"

#define REGISTRY_PEERS_MAX 10000    /* more hellos than this are refused */
/* An agent reports progress every second, but with more agents than the
 * coordinator takes REGISTRY_REPORTS_PER_S reports a second from, every
 * few seconds (whole seconds, to keep a report's phase on the timeline's
 * rows): 2 s at 5,000 agents. Never more than a quarter of the
 * --heartbeat-timeout, since a report carries the agent's beat. */
#define REGISTRY_REPORTS_PER_S     2500

enum peer_state {
    PEER_IDLE,          /* said hello, no part in the campaign */
    PEER_ASSIGNED,      /* workload sent, Ready awaited */
    PEER_READY,
    PEER_RUNNING,       /* Start sent */
    PEER_DONE,
};

struct peer {
    char id[TRACE_ID_MAX];
    char host[128];
    char version[32];
    uint32_t cores, pid;
    uint32_t dead_ms;               /* its dead-man switch (Hello.dead_ms); 0: not said */
    uint64_t beat_tx_ns;            /* monotonic: our last heartbeat to it; 0: none */
    enum peerlink_role role;
    struct zlink *z;                /* the socket it speaks on */
    char key[KEYS_NAME_MAX];        /* the authorized key it speaks with ("": no CURVE) */
    uint8_t route[ZLINK_PEER_MAX];  /* its routing id there */
    size_t route_len;
    int alive;
    uint64_t last_rx_ns;            /* monotonic */
    struct wire_beat beat;
    int have_offset;
    int64_t offset_ns;              /* its wall clock minus ours */
    uint64_t rtt_ns;
    uint64_t offset_at_ns;          /* monotonic time of the sample kept */
    int busy;                       /* its last heartbeat named a campaign */
    /* while it reports in the current campaign (receive.c): */
    uint64_t heartbeats;            /* Heartbeats on their own (its reports carry its beat) */
    uint64_t clock_samples;         /* clock samples its beats gave */
    /* the current campaign */
    int part;                       /* index in the plan, -1: none */
    enum peer_state state;
    uint64_t sent_at_ns;            /* last workload or start sent (monotonic) */
    int lost;                       /* went silent or away during the campaign */
    int saw_progress;
    uint32_t extensions;            /* --rebalance: extra shares sent it (rebalance.c) */
    Smtpstorm__Envelope *latest;    /* owned: last Progress/Done, or SinkCounters */
    uint64_t latest_seq;
    char status[256];               /* Done's status, or why it refused */
    /* a sink's restarts (peers.c): its earlier runs' last counters are kept */
    int rehello;                    /* said hello again since its last counters */
    uint32_t restarts;              /* new processes seen during the campaign */
    int earlier;                    /* this is an earlier run's record, not in the registry */
};

struct registry {
    struct peer **peers;
    size_t n, cap;
    struct peer **routes;           /* by (socket, routing id): open addressing, NULL empty;
                                     * holds exactly the peers with a route (route_len > 0) */
    size_t routes_cap;              /* a power of two, at least twice n; 0: none yet */
    uint64_t dead_ns;               /* silence after which a peer is not alive */
};

/* registry_init - an empty registry; peers die after dead_ms of silence. */
void registry_init(struct registry *r, uint64_t dead_ms);

/* registry_free - release every peer and what it holds. */
void registry_free(struct registry *r);

/* registry_by_route - the peer speaking on z with that routing id, or NULL
 * (a hash lookup: every message from a peer begins with it). */
struct peer *registry_by_route(const struct registry *r, const struct zlink *z,
                               const uint8_t *route, size_t len);

/* registry_by_id - the peer of that role and id, or NULL. */
struct peer *registry_by_id(const struct registry *r, enum peerlink_role role, const char *id);

/* registry_hello - record a (validated) hello from route on z: a new peer,
 * or a known id coming back on a new connection. Returns the peer (owned by
 * r) or NULL when r is full or out of memory. */
struct peer *registry_hello(struct registry *r, struct zlink *z, const uint8_t *route, size_t len,
                            const Smtpstorm__Hello *hello, uint64_t now_ns);

/* registry_heard - note that p spoke at monotonic now_ns. */
void registry_heard(struct peer *p, uint64_t now_ns);

/* registry_beat - take p's beat (a Heartbeat's, or the one its report
 * carries): keep the clock sample if it is the best (shortest round trip)
 * of late. Returns 0 when the beat gave a clock sample (kept or not),
 * -EAGAIN when it could not (no echo of ours yet, clocks stepped). */
int registry_beat(struct peer *p, const Smtpstorm__Heartbeat *hb, uint64_t now_wall_ns,
                   uint64_t now_ns);

/* registry_beat_due - nonzero when p is due a heartbeat from us at
 * monotonic now, a tick of a timer firing every tick_ns (at most half
 * WIRE_BEAT_SLOW_MS): every wire_beat_interval_ms of p's dead-man switch,
 * every tick when that is a tick or less (half a tick's slack for the
 * loop's delays; a welcome sent between two ticks is followed by the next
 * beat within the interval and tick_ns / 2). */
int registry_beat_due(const struct peer *p, uint64_t now, uint64_t tick_ns);

/* registry_report_interval_ms - how often each of `agents` agents reports
 * (--report-interval auto): 1 s, or as many whole seconds as keep the
 * reports under REGISTRY_REPORTS_PER_S a second, at most a quarter of
 * dead_ms and CONFIG_REPORT_INTERVAL_MAX_MS (whole seconds, 1 s at least). */
uint32_t registry_report_interval_ms(size_t agents, uint64_t dead_ms);

/* registry_sweep - mark peers silent for the dead time as not alive and
 * call on_dead for each one that just died. */
void registry_sweep(struct registry *r, uint64_t now_ns,
                    void (*on_dead)(struct peer *p, void *arg), void *arg);

/* registry_alive - how many live peers of role there are. */
size_t registry_alive(const struct registry *r, enum peerlink_role role);

/* registry_list - up to max peers of role (alive only when alive_only),
 * sorted by id, into out; returns the count. */
size_t registry_list(const struct registry *r, enum peerlink_role role, int alive_only,
                     struct peer **out, size_t max);

/* registry_keep_latest - make env p's latest report (taking ownership;
 * the previous one is freed). */
void registry_keep_latest(struct peer *p, Smtpstorm__Envelope *env, uint64_t seq);

/* registry_reset_campaign - forget every peer's part in a campaign. */
void registry_reset_campaign(struct registry *r);

#endif
