/* send.c - what the coordinator says to its peers: heartbeats, errors,
 * each agent's part (Workload), the one start time (Start, with the agents'
 * clock offsets for a sink) and Stop. Builds the messages; run.c and
 * peers.c decide when. */
#include "run_private.h"
#include "behaviours.h"
#include "log.h"
#include "wire_build.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* send_to - env to p, unless p has no route (an earlier run's record). */
static void send_to(struct peer *p, Smtpstorm__Envelope *env)
{
    int rc;

    if (p->route_len == 0)
        return;
    rc = zlink_send_env(p->z, p->route, p->route_len, env);
    if (rc != 0 && rc != -EHOSTUNREACH && rc != -EAGAIN)
        log_debug("send %s to %s: %s", wire_body_name(env), p->id, strerror(-rc));
}

void send_error_to(struct zlink *z, const uint8_t *route, size_t len,
                   Smtpstorm__Error__Code code, const char *text)
{
    struct wire_out out;

    (void)zlink_send_env(z, route, len, wire_build_error(&out, code, NULL, text));
}

void send_beat(struct run *r, struct peer *p)
{
    struct wire_out out;
    const char *campaign = r->state == RUN_RUNNING || r->state == RUN_DRAIN ? r->campaign : "";

    send_to(p, wire_build_heartbeat(&out, &p->beat, campaign));
    p->beat_tx_ns = clock_mono_ns();
}

void send_stop(struct run *r, struct peer *p, const char *reason)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__Stop s = SMTPSTORM__STOP__INIT;

    s.campaign = r->campaign;
    s.reason = (char *)reason;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_STOP;
    env.stop = &s;
    send_to(p, &env);
}

void send_stop_all(struct run *r, const char *reason)
{
    size_t i;

    for (i = 0; i < r->na; i++)
        if (r->agents[i]->state != PEER_DONE && !r->agents[i]->lost)
            send_stop(r, r->agents[i], reason);
    if (r->stop_at_ns == 0)
        r->stop_at_ns = clock_mono_ns();
}

/* send_fill_phases - the campaign's phases with part pp's rates and
 * sessions, into phases[] (CONFIG_PHASES_MAX of them) and w. */
static void send_fill_phases(const struct workload_spec *ws, const struct plan_part *pp, Smtpstorm__Workload *w,
                             Smtpstorm__Phase *phases, Smtpstorm__Phase **phase_ptrs)
{
    size_t i;

    assert(ws->n_phases <= CONFIG_PHASES_MAX);
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

/* send_fill_workload - part pp of the campaign as a Workload in w. */
static void send_fill_workload(struct run *r, const struct plan_part *pp, Smtpstorm__Workload *w,
                               Smtpstorm__Phase *phases, Smtpstorm__Phase **phase_ptrs)
{
    const struct workload_spec *ws = &r->cfg->w;

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
    w->smtputf8 = ws->smtputf8;
    w->chunking = ws->chunking;
    w->starttls = ws->starttls;
    w->tls_resume = ws->tls_resume;
    w->rebalance = ws->rebalance;
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
    w->session_timeout_ms = ws->session_timeout_ms;
    w->size = ws->size ? ws->size : (char *)"";
    w->seed = ws->seed;
    w->recipients_dist = ws->recipients_dist ? ws->recipients_dist : (char *)"";
    w->source = ws->source ? ws->source : (char *)"";
    w->mime = ws->mime || ws->attach;
    w->attach = ws->attach ? ws->attach : (char *)"";
    w->attachments = ws->attachments ? ws->attachments : (char *)"";
    w->corpus = ws->corpus ? ws->corpus : (char *)"";
    w->corpus_shuffle = ws->corpus_shuffle;
    w->envelope_trace = behaviours_envelope_trace(ws);
    w->rcpt_domains = ws->rcpt_domains;
    w->rcpt_zipf_milli = (uint64_t)(ws->rcpt_zipf * 1000 + 0.5);
    w->rcpt_list.data = r->rcpt_list;
    w->rcpt_list.len = r->rcpt_list_len;
    w->sender_list.data = r->sender_list;
    w->sender_list.len = r->sender_list_len;
    w->senders = ws->senders && r->sender_list == NULL ? strtoull(ws->senders, NULL, 10) : 0;
    w->report_interval_ms = r->report_ms;
    send_fill_phases(ws, pp, w, phases, phase_ptrs);
}

void send_workload(struct run *r, struct peer *p)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__Workload w;
    Smtpstorm__Phase phases[CONFIG_PHASES_MAX], *ptrs[CONFIG_PHASES_MAX];

    assert(p->role == PEERLINK_AGENT && p->part >= 0 && (size_t)p->part < r->na);
    send_fill_workload(r, &r->parts[p->part], &w, phases, ptrs);
    env.body_case = SMTPSTORM__ENVELOPE__BODY_WORKLOAD;
    env.workload = &w;
    send_to(p, &env);
    p->sent_at_ns = clock_mono_ns();
}

void send_extension(struct run *r, const struct rebalance_share *s)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__Workload w;
    Smtpstorm__Phase phases[CONFIG_PHASES_MAX], *ptrs[CONFIG_PHASES_MAX];
    struct plan_part pp;

    assert(s->to->role == PEERLINK_AGENT && s->to->part >= 0 && (size_t)s->to->part < r->na);
    pp = r->parts[s->to->part];         /* its targets' order */
    pp.messages = s->messages;
    pp.sessions = s->sessions;
    pp.rate_milli = s->rate_milli;
    pp.seq_first = s->seq_first;
    pp.seq_stride = s->seq_stride;
    send_fill_workload(r, &pp, &w, phases, ptrs);
    w.extension = s->extension;
    /* for an agent that joins: the campaign's start on its clock */
    w.start_ns = (uint64_t)((int64_t)r->start_wall_ns + (s->to->have_offset ? s->to->offset_ns : 0));
    env.body_case = SMTPSTORM__ENVELOPE__BODY_WORKLOAD;
    env.workload = &w;
    send_to(s->to, &env);
}

/* send_start_to - a Start to p; to a sink, with the clock offsets of
 * agents[0..n) relative to it (join: only those, new to its campaign). */
static void send_start_to(struct run *r, struct peer *p, struct peer *const *agents, size_t n, int join)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__Start s = SMTPSTORM__START__INIT;
    Smtpstorm__PeerOffset *offs = NULL, **ptrs = NULL;
    size_t i;

    s.campaign = r->campaign;
    s.start_ns = r->start_wall_ns;
    s.offset_ns = p->have_offset ? p->offset_ns : 0;
    s.join = join;
    if (p->role == PEERLINK_SINK && n > 0) {
        offs = calloc(n, sizeof(*offs));
        ptrs = calloc(n, sizeof(*ptrs));
        for (i = 0; offs && ptrs && i < n; i++) {
            smtpstorm__peer_offset__init(&offs[i]);
            offs[i].id = agents[i]->id;
            if (agents[i]->have_offset && p->have_offset)
                offs[i].offset_ns = agents[i]->offset_ns - p->offset_ns;
            ptrs[i] = &offs[i];
        }
        if (offs && ptrs) {
            s.agents = ptrs;
            s.n_agents = n;
        }
    }
    env.body_case = SMTPSTORM__ENVELOPE__BODY_START;
    env.start = &s;
    send_to(p, &env);
    free(ptrs);
    free(offs);
}

void send_start(struct run *r, struct peer *p)
{
    send_start_to(r, p, r->agents, r->na, 0);
    p->sent_at_ns = clock_mono_ns();
    if (p->role == PEERLINK_SINK && behaviours_any(&r->cfg->w))
        send_behaviour(r, p, r->beh_phase, 0);     /* the one in force, after the Start that resets it */
}

void send_join(struct run *r, struct peer *agent)
{
    size_t i;

    for (i = 0; i < r->ns; i++)
        if (r->sinks[i]->alive && r->sinks[i]->route_len > 0)
            send_start_to(r, r->sinks[i], &agent, 1, 1);
}

void send_behaviour(struct run *r, struct peer *p, size_t phase, int end)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__SinkBehaviour sb = SMTPSTORM__SINK_BEHAVIOUR__INIT;
    const struct sink_behaviour *b = end ? NULL : behaviours_of_phase(&r->cfg->w, phase);

    assert(p->role == PEERLINK_SINK);
    sb.campaign = r->campaign;
    sb.phase = (uint32_t)phase;
    sb.name = b && b->name ? b->name : (char *)"";
    sb.text.data = b ? (uint8_t *)b->text : NULL;
    sb.text.len = b ? b->len : 0;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_SINK_BEHAVIOUR;
    env.sink_behaviour = &sb;
    send_to(p, &env);
}

void send_behaviour_all(struct run *r, size_t phase, int end)
{
    size_t i;

    if (!behaviours_any(&r->cfg->w))
        return;
    for (i = 0; i < r->ns; i++)
        send_behaviour(r, r->sinks[i], phase, end);
}
