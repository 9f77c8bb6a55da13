/* run.c - one campaign's life cycle (see run.h): set up (bind.c, --metrics,
 * --local's children), a state machine (wait for peers, ready, run, drain)
 * driven by a 100 ms tick in a lib/ev loop, heartbeats every second, then
 * the report (result.c) and the cleanup. The two ROUTER sockets feed the
 * registry through receive.c; what the tick sends is send.c's. */
#include "run.h"
#include "run_private.h"
#include "behaviours.h"
#include "fdlimit.h"
#include "interrupt.h"
#include "log.h"
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

/* run_wait_over - the wait is over without enough peers: name who came
 * (of the kind missing) and end with exit 3 or 6. */
static void run_wait_over(struct run *r, size_t have_a, size_t have_s)
{
    struct peer *list[64];
    char names[512] = "";
    size_t n, i;

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

/* run_busy_agents - live agents whose last heartbeat named a campaign. */
static size_t run_busy_agents(const struct run *r)
{
    size_t i, n = 0;

    for (i = 0; i < r->reg.n; i++)
        n += r->reg.peers[i]->role == PEERLINK_AGENT && r->reg.peers[i]->alive && r->reg.peers[i]->busy;
    return n;
}

/* run_tick_wait - RUN_WAIT: begin once enough agents and sinks are alive;
 * end when a --local child died or the wait is over. */
static void run_tick_wait(struct run *r, uint64_t now)
{
    size_t have_a = registry_alive(&r->reg, PEERLINK_AGENT), have_s = registry_alive(&r->reg, PEERLINK_SINK);
    char err[256];

    if (r->local && local_exited(r->local, err, sizeof(err))) {
        log_error("local %s", err);
        r->exit_code = EXIT_RUN_FAILED;
        r->state = RUN_END;
        return;
    }
    if (r->between && run_busy_agents(r) > 0 && now < r->deadline_ns)
        return;                 /* the last campaign's agents are still winding down */
    if (have_a >= (size_t)r->want_agents && have_s >= (size_t)r->want_sinks) {
        if (launch_begin(r) != 0) {
            r->exit_code = EXIT_RUN_FAILED;
            r->state = RUN_END;
        }
        return;
    }
    if (now >= r->deadline_ns)
        run_wait_over(r, have_a, have_s);
}

/* run_ready_fail - an agent is gone, refused, or did not confirm in time:
 * the campaign cannot start as planned; stop those that took their part. */
static void run_ready_fail(struct run *r)
{
    size_t i;

    for (i = 0; i < r->na; i++) {
        struct peer *p = r->agents[i];

        if (p->state != PEER_READY && !p->lost) {
            p->lost = 1;
            snprintf(p->status, sizeof(p->status), "did not confirm its part");
            log_error("agent %s did not confirm its part of campaign %s", p->id, r->campaign);
        }
    }
    send_stop_all(r, "another agent could not take part");
    r->state = RUN_END;
}

/* run_tick_ready - RUN_READY: repeat unconfirmed parts; start when every
 * agent is ready and the clock offsets are known (or time is short). */
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
        else if (run_since(now, p->sent_at_ns) >= RUN_RESEND_NS)
            send_workload(r, p);
    }
    if (gone > 0 || r->refusals > 0 || (ready < r->na && now >= r->deadline_ns)) {
        run_ready_fail(r);
        return;
    }
    if (ready < r->na)
        return;
    if (launch_offsets_known(r)) {
        launch_start(r);
    } else if (now >= r->deadline_ns - RUN_OFFSET_GRACE_NS) {
        log_warn("starting without every peer's clock offset: their times may be off by their clocks' skew");
        launch_start(r);
    }
}

/* run_tick_running - RUN_RUNNING: stop a campaign past its duration,
 * repeat a lost Start or Done, give up on agents that never finish; drain
 * once every agent is done. */
static void run_tick_running(struct run *r, uint64_t now)
{
    uint64_t dur = config_total_duration_ms(&r->cfg->w) * NS_PER_MS;
    size_t i, finished = 0;

    if (r->stop_at_ns == 0 && dur > 0 && now > r->start_ns + dur + RUN_OVERTIME_NS + dur / 10)
        send_stop_all(r, "the campaign's duration is over");
    rebalance_tick(r, now);
    for (i = 0; i < r->na; i++) {
        struct peer *p = r->agents[i];

        if (p->state == PEER_DONE || p->lost) {
            finished++;
            continue;
        }
        if (r->stop_at_ns && run_since(now, r->stop_at_ns) > RUN_STOP_GRACE_NS) {
            log_warn("agent %s did not finish within %llu s of being stopped", p->id,
                     (unsigned long long)(RUN_STOP_GRACE_NS / NS_PER_SEC));
            p->lost = 1;
            snprintf(p->status, sizeof(p->status), "did not finish after stop");
            finished++;
        } else if (!p->saw_progress && now > r->start_ns + RUN_RESEND_NS && run_since(now, p->sent_at_ns) >= RUN_RESEND_NS) {
            send_start(r, p);       /* no progress yet: the Start may be lost */
        } else if (p->saw_progress && !p->busy && now > r->start_ns + 2 * RUN_RESEND_NS
                   && run_since(now, p->sent_at_ns) >= RUN_RESEND_NS) {
            send_stop(r, p, "your Done was lost: send it again");
            p->sent_at_ns = now;
        }
    }
    if (finished == r->na && !rebalance_busy(r)) {
        r->state = r->ns > 0 && r->want_sinks > 0 ? RUN_DRAIN : RUN_END;
        r->drain_ns = r->drain_change_ns = now;
        r->drain_received = 0;
    }
}

/* run_drained - the sinks have counted every agent's accepted messages:
 * agent by agent, so that one agent's surplus (its last messages reported
 * by the sinks but not by it, when it was lost) never stands in for
 * another's mail still on its way. */
int run_drained(const struct run *r)
{
    const Smtpstorm__Progress *p;
    struct sink_count sc;
    size_t i;

    for (i = 0; i < r->na; i++) {
        if ((p = agg_progress_of(r->agents[i])) == NULL)
            continue;
        agg_sink_for_agent(r->sinks, r->ns, r->campaign, r->agents[i]->id, &sc);
        if (sc.received + sc.rejected < p->messages_accepted)   /* deferred mail may still come */
            return 0;
    }
    return 1;
}

/* run_tick_drain - RUN_DRAIN: end when the sinks have it all, went quiet
 * for --drain-quiet, or --drain is over. */
static void run_tick_drain(struct run *r, uint64_t now)
{
    struct agg_totals t;

    run_totals(r, &t);
    if (t.received != r->drain_received) {
        r->drain_received = t.received;
        r->drain_change_ns = now;
    }
    if (run_drained(r)
        || (r->cfg->drain_quiet_ms > 0 && run_since(now, r->drain_change_ns) >= r->cfg->drain_quiet_ms * NS_PER_MS)
        || run_since(now, r->drain_ns) >= r->cfg->drain_ms * NS_PER_MS)
        r->state = RUN_END;
}

/* run_tick_behaviour - a phase with another sink behaviour began: send it;
 * the campaign over, the sinks go back to their own. */
static void run_tick_behaviour(struct run *r, uint64_t now)
{
    const struct sink_behaviour *b;
    size_t phase;

    if (!r->ran || r->beh_reverted || !behaviours_any(&r->cfg->w))
        return;
    if (r->state == RUN_END) {
        send_behaviour_all(r, r->beh_phase, 1);
        r->beh_reverted = 1;
        return;
    }
    phase = behaviours_phase_at(&r->cfg->w, run_since(now, r->start_ns) / NS_PER_MS);
    if (phase == r->beh_phase)
        return;
    b = behaviours_of_phase(&r->cfg->w, phase);
    if (b != behaviours_of_phase(&r->cfg->w, r->beh_phase)) {
        log_info("phase %zu: the sinks follow %s", phase + 1, b ? b->name : "their own behaviour");
        send_behaviour_all(r, phase, 0);
    }
    r->beh_phase = phase;
}

/* run_check_interrupt - the first signal, or the live page's Stop, stops
 * the agents (a running campaign still drains and reports); the second
 * signal ends the run now. */
static void run_check_interrupt(struct run *r)
{
    unsigned stops = r->web ? web_stops(r->web) : 0;

    if ((interrupt_count() > 0 || stops > 0) && !r->interrupted) {
        r->interrupted = 1;
        r->web_stops = stops;
        log_warn(interrupt_count() > 0 ? "interrupted: stopping the agents (again to quit now)"
                 : "stopped from the live page: stopping the agents (Ctrl-C to quit now)");
        if (r->state == RUN_RUNNING || r->state == RUN_READY)
            send_stop_all(r, "interrupted");
        if (r->state != RUN_RUNNING)
            r->state = RUN_END;
    } else if (interrupt_count() > 1) {
        r->state = RUN_END;
    }
}

/* run_on_tick - every RUN_TICK_NS: lost peers, signals, then the state's
 * step, and the progress line. */
static void run_on_tick(struct ev_loop *loop, void *arg)
{
    struct run *r = arg;
    uint64_t now = clock_mono_ns();

    registry_sweep(&r->reg, now, peers_on_dead, r);
    run_check_interrupt(r);
    switch (r->state) {
    case RUN_WAIT: run_tick_wait(r, now); break;
    case RUN_READY: run_tick_ready(r, now); break;
    case RUN_RUNNING: run_tick_running(r, now); break;
    case RUN_DRAIN: run_tick_drain(r, now); break;
    case RUN_END: break;
    }
    if (r->state == RUN_RUNNING || r->state == RUN_DRAIN)
        live_show_progress(r, now);
    run_tick_behaviour(r, now);
    if (r->state == RUN_END) {
        ev_stop(loop);
        return;
    }
    (void)ev_timer_start(loop, &r->tick, RUN_TICK_NS);
}

/* run_on_beat - every RUN_BEAT_NS: a heartbeat to every live peer due one
 * (registry_beat_due) and a fresh --metrics document. */
static void run_on_beat(struct ev_loop *loop, void *arg)
{
    struct run *r = arg;
    uint64_t now = clock_mono_ns();
    size_t i;

    for (i = 0; i < r->reg.n; i++)
        if (r->reg.peers[i]->alive && registry_beat_due(r->reg.peers[i], now, RUN_BEAT_NS))
            send_beat(r, r->reg.peers[i]);
    live_publish_metrics(r, clock_mono_ns());
    webjson_publish(r, clock_mono_ns());
    (void)ev_timer_start(loop, &r->beat, RUN_BEAT_NS);
}

/* run_on_linger - every RUN_TICK_NS after the report: the final page and
 * /metrics stay until the linger is over, a signal comes, or the page says
 * Stop. */
static void run_on_linger(struct ev_loop *loop, void *arg)
{
    struct run *r = arg;

    if (clock_mono_ns() >= r->deadline_ns || interrupt_count() > r->linger_signals
        || (r->web != NULL && web_stops(r->web) > r->web_stops)) {
        ev_stop(loop);
        return;
    }
    (void)ev_timer_start(loop, &r->tick, RUN_TICK_NS);
}

/* run_linger_ms - how long the servers stay after the report: the longer
 * of --web-linger (with --web) and --metrics-linger (with --metrics). */
static uint64_t run_linger_ms(const struct run *r)
{
    uint64_t web = r->web != NULL ? r->cfg->web_linger_ms : 0;
    uint64_t metrics = r->metrics != NULL ? r->cfg->metrics_linger_ms : 0;

    return web > metrics ? web : metrics;
}

/* run_linger - --web or --metrics: the campaign is over and reported; the
 * final /metrics is published (the agents' last reports included), the
 * agents and sinks are let go, and the final page and /metrics are served a
 * little longer. */
static void run_linger(struct run *r)
{
    uint64_t ms = run_linger_ms(r);

    if (ms == 0)
        return;
    live_publish_metrics(r, clock_mono_ns());
    local_stop(r->local);
    r->local = NULL;
    r->web_stops = r->web != NULL ? web_stops(r->web) : 0;
    r->linger_signals = interrupt_count();
    r->deadline_ns = clock_mono_ns() + ms * NS_PER_MS;
    if (r->web != NULL)
        log_info("the final page stays at http://%s/ for %.0f s (Stop or Ctrl-C to quit now)", web_address(r->web),
                 (double)ms / 1000);
    if (r->metrics != NULL)
        log_info("the final metrics stay at http://%s/metrics for %.0f s (Ctrl-C to quit now)",
                 metrics_address(r->metrics), (double)ms / 1000);
    ev_timer_stop(r->loop, &r->beat);
    ev_timer_init(&r->tick, run_on_linger, r);
    (void)ev_timer_start(r->loop, &r->tick, RUN_TICK_NS);
    (void)ev_run(r->loop);
}

/* run_fd_limit - room for a connection from every agent and sink waited
 * for, and the coordinator's own: the soft descriptor limit raised to that,
 * or -1 with the reason logged. Out of descriptors, libzmq would refuse
 * each connection past the limit in silence and the agents would never say
 * hello. */
static int run_fd_limit(const struct run *r)
{
    uint64_t need = (uint64_t)r->want_agents + (uint64_t)r->want_sinks + RUN_FDS_SPARE;
    char why[64], err[512];

    snprintf(why, sizeof(why), "%d agents and %d sinks", r->want_agents, r->want_sinks);
    if (fdlimit_raise(need, why, err, sizeof(err)) == 0)
        return 0;
    log_error("%s", err);
    return -1;
}

/* run_setup - the endpoints, --metrics and --local's children (whose sink,
 * with no TARGET, becomes cfg_local's target). 0, or -1 with the reason logged. */
static int run_setup(struct run *r, struct run_config *cfg_local)
{
    const char *ctl_ep, *snk_ep;
    char err[256], target[64];
    int with_sink;

    if (run_fd_limit(r) != 0 || bind_endpoints(r, &ctl_ep, &snk_ep) != 0)
        return -1;
    if (r->cfg->metrics != NULL) {
        if ((r->metrics = metrics_start(r->cfg->metrics, err, sizeof(err))) == NULL) {
            log_error("%s", err);
            return -1;
        }
        log_info("metrics at http://%s/metrics", metrics_address(r->metrics));
        live_publish_metrics(r, clock_mono_ns());
    }
    if (r->cfg->web != NULL) {
        if ((r->web = web_start(r->cfg->web, r->cfg->web_token, r->loop, err, sizeof(err))) == NULL) {
            log_error("%s", err);
            return -1;
        }
        log_info("live page at http://%s/", web_address(r->web));
        webjson_publish(r, clock_mono_ns());
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

/* run_free_earlier - the records of restarted sinks' earlier runs. */
static void run_free_earlier(struct run *r)
{
    for (size_t i = 0; i < r->nearlier; i++) {
        wire_free(r->earlier[i]->latest);
        free(r->earlier[i]);
    }
    free(r->earlier);
    r->earlier = NULL;
    r->nearlier = 0;
}

/* run_cleanup - release everything run_campaign set up, in reverse. */
static void run_cleanup(struct run *r)
{
    web_stop(r->web);
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
    bind_tmpdir_remove(r);
    registry_free(&r->reg);
    agg_free(&r->agg);
    timeline_free(&r->tl);
    ev_loop_free(r->loop);
    free(r->agents);
    free(r->sinks);
    run_free_earlier(r);
    free(r->parts);
    rebalance_free(r);
    free(r->content);
    free(r->rcpt_list);
    free(r->sender_list);
}

int run_open(struct run *r, const struct run_config *cfg, struct run_config *mine)
{
    *mine = *cfg;
    memset(r, 0, sizeof(*r));
    r->cfg = mine;
    r->want_agents = cfg->local ? cfg->local : (cfg->agents > 0 ? cfg->agents : 1);
    r->want_sinks = cfg->local && cfg->w.n_targets == 0 ? 1 : cfg->sinks;
    registry_init(&r->reg, cfg->peer_timeout_ms);
    timeline_init(&r->tl);
    progress_init(&r->line, stderr);
    /* --local's sink target is added to a copy of the target list we own. */
    mine->w.targets = NULL;
    mine->w.n_targets = 0;
    if (!cfg->local && cfg->w.n_targets == 0) {
        log_error("no TARGET: name the server under test (or use --local N with no TARGET for a local sink)");
        return EXIT_RUN_USAGE;
    }
    for (size_t i = 0; i < cfg->w.n_targets; i++)
        if (config_add_target(&mine->w, cfg->w.targets[i]) != 0) {
            log_error("out of memory for the targets");
            return EXIT_RUN_FAILED;
        }
    if (launch_read_content(r) != 0 || (r->loop = ev_loop_new()) == NULL || (r->zctx = zmq_ctx_new()) == NULL)
        return EXIT_RUN_FAILED;
    interrupt_catch(r->loop, &r->saved);
    r->caught = 1;
    if (run_setup(r, mine) != 0)
        return EXIT_RUN_FAILED;
    r->t0_ns = clock_mono_ns();
    r->deadline_ns = r->t0_ns + cfg->wait_ms * NS_PER_MS;
    ev_timer_init(&r->tick, run_on_tick, r);
    ev_timer_init(&r->beat, run_on_beat, r);
    (void)ev_timer_start(r->loop, &r->beat, RUN_BEAT_NS);
    return 0;
}

void run_loop(struct run *r)
{
    (void)ev_timer_start(r->loop, &r->tick, RUN_TICK_NS);
    (void)ev_run(r->loop);
    progress_clear(&r->line);
}

void run_next_campaign(struct run *r, const struct run_config *cfg)
{
    registry_reset_campaign(&r->reg);
    free(r->agents);
    free(r->sinks);
    free(r->parts);
    rebalance_free(r);
    r->agents = r->sinks = NULL;
    r->parts = NULL;
    r->na = r->ns = 0;
    run_free_earlier(r);
    timeline_free(&r->tl);
    timeline_init(&r->tl);
    agg_free(&r->agg);
    r->cfg = cfg;
    r->state = RUN_WAIT;
    r->campaign[0] = '\0';
    r->start_wall_ns = r->start_ns = r->stop_at_ns = 0;
    r->drain_ns = r->drain_change_ns = r->drain_received = 0;
    r->agents_missing = r->sinks_missing = r->refusals = 0;
    r->ran = 0;
    r->beh_phase = 0;
    r->beh_reverted = 0;
    r->last_line_ns = 0;
    r->exit_code = EXIT_RUN_OK;
    r->between = 1;
    r->t0_ns = clock_mono_ns();
    r->deadline_ns = r->t0_ns + cfg->wait_ms * NS_PER_MS;
}

void run_close(struct run *r, struct run_config *mine)
{
    if (r->caught)
        interrupt_restore(&r->saved);
    run_cleanup(r);
    for (size_t i = 0; i < mine->w.n_targets; i++)
        free(mine->w.targets[i]);
    free(mine->w.targets);
    mine->w.targets = NULL;
    mine->w.n_targets = 0;
}

enum run_exit run_campaign(const struct run_config *cfg)
{
    struct run_config mine;
    struct run r;
    enum run_exit code;

    code = (enum run_exit)run_open(&r, cfg, &mine);
    if (code == EXIT_RUN_OK) {
        run_loop(&r);
        code = r.exit_code ? r.exit_code : result_report(&r);
        run_linger(&r);
    }
    run_close(&r, &mine);
    return code;
}
