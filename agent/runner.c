/* runner.c - the workload on --threads event loops (see runner.h). */
#include "runner.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "clock.h"
#include "engine.h"
#include "ev.h"
#include "fdlimit.h"

struct runner_thread {
    struct runner *r;
    struct workload w;          /* this thread's share */
    struct ev_loop *loop;
    struct engine *engine;
    pthread_t tid;
    int running;
    struct seconds_cursor cursor;   /* the engine's rows taken so far */
};

struct runner {
    int nthreads;
    struct runner_thread *t;
    int live_counter;
    atomic_ullong dots;
    atomic_int finished;
    int done_fd;
    uint64_t start_ns;
    pthread_mutex_t fatal_lock;
    char fatal[ENGINE_FATAL_MAX];
    int joined;
};

static void runner_on_dot(void *arg)
{
    struct runner_thread *t = arg;
    unsigned long long n = atomic_fetch_add(&t->r->dots, 1) + 1;

    if (t->r->live_counter) {
        printf("%llu\r", n);
        fflush(stdout);
    }
}

static void runner_on_done(void *arg)
{
    struct runner_thread *t = arg;

    ev_stop(t->loop);
}

static void runner_on_fatal(void *arg, const char *msg)
{
    struct runner_thread *t = arg;
    struct runner *r = t->r;
    int i;

    pthread_mutex_lock(&r->fatal_lock);
    if (r->fatal[0] == '\0')
        snprintf(r->fatal, sizeof(r->fatal), "%s", msg);
    pthread_mutex_unlock(&r->fatal_lock);
    for (i = 0; i < r->nthreads; i++)
        if (&r->t[i] != t)
            engine_stop(r->t[i].engine, 1);
}

static void *runner_main(void *arg)
{
    struct runner_thread *t = arg;
    struct runner *r = t->r;
    uint64_t one = 1;

    if (engine_start(t->engine, r->start_ns) == 0)
        (void)ev_run(t->loop);
    if (atomic_fetch_add(&r->finished, 1) + 1 == r->nthreads
        && write(r->done_fd, &one, sizeof(one)) < 0)
        return NULL;
    return NULL;
}

int runner_fd_limit(int sessions, int threads, char *err, size_t errlen)
{
    char why[64];

    snprintf(why, sizeof(why), "%d sessions", sessions);
    /* a loop's epoll and event descriptors besides its sessions' sockets */
    return fdlimit_raise((uint64_t)sessions + FDLIMIT_SPARE + 2 * (uint64_t)threads, why, err, errlen);
}

struct runner *runner_new(const struct workload *w, int threads, int live_counter, char *err,
                          size_t errlen)
{
    struct runner *r = calloc(1, sizeof(*r));
    struct engine_hooks hooks;
    struct runner_thread *t;
    int i;

    if (r == NULL)
        goto nomem;
    r->done_fd = -1;
    pthread_mutex_init(&r->fatal_lock, NULL);
    if (threads > w->sessions)
        threads = w->sessions;
    if (w->messages != WORKLOAD_UNLIMITED && (uint64_t)threads > w->messages)
        threads = (int)w->messages;
    r->nthreads = threads < 1 ? 1 : threads;
    r->live_counter = live_counter;
    r->t = calloc((size_t)r->nthreads, sizeof(*r->t));
    if (r->t == NULL)
        goto nomem;
    r->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->done_fd < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        goto fail;
    }
    for (i = 0; i < r->nthreads; i++) {
        t = &r->t[i];
        t->r = r;
        if (workload_split(w, r->nthreads, i, &t->w) != 0) {
            snprintf(err, errlen, "cannot split the workload into %d threads", r->nthreads);
            goto fail;
        }
        workload_prepare_text(&t->w);
        if ((t->loop = ev_loop_new()) == NULL)
            goto nomem;
        hooks.on_dot = runner_on_dot;
        hooks.on_done = runner_on_done;
        hooks.on_fatal = runner_on_fatal;
        hooks.arg = t;
        if ((t->engine = engine_new(t->loop, &t->w, &hooks, err, errlen)) == NULL)
            goto fail;
    }
    return r;

nomem:
    snprintf(err, errlen, "out of memory");
fail:
    runner_free(r);
    return NULL;
}

int runner_start(struct runner *r)
{
    sigset_t all, old;
    int i, rc = 0;

    r->start_ns = clock_mono_ns();
    /* workers take no signals: the caller's loop handles them */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (i = 0; i < r->nthreads; i++) {
        rc = pthread_create(&r->t[i].tid, NULL, runner_main, &r->t[i]);
        if (rc != 0)
            break;
        r->t[i].running = 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        runner_stop(r, 1);
        return -rc;
    }
    return 0;
}

int runner_done_fd(const struct runner *r) { return r->done_fd; }

int runner_done(const struct runner *r) { return atomic_load(&r->finished) >= r->nthreads; }

void runner_take_seconds(struct runner *r, struct seconds_window *w, struct seconds_round *round)
{
    uint32_t closed;
    int i, live;

    for (i = 0; i < r->nthreads; i++) {
        closed = engine_take_seconds(r->t[i].engine, r->t[i].cursor.next, seconds_add_row, w, &live);
        if (closed > r->t[i].cursor.next)
            r->t[i].cursor.next = closed;
        seconds_round_note(round, closed, live);
    }
}

int runner_snapshot(struct runner *r, struct load_stats *out)
{
    struct load_stats *one;
    int i;

    stats_init(out);
    if (r->nthreads == 1) {
        engine_snapshot(r->t[0].engine, out);
        return 0;
    }
    one = malloc(sizeof(*one));
    for (i = 0; one && i < r->nthreads; i++) {
        engine_snapshot(r->t[i].engine, one);
        stats_merge(out, one);
    }
    if (one == NULL)
        return -ENOMEM;
    free(one);
    return 0;
}

void runner_stop(struct runner *r, int abort)
{
    int i;

    for (i = 0; i < r->nthreads; i++)
        if (r->t[i].engine)
            engine_stop(r->t[i].engine, abort);
}

const char *runner_fatal(const struct runner *r) { return r->fatal[0] ? r->fatal : NULL; }

void runner_join(struct runner *r)
{
    int i;

    if (r->joined)
        return;
    for (i = 0; i < r->nthreads; i++)
        if (r->t[i].running) {
            pthread_join(r->t[i].tid, NULL);
            r->t[i].running = 0;
        }
    r->joined = 1;
}

void runner_free(struct runner *r)
{
    int i;

    if (r == NULL)
        return;
    if (r->t) {
        runner_stop(r, 1);
        runner_join(r);
        for (i = 0; i < r->nthreads; i++) {
            engine_free(r->t[i].engine);
            ev_loop_free(r->t[i].loop);
        }
        free(r->t);
    }
    if (r->done_fd >= 0)
        close(r->done_fd);
    pthread_mutex_destroy(&r->fatal_lock);
    free(r);
}

