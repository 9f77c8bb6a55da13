/* simpeer.c - simulated smtpstorm agents and sinks that speak the real
 * control protocol through lib/peerlink, for the cluster tests and the
 * coordinator's scale benchmark. A simulated agent "delivers" each message
 * as one datagram carrying its X-Smtpstorm-Trace line to its target
 * (unix:/path or host:port over UDP); a simulated sink counts those by
 * campaign and agent, finds duplicates and measures delivery latency. So
 * counts are fake but consistent end to end, and a target, a session split
 * or a lost message shows in the reconciliation exactly as it would with
 * real engines.
 *
 *   simpeer --role agent --coordinator EP --id ID [--cores N] [--count N]
 *           [--speed MSGS_PER_SESSION_PER_S] [--die-after N] [--reject-every N]
 *           [--garbage N] [--wire-version V]
 *   simpeer --role sink --coordinator EP --id ID [--lose N] ADDRESS [BACKLOG]
 * and for CURVE, as the real programs: [--key F --coordinator-key F] [--insecure];
 * -u USER is accepted and ignored, as smtpstorm run --local passes it to a root sink. */
#include "clock.h"
#include "endpoint.h"
#include "ev.h"
#include "fdlimit.h"
#include "keys.h"
#include "log.h"
#include "peerlink.h"
#include "stats.h"
#include "trace.h"
#include "wire.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>

#define SIM_TICK_NS      (10 * NS_PER_MS)   /* closed loop, or a fast rate: send every 10 ms */
#define SIM_TICK_MAX_NS  (100 * NS_PER_MS)  /* a slow rate: every message's time, up to this */
#define SIM_BATCH        2000           /* messages per tick at most */
#define SIM_AGENTS_MAX   WIRE_AGENTS_MAX  /* as many as smtpstorm run --agents takes */
#define SIM_CAMPAIGNS    16
#define SIM_SINK_AGENTS  WIRE_AGENTS_MAX
/* Descriptors: each simulated agent's DEALER holds a mailbox (an eventfd)
 * and its TCP connection; the context's threads and the sink a few more. */
#define SIM_FDS_PER_AGENT 2
#define SIM_FDS_SPARE    64
#define SIM_PER_IO_THREAD 256           /* agents whose connections one ZeroMQ I/O thread carries */

struct sim_opts {
    const char *role, *coordinator, *id, *listen;
    const char *key_file, *coordinator_key_file;
    int insecure;
    struct keys_secret key;
    uint8_t coordinator_key[KEYS_BYTES];
    unsigned cores, count, wire_version, garbage, dead_ms;
    double speed;
    uint64_t die_after, reject_every, lose;
};

#define SIM_SECONDS      8              /* event-time rows kept: the one filling and 7 closed
                                           (reports up to 4 s apart: --report-interval) */

/* A simulated peer's rows by event time, as the real ones report them. */
struct sim_row {
    struct stats_second n;
    struct hist *message;       /* agents; NULL for sinks */
};

struct sim_seconds {
    uint64_t origin_ns;         /* monotonic: second t ends at origin + t s; 0: no start yet */
    struct sim_row rows[SIM_SECONDS];
    struct stats_second total;
    uint64_t last_ns;
    struct wire_seconds_store *store;
};

struct sim_dest {
    int fd;
    struct sockaddr_storage sa;
    socklen_t len;
};

struct sim_agent {
    struct sim *sim;
    struct peerlink *pl;
    char id[TRACE_ID_MAX];
    char campaign[TRACE_ID_MAX];
    struct sim_dest dests[16];
    size_t n_dests;
    uint32_t target_first, sessions, recipients;
    uint64_t messages, seq_first, seq_stride, rate_milli, duration_ms;
    int running;
    uint64_t start_mono_ns, cpu0, k, progress_seq;
    uint64_t report_ns;         /* the workload's report interval */
    struct load_stats *stats;
    struct sim_seconds secs;
    struct ev_timer start_timer, run_timer, report_timer;
};

struct seqset {
    uint64_t *slots;            /* seq + 1; 0: empty */
    size_t cap, n;
};

struct sink_agent {
    char id[TRACE_ID_MAX];
    uint64_t received, duplicates;
    int64_t offset_ns;          /* its clock minus ours, from Start */
    struct seqset seen;
};

struct sink_campaign {
    char id[TRACE_ID_MAX];
    struct sim_seconds secs;
    uint64_t received, duplicates, bytes;
    struct hist delivery;
    struct sink_agent *agents;
    size_t n, cap;
};

struct sim {
    struct sim_opts o;
    struct ev_loop *loop;
    void *zctx;
    struct sim_agent *agents;
    size_t n_agents;
    int udp4, udp6, unixfd;
    /* sink */
    struct peerlink *sink_pl;
    int listen_fd;
    struct sink_campaign camps[SIM_CAMPAIGNS];
    size_t n_camps;
    uint64_t messages, untraced, dropped_on_purpose;
    struct ev_timer sink_timer, garbage_timer;
    void *garbage_sock;
    int exit_code;
};

static volatile sig_atomic_t sim_quit;
static struct ev_loop *sim_loop;

static void sim_on_signal(int sig)
{
    (void)sig;
    sim_quit = 1;
    if (sim_loop)
        ev_stop(sim_loop);
}

/* ---- agent ---- */

static int sim_dest_fd(struct sim *s, int family)
{
    int *slot = family == AF_UNIX ? &s->unixfd : family == AF_INET6 ? &s->udp6 : &s->udp4;

    if (*slot < 0)
        *slot = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    return *slot;
}

static int sim_resolve(struct sim *s, const char *spec, struct sim_dest *d, char *why, size_t whylen)
{
    struct endpoint ep;
    struct endpoint_addr addr;
    struct sockaddr_un *un = (struct sockaddr_un *)&d->sa;
    char err[256];

    if (endpoint_parse(spec, "25", &ep, err, sizeof(err)) != 0) {
        snprintf(why, whylen, "target %s: %s", spec, err);
        return -1;
    }
    memset(d, 0, sizeof(*d));
    if (ep.is_unix) {
        un->sun_family = AF_UNIX;
        snprintf(un->sun_path, sizeof(un->sun_path), "%s", ep.path);
        d->len = sizeof(*un);
    } else {
        if (endpoint_resolve(&ep, ENDPOINT_ANY, &addr, 1, err, sizeof(err)) != 1) {
            snprintf(why, whylen, "target %s: %s", spec, err);
            return -1;
        }
        d->sa = addr.sa;
        d->len = addr.len;
    }
    d->fd = sim_dest_fd(s, d->sa.ss_family);
    return d->fd >= 0 ? 0 : -1;
}

static int sim_on_workload(struct peerlink *pl, const Smtpstorm__Workload *w, char *why, size_t whylen,
                           void *arg)
{
    struct sim_agent *a = arg;
    size_t i;

    (void)pl;
    if (w->n_targets > sizeof(a->dests) / sizeof(a->dests[0])) {
        snprintf(why, whylen, "the simulator takes at most 16 targets");
        return -EINVAL;
    }
    for (i = 0; i < w->n_targets; i++)
        if (sim_resolve(a->sim, w->targets[i], &a->dests[i], why, whylen) != 0)
            return -EINVAL;
    a->n_dests = w->n_targets;
    snprintf(a->campaign, sizeof(a->campaign), "%s", w->campaign);
    a->target_first = w->target_first;
    a->sessions = w->sessions ? w->sessions : 1;
    a->recipients = w->recipients ? w->recipients : 1;
    a->messages = w->messages;
    a->seq_first = w->seq_first;
    a->seq_stride = w->seq_stride;
    a->rate_milli = w->rate_milli;
    a->duration_ms = w->duration_ms;
    a->report_ns = w->report_interval_ms ? (uint64_t)w->report_interval_ms * NS_PER_MS : NS_PER_SEC;
    return 0;
}

/* sim_seconds_start - rows count from now. */
static void sim_seconds_start(struct sim_seconds *ss, uint64_t origin_ns)
{
    size_t i;

    ss->origin_ns = origin_ns;
    memset(&ss->total, 0, sizeof(ss->total));
    ss->last_ns = 0;
    for (i = 0; i < SIM_SECONDS; i++) {
        memset(&ss->rows[i].n, 0, sizeof(ss->rows[i].n));
        ss->rows[i].n.t = UINT32_MAX;
    }
}

static uint32_t sim_second_now(const struct sim_seconds *ss, uint64_t now)
{
    return now < ss->origin_ns ? 0 : (uint32_t)((now - ss->origin_ns) / NS_PER_SEC) + 1;
}

/* sim_row_now - the row of the second now is in; counts are added to it
 * (and to total by the caller through sim_row_count). */
static struct sim_row *sim_row_now(struct sim_seconds *ss, uint64_t now)
{
    uint32_t t = sim_second_now(ss, now);
    struct sim_row *r = &ss->rows[t % SIM_SECONDS];

    if (r->n.t != t) {
        memset(&r->n, 0, sizeof(r->n));
        r->n.t = t;
        if (r->message)
            hist_init(r->message);
    }
    if (now > ss->origin_ns)
        ss->last_ns = now - ss->origin_ns;
    return r;
}

/* sim_count - one event's counts into the row of now and the total. */
static struct sim_row *sim_count(struct sim_seconds *ss, const struct stats_second *c)
{
    struct sim_row *r = sim_row_now(ss, clock_mono_ns());

    stats_second_add(&r->n, c);
    stats_second_add(&ss->total, c);
    return r;
}

/* sim_seconds_fill - the rows to send: seconds before now's closed (with
 * final, all of them). NULL before the start. */
static Smtpstorm__Seconds *sim_seconds_fill(struct sim_seconds *ss, int final)
{
    struct wire_seconds src;
    uint32_t t;

    if (ss->origin_ns == 0 || ss->store == NULL)
        return NULL;
    memset(&src, 0, sizeof(src));
    src.closed = sim_second_now(ss, clock_mono_ns()) + (final ? 1 : 0);
    src.last_ns = ss->last_ns;
    src.before = ss->total;
    src.total = ss->total;
    for (t = src.closed > SIM_SECONDS ? src.closed - SIM_SECONDS : 0; t < src.closed + SIM_SECONDS; t++) {
        const struct sim_row *r = &ss->rows[t % SIM_SECONDS];

        if (r->n.t != t)
            continue;
        if (t >= src.closed) {
            stats_second_sub(&src.before, &r->n, &src.before);
            continue;
        }
        src.rows[src.n] = &r->n;
        src.messages[src.n] = r->message;
        src.n++;
    }
    return wire_seconds_fill(ss->store, &src);
}

static void sim_agent_meta(struct sim_agent *a, struct wire_progress_meta *m)
{
    memset(m, 0, sizeof(*m));
    m->campaign = a->campaign;
    m->seq = ++a->progress_seq;
    m->elapsed_ns = clock_mono_ns() - a->start_mono_ns;
    m->cpu_ns = clock_cpu_ns() - a->cpu0;
    m->sessions_active = a->running ? a->sessions : 0;
    m->seconds = sim_seconds_fill(&a->secs, !a->running);
}

static void sim_agent_finish(struct sim_agent *a, const char *status)
{
    struct ev_loop *loop = a->sim->loop;
    struct wire_progress_meta m;

    if (!a->running)
        return;
    a->running = 0;
    if (a->secs.origin_ns == 0)
        sim_seconds_start(&a->secs, clock_mono_ns());
    ev_timer_stop(loop, &a->run_timer);
    ev_timer_stop(loop, &a->report_timer);
    a->stats->sessions = a->sessions;
    sim_agent_meta(a, &m);
    (void)peerlink_send_done(a->pl, a->stats, &m, status);
}

static void sim_record_latencies(struct sim_agent *a, uint64_t seq)
{
    struct load_stats *s = a->stats;

    hist_record(&s->latency[PHASE_CONNECT], 80 + seq % 40);
    hist_record(&s->latency[PHASE_HELO], 30 + seq % 10);
    hist_record(&s->latency[PHASE_MAIL], 20 + seq % 7);
    hist_record(&s->latency[PHASE_RCPT], 20 + seq % 9);
    hist_record(&s->latency[PHASE_DATA], 25 + seq % 5);
    hist_record(&s->latency[PHASE_DOT], 200 + (seq * 7919) % 800);
    hist_record(&s->latency[PHASE_MESSAGE], 400 + (seq * 7919) % 4000);
}

/* One message; -EAGAIN when the destination is full (try again later). */
static int sim_send_one(struct sim_agent *a)
{
    uint64_t seq = a->seq_first + a->k * a->seq_stride;
    struct sim_dest *d = &a->dests[(a->target_first + a->k % a->sessions) % a->n_dests];
    struct trace t = { "", "", seq, clock_wall_ns() / NS_PER_US };
    char line[TRACE_LINE_MAX];
    struct sim_row *row;
    int n;

    if (a->sim->o.reject_every && (seq + 1) % a->sim->o.reject_every == 0) {
        a->stats->messages_attempted++;
        a->stats->messages_rejected++;
        stats_count_reply(a->stats, 550);
        (void)sim_count(&a->secs, &(struct stats_second){ .attempted = 1, .rejected = 1, .replies_5xx = 1,
                                                           .sessions_active = 0 });
        a->k++;
        return 0;
    }
    snprintf(t.campaign, sizeof(t.campaign), "%s", a->campaign);
    snprintf(t.agent, sizeof(t.agent), "%s", a->id);
    if ((n = trace_format(&t, line, sizeof(line))) < 0)
        return -EINVAL;
    if (sendto(d->fd, line, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&d->sa, d->len) < 0) {
        if (errno == EAGAIN || errno == ENOBUFS)
            return -EAGAIN;
        a->stats->messages_attempted++;
        stats_count_error(a->stats, ERROR_CONNECT_REFUSED);
        (void)sim_count(&a->secs, &(struct stats_second){ .attempted = 1, .errors = 1 });
        a->k++;
        return 0;
    }
    a->stats->messages_attempted++;
    a->stats->messages_accepted++;
    a->stats->recipients += a->recipients;
    a->stats->bytes += (uint64_t)n;
    stats_count_reply(a->stats, 250);
    sim_record_latencies(a, seq);
    row = sim_count(&a->secs, &(struct stats_second){ .attempted = 1, .accepted = 1 });
    row->n.sessions_active = a->sessions;
    if (row->message)
        hist_record(row->message, 400 + (seq * 7919) % 4000);
    a->k++;
    if (a->sim->o.die_after && a->stats->messages_accepted >= a->sim->o.die_after)
        raise(SIGKILL);         /* a crash, as the coordinator sees it */
    return 0;
}

/* sim_tick_ns - how often an agent sends: every 10 ms, or at a slow rate
 * once a message (a thousand agents at a few messages a second each must
 * not cost the simulator 100 wakeups a second each). */
static uint64_t sim_tick_ns(const struct sim_agent *a)
{
    uint64_t every;

    if (a->rate_milli == 0)
        return SIM_TICK_NS;
    every = (uint64_t)(1e12 / (double)a->rate_milli);
    return every < SIM_TICK_NS ? SIM_TICK_NS : every > SIM_TICK_MAX_NS ? SIM_TICK_MAX_NS : every;
}

static void sim_on_run(struct ev_loop *loop, void *arg)
{
    struct sim_agent *a = arg;
    uint64_t elapsed = clock_mono_ns() - a->start_mono_ns, due, batch = 0;

    if (a->rate_milli > 0)
        due = (uint64_t)((double)a->rate_milli * (double)elapsed / 1e12);
    else
        due = (uint64_t)(a->sim->o.speed * a->sessions * (double)elapsed / 1e9);
    if (a->messages > 0 && due > a->messages)
        due = a->messages;
    while (a->k < due && batch++ < SIM_BATCH)
        if (sim_send_one(a) != 0)
            break;
    if ((a->messages > 0 && a->k >= a->messages)
        || (a->duration_ms > 0 && elapsed >= a->duration_ms * NS_PER_MS)) {
        sim_agent_finish(a, "");
        return;
    }
    /* behind (the target's queue was full: a unix datagram socket holds
     * net.unix.max_dgram_qlen, 10 by default): try again soon */
    ev_timer_start(loop, &a->run_timer, a->k < due ? SIM_TICK_NS : sim_tick_ns(a));
}

static void sim_on_report(struct ev_loop *loop, void *arg)
{
    struct sim_agent *a = arg;
    struct wire_progress_meta m;

    sim_agent_meta(a, &m);
    (void)peerlink_send_progress(a->pl, a->stats, &m);
    ev_timer_start(loop, &a->report_timer, a->report_ns);
}

static void sim_on_start_timer(struct ev_loop *loop, void *arg)
{
    struct sim_agent *a = arg;

    stats_init(a->stats);
    a->k = 0;
    a->progress_seq = 0;
    a->running = 1;
    a->start_mono_ns = clock_mono_ns();
    sim_seconds_start(&a->secs, a->start_mono_ns);
    a->cpu0 = clock_cpu_ns();
    ev_timer_start(loop, &a->run_timer, 0);
    ev_timer_start(loop, &a->report_timer, a->report_ns);
}

static void sim_on_start(struct peerlink *pl, const Smtpstorm__Start *s, uint64_t local_start_ns, void *arg)
{
    struct sim_agent *a = arg;
    uint64_t now = clock_wall_ns();

    (void)pl;
    (void)s;
    ev_timer_start(a->sim->loop, &a->start_timer, local_start_ns > now ? local_start_ns - now : 0);
}

static void sim_on_stop(struct peerlink *pl, const char *campaign, const char *reason, void *arg)
{
    struct sim_agent *a = arg;
    char status[300];

    (void)pl;
    (void)campaign;
    ev_timer_stop(a->sim->loop, &a->start_timer);
    if (!a->running)
        a->running = 1;         /* stopped before it started: still say Done */
    snprintf(status, sizeof(status), "stopped: %s", reason);
    sim_agent_finish(a, status);
}

static void sim_on_lost(struct peerlink *pl, void *arg)
{
    struct sim_agent *a = arg;

    (void)pl;
    ev_timer_stop(a->sim->loop, &a->start_timer);
    sim_agent_finish(a, "coordinator lost: load stopped");
}

static void sim_on_refused(struct peerlink *pl, const char *text, void *arg)
{
    struct sim *s = arg;

    (void)pl;
    fprintf(stderr, "simpeer: refused: %s\n", text);
    s->exit_code = 3;
    ev_stop(s->loop);
}

/* ---- sink ---- */

static int seqset_add(struct seqset *set, uint64_t seq)
{
    uint64_t *grown, key = seq + 1;
    size_t i, cap;

    if (2 * (set->n + 1) > set->cap) {
        cap = set->cap ? 2 * set->cap : 1024;
        if ((grown = calloc(cap, sizeof(*grown))) == NULL)
            return -ENOMEM;
        for (i = 0; i < set->cap; i++) {
            size_t j;

            if (!set->slots[i])
                continue;
            for (j = (size_t)(set->slots[i] * 0x9E3779B97F4A7C15ULL) & (cap - 1); grown[j]; j = (j + 1) & (cap - 1))
                ;
            grown[j] = set->slots[i];
        }
        free(set->slots);
        set->slots = grown;
        set->cap = cap;
    }
    for (i = (size_t)(key * 0x9E3779B97F4A7C15ULL) & (set->cap - 1); set->slots[i]; i = (i + 1) & (set->cap - 1))
        if (set->slots[i] == key)
            return 1;           /* seen before */
    set->slots[i] = key;
    set->n++;
    return 0;
}

static struct sink_campaign *sink_campaign(struct sim *s, const char *id)
{
    size_t i;

    for (i = 0; i < s->n_camps; i++)
        if (strcmp(s->camps[i].id, id) == 0)
            return &s->camps[i];
    if (s->n_camps == SIM_CAMPAIGNS)
        return NULL;
    memset(&s->camps[s->n_camps], 0, sizeof(s->camps[0]));
    snprintf(s->camps[s->n_camps].id, sizeof(s->camps[0].id), "%s", id);
    hist_init(&s->camps[s->n_camps].delivery);
    return &s->camps[s->n_camps++];
}

static struct sink_agent *sink_agent(struct sink_campaign *c, const char *id)
{
    struct sink_agent *grown;
    size_t i;

    for (i = 0; i < c->n; i++)
        if (strcmp(c->agents[i].id, id) == 0)
            return &c->agents[i];
    if (c->n == SIM_SINK_AGENTS)
        return NULL;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 16;
        if ((grown = realloc(c->agents, c->cap * sizeof(*grown))) == NULL)
            return NULL;
        c->agents = grown;
    }
    memset(&c->agents[c->n], 0, sizeof(c->agents[0]));
    snprintf(c->agents[c->n].id, sizeof(c->agents[0].id), "%s", id);
    return &c->agents[c->n++];
}

static void sink_count(struct sim *s, const char *buf, size_t len)
{
    struct sink_campaign *c;
    struct sink_agent *a;
    struct trace t;
    int64_t lat;

    s->messages++;
    if (trace_parse(buf, len, &t) != 0) {
        s->untraced++;
        return;
    }
    if (s->dropped_on_purpose < s->o.lose) {
        s->dropped_on_purpose++;
        return;
    }
    if ((c = sink_campaign(s, t.campaign)) == NULL || (a = sink_agent(c, t.agent)) == NULL)
        return;
    if (seqset_add(&a->seen, t.seq) == 1) {
        a->duplicates++;
        c->duplicates++;
        if (c->secs.origin_ns)
            (void)sim_count(&c->secs, &(struct stats_second){ .duplicates = 1 });
        return;
    }
    a->received++;
    c->received++;
    if (c->secs.origin_ns)
        (void)sim_count(&c->secs, &(struct stats_second){ .received = 1 });
    c->bytes += len;
    lat = (int64_t)(clock_wall_ns() / NS_PER_US) - (int64_t)t.sent_us + a->offset_ns / 1000;
    hist_record(&c->delivery, lat > 0 ? (uint64_t)lat : 0);
}

static void sink_on_read(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    struct sim *s = arg;
    char buf[1024];
    ssize_t n;
    int i;

    (void)loop;
    (void)events;
    for (i = 0; i < 10000; i++) {
        if ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) < 0)
            return;
        sink_count(s, buf, (size_t)n);
    }
}

static void sink_on_timer(struct ev_loop *loop, void *arg)
{
    struct sim *s = arg;
    struct peerlink_sink_campaign pcs[SIM_CAMPAIGNS];
    struct peerlink_sink_agent *pas[SIM_CAMPAIGNS] = { 0 };
    struct peerlink_sink_counters pc = { 0 };
    size_t i, j;

    for (i = 0; i < s->n_camps; i++) {
        struct sink_campaign *c = &s->camps[i];

        pas[i] = calloc(c->n + 1, sizeof(*pas[i]));
        for (j = 0; pas[i] && j < c->n; j++)
            pas[i][j] = (struct peerlink_sink_agent){ c->agents[j].id, c->agents[j].received,
                                                      c->agents[j].duplicates, 0, 0 };
        pcs[i] = (struct peerlink_sink_campaign){ c->id, c->received, c->duplicates, c->bytes,
                                                  &c->delivery, pas[i], pas[i] ? c->n : 0,
                                                  sim_seconds_fill(&c->secs, 0), NULL, 0 };
    }
    pc.messages = s->messages;
    pc.untraced = s->untraced;
    pc.campaigns = pcs;
    pc.n_campaigns = s->n_camps;
    (void)peerlink_send_sink_counters(s->sink_pl, &pc);
    for (i = 0; i < s->n_camps; i++)
        free(pas[i]);
    ev_timer_start(loop, &s->sink_timer, NS_PER_SEC);
}

static void sink_on_start(struct peerlink *pl, const Smtpstorm__Start *st, uint64_t local, void *arg)
{
    struct sim *s = arg;
    struct sink_campaign *c = sink_campaign(s, st->campaign);
    struct sink_agent *a;
    size_t i;

    (void)pl;
    if (c != NULL && c->secs.origin_ns == 0 && (c->secs.store = wire_seconds_store_new(0)) != NULL) {
        uint64_t now_wall = clock_wall_ns(), now = clock_mono_ns();

        /* the start on our monotonic clock: local is our wall clock's */
        sim_seconds_start(&c->secs, local > now_wall ? now + (local - now_wall)
                          : now - (now_wall - local < now ? now_wall - local : now - 1));
    }
    for (i = 0; c && i < st->n_agents; i++)
        if ((a = sink_agent(c, st->agents[i]->id)) != NULL)
            a->offset_ns = st->agents[i]->offset_ns;
}

static int sink_listen(struct sim *s)
{
    struct endpoint ep;
    struct endpoint_addr addr;
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    char err[256];
    int fd, big = 8 << 20;

    if (endpoint_parse(s->o.listen, NULL, &ep, err, sizeof(err)) != 0) {
        fprintf(stderr, "simpeer: %s\n", err);
        return -1;
    }
    if (ep.is_unix) {
        snprintf(un.sun_path, sizeof(un.sun_path), "%s", ep.path);
        (void)unlink(ep.path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&un, sizeof(un)) != 0)
            goto fail;
    } else {
        if (endpoint_resolve(&ep, ENDPOINT_ANY, &addr, 1, err, sizeof(err)) != 1)
            goto fail;
        fd = socket(addr.sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&addr.sa, addr.len) != 0)
            goto fail;
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    s->listen_fd = fd;
    return ev_io_set(s->loop, fd, EV_READ, sink_on_read, s);
fail:
    fprintf(stderr, "simpeer: cannot listen on %s: %s\n", s->o.listen, strerror(errno));
    return -1;
}

/* ---- garbage, for the coordinator's robustness ---- */

static void sim_on_garbage(struct ev_loop *loop, void *arg)
{
    static const char *const frames[] = { "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", "\x0f", ("\x0a\x10" "abc") };
    static const size_t lens[] = { 11, 1, 5 };
    struct sim *s = arg;
    unsigned i;

    if (s->n_agents == 0 || !peerlink_welcomed(s->agents[0].pl)) {
        ev_timer_start(loop, &s->garbage_timer, 50 * NS_PER_MS);
        return;
    }
    s->garbage_sock = zmq_socket(s->zctx, ZMQ_DEALER);
    if (s->garbage_sock == NULL || zmq_connect(s->garbage_sock, s->o.coordinator) != 0)
        return;
    for (i = 0; i < s->o.garbage; i++)
        (void)zmq_send(s->garbage_sock, frames[i % 3], lens[i % 3], 0);
    (void)zmq_send(s->garbage_sock, "two", 3, ZMQ_SNDMORE);     /* a frame too many */
    (void)zmq_send(s->garbage_sock, "parts", 5, 0);
    printf("garbage sent %u\n", s->o.garbage + 1);
    fflush(stdout);
}

/* ---- setup ---- */

static void usage(void)
{
    fprintf(stderr, "usage: simpeer --role agent|sink --coordinator EP --id ID [options] [ADDRESS [BACKLOG]]\n");
    exit(2);
}

static void sim_load_keys(struct sim_opts *o)
{
    char err[512];

    if (!o->key_file != !o->coordinator_key_file) {
        fprintf(stderr, "simpeer: --key and --coordinator-key go together\n");
        exit(2);
    }
    if (o->key_file && (keys_load_secret(o->key_file, &o->key, err, sizeof(err)) != 0
                        || keys_load_public(o->coordinator_key_file, o->coordinator_key, err, sizeof(err)) != 0)) {
        fprintf(stderr, "simpeer: %s\n", err);
        exit(2);
    }
}

static void sim_parse(int argc, char **argv, struct sim_opts *o)
{
    static const struct option longs[] = {
        { "role", 1, NULL, 'R' }, { "coordinator", 1, NULL, 'c' }, { "id", 1, NULL, 'i' },
        { "cores", 1, NULL, 'n' }, { "count", 1, NULL, 'N' }, { "speed", 1, NULL, 's' },
        { "die-after", 1, NULL, 'd' }, { "reject-every", 1, NULL, 'r' }, { "lose", 1, NULL, 'l' },
        { "garbage", 1, NULL, 'g' }, { "wire-version", 1, NULL, 'w' }, { "key", 1, NULL, 'k' },
        { "coordinator-key", 1, NULL, 'K' }, { "insecure", 0, NULL, 'I' },
        { "heartbeat-timeout", 1, NULL, 'H' }, { NULL, 0, NULL, 0 },
    };
    int opt;

    memset(o, 0, sizeof(*o));
    o->count = 1;
    o->speed = 500;
    while ((opt = getopt_long(argc, argv, "u:", longs, NULL)) != -1) {
        switch (opt) {
        case 'R': o->role = optarg; break;
        case 'c': o->coordinator = optarg; break;
        case 'i': o->id = optarg; break;
        case 'n': o->cores = (unsigned)atoi(optarg); break;
        case 'N': o->count = (unsigned)atoi(optarg); break;
        case 's': o->speed = atof(optarg); break;
        case 'd': o->die_after = strtoull(optarg, NULL, 10); break;
        case 'r': o->reject_every = strtoull(optarg, NULL, 10); break;
        case 'l': o->lose = strtoull(optarg, NULL, 10); break;
        case 'g': o->garbage = (unsigned)atoi(optarg); break;
        case 'w': o->wire_version = (unsigned)atoi(optarg); break;
        case 'k': o->key_file = optarg; break;
        case 'K': o->coordinator_key_file = optarg; break;
        case 'I': o->insecure = 1; break;
        case 'H': o->dead_ms = (unsigned)(atof(optarg) * 1000); break;
        case 'u': break;        /* smtp-sink's -u user (--local as root): nothing to drop here */
        default: usage();
        }
    }
    if (!o->role || !o->coordinator || !o->id)
        usage();
    if (o->count < 1 || o->count > SIM_AGENTS_MAX) {
        fprintf(stderr, "simpeer: --count %u: from 1 to %u\n", o->count, (unsigned)SIM_AGENTS_MAX);
        exit(2);
    }
    if (strcmp(o->role, "sink") == 0) {
        if (optind >= argc)
            usage();
        o->listen = argv[optind];
    }
    sim_load_keys(o);
}

/* Fill the CURVE fields of po from the options (keys loaded by sim_parse). */
static void sim_security(const struct sim_opts *o, struct peerlink_opts *po)
{
    po->key = o->key_file ? &o->key : NULL;
    po->coordinator_key = o->coordinator_key_file ? o->coordinator_key : NULL;
    po->insecure = o->insecure;
}

static int sim_open_agents(struct sim *s)
{
    struct peerlink_callbacks cb = { sim_on_workload, sim_on_start, sim_on_stop, sim_on_lost, NULL, NULL, NULL };
    struct peerlink_opts po = { .endpoint = s->o.coordinator, .role = PEERLINK_AGENT, .cores = s->o.cores,
                                .wire_version = s->o.wire_version, .dead_ms = s->o.dead_ms };
    char err[512];
    size_t i;

    sim_security(&s->o, &po);
    if ((s->agents = calloc(s->o.count, sizeof(*s->agents))) == NULL)
        return -1;
    for (i = 0; i < s->o.count; i++) {
        struct sim_agent *a = &s->agents[i];

        a->sim = s;
        if (s->o.count == 1)
            snprintf(a->id, sizeof(a->id), "%s", s->o.id);
        else
            snprintf(a->id, sizeof(a->id), "%.50s-%zu", s->o.id, i + 1);
        for (size_t k = 0; k < SIM_SECONDS; k++)
            if ((a->secs.rows[k].message = malloc(sizeof(struct hist))) != NULL)
                hist_init(a->secs.rows[k].message);
        a->secs.store = wire_seconds_store_new(1);
        if ((a->stats = malloc(sizeof(*a->stats))) == NULL)
            return -1;
        stats_init(a->stats);
        ev_timer_init(&a->start_timer, sim_on_start_timer, a);
        ev_timer_init(&a->run_timer, sim_on_run, a);
        ev_timer_init(&a->report_timer, sim_on_report, a);
        po.id = a->id;
        cb.refused = NULL;
        a->pl = peerlink_open(s->zctx, s->loop, &po, &cb, a, err, sizeof(err));
        if (a->pl == NULL) {
            fprintf(stderr, "simpeer: %s\n", err);
            return -1;
        }
        s->n_agents++;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct sim s;
    struct sigaction sa = { .sa_handler = sim_on_signal };
    char err[512], why[64];
    size_t i;

    log_init("simpeer");
    memset(&s, 0, sizeof(s));
    s.udp4 = s.udp6 = s.unixfd = s.listen_fd = -1;
    sim_parse(argc, argv, &s.o);
    snprintf(why, sizeof(why), "%u simulated agents", s.o.count);
    if (fdlimit_raise((uint64_t)s.o.count * SIM_FDS_PER_AGENT + SIM_FDS_SPARE, why, err, sizeof(err)) != 0) {
        fprintf(stderr, "simpeer: %s\n", err);
        return 1;
    }
    s.loop = ev_loop_new();
    s.zctx = zmq_ctx_new();
    if (s.loop == NULL || s.zctx == NULL)
        return 1;
    /* libzmq's default is 1023 sockets a context: one per agent, and
     * spares; and one I/O thread for SIM_PER_IO_THREAD agents, as a real
     * agent has one for its single connection: an I/O thread cancels a
     * ZMTP heartbeat timer on every message by a scan of all of its own */
    if (zmq_ctx_set(s.zctx, ZMQ_MAX_SOCKETS, (int)s.o.count + SIM_FDS_SPARE) != 0
        || zmq_ctx_set(s.zctx, ZMQ_IO_THREADS, (int)((s.o.count + SIM_PER_IO_THREAD - 1) / SIM_PER_IO_THREAD)) != 0) {
        fprintf(stderr, "simpeer: %u sockets in one ZeroMQ context: %s\n", s.o.count + SIM_FDS_SPARE,
                zmq_strerror(errno));
        return 1;
    }
    sim_loop = s.loop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (strcmp(s.o.role, "sink") == 0) {
        struct peerlink_callbacks cb = { NULL, sink_on_start, NULL, NULL, sim_on_refused, NULL, NULL };
        struct peerlink_opts po = { .endpoint = s.o.coordinator, .id = s.o.id, .role = PEERLINK_SINK,
                                    .wire_version = s.o.wire_version, .dead_ms = s.o.dead_ms };

        sim_security(&s.o, &po);
        if (sink_listen(&s) != 0)
            return 1;
        if ((s.sink_pl = peerlink_open(s.zctx, s.loop, &po, &cb, &s, err, sizeof(err))) == NULL) {
            fprintf(stderr, "simpeer: %s\n", err);
            return 1;
        }
        ev_timer_init(&s.sink_timer, sink_on_timer, &s);
        ev_timer_start(s.loop, &s.sink_timer, NS_PER_SEC);
    } else if (sim_open_agents(&s) != 0) {
        return 1;
    }
    /* Agents: the first one's refusal ends the program (wrong-version test). */
    if (s.n_agents > 0 && s.o.wire_version) {
        struct peerlink_callbacks cb = { NULL, NULL, NULL, NULL, sim_on_refused, NULL, NULL };
        struct peerlink_opts po = { .endpoint = s.o.coordinator, .id = s.agents[0].id,
                                    .role = PEERLINK_AGENT, .wire_version = s.o.wire_version };

        sim_security(&s.o, &po);
        peerlink_close(s.agents[0].pl);
        s.agents[0].pl = peerlink_open(s.zctx, s.loop, &po, &cb, &s, err, sizeof(err));
    }
    if (s.o.garbage) {
        ev_timer_init(&s.garbage_timer, sim_on_garbage, &s);
        ev_timer_start(s.loop, &s.garbage_timer, 0);
    }
    (void)ev_run(s.loop);
    for (i = 0; i < s.n_agents; i++) {
        peerlink_close(s.agents[i].pl);
        free(s.agents[i].stats);
        for (size_t k = 0; k < SIM_SECONDS; k++)
            free(s.agents[i].secs.rows[k].message);
        wire_seconds_store_free(s.agents[i].secs.store);
    }
    free(s.agents);
    peerlink_close(s.sink_pl);
    for (i = 0; i < s.n_camps; i++) {
        for (size_t j = 0; j < s.camps[i].n; j++)
            free(s.camps[i].agents[j].seen.slots);
        free(s.camps[i].agents);
        wire_seconds_store_free(s.camps[i].secs.store);
    }
    if (s.garbage_sock) {
        int zero = 0;

        zmq_setsockopt(s.garbage_sock, ZMQ_LINGER, &zero, sizeof(zero));
        zmq_close(s.garbage_sock);
    }
    zmq_ctx_term(s.zctx);
    ev_loop_free(s.loop);
    return s.exit_code;
}
