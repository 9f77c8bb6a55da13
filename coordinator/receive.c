/* receive.c - what peers say to the coordinator: each frame decoded
 * (lib/wire, the trust boundary), a peer of another version refused, an
 * unknown one asked to say hello, and every message dispatched to the
 * registry and the timeline. What happens to the peers is peers.c's. */
#include "run_private.h"
#include "log.h"

#include <errno.h>
#include <string.h>

/* receive_seconds - fold a peer's event-time rows into the timeline. */
static void receive_seconds(struct run *r, struct peer *p, const Smtpstorm__Seconds *sc)
{
    int rc = timeline_take(&r->tl, p, sc);

    if (rc == -ERANGE)
        r->dropped++;               /* a second past a week: not this campaign's */
    else if (rc != 0)
        log_warn("out of memory for the timeline: %s's counts of this second are not in it", p->id);
}

/* receive_progress - an agent's cumulative report, kept when it is newer. */
static void receive_progress(struct run *r, struct peer *p, Smtpstorm__Envelope *env, int *kept)
{
    const Smtpstorm__Progress *pr = env->progress;

    if (strcmp(pr->campaign, r->campaign) != 0) {
        r->dropped++;                   /* another campaign's (a replay, a stale peer) */
        return;
    }
    if (p->part < 0 || p->state == PEER_DONE)
        return;
    if (p->latest != NULL && pr->seq <= p->latest_seq)
        return;                         /* late or repeated: cumulative, nothing lost */
    p->saw_progress = 1;
    receive_seconds(r, p, pr->seconds);
    registry_keep_latest(p, env, pr->seq);
    *kept = 1;
}

/* receive_done - an agent's last report: it is done (or ended early). */
static void receive_done(struct run *r, struct peer *p, Smtpstorm__Envelope *env, int *kept)
{
    if (strcmp(env->done->campaign, r->campaign) != 0) {
        r->dropped++;                   /* another campaign's (a replay, a stale peer) */
        return;
    }
    if (p->part < 0 || p->state == PEER_DONE)
        return;
    snprintf(p->status, sizeof(p->status), "%s", env->done->status);
    p->state = PEER_DONE;
    p->saw_progress = 1;
    receive_seconds(r, p, env->done->final->seconds);
    timeline_retire(&r->tl, p);
    registry_keep_latest(p, env, UINT64_MAX);
    *kept = 1;
    if (p->status[0])
        log_warn("agent %s ended early: %s", p->id, p->status);
}

/* receive_error - an agent refused its part, or a peer says what went wrong. */
static void receive_error(struct run *r, struct peer *p, const Smtpstorm__Error *e)
{
    if (p->part >= 0 && e->code == SMTPSTORM__ERROR__CODE__REFUSED && p->state == PEER_ASSIGNED
        && strcmp(e->campaign, r->campaign) == 0) {
        snprintf(p->status, sizeof(p->status), "refused its part: %s", e->text);
        log_error("agent %s refused its part of campaign %s: %s", p->id, r->campaign, e->text);
        p->lost = 1;
        r->refusals++;
        return;
    }
    if (p->part >= 0 && e->code == SMTPSTORM__ERROR__CODE__REFUSED && r->state == RUN_RUNNING
        && strcmp(e->campaign, r->campaign) == 0 && rebalance_refused(r, p, e->text))
        return;
    log_warn("%s %s says: %s", p->role == PEERLINK_SINK ? "sink" : "agent", p->id, e->text);
}

/* receive_counters - a sink's cumulative counters, kept when newer. */
static void receive_counters(struct run *r, struct peer *p, Smtpstorm__Envelope *env, int *kept)
{
    size_t i;

    if (p->role != PEERLINK_SINK)
        return;
    if (p->latest != NULL && p->rehello && env->sink_counters->seq < p->latest_seq)
        peers_sink_restarted(r, p);       /* same pid (a container's 1), counting from zero again */
    if (p->latest != NULL && env->sink_counters->seq <= p->latest_seq)
        return;
    p->rehello = 0;
    for (i = 0; r->state >= RUN_RUNNING && i < env->sink_counters->n_campaigns; i++)
        if (strcmp(env->sink_counters->campaigns[i]->campaign, r->campaign) == 0)
            receive_seconds(r, p, env->sink_counters->campaigns[i]->seconds);
    registry_keep_latest(p, env, env->sink_counters->seq);
    *kept = 1;
}

/* receive_reporting - p sends reports in the current campaign now: an
 * agent from its first progress to its Done, a sink while the campaign
 * runs and drains, once it has sent counters. */
static int receive_reporting(const struct run *r, const struct peer *p)
{
    if (p->role == PEERLINK_SINK)
        return (r->state == RUN_RUNNING || r->state == RUN_DRAIN) && p->latest != NULL;
    return p->part >= 0 && p->state == PEER_RUNNING && p->saw_progress;
}

/* receive_beat - p's beat, a Heartbeat's or the one its report carries,
 * taken alike (liveness was noted; clock offset, round trip, campaign);
 * while p reports, what carried it and the clock samples are counted. */
static void receive_beat(struct run *r, struct peer *p, const Smtpstorm__Envelope *env)
{
    const Smtpstorm__Heartbeat *hb = wire_beat_of(env);
    int sample;

    if (hb == NULL)
        return;
    sample = registry_beat(p, hb, clock_wall_ns(), clock_mono_ns()) == 0;
    if (receive_reporting(r, p)) {
        p->clock_samples += sample;
        p->heartbeats += env->body_case == SMTPSTORM__ENVELOPE__BODY_HEARTBEAT;
    }
}

/* receive_dispatch - one message from known peer p; *kept when env is now p's.
 * Its beat is taken first, whatever becomes of the rest. */
static void receive_dispatch(struct run *r, struct peer *p, Smtpstorm__Envelope *env, int *kept)
{
    receive_beat(r, p, env);
    switch (env->body_case) {
    case SMTPSTORM__ENVELOPE__BODY_HEARTBEAT:
        break;                  /* its beat, taken above, is all it says */
    case SMTPSTORM__ENVELOPE__BODY_READY:
        if (p->part >= 0 && p->state == PEER_ASSIGNED && strcmp(env->ready->campaign, r->campaign) == 0)
            p->state = PEER_READY;
        else if (p->part >= 0 && r->state == RUN_RUNNING && strcmp(env->ready->campaign, r->campaign) == 0)
            rebalance_ready(r, p);          /* an extra share taken */
        break;
    case SMTPSTORM__ENVELOPE__BODY_PROGRESS:
        receive_progress(r, p, env, kept);
        break;
    case SMTPSTORM__ENVELOPE__BODY_DONE:
        receive_done(r, p, env, kept);
        break;
    case SMTPSTORM__ENVELOPE__BODY_ERROR:
        receive_error(r, p, env->error);
        break;
    case SMTPSTORM__ENVELOPE__BODY_SINK_COUNTERS:
        receive_counters(r, p, env, kept);
        break;
    default:
        r->dropped++;           /* workload, start, stop: not for a coordinator */
        break;
    }
}

/* receive_frame - one frame from route on z (the socket for role). */
static void receive_frame(struct run *r, struct zlink *z, const uint8_t *route, size_t len,
                          const uint8_t *data, size_t dlen, enum peerlink_role role)
{
    Smtpstorm__Envelope *env;
    struct peer *p;
    int rc, kept = 0;

    rc = wire_decode(data, dlen, &env);
    if (rc == -EPROTONOSUPPORT) {
        peers_refuse_version(r, z, route, len, env);
        wire_free(env);
        return;
    }
    if (rc != 0) {
        r->dropped++;
        log_debug("dropped an undecodable message of %zu octets", dlen);
        return;
    }
    if (env->body_case == SMTPSTORM__ENVELOPE__BODY_HELLO) {
        peers_hello(r, z, route, len, env->hello, role);
    } else if ((p = registry_by_route(&r->reg, z, route, len)) == NULL) {
        if (wire_beat_of(env) == NULL)
            r->dropped++;               /* a beat (a Heartbeat's, a report's) is a peer
                                         * reconnecting: not garbage */
        send_error_to(z, route, len, SMTPSTORM__ERROR__CODE__UNKNOWN_PEER, "say hello first");
    } else if (zlink_user(z) != NULL && strcmp(zlink_user(z), p->key) != 0) {
        r->impostors++;                 /* another key on p's route: never p's words */
    } else {
        registry_heard(p, clock_mono_ns());
        receive_dispatch(r, p, env, &kept);
    }
    if (!kept)
        wire_free(env);
}

void receive_on_ctl(struct zlink *z, const uint8_t *route, size_t len, const uint8_t *data,
                    size_t dlen, void *arg)
{
    receive_frame(arg, z, route, len, data, dlen, PEERLINK_AGENT);
}

void receive_on_snk(struct zlink *z, const uint8_t *route, size_t len, const uint8_t *data,
                    size_t dlen, void *arg)
{
    receive_frame(arg, z, route, len, data, dlen, PEERLINK_SINK);
}
