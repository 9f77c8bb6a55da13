/* launch.c - from enough peers to one start: the -F content, the plan
 * (planner.c) and each agent's part sent, the campaign's id, and one start
 * time for all, ahead by the slowest round trip. */
#include "run_private.h"
#include "log.h"
#include "number.h"
#include "phases.h"
#include "readfile.h"
#include "spread.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* launch_make_id - the campaign's id: its name, the UTC time and a nonce. */
static void launch_make_id(struct run *r)
{
    const char *name = r->cfg->w.name && trace_id_valid(r->cfg->w.name) ? r->cfg->w.name : "c";
    time_t now = time(NULL);
    struct tm tm;
    char id[128];

    gmtime_r(&now, &tm);
    snprintf(id, sizeof(id), "%.32s-%04d%02d%02dT%02d%02d%02d-%x", name,
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (unsigned)(clock_mono_ns() & 0xffffff) ^ (unsigned)getpid());
    snprintf(r->campaign, sizeof(r->campaign), "%.*s", (int)sizeof(r->campaign) - 1, id);
}

/* launch_read_list - a --rcpt-file or --senders FILE into *out, checked
 * as the agents will read it; 0, or -1 with the reason logged. */
static int launch_read_list(const char *opt, const char *path, uint8_t **out, size_t *len)
{
    char err[512];
    struct spread sp;
    char *text;

    if (readfile_all(path, WIRE_CONTENT_MAX, &text, len, err, sizeof(err)) != 0) {
        log_error("%s %s", opt, err);
        return -1;
    }
    if (spread_parse_list(&sp, path, text, *len, 0, err, sizeof(err)) != 0) {
        log_error("%s %s", opt, err);
        free(text);
        return -1;
    }
    spread_free(&sp);
    *out = (uint8_t *)text;
    return 0;
}

int launch_read_content(struct run *r)
{
    const struct workload_spec *w = &r->cfg->w;
    char err[512], *text;
    uint64_t n;

    if (w->size && (w->content_file || w->has_length)) {
        log_error("--size cannot be used with -l or -F");
        return -1;
    }
    if (w->corpus && (w->content_file || w->has_length || w->size || w->mime || w->attach)) {
        log_error("--corpus cannot be used with -F, -l, --size or --mime");
        return -1;
    }
    if (w->rcpt_file && launch_read_list("--rcpt-file", w->rcpt_file, &r->rcpt_list, &r->rcpt_list_len) != 0)
        return -1;
    if (w->senders && number_parse_u64(w->senders, 1, UINT64_MAX, &n) != 0
        && launch_read_list("--senders", w->senders, &r->sender_list, &r->sender_list_len) != 0)
        return -1;
    if (w->content_file == NULL)
        return 0;
    if (readfile_all(w->content_file, WIRE_CONTENT_MAX, &text, &r->content_len, err, sizeof(err)) != 0) {
        log_error("cannot read -F %s", err);
        return -1;
    }
    r->content = (uint8_t *)text;
    return 0;
}

/* Enough peers said hello: plan, and send every agent its part. */
int launch_begin(struct run *r)
{
    uint32_t *cores;
    uint64_t ready_ns, wait_ns;
    char err[256];
    size_t i, cap = r->reg.n ? r->reg.n : 1;
    int k;

    assert(r->state == RUN_WAIT && r->agents == NULL);
    r->agents = calloc(cap, sizeof(*r->agents));
    r->sinks = calloc(cap, sizeof(*r->sinks));
    cores = calloc(cap, sizeof(*cores));
    r->parts = calloc(cap, sizeof(*r->parts));
    if (!r->agents || !r->sinks || !cores || !r->parts) {
        free(cores);
        log_error("out of memory");
        return -1;
    }
    r->na = registry_list(&r->reg, PEERLINK_AGENT, 1, r->agents, cap);
    r->ns = registry_list(&r->reg, PEERLINK_SINK, 1, r->sinks, cap);
    for (i = 0; i < r->na; i++)
        cores[i] = r->agents[i]->cores;
    k = plan_make(&r->cfg->w, cores, r->na, r->parts, err, sizeof(err));
    free(cores);
    if (k < 0) {
        log_error("cannot split the campaign: %s", err);
        return -1;
    }
    /* Keep only the agents taking part, in id order, with their parts. */
    for (i = 0, k = 0; i < r->na; i++) {
        if (!r->parts[i].active)
            continue;
        r->parts[k] = r->parts[i];
        r->agents[k] = r->agents[i];
        r->agents[k]->part = k;
        r->agents[k]->state = PEER_ASSIGNED;
        k++;
    }
    r->na = (size_t)k;
    r->report_ms = r->cfg->report_interval_ms ? (uint32_t)r->cfg->report_interval_ms
                   : registry_report_interval_ms(r->na, r->cfg->peer_timeout_ms);
    launch_make_id(r);
    log_info("campaign %s: %zu agents, %zu sinks, %zu targets; agents report every %.1f s", r->campaign, r->na,
             r->ns, r->cfg->w.n_targets, r->report_ms / 1000.0);
    for (i = 0; i < r->na; i++)
        send_workload(r, r->agents[i]);
    r->state = RUN_READY;
    /* agents confirm within what is left of --wait (a name server can
     * take its time: podman's aardvark-dns has left one container's
     * lookups unanswered for 30 s after the containers started), and
     * never in less than RUN_READY_NS or two heartbeat timeouts */
    ready_ns = clock_mono_ns() + (RUN_READY_NS > 2 * r->cfg->peer_timeout_ms * NS_PER_MS
                                  ? RUN_READY_NS : 2 * r->cfg->peer_timeout_ms * NS_PER_MS);
    wait_ns = r->t0_ns + r->cfg->wait_ms * NS_PER_MS;
    r->deadline_ns = ready_ns > wait_ns ? ready_ns : wait_ns;
    return 0;
}

/* launch_offsets_known - every agent's and sink's clock offset is measured
 * (a heartbeat round trip each), so the start time and every event-time
 * second mean the same instant on every host. */
int launch_offsets_known(const struct run *r)
{
    size_t i;
    int known = 1;

    for (i = 0; i < r->na; i++)
        known &= r->agents[i]->have_offset;
    for (i = 0; i < r->ns; i++)
        known &= r->sinks[i]->have_offset || !r->sinks[i]->alive;
    return known;
}

/* Every agent confirmed: one start time for all, a little ahead. */
void launch_start(struct run *r)
{
    uint64_t lead = RUN_LEAD_MIN_NS, rtt;
    uint32_t last_rows[CONFIG_PHASES_MAX];
    size_t i, n;

    assert(r->state == RUN_READY);
    for (i = 0; i < r->na; i++) {
        rtt = r->agents[i]->have_offset ? 4 * r->agents[i]->rtt_ns : 0;
        if (rtt > lead)
            lead = rtt;
    }
    if (lead > RUN_LEAD_MAX_NS)
        lead = RUN_LEAD_MAX_NS;
    r->start_wall_ns = clock_wall_ns() + lead;
    r->start_ns = clock_mono_ns() + lead;
    if (r->cfg->w.warmup_ms > 0 && timeline_set_warmup(&r->tl, (uint32_t)((r->cfg->w.warmup_ms + 500) / 1000)) != 0)
        log_warn("out of memory for the warmup: its seconds stay in the percentiles");
    n = phases_last_rows(&r->cfg->w, last_rows);
    if (timeline_set_phases(&r->tl, last_rows, n) != 0)
        log_warn("out of memory for the phases: the report has no per-phase results");
    for (i = 0; i < r->na; i++) {
        send_start(r, r->agents[i]);
        r->agents[i]->state = PEER_RUNNING;
        if (timeline_expect(&r->tl, r->agents[i]) != 0)
            log_warn("out of memory for the timeline: its rows may be final before agent %s's", r->agents[i]->id);
    }
    for (i = 0; i < r->ns; i++) {
        send_start(r, r->sinks[i]);
        if (timeline_expect(&r->tl, r->sinks[i]) != 0)
            log_warn("out of memory for the timeline: its rows may be final before sink %s's", r->sinks[i]->id);
    }
    r->state = RUN_RUNNING;
    r->ran = 1;
}
