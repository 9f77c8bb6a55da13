/* peerlink.c - the agent's and sink's side of the control plane: hello,
 * heartbeats (most of them carried by the reports), dead-man switch,
 * workload/start/stop callbacks, progress, done and sink counters (see
 * peerlink.h). */
#include "peerlink.h"
#include "clock.h"
#include "log.h"
#include "trace.h"
#include "wire_build.h"
#include "zlink.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PEERLINK_HELLO_MS 200   /* hello retry while not welcomed */
/* A report carries the peer's beat, and a Heartbeat goes only when nothing
 * carrying one went for a beat interval. Reports timed "one interval after
 * the last" (sink/link.c, simpeer) come a little more than an interval
 * apart: a report that late by up to a quarter interval still stands for
 * the beat. The coordinator declares a peer lost after 4 s of silence. */
#define PEERLINK_REPORT_GRACE(beat_ns) ((beat_ns) / 4)
#define PEERLINK_DEAD_MS_DEFAULT 5000   /* peerlink_opts.dead_ms 0 */

#ifndef SMTPSTORM_VERSION
#define SMTPSTORM_VERSION "unknown"
#endif

struct peerlink {
    struct zlink *z;
    struct ev_loop *loop;
    struct peerlink_callbacks cb;
    void *arg;
    enum peerlink_role role;
    char id[TRACE_ID_MAX];
    char host[256];
    uint32_t cores;
    uint32_t version;
    uint64_t beat_ns, dead_ns;
    uint64_t report_ns;         /* the workload's report interval (the coordinator's); 0: none said */
    struct ev_timer beat;
    struct wire_beat wb;
    uint64_t beat_tx_ns;        /* monotonic: the last send that carried our beat; 0: none */
    int beat_tx_report;         /* and it was a report (not a Heartbeat) */
    int welcomed;
    uint64_t last_rx_ns;        /* monotonic */
    uint64_t dropped;
    char campaign[TRACE_ID_MAX];    /* accepted workload, "" when none */
    int started, done;
    uint32_t extension;         /* the last extra share taken for it (--rebalance) */
    char started_sink[TRACE_ID_MAX];    /* sinks: last campaign started */
    uint8_t *done_buf;          /* the last Done, for resending */
    size_t done_len;
    uint64_t sink_seq;
    struct wire_progress_store *store;
};

static int peerlink_send(struct peerlink *pl, Smtpstorm__Envelope *env)
{
    uint8_t *buf;
    size_t len;
    int rc;

    if ((rc = wire_encode(env, &buf, &len)) != 0)
        return rc;
    if (pl->version != WIRE_VERSION) {
        /* Tests only: pretend to be a build of another wire version. */
        env->version = pl->version;
        free(buf);
        if ((buf = malloc(smtpstorm__envelope__get_packed_size(env) + 1)) == NULL)
            return -ENOMEM;
        len = smtpstorm__envelope__pack(env, buf);
    }
    rc = zlink_send(pl->z, NULL, 0, buf, len);
    free(buf);
    return rc;
}

static void peerlink_send_hello(struct peerlink *pl)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__Hello hello = SMTPSTORM__HELLO__INIT;

    hello.id = pl->id;
    hello.host = pl->host;
    hello.cores = pl->cores;
    hello.version = (char *)SMTPSTORM_VERSION;
    hello.role = pl->role == PEERLINK_SINK ? SMTPSTORM__ROLE__ROLE_SINK : SMTPSTORM__ROLE__ROLE_AGENT;
    hello.clock_ns = clock_wall_ns();
    hello.pid = (uint32_t)getpid();
    hello.dead_ms = (uint32_t)(pl->dead_ns / NS_PER_MS);
    env.body_case = SMTPSTORM__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    (void)peerlink_send(pl, &env);
}

/* peerlink_beat_campaign - what our beats name: the campaign we run, or "". */
static const char *peerlink_beat_campaign(const struct peerlink *pl)
{
    return pl->campaign[0] && !pl->done ? pl->campaign : "";
}

/* peerlink_beat_sent - a message carrying our beat has gone (report: in a
 * report, not a Heartbeat of its own). */
static void peerlink_beat_sent(struct peerlink *pl, int report)
{
    pl->beat_tx_ns = clock_mono_ns();
    pl->beat_tx_report = report;
}

static void peerlink_send_heartbeat(struct peerlink *pl)
{
    struct wire_out out;

    if (peerlink_send(pl, wire_build_heartbeat(&out, &pl->wb, peerlink_beat_campaign(pl))) == 0)
        peerlink_beat_sent(pl, 0);
}

/* peerlink_beat_due - when a Heartbeat of our own is due: a beat interval
 * after the last message that carried our beat (and a grace more after a
 * report, the next of which may come a little late); 0: now. */
static uint64_t peerlink_beat_due(const struct peerlink *pl)
{
    uint64_t wait = pl->beat_ns;

    if (pl->beat_tx_ns == 0)
        return 0;
    if (!pl->beat_tx_report)
        return pl->beat_tx_ns + wait;
    /* A campaign whose reports the coordinator asked for less often than
     * every beat interval (thousands of agents): the next report stands
     * for the beat; the coordinator chose its interval within its
     * --heartbeat-timeout. */
    if (pl->report_ns > wait && pl->campaign[0] && !pl->done)
        wait = pl->report_ns;
    return pl->beat_tx_ns + wait + PEERLINK_REPORT_GRACE(wait);
}

static void peerlink_send_error(struct peerlink *pl, Smtpstorm__Error__Code code,
                                const char *campaign, const char *text)
{
    struct wire_out out;

    (void)peerlink_send(pl, wire_build_error(&out, code, campaign, text));
}

static void peerlink_send_ready(struct peerlink *pl)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__Ready r = SMTPSTORM__READY__INIT;

    r.campaign = pl->campaign;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_READY;
    env.ready = &r;
    (void)peerlink_send(pl, &env);
}

/* peerlink_on_beat - the dead-man switch, then hello while not welcomed,
 * or a Heartbeat when no report carried our beat for a beat interval. */
static void peerlink_on_beat(struct ev_loop *loop, void *arg)
{
    struct peerlink *pl = arg;
    uint64_t now = clock_mono_ns(), due;

    if (pl->welcomed && now > pl->last_rx_ns && now - pl->last_rx_ns > pl->dead_ns) {
        pl->welcomed = 0;
        log_warn("coordinator silent for %llu ms: stopping load until it answers",
                 (unsigned long long)((now - pl->last_rx_ns) / NS_PER_MS));
        if (pl->cb.lost)
            pl->cb.lost(pl, pl->arg);
    }
    if (!pl->welcomed) {
        peerlink_send_hello(pl);
        ev_timer_start(loop, &pl->beat, PEERLINK_HELLO_MS * NS_PER_MS);
        return;
    }
    if (peerlink_beat_due(pl) <= now)
        peerlink_send_heartbeat(pl);
    due = peerlink_beat_due(pl);
    /* At the latest a beat interval from now, so that the dead-man switch
     * is looked at as often as before; a Heartbeat that failed (no
     * connection) is tried again then. */
    ev_timer_start_at(loop, &pl->beat, due > now && due - now < pl->beat_ns ? due : now + pl->beat_ns);
}

/* peerlink_on_extension - an extra share for the campaign being run (or
 * run last), or, for an agent holding no part of it, a part to join with. */
static void peerlink_on_extension(struct peerlink *pl, const Smtpstorm__Workload *w)
{
    char why[256] = "";
    int rc, joins = !pl->campaign[0] || strcmp(pl->campaign, w->campaign) != 0;

    if (pl->role != PEERLINK_AGENT || pl->cb.extend == NULL) {
        peerlink_send_error(pl, SMTPSTORM__ERROR__CODE__REFUSED, w->campaign, "extra share refused: not an agent");
        return;
    }
    if (joins && pl->campaign[0] && !pl->done) {
        snprintf(why, sizeof(why), "extra share refused: busy with campaign %s", pl->campaign);
        peerlink_send_error(pl, SMTPSTORM__ERROR__CODE__REFUSED, w->campaign, why);
        return;
    }
    if (!joins && w->extension <= pl->extension) {
        peerlink_send_ready(pl);        /* a repeat: our Ready was lost */
        return;
    }
    rc = pl->cb.extend(pl, w, why, sizeof(why), pl->arg);
    if (rc == -EAGAIN)
        return;         /* not yet: the coordinator repeats it until answered */
    if (rc != 0) {
        peerlink_send_error(pl, SMTPSTORM__ERROR__CODE__REFUSED, w->campaign,
                            why[0] ? why : "extra share refused");
        return;
    }
    if (joins) {                        /* started already: a Start for it changes nothing */
        snprintf(pl->campaign, sizeof(pl->campaign), "%s", w->campaign);
        pl->started = 1;
        pl->report_ns = (uint64_t)w->report_interval_ms * NS_PER_MS;
    }
    pl->extension = w->extension;
    if (pl->done || joins) {            /* its part was done: the campaign runs again */
        pl->done = 0;
        free(pl->done_buf);
        pl->done_buf = NULL;
    }
    peerlink_send_ready(pl);
}

static void peerlink_on_workload(struct peerlink *pl, const Smtpstorm__Workload *w)
{
    char why[256] = "";
    int rc;

    if (w->extension) {
        peerlink_on_extension(pl, w);
        return;
    }
    if (pl->campaign[0] && strcmp(pl->campaign, w->campaign) == 0) {
        peerlink_send_ready(pl);        /* a repeat: our Ready was lost */
        return;
    }
    if (pl->campaign[0] && !pl->done) {
        snprintf(why, sizeof(why), "busy with campaign %s", pl->campaign);
        peerlink_send_error(pl, SMTPSTORM__ERROR__CODE__REFUSED, w->campaign, why);
        return;
    }
    if (pl->role != PEERLINK_AGENT || pl->cb.workload == NULL) {
        peerlink_send_error(pl, SMTPSTORM__ERROR__CODE__REFUSED, w->campaign, "not an agent");
        return;
    }
    rc = pl->cb.workload(pl, w, why, sizeof(why), pl->arg);
    if (rc == -EAGAIN)
        return;         /* not yet: the coordinator repeats its workload until answered */
    if (rc != 0) {
        peerlink_send_error(pl, SMTPSTORM__ERROR__CODE__REFUSED, w->campaign,
                            why[0] ? why : "workload refused");
        return;
    }
    snprintf(pl->campaign, sizeof(pl->campaign), "%s", w->campaign);
    pl->started = pl->done = 0;
    pl->extension = 0;
    pl->report_ns = (uint64_t)w->report_interval_ms * NS_PER_MS;
    free(pl->done_buf);
    pl->done_buf = NULL;
    peerlink_send_ready(pl);
}

static void peerlink_on_start(struct peerlink *pl, const Smtpstorm__Start *s)
{
    uint64_t local = s->start_ns + (uint64_t)s->offset_ns;

    if (pl->role == PEERLINK_SINK) {
        if ((strcmp(pl->started_sink, s->campaign) == 0) != s->join)
            return;             /* a repeated Start, or agents joining another campaign */
        snprintf(pl->started_sink, sizeof(pl->started_sink), "%s", s->campaign);
    } else {
        if (strcmp(pl->campaign, s->campaign) != 0 || pl->started || pl->done)
            return;
        pl->started = 1;
    }
    if (pl->cb.start)
        pl->cb.start(pl, s, local, pl->arg);
}

static void peerlink_on_stop(struct peerlink *pl, const Smtpstorm__Stop *s)
{
    int mine = s->campaign[0] == '\0' || strcmp(s->campaign, pl->campaign) == 0;

    if (!pl->campaign[0] || !mine)
        return;
    if (pl->done) {
        if (pl->done_buf)
            (void)zlink_send(pl->z, NULL, 0, pl->done_buf, pl->done_len);
        return;
    }
    if (pl->cb.stop)
        pl->cb.stop(pl, pl->campaign, wire_text(s->reason), pl->arg);
}

static void peerlink_on_error(struct peerlink *pl, const Smtpstorm__Error *e)
{
    switch (e->code) {
    case SMTPSTORM__ERROR__CODE__UNKNOWN_PEER:
        pl->welcomed = 0;
        peerlink_send_hello(pl);
        break;
    case SMTPSTORM__ERROR__CODE__VERSION:
    case SMTPSTORM__ERROR__CODE__DUPLICATE_ID:
        if (pl->cb.refused)
            pl->cb.refused(pl, wire_text(e->text), pl->arg);
        else
            log_error("coordinator refused us: %s", wire_text(e->text));
        break;
    default:
        log_warn("coordinator: %s", wire_text(e->text));
        break;
    }
}

/* peerlink_on_behaviour - (sinks) a behaviour for a campaign: the
 * callback's error, if any, goes back as an Error naming the campaign. */
static void peerlink_on_behaviour(struct peerlink *pl, const Smtpstorm__SinkBehaviour *b)
{
    char why[512] = "";

    if (pl->role != PEERLINK_SINK || pl->cb.behaviour == NULL) {
        pl->dropped++;
        return;
    }
    if (pl->cb.behaviour(pl, b, why, sizeof(why), pl->arg) != 0)
        peerlink_send_error(pl, SMTPSTORM__ERROR__CODE__BAD_MESSAGE, b->campaign,
                            why[0] ? why : "behaviour refused");
}

static void peerlink_dispatch(struct peerlink *pl, const Smtpstorm__Envelope *env)
{
    switch (env->body_case) {
    case SMTPSTORM__ENVELOPE__BODY_HEARTBEAT: {
        int64_t off;
        uint64_t rtt;

        (void)wire_beat_receive(&pl->wb, wire_beat_of(env), clock_wall_ns(), clock_mono_ns(), &off, &rtt);
        pl->welcomed = 1;
        break;
    }
    case SMTPSTORM__ENVELOPE__BODY_WORKLOAD:
        pl->welcomed = 1;
        peerlink_on_workload(pl, env->workload);
        break;
    case SMTPSTORM__ENVELOPE__BODY_START:
        pl->welcomed = 1;
        peerlink_on_start(pl, env->start);
        break;
    case SMTPSTORM__ENVELOPE__BODY_STOP:
        pl->welcomed = 1;
        peerlink_on_stop(pl, env->stop);
        break;
    case SMTPSTORM__ENVELOPE__BODY_ERROR:
        peerlink_on_error(pl, env->error);
        break;
    case SMTPSTORM__ENVELOPE__BODY_SINK_BEHAVIOUR:
        pl->welcomed = 1;
        peerlink_on_behaviour(pl, env->sink_behaviour);
        break;
    default:
        pl->dropped++;          /* nothing else is for us */
        break;
    }
}

static void peerlink_on_recv(struct zlink *z, const uint8_t *peer, size_t peerlen,
                             const uint8_t *data, size_t len, void *arg)
{
    struct peerlink *pl = arg;
    Smtpstorm__Envelope *env;
    char text[160];
    int rc;

    (void)z;
    (void)peer;
    (void)peerlen;
    rc = wire_decode(data, len, &env);
    if (rc == -EPROTONOSUPPORT) {
        wire_version_refusal(text, sizeof(text), "the coordinator", env->version, "this program", WIRE_VERSION);
        wire_free(env);
        if (pl->cb.refused)
            pl->cb.refused(pl, text, pl->arg);
        else
            log_error("%s", text);
        return;
    }
    if (rc != 0) {
        pl->dropped++;
        return;
    }
    pl->last_rx_ns = clock_mono_ns();
    peerlink_dispatch(pl, env);
    wire_free(env);
}

int peerlink_keys_apply(struct peerlink_opts *o, struct peerlink_keys *k, const char *key_file,
                        const char *coordinator_key_file, int insecure, char *err, size_t errlen)
{
    char why[512];
    int rc;

    o->insecure = insecure;
    o->key = NULL;
    o->coordinator_key = NULL;
    if (!key_file != !coordinator_key_file) {
        snprintf(err, errlen, "--key and --coordinator-key go together: this program's NAME.key and "
                 "the coordinator's NAME.pub (see smtpstorm keygen)");
        return -EINVAL;
    }
    if (key_file == NULL) {
        if (insecure || o->endpoint == NULL || zlink_endpoint_loopback(o->endpoint))
            return 0;
        snprintf(err, errlen, "--coordinator %s is not a loopback address: give --key NAME.key and "
                 "--coordinator-key COORDINATOR.pub (see smtpstorm keygen and docs/security.md), or "
                 "--insecure on a network you trust", o->endpoint);
        return -EPERM;
    }
    if ((rc = keys_load_secret(key_file, &k->key, why, sizeof(why))) != 0) {
        snprintf(err, errlen, "--key: %s", why);
        return rc;
    }
    if ((rc = keys_load_public(coordinator_key_file, k->coordinator_key, why, sizeof(why))) != 0) {
        snprintf(err, errlen, "--coordinator-key: %s", why);
        return rc;
    }
    o->key = &k->key;
    o->coordinator_key = k->coordinator_key;
    return 0;
}

struct peerlink *peerlink_open(void *ctx, struct ev_loop *loop, const struct peerlink_opts *opts,
                               const struct peerlink_callbacks *cb, void *arg,
                               char *err, size_t errlen)
{
    struct zlink_opts zo = { .type = ZLINK_DEALER, .endpoint = opts->endpoint, .bind = 0,
                             .hwm = 64, .linger_ms = 500, .immediate = 1,
                             /* ZMTP pings as often as the coordinator beats us:
                              * a cut connection is redone within 3 of them,
                              * before the dead-man switch fires */
                             .heartbeat_ms = (int)wire_beat_interval_ms(opts->dead_ms ? opts->dead_ms
                                                                        : PEERLINK_DEAD_MS_DEFAULT),
                             .curve_key = opts->key, .curve_server_key = opts->coordinator_key,
                             .insecure = opts->insecure };
    struct peerlink *pl;
    long ncpu;

    assert(ctx != NULL && loop != NULL && opts != NULL);
    if (opts->id == NULL || !trace_id_valid(opts->id)) {
        snprintf(err, errlen, "bad id '%s': use 1 to 63 of A-Z a-z 0-9 . _ : -",
                 opts->id ? opts->id : "");
        return NULL;
    }
    if ((pl = calloc(1, sizeof(*pl))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pl->loop = loop;
    if (cb)
        pl->cb = *cb;
    pl->arg = arg;
    pl->role = opts->role;
    snprintf(pl->id, sizeof(pl->id), "%s", opts->id);
    if (gethostname(pl->host, sizeof(pl->host) - 1) != 0)
        snprintf(pl->host, sizeof(pl->host), "unknown");
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    pl->cores = opts->cores ? opts->cores : (uint32_t)(ncpu > 0 ? ncpu : 1);
    pl->version = opts->wire_version ? opts->wire_version : WIRE_VERSION;
    pl->beat_ns = (opts->heartbeat_ms ? opts->heartbeat_ms : 1000) * NS_PER_MS;
    pl->dead_ns = (opts->dead_ms ? opts->dead_ms : PEERLINK_DEAD_MS_DEFAULT) * NS_PER_MS;
    pl->z = zlink_open(ctx, loop, &zo, peerlink_on_recv, pl, err, errlen);
    if (pl->z == NULL)
        goto fail;
    ev_timer_init(&pl->beat, peerlink_on_beat, pl);
    ev_timer_start(loop, &pl->beat, 0);
    return pl;

fail:
    zlink_close(pl->z);
    free(pl);
    return NULL;
}

static Smtpstorm__Progress *peerlink_fill(struct peerlink *pl, const struct load_stats *s,
                                          const struct wire_progress_meta *meta)
{
    struct wire_progress_meta m = *meta;

    if (pl->store == NULL && (pl->store = wire_progress_store_new()) == NULL)
        return NULL;
    if (m.campaign == NULL)
        m.campaign = pl->campaign;
    return wire_progress_fill(pl->store, s, &m);
}

/* peerlink_send_report - send env, a report whose *beat is ours (filled
 * here, cleared after: its storage is this call's), once welcomed; a
 * report sent stands for a Heartbeat. */
static int peerlink_send_report(struct peerlink *pl, Smtpstorm__Envelope *env, Smtpstorm__Heartbeat **beat)
{
    Smtpstorm__Heartbeat hb;
    int rc;

    if (pl->welcomed)           /* before: nothing of the coordinator's to echo, and no beat due */
        *beat = wire_build_beat(&hb, &pl->wb, peerlink_beat_campaign(pl));
    rc = peerlink_send(pl, env);
    if (rc == 0 && *beat != NULL)
        peerlink_beat_sent(pl, 1);
    *beat = NULL;
    return rc;
}

int peerlink_send_progress(struct peerlink *pl, const struct load_stats *s,
                           const struct wire_progress_meta *meta)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;

    assert(pl != NULL && pl->role == PEERLINK_AGENT && s != NULL && meta != NULL);
    env.progress = peerlink_fill(pl, s, meta);
    if (env.progress == NULL)
        return -ENOMEM;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_PROGRESS;
    return peerlink_send_report(pl, &env, &env.progress->beat);
}

int peerlink_send_done(struct peerlink *pl, const struct load_stats *s,
                       const struct wire_progress_meta *meta, const char *status)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__Done done = SMTPSTORM__DONE__INIT;
    int rc;

    assert(pl != NULL && pl->role == PEERLINK_AGENT && s != NULL && meta != NULL);
    done.final = peerlink_fill(pl, s, meta);
    if (done.final == NULL)
        return -ENOMEM;
    done.campaign = pl->campaign;
    done.status = (char *)(status ? status : "");
    env.body_case = SMTPSTORM__ENVELOPE__BODY_DONE;
    env.done = &done;
    free(pl->done_buf);
    pl->done_buf = NULL;
    pl->done = 1;
    if ((rc = wire_encode(&env, &pl->done_buf, &pl->done_len)) != 0)
        return rc;
    return peerlink_send(pl, &env);
}

/* Build one CampaignCounters; the caller frees cc->agents, *ar and *hs. */
static int peerlink_fill_campaign(Smtpstorm__CampaignCounters *cc, Smtpstorm__AgentReceived **ar,
                                  struct wire_hist_store **hs, const struct peerlink_sink_campaign *c)
{
    size_t j;

    smtpstorm__campaign_counters__init(cc);
    cc->campaign = (char *)c->campaign;
    cc->received = c->received;
    cc->duplicates = c->duplicates;
    cc->bytes = c->bytes;
    cc->seconds = c->seconds;
    if (c->n_agents > 0) {
        cc->agents = calloc(c->n_agents, sizeof(*cc->agents));
        *ar = calloc(c->n_agents, sizeof(**ar));
        if (cc->agents == NULL || *ar == NULL)
            return -ENOMEM;
        cc->n_agents = c->n_agents;
    }
    for (j = 0; j < c->n_agents; j++) {
        smtpstorm__agent_received__init(&(*ar)[j]);
        (*ar)[j].agent = (char *)c->agents[j].agent;
        (*ar)[j].received = c->agents[j].received;
        (*ar)[j].duplicates = c->agents[j].duplicates;
        (*ar)[j].rejected = c->agents[j].rejected;
        (*ar)[j].deferred = c->agents[j].deferred;
        cc->rejected += c->agents[j].rejected;
        cc->deferred += c->agents[j].deferred;
        cc->agents[j] = &(*ar)[j];
    }
    cc->outcomes = (uint64_t *)c->outcomes;
    cc->n_outcomes = c->n_outcomes;
    if (c->delivery != NULL) {
        if ((*hs = malloc(sizeof(**hs))) == NULL)
            return -ENOMEM;
        cc->delivery = wire_hist_fill(*hs, c->delivery, PHASE_DELIVERY);
    }
    return 0;
}

int peerlink_send_sink_counters(struct peerlink *pl, const struct peerlink_sink_counters *c)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__SinkCounters sc = SMTPSTORM__SINK_COUNTERS__INIT;
    Smtpstorm__CampaignCounters *ccs = NULL, **ptrs = NULL;
    Smtpstorm__AgentReceived **ars = NULL;
    struct wire_hist_store **hs = NULL;
    size_t i, n = c->n_campaigns;
    int rc = -ENOMEM;

    assert(pl != NULL && pl->role == PEERLINK_SINK && c != NULL);
    if (n > WIRE_LIST_MAX)
        return -E2BIG;
    ccs = calloc(n + 1, sizeof(*ccs));
    ptrs = calloc(n + 1, sizeof(*ptrs));
    ars = calloc(n + 1, sizeof(*ars));
    hs = calloc(n + 1, sizeof(*hs));
    if (ccs == NULL || ptrs == NULL || ars == NULL || hs == NULL)
        goto out;
    for (i = 0; i < n; i++) {
        ptrs[i] = &ccs[i];
        if (peerlink_fill_campaign(&ccs[i], &ars[i], &hs[i], &c->campaigns[i]) != 0)
            goto out;
    }
    sc.seq = ++pl->sink_seq;
    sc.sessions = c->sessions;
    sc.messages = c->messages;
    sc.untraced = c->untraced;
    sc.campaigns = ptrs;
    sc.n_campaigns = n;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_SINK_COUNTERS;
    env.sink_counters = &sc;
    rc = peerlink_send_report(pl, &env, &sc.beat);
out:
    for (i = 0; ccs && ars && hs && i < n; i++) {
        free(ccs[i].agents);
        free(ars[i]);
        free(hs[i]);
    }
    free(hs);
    free(ars);
    free(ptrs);
    free(ccs);
    return rc;
}

const char *peerlink_campaign(const struct peerlink *pl) { return pl->campaign; }

int peerlink_welcomed(const struct peerlink *pl) { return pl->welcomed; }

uint64_t peerlink_dropped(const struct peerlink *pl) { return pl->dropped + zlink_malformed(pl->z); }

void peerlink_close(struct peerlink *pl)
{
    if (pl == NULL)
        return;
    ev_timer_stop(pl->loop, &pl->beat);
    zlink_close(pl->z);
    wire_progress_store_free(pl->store);
    free(pl->done_buf);
    free(pl);
}
