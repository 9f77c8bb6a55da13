/* stats.c - shared load counters (see stats.h). */
#include "stats.h"

#include <string.h>

static const char *const phase_names[PHASE_COUNT] = {
    "connect", "banner", "helo", "mail", "rcpt", "data", "dot", "quit",
    "message", "delivery", "starttls",
};

const enum stats_phase stats_phases_shown[PHASE_COUNT] = {
    PHASE_CONNECT, PHASE_BANNER, PHASE_HELO, PHASE_STARTTLS, PHASE_MAIL, PHASE_RCPT,
    PHASE_DATA, PHASE_DOT, PHASE_QUIT, PHASE_MESSAGE, PHASE_DELIVERY,
};

static const char *const error_names[ERROR_KIND_COUNT] = {
    "connect_refused", "connect", "timeout", "reset", "tls", "protocol",
    "unexpected_reply", "other", "too_big", "no_smtputf8",
};

void stats_init(struct load_stats *s)
{
    int i;

    memset(s, 0, sizeof(*s));
    for (i = 0; i < PHASE_COUNT; i++)
        hist_init(&s->latency[i]);
    hist_init(&s->body_sizes);
}

void stats_merge(struct load_stats *dst, const struct load_stats *src)
{
    int i;

    dst->sessions += src->sessions;
    dst->messages_attempted += src->messages_attempted;
    dst->messages_accepted += src->messages_accepted;
    dst->messages_rejected += src->messages_rejected;
    dst->messages_unfinished += src->messages_unfinished;
    dst->errors += src->errors;
    dst->recipients += src->recipients;
    dst->tls_resumed += src->tls_resumed;
    dst->bytes += src->bytes;
    for (i = 0; i < ERROR_KIND_COUNT; i++)
        dst->errors_by_kind[i] += src->errors_by_kind[i];
    for (i = 0; i < STATS_REPLY_CODES; i++)
        dst->replies[i] += src->replies[i];
    for (i = 0; i < PHASE_COUNT; i++)
        hist_merge(&dst->latency[i], &src->latency[i]);
    hist_merge(&dst->body_sizes, &src->body_sizes);
}

void stats_second_add(struct stats_second *dst, const struct stats_second *src)
{
    dst->sessions_active += src->sessions_active;
    dst->attempted += src->attempted;
    dst->accepted += src->accepted;
    dst->rejected += src->rejected;
    dst->errors += src->errors;
    dst->replies_4xx += src->replies_4xx;
    dst->replies_5xx += src->replies_5xx;
    dst->received += src->received;
    dst->duplicates += src->duplicates;
    dst->sink_deferred += src->sink_deferred;
    dst->sink_rejected += src->sink_rejected;
}

void stats_second_sub(const struct stats_second *dst, const struct stats_second *src,
                      struct stats_second *out)
{
#define STATS_SUB(f) out->f = dst->f > src->f ? dst->f - src->f : 0
    out->t = dst->t;
    out->sessions_active = 0;
    STATS_SUB(attempted);
    STATS_SUB(accepted);
    STATS_SUB(rejected);
    STATS_SUB(errors);
    STATS_SUB(replies_4xx);
    STATS_SUB(replies_5xx);
    STATS_SUB(received);
    STATS_SUB(duplicates);
    STATS_SUB(sink_deferred);
    STATS_SUB(sink_rejected);
#undef STATS_SUB
}

void stats_count_error(struct load_stats *s, enum stats_error kind)
{
    if ((unsigned)kind >= ERROR_KIND_COUNT)
        kind = ERROR_OTHER;
    s->errors_by_kind[kind]++;
    s->errors++;
}

const char *stats_phase_name(enum stats_phase phase)
{
    return (unsigned)phase < PHASE_COUNT ? phase_names[phase] : "unknown";
}

const char *stats_error_name(enum stats_error kind)
{
    return (unsigned)kind < ERROR_KIND_COUNT ? error_names[kind] : "unknown";
}
