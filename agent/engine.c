/* engine.c - run one workload on one event loop (see engine.h): hand
 * messages to sessions as the schedule makes them due, keep the counters,
 * and take stop requests from other threads through an eventfd. */
#include "engine.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "maildate.h"
#include "message.h"
#include "meter.h"
#include "schedule.h"
#include "session.h"

#define ENGINE_WARN_MAX 10  /* warnings printed; the summary counts every error */

struct engine {
    struct ev_loop *loop;
    const struct workload *w;
    struct engine_hooks hooks;
    struct endpoint_addr addr;

    struct agent_session_pools pools;   /* the sessions' buffers while data is in flight */
    struct agent_session **sessions;
    int nsessions;
    int open_sessions;          /* not yet closed */
    struct agent_session **idle;      /* ring of sessions waiting for a due message */
    int idle_head, idle_count;

    struct schedule sched;
    struct ev_timer rate_timer;
    struct ev_timer done_timer;
    int started, stopping;
    atomic_int done;
    atomic_int stop_request;    /* 0, 1 drain, 2 abort */
    int ctl_fd;                 /* eventfd: engine_stop from other threads */

    struct meter meter;         /* every count, by this loop alone */
    struct transport_resume resume;     /* --tls-resume: the last TLS session a server gave */
    struct ev_timer second_timer;

    uint64_t rcpt_numbers;      /* -N numbers handed out */
    uint64_t sources_used;      /* --source addresses handed out */
    int64_t wall_offset_ns;     /* wall clock minus monotonic, read once a second (engine_wall_clock) */
    struct dialogue_clock clock;        /* engine_wall_clock's answer */
    int warnings;
    int has_fatal;
    char fatal[ENGINE_FATAL_MAX];
};

static void engine_on_rate(struct ev_loop *loop, void *arg);
static void engine_on_done(struct ev_loop *loop, void *arg);
static void engine_on_ctl(struct ev_loop *loop, int fd, unsigned events, void *arg);
static void engine_abort_run(void *arg, const char *msg);

void engine_snapshot(struct engine *e, struct load_stats *out) { meter_snapshot(&e->meter, out); }

uint32_t engine_take_seconds(struct engine *e, uint32_t from_t,
                             void (*fn)(void *arg, const struct meter_second *row), void *arg, int *live)
{
    return meter_take(&e->meter, from_t, fn, arg, live);
}

/* engine_read_wall_offset - how far the wall clock is ahead of the
 * monotonic one, for engine_wall_clock. */
static void engine_read_wall_offset(struct engine *e)
{
    e->wall_offset_ns = (int64_t)(clock_wall_ns() - clock_mono_ns());
}

/* The meter's seconds end on this timer; the wall clock's offset is read
 * again on it, so that a step or a slew of the wall clock shows within a
 * second. */
static void engine_on_second(struct ev_loop *loop, void *arg)
{
    struct engine *e = arg;

    engine_read_wall_offset(e);
    ev_timer_start_at(loop, &e->second_timer, meter_tick(&e->meter, ev_now(loop)));
}

/* What sessions and their dialogues ask of the engine: the hooks table
 * (engine_session_hooks, below). */

static uint64_t engine_next_rcpt_number(void *arg)
{
    struct engine *e = arg;

    return e->w->rcpt_number_first + e->rcpt_numbers++ * e->w->rcpt_number_stride;
}

static void engine_dot_sent(void *arg)
{
    struct engine *e = arg;

    if (e->hooks.on_dot)
        e->hooks.on_dot(e->hooks.arg);
}

/* engine_wall_clock - the wall-clock time of the event a message is
 * formatted in, and the texts of that second: the Date: value and the
 * headers up to the Message-Id (message_head_format), formatted once a
 * second for all the loop's messages. No clock read: the loop's time of
 * the event plus the wall clock's offset, read once a second
 * (engine_on_second). */
static const struct dialogue_clock *engine_wall_clock(void *arg)
{
    struct engine *e = arg;
    struct dialogue_clock *c = &e->clock;
    uint64_t us = (ev_now(e->loop) + (uint64_t)e->wall_offset_ns) / NS_PER_US;

    c->usec = (unsigned)(us % 1000000);
    if (!trace_second_set(&c->second, us / 1000000))
        return c;               /* the same second: its texts stand */
    if (mail_date_format((time_t)c->second.sec, c->date, sizeof(c->date)) < 0)
        snprintf(c->date, sizeof(c->date), "Thu,  1 Jan 1970 00:00:00 +0000 (UTC)");
    dialogue_clock_head(c, e->w);
    return c;
}

/* engine_tls_resume - the loop's TLS session to offer, or NULL without
 * --tls-resume. */
static struct transport_resume *engine_tls_resume(void *arg)
{
    struct engine *e = arg;

    return e->w->tls_resume ? &e->resume : NULL;
}

/* engine_source - the next --source address for a connection, or NULL. */
static const struct endpoint_addr *engine_source(void *arg)
{
    struct engine *e = arg;
    const struct workload *w = e->w;

    if (w->sources == NULL)
        return NULL;
    return source_pool_pick(w->sources, e->addr.sa.ss_family,
                            w->source_first + e->sources_used++ * w->source_stride);
}

/* engine_warn - print msg unless this engine already printed
 * ENGINE_WARN_MAX warnings (the summary has the counts). */
static void engine_warn(void *arg, const char *msg)
{
    struct engine *e = arg;

    if (e->warnings > ENGINE_WARN_MAX)
        return;
    if (e->warnings++ == ENGINE_WARN_MAX) {
        log_warn("further warnings suppressed; the summary counts every error");
        return;
    }
    log_warn("%s", msg);
}

/* Handing out messages. */

static int engine_has_more(void *arg)
{
    const struct engine *e = arg;
    const struct schedule *s = &e->sched;

    if (e->stopping || s->stopped || s->issued >= s->limit)
        return 0;
    if (s->stop_ns == 0)
        return 1;
    if (s->rate > 0)
        return schedule_due(s, s->issued) < s->stop_ns;
    return clock_mono_ns() < s->stop_ns;
}

static void engine_idle_push(struct engine *e, struct agent_session *s)
{
    e->idle[(e->idle_head + e->idle_count) % e->nsessions] = s;
    e->idle_count++;
}

static struct agent_session *engine_idle_pop(struct engine *e)
{
    struct agent_session *s = e->idle[e->idle_head];

    e->idle_head = (e->idle_head + 1) % e->nsessions;
    e->idle_count--;
    return s;
}

static void engine_job(struct engine *e, uint64_t due, struct dialogue_job *job)
{
    uint64_t k = e->sched.issued - 1;

    job->due_ns = due;
    job->seq = e->w->seq_first + k * e->w->seq_stride;
    job->remaining = (unsigned)(e->sched.limit == WORKLOAD_UNLIMITED ? k
                                : e->sched.limit - e->sched.issued);
}

static int engine_take_job(void *arg, struct dialogue_job *job)
{
    struct engine *e = arg;
    uint64_t due;

    if (e->stopping || e->idle_count > 0
        || schedule_next(&e->sched, clock_mono_ns(), &due) != SCHEDULE_DUE)
        return 0;
    engine_job(e, due, job);
    return 1;
}

static void engine_session_ready(void *arg, struct agent_session *s, uint64_t now)
{
    struct engine *e = arg;
    struct dialogue_job job;
    uint64_t due;

    if (e->stopping) {
        agent_session_finish(s);
        return;
    }
    if (e->idle_count > 0) {    /* others wait already: the timer serves them in order */
        engine_idle_push(e, s);
        return;
    }
    switch (schedule_next(&e->sched, now, &due)) {
    case SCHEDULE_DUE:
        engine_job(e, due, &job);
        agent_session_run(s, &job, now);
        break;
    case SCHEDULE_WAIT:
        engine_idle_push(e, s);
        ev_timer_start_at(e->loop, &e->rate_timer, due);
        break;
    default:
        agent_session_finish(s);
        break;
    }
}

static void engine_on_rate(struct ev_loop *loop, void *arg)
{
    struct engine *e = arg;
    struct dialogue_job job;
    uint64_t due, now;

    (void)loop;
    while (e->idle_count > 0) {
        switch (schedule_next(&e->sched, now = clock_mono_ns(), &due)) {
        case SCHEDULE_DUE:
            engine_job(e, due, &job);
            agent_session_run(engine_idle_pop(e), &job, now);
            break;
        case SCHEDULE_WAIT:
            ev_timer_start_at(e->loop, &e->rate_timer, due);
            return;
        default:
            while (e->idle_count > 0)
                agent_session_finish(engine_idle_pop(e));
            return;
        }
    }
}

/* Ending. */

static void engine_session_closed(void *arg, struct agent_session *s)
{
    struct engine *e = arg;

    (void)s;
    if (--e->open_sessions == 0)
        ev_timer_start(e->loop, &e->done_timer, 0);
}

static void engine_on_done(struct ev_loop *loop, void *arg)
{
    struct engine *e = arg;

    ev_timer_stop(loop, &e->second_timer);
    meter_finish(&e->meter);
    if (atomic_exchange(&e->done, 1) == 0 && e->hooks.on_done)
        e->hooks.on_done(e->hooks.arg);
}

static void engine_drain(struct engine *e)
{
    e->stopping = 1;
    schedule_stop(&e->sched);
    ev_timer_stop(e->loop, &e->rate_timer);
    while (e->idle_count > 0)
        agent_session_finish(engine_idle_pop(e));
}

static void engine_abort_all(struct engine *e)
{
    int i;

    e->stopping = 1;
    schedule_stop(&e->sched);
    ev_timer_stop(e->loop, &e->rate_timer);
    e->idle_count = 0;
    for (i = 0; i < e->nsessions; i++)
        agent_session_abort(e->sessions[i]);
}

static void engine_abort_run(void *arg, const char *msg)
{
    struct engine *e = arg;

    if (!e->has_fatal) {
        e->has_fatal = 1;
        snprintf(e->fatal, sizeof(e->fatal), "%s", msg);
        if (e->hooks.on_fatal)
            e->hooks.on_fatal(e->hooks.arg, e->fatal);
    }
    engine_abort_all(e);
}

const char *engine_fatal(const struct engine *e) { return e->has_fatal ? e->fatal : NULL; }

int engine_done(const struct engine *e) { return atomic_load(&e->done); }

void engine_stop(struct engine *e, int abort)
{
    int want = abort ? 2 : 1, have = atomic_load(&e->stop_request);
    uint64_t one = 1;

    while (have < want && !atomic_compare_exchange_weak(&e->stop_request, &have, want))
        ;
    if (write(e->ctl_fd, &one, sizeof(one)) < 0)
        return;                 /* a full counter already wakes the loop */
}

static void engine_on_ctl(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    struct engine *e = arg;
    uint64_t count;

    (void)loop;
    (void)events;
    if (read(fd, &count, sizeof(count)) < 0)
        return;
    if (!e->started)
        return;
    if (atomic_load(&e->stop_request) >= 2)
        engine_abort_all(e);
    else if (atomic_load(&e->stop_request) == 1)
        engine_drain(e);
}

/* Life cycle. */

/* What every session of an engine calls, with the engine as arg. */
static const struct agent_session_hooks engine_session_hooks = {
    .dialogue = {
        .take_job = engine_take_job,
        .has_more = engine_has_more,
        .next_rcpt_number = engine_next_rcpt_number,
        .wall_clock = engine_wall_clock,
        .dot_sent = engine_dot_sent,
        .warn = engine_warn,
    },
    .ready = engine_session_ready,
    .closed = engine_session_closed,
    .abort_run = engine_abort_run,
    .source = engine_source,
    .tls_resume = engine_tls_resume,
};

struct engine *engine_new(struct ev_loop *loop, const struct workload *w,
                          const struct engine_hooks *hooks, char *err, size_t errlen)
{
    struct engine *e = calloc(1, sizeof(*e));
    int i, n;

    if (e == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->loop = loop;
    e->w = w;
    if (hooks)
        e->hooks = *hooks;
    e->ctl_fd = -1;
    if (meter_init(&e->meter) != 0) {
        snprintf(err, errlen, "out of memory");
        free(e);
        return NULL;
    }
    ev_timer_init(&e->rate_timer, engine_on_rate, e);
    ev_timer_init(&e->second_timer, engine_on_second, e);
    ev_timer_init(&e->done_timer, engine_on_done, e);
    n = endpoint_resolve(&w->target, w->family, &e->addr, 1, err, errlen);
    if (n < 0)
        goto fail;
    if (w->sources && source_pool_pick(w->sources, e->addr.sa.ss_family, 0) == NULL) {
        snprintf(err, errlen, "--source has no %s address for the target",
                 e->addr.sa.ss_family == AF_INET6 ? "IPv6" : e->addr.sa.ss_family == AF_INET ? "IPv4" : "network");
        goto fail;
    }
    e->ctl_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (e->ctl_fd < 0 || ev_io_set(loop, e->ctl_fd, EV_READ, engine_on_ctl, e) != 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        goto fail;
    }
    e->nsessions = w->sessions > 0 ? w->sessions : 1;
    e->sessions = calloc((size_t)e->nsessions, sizeof(*e->sessions));
    e->idle = calloc((size_t)e->nsessions, sizeof(*e->idle));
    if (e->sessions == NULL || e->idle == NULL || agent_session_pools_init(&e->pools, w) != 0)
        goto nomem;
    for (i = 0; i < e->nsessions; i++)
        if ((e->sessions[i] = agent_session_new(loop, w, &e->addr, i, &e->meter, &e->pools,
                                                &engine_session_hooks, e)) == NULL)
            goto nomem;
    return e;

nomem:
    snprintf(err, errlen, "out of memory for %d sessions", e->nsessions);
fail:
    engine_free(e);
    return NULL;
}

int engine_start(struct engine *e, uint64_t start_ns)
{
    int i;

    if (e->started)
        return -EALREADY;
    e->started = 1;
    ev_now_update(e->loop);
    engine_read_wall_offset(e);
    if (start_ns == 0)
        start_ns = ev_now(e->loop);
    meter_begin(&e->meter, e->w->origin_ns ? e->w->origin_ns : start_ns, ev_now(e->loop));
    ev_timer_start_at(e->loop, &e->second_timer, e->meter.close_ns);
    if (e->w->n_steps)
        schedule_init_steps(&e->sched, start_ns, e->w->steps, e->w->n_steps,
                            e->w->rate / e->w->steps[0].rate, e->w->messages);
    else
        schedule_init(&e->sched, start_ns, e->w->rate, e->w->messages,
                      e->w->duration_ns);
    e->open_sessions = e->nsessions;
    for (i = 0; i < e->nsessions; i++)
        engine_session_ready(e, e->sessions[i], clock_mono_ns());
    if (atomic_load(&e->stop_request))
        engine_on_ctl(e->loop, e->ctl_fd, EV_READ, e);
    return 0;
}

void engine_free(struct engine *e)
{
    int i;

    if (e == NULL)
        return;
    for (i = 0; e->sessions && i < e->nsessions; i++)
        agent_session_free(e->sessions[i]);
    free(e->sessions);
    free(e->idle);
    agent_session_pools_release(&e->pools);    /* zeroed if never made: nothing to do */
    ev_timer_stop(e->loop, &e->rate_timer);
    ev_timer_stop(e->loop, &e->done_timer);
    ev_timer_stop(e->loop, &e->second_timer);
    if (e->ctl_fd >= 0) {
        ev_io_del(e->loop, e->ctl_fd);
        close(e->ctl_fd);
    }
    meter_destroy(&e->meter);
    transport_resume_free(&e->resume);
    free(e);
}
