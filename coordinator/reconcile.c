/* reconcile.c - accepted versus received, and the exit code (see reconcile.h). */
#include "reconcile.h"

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

void reconcile_line_set(struct reconcile_line *r, uint64_t accepted, const struct sink_count *c)
{
    uint64_t gap = accepted > c->received ? accepted - c->received : 0;

    r->accepted = accepted;
    r->received = c->received;
    r->duplicates = c->duplicates;
    r->rejected = min_u64(c->rejected, gap);
    gap -= r->rejected;
    r->deferred = min_u64(c->deferred, gap);
    gap -= r->deferred;
    r->lost = gap > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)gap;
    r->beyond = c->received > accepted ? c->received - accepted : 0;
}

void reconcile_line_add(struct reconcile_line *total, const struct reconcile_line *agent)
{
    total->accepted += agent->accepted;
    total->received += agent->received;
    total->duplicates += agent->duplicates;
    total->rejected += agent->rejected;
    total->deferred += agent->deferred;
    total->lost = total->lost > INT64_MAX - agent->lost ? INT64_MAX : total->lost + agent->lost;
    total->beyond += agent->beyond;
}

enum run_exit reconcile_exit(const struct run_outcome *o)
{
    if (o->agents_missing > 0 || !o->ran)
        return EXIT_RUN_AGENTS_MISSING;
    if (o->sinks_missing > 0)
        return EXIT_RUN_SINKS_MISSING;
    if (o->sinks_in_path && o->lost > 0)
        return EXIT_RUN_MESSAGES_LOST;
    if (o->thresholds_failed > 0)
        return EXIT_RUN_THRESHOLDS;
    if (!o->thresholds && (o->errors > 0 || o->rejected > 0))
        return EXIT_RUN_TARGET_ERRORS;
    if (o->interrupted)
        return EXIT_RUN_INTERRUPTED;
    return EXIT_RUN_OK;
}

const char *reconcile_exit_text(enum run_exit code)
{
    switch (code) {
    case EXIT_RUN_OK: return "ok";
    case EXIT_RUN_FAILED: return "could not run";
    case EXIT_RUN_USAGE: return "usage error";
    case EXIT_RUN_AGENTS_MISSING: return "agents missing";
    case EXIT_RUN_TARGET_ERRORS: return "target errors";
    case EXIT_RUN_MESSAGES_LOST: return "messages lost";
    case EXIT_RUN_SINKS_MISSING: return "sinks missing";
    case EXIT_RUN_THRESHOLDS: return "thresholds failed";
    case EXIT_RUN_INTERRUPTED: return "interrupted";
    case EXIT_CAPACITY_NONE: return "no capacity: the start rate failed";
    case EXIT_CAPACITY_GENERATOR: return "the generator was the limit";
    }
    return "unknown";
}
