/* link.c - smtpstorm-sink's counters to the coordinator (see link.h): a
 * thread with its own lib/ev loop runs lib/peerlink and, every second,
 * turns the engine's snapshots (sink_counters_snapshot, sink_tally_snapshot,
 * sink_agents_snapshot) into one cumulative SinkCounters message. */
#include "link.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "ev.h"
#include "log.h"
#include "peerlink.h"
#include "tally.h"
#include "trace.h"

_Static_assert(TALLY_AGENTS_MAX >= WIRE_AGENTS_MAX, "a sink keeps every agent of a campaign");

#define LINK_TICK_NS NS_PER_SEC     /* how often counters are read (and, by default, sent) */
#define LINK_READS_MAX 8            /* readings of the tallies while messages are being counted */
#define LINK_REREAD_NS 50000        /* ... this far apart */

struct sink_link {
    struct sink_server *srv;
    const struct sink_config *cfg;
    struct ev_loop *loop;
    void *zctx;
    struct peerlink *pl;
    pthread_t thread;
    int thread_started;
    int stop_fd;                    /* eventfd: sink_link_stop wakes the thread */
    struct ev_timer tick;
    uint64_t next_send_ns;          /* monotonic: when counters are sent next */
    uint64_t last_messages;         /* --report-interval 0: messages at the last tick */
    uint64_t sent_messages;         /* ... and in the last report sent */
    atomic_int refused;
    char id[TRACE_ID_MAX];
    struct tally_snapshot *snap;
    struct wire_seconds_store *seconds;     /* the running campaign's event-time rows */
    struct hist *deliveries;                /* [WIRE_SECONDS_MAX]: their delivery latency */
    char campaign[TRACE_ID_MAX];            /* the last Start's campaign */
    _Atomic uint64_t origin_us;             /* its start on our wall clock; 0: none */
    struct tally_agent agents[TALLY_AGENTS_MAX];
    struct peerlink_sink_agent pagents[TALLY_AGENTS_MAX];
    struct peerlink_sink_campaign pcamps[TALLY_CAMPAIGNS_MAX];
};

/* link_seconds - the event-time rows of campaign tc (the last Start's):
 * the seconds before the one now running are closed; before sums them. */
static Smtpstorm__Seconds *link_seconds(struct sink_link *l, const struct tally_campaign *tc)
{
    uint64_t origin = atomic_load(&l->origin_us);
    struct wire_seconds src;
    size_t i, k;

    if (origin == 0 || strcmp(tc->campaign, l->campaign) != 0)
        return NULL;
    memset(&src, 0, sizeof(src));
    src.closed = tally_second_of(clock_wall_ns() / 1000, origin);
    src.last_ns = tc->last_ns;
    src.before.received = tc->received - (tc->duplicates < tc->received ? tc->duplicates : tc->received);
    src.before.duplicates = tc->duplicates;
    src.before.sink_deferred = tc->outcomes[BEHAVIOUR_OUT_DEFERRED];   /* counted by second too */
    src.before.sink_rejected = tc->outcomes[BEHAVIOUR_OUT_REJECTED];
    src.total = src.before;
    for (i = 0; i < tc->n_seconds; i++)
        if (tc->seconds[i].t >= src.closed)
            stats_second_sub(&src.before, &tc->seconds[i], &src.before);
    /* the closed rows, oldest first, at most the last WIRE_SECONDS_MAX / 2 */
    for (k = src.closed > WIRE_SECONDS_MAX / 2 ? src.closed - WIRE_SECONDS_MAX / 2 : 0; k < src.closed; k++)
        for (i = 0; i < tc->n_seconds; i++)
            if (tc->seconds[i].t == k && src.n < WIRE_SECONDS_MAX) {
                hist_init(&l->deliveries[src.n]);
                sink_server_second_delivery(l->srv, tc->campaign, (uint32_t)k, &l->deliveries[src.n]);
                src.deliveries[src.n] = &l->deliveries[src.n];
                src.rows[src.n++] = &tc->seconds[i];
            }
    return wire_seconds_fill(l->seconds, &src);
}

/* link_read_campaigns - the loops' tallies and each campaign's agents into
 * l->snap, l->agents and l->pcamps (the agents of campaign i from
 * l->pcamps[i].agents); returns 0 when no message or outcome was counted
 * meanwhile, so that a campaign's total and its agents' lines agree. */
static int link_read_campaigns(struct sink_link *l)
{
    uint64_t before, after;
    size_t i, j, used = 0, n;
    int busy = sink_server_counting(l->srv, &before);

    sink_tally_snapshot(l->srv, l->snap);
    for (i = 0; i < l->snap->count; i++) {
        struct tally_campaign *tc = &l->snap->campaigns[i];

        n = TALLY_AGENTS_MAX - used;
        if (n > WIRE_AGENTS_MAX)
            n = WIRE_AGENTS_MAX;        /* what a campaign's counters may carry */
        n = sink_agents_snapshot(l->srv, tc->campaign, l->agents + used, n);
        for (j = 0; j < n; j++)
            l->pagents[used + j] = (struct peerlink_sink_agent){ l->agents[used + j].agent,
                                                                 l->agents[used + j].received,
                                                                 l->agents[used + j].duplicates,
                                                                 l->agents[used + j].rejected,
                                                                 l->agents[used + j].deferred };
        l->pcamps[i] = (struct peerlink_sink_campaign){
            tc->campaign, tc->received - (tc->duplicates < tc->received ? tc->duplicates : tc->received),
            tc->duplicates, tc->bytes, tc->latency_us.count ? &tc->latency_us : NULL,
            l->pagents + used, n, NULL, tc->outcomes, TALLY_OUTCOMES };
        used += n;
    }
    return busy || sink_server_counting(l->srv, &after) || after != before ? -1 : 0;
}

/* link_send - one SinkCounters with everything counted so far: read again
 * (a few times, microseconds apart) while messages were being counted, so
 * that the report the coordinator ends a drain on adds up; under steady
 * load the last reading goes, and the next report catches up. */
static void link_send(struct sink_link *l, const struct sink_counters *c)
{
    struct peerlink_sink_counters pc = { 0 };
    const struct timespec pause = { 0, LINK_REREAD_NS };
    size_t i;
    int tries;

    for (tries = 1; link_read_campaigns(l) != 0 && tries < LINK_READS_MAX; tries++)
        nanosleep(&pause, NULL);
    for (i = 0; i < l->snap->count; i++)
        l->pcamps[i].seconds = link_seconds(l, &l->snap->campaigns[i]);
    pc.sessions = c->sessions;
    pc.messages = c->messages;
    pc.untraced = l->snap->untraced;
    pc.campaigns = l->pcamps;
    pc.n_campaigns = l->snap->count;
    if (peerlink_send_sink_counters(l->pl, &pc) == 0)
        l->sent_messages = c->messages;
}

/* link_on_tick - every second: send (or, with --report-interval 0, send
 * only once the counts have stopped moving, so a campaign's load is never
 * paid for but its end is still reported). */
static void link_on_tick(struct ev_loop *loop, void *arg)
{
    struct sink_link *l = arg;
    struct sink_counters c;
    uint64_t now = clock_mono_ns();

    sink_counters_snapshot(l->srv, &c);
    if (l->cfg->report_interval_ms > 0) {
        if (now >= l->next_send_ns) {
            link_send(l, &c);
            l->next_send_ns = now + (uint64_t)l->cfg->report_interval_ms * NS_PER_MS - LINK_TICK_NS / 10;
        }
    } else if (c.messages == l->last_messages && c.messages != l->sent_messages) {
        link_send(l, &c);
    }
    l->last_messages = c.messages;
    ev_timer_start(loop, &l->tick, LINK_TICK_NS);
}

static void link_on_start(struct peerlink *pl, const Smtpstorm__Start *s, uint64_t local_start_ns, void *arg)
{
    struct sink_link *l = arg;
    uint64_t origin_us;
    size_t i;

    (void)pl;
    (void)local_start_ns;
    origin_us = (uint64_t)((int64_t)s->start_ns + s->offset_ns) / 1000;
    if (!s->join) {             /* a join only names agents new to the running campaign */
        sink_server_retire_campaigns(l->srv);   /* earlier campaigns are over for the coordinator */
        sink_server_override_behaviour(l->srv, NULL);   /* until this one says otherwise */
        snprintf(l->campaign, sizeof(l->campaign), "%s", s->campaign);
        atomic_store(&l->origin_us, origin_us);
    } else {
        origin_us = atomic_load(&l->origin_us);
    }
    for (i = 0; i < s->n_agents; i++)
        if (sink_server_set_offset(l->srv, s->campaign, s->agents[i]->id, s->agents[i]->offset_ns,
                                   origin_us) != 0)
            log_warn("campaign %s: no room to track agent %s", s->campaign, s->agents[i]->id);
}

/* link_on_behaviour - the coordinator's behaviour for a campaign's phase:
 * in force for new sessions; a text that cannot be read changes nothing. */
static int link_on_behaviour(struct peerlink *pl, const Smtpstorm__SinkBehaviour *sb, char *why, size_t whylen,
                             void *arg)
{
    struct sink_link *l = arg;
    const char *name = sb->name[0] ? sb->name : "the coordinator's behaviour";
    struct behaviour *b;

    (void)pl;
    if (sb->text.len == 0) {
        sink_server_override_behaviour(l->srv, NULL);
        log_info("campaign %s phase %u: back to this sink's own behaviour", sb->campaign, sb->phase + 1);
        return 0;
    }
    if (behaviour_parse((const char *)sb->text.data, sb->text.len, name, &b, why, whylen) != 0) {
        log_warn("campaign %s phase %u: %s; keeping the behaviour in force", sb->campaign, sb->phase + 1, why);
        return -1;
    }
    if (l->cfg->seed_set)
        behaviour_set_seed(b, l->cfg->seed);
    sink_server_override_behaviour(l->srv, b);
    log_info("campaign %s phase %u: behaviour %s, %zu rules", sb->campaign, sb->phase + 1, name,
             behaviour_rules(b));
    behaviour_unref(b);
    return 0;
}

static void link_on_refused(struct peerlink *pl, const char *text, void *arg)
{
    struct sink_link *l = arg;

    (void)pl;
    log_error("the coordinator refused this sink: %s", text);
    atomic_store(&l->refused, 1);
    sink_server_stop(l->srv);
}

static void link_on_stop_fd(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    struct sink_link *l = arg;
    struct sink_counters c;
    uint64_t n;

    (void)events;
    if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        return;
    sink_counters_snapshot(l->srv, &c);
    link_send(l, &c);               /* the last word: whatever came in since the tick */
    ev_stop(loop);
}

static void *link_main(void *arg)
{
    struct sink_link *l = arg;

    (void)ev_run(l->loop);
    return NULL;
}

/* link_id - the sink's name as a valid id: other characters become '-'. */
static void link_id(char *out, const char *name)
{
    size_t i;

    for (i = 0; name[i] && i + 1 < TRACE_ID_MAX; i++)
        out[i] = trace_id_valid((char[]){ name[i], '\0' }) ? name[i] : '-';
    out[i] = '\0';
    if (i == 0)
        snprintf(out, TRACE_ID_MAX, "sink");
}

/* --key and --coordinator-key, read by sink_link_prepare before the
 * privileges go, erased by sink_link_start once the socket has them. */
static struct peerlink_keys link_keys;
static struct peerlink_opts link_key_opts;

int sink_link_prepare(const struct sink_config *cfg, char *err, size_t errlen)
{
    link_key_opts.endpoint = cfg->coordinator;
    return peerlink_keys_apply(&link_key_opts, &link_keys, cfg->key_file, cfg->coordinator_key_file,
                               cfg->insecure, err, errlen) == 0 ? 0 : -1;
}

struct sink_link *sink_link_start(struct sink_server *srv, const struct sink_config *cfg, char *err,
                                  size_t errlen)
{
    struct peerlink_callbacks cb = { NULL, link_on_start, NULL, NULL, link_on_refused, link_on_behaviour, NULL };
    struct peerlink_opts po = { .endpoint = cfg->coordinator, .role = PEERLINK_SINK };
    struct sink_link *l = calloc(1, sizeof(*l));
    sigset_t all, old;

    if (l == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->stop_fd = -1;
    if ((l->snap = malloc(sizeof(*l->snap))) == NULL || (l->seconds = wire_seconds_store_new(1)) == NULL
        || (l->deliveries = calloc(WIRE_SECONDS_MAX, sizeof(*l->deliveries))) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    l->srv = srv;
    l->cfg = cfg;
    l->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    link_id(l->id, sink_server_id(srv));
    po.id = l->id;
    if (l->stop_fd < 0 || (l->loop = ev_loop_new()) == NULL || (l->zctx = zmq_ctx_new()) == NULL
        || ev_io_set(l->loop, l->stop_fd, EV_READ, link_on_stop_fd, l) != 0) {
        snprintf(err, errlen, "cannot set up the coordinator link: %s", strerror(errno));
        goto fail;
    }
    po.key = link_key_opts.key;
    po.coordinator_key = link_key_opts.coordinator_key;
    po.insecure = cfg->insecure;
    l->pl = peerlink_open(l->zctx, l->loop, &po, &cb, l, err, errlen);
    explicit_bzero(&link_keys, sizeof(link_keys));
    if (l->pl == NULL)
        goto fail;
    ev_timer_init(&l->tick, link_on_tick, l);
    ev_timer_start(l->loop, &l->tick, LINK_TICK_NS);
    sigfillset(&all);               /* signals are the SMTP loops' business */
    pthread_sigmask(SIG_BLOCK, &all, &old);
    errno = pthread_create(&l->thread, NULL, link_main, l);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (errno != 0) {
        snprintf(err, errlen, "cannot start the coordinator link: %s", strerror(errno));
        goto fail;
    }
    l->thread_started = 1;
    return l;

fail:
    (void)sink_link_stop(l);
    return NULL;
}

int sink_link_stop(struct sink_link *l)
{
    uint64_t one = 1;
    int refused;

    if (l == NULL)
        return 0;
    if (l->thread_started) {
        if (write(l->stop_fd, &one, sizeof(one)) < 0)
            log_warn("cannot stop the coordinator link: %s", strerror(errno));
        pthread_join(l->thread, NULL);
    }
    peerlink_close(l->pl);
    if (l->zctx)
        zmq_ctx_term(l->zctx);
    if (l->loop) {
        ev_timer_stop(l->loop, &l->tick);
        if (l->stop_fd >= 0)
            ev_io_del(l->loop, l->stop_fd);
        ev_loop_free(l->loop);
    }
    if (l->stop_fd >= 0)
        close(l->stop_fd);
    refused = atomic_load(&l->refused);
    free(l->snap);
    wire_seconds_store_free(l->seconds);
    free(l->deliveries);
    free(l);
    return refused;
}
