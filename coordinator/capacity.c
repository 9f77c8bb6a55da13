/* capacity.c - `smtpstorm capacity`'s driver (see capacity.h): the agents
 * and sinks set up once (run_open), then a campaign per step, each judged
 * on its measured window and fed to the search, until it ends. */
#include "capacity.h"
#include "run_private.h"
#include "log.h"
#include "result.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CAPACITY_SESSIONS_FLOOR 4       /* the sessions rule's floor (and one per agent) */
#define CAPACITY_LATENCY_MIN_S 0.01     /* W at least this: a step of fast replies still gets sessions */

/* The search's state between steps. */
struct capacity_ctx {
    struct run r;
    struct run_config mine;         /* cfg with the targets run_open owns */
    struct run_config step;         /* one step's: mine with its rate, phases and objectives */
    struct phase_spec phases[2];
    struct threshold *objectives;   /* cfg's, scoped to the measured window; owned */
    double latency_s;               /* W of the sessions rule */
    struct capacity_result res;
};

/* capacity_step_config - ctx->step for a step at rate with sessions. */
static void capacity_step_config(struct capacity_ctx *c, double rate, uint32_t sessions)
{
    const struct capacity_spec *k = &c->mine.cap;
    size_t n = 0;

    c->step = c->mine;
    memset(c->phases, 0, sizeof(c->phases));
    if (k->settle_ms > 0) {
        c->phases[n] = (struct phase_spec){ .kind = PHASE_KIND_STEADY, .duration_ms = k->settle_ms, .rate = rate,
                                            .sessions = sessions };
        snprintf(c->phases[n++].name, CONFIG_PHASE_NAME_MAX, "settle");
    }
    c->phases[n] = (struct phase_spec){ .kind = PHASE_KIND_STEADY, .duration_ms = k->step_ms, .rate = rate,
                                        .sessions = sessions };
    snprintf(c->phases[n++].name, CONFIG_PHASE_NAME_MAX, "step");
    c->step.w.phases = c->phases;
    c->step.w.n_phases = n;
    c->step.w.rate = rate;
    c->step.w.sessions = sessions;
    c->step.w.sessions_set = 1;
    c->step.w.duration_ms = 0;
    c->step.w.messages_set = 0;
    c->step.thresholds = c->objectives;
    c->step.json = c->step.csv = c->step.html = c->step.junit = NULL;
}

/* capacity_take - step s from the finished campaign's result res. */
static int capacity_take(struct capacity_ctx *c, struct capacity_step *s, struct run_result *res)
{
    const struct phase_result *w;
    double len;
    size_t i;

    if (res->n_phases == 0)
        return -1;
    w = &res->phases[res->n_phases - 1];
    snprintf(s->campaign, sizeof(s->campaign), "%s", res->campaign);
    s->window = *w;
    s->message = *w->message;
    s->delivery = *w->delivery;
    s->window.message = &s->message;
    s->window.delivery = &s->delivery;
    s->window.name = "step";
    len = w->end_s - w->start_s;
    s->attempted_rate = len > 0 ? (double)w->attempted_span / len : 0;
    s->with_sinks = res->n_sinks > 0;
    s->backlog_growth = s->with_sinks ? phases_backlog_growth(w) : 0;
    s->accepted = res->totals.accepted;
    s->received = res->totals.received;
    s->lost = res->sinks_in_path ? (int64_t)res->total.lost : -1;
    s->drained = c->r.ns == 0 || run_drained(&c->r);
    for (i = 0; i < res->n_agents; i++) {
        if (res->agents[i].cpu_pct > s->cpu_pct)
            s->cpu_pct = res->agents[i].cpu_pct;
    }
    s->saturated = s->cpu_pct > AGG_SATURATED_PCT;
    s->behind = s->attempted_rate < s->planned * CAPACITY_BEHIND_RATIO;
    s->verdicts = res->verdicts;            /* taken from res */
    s->n_verdicts = res->n_verdicts;
    res->verdicts = NULL;
    for (i = 0; i < s->n_verdicts && s->failed == NULL; i++)
        if (s->verdicts[i].held != 1)
            s->failed = s->verdicts[i].t->text;
    s->verdict = capacity_classify(s->failed == NULL, s->saturated, s->behind, s->capped);
    return 0;
}

/* capacity_say - one line on stderr per step, as it ends. */
static void capacity_say(const struct capacity_step *s, size_t i)
{
    static const char *const verdicts[] = { "holds", "fails", "generator-limited" };

    log_info("step %zu at %.1f/s (%u sessions): %.1f/s accepted, p99(message) %.0f ms: %s%s%s%s", i + 1, s->planned,
             s->sessions, s->window.rate, s->message.count ? (double)hist_percentile(&s->message, 99) / 1000 : 0.0,
             verdicts[s->verdict], s->failed ? " (" : "", s->failed ? s->failed : "", s->failed ? ")" : "");
    if (!s->drained)
        log_warn("step %zu: the sinks had not counted all of its mail within --drain: the next step starts "
                 "on a backlog", i + 1);
}

/* capacity_one - run one step at rate; 0, or an exit code that ends the search. */
static int capacity_one(struct capacity_ctx *c, double rate)
{
    struct capacity_step *s = &c->res.steps[c->res.n];
    struct run_result res;
    uint32_t floor = CAPACITY_SESSIONS_FLOOR;

    memset(s, 0, sizeof(*s));
    if ((uint32_t)c->r.want_agents > floor)
        floor = (uint32_t)c->r.want_agents;
    s->planned = rate;
    s->sessions = capacity_sessions(rate, c->latency_s, floor, c->mine.cap.max_sessions, &s->capped);
    capacity_step_config(c, rate, s->sessions);
    if (c->res.n > 0)
        run_next_campaign(&c->r, &c->step);
    else
        c->r.cfg = &c->step;
    run_loop(&c->r);
    if (c->r.exit_code)
        return c->r.exit_code;
    if (result_build(&c->r, &res) != 0 || capacity_take(c, s, &res) != 0) {
        result_free(&res);
        log_error("out of memory, or no measured window, at step %zu", c->res.n + 1);
        return EXIT_RUN_FAILED;
    }
    result_free(&res);
    c->res.n++;
    capacity_say(s, c->res.n - 1);
    if (c->r.interrupted) {
        c->res.interrupted = 1;
        return EXIT_RUN_INTERRUPTED;
    }
    /* W: the last good step's p99, or this one's when the generator was short of sessions */
    if ((s->verdict == CAPACITY_PASS || s->verdict == CAPACITY_GENERATOR) && s->message.count > 0) {
        c->latency_s = (double)hist_percentile(&s->message, 99) / 1e6;
        if (c->latency_s < CAPACITY_LATENCY_MIN_S)
            c->latency_s = CAPACITY_LATENCY_MIN_S;
    }
    capacity_search_record(&c->res.search, rate, s->verdict);
    return 0;
}

/* capacity_conclude - the capacity, what limited it, the final verdict and the exit code. */
static void capacity_conclude(struct capacity_result *res, int code)
{
    const struct capacity_search *k = &res->search;
    size_t i;

    res->rate = k->good;
    for (i = 0; i < res->n; i++) {
        const struct capacity_step *s = &res->steps[i];

        if (s->verdict == CAPACITY_PASS && s->planned == k->good)
            res->final = s;
        if (s->verdict == CAPACITY_FAIL && s->planned == k->bad)
            res->limited_by = s->failed;
    }
    if (k->end == CAPACITY_START_FAILED)
        res->final = res->n ? &res->steps[res->n - 1] : NULL;
    else if (k->end == CAPACITY_AT_MAX)
        res->limited_by = "max";
    else if (k->end == CAPACITY_GENERATOR_LIMIT)
        res->limited_by = "generator";
    if (code)
        res->exit_code = (enum run_exit)code;
    else if (k->end == CAPACITY_START_FAILED)
        res->exit_code = EXIT_CAPACITY_NONE;
    else if (k->end == CAPACITY_GENERATOR_LIMIT)
        res->exit_code = EXIT_CAPACITY_GENERATOR;
    else
        res->exit_code = EXIT_RUN_OK;
}

/* capacity_objectives - cfg's objectives, each scoped to the measured window. */
static struct threshold *capacity_objectives(const struct run_config *cfg)
{
    struct threshold *t = calloc(cfg->n_thresholds ? cfg->n_thresholds : 1, sizeof(*t));
    size_t i;

    for (i = 0; t != NULL && i < cfg->n_thresholds; i++) {
        t[i] = cfg->thresholds[i];
        snprintf(t[i].scope, sizeof(t[i].scope), "step");
    }
    return t;
}

enum run_exit capacity_run(const struct run_config *cfg)
{
    struct capacity_ctx *c = calloc(1, sizeof(*c));
    enum run_exit code = EXIT_RUN_FAILED;
    uint64_t t0;
    double rate;
    int rc;
    size_t i;

    if (c == NULL || (c->objectives = capacity_objectives(cfg)) == NULL
        || (c->res.steps = calloc(CAPACITY_STEPS_MAX, sizeof(*c->res.steps))) == NULL) {
        log_error("out of memory");
        goto out;
    }
    if (capacity_search_init(&c->res.search, cfg->cap.start, cfg->cap.max, cfg->cap.factor,
                             cfg->cap.resolution_pct) != 0) {
        log_error("--start, --max, --factor or --resolution out of range");
        code = EXIT_RUN_USAGE;
        goto out;
    }
    c->latency_s = CAPACITY_LATENCY0_S;
    c->res.started_at_ns = clock_wall_ns();
    t0 = clock_mono_ns();
    if ((rc = run_open(&c->r, cfg, &c->mine)) != 0) {
        code = (enum run_exit)rc;
        goto close;
    }
    rc = 0;
    while (rc == 0 && (rate = capacity_search_next(&c->res.search)) > 0 && c->res.n < CAPACITY_STEPS_MAX)
        rc = capacity_one(c, rate);
    if (rc == 0 && c->res.search.end == CAPACITY_SEARCHING)
        log_warn("the search stopped after %d steps without reaching --resolution", CAPACITY_STEPS_MAX);
    c->res.duration_s = (double)(clock_mono_ns() - t0) / 1e9;
    c->res.cfg = &c->mine;
    capacity_conclude(&c->res, rc);
    code = c->res.n > 0 || rc == 0 ? capacity_report(&c->res) : c->res.exit_code;
close:
    run_close(&c->r, &c->mine);
out:
    if (c != NULL) {
        for (i = 0; c->res.steps && i < c->res.n; i++)
            free(c->res.steps[i].verdicts);
        free(c->res.steps);
        free(c->objectives);
    }
    free(c);
    return code;
}
