/* schedule.c - message due times (see schedule.h). */
#include "schedule.h"

#include <math.h>

#include "clock.h"

void schedule_init(struct schedule *s, uint64_t start_ns, double rate, uint64_t limit,
                uint64_t duration_ns)
{
    s->start_ns = start_ns;
    s->rate = rate > 0 ? rate : 0;
    s->limit = limit;
    s->stop_ns = duration_ns ? start_ns + duration_ns : 0;
    s->issued = 0;
    s->stopped = 0;
}

uint64_t schedule_due(const struct schedule *s, uint64_t k)
{
    double offset;

    if (s->rate <= 0)
        return s->start_ns;
    /* k * 1e9 / rate without drift: computed from k, never accumulated */
    offset = floor((double)k * (double)NS_PER_SEC / s->rate);
    if (offset >= 1.8e19)
        return UINT64_MAX;
    return s->start_ns + (uint64_t)offset;
}

int schedule_next(struct schedule *s, uint64_t now, uint64_t *due)
{
    uint64_t when;

    if (s->stopped || s->issued >= s->limit)
        return SCHEDULE_EXHAUSTED;
    when = s->rate > 0 ? schedule_due(s, s->issued) : (now > s->start_ns ? now : s->start_ns);
    if (s->stop_ns && when >= s->stop_ns)
        return SCHEDULE_EXHAUSTED;
    if (s->rate <= 0 && s->stop_ns && now >= s->stop_ns)
        return SCHEDULE_EXHAUSTED;
    if (when > now) {
        *due = when;
        return SCHEDULE_WAIT;
    }
    *due = when;
    s->issued++;
    return SCHEDULE_DUE;
}

void schedule_stop(struct schedule *s) { s->stopped = 1; }
