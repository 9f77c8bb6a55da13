/* exporter.c - smtpstorm-sink's /metrics (see exporter.h): every second,
 * sink_counters_snapshot and sink_tally_snapshot become one OpenMetrics
 * document that lib/metrics serves until the next. */
#include "exporter.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "clock.h"
#include "ev.h"
#include "log.h"
#include "metrics.h"
#include "tally.h"

#define EXPORTER_TICK_NS NS_PER_SEC     /* how often the document is rebuilt */

struct sink_exporter {
    struct sink_server *srv;
    struct metrics_server *m;
    struct ev_loop *loop;
    pthread_t thread;
    int thread_started;
    int stop_fd;                        /* eventfd: sink_exporter_stop wakes the thread */
    struct ev_timer tick;
    struct metrics_text text;           /* rebuilt in place every tick */
    struct tally_snapshot *snap;        /* large (a histogram per campaign): on the heap */
    struct metrics_sink_campaign camps[TALLY_CAMPAIGNS_MAX];
};

/* exporter_behaviour - --behaviour: what the rules did, by outcome. */
static void exporter_behaviour(struct metrics_text *t, const char *id, const struct sink_counters *c)
{
    static const char *const names[BEHAVIOUR_OUT_COUNT] = {
        "deferred", "rejected", "disconnected", "delayed", "greylist_deferred", "greylist_passed" };
    size_t i;

    metrics_text_family(t, "smtpstorm_sink_behaviour", METRICS_COUNTER, NULL,
                        "what --behaviour rules did: replies 4xx (deferred), 5xx (rejected), hang-ups, "
                        "delays, greylist deferrals and passes");
    for (i = 0; i < BEHAVIOUR_OUT_COUNT; i++)
        metrics_text_counter(t, "smtpstorm_sink_behaviour",
                             (const char *[]){ "sink", id, "outcome", names[i], NULL }, c->behaviour[i]);
    metrics_text_family(t, "smtpstorm_sink_greylist_evictions", METRICS_COUNTER, NULL,
                        "greylist entries evicted (least recently used) to make room");
    metrics_text_counter(t, "smtpstorm_sink_greylist_evictions", (const char *[]){ "sink", id, NULL },
                         c->greylist_evictions);
}

/* exporter_process - what struct metrics_sink has no room for: the
 * connections, QUITs, time-outs, dump and TLS figures of struct
 * sink_counters, labelled by sink like the rest. */
static void exporter_process(struct metrics_text *t, const char *id, const struct sink_counters *c)
{
    metrics_text_family(t, "smtpstorm_sink_connections", METRICS_COUNTER, NULL, "connections the sink accepted");
    metrics_text_counter(t, "smtpstorm_sink_connections", (const char *[]){ "sink", id, NULL }, c->accepted);
    metrics_text_family(t, "smtpstorm_sink_quits", METRICS_COUNTER, NULL, "QUIT commands the sink answered");
    metrics_text_counter(t, "smtpstorm_sink_quits", (const char *[]){ "sink", id, NULL }, c->quits);
    metrics_text_family(t, "smtpstorm_sink_timeouts", METRICS_COUNTER, NULL,
                        "sessions the sink ended at its -t time limit");
    metrics_text_counter(t, "smtpstorm_sink_timeouts", (const char *[]){ "sink", id, NULL }, c->timeouts);
    metrics_text_family(t, "smtpstorm_sink_dump_errors", METRICS_COUNTER, NULL,
                        "messages whose -d/-D dump could not be written");
    metrics_text_counter(t, "smtpstorm_sink_dump_errors", (const char *[]){ "sink", id, NULL }, c->dump_errors);
    metrics_text_family(t, "smtpstorm_sink_tls_handshakes", METRICS_COUNTER, NULL,
                        "STARTTLS handshakes, by result");
    metrics_text_counter(t, "smtpstorm_sink_tls_handshakes", (const char *[]){ "sink", id, "result", "ok", NULL },
                         c->tls_handshakes);
    metrics_text_counter(t, "smtpstorm_sink_tls_handshakes", (const char *[]){ "sink", id, "result", "failed",
                         NULL }, c->tls_failures);
    metrics_text_family(t, "smtpstorm_sink_tls_resumed", METRICS_COUNTER, NULL,
                        "STARTTLS handshakes that resumed a session (a ticket) instead of a full one");
    metrics_text_counter(t, "smtpstorm_sink_tls_resumed", (const char *[]){ "sink", id, NULL }, c->tls_resumed);
    metrics_text_family(t, "smtpstorm_sink_auth", METRICS_COUNTER, NULL,
                        "AUTH exchanges, by result: ok (235), failed (535, 501)");
    metrics_text_counter(t, "smtpstorm_sink_auth", (const char *[]){ "sink", id, "result", "ok", NULL },
                         c->auth_successes);
    metrics_text_counter(t, "smtpstorm_sink_auth", (const char *[]){ "sink", id, "result", "failed", NULL },
                         c->auth_failures);
    exporter_behaviour(t, id, c);
}

/* exporter_build - the whole document from the engine's snapshots. */
static void exporter_build(struct sink_exporter *x)
{
    struct metrics_sink ms = { 0 };
    struct sink_counters c;
    size_t i;

    sink_counters_snapshot(x->srv, &c);
    sink_tally_snapshot(x->srv, x->snap);
    for (i = 0; i < x->snap->count; i++) {
        const struct tally_campaign *tc = &x->snap->campaigns[i];

        x->camps[i] = (struct metrics_sink_campaign){
            tc->campaign, tc->received - (tc->duplicates < tc->received ? tc->duplicates : tc->received),
            tc->duplicates, tc->latency_us.count ? &tc->latency_us : NULL };
    }
    ms.id = sink_server_id(x->srv);
    ms.sessions = c.sessions;
    ms.sessions_active = c.active;
    ms.messages = c.messages;
    ms.bytes = c.bytes;
    ms.untraced = x->snap->untraced;
    ms.campaigns = x->camps;
    ms.n_campaigns = x->snap->count;
    metrics_text_reset(&x->text);
    metrics_text_sinks(&x->text, &ms, 1);
    exporter_process(&x->text, ms.id, &c);
    metrics_text_eof(&x->text);
}

/* exporter_refresh - rebuild and publish; a failure keeps the last text. */
static void exporter_refresh(struct sink_exporter *x)
{
    int rc;

    exporter_build(x);
    if ((rc = metrics_publish(x->m, &x->text)) != 0)
        log_warn("--metrics: cannot publish the counters: %s", strerror(-rc));
}

static void exporter_on_tick(struct ev_loop *loop, void *arg)
{
    struct sink_exporter *x = arg;

    exporter_refresh(x);
    ev_timer_start(loop, &x->tick, EXPORTER_TICK_NS);
}

static void exporter_on_stop_fd(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    uint64_t n;

    (void)events;
    (void)arg;
    if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        return;
    ev_stop(loop);
}

static void *exporter_main(void *arg)
{
    struct sink_exporter *x = arg;

    (void)ev_run(x->loop);
    return NULL;
}

struct sink_exporter *sink_exporter_start(struct sink_server *srv, const char *spec, char *err, size_t errlen)
{
    struct sink_exporter *x = calloc(1, sizeof(*x));
    sigset_t all, old;

    if (x == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    x->srv = srv;
    x->stop_fd = -1;
    if ((x->snap = malloc(sizeof(*x->snap))) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if ((x->m = metrics_start(spec, err, errlen)) == NULL)
        goto fail;
    exporter_refresh(x);            /* the first scrape already sees the sink */
    x->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (x->stop_fd < 0 || (x->loop = ev_loop_new()) == NULL
        || ev_io_set(x->loop, x->stop_fd, EV_READ, exporter_on_stop_fd, x) != 0) {
        snprintf(err, errlen, "cannot set up --metrics: %s", strerror(errno));
        goto fail;
    }
    ev_timer_init(&x->tick, exporter_on_tick, x);
    ev_timer_start(x->loop, &x->tick, EXPORTER_TICK_NS);
    sigfillset(&all);               /* signals are the SMTP loops' business */
    pthread_sigmask(SIG_BLOCK, &all, &old);
    errno = pthread_create(&x->thread, NULL, exporter_main, x);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (errno != 0) {
        snprintf(err, errlen, "cannot start --metrics: %s", strerror(errno));
        goto fail;
    }
    x->thread_started = 1;
    return x;

fail:
    sink_exporter_stop(x);
    return NULL;
}

const char *sink_exporter_address(const struct sink_exporter *x)
{
    return metrics_address(x->m);
}

void sink_exporter_stop(struct sink_exporter *x)
{
    uint64_t one = 1;

    if (x == NULL)
        return;
    if (x->thread_started) {
        if (write(x->stop_fd, &one, sizeof(one)) < 0)
            log_warn("cannot stop --metrics: %s", strerror(errno));
        pthread_join(x->thread, NULL);
    }
    metrics_stop(x->m);
    if (x->loop) {
        ev_timer_stop(x->loop, &x->tick);
        if (x->stop_fd >= 0)
            ev_io_del(x->loop, x->stop_fd);
        ev_loop_free(x->loop);
    }
    if (x->stop_fd >= 0)
        close(x->stop_fd);
    metrics_text_free(&x->text);
    free(x->snap);
    free(x);
}
