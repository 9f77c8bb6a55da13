/* peerlink.h - the agent's and the sink's side of the control plane, ready
 * for agent/link.c and sink/link.c (and the test simulator): connect to the
 * coordinator (which may start later or restart), say hello until welcomed,
 * heartbeat both ways (our beat rides in each progress report or sink
 * counters; a Heartbeat of its own goes only when none went for a beat
 * interval), turn the coordinator's messages into callbacks and
 * counters into messages. Runs in the caller's lib/ev loop; no thread.
 *
 * The coordinator's silence for dead_ms fires `lost`: an agent must stop
 * all load then (the dead-man switch). */
#ifndef SMTPSTORM_PEERLINK_H
#define SMTPSTORM_PEERLINK_H

#include <stddef.h>
#include <stdint.h>

#include "ev.h"
#include "hist.h"
#include "keys.h"
#include "stats.h"
#include "wire.h"

enum peerlink_role { PEERLINK_AGENT = 1, PEERLINK_SINK = 2 };

struct peerlink_opts {
    const char *endpoint;       /* the coordinator's control (agent) or sink endpoint */
    const char *id;             /* name in reports: [A-Za-z0-9._:-]{1,63} */
    enum peerlink_role role;
    uint32_t cores;             /* planner weight; 0: online CPUs */
    uint32_t heartbeat_ms;      /* 0: 1000 */
    uint32_t dead_ms;           /* coordinator lost after this silence; 0: 5000 */
    uint32_t wire_version;      /* tests only: claim another version; 0: WIRE_VERSION */
    /* CURVE: both set, or both NULL (then a non-loopback endpoint is
     * refused unless insecure). Read by peerlink_open only. */
    const struct keys_secret *key;      /* own pair: keys_load_secret(--key) */
    const uint8_t *coordinator_key;     /* KEYS_BYTES: keys_load_public(--coordinator-key) */
    int insecure;                       /* --insecure: plaintext beyond loopback allowed */
};

struct peerlink;

/* The keys of an agent's or sink's --key and --coordinator-key files. */
struct peerlink_keys {
    struct keys_secret key;
    uint8_t coordinator_key[KEYS_BYTES];
};

/* peerlink_keys_apply - the command line's security options into o: load
 * key_file (--key, own NAME.key) and coordinator_key_file
 * (--coordinator-key, the coordinator's NAME.pub) into k, both or neither
 * (NULL), and point o->key and o->coordinator_key at k, which must live
 * until peerlink_open returns (then explicit_bzero it). Without keys,
 * o->endpoint beyond loopback is refused unless insecure (--insecure,
 * copied to o->insecure). Returns 0, or -errno with a message naming
 * those options in err. */
int peerlink_keys_apply(struct peerlink_opts *o, struct peerlink_keys *k, const char *key_file,
                        const char *coordinator_key_file, int insecure, char *err, size_t errlen);

struct peerlink_callbacks {
    /* Agent: a workload for campaign w->campaign. Return 0 to accept (Ready is
     * sent), -EAGAIN to answer nothing yet (e.g. the name server did not
     * answer: the coordinator repeats the workload every second until its
     * deadline), or -errno with a reason in why to refuse it (the coordinator
     * names it). w is valid during the call only: copy what you keep. A
     * repeated workload for the campaign already accepted is answered with
     * Ready again without a call. May be NULL for sinks. */
    int (*workload)(struct peerlink *pl, const Smtpstorm__Workload *w, char *why, size_t whylen,
                    void *arg);
    /* Start at local_start_ns (own wall clock, offset already applied). For
     * sinks, s->agents[i].offset_ns is that agent's clock minus this sink's:
     * delivery latency = receive time - trace send time + offset. Called once
     * per campaign. May be NULL. */
    void (*start)(struct peerlink *pl, const Smtpstorm__Start *s, uint64_t local_start_ns, void *arg);
    /* Stop the campaign now; the agent then calls peerlink_send_done. May be NULL. */
    void (*stop)(struct peerlink *pl, const char *campaign, const char *reason, void *arg);
    /* The coordinator has been silent for dead_ms: stop all load. May be NULL. */
    void (*lost)(struct peerlink *pl, void *arg);
    /* The coordinator refused this peer (another wire version, duplicate id):
     * text says why; the program should exit non-zero. May be NULL. */
    void (*refused)(struct peerlink *pl, const char *text, void *arg);
    /* Sink: follow behaviour b from now on (b valid during the call only).
     * Return 0, or -1 with the reason (the file's line) in why: it is sent
     * back as an Error. May be NULL (then behaviours are dropped). */
    int (*behaviour)(struct peerlink *pl, const Smtpstorm__SinkBehaviour *b, char *why, size_t whylen,
                     void *arg);
    /* Agent: an extra share (w->extension > 0, --rebalance) for the campaign
     * it runs, or ran last (then it runs again: a new Done follows), or, when
     * it holds no part of that campaign, a whole part to join with: start it
     * at once, its seconds counted from w->start_ns (its wall clock). Return
     * 0 to take it (Ready is sent), -EAGAIN to answer nothing yet, or -errno
     * with a reason in why (sent back as a refusal). A repeat of an
     * extension already taken is answered with Ready again without a call.
     * May be NULL: extensions are refused. */
    int (*extend)(struct peerlink *pl, const Smtpstorm__Workload *w, char *why, size_t whylen, void *arg);
};

/* peerlink_open - connect to opts->endpoint in ctx (a zmq context the caller
 * owns and outlives the link) and start saying hello; opts is read here
 * only, cb is copied, loop and arg must outlive the link. The caller owns
 * the result, valid until peerlink_close. NULL on error with a message in
 * err. */
struct peerlink *peerlink_open(void *ctx, struct ev_loop *loop, const struct peerlink_opts *opts,
                               const struct peerlink_callbacks *cb, void *arg,
                               char *err, size_t errlen);

/* peerlink_send_progress - (agents) report the current workload's
 * cumulative counters (meta->campaign may be NULL: the accepted campaign);
 * nothing in s or meta is kept. Returns 0 or -errno
 * (-EAGAIN while disconnected: harmless, the next report carries it). */
int peerlink_send_progress(struct peerlink *pl, const struct load_stats *s,
                           const struct wire_progress_meta *meta);

/* peerlink_send_done - (agents) report the end of the current workload with its final
 * counters and status (NULL or "": ok). The link keeps it and sends it again
 * if the coordinator asks (a Stop for a finished campaign). Returns 0 or -errno. */
int peerlink_send_done(struct peerlink *pl, const struct load_stats *s,
                       const struct wire_progress_meta *meta, const char *status);

/* A sink's counters for one agent in one campaign. */
struct peerlink_sink_agent {
    const char *agent;
    uint64_t received;          /* distinct messages */
    uint64_t duplicates;
    uint64_t rejected;          /* refused for good by a rule, never received since */
    uint64_t deferred;          /* deferred by a rule, never received nor rejected since */
};

/* A sink's counters for one campaign (from the trace header). */
struct peerlink_sink_campaign {
    const char *campaign;
    uint64_t received;
    uint64_t duplicates;
    uint64_t bytes;
    const struct hist *delivery;            /* microseconds; may be NULL */
    const struct peerlink_sink_agent *agents;
    size_t n_agents;
    Smtpstorm__Seconds *seconds;            /* by event time (wire_seconds_fill); may be NULL */
    const uint64_t *outcomes;               /* what --behaviour rules did, by BEHAVIOUR_OUT_* */
    size_t n_outcomes;
};

/* A sink's cumulative counters since it started. */
struct peerlink_sink_counters {
    uint64_t sessions;
    uint64_t messages;          /* every message, traced or not */
    uint64_t untraced;
    const struct peerlink_sink_campaign *campaigns;
    size_t n_campaigns;
};

/* peerlink_send_sink_counters - (sinks) stream a sink's counters (every second).
 * Nothing in c is kept. Returns 0 or -errno (-EAGAIN: not connected). */
int peerlink_send_sink_counters(struct peerlink *pl, const struct peerlink_sink_counters *c);

/* peerlink_campaign - the accepted (or running) campaign id, "" when idle;
 * storage inside pl, valid until peerlink_close, its text replaced when the
 * next workload is accepted (copy it to keep this one). */
const char *peerlink_campaign(const struct peerlink *pl);

/* peerlink_welcomed - nonzero while the coordinator answers us. */
int peerlink_welcomed(const struct peerlink *pl);

/* peerlink_dropped - coordinator messages dropped as undecodable or malformed. */
uint64_t peerlink_dropped(const struct peerlink *pl);

/* peerlink_close - stop heartbeats, close the socket, free pl; NULL is harmless. */
void peerlink_close(struct peerlink *pl);

#endif
