/* fuzz_wire.c - fuzz every control-plane message handler short of the
 * sockets: lib/wire's decoding and validation of each message type, and
 * the coordinator's use of what passed (registry hello and heartbeats,
 * latest reports kept, totals, merged counters and histograms, per-agent
 * sink counts). The input is a conversation of frames, each
 * [route octet][length, 2 octets little-endian][frame]; a trailing
 * incomplete record is one frame of what is left. Checks: no read past a
 * frame, every accepted envelope encodes again, merged
 * histograms stay consistent, no leak. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator.h"
#include "clock.h"
#include "registry.h"
#include "wire.h"

#define FUZZ_PEERS 8

struct conv {
    struct registry reg;
    char campaign[TRACE_ID_MAX];
    uint64_t now_ns;
};

/* roundtrip - an accepted envelope encodes again, and that decodes
 * without harm. Not always to the same: protobuf-c keeps an unknown field
 * of number 0 (a multi-octet tag) that it then packs as a one-octet tag
 * it refuses; received envelopes are never sent on, so that is harmless. */
static void roundtrip(Smtpstorm__Envelope *env)
{
    Smtpstorm__Envelope *again;
    uint8_t *buf;
    size_t len;
    int rc;

    rc = wire_encode(env, &buf, &len);
    if (rc == -EMSGSIZE || rc == -ENOMEM)
        return;
    if (rc != 0)
        abort();
    if (wire_decode(buf, len, &again) == 0 && again->body_case != env->body_case)
        abort();
    wire_free(again);
    free(buf);
}

/* check_hist - a merged histogram is consistent: p99 never above max. */
static void check_hist(const struct hist *h)
{
    if (h->count > 0 && hist_percentile(h, 99.0) > h->max)
        abort();
}

/* dispatch - the coordinator's run_dispatch, without the sockets. */
static void dispatch(struct conv *c, struct peer *p, Smtpstorm__Envelope *env, int *kept)
{
    const Smtpstorm__Heartbeat *hb = wire_beat_of(env);
    struct load_stats st;
    int64_t off;
    uint64_t rtt;

    if (hb != NULL) {           /* a Heartbeat's, or the one a report carries */
        (void)registry_beat(p, hb, c->now_ns, c->now_ns);
        (void)wire_beat_receive(&p->beat, hb, c->now_ns, c->now_ns, &off, &rtt);
    }
    switch (env->body_case) {
    case SMTPSTORM__ENVELOPE__BODY_HEARTBEAT:
        break;
    case SMTPSTORM__ENVELOPE__BODY_PROGRESS:
        if (c->campaign[0] == '\0')
            snprintf(c->campaign, sizeof(c->campaign), "%s", env->progress->campaign);
        stats_init(&st);
        if (wire_progress_merge(&st, env->progress) != 0)
            abort();            /* wire_decode let it through */
        p->part = 0;
        if (p->role == PEERLINK_AGENT && strcmp(env->progress->campaign, c->campaign) == 0
            && (p->latest == NULL || env->progress->seq > p->latest_seq)) {
            registry_keep_latest(p, env, env->progress->seq);
            *kept = 1;
        }
        break;
    case SMTPSTORM__ENVELOPE__BODY_DONE:
        if (p->role == PEERLINK_AGENT && strcmp(env->done->campaign, c->campaign) == 0) {
            registry_keep_latest(p, env, UINT64_MAX);
            *kept = 1;
        }
        break;
    case SMTPSTORM__ENVELOPE__BODY_SINK_COUNTERS:
        if (p->role == PEERLINK_SINK && (p->latest == NULL || env->sink_counters->seq > p->latest_seq)) {
            registry_keep_latest(p, env, env->sink_counters->seq);
            *kept = 1;
        }
        break;
    default:
        (void)wire_body_name(env);
        break;
    }
}

static void frame(struct conv *c, uint8_t route, const uint8_t *data, size_t len)
{
    Smtpstorm__Envelope *env;
    struct peer *p;
    int rc, kept = 0;
    uint8_t *copy = malloc(len ? len : 1);      /* exact size: ASan sees overreads */

    if (copy == NULL)
        return;
    memcpy(copy, data, len);
    rc = wire_decode(copy, len, &env);
    free(copy);
    c->now_ns += 100 * NS_PER_MS;
    if (rc == -EPROTONOSUPPORT) {
        if (env == NULL || env->version == 0 || env->version == WIRE_VERSION)
            abort();
        wire_free(env);
        return;
    }
    if (rc != 0) {
        if (env != NULL)
            abort();
        return;
    }
    roundtrip(env);
    if (env->body_case == SMTPSTORM__ENVELOPE__BODY_HELLO) {
        (void)registry_hello(&c->reg, (struct zlink *)c, &route, 1, env->hello, c->now_ns);
    } else if ((p = registry_by_route(&c->reg, (struct zlink *)c, &route, 1)) != NULL) {
        registry_heard(p, c->now_ns);
        dispatch(c, p, env, &kept);
    }
    if (!kept)
        wire_free(env);
}

/* totals - what the coordinator computes from the peers' latest reports. */
static void totals(struct conv *c)
{
    struct peer *agents[FUZZ_PEERS], *sinks[FUZZ_PEERS];
    size_t na, ns, i;
    struct agg_totals t;
    struct load_stats *st = malloc(sizeof(*st));
    struct hist *h = malloc(sizeof(*h));
    struct sink_count sc;

    if (st == NULL || h == NULL)
        goto out;
    na = registry_list(&c->reg, PEERLINK_AGENT, 0, agents, FUZZ_PEERS);
    ns = registry_list(&c->reg, PEERLINK_SINK, 0, sinks, FUZZ_PEERS);
    agg_totals(agents, na, sinks, ns, c->campaign, &t);
    stats_init(st);
    agg_merge_stats(agents, na, st);
    for (i = 0; i < PHASE_COUNT; i++)
        check_hist(&st->latency[i]);
    hist_init(h);
    agg_merge_delivery(sinks, ns, c->campaign, h);
    check_hist(h);
    hist_init(h);
    agg_merge_phase(agents, na, PHASE_MESSAGE, h);
    for (i = 0; i < na; i++)
        agg_sink_for_agent(sinks, ns, c->campaign, agents[i]->id, &sc);
out:
    free(st);
    free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct conv c;
    size_t len;

    memset(&c, 0, sizeof(c));
    registry_init(&c.reg, 4000);
    c.now_ns = 1700000000ull * NS_PER_SEC;
    while (size >= 3) {
        len = (size_t)data[1] | (size_t)data[2] << 8;
        if (len > size - 3)
            len = size - 3;
        frame(&c, data[0] % FUZZ_PEERS, data + 3, len);
        data += 3 + len;
        size -= 3 + len;
    }
    totals(&c);
    registry_free(&c.reg);
    return 0;
}
