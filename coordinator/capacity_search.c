/* capacity_search.c - the capacity search's growth, bisection and step
 * rules (see capacity_search.h). */
#include "capacity_search.h"

#include <errno.h>
#include <math.h>

int capacity_search_init(struct capacity_search *s, double start, double max, double factor,
                         double resolution_pct)
{
    if (!(start > 0) || !(max >= start) || !(factor > 1) || !(resolution_pct > 0) || !isfinite(max))
        return -EINVAL;
    s->start = start;
    s->max = max;
    s->factor = factor;
    s->resolution_pct = resolution_pct;
    s->good = s->bad = 0;
    s->next = start;
    s->retried = 0;
    s->end = CAPACITY_SEARCHING;
    return 0;
}

double capacity_search_next(const struct capacity_search *s)
{
    return s->end == CAPACITY_SEARCHING ? s->next : 0;
}

/* capacity_search_narrow - bisect between good and bad, or stop there. */
static void capacity_search_narrow(struct capacity_search *s)
{
    if (s->bad - s->good <= s->good * s->resolution_pct / 100) {
        s->end = CAPACITY_FOUND;
        return;
    }
    s->next = (s->good + s->bad) / 2;
}

void capacity_search_record(struct capacity_search *s, double rate, enum capacity_verdict v)
{
    if (s->end != CAPACITY_SEARCHING)
        return;
    if (v == CAPACITY_GENERATOR) {
        if (s->retried)
            s->end = CAPACITY_GENERATOR_LIMIT;
        s->retried = 1;
        s->next = rate;
        return;
    }
    s->retried = 0;
    if (v == CAPACITY_PASS) {
        if (rate > s->good)
            s->good = rate;
        if (s->bad > 0)
            capacity_search_narrow(s);
        else if (rate >= s->max)
            s->end = CAPACITY_AT_MAX;
        else
            s->next = rate * s->factor < s->max ? rate * s->factor : s->max;
        return;
    }
    if (s->bad == 0 || rate < s->bad)
        s->bad = rate;
    if (s->good == 0)
        s->end = CAPACITY_START_FAILED;
    else
        capacity_search_narrow(s);
}

const char *capacity_search_end_name(enum capacity_end end)
{
    switch (end) {
    case CAPACITY_SEARCHING: return "searching";
    case CAPACITY_FOUND: return "found";
    case CAPACITY_AT_MAX: return "at_max";
    case CAPACITY_START_FAILED: return "start_failed";
    case CAPACITY_GENERATOR_LIMIT: return "generator_limit";
    }
    return "?";
}

enum capacity_verdict capacity_classify(int held, int saturated, int behind, int capped)
{
    if (saturated || (behind && (held || capped)))
        return CAPACITY_GENERATOR;
    return held ? CAPACITY_PASS : CAPACITY_FAIL;
}

uint32_t capacity_sessions(double rate, double latency_s, uint32_t floor, uint32_t ceiling, int *capped)
{
    double want = ceil(CAPACITY_HEADROOM * rate * latency_s);

    *capped = 0;
    if (ceiling < floor)
        ceiling = floor;
    if (!(want >= floor))
        return floor;
    if (want > ceiling) {
        *capped = 1;
        return ceiling;
    }
    return (uint32_t)want;
}
