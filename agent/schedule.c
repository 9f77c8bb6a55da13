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
    s->steps = NULL;
    s->n_steps = 0;
    s->scale = 1;
    s->cur = 0;
    s->cur_first = 0;
    s->cur_offset_ns = 0;
}

void schedule_init_steps(struct schedule *s, uint64_t start_ns, const struct schedule_step *steps,
                         size_t n, double scale, uint64_t limit)
{
    uint64_t total = 0;
    size_t i;

    for (i = 0; i < n; i++)
        total += steps[i].duration_ns;
    schedule_init(s, start_ns, n ? steps[0].rate * scale : 0, limit, total);
    s->steps = steps;
    s->n_steps = n;
    s->scale = scale;
}

/* steps_due - the due time of message k, walking the steps on from step
 * *i (first message number *first, beginning *offset ns after the start),
 * which are left at the step of k. UINT64_MAX past the last step. */
static uint64_t steps_due(const struct schedule *s, uint64_t k, size_t *i, double *first,
                          uint64_t *offset)
{
    double rate, count;

    for (; *i < s->n_steps; (*i)++) {
        rate = s->steps[*i].rate * s->scale;
        count = rate > 0 ? rate * (double)s->steps[*i].duration_ns / (double)NS_PER_SEC : 0;
        if (count > 0 && (double)k < *first + count)
            return s->start_ns + *offset + (uint64_t)floor(((double)k - *first) * (double)NS_PER_SEC / rate);
        *first += count;
        *offset += s->steps[*i].duration_ns;
    }
    return UINT64_MAX;
}

uint64_t schedule_due(const struct schedule *s, uint64_t k)
{
    size_t i = s->cur;
    double first = s->cur_first, offset;
    uint64_t at = s->cur_offset_ns;

    if (s->n_steps) {
        if ((double)k < first)          /* before the cursor: from the start */
            i = 0, first = 0, at = 0;
        return steps_due(s, k, &i, &first, &at);
    }
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
    if (s->n_steps)         /* moves the cursor along with issued */
        when = steps_due(s, s->issued, &s->cur, &s->cur_first, &s->cur_offset_ns);
    else
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
