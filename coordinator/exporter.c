/* exporter.c - the coordinator's OpenMetrics document (see exporter.h). */
#include "exporter.h"
#include "aggregator.h"

#include <errno.h>
#include <stdlib.h>

static void exporter_campaign(struct metrics_text *t, const struct exporter_view *v)
{
    metrics_text_family(t, "smtpstorm_peers", METRICS_GAUGE, NULL, "agents and sinks connected now");
    metrics_text_gauge(t, "smtpstorm_peers", (const char *[]){ "role", "agent", NULL }, (double)v->agents_alive);
    metrics_text_gauge(t, "smtpstorm_peers", (const char *[]){ "role", "sink", NULL }, (double)v->sinks_alive);
    if (v->campaign[0] == '\0')
        return;
    metrics_text_family(t, "smtpstorm_campaign_running", METRICS_GAUGE, NULL,
                        "1 while the agents send, 0 before and after");
    metrics_text_gauge(t, "smtpstorm_campaign_running", (const char *[]){ "campaign", v->campaign, NULL },
                       v->running ? 1 : 0);
    metrics_text_family(t, "smtpstorm_campaign_elapsed_seconds", METRICS_GAUGE, "seconds",
                        "time since the campaign's start");
    metrics_text_gauge(t, "smtpstorm_campaign_elapsed_seconds", (const char *[]){ "campaign", v->campaign, NULL },
                       v->elapsed_s);
}

static void exporter_agents(struct metrics_text *t, const struct exporter_view *v)
{
    const Smtpstorm__Progress *p;
    size_t i;

    metrics_text_family(t, "smtpstorm_agent_up", METRICS_GAUGE, NULL,
                        "1 while an agent taking part is heard, 0 once it is lost");
    for (i = 0; i < v->na; i++)
        metrics_text_gauge(t, "smtpstorm_agent_up", (const char *[]){ "campaign", v->campaign, "agent",
                           v->agents[i]->id, NULL }, v->agents[i]->alive && !v->agents[i]->lost);
    metrics_text_family(t, "smtpstorm_agent_messages_accepted", METRICS_COUNTER, NULL,
                        "messages the target accepted from one agent");
    for (i = 0; i < v->na; i++) {
        p = agg_progress_of(v->agents[i]);
        metrics_text_counter(t, "smtpstorm_agent_messages_accepted", (const char *[]){ "campaign", v->campaign,
                             "agent", v->agents[i]->id, NULL }, p ? p->messages_accepted : 0);
    }
}

static int exporter_load(struct metrics_text *t, const struct exporter_view *v)
{
    struct load_stats *s = malloc(sizeof(*s));
    struct metrics_load load;
    struct agg_totals tot;

    if (s == NULL)
        return -ENOMEM;
    stats_init(s);
    agg_merge_stats(v->agents, v->na, s);
    agg_totals(v->agents, v->na, NULL, 0, v->campaign, &tot);
    load.campaign = v->campaign;
    load.stats = s;
    load.sessions_active = tot.sessions_active;
    metrics_text_load(t, &load, 1);
    free(s);
    return 0;
}

/* Each sink as the coordinator hears it: its campaign's counts and what
 * SinkCounters carries of the whole process. */
static int exporter_sinks(struct metrics_text *t, const struct exporter_view *v)
{
    struct metrics_sink *ms = calloc(v->ns + 1, sizeof(*ms));
    struct metrics_sink_campaign *mc = calloc(v->ns + 1, sizeof(*mc));
    struct hist *h = calloc(v->ns + 1, sizeof(*h));
    const Smtpstorm__CampaignCounters *c;
    const Smtpstorm__SinkCounters *sc;
    size_t i;
    int rc = -ENOMEM;

    if (ms == NULL || mc == NULL || h == NULL)
        goto out;
    for (i = 0; i < v->ns; i++) {
        const struct peer *p = v->sinks[i];

        sc = p->latest && p->latest->body_case == SMTPSTORM__ENVELOPE__BODY_SINK_COUNTERS
            ? p->latest->sink_counters : NULL;
        ms[i].id = p->id;
        ms[i].sessions = sc ? sc->sessions : METRICS_UNKNOWN;
        ms[i].messages = sc ? sc->messages : METRICS_UNKNOWN;
        ms[i].untraced = sc ? sc->untraced : METRICS_UNKNOWN;
        ms[i].sessions_active = ms[i].bytes = METRICS_UNKNOWN;
        if ((c = agg_sink_campaign(p, v->campaign)) == NULL)
            continue;
        hist_init(&h[i]);
        if (c->delivery != NULL)
            (void)wire_hist_merge(&h[i], c->delivery);
        mc[i].campaign = v->campaign;
        mc[i].received = c->received;
        mc[i].duplicates = c->duplicates;
        mc[i].delivery = &h[i];
        ms[i].campaigns = &mc[i];
        ms[i].n_campaigns = 1;
    }
    metrics_text_sinks(t, ms, v->ns);
    rc = 0;
out:
    free(h);
    free(mc);
    free(ms);
    return rc;
}

/* exporter_control - what the control plane refused, by kind. */
static void exporter_control(struct metrics_text *t, const struct exporter_view *v)
{
    static const char *const kinds[] = { "dropped", "wrong_version", "unauthorized_key", "impostor",
                                         "handshake_failed", "oversize" };
    const struct control_counts *c = &v->control;
    uint64_t counts[] = { c->dropped, c->refused, c->unauthorized, c->impostors, c->handshakes_failed,
                          c->oversize };
    size_t i;

    metrics_text_family(t, "smtpstorm_control_refused", METRICS_COUNTER, NULL,
                        "control-plane input refused since start, by kind");
    for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
        metrics_text_counter(t, "smtpstorm_control_refused", (const char *[]){ "kind", kinds[i], NULL },
                             counts[i]);
}

int exporter_build(struct metrics_text *t, const struct exporter_view *v)
{
    int rc = 0;

    exporter_campaign(t, v);
    exporter_control(t, v);
    if (v->campaign[0] != '\0') {
        exporter_agents(t, v);
        if ((rc = exporter_load(t, v)) == 0)
            rc = exporter_sinks(t, v);
    }
    metrics_text_eof(t);
    if (rc != 0)
        t->failed = 1;
    return rc;
}
