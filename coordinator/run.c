/* run.c - one campaign from hello to report (see run.h): a state machine
 * (wait for peers, ready, run, drain) driven by a 100 ms tick in a lib/ev
 * loop, with the two ROUTER sockets of lib/zlink feeding the registry. */
#include "run.h"
#include "aggregator.h"
#include "clock.h"
#include "exporter.h"
#include "local.h"
#include "log.h"
#include "metrics.h"
#include "planner.h"
#include "progress.h"
#include "registry.h"
#include "result.h"
#include "phases.h"
#include "timeline.h"
#include "wire.h"
#include "wire_build.h"
#include "zap.h"
#include "zlink.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define RUN_TICK_NS         (100 * NS_PER_MS)
#define RUN_BEAT_NS         NS_PER_SEC          /* heartbeats to every peer */
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

enum run_state { RUN_WAIT, RUN_READY, RUN_RUNNING, RUN_DRAIN, RUN_END };

struct run {
    const struct run_config *cfg;
    struct ev_loop *loop;
    void *zctx;
    struct zlink *ctl, *snk;
    struct keys_secret key;                 /* --key */
    struct keys_ring authorized;            /* --authorized-keys */
    struct zap *zap;                        /* admits only those; NULL: no allow-list */
    struct registry reg;
    struct timeline tl;                     /* by event time, from the peers' rows */
    struct aggregator agg;                  /* the timeline for the reporters, at the end */
    struct progress_line line;
    struct local *local;
    struct metrics_server *metrics;         /* --metrics; NULL: off */
    struct metrics_text metrics_text;       /* rebuilt every second, published to it */
    enum run_state state;
    char campaign[TRACE_ID_MAX];
    int want_agents, want_sinks;
    uint64_t t0_ns, deadline_ns;
    uint64_t start_wall_ns, start_ns;       /* the campaign's start: wall and monotonic */
    uint64_t stop_at_ns;                    /* Stop sent; 0: not */
    uint64_t drain_ns, drain_change_ns, drain_received;
    struct peer **agents;                   /* taking part, by id */
    size_t na;
    struct peer **sinks;                    /* present at the start, by id; then their earlier runs */
    size_t ns;
    struct peer **earlier;                  /* owned: restarted sinks' earlier runs (also in sinks) */
    size_t nearlier;
    struct plan_part *parts;
    uint8_t *content;                       /* -F file */
    size_t content_len;
    struct ev_timer tick, beat;
    uint64_t dropped, refused;
    char refused_ids[RUN_REFUSED_LOG][TRACE_ID_MAX];
    int agents_missing, sinks_missing, refusals;
    int interrupted, ran;
    uint64_t last_line_ns, last_accepted;
    double rate;
    enum run_exit exit_code;
};

static volatile sig_atomic_t run_signals;

/* since - how long ago then was at now; 0 when then is later (set during
 * this very tick), so no unsigned difference ever wraps. */
static uint64_t since(uint64_t now, uint64_t then)
{
    return now > then ? now - then : 0;
}
static struct ev_loop *run_signal_loop;

static void run_on_signal(int sig)
{
    (void)sig;
    run_signals++;
    if (run_signal_loop != NULL)
        ev_wake(run_signal_loop);
}

static void run_send(struct run *r, struct peer *p, Smtpstorm__Envelope *env)
{
    int rc;

    if (p->route_len == 0)
        return;
    rc = zlink_send_env(p->z, p->route, p->route_len, env);
    if (rc != 0 && rc != -EHOSTUNREACH && rc != -EAGAIN)
        log_debug("send %s to %s: %s", wire_body_name(env), p->id, strerror(-rc));
    (void)r;
}

static void run_send_error_to(struct zlink *z, const uint8_t *route, size_t len,
                              Smtpstorm__Error__Code code, const char *text)
{
    struct wire_out out;

    (void)zlink_send_env(z, route, len, wire_build_error(&out, code, NULL, text));
}

static void run_send_beat(struct run *r, struct peer *p)
{
    struct wire_out out;
    const char *campaign = r->state == RUN_RUNNING || r->state == RUN_DRAIN ? r->campaign : "";

    run_send(r, p, wire_build_heartbeat(&out, &p->beat, campaign));
}

static void run_send_stop(struct run *r, struct peer *p, const char *reason)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__Stop s = SMTPSTORM__STOP__INIT;

    s.campaign = r->campaign;
    s.reason = (char *)reason;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_STOP;
    env.stop = &s;
    run_send(r, p, &env);
}

/* ---- messages from peers ---- */

static void run_refuse_version(struct run *r, struct zlink *z, const uint8_t *route, size_t len,
                               const Smtpstorm__Envelope *env)
{
    const char *id = env->body_case == SMTPSTORM__ENVELOPE__BODY_HELLO && trace_id_valid(env->hello->id)
        ? env->hello->id : "?";
    char text[200];
    int i;

    wire_version_refusal(text, sizeof(text), "this coordinator", WIRE_VERSION, "you speak", env->version);
    run_send_error_to(z, route, len, SMTPSTORM__ERROR__CODE__VERSION, text);
    for (i = 0; i < RUN_REFUSED_LOG && r->refused_ids[i][0]; i++)
        if (strcmp(r->refused_ids[i], id) == 0)
            return;
    r->refused++;
    if (i < RUN_REFUSED_LOG)
        snprintf(r->refused_ids[i], sizeof(r->refused_ids[i]), "%s", id);
    log_error("refused peer %s: %s", id,
              wire_version_refusal(text, sizeof(text), "it", env->version, "this coordinator", WIRE_VERSION));
}

static void run_send_start(struct run *r, struct peer *p);

/* run_in_sinks - whether p is one of the campaign's sinks. */
static int run_in_sinks(const struct run *r, const struct peer *p)
{
    size_t i;

    for (i = 0; i < r->ns; i++)
        if (r->sinks[i] == p)
            return 1;
    return 0;
}

/* run_sink_restarted - sink p is a new process whose cumulative counters
 * start again from zero: what its earlier run reported for this campaign
 * is kept, as a record of its own in the campaign's sinks (so every total
 * and per-agent sum still counts it), and p starts afresh. */
static void run_sink_restarted(struct run *r, struct peer *p)
{
    struct peer *e = NULL, **grown;

    p->restarts++;
    timeline_restarted(&r->tl, p);
    if (r->state >= RUN_RUNNING && run_in_sinks(r, p) && agg_sink_campaign(p, r->campaign) != NULL
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

/* run_sink_hello_again - a known sink said hello again: a new process
 * (another pid; or, found later, counters starting over), or the same one
 * back after a network cut. Either way it gets the running campaign's
 * Start again (its agents' clock offsets). */
static void run_sink_hello_again(struct run *r, struct peer *p, int new_pid)
{
    p->rehello = 1;
    if (new_pid && p->latest != NULL)
        run_sink_restarted(r, p);
    if ((r->state == RUN_RUNNING || r->state == RUN_DRAIN) && run_in_sinks(r, p))
        run_send_start(r, p);
}

static void run_on_hello(struct run *r, struct zlink *z, const uint8_t *route, size_t len,
                         const Smtpstorm__Hello *h, enum peerlink_role want)
{
    enum peerlink_role role = h->role == SMTPSTORM__ROLE__ROLE_SINK ? PEERLINK_SINK : PEERLINK_AGENT;
    struct peer *p, *old;
    uint32_t old_pid = 0;

    if (role != want) {
        run_send_error_to(z, route, len, SMTPSTORM__ERROR__CODE__OTHER, want == PEERLINK_SINK
                          ? "this is the coordinator's sink endpoint: agents connect to its --bind"
                          : "this is the coordinator's control endpoint: sinks connect to its --sink-bind");
        r->dropped++;
        return;
    }
    old = registry_by_id(&r->reg, role, h->id);
    if (old != NULL)
        old_pid = old->pid;
    if ((p = registry_hello(&r->reg, z, route, len, h, clock_mono_ns())) == NULL) {
        run_send_error_to(z, route, len, SMTPSTORM__ERROR__CODE__OTHER, "too many peers");
        return;
    }
    if (old == NULL)
        log_debug("%s %s (%s, %u cores) said hello", role == PEERLINK_SINK ? "sink" : "agent",
                  p->id, p->host, p->cores);
    if (old != NULL && role == PEERLINK_SINK)
        run_sink_hello_again(r, p, old_pid != h->pid);
    if (old != NULL && old_pid != h->pid && p->part >= 0 && p->state != PEER_DONE && !p->lost) {
        p->lost = 1;
        snprintf(p->status, sizeof(p->status), "restarted during the campaign");
        log_warn("agent %s restarted during the campaign: its counts so far are lost", p->id);
    }
    run_send_beat(r, p);        /* the welcome */
}

/* run_take_seconds - fold a peer's event-time rows into the timeline. */
static void run_take_seconds(struct run *r, struct peer *p, const Smtpstorm__Seconds *sc)
{
    int rc = timeline_take(&r->tl, p, sc);

    if (rc == -ERANGE)
        r->dropped++;               /* a second past a week: not this campaign's */
    else if (rc != 0)
        log_warn("out of memory for the timeline: %s's counts of this second are not in it", p->id);
}

static void run_on_progress(struct run *r, struct peer *p, Smtpstorm__Envelope *env, int *kept)
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
    run_take_seconds(r, p, pr->seconds);
    registry_keep_latest(p, env, pr->seq);
    *kept = 1;
}

static void run_on_done(struct run *r, struct peer *p, Smtpstorm__Envelope *env, int *kept)
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
    run_take_seconds(r, p, env->done->final->seconds);
    timeline_retire(&r->tl, p);
    registry_keep_latest(p, env, UINT64_MAX);
    *kept = 1;
    if (p->status[0])
        log_warn("agent %s ended early: %s", p->id, p->status);
}

static void run_on_error(struct run *r, struct peer *p, const Smtpstorm__Error *e)
{
    if (p->part >= 0 && e->code == SMTPSTORM__ERROR__CODE__REFUSED && p->state == PEER_ASSIGNED
        && strcmp(e->campaign, r->campaign) == 0) {
        snprintf(p->status, sizeof(p->status), "refused its part: %s", e->text);
        log_error("agent %s refused its part of campaign %s: %s", p->id, r->campaign, e->text);
        p->lost = 1;
        r->refusals++;
        return;
    }
    log_warn("%s %s says: %s", p->role == PEERLINK_SINK ? "sink" : "agent", p->id, e->text);
}

static void run_on_counters(struct run *r, struct peer *p, Smtpstorm__Envelope *env, int *kept)
{
    size_t i;

    if (p->role != PEERLINK_SINK)
        return;
    if (p->latest != NULL && p->rehello && env->sink_counters->seq < p->latest_seq)
        run_sink_restarted(r, p);       /* same pid (a container's 1), counting from zero again */
    if (p->latest != NULL && env->sink_counters->seq <= p->latest_seq)
        return;
    p->rehello = 0;
    for (i = 0; r->state >= RUN_RUNNING && i < env->sink_counters->n_campaigns; i++)
        if (strcmp(env->sink_counters->campaigns[i]->campaign, r->campaign) == 0)
            run_take_seconds(r, p, env->sink_counters->campaigns[i]->seconds);
    registry_keep_latest(p, env, env->sink_counters->seq);
    *kept = 1;
}

static void run_dispatch(struct run *r, struct peer *p, Smtpstorm__Envelope *env, int *kept)
{
    switch (env->body_case) {
    case SMTPSTORM__ENVELOPE__BODY_HEARTBEAT:
        registry_beat(p, env->heartbeat, clock_wall_ns(), clock_mono_ns());
        break;
    case SMTPSTORM__ENVELOPE__BODY_READY:
        if (p->part >= 0 && p->state == PEER_ASSIGNED && strcmp(env->ready->campaign, r->campaign) == 0)
            p->state = PEER_READY;
        break;
    case SMTPSTORM__ENVELOPE__BODY_PROGRESS:
        run_on_progress(r, p, env, kept);
        break;
    case SMTPSTORM__ENVELOPE__BODY_DONE:
        run_on_done(r, p, env, kept);
        break;
    case SMTPSTORM__ENVELOPE__BODY_ERROR:
        run_on_error(r, p, env->error);
        break;
    case SMTPSTORM__ENVELOPE__BODY_SINK_COUNTERS:
        run_on_counters(r, p, env, kept);
        break;
    default:
        r->dropped++;           /* workload, start, stop: not for a coordinator */
        break;
    }
}

static void run_on_recv(struct run *r, struct zlink *z, const uint8_t *route, size_t len,
                        const uint8_t *data, size_t dlen, enum peerlink_role role)
{
    Smtpstorm__Envelope *env;
    struct peer *p;
    int rc, kept = 0;

    rc = wire_decode(data, dlen, &env);
    if (rc == -EPROTONOSUPPORT) {
        run_refuse_version(r, z, route, len, env);
        wire_free(env);
        return;
    }
    if (rc != 0) {
        r->dropped++;
        log_debug("dropped an undecodable message of %zu octets", dlen);
        return;
    }
    if (env->body_case == SMTPSTORM__ENVELOPE__BODY_HELLO) {
        run_on_hello(r, z, route, len, env->hello, role);
    } else if ((p = registry_by_route(&r->reg, z, route, len)) == NULL) {
        if (env->body_case != SMTPSTORM__ENVELOPE__BODY_HEARTBEAT)
            r->dropped++;               /* a heartbeat is a peer reconnecting: not garbage */
        run_send_error_to(z, route, len, SMTPSTORM__ERROR__CODE__UNKNOWN_PEER, "say hello first");
    } else {
        registry_heard(p, clock_mono_ns());
        run_dispatch(r, p, env, &kept);
    }
    if (!kept)
        wire_free(env);
}

static void run_on_ctl(struct zlink *z, const uint8_t *route, size_t len, const uint8_t *data,
                       size_t dlen, void *arg)
{
    run_on_recv(arg, z, route, len, data, dlen, PEERLINK_AGENT);
}

static void run_on_snk(struct zlink *z, const uint8_t *route, size_t len, const uint8_t *data,
                       size_t dlen, void *arg)
{
    run_on_recv(arg, z, route, len, data, dlen, PEERLINK_SINK);
}

/* ---- the campaign ---- */

static void run_make_id(struct run *r)
{
    const char *name = r->cfg->w.name && trace_id_valid(r->cfg->w.name) ? r->cfg->w.name : "c";
    time_t now = time(NULL);
    struct tm tm;
    char id[128];

    gmtime_r(&now, &tm);
    snprintf(id, sizeof(id), "%.32s-%04d%02d%02dT%02d%02d%02d-%x", name,
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (unsigned)(clock_mono_ns() & 0xffffff) ^ (unsigned)getpid());
    snprintf(r->campaign, sizeof(r->campaign), "%.*s", (int)sizeof(r->campaign) - 1, id);
}

static void run_fill_workload(struct run *r, const struct plan_part *pp, Smtpstorm__Workload *w,
                              Smtpstorm__Phase *phases, Smtpstorm__Phase **phase_ptrs)
{
    const struct workload_spec *ws = &r->cfg->w;
    size_t i;

    smtpstorm__workload__init(w);
    w->campaign = r->campaign;
    w->targets = ws->targets;
    w->n_targets = ws->n_targets;
    w->target_first = pp->target_first;
    w->messages = pp->messages;
    w->sessions = pp->sessions;
    w->seq_first = pp->seq_first;
    w->seq_stride = pp->seq_stride;
    w->rate_milli = pp->rate_milli;
    w->duration_ms = config_total_duration_ms(ws);
    w->pipelining = ws->pipelining;
    w->chunking = ws->chunking;
    w->starttls = ws->starttls;
    w->auth = ws->auth ? ws->auth : (char *)"";
    w->family = (uint32_t)ws->family;
    w->no_abort = ws->no_abort;
    w->reset_retries = ws->reset_retries;
    w->reuse_session = ws->reuse_session;
    w->from = ws->from ? ws->from : (char *)"";
    w->content.data = r->content;
    w->content.len = r->content_len;
    w->length = ws->length;
    w->has_length = ws->has_length;
    w->lmtp = ws->lmtp;
    w->helo_name = ws->helo_name ? ws->helo_name : (char *)"";
    w->number_recipients = ws->number_recipients;
    w->old_mode = ws->old_mode;
    w->recipients = ws->recipients;
    w->random_wait_ms = ws->random_wait_ms;
    w->subject = ws->subject ? ws->subject : (char *)"";
    w->to = ws->to ? ws->to : (char *)"";
    w->window = ws->window;
    w->verbose = (uint32_t)ws->verbose;
    w->fixed_wait_ms = ws->fixed_wait_ms;
    w->timeout_ms = ws->timeout_ms;
    w->report_interval_ms = 1000;
    for (i = 0; i < ws->n_phases; i++) {
        smtpstorm__phase__init(&phases[i]);
        phases[i].kind = (Smtpstorm__Phase__Kind)ws->phases[i].kind;
        phases[i].duration_ms = ws->phases[i].duration_ms;
        phases[i].rate_milli = pp->phase_rate_milli[i];
        phases[i].sessions = pp->phase_sessions[i];
        phase_ptrs[i] = &phases[i];
    }
    w->phases = phase_ptrs;
    w->n_phases = ws->n_phases;
}

static void run_send_workload(struct run *r, struct peer *p)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__Workload w;
    Smtpstorm__Phase phases[CONFIG_PHASES_MAX], *ptrs[CONFIG_PHASES_MAX];

    run_fill_workload(r, &r->parts[p->part], &w, phases, ptrs);
    env.body_case = SMTPSTORM__ENVELOPE__BODY_WORKLOAD;
    env.workload = &w;
    run_send(r, p, &env);
    p->sent_at_ns = clock_mono_ns();
}

static int run_read_content(struct run *r)
{
    const char *path = r->cfg->w.content_file;
    struct stat st;
    ssize_t got;
    int fd;

    if (path == NULL)
        return 0;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
        log_error("cannot read -F %s: %s", path, strerror(errno));
        goto fail;
    }
    if (st.st_size > (off_t)WIRE_CONTENT_MAX) {
        log_error("-F %s: larger than %u octets, the most a workload carries", path, WIRE_CONTENT_MAX);
        goto fail;
    }
    if ((r->content = malloc((size_t)st.st_size + 1)) == NULL)
        goto fail;
    while (r->content_len < (size_t)st.st_size
           && (got = read(fd, r->content + r->content_len, (size_t)st.st_size - r->content_len)) > 0)
        r->content_len += (size_t)got;
    close(fd);
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    return -1;
}

/* Enough peers said hello: plan, and send every agent its part. */
static int run_begin(struct run *r)
{
    uint32_t *cores;
    char err[256];
    size_t i, cap = r->reg.n ? r->reg.n : 1;
    int k;

    r->agents = calloc(cap, sizeof(*r->agents));
    r->sinks = calloc(cap, sizeof(*r->sinks));
    cores = calloc(cap, sizeof(*cores));
    r->parts = calloc(cap, sizeof(*r->parts));
    if (!r->agents || !r->sinks || !cores || !r->parts) {
        free(cores);
        log_error("out of memory");
        return -1;
    }
    r->na = registry_list(&r->reg, PEERLINK_AGENT, 1, r->agents, cap);
    r->ns = registry_list(&r->reg, PEERLINK_SINK, 1, r->sinks, cap);
    for (i = 0; i < r->na; i++)
        cores[i] = r->agents[i]->cores;
    k = plan_make(&r->cfg->w, cores, r->na, r->parts, err, sizeof(err));
    free(cores);
    if (k < 0) {
        log_error("cannot split the campaign: %s", err);
        return -1;
    }
    /* Keep only the agents taking part, in id order, with their parts. */
    for (i = 0, k = 0; i < r->na; i++) {
        if (!r->parts[i].active)
            continue;
        r->parts[k] = r->parts[i];
        r->agents[k] = r->agents[i];
        r->agents[k]->part = k;
        r->agents[k]->state = PEER_ASSIGNED;
        k++;
    }
    r->na = (size_t)k;
    run_make_id(r);
    log_info("campaign %s: %zu agents, %zu sinks, %zu targets", r->campaign, r->na, r->ns,
             r->cfg->w.n_targets);
    for (i = 0; i < r->na; i++)
        run_send_workload(r, r->agents[i]);
    r->state = RUN_READY;
    r->deadline_ns = clock_mono_ns() + (RUN_READY_NS > 2 * r->cfg->peer_timeout_ms * NS_PER_MS
                                        ? RUN_READY_NS : 2 * r->cfg->peer_timeout_ms * NS_PER_MS);
    return 0;
}

static void run_send_start(struct run *r, struct peer *p)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__Start s = SMTPSTORM__START__INIT;
    Smtpstorm__PeerOffset *offs = NULL, **ptrs = NULL;
    size_t i;

    s.campaign = r->campaign;
    s.start_ns = r->start_wall_ns;
    s.offset_ns = p->have_offset ? p->offset_ns : 0;
    if (p->role == PEERLINK_SINK && r->na > 0) {
        offs = calloc(r->na, sizeof(*offs));
        ptrs = calloc(r->na, sizeof(*ptrs));
        for (i = 0; offs && ptrs && i < r->na; i++) {
            smtpstorm__peer_offset__init(&offs[i]);
            offs[i].id = r->agents[i]->id;
            if (r->agents[i]->have_offset && p->have_offset)
                offs[i].offset_ns = r->agents[i]->offset_ns - p->offset_ns;
            ptrs[i] = &offs[i];
        }
        if (offs && ptrs) {
            s.agents = ptrs;
            s.n_agents = r->na;
        }
    }
    env.body_case = SMTPSTORM__ENVELOPE__BODY_START;
    env.start = &s;
    run_send(r, p, &env);
    p->sent_at_ns = clock_mono_ns();
    free(ptrs);
    free(offs);
}

/* Every agent confirmed: one start time for all, a little ahead. */
static void run_start(struct run *r)
{
    uint64_t lead = RUN_LEAD_MIN_NS, rtt;
    uint32_t last_rows[CONFIG_PHASES_MAX];
    size_t i, n;

    for (i = 0; i < r->na; i++) {
        rtt = r->agents[i]->have_offset ? 4 * r->agents[i]->rtt_ns : 0;
        if (rtt > lead)
            lead = rtt;
    }
    if (lead > RUN_LEAD_MAX_NS)
        lead = RUN_LEAD_MAX_NS;
    r->start_wall_ns = clock_wall_ns() + lead;
    r->start_ns = clock_mono_ns() + lead;
    if (r->cfg->w.warmup_ms > 0 && timeline_set_warmup(&r->tl, (uint32_t)((r->cfg->w.warmup_ms + 500) / 1000)) != 0)
        log_warn("out of memory for the warmup: its seconds stay in the percentiles");
    n = phases_last_rows(&r->cfg->w, last_rows);
    if (timeline_set_phases(&r->tl, last_rows, n) != 0)
        log_warn("out of memory for the phases: the report has no per-phase results");
    for (i = 0; i < r->na; i++) {
        run_send_start(r, r->agents[i]);
        r->agents[i]->state = PEER_RUNNING;
        if (timeline_expect(&r->tl, r->agents[i]) != 0)
            log_warn("out of memory for the timeline: its rows may be final before agent %s's", r->agents[i]->id);
    }
    for (i = 0; i < r->ns; i++) {
        run_send_start(r, r->sinks[i]);
        if (timeline_expect(&r->tl, r->sinks[i]) != 0)
            log_warn("out of memory for the timeline: its rows may be final before sink %s's", r->sinks[i]->id);
    }
    r->state = RUN_RUNNING;
    r->ran = 1;
}

static void run_stop_all(struct run *r, const char *reason)
{
    size_t i;

    for (i = 0; i < r->na; i++)
        if (r->agents[i]->state != PEER_DONE && !r->agents[i]->lost)
            run_send_stop(r, r->agents[i], reason);
    if (r->stop_at_ns == 0)
        r->stop_at_ns = clock_mono_ns();
}

static void run_on_dead(struct peer *p, void *arg)
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
    }
    for (i = 0; p->role == PEERLINK_SINK && r->state >= RUN_RUNNING && i < r->ns; i++) {
        if (r->sinks[i] == p) {
            timeline_retire(&r->tl, p);
            log_warn("sink %s (%s) lost: silent for %d s", p->id, p->host, (int)(r->cfg->peer_timeout_ms / 1000));
        }
    }
}

/* ---- the tick ---- */

static void run_totals(struct run *r, struct agg_totals *t)
{
    agg_totals(r->agents, r->na, r->sinks, r->ns, r->campaign, t);
}

static void run_tick_wait(struct run *r, uint64_t now)
{
    struct peer *list[64];
    char names[512] = "";
    size_t n, i, have_a = registry_alive(&r->reg, PEERLINK_AGENT), have_s = registry_alive(&r->reg, PEERLINK_SINK);
    char err[256];

    if (r->local && local_exited(r->local, err, sizeof(err))) {
        log_error("local %s", err);
        r->exit_code = EXIT_RUN_FAILED;
        r->state = RUN_END;
        return;
    }
    if (have_a >= (size_t)r->want_agents && have_s >= (size_t)r->want_sinks) {
        if (run_begin(r) != 0) {
            r->exit_code = EXIT_RUN_FAILED;
            r->state = RUN_END;
        }
        return;
    }
    if (now < r->deadline_ns)
        return;
    n = registry_list(&r->reg, have_a < (size_t)r->want_agents ? PEERLINK_AGENT : PEERLINK_SINK, 1, list, 64);
    for (i = 0; i < n; i++)
        snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "", list[i]->id);
    if (have_a < (size_t)r->want_agents) {
        log_error("waited %.0f s for %d agents: %zu said hello%s%s%s; start more agents or lower --agents",
                  (double)r->cfg->wait_ms / 1000, r->want_agents, have_a, n ? " (" : "", names, n ? ")" : "");
        r->agents_missing = r->want_agents - (int)have_a;
        r->exit_code = EXIT_RUN_AGENTS_MISSING;
    } else {
        log_error("waited %.0f s for %d sinks: %zu said hello%s%s%s; start more sinks or lower --sinks",
                  (double)r->cfg->wait_ms / 1000, r->want_sinks, have_s, n ? " (" : "", names, n ? ")" : "");
        r->sinks_missing = r->want_sinks - (int)have_s;
        r->exit_code = EXIT_RUN_SINKS_MISSING;
    }
    r->state = RUN_END;
}

/* run_offsets_known - every agent's and sink's clock offset is measured
 * (a heartbeat round trip each), so the start time and every event-time
 * second mean the same instant on every host. */
static int run_offsets_known(const struct run *r)
{
    size_t i;
    int known = 1;

    for (i = 0; i < r->na; i++)
        known &= r->agents[i]->have_offset;
    for (i = 0; i < r->ns; i++)
        known &= r->sinks[i]->have_offset || !r->sinks[i]->alive;
    return known;
}

static void run_tick_ready(struct run *r, uint64_t now)
{
    size_t i, ready = 0, gone = 0;

    for (i = 0; i < r->na; i++) {
        struct peer *p = r->agents[i];

        if (p->lost || !p->alive) {
            gone++;
            continue;
        }
        if (p->state == PEER_READY)
            ready++;
        else if (since(now, p->sent_at_ns) >= RUN_RESEND_NS)
            run_send_workload(r, p);
    }
    if (gone > 0 || r->refusals > 0 || (ready < r->na && now >= r->deadline_ns)) {
        for (i = 0; i < r->na; i++) {
            struct peer *p = r->agents[i];

            if (p->state != PEER_READY && !p->lost) {
                p->lost = 1;
                snprintf(p->status, sizeof(p->status), "did not confirm its part");
                log_error("agent %s did not confirm its part of campaign %s", p->id, r->campaign);
            }
        }
        run_stop_all(r, "another agent could not take part");
        r->state = RUN_END;
        return;
    }
    if (ready < r->na)
        return;
    if (run_offsets_known(r)) {
        run_start(r);
    } else if (now >= r->deadline_ns - RUN_OFFSET_GRACE_NS) {
        log_warn("starting without every peer's clock offset: their times may be off by their clocks' skew");
        run_start(r);
    }
}

static void run_tick_running(struct run *r, uint64_t now)
{
    uint64_t dur = config_total_duration_ms(&r->cfg->w) * NS_PER_MS;
    size_t i, finished = 0;

    if (r->stop_at_ns == 0 && dur > 0 && now > r->start_ns + dur + RUN_OVERTIME_NS + dur / 10)
        run_stop_all(r, "the campaign's duration is over");
    for (i = 0; i < r->na; i++) {
        struct peer *p = r->agents[i];

        if (p->state == PEER_DONE || p->lost) {
            finished++;
            continue;
        }
        if (r->stop_at_ns && since(now, r->stop_at_ns) > RUN_STOP_GRACE_NS) {
            log_warn("agent %s did not finish within %llu s of being stopped", p->id,
                     (unsigned long long)(RUN_STOP_GRACE_NS / NS_PER_SEC));
            p->lost = 1;
            snprintf(p->status, sizeof(p->status), "did not finish after stop");
            finished++;
        } else if (!p->saw_progress && now > r->start_ns + RUN_RESEND_NS && since(now, p->sent_at_ns) >= RUN_RESEND_NS) {
            run_send_start(r, p);       /* no progress yet: the Start may be lost */
        } else if (p->saw_progress && !p->busy && now > r->start_ns + 2 * RUN_RESEND_NS
                   && since(now, p->sent_at_ns) >= RUN_RESEND_NS) {
            run_send_stop(r, p, "your Done was lost: send it again");
            p->sent_at_ns = now;
        }
    }
    if (finished == r->na) {
        r->state = r->ns > 0 && r->want_sinks > 0 ? RUN_DRAIN : RUN_END;
        r->drain_ns = r->drain_change_ns = now;
        r->drain_received = 0;
    }
}

/* run_drained - the sinks have counted every agent's accepted messages:
 * agent by agent, so that one agent's surplus (its last messages reported
 * by the sinks but not by it, when it was lost) never stands in for
 * another's mail still on its way. */
static int run_drained(const struct run *r)
{
    const Smtpstorm__Progress *p;
    uint64_t received, duplicates;
    size_t i;

    for (i = 0; i < r->na; i++) {
        if ((p = agg_progress_of(r->agents[i])) == NULL)
            continue;
        agg_sink_for_agent(r->sinks, r->ns, r->campaign, r->agents[i]->id, &received, &duplicates);
        if (received < p->messages_accepted)
            return 0;
    }
    return 1;
}

static void run_tick_drain(struct run *r, uint64_t now)
{
    struct agg_totals t;

    run_totals(r, &t);
    if (t.received != r->drain_received) {
        r->drain_received = t.received;
        r->drain_change_ns = now;
    }
    if (run_drained(r)
        || (r->cfg->drain_quiet_ms > 0 && since(now, r->drain_change_ns) >= r->cfg->drain_quiet_ms * NS_PER_MS)
        || since(now, r->drain_ns) >= r->cfg->drain_ms * NS_PER_MS)
        r->state = RUN_END;
}

static void run_show_progress(struct run *r, uint64_t now)
{
    struct progress_view v = { 0 };
    struct agg_totals t;
    struct hist *h;
    size_t i;
    double dt;

    if (r->cfg->quiet || (r->last_line_ns && since(now, r->last_line_ns) < NS_PER_SEC))
        return;
    dt = r->last_line_ns ? (double)since(now, r->last_line_ns) / 1e9 : 1.0;
    if (dt <= 0)
        dt = 1.0;
    r->last_line_ns = now;
    run_totals(r, &t);
    r->rate = (double)(t.accepted - (t.accepted >= r->last_accepted ? r->last_accepted : t.accepted)) / dt;
    r->last_accepted = t.accepted;
    v.attempted = t.attempted;
    v.accepted = t.accepted;
    v.errors = t.errors;
    v.rejected = t.rejected;
    v.sinks = r->want_sinks > 0;
    v.received = t.received;
    v.draining = r->state == RUN_DRAIN;
    v.planned = r->cfg->w.messages_set || (r->cfg->w.duration_ms == 0 && r->cfg->w.n_phases == 0)
        ? r->cfg->w.messages : 0;
    for (i = 0; i < r->na; i++)
        v.agents_up += r->agents[i]->alive && !r->agents[i]->lost;
    v.agents_total = r->na;
    v.elapsed_s = now > r->start_ns ? (double)(now - r->start_ns) / 1e9 : 0;
    v.eta_s = -1;
    if (v.planned && r->rate > 0)
        v.eta_s = (double)(v.planned > t.attempted ? v.planned - t.attempted : 0) / r->rate;
    else if (!v.planned)
        v.eta_s = (double)config_total_duration_ms(&r->cfg->w) / 1000.0 - v.elapsed_s;
    if ((h = malloc(sizeof(*h))) != NULL) {
        hist_init(h);
        agg_merge_phase(r->agents, r->na, PHASE_MESSAGE, h);
        v.p99_us = hist_percentile(h, 99.0);
        free(h);
    }
    progress_update(&r->line, &v, now);
}

static void run_on_tick(struct ev_loop *loop, void *arg)
{
    struct run *r = arg;
    uint64_t now = clock_mono_ns();

    registry_sweep(&r->reg, now, run_on_dead, r);
    if (run_signals > 0 && !r->interrupted) {
        r->interrupted = 1;
        log_warn("interrupted: stopping the agents (again to quit now)");
        if (r->state == RUN_RUNNING || r->state == RUN_READY)
            run_stop_all(r, "interrupted");
        if (r->state != RUN_RUNNING)
            r->state = RUN_END;
    } else if (run_signals > 1) {
        r->state = RUN_END;
    }
    switch (r->state) {
    case RUN_WAIT: run_tick_wait(r, now); break;
    case RUN_READY: run_tick_ready(r, now); break;
    case RUN_RUNNING: run_tick_running(r, now); break;
    case RUN_DRAIN: run_tick_drain(r, now); break;
    case RUN_END: break;
    }
    if (r->state == RUN_RUNNING || r->state == RUN_DRAIN)
        run_show_progress(r, now);
    if (r->state == RUN_END) {
        ev_stop(loop);
        return;
    }
    (void)ev_timer_start(loop, &r->tick, RUN_TICK_NS);
}

/* --metrics: a fresh document for the server's thread, once a second. */
static void run_publish_metrics(struct run *r, uint64_t now)
{
    struct exporter_view v = { 0 };

    if (r->metrics == NULL)
        return;
    v.campaign = r->state >= RUN_READY ? r->campaign : "";
    v.running = r->state == RUN_RUNNING && now >= r->start_ns;
    v.elapsed_s = r->ran && now > r->start_ns ? (double)(now - r->start_ns) / 1e9 : 0;
    v.agents_alive = registry_alive(&r->reg, PEERLINK_AGENT);
    v.sinks_alive = registry_alive(&r->reg, PEERLINK_SINK);
    v.agents = r->agents;
    v.na = r->na;
    v.sinks = r->sinks;
    v.ns = r->ns;
    metrics_text_reset(&r->metrics_text);
    if (exporter_build(&r->metrics_text, &v) != 0 || metrics_publish(r->metrics, &r->metrics_text) != 0)
        log_debug("metrics: out of memory; the last document stays");
}

static void run_on_beat(struct ev_loop *loop, void *arg)
{
    struct run *r = arg;
    size_t i;

    for (i = 0; i < r->reg.n; i++)
        if (r->reg.peers[i]->alive)
            run_send_beat(r, r->reg.peers[i]);
    run_publish_metrics(r, clock_mono_ns());
    (void)ev_timer_start(loop, &r->beat, RUN_BEAT_NS);
}

/* ---- the end ---- */

static void run_result_agent(struct run *r, struct peer *p, struct agent_result *a)
{
    const Smtpstorm__Progress *pr = agg_progress_of(p);

    memset(a, 0, sizeof(*a));
    a->peer = p;
    a->planned = r->parts[p->part].messages;
    if (pr != NULL) {
        a->sessions = pr->sessions;
        a->attempted = pr->messages_attempted;
        a->accepted = pr->messages_accepted;
        a->rejected = pr->messages_rejected;
        a->unfinished = pr->messages_unfinished;
        a->errors = pr->errors;
        a->recipients = pr->recipients;
        a->bytes = pr->bytes;
        a->cpu_s = (double)pr->cpu_ns / 1e9;
        a->elapsed_s = (double)pr->elapsed_ns / 1e9;
        if (pr->elapsed_ns > 0)
            a->cpu_pct = 100.0 * (double)pr->cpu_ns / (double)pr->elapsed_ns / (double)(p->cores ? p->cores : 1);
    }
    agg_sink_for_agent(r->sinks, r->ns, r->campaign, p->id, &a->received, &a->duplicates);
    reconcile_line_set(&a->line, a->accepted, a->received, a->duplicates);
    if (p->lost && a->received > a->accepted)
        log_warn("agent %s was lost after reporting %llu accepted; the sinks counted %llu of its messages: "
                 "the difference is what it sent after its last report, not failures",
                 p->id, (unsigned long long)a->accepted, (unsigned long long)a->received);
    a->missing = p->lost;
    a->status = p->status;
}

static void run_result_sink(struct run *r, struct peer *p, struct sink_result *s)
{
    const Smtpstorm__CampaignCounters *c = agg_sink_campaign(p, r->campaign);

    memset(s, 0, sizeof(*s));
    s->peer = p;
    if (c != NULL) {
        s->received = c->received;
        s->duplicates = c->duplicates;
        s->bytes = c->bytes;
    }
    if (p->latest != NULL && p->latest->body_case == SMTPSTORM__ENVELOPE__BODY_SINK_COUNTERS)
        s->messages = p->latest->sink_counters->messages;
    s->missing = !p->alive;
}

/* run_is_agent, run_is_sink - timeline_last_ns's pick of a peer. */
static int run_is_agent(const void *peer, void *arg)
{
    (void)arg;
    return ((const struct peer *)peer)->role == PEERLINK_AGENT;
}

static int run_is_sink(const void *peer, void *arg)
{
    (void)arg;
    return ((const struct peer *)peer)->role == PEERLINK_SINK;
}

/* run_result_warmup - --warmup: the headline message and delivery latency
 * become the seconds after it, and what it held is said. */
static void run_result_warmup(struct run *r, struct run_result *res)
{
    size_t i;

    if (r->tl.steady == NULL)
        return;
    res->warmup_s = (double)r->tl.warmup_last;
    for (i = 0; i < r->agg.n && r->agg.rows[i].t <= r->tl.warmup_last; i++) {
        res->warmup_accepted = r->agg.rows[i].cum.accepted;
        res->warmup_received = r->agg.rows[i].cum.received;
    }
    memcpy(&res->stats->latency[PHASE_MESSAGE], &r->tl.steady->message, sizeof(struct hist));
    memcpy(&res->delivery, &r->tl.steady->delivery, sizeof(struct hist));
}

static int run_build_result(struct run *r, struct run_result *res)
{
    uint64_t now = clock_mono_ns();
    size_t i;

    memset(res, 0, sizeof(*res));
    res->config = r->cfg;
    res->campaign = r->campaign;
    res->started_at_ns = r->start_wall_ns;
    res->duration_s = r->ran && now > r->start_ns ? (double)(now - r->start_ns) / 1e9 : 0;
    if ((res->stats = malloc(sizeof(*res->stats))) == NULL)
        return -1;
    stats_init(res->stats);
    agg_merge_stats(r->agents, r->na, res->stats);
    hist_init(&res->delivery);
    agg_merge_delivery(r->sinks, r->ns, r->campaign, &res->delivery);
    run_totals(r, &res->totals);
    timeline_finish(&r->tl);
    agg_free(&r->agg);
    if (timeline_rows(&r->tl, &r->agg) != 0)
        log_warn("out of memory for the timeline: the reports have none");
    res->timeline = &r->agg;
    if (phases_build(&r->cfg->w, &r->tl, &res->phases, &res->n_phases) != 0)
        log_warn("out of memory for the phases: the report has no per-phase results");
    res->inject_end_s = (double)timeline_last_ns(&r->tl, run_is_agent, r) / 1e9;
    res->deliver_end_s = (double)timeline_last_ns(&r->tl, run_is_sink, r) / 1e9;
    run_result_warmup(r, res);
    if (res->duration_s > res->warmup_s)
        res->rate = (double)(res->totals.accepted - res->warmup_accepted) / (res->duration_s - res->warmup_s);
    res->sinks_in_path = r->want_sinks > 0;
    res->agents = calloc(r->na + 1, sizeof(*res->agents));
    res->sinks = calloc(r->ns + 1, sizeof(*res->sinks));
    if (res->agents == NULL || res->sinks == NULL)
        return -1;
    memset(&res->total, 0, sizeof(res->total));
    for (i = 0; i < r->na; i++) {
        run_result_agent(r, r->agents[i], &res->agents[res->n_agents]);
        reconcile_line_add(&res->total, &res->agents[res->n_agents++].line);
        r->agents_missing += r->agents[i]->lost;
    }
    /* what the sinks counted from agents not taking part (a replay, a
     * stale agent): received, never accepted here */
    if (res->totals.received > res->total.received) {
        res->total.beyond += res->totals.received - res->total.received;
        res->total.received = res->totals.received;
    }
    res->total.duplicates = res->totals.duplicates;
    for (i = 0; i < r->ns; i++) {
        run_result_sink(r, r->sinks[i], &res->sinks[res->n_sinks++]);
        r->sinks_missing += !r->sinks[i]->earlier && !r->sinks[i]->alive;  /* gone, not back */
    }
    res->dropped = r->dropped + zlink_malformed(r->ctl) + zlink_malformed(r->snk);
    res->refused = r->refused;
    res->unauthorized = zap_refused_keys(r->zap);
    res->outcome.ran = r->ran;
    res->outcome.agents_missing = r->agents_missing;
    res->outcome.sinks_missing = r->sinks_missing;
    res->outcome.sinks_in_path = res->sinks_in_path;
    res->outcome.lost = res->total.lost;
    res->outcome.errors = res->totals.errors;
    res->outcome.rejected = res->totals.rejected;
    res->outcome.interrupted = r->interrupted;
    if (verdict_judge(res) != 0)
        return -1;
    res->outcome.thresholds = r->cfg->n_thresholds > 0;
    res->outcome.thresholds_failed = res->thresholds_failed;
    res->exit_code = reconcile_exit(&res->outcome);
    return 0;
}

static void run_result_free(struct run_result *res)
{
    free(res->verdicts);
    free(res->phases);
    free(res->stats);
    free(res->agents);
    free(res->sinks);
}

static enum run_exit run_report(struct run *r)
{
    struct run_result res;
    enum run_exit code;
    char err[256];

    if (run_build_result(r, &res) != 0) {
        log_error("out of memory building the report");
        run_result_free(&res);
        return EXIT_RUN_FAILED;
    }
    if (!r->cfg->quiet)
        summary_print(stdout, &res);
    code = res.exit_code;
    if (r->cfg->json && json_write_report(r->cfg->json, &res, err, sizeof(err)) != 0) {
        log_error("%s", err);
        code = code ? code : EXIT_RUN_FAILED;
    }
    if (r->cfg->csv && csv_write_timeline(r->cfg->csv, &res, err, sizeof(err)) != 0) {
        log_error("%s", err);
        code = code ? code : EXIT_RUN_FAILED;
    }
    if (r->cfg->html && html_write_report(r->cfg->html, &res, err, sizeof(err)) != 0) {
        log_error("%s", err);
        code = code ? code : EXIT_RUN_FAILED;
    }
    run_result_free(&res);
    return code;
}

/* ---- setup ---- */

static char run_tmpdir[64];

/* --key and --authorized-keys: the CURVE server's key and its ZAP
 * allow-list, which must be in place before the sockets bind. */
static int run_security(struct run *r, struct zlink_opts *o)
{
    char err[ZLINK_ENDPOINT_MAX + 256];

    o->insecure = r->cfg->insecure;
    if (r->cfg->key == NULL)
        return 0;
    if (keys_load_secret(r->cfg->key, &r->key, err, sizeof(err)) != 0) {
        log_error("--key: %s", err);
        return -1;
    }
    o->curve_key = &r->key;
    if (r->cfg->authorized_keys == NULL) {
        log_warn("--key without --authorized-keys: traffic is encrypted but any client key is admitted");
        return 0;
    }
    if (keys_load_dir(r->cfg->authorized_keys, &r->authorized, err, sizeof(err)) != 0) {
        log_error("--authorized-keys: %s", err);
        return -1;
    }
    if ((r->zap = zap_open(r->zctx, r->loop, &r->authorized, err, sizeof(err))) == NULL) {
        log_error("%s", err);
        return -1;
    }
    log_debug("CURVE on; %zu authorized keys from %s", r->authorized.n, r->cfg->authorized_keys);
    return 0;
}

static int run_bind(struct run *r, const char **ctl_ep, const char **snk_ep)
{
    struct zlink_opts o = { .type = ZLINK_ROUTER, .bind = 1, .linger_ms = 1000, .hwm = 10000 };
    static char ctl_buf[128], snk_buf[128];
    char err[ZLINK_ENDPOINT_MAX + 256];

    if (run_security(r, &o) != 0)
        return -1;

    *ctl_ep = r->cfg->bind ? r->cfg->bind : CONFIG_BIND_DEFAULT;
    *snk_ep = r->cfg->sink_bind ? r->cfg->sink_bind : CONFIG_SINK_BIND_DEFAULT;
    if (r->cfg->local && (!r->cfg->bind || !r->cfg->sink_bind)) {
        /* --local talks over ipc:// in a private directory: no port to collide on. */
        snprintf(run_tmpdir, sizeof(run_tmpdir), "/tmp/smtpstorm-XXXXXX");
        if (mkdtemp(run_tmpdir) == NULL) {
            log_error("cannot make a directory for the local endpoints: %s", strerror(errno));
            run_tmpdir[0] = '\0';
            return -1;
        }
        snprintf(ctl_buf, sizeof(ctl_buf), "ipc://%s/control", run_tmpdir);
        snprintf(snk_buf, sizeof(snk_buf), "ipc://%s/sinks", run_tmpdir);
        if (!r->cfg->bind)
            *ctl_ep = ctl_buf;
        if (!r->cfg->sink_bind)
            *snk_ep = snk_buf;
    }
    o.endpoint = *ctl_ep;
    if ((r->ctl = zlink_open(r->zctx, r->loop, &o, run_on_ctl, r, err, sizeof(err))) == NULL) {
        log_error("%s", err);
        return -1;
    }
    o.endpoint = *snk_ep;
    if ((r->snk = zlink_open(r->zctx, r->loop, &o, run_on_snk, r, err, sizeof(err))) == NULL) {
        log_error("%s", err);
        return -1;
    }
    *ctl_ep = zlink_endpoint(r->ctl);
    *snk_ep = zlink_endpoint(r->snk);
    return 0;
}

static void run_tmpdir_remove(void)
{
    char path[128];

    if (!run_tmpdir[0])
        return;
    snprintf(path, sizeof(path), "%s/control", run_tmpdir);
    (void)unlink(path);
    snprintf(path, sizeof(path), "%s/sinks", run_tmpdir);
    (void)unlink(path);
    (void)rmdir(run_tmpdir);
    run_tmpdir[0] = '\0';
}

static int run_setup(struct run *r, struct run_config *cfg_local)
{
    const char *ctl_ep, *snk_ep;
    char err[256], target[64];
    int with_sink;

    if (run_bind(r, &ctl_ep, &snk_ep) != 0)
        return -1;
    if (r->cfg->metrics != NULL) {
        if ((r->metrics = metrics_start(r->cfg->metrics, err, sizeof(err))) == NULL) {
            log_error("%s", err);
            return -1;
        }
        log_info("metrics at http://%s/metrics", metrics_address(r->metrics));
        run_publish_metrics(r, clock_mono_ns());
    }
    if (r->cfg->local) {
        with_sink = r->cfg->w.n_targets == 0;
        r->local = local_start(r->cfg->local, ctl_ep, with_sink ? snk_ep : NULL, target, sizeof(target),
                               err, sizeof(err));
        if (r->local == NULL) {
            log_error("%s", err);
            return -1;
        }
        if (with_sink && config_add_target(&cfg_local->w, target) != 0)
            return -1;
    }
    log_debug("control on %s, sink counters on %s", ctl_ep, snk_ep);
    return 0;
}

static void run_cleanup(struct run *r)
{
    metrics_stop(r->metrics);
    metrics_text_free(&r->metrics_text);
    local_stop(r->local);
    zlink_close(r->ctl);
    zlink_close(r->snk);
    zap_close(r->zap);          /* after the sockets it guards */
    keys_ring_free(&r->authorized);
    explicit_bzero(&r->key, sizeof(r->key));
    if (r->zctx)
        zmq_ctx_term(r->zctx);
    run_tmpdir_remove();
    registry_free(&r->reg);
    agg_free(&r->agg);
    timeline_free(&r->tl);
    ev_loop_free(r->loop);
    free(r->agents);
    free(r->sinks);
    for (size_t i = 0; i < r->nearlier; i++) {
        wire_free(r->earlier[i]->latest);
        free(r->earlier[i]);
    }
    free(r->earlier);
    free(r->parts);
    free(r->content);
}

enum run_exit run_campaign(const struct run_config *cfg)
{
    struct run_config mine = *cfg;      /* --local may add the sink as target */
    struct sigaction sa = { .sa_handler = run_on_signal }, old_int, old_term;
    struct run r;
    enum run_exit code = EXIT_RUN_FAILED;

    memset(&r, 0, sizeof(r));
    r.cfg = &mine;
    r.want_agents = cfg->local ? cfg->local : (cfg->agents > 0 ? cfg->agents : 1);
    r.want_sinks = cfg->local && cfg->w.n_targets == 0 ? 1 : cfg->sinks;
    registry_init(&r.reg, cfg->peer_timeout_ms);
    timeline_init(&r.tl);
    progress_init(&r.line, stderr);
    if (!cfg->local && cfg->w.n_targets == 0) {
        log_error("no TARGET: name the server under test (or use --local N with no TARGET for a local sink)");
        return EXIT_RUN_USAGE;
    }
    /* --local's sink target is added to a copy of the target list we own. */
    mine.w.targets = NULL;
    mine.w.n_targets = 0;
    for (size_t i = 0; i < cfg->w.n_targets; i++)
        if (config_add_target(&mine.w, cfg->w.targets[i]) != 0)
            goto out;
    if (run_read_content(&r) != 0 || (r.loop = ev_loop_new()) == NULL || (r.zctx = zmq_ctx_new()) == NULL)
        goto out;
    run_signal_loop = r.loop;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGINT, &sa, &old_int);
    (void)sigaction(SIGTERM, &sa, &old_term);
    if (run_setup(&r, &mine) != 0)
        goto restore;
    r.t0_ns = clock_mono_ns();
    r.deadline_ns = r.t0_ns + cfg->wait_ms * NS_PER_MS;
    ev_timer_init(&r.tick, run_on_tick, &r);
    ev_timer_init(&r.beat, run_on_beat, &r);
    (void)ev_timer_start(r.loop, &r.tick, RUN_TICK_NS);
    (void)ev_timer_start(r.loop, &r.beat, RUN_BEAT_NS);
    (void)ev_run(r.loop);
    progress_clear(&r.line);
    code = r.exit_code ? r.exit_code : run_report(&r);
restore:
    (void)sigaction(SIGINT, &old_int, NULL);
    (void)sigaction(SIGTERM, &old_term, NULL);
    run_signal_loop = NULL;
out:
    run_cleanup(&r);
    for (size_t i = 0; i < mine.w.n_targets; i++)
        free(mine.w.targets[i]);
    free(mine.w.targets);
    return code;
}
