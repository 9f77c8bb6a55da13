/* peers.c - the coordinator's policy for its peers: a hello (the welcome,
 * a wrong socket, a re-hello after a network cut), a peer of another wire
 * version refused, a sink or an agent that restarted during the campaign,
 * and a peer lost (silent for --heartbeat-timeout). */
#include "run_private.h"
#include "log.h"
#include "wire_build.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void peers_refuse_version(struct run *r, struct zlink *z, const uint8_t *route, size_t len,
                          const Smtpstorm__Envelope *env)
{
    const char *id = env->body_case == SMTPSTORM__ENVELOPE__BODY_HELLO && trace_id_valid(env->hello->id)
        ? env->hello->id : "?";
    char text[200];
    int i;

    wire_version_refusal(text, sizeof(text), "this coordinator", WIRE_VERSION, "you speak", env->version);
    send_error_to(z, route, len, SMTPSTORM__ERROR__CODE__VERSION, text);
    for (i = 0; i < RUN_REFUSED_LOG && r->refused_ids[i][0]; i++)
        if (strcmp(r->refused_ids[i], id) == 0)
            return;
    r->refused++;
    if (i < RUN_REFUSED_LOG)
        snprintf(r->refused_ids[i], sizeof(r->refused_ids[i]), "%s", id);
    log_error("refused peer %s: %s", id,
              wire_version_refusal(text, sizeof(text), "it", env->version, "this coordinator", WIRE_VERSION));
}

/* peers_in_sinks - whether p is one of the campaign's sinks. */
static int peers_in_sinks(const struct run *r, const struct peer *p)
{
    size_t i;

    for (i = 0; i < r->ns; i++)
        if (r->sinks[i] == p)
            return 1;
    return 0;
}

/* peers_sink_restarted - sink p is a new process whose cumulative counters
 * start again from zero: what its earlier run reported for this campaign
 * is kept, as a record of its own in the campaign's sinks (so every total
 * and per-agent sum still counts it), and p starts afresh. */
void peers_sink_restarted(struct run *r, struct peer *p)
{
    struct peer *e = NULL, **grown;

    assert(p->role == PEERLINK_SINK);
    p->restarts++;
    timeline_restarted(&r->tl, p);
    if (r->state >= RUN_RUNNING && peers_in_sinks(r, p) && agg_sink_campaign(p, r->campaign) != NULL
        && (e = malloc(sizeof(*e))) != NULL
        && (grown = realloc(r->sinks, (r->ns + 1) * sizeof(*grown))) != NULL) {
        r->sinks = grown;
        if ((grown = realloc(r->earlier, (r->nearlier + 1) * sizeof(*grown))) != NULL) {
            r->earlier = grown;
            *e = *p;
            snprintf(e->id, sizeof(e->id), "%.50s#%u", p->id, p->restarts);
            e->alive = 0;
            e->route_len = 0;
            e->earlier = 1;
            r->earlier[r->nearlier++] = e;
            r->sinks[r->ns++] = e;
            p->latest = NULL;       /* now e's */
            log_warn("sink %s restarted during the campaign: the %llu messages its earlier run "
                     "reported are kept (as %s); what it took after its last report is lost",
                     p->id, (unsigned long long)agg_sink_campaign(e, r->campaign)->received, e->id);
            e = NULL;
        }
    }
    free(e);
    registry_keep_latest(p, NULL, 0);
}

/* peers_sink_hello_again - a known sink said hello again: a new process
 * (another pid; or, found later, counters starting over), or the same one
 * back after a network cut. Either way it gets the running campaign's
 * Start again (its agents' clock offsets). */
static void peers_sink_hello_again(struct run *r, struct peer *p, int new_pid)
{
    p->rehello = 1;
    if (new_pid && p->latest != NULL)
        peers_sink_restarted(r, p);
    if ((r->state == RUN_RUNNING || r->state == RUN_DRAIN) && peers_in_sinks(r, p))
        send_start(r, p);
}

/* peers_key_may_claim - key (an authorized key's name) may speak for id:
 * its own name, or one of its family NAME-* (replicas sharing a key). */
static int peers_key_may_claim(const char *key, const char *id)
{
    size_t n = strlen(key);

    return strcmp(id, key) == 0 || (strncmp(id, key, n) == 0 && id[n] == '-' && id[n + 1] != '\0');
}

/* peers_first_saying - nonzero the first time (key, id) is seen, while
 * said has room: each impostor is named once, not at every retry. */
static int peers_first_saying(char said[][KEYS_NAME_MAX + TRACE_ID_MAX + 2], const char *key, const char *id)
{
    char pair[KEYS_NAME_MAX + TRACE_ID_MAX + 2];
    size_t i;

    snprintf(pair, sizeof(pair), "%s %s", key, id);
    for (i = 0; i < RUN_REFUSED_LOG; i++) {
        if (strcmp(said[i], pair) == 0)
            return 0;
        if (said[i][0] == '\0') {
            memcpy(said[i], pair, sizeof(pair));
            return 1;
        }
    }
    return 0;
}

int peers_impostor(struct run *r, struct zlink *z, const uint8_t *route, size_t len, const char *id)
{
    const char *key = zlink_user(z);
    char text[256];

    if (key == NULL || peers_key_may_claim(key, id))
        return 0;
    r->impostors++;
    if (peers_first_saying(r->impostor_said, key, id))
        log_warn("refused a hello as %s from the key %s: that key speaks only as %s or %s-*", id, key, key, key);
    snprintf(text, sizeof(text), "id %s is not this key's: the key %s speaks only as %s or %s-*", id, key,
             key, key);
    send_error_to(z, route, len, SMTPSTORM__ERROR__CODE__OTHER, text);
    return 1;
}

void peers_hello(struct run *r, struct zlink *z, const uint8_t *route, size_t len,
                 const Smtpstorm__Hello *h, enum peerlink_role want)
{
    enum peerlink_role role = h->role == SMTPSTORM__ROLE__ROLE_SINK ? PEERLINK_SINK : PEERLINK_AGENT;
    struct peer *p, *old;
    uint32_t old_pid = 0;

    if (peers_impostor(r, z, route, len, h->id))
        return;
    if (role != want) {
        send_error_to(z, route, len, SMTPSTORM__ERROR__CODE__OTHER, want == PEERLINK_SINK
                          ? "this is the coordinator's sink endpoint: agents connect to its --bind"
                          : "this is the coordinator's control endpoint: sinks connect to its --sink-bind");
        r->dropped++;
        return;
    }
    old = registry_by_id(&r->reg, role, h->id);
    if (old != NULL)
        old_pid = old->pid;
    if ((p = registry_hello(&r->reg, z, route, len, h, clock_mono_ns())) == NULL) {
        send_error_to(z, route, len, SMTPSTORM__ERROR__CODE__OTHER, "too many peers");
        return;
    }
    snprintf(p->key, sizeof(p->key), "%s", zlink_user(z) ? zlink_user(z) : "");
    if (old == NULL)
        log_debug("%s %s (%s, %u cores) said hello", role == PEERLINK_SINK ? "sink" : "agent",
                  p->id, p->host, p->cores);
    if (old != NULL && role == PEERLINK_SINK)
        peers_sink_hello_again(r, p, old_pid != h->pid);
    if (old != NULL && old_pid != h->pid && p->part >= 0 && p->state != PEER_DONE && !p->lost) {
        p->lost = 1;
        snprintf(p->status, sizeof(p->status), "restarted during the campaign");
        log_warn("agent %s restarted during the campaign: its counts so far are lost", p->id);
        rebalance_lost(r, p, p->status);
    }
    send_beat(r, p);        /* the welcome */
}

void peers_on_dead(struct peer *p, void *arg)
{
    struct run *r = arg;
    const Smtpstorm__Progress *pr;
    size_t i;

    if (p->role == PEERLINK_AGENT && p->part >= 0 && p->state != PEER_DONE && !p->lost) {
        pr = agg_progress_of(p);
        p->lost = 1;
        timeline_retire(&r->tl, p);
        snprintf(p->status, sizeof(p->status), "lost: silent for %d s", (int)(r->cfg->peer_timeout_ms / 1000));
        log_warn("agent %s (%s) lost: silent for %d s, after %llu messages accepted", p->id, p->host,
                 (int)(r->cfg->peer_timeout_ms / 1000), (unsigned long long)(pr ? pr->messages_accepted : 0));
        rebalance_lost(r, p, p->status);
    }
    for (i = 0; p->role == PEERLINK_SINK && r->state >= RUN_RUNNING && i < r->ns; i++) {
        if (r->sinks[i] == p) {
            timeline_retire(&r->tl, p);
            log_warn("sink %s (%s) lost: silent for %d s", p->id, p->host, (int)(r->cfg->peer_timeout_ms / 1000));
        }
    }
}
