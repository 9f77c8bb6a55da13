/* run_private.h - one campaign's state (struct run), shared by the files of
 * `smtpstorm run` and by no one else: run.c (the life cycle and the state
 * machine), bind.c and security.c (the endpoints), receive.c and peers.c
 * (what peers say, and what happens to them), send.c (what the coordinator
 * says), launch.c (from enough peers to one start), live.c (the progress
 * line and --metrics), webjson.c (--web's document) and result.c (the
 * result and the reports). */
#ifndef SMTPSTORM_COORDINATOR_RUN_PRIVATE_H
#define SMTPSTORM_COORDINATOR_RUN_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "control.h"
#include "aggregator.h"
#include "clock.h"
#include "config.h"
#include "ev.h"
#include "interrupt.h"
#include "keys.h"
#include "local.h"
#include "metrics.h"
#include "planner.h"
#include "progress.h"
#include "rebalance.h"
#include "reconcile.h"
#include "registry.h"
#include "timeline.h"
#include "trace.h"
#include "wire.h"
#include "zap.h"
#include "zlink.h"

#define RUN_TICK_NS         (100 * NS_PER_MS)
#define RUN_BEAT_NS         NS_PER_SEC          /* heartbeats to the peers due one
                                                 * (registry_beat_due) */
#define RUN_READY_NS        (10 * NS_PER_SEC)   /* agents must confirm their part within this, */
                                                /* or twice --heartbeat-timeout if longer */
#define RUN_RESEND_NS       NS_PER_SEC          /* repeat a workload or start not acknowledged */
#define RUN_OFFSET_GRACE_NS (2 * NS_PER_SEC)    /* ready, no clock offset yet: start this
                                                 * long before the ready deadline anyway */
#define RUN_LEAD_MIN_NS     (500 * NS_PER_MS)   /* start time this far ahead at least */
#define RUN_LEAD_MAX_NS     (3 * NS_PER_SEC)
#define RUN_STOP_GRACE_NS   (10 * NS_PER_SEC)   /* after Stop, wait this long for Done */
#define RUN_OVERTIME_NS     (5 * NS_PER_SEC)    /* a timed campaign may run this much longer */
#define RUN_REFUSED_LOG     16                  /* wrong-version peers named once each */
#define RUN_ENDPOINT_MAX    128                 /* --local's ipc:// endpoints */
#define RUN_GATHER_MS       2                   /* read the sockets this long after a signal:
                                                 * one pass for many agents' messages */
#define RUN_FDS_SPARE       256                 /* descriptors beyond one a peer: ZeroMQ's
                                                 * threads, --web, --metrics, files, --local */

/* The states of a campaign, in order (a later one compares greater). */
enum run_state {
    RUN_WAIT,           /* waiting for the agents and sinks asked for */
    RUN_READY,          /* parts sent, waiting for every agent's Ready */
    RUN_RUNNING,        /* Start sent: the agents are at work */
    RUN_DRAIN,          /* the agents are done: waiting for the sinks to count it all */
    RUN_END,            /* leave the loop, then report */
};

struct run {
    const struct run_config *cfg;           /* what was asked (--local's sink among the targets) */
    struct ev_loop *loop;                   /* the one loop everything runs in */
    void *zctx;                             /* the ZeroMQ context of ctl, snk and zap */
    struct zlink *ctl, *snk;                /* ROUTERs: control (agents), counters (sinks) */
    struct keys_secret key;                 /* --key */
    struct keys_ring authorized;            /* --authorized-keys */
    struct zap *zap;                        /* admits only those; NULL: no allow-list */
    char tmpdir[64];                        /* --local's private ipc:// directory; "": none */
    char ctl_ep[RUN_ENDPOINT_MAX];          /* --local's control endpoint in tmpdir */
    char snk_ep[RUN_ENDPOINT_MAX];          /* --local's sink endpoint in tmpdir */
    struct registry reg;                    /* every peer that said hello */
    struct timeline tl;                     /* by event time, from the peers' rows */
    struct aggregator agg;                  /* the timeline for the reporters, at the end */
    struct progress_line line;              /* the live line on stderr */
    struct local *local;                    /* --local's children; NULL: none */
    struct metrics_server *metrics;         /* --metrics; NULL: off */
    struct metrics_text metrics_text;       /* rebuilt every second, published to it */
    struct web *web;                        /* --web; NULL: off */
    unsigned web_stops;                     /* Stops from the page already acted on */
    int linger_signals;                     /* signals counted when the final page began */
    enum run_state state;
    char campaign[TRACE_ID_MAX];            /* the id, set when the parts are sent */
    int want_agents, want_sinks;            /* how many to wait for */
    uint64_t t0_ns;                         /* monotonic: when the wait began */
    uint64_t deadline_ns;                   /* monotonic: the end of the wait, then of Ready */
    uint64_t start_wall_ns, start_ns;       /* the campaign's start: wall and monotonic */
    uint64_t stop_at_ns;                    /* Stop sent; 0: not */
    uint64_t drain_ns;                      /* monotonic: the drain began */
    uint64_t drain_change_ns;               /* monotonic: the sinks' total last grew */
    uint64_t drain_received;                /* the sinks' total then */
    struct peer **agents;                   /* taking part, by id */
    size_t na;
    uint32_t report_ms;                     /* how often each agent reports (--report-interval) */
    struct peer **sinks;                    /* present at the start, by id; then their earlier runs */
    size_t ns;
    struct peer **earlier;                  /* owned: restarted sinks' earlier runs (also in sinks) */
    size_t nearlier;
    struct plan_part *parts;                /* agents[i]'s part is parts[agents[i]->part] */
    struct rebalance_move *moves;           /* --rebalance: lost agents' messages moved (owned) */
    size_t n_moves;
    uint64_t next_number;                   /* the first number no message has yet (moves) */
    uint8_t *content;                       /* -F file */
    size_t content_len;
    uint8_t *rcpt_list, *sender_list;       /* --rcpt-file, --senders FILE */
    size_t rcpt_list_len, sender_list_len;
    struct ev_timer tick, beat;             /* the state machine's tick; heartbeats and metrics */
    uint64_t dropped;                       /* messages undecodable or not for a coordinator */
    uint64_t refused;                       /* distinct peers refused for their wire version */
    uint64_t impostors;                     /* messages refused: an id or route its key may not speak for */
    char impostor_said[RUN_REFUSED_LOG][KEYS_NAME_MAX + TRACE_ID_MAX + 2];   /* "key id" named once each */
    char refused_ids[RUN_REFUSED_LOG][TRACE_ID_MAX];    /* the first of them, named once each */
    int agents_missing, sinks_missing;      /* for the exit code and the report */
    int refusals;                           /* agents that refused their part */
    int interrupted;                        /* a signal stopped the campaign */
    int ran;                                /* Start was sent */
    size_t beh_phase;                       /* the phase whose sink behaviour was sent last */
    int beh_reverted;                       /* the sinks were sent back to their own */
    uint64_t last_line_ns;                  /* the progress line's last sample */
    enum run_exit exit_code;                /* set when the run ends before a report; 0: report */
    int between;                            /* a later campaign of the same run (capacity's
                                             * steps): wait for the agents to be idle first */
    struct interrupt_saved saved;           /* the signal dispositions before run_open */
    int caught;                             /* saved holds them */
};

/* run_open - everything one or more campaigns need: r from cfg, the
 * targets copied into *mine (which r->cfg then points at; --local's sink
 * may be added), the endpoints, --metrics, --web, --local's children, the
 * signals caught. Returns 0, or an exit code with the reason logged; call
 * run_close either way. */
int run_open(struct run *r, const struct run_config *cfg, struct run_config *mine);

/* run_loop - run the state machine from RUN_WAIT until RUN_END. */
void run_loop(struct run *r);

/* run_next_campaign - forget the last campaign (its plan, timeline,
 * counts and peers' parts; the peers stay) and prepare the next one as
 * cfg says (cfg must outlive it and hold *mine's targets), to start once
 * every agent is idle. */
void run_next_campaign(struct run *r, const struct run_config *cfg);

/* run_close - release what run_open set up and *mine's targets. */
void run_close(struct run *r, struct run_config *mine);

/* run_drained - the sinks have counted every agent's accepted messages. */
int run_drained(const struct run *r);

/* run_since - how long ago then was at now; 0 when then is later (set
 * during this very tick), so no unsigned difference ever wraps. */
static inline uint64_t run_since(uint64_t now, uint64_t then)
{
    return now > then ? now - then : 0;
}

/* run_totals - the campaign's totals so far, agents' and sinks'. */
static inline void run_totals(const struct run *r, struct agg_totals *t)
{
    agg_totals(r->agents, r->na, r->sinks, r->ns, r->campaign, t);
}

/* security.c - --key and --authorized-keys into o (the CURVE server key,
 * the ZAP allow-list in r->zctx); 0, or -1 with the reason logged. */
int security_setup(struct run *r, struct zlink_opts *o);

/* bind.c - bind the control and sink ROUTERs (for --local without --bind
 * or --sink-bind, ipc:// in a private directory) and point *ctl_ep and
 * *snk_ep at the endpoints bound (zlink_endpoint: valid while the sockets
 * are open). Returns 0, or -1 with the reason logged. */
int bind_endpoints(struct run *r, const char **ctl_ep, const char **snk_ep);

/* bind_tmpdir_remove - remove --local's private directory, if any. */
void bind_tmpdir_remove(struct run *r);

/* receive.c - the zlink callbacks of the control and the sink socket
 * (arg is the struct run): decode, refuse, dispatch. */
zlink_recv_fn receive_on_ctl, receive_on_snk;

/* peers.c - a Hello on socket z from route (want: the role that socket is
 * for): register it, welcome it, and notice restarts and reconnections. */
void peers_hello(struct run *r, struct zlink *z, const uint8_t *route, size_t len,
                 const Smtpstorm__Hello *h, enum peerlink_role want);

/* run_control_counts - what the control plane refused so far, by kind (result.c). */
void run_control_counts(const struct run *r, struct control_counts *out);

/* peers_impostor - nonzero (answered, logged, counted) when the key that
 * authenticated the sender on z (CURVE's ZAP user id) may not speak as id:
 * a key speaks only as its own name or NAME-*; 0 without CURVE. */
int peers_impostor(struct run *r, struct zlink *z, const uint8_t *route, size_t len, const char *id);

/* peers_refuse_version - answer a peer of another wire version (env as
 * wire_decode left it) and name it in the log, once per peer. */
void peers_refuse_version(struct run *r, struct zlink *z, const uint8_t *route, size_t len,
                          const Smtpstorm__Envelope *env);

/* peers_sink_restarted - sink p is a new process counting from zero: keep
 * its earlier run's counts as a record of their own. */
void peers_sink_restarted(struct run *r, struct peer *p);

/* peers_on_dead - registry_sweep's callback (arg is the struct run): an
 * agent or sink of the campaign went silent. */
void peers_on_dead(struct peer *p, void *arg);

/* send.c - what the coordinator sends a peer; a peer with no route (an
 * earlier run's record) is sent nothing. send_error_to - an Error to route
 * on z, a peer that may not be registered. */
void send_error_to(struct zlink *z, const uint8_t *route, size_t len, Smtpstorm__Error__Code code,
                   const char *text);
/* send_beat - a heartbeat (the welcome, then as registry_beat_due says),
 * naming the campaign while it runs. */
void send_beat(struct run *r, struct peer *p);
/* send_stop - Stop the campaign, saying why. */
void send_stop(struct run *r, struct peer *p, const char *reason);
/* send_workload - agent p's part (p->part must index r->parts). */
void send_workload(struct run *r, struct peer *p);

/* send_extension - share s (an extra share of the campaign, --rebalance) to
 * its agent, which must have a part. */
void send_extension(struct run *r, const struct rebalance_share *s);
/* send_start - the start time, with each agent's clock offset for a sink. */
void send_start(struct run *r, struct peer *p);

/* send_join - tell the connected sinks the clock offset of agent, which
 * has just joined the running campaign (--rebalance). */
void send_join(struct run *r, struct peer *agent);
/* send_behaviour - sink p's behaviour in phase (end: the sink's own again). */
void send_behaviour(struct run *r, struct peer *p, size_t phase, int end);
/* send_behaviour_all - send_behaviour to every sink, when the campaign has any. */
void send_behaviour_all(struct run *r, size_t phase, int end);
/* send_stop_all - Stop every agent still at work; notes when, once. */
void send_stop_all(struct run *r, const char *reason);

/* launch.c - read the -F file into r->content; 0, or -1 with the reason logged. */
int launch_read_content(struct run *r);

/* launch_begin - enough peers said hello: plan, name the campaign, send
 * every agent its part (RUN_READY). 0, or -1 with the reason logged. */
int launch_begin(struct run *r);

/* launch_offsets_known - every peer's clock offset is measured. */
int launch_offsets_known(const struct run *r);

/* launch_start - every agent confirmed: one start time for all, a little
 * ahead (RUN_RUNNING). */
void launch_start(struct run *r);

/* live.c - the progress line, at most once a second while running. */
void live_show_progress(struct run *r, uint64_t now);

/* live_publish_metrics - --metrics: a fresh document for the server. */
void live_publish_metrics(struct run *r, uint64_t now);

struct run_result;

/* webjson.c - --web: a fresh document for the server, from the run so far
 * (once a second; nothing when --web is off). */
void webjson_publish(struct run *r, uint64_t now);

/* webjson_publish_final - --web: the finished campaign's document, its
 * totals res's (the --json report's), with exit_code. */
void webjson_publish_final(struct run *r, const struct run_result *res, int exit_code);

/* result.c - the finished campaign's result, printed and written to every
 * report asked for; returns the exit code. */
enum run_exit result_report(struct run *r);

/* result_build - res from the finished campaign of r; 0, or -1 out of
 * memory (free res with result_free either way). res points into r until
 * its next campaign. */
int result_build(struct run *r, struct run_result *res);

/* result_free - what result_build allocated in res. */
void result_free(struct run_result *res);

#endif
