/* rebalance.c - a lost agent's unsent messages planned again over the
 * campaign's other agents (see rebalance.h). */
#include "run_private.h"
#include "dist.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* recipients_max - the most recipients a message of the campaign has: -N
 * numbers are handed out per recipient. */
static uint64_t recipients_max(const struct workload_spec *ws)
{
    struct dist d;
    char why[128];

    if (ws->recipients_dist == NULL)
        return ws->recipients ? ws->recipients : 1;
    if (dist_parse(&d, ws->recipients_dist, DIST_COUNTS, 1, CONFIG_RCPTS_MAX, why, sizeof(why)) != 0)
        return CONFIG_RCPTS_MAX;        /* checked before the campaign: not reached */
    return dist_max(&d);
}

/* first_free_number - above every trace seq and -N number of the plan. */
static uint64_t first_free_number(const struct run *r, uint64_t rcpts)
{
    uint64_t top = 0, seq_top, rcpt_top;
    size_t i;

    for (i = 0; i < r->na; i++) {
        const struct plan_part *pp = &r->parts[i];
        uint64_t stride = pp->seq_stride ? pp->seq_stride : 1;

        if (!pp->active)
            continue;
        seq_top = pp->seq_first + pp->messages * stride;
        rcpt_top = trace_rcpt_number(pp->seq_first, stride, rcpts, pp->messages * rcpts);
        if (seq_top > top) top = seq_top;
        if (rcpt_top > top) top = rcpt_top;
    }
    return top + 2;
}

static struct rebalance_share *share_outstanding(const struct run *r, const struct peer *p)
{
    size_t i, k;

    for (i = 0; i < r->n_moves; i++)
        for (k = 0; k < r->moves[i].n_shares; k++)
            if (r->moves[i].shares[k].to == p && r->moves[i].shares[k].state == REBALANCE_SENT)
                return &r->moves[i].shares[k];
    return NULL;
}

/* send_waiting - send each waiting share whose agent has none outstanding. */
static void send_waiting(struct run *r, uint64_t now)
{
    struct rebalance_share *s;
    size_t i, k;

    for (i = 0; i < r->n_moves; i++) {
        for (k = 0; k < r->moves[i].n_shares; k++) {
            s = &r->moves[i].shares[k];
            if (s->state != REBALANCE_WAITING || share_outstanding(r, s->to) != NULL)
                continue;
            s->extension = ++s->to->extensions;
            s->state = REBALANCE_SENT;
            s->sent_ns = now;
            send_extension(r, s);
        }
    }
}

/* enlist - idle agent p joins the campaign with an empty part (it takes a
 * lost agent's messages as its part: --rebalance); 0 or -ENOMEM. */
static int enlist(struct run *r, struct peer *p)
{
    struct peer **agents = realloc(r->agents, (r->na + 1) * sizeof(*agents));
    struct plan_part *parts;

    if (agents == NULL)
        return -ENOMEM;
    r->agents = agents;
    if ((parts = realloc(r->parts, (r->na + 1) * sizeof(*parts))) == NULL)
        return -ENOMEM;
    r->parts = parts;
    memset(&parts[r->na], 0, sizeof(parts[r->na]));
    parts[r->na].active = 1;
    parts[r->na].seq_stride = 1;
    parts[r->na].target_first = (uint32_t)(r->na % r->cfg->w.n_targets);
    r->agents[r->na] = p;
    p->part = (int)r->na++;
    p->state = PEER_DONE;           /* done with its (empty) part: a share makes it run */
    p->saw_progress = 1;            /* no Start to repeat: a share starts it */
    p->status[0] = '\0';
    log_info("campaign %s: agent %s (%s) joins to take a lost agent's messages", r->campaign, p->id, p->host);
    send_join(r, p);            /* so that the sinks correct its delivery latency */
    return 0;
}

/* enlist_idle - the agents connected, idle and with a clock offset join
 * the campaign; how many did. */
static size_t enlist_idle(struct run *r)
{
    size_t i, n = 0;

    for (i = 0; i < r->reg.n; i++) {
        struct peer *p = r->reg.peers[i];

        if (p->role == PEERLINK_AGENT && p->part < 0 && p->alive && p->route_len > 0 && !p->busy
            && p->have_offset && enlist(r, p) == 0)
            n++;
    }
    return n;
}

/* receivers - the campaign's agents that may take a share (not skip):
 * connected, not lost, running their part or done with it and well (it
 * runs again), into to[]; how many. */
static size_t receivers(struct run *r, const struct peer *skip, struct peer **to)
{
    size_t i, n = 0;

    for (i = 0; i < r->na; i++) {
        struct peer *p = r->agents[i];

        if (p == skip || p->lost || p->part < 0 || p->route_len == 0 || !p->alive
            || !(p->state == PEER_RUNNING || (p->state == PEER_DONE && p->status[0] == '\0')))
            continue;
        to[n++] = p;
    }
    return n;
}

/* pace - what m's agent ran at when it was lost: its part's rate and
 * sessions and those of the extra shares it had taken (so that the moved
 * messages keep the campaign's rate however many losses came before). */
static void pace(const struct run *r, const struct rebalance_move *m, uint64_t *rate_milli, uint64_t *sessions)
{
    size_t i, k;

    *rate_milli = r->parts[m->lost->part].rate_milli;
    *sessions = r->parts[m->lost->part].sessions;
    for (i = 0; i < r->n_moves; i++)
        for (k = 0; k < r->moves[i].n_shares; k++)
            if (r->moves[i].shares[k].to == m->lost && r->moves[i].shares[k].state == REBALANCE_TAKEN) {
                *rate_milli += r->moves[i].shares[k].rate_milli;
                *sessions += r->moves[i].shares[k].sessions;
            }
}

/* heaviest - keep the keep agents of to[] (n of them) with the largest
 * weights, in to[0..keep) and weights[0..keep); returns keep. */
static size_t heaviest(struct peer **to, uint64_t *weights, size_t n, size_t keep)
{
    size_t i, j, best;
    struct peer *tp;
    uint64_t tw;

    for (i = 0; i < keep; i++) {
        for (best = i, j = i + 1; j < n; j++)
            if (weights[j] > weights[best])
                best = j;
        tp = to[i], to[i] = to[best], to[best] = tp;
        tw = weights[i], weights[i] = weights[best], weights[best] = tw;
    }
    return keep;
}

/* share_out - count messages of move m over the campaign's agents that
 * may take a share (not skip; when there is none, over idle agents that
 * join), in proportion to their parts, at the pace of m's agent (pace) in
 * the same proportion: its rate and its sessions shared out (so at most as
 * many agents as it had sessions). Returns how many found no agent (0: all
 * placed). */
static uint64_t share_out(struct run *r, struct rebalance_move *m, uint64_t count, const struct peer *skip)
{
    uint64_t *weights = NULL, *counts = NULL, *split = NULL, rcpts = recipients_max(&r->cfg->w), stride, base;
    uint64_t rate_milli, sessions, most = 0;
    struct peer **to = NULL;
    struct rebalance_share *grown, *s;
    size_t i, n = 0;

    if ((to = calloc(r->na + r->reg.n + 1, sizeof(*to))) != NULL && (n = receivers(r, skip, to)) == 0
        && enlist_idle(r) > 0)          /* r->parts may have moved */
        n = receivers(r, skip, to);
    pace(r, m, &rate_milli, &sessions);
    weights = calloc(n + 1, sizeof(*weights));
    counts = calloc(n + 1, sizeof(*counts));
    split = calloc(n + 1, sizeof(*split));
    for (i = 0; weights && i < n; i++)
        weights[i] = r->parts[to[i]->part].messages ? r->parts[to[i]->part].messages : 1;
    if (weights != NULL && sessions > 0 && n > sessions)
        n = heaviest(to, weights, n, (size_t)sessions);    /* no more sessions than it had */
    if (n == 0 || weights == NULL || counts == NULL || split == NULL || plan_split(count, weights, n, counts) != 0
        || plan_split(sessions, counts, n, split) != 0
        || (grown = realloc(m->shares, (m->n_shares + n) * sizeof(*grown))) == NULL) {
        if (n > 0)
            log_warn("campaign %s: out of memory placing agent %s's messages", r->campaign, m->from);
        free(weights);
        free(counts);
        free(split);
        free(to);
        return count;
    }
    m->shares = grown;
    if (r->next_number == 0)
        r->next_number = first_free_number(r, rcpts);
    for (i = 0; i < n; i++)
        if (counts[i] > most)
            most = counts[i];
    stride = n < 2 ? 2 : n;             /* stride 1 would number recipients in blocks of -r */
    base = r->next_number;
    r->next_number += stride * (most * rcpts + 2) + 2;
    for (i = 0; i < n; i++) {
        if (counts[i] == 0)
            continue;
        s = &m->shares[m->n_shares++];
        memset(s, 0, sizeof(*s));
        snprintf(s->agent, sizeof(s->agent), "%s", to[i]->id);
        s->to = to[i];
        s->messages = counts[i];
        s->sessions = split[i] ? (uint32_t)split[i] : 1;     /* its sessions, shared out */
        s->rate_milli = (uint64_t)((double)rate_milli * (double)counts[i] / (double)count);
        if (rate_milli > 0 && s->rate_milli == 0)
            s->rate_milli = 1;
        s->seq_first = base + i;
        s->seq_stride = stride;
        s->state = REBALANCE_WAITING;
        log_info("campaign %s: %llu messages of agent %s move to agent %s", r->campaign,
                 (unsigned long long)s->messages, m->from, s->agent);
    }
    free(weights);
    free(counts);
    free(split);
    free(to);
    return 0;
}

/* place - count messages of m to place: now, or (none taking them) once an
 * agent can or joins, until --wait has passed; then they are not moved. */
static void place(struct run *r, struct rebalance_move *m, uint64_t count, const struct peer *skip, uint64_t now)
{
    if (count == 0)
        return;
    if (m->unplaced == 0)
        m->unplaced_ns = now;
    m->unplaced += share_out(r, m, count, skip);
    if (m->unplaced > 0)
        log_warn("campaign %s: %llu messages of agent %s wait for an agent to take them (at most %llu s)",
                 r->campaign, (unsigned long long)m->unplaced, m->from,
                 (unsigned long long)(r->cfg->wait_ms / 1000));
}

void rebalance_lost(struct run *r, struct peer *p, const char *why)
{
    struct rebalance_move *grown, *m;
    size_t i;

    if (!r->cfg->w.rebalance || r->state != RUN_RUNNING || r->stop_at_ns || p->part < 0)
        return;
    if ((grown = realloc(r->moves, (r->n_moves + 1) * sizeof(*grown))) == NULL) {
        log_warn("campaign %s: out of memory: agent %s's messages are not moved", r->campaign, p->id);
        return;
    }
    r->moves = grown;
    m = &r->moves[r->n_moves];
    memset(m, 0, sizeof(*m));
    if (r->ns > 0 && (m->sink_seq = calloc(r->ns, sizeof(*m->sink_seq))) == NULL) {
        log_warn("campaign %s: out of memory: agent %s's messages are not moved", r->campaign, p->id);
        return;
    }
    m->n_sink_seq = r->ns;
    r->n_moves++;
    snprintf(m->from, sizeof(m->from), "%s", p->id);
    snprintf(m->why, sizeof(m->why), "%s", why);
    m->lost = p;
    m->lost_ns = clock_mono_ns();
    for (i = 0; i < m->n_sink_seq; i++)
        m->sink_seq[i] = r->sinks[i]->latest_seq;
    log_info("campaign %s: agent %s lost (%s): its unsent messages move once the sinks have counted its last",
             r->campaign, p->id, why);
}

/* move_ready - the sinks have counted what m's agent sent: each has
 * reported REBALANCE_REPORTS times since the loss, and they have at least
 * what it reported accepted (through an MTA, mail on its way); or the
 * wait is over. */
static int move_ready(struct run *r, const struct rebalance_move *m, uint64_t now)
{
    const Smtpstorm__Progress *pr = agg_progress_of(m->lost);
    struct sink_count sc;
    size_t i;

    if (run_since(now, m->lost_ns) >= REBALANCE_WAIT_NS)
        return 1;
    for (i = 0; i < m->n_sink_seq && i < r->ns; i++) {
        const struct peer *s = r->sinks[i];

        if (!s->earlier && s->alive && s->latest_seq < m->sink_seq[i] + REBALANCE_REPORTS)
            return 0;
    }
    if (r->ns == 0 || pr == NULL)
        return 1;
    agg_sink_for_agent(r->sinks, r->ns, r->campaign, m->from, &sc);
    return sc.received + sc.rejected >= pr->messages_accepted;
}

/* move_decide - how many of m's agent's messages were never sent, and to
 * whom they go. */
static void move_decide(struct run *r, struct rebalance_move *m)
{
    const Smtpstorm__Progress *pr = agg_progress_of(m->lost);
    uint64_t sinks_saw = 0, it_said = 0, known;
    struct sink_count sc;

    agg_sink_for_agent(r->sinks, r->ns, r->campaign, m->from, &sc);
    sinks_saw = sc.received + sc.rejected + sc.deferred;
    if (pr != NULL)
        it_said = pr->messages_accepted + pr->messages_rejected;
    known = sinks_saw > it_said ? sinks_saw : it_said;
    m->planned = r->parts[m->lost->part].messages + rebalance_taken(r, m->lost);
    m->done = known < m->planned ? known : m->planned;
    m->moved = m->planned - m->done;
    m->received_then = sc.received;
    m->decided = 1;
    log_warn("campaign %s: agent %s lost: %llu of its %llu messages sent, %llu move", r->campaign, m->from,
             (unsigned long long)m->done, (unsigned long long)m->planned, (unsigned long long)m->moved);
    place(r, m, m->moved, NULL, clock_mono_ns());
}

/* replace - share s of m was refused or its agent lost: place it again. */
static void replace(struct run *r, struct rebalance_move *m, struct rebalance_share *s, const char *why)
{
    uint64_t count = s->messages;
    const struct peer *skip = s->to;

    s->state = REBALANCE_REFUSED;
    log_warn("campaign %s: agent %s did not take %llu messages of agent %s (%s): placed again", r->campaign,
             s->agent, (unsigned long long)count, m->from, why);
    place(r, m, count, skip, clock_mono_ns());     /* may move m->shares: s is gone */
}

void rebalance_tick(struct run *r, uint64_t now)
{
    struct rebalance_share *s;
    size_t i, k;

    if (r->stop_at_ns)
        return;                         /* stopping: nothing more moves */
    for (i = 0; i < r->n_moves; i++) {
        struct rebalance_move *m = &r->moves[i];

        if (!m->decided && move_ready(r, m, now))
            move_decide(r, m);
        if (m->unplaced > 0) {          /* none could take them: try again, or give up */
            uint64_t left = m->unplaced;

            m->unplaced = 0;
            if (run_since(now, m->unplaced_ns) >= r->cfg->wait_ms * NS_PER_MS) {
                m->not_moved += left;
                log_warn("campaign %s: %llu messages of agent %s not moved: no agent took them", r->campaign,
                         (unsigned long long)left, m->from);
            } else {
                m->unplaced = share_out(r, m, left, NULL);  /* what still waits, since unplaced_ns */
            }
        }
        for (k = 0; k < m->n_shares; k++) {
            s = &m->shares[k];
            if ((s->state == REBALANCE_SENT || s->state == REBALANCE_WAITING) && (s->to->lost || !s->to->alive)) {
                replace(r, m, s, "it was lost");   /* or, done with its part, went silent */
                continue;
            }
            if (s->state == REBALANCE_SENT && run_since(now, s->sent_ns) >= RUN_RESEND_NS) {
                s->sent_ns = now;       /* the same number: a repeat is answered, not run twice */
                send_extension(r, s);
            }
        }
    }
    send_waiting(r, now);
}

int rebalance_busy(const struct run *r)
{
    size_t i, k;

    if (r->stop_at_ns)
        return 0;                       /* stopped: what did not move is reported so */
    for (i = 0; i < r->n_moves; i++) {
        if (!r->moves[i].decided || r->moves[i].unplaced > 0)
            return 1;
        for (k = 0; k < r->moves[i].n_shares; k++)
            if (r->moves[i].shares[k].state == REBALANCE_WAITING || r->moves[i].shares[k].state == REBALANCE_SENT)
                return 1;
    }
    return 0;
}

void rebalance_ready(struct run *r, struct peer *p)
{
    struct rebalance_share *s = share_outstanding(r, p);
    const Smtpstorm__Progress *pr;
    uint64_t now = clock_mono_ns();

    if (s == NULL)
        return;
    s->state = REBALANCE_TAKEN;
    if (p->state == PEER_DONE) {        /* done with its part: it runs again, a new Done follows */
        pr = agg_progress_of(p);
        p->state = PEER_RUNNING;
        p->busy = 1;                    /* until its next heartbeat says so itself */
        p->sent_at_ns = now;
        p->latest_seq = pr ? pr->seq : 0;
        timeline_revive(&r->tl, p);
    }
    log_info("campaign %s: agent %s took %llu more messages", r->campaign, p->id,
             (unsigned long long)s->messages);
    send_waiting(r, now);
}

int rebalance_refused(struct run *r, struct peer *p, const char *text)
{
    size_t i, k;

    for (i = 0; i < r->n_moves; i++)
        for (k = 0; k < r->moves[i].n_shares; k++)
            if (r->moves[i].shares[k].to == p && r->moves[i].shares[k].state == REBALANCE_SENT) {
                replace(r, &r->moves[i], &r->moves[i].shares[k], text);
                send_waiting(r, clock_mono_ns());
                return 1;
            }
    return 0;
}

uint64_t rebalance_taken(const struct run *r, const struct peer *p)
{
    uint64_t n = 0;
    size_t i, k;

    for (i = 0; i < r->n_moves; i++)
        for (k = 0; k < r->moves[i].n_shares; k++)
            if (r->moves[i].shares[k].to == p && r->moves[i].shares[k].state == REBALANCE_TAKEN)
                n += r->moves[i].shares[k].messages;
    return n;
}

int rebalance_covered(const struct run *r, const struct peer *p)
{
    size_t i, k;

    for (i = 0; i < r->n_moves; i++) {
        const struct rebalance_move *m = &r->moves[i];

        if (m->lost != p)
            continue;
        if (!m->decided || m->not_moved > 0 || m->unplaced > 0)
            return 0;
        for (k = 0; k < m->n_shares; k++)
            if (m->shares[k].state == REBALANCE_WAITING || m->shares[k].state == REBALANCE_SENT)
                return 0;
        return 1;
    }
    return 0;
}

void rebalance_finish(struct run *r)
{
    struct sink_count sc;
    size_t i;

    for (i = 0; i < r->n_moves; i++) {
        agg_sink_for_agent(r->sinks, r->ns, r->campaign, r->moves[i].from, &sc);
        r->moves[i].received_after = r->moves[i].decided && sc.received > r->moves[i].received_then
                                     ? sc.received - r->moves[i].received_then : 0;
    }
}

const char *rebalance_state_name(enum rebalance_share_state state)
{
    static const char *const names[] = { "waiting", "sent", "taken", "refused" };

    return (size_t)state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}

void rebalance_free(struct run *r)
{
    size_t i;

    for (i = 0; i < r->n_moves; i++) {
        free(r->moves[i].shares);
        free(r->moves[i].sink_seq);
    }
    free(r->moves);
    r->moves = NULL;
    r->n_moves = 0;
    r->next_number = 0;
}
