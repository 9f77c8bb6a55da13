/* job.c - one campaign part over targets and phases, on runners (see job.h). */
#include "job.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "engine.h"
#include "runner.h"
#include "seconds.h"

#define JOB_RAMP_STEPS_MAX 256      /* a long ramp takes longer steps than JOB_RAMP_STEP_NS */

struct job_segment {
    double rate;                /* stepped: the first step's */
    uint32_t sessions;
    uint64_t duration_ns;       /* 0: none (count mode without phases) */
    size_t first_step, n_steps; /* a stepped rate: steps[first_step...]; n_steps 0: rate */
};

struct job_part {
    struct workload w;          /* this target's share of the segment */
    struct runner *r;
    int fd;                     /* the runner's done descriptor, watched; -1: none */
};

struct job {
    struct ev_loop *loop;
    struct workload base;
    struct endpoint *targets;
    size_t n_targets;
    uint32_t target_first;
    int threads;
    struct job_segment *segs;
    size_t n_segs, seg;
    struct schedule_step *steps;    /* of merged segments (job_merge) */
    size_t n_steps;
    struct job_part **parts;    /* the running segment's, and extra shares' (job_extend):
                                 * each its own allocation, as its runner keeps &w */
    size_t n_parts;
    struct load_stats *past;    /* finished segments, merged */
    struct load_stats *tmp;
    struct seconds_window *win; /* event-time rows of every segment */
    int started, running, stopping, finished;
    char fatal[ENGINE_FATAL_MAX];
    void (*on_done)(void *arg);
    void *arg;
    struct ev_timer later;      /* on_done for a job stopped before it started */
};

static void job_on_runner(struct ev_loop *loop, int fd, unsigned events, void *arg);

/* job_add_segment - append one segment; -E2BIG past JOB_SEGMENTS_MAX. */
static int job_add_segment(struct job *j, double rate, uint32_t sessions, uint64_t duration_ns)
{
    if (j->n_segs >= JOB_SEGMENTS_MAX)
        return -E2BIG;
    j->segs[j->n_segs++] = (struct job_segment){ rate, sessions ? sessions : 1, duration_ns, 0, 0 };
    return 0;
}

/* job_add_phase - one phase as a segment, a ramp as steps whose rates go
 * linearly from prev to the phase's rate (each step at its midpoint's). */
static int job_add_phase(struct job *j, const struct job_phase *p, double prev, uint32_t sessions)
{
    uint64_t step = JOB_RAMP_STEP_NS, at, d;
    int rc = 0;

    if (p->kind != JOB_PHASE_RAMP || p->rate <= 0 || p->duration_ns <= step)
        return job_add_segment(j, p->rate, sessions, p->duration_ns);
    if (p->duration_ns / step > JOB_RAMP_STEPS_MAX)
        step = p->duration_ns / JOB_RAMP_STEPS_MAX + 1;
    for (at = 0; at < p->duration_ns && rc == 0; at += d) {
        d = p->duration_ns - at < step ? p->duration_ns - at : step;
        rc = job_add_segment(j, prev + (p->rate - prev) * ((double)at + (double)d / 2) / (double)p->duration_ns,
                             sessions, d);
    }
    return rc;
}

/* job_plan - the segments: the workload itself, or its phases cut at the
 * workload's duration (and the last phase held until it, if it is longer). */
static int job_plan(struct job *j, const struct job_spec *s, char *err, size_t errlen)
{
    const struct workload *w = &s->w;
    uint64_t total = 0, limit = w->duration_ns;
    double prev = 0;
    size_t i;
    int rc = 0;

    if ((j->segs = calloc(JOB_SEGMENTS_MAX, sizeof(*j->segs))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (s->n_phases == 0)
        return job_add_segment(j, w->rate, (uint32_t)w->sessions, w->duration_ns);
    for (i = 0; i < s->n_phases && rc == 0 && (limit == 0 || total < limit); i++) {
        struct job_phase p = s->phases[i];

        if (limit && total + p.duration_ns > limit)
            p.duration_ns = limit - total;
        rc = job_add_phase(j, &p, prev, p.sessions ? p.sessions : (uint32_t)w->sessions);
        total += p.duration_ns;
        prev = p.rate;
    }
    if (rc == 0 && limit > total)
        rc = job_add_segment(j, j->segs[j->n_segs - 1].rate, j->segs[j->n_segs - 1].sessions, limit - total);
    if (rc != 0)
        snprintf(err, errlen, "the phases make more than %d segments", JOB_SEGMENTS_MAX);
    return rc;
}

/* job_merge - run consecutive timed segments with the same sessions on the
 * same runners, so that sessions are not closed and opened again between
 * them (a ramp's one-second steps would otherwise reconnect every session
 * each second): open-loop ones become one segment whose rate steps,
 * closed-loop ones one longer segment. */
static int job_merge(struct job *j)
{
    size_t in = 0, out = 0, end, k;
    struct job_segment g;

    if ((j->steps = calloc(j->n_segs ? j->n_segs : 1, sizeof(*j->steps))) == NULL)
        return -ENOMEM;
    while (in < j->n_segs) {
        g = j->segs[in];
        for (end = in + 1; end < j->n_segs && g.duration_ns && j->segs[end].duration_ns
             && j->segs[end].sessions == g.sessions && (j->segs[end].rate > 0) == (g.rate > 0); end++)
            ;
        if (end - in > 1) {
            g.duration_ns = 0;
            if (g.rate > 0)
                g.first_step = j->n_steps, g.n_steps = end - in;
            for (k = in; k < end; k++) {
                g.duration_ns += j->segs[k].duration_ns;
                if (g.rate > 0)
                    j->steps[j->n_steps++] = (struct schedule_step){ j->segs[k].duration_ns, j->segs[k].rate };
            }
        }
        j->segs[out++] = g;
        in = end;
    }
    j->n_segs = out;
    return 0;
}

/* job_segment_workload - the whole part's workload for segment k. Later
 * segments number their messages from k * JOB_SEQ_GAP on, so trace and -N
 * numbers stay unique without knowing how many the earlier ones used. */
static int job_segment_workload(struct job *j, size_t k, struct workload *w)
{
    const struct job_segment *sg = &j->segs[k];

    *w = j->base;
    w->rate = sg->rate;
    w->steps = sg->n_steps ? &j->steps[sg->first_step] : NULL;
    w->n_steps = sg->n_steps;
    w->sessions = (int)sg->sessions;
    w->duration_ns = sg->duration_ns;
    if (j->base.messages != WORKLOAD_UNLIMITED) {
        uint64_t used = j->past->messages_attempted;

        if (used >= j->base.messages)
            return 0;
        w->messages = j->base.messages - used;
    }
    w->seq_first = j->base.seq_first + (uint64_t)k * JOB_SEQ_GAP * j->base.seq_stride;
    w->rcpt_number_first = j->base.rcpt_number_first + (uint64_t)k * JOB_SEQ_GAP * j->base.rcpt_number_stride;
    return 1;
}

/* job_take_seconds - bring the window up to date with every runner's rows. */
static void job_take_seconds(struct job *j)
{
    struct seconds_round round;
    size_t i;

    seconds_round_begin(j->win, &round);
    for (i = 0; i < j->n_parts; i++)
        if (j->parts[i]->r)
            runner_take_seconds(j->parts[i]->r, j->win, &round);
    seconds_round_end(j->win, &round);
}

/* job_release_parts - collect the finished (or aborted) segment's counts
 * and rows into past and the window, and free its runners. */
static void job_release_parts(struct job *j)
{
    size_t i;

    for (i = 0; i < j->n_parts; i++) {
        if (j->parts[i]->r) {
            runner_stop(j->parts[i]->r, 1);
            runner_join(j->parts[i]->r);
        }
    }
    job_take_seconds(j);

    for (i = 0; i < j->n_parts; i++) {
        struct job_part *p = j->parts[i];

        if (p->fd >= 0)
            ev_io_del(j->loop, p->fd);
        if (p->r == NULL)
            continue;
        if (runner_snapshot(p->r, j->tmp) == 0)
            stats_merge(j->past, j->tmp);
        if (runner_fatal(p->r) && j->fatal[0] == '\0')
            snprintf(j->fatal, sizeof(j->fatal), "%s", runner_fatal(p->r));
        runner_free(p->r);
    }
    for (i = 0; i < j->n_parts; i++)
        free(j->parts[i]);
    free(j->parts);
    j->parts = NULL;
    j->n_parts = 0;
}

/* job_add_parts - w split over the job's targets (one part a target, at
 * most one a session), each part a runner of its share of threads (at
 * least one), appended to j->parts and watched. 0, or -errno with err; the
 * parts added before a failure stay, for the caller to drop or release. */
static int job_add_parts(struct job *j, const struct workload *w, int threads, char *err, size_t errlen)
{
    size_t i, n = j->n_targets < (size_t)w->sessions ? j->n_targets : (size_t)w->sessions;
    struct job_part **grown;

    if ((grown = realloc(j->parts, (j->n_parts + n) * sizeof(*grown))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    j->parts = grown;
    for (i = 0; i < n; i++) {
        struct job_part *p = calloc(1, sizeof(*p));
        int t = threads / (int)n + ((int)i < threads % (int)n);

        if (p == NULL) {
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
        p->fd = -1;
        j->parts[j->n_parts++] = p;
        if (workload_split(w, (int)n, (int)i, &p->w) != 0) {
            snprintf(err, errlen, "cannot split %d sessions over %zu targets", w->sessions, n);
            return -EINVAL;
        }
        p->w.target = j->targets[(j->target_first + i) % j->n_targets];
        if (p->w.messages == 0)
            continue;
        if ((p->r = runner_new(&p->w, t < 1 ? 1 : t, 0, err, errlen)) == NULL)
            return -EINVAL;
        p->fd = runner_done_fd(p->r);
        if (ev_io_set(j->loop, p->fd, EV_READ, job_on_runner, j) != 0) {
            snprintf(err, errlen, "cannot watch the runner: %s", strerror(errno));
            p->fd = -1;
            return -EIO;
        }
    }
    return 0;
}

/* job_make_parts - segment k's runners, one per target share. Returns 0,
 * 1 when there is nothing left to send, or -errno with err. */
static int job_make_parts(struct job *j, size_t k, char *err, size_t errlen)
{
    struct workload w;
    int rc;

    if (!job_segment_workload(j, k, &w))
        return 1;
    if ((rc = runner_fd_limit(w.sessions, j->threads, err, errlen)) != 0)
        return rc;
    return job_add_parts(j, &w, j->threads, err, errlen);
}

/* job_drop_parts - free parts[from...] (not started), and forget them. */
static void job_drop_parts(struct job *j, size_t from)
{
    size_t i;

    for (i = from; i < j->n_parts; i++) {
        if (j->parts[i]->fd >= 0)
            ev_io_del(j->loop, j->parts[i]->fd);
        runner_free(j->parts[i]->r);
        free(j->parts[i]);
    }
    j->n_parts = from;
}

int job_extend(struct job *j, const struct job_extra *x, char *err, size_t errlen)
{
    struct workload w;
    size_t i, first = j->n_parts;
    int rc;

    if (!(j->running || j->finished) || j->stopping || j->fatal[0] || j->seg + 1 < j->n_segs
        || j->base.messages == WORKLOAD_UNLIMITED) {
        snprintf(err, errlen, "not in the last share of a message count");
        return -EBUSY;
    }
    if (x->messages == 0 || x->sessions == 0 || x->seq_stride == 0) {
        snprintf(err, errlen, "an extra share needs messages, sessions and a stride");
        return -EINVAL;
    }
    w = j->base;                /* its origin_ns: the campaign's seconds */
    w.messages = x->messages;
    w.sessions = (int)(x->sessions < x->messages ? x->sessions : x->messages);
    w.rate = x->rate;
    w.steps = NULL;
    w.n_steps = 0;
    w.duration_ns = 0;
    workload_number(&w, x->seq_first, x->seq_stride);
    if ((rc = runner_fd_limit(w.sessions, 1, err, errlen)) != 0)
        return rc;
    if ((rc = job_add_parts(j, &w, 1, err, errlen)) != 0) {
        job_drop_parts(j, first);
        return rc;
    }
    j->finished = 0;                    /* a finished job runs again, and ends again */
    j->running = 1;
    for (i = first; i < j->n_parts; i++) {
        if (j->parts[i]->r && (rc = runner_start(j->parts[i]->r)) != 0) {
            /* as job_start: threads that cannot start end the job */
            snprintf(j->fatal, sizeof(j->fatal), "cannot start threads: %s", strerror(-rc));
            snprintf(err, errlen, "%s", j->fatal);
            job_stop(j, 1);
            return rc;
        }
    }
    return 0;
}

/* job_start_parts - start every runner of the segment; 0 or -errno. */
static int job_start_parts(struct job *j)
{
    size_t i;
    int rc;

    for (i = 0; i < j->n_parts; i++)
        if (j->parts[i]->r && (rc = runner_start(j->parts[i]->r)) != 0)
            return rc;
    return 0;
}

/* job_parts_done - every runner of the segment has finished. */
static int job_parts_done(const struct job *j)
{
    size_t i;

    for (i = 0; i < j->n_parts; i++)
        if (j->parts[i]->r && !runner_done(j->parts[i]->r))
            return 0;
    return 1;
}

static void job_finish(struct job *j)
{
    if (j->finished)
        return;
    j->running = 0;
    j->finished = 1;
    if (j->on_done)
        j->on_done(j->arg);
}

/* job_next - the segment has ended: the next one, or the end. */
static void job_next(struct job *j)
{
    char err[ENGINE_FATAL_MAX];
    int rc = 1;

    job_release_parts(j);
    while (!j->stopping && j->fatal[0] == '\0' && ++j->seg < j->n_segs) {
        if ((rc = job_make_parts(j, j->seg, err, sizeof(err))) == 0)
            rc = job_start_parts(j);
        if (rc < 0 && j->fatal[0] == '\0')
            snprintf(j->fatal, sizeof(j->fatal), "segment %zu could not start: %.400s", j->seg + 1, err);
        if (rc != 0)
            job_release_parts(j);
        if (rc == 0)
            return;
        if (rc == 1)
            break;                  /* every message sent */
    }
    job_finish(j);
}

static void job_on_runner(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    struct job *j = arg;
    uint64_t n;

    (void)loop;
    (void)events;
    if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        return;
    if (j->running && job_parts_done(j))
        job_next(j);
}

static void job_on_later(struct ev_loop *loop, void *arg)
{
    struct job *j = arg;

    (void)loop;
    job_finish(j);
}

struct job *job_new(struct ev_loop *loop, const struct job_spec *spec,
                    void (*on_done)(void *arg), void *arg, char *err, size_t errlen)
{
    struct job *j = calloc(1, sizeof(*j));
    int rc;

    if (j == NULL || spec->n_targets == 0 || spec->n_targets > JOB_TARGETS_MAX
        || spec->n_phases > JOB_PHASES_MAX || spec->w.sessions < 1) {
        snprintf(err, errlen, j ? "a workload needs 1 to %d targets, at most %d phases and a session"
                 : "out of memory", JOB_TARGETS_MAX, JOB_PHASES_MAX);
        free(j);
        return NULL;
    }
    j->loop = loop;
    j->base = spec->w;
    j->n_targets = spec->n_targets;
    j->target_first = spec->target_first;
    j->threads = spec->threads < 1 ? 1 : spec->threads;
    j->on_done = on_done;
    j->arg = arg;
    ev_timer_init(&j->later, job_on_later, j);
    j->targets = calloc(spec->n_targets, sizeof(*j->targets));
    j->past = malloc(sizeof(*j->past));
    j->tmp = malloc(sizeof(*j->tmp));
    j->win = malloc(sizeof(*j->win));
    if (j->targets == NULL || j->past == NULL || j->tmp == NULL || j->win == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    memcpy(j->targets, spec->targets, spec->n_targets * sizeof(*j->targets));
    stats_init(j->past);
    seconds_window_init(j->win);
    if (job_plan(j, spec, err, errlen) != 0)
        goto fail;
    if (job_merge(j) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if ((rc = job_make_parts(j, 0, err, errlen)) != 0) {
        if (rc == 1)
            snprintf(err, errlen, "nothing to send: no messages");
        goto fail;
    }
    return j;

fail:
    job_free(j);
    return NULL;
}

int job_start(struct job *j)
{
    int rc;

    if (j->started)
        return -EALREADY;
    j->started = 1;
    /* later segments' seconds count from now, the campaign's start; the
     * first segment's engines start now, and count from their start */
    if (j->base.origin_ns == 0)     /* a part joining late counts from the campaign's start */
        j->base.origin_ns = clock_mono_ns();
    if (j->stopping) {
        ev_timer_start(j->loop, &j->later, 0);
        return 0;
    }
    j->running = 1;
    if ((rc = job_start_parts(j)) != 0) {
        snprintf(j->fatal, sizeof(j->fatal), "cannot start threads: %s", strerror(-rc));
        job_stop(j, 1);
        return rc;
    }
    return 0;
}

void job_snapshot(struct job *j, struct load_stats *out)
{
    size_t i;

    memcpy(out, j->past, sizeof(*out));
    for (i = 0; i < j->n_parts; i++)
        if (j->parts[i]->r && runner_snapshot(j->parts[i]->r, j->tmp) == 0)
            stats_merge(out, j->tmp);
    job_take_seconds(j);
}

const struct seconds_window *job_seconds(const struct job *j) { return j->win; }

void job_stop(struct job *j, int abort)
{
    size_t i;

    j->stopping = 1;
    if (!j->running) {
        if (!j->finished && !ev_timer_armed(&j->later))
            ev_timer_start(j->loop, &j->later, 0);
        return;
    }
    for (i = 0; i < j->n_parts; i++)
        if (j->parts[i]->r)
            runner_stop(j->parts[i]->r, abort);
}

int job_running(const struct job *j) { return j->running; }

uint32_t job_sessions_active(const struct job *j)
{
    const struct meter_second *last;

    if (!j->running || j->win->closed == 0 || (last = seconds_find(j->win, j->win->closed - 1)) == NULL)
        return 0;
    return last->n.sessions_active;
}

const char *job_fatal(const struct job *j) { return j->fatal[0] ? j->fatal : NULL; }

void job_free(struct job *j)
{
    if (j == NULL)
        return;
    ev_timer_stop(j->loop, &j->later);
    if (j->past && j->tmp && j->win)
        job_release_parts(j);
    free(j->parts);
    free(j->segs);
    free(j->steps);
    free(j->targets);
    free(j->past);
    free(j->tmp);
    free(j->win);
    free(j);
}
