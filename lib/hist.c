/* hist.c - log-linear histogram (see hist.h). Slot layout: values below
 * 2^SUB_BITS are their own slot; above, each power of two is split into
 * HIST_HALF equal steps. */
#include "hist.h"

#include <string.h>

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

static unsigned hist_shift_of(uint64_t value)
{
    unsigned msb;

    if (value < (1u << HIST_SUB_BITS))
        return 0;
    msb = 63u - (unsigned)__builtin_clzll(value);
    return msb - (HIST_SUB_BITS - 1);
}

size_t hist_slot_of(uint64_t value)
{
    unsigned shift;

    if (value > HIST_VALUE_MAX)
        value = HIST_VALUE_MAX;
    shift = hist_shift_of(value);
    if (shift == 0)
        return (size_t)value;
    return (size_t)shift * HIST_HALF + (size_t)(value >> shift);
}

uint64_t hist_slot_lowest(size_t slot)
{
    size_t shift;

    if (slot < 2 * HIST_HALF)
        return slot;
    shift = slot / HIST_HALF - 1;
    return (uint64_t)(slot - shift * HIST_HALF) << shift;
}

uint64_t hist_slot_highest(size_t slot)
{
    size_t shift;

    if (slot < 2 * HIST_HALF)
        return slot;
    shift = slot / HIST_HALF - 1;
    return hist_slot_lowest(slot) + ((uint64_t)1 << shift) - 1;
}

void hist_record_n(struct hist *h, uint64_t value, uint64_t n)
{
    if (n == 0)
        return;
    if (value > HIST_VALUE_MAX)
        value = HIST_VALUE_MAX;
    h->slots[hist_slot_of(value)] += n;
    h->count += n;
    if (h->sum + value * n >= h->sum)
        h->sum += value * n;
    else
        h->sum = UINT64_MAX;
    if (value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    size_t i;

    if (src->count == 0)
        return;
    for (i = 0; i < HIST_SLOTS; i++)
        dst->slots[i] += src->slots[i];
    dst->count += src->count;
    dst->sum = dst->sum + src->sum >= dst->sum ? dst->sum + src->sum : UINT64_MAX;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

int hist_add_slot(struct hist *h, size_t slot, uint64_t count)
{
    if (slot >= HIST_SLOTS)
        return -1;
    h->slots[slot] += count;
    h->count += count;
    return 0;
}

uint64_t hist_percentile(const struct hist *h, double pct)
{
    uint64_t rank, seen = 0, value;
    size_t i;

    if (h->count == 0)
        return 0;
    if (pct <= 0)
        return h->min;
    if (pct >= 100)
        return h->max;
    rank = (uint64_t)(pct / 100.0 * (double)h->count + 0.999999);
    if (rank == 0)
        rank = 1;
    for (i = 0; i < HIST_SLOTS; i++) {
        seen += h->slots[i];
        if (seen >= rank)
            break;
    }
    value = hist_slot_highest(i < HIST_SLOTS ? i : HIST_SLOTS - 1);
    if (value > h->max)
        value = h->max;
    if (value < h->min)
        value = h->min;
    return value;
}

double hist_mean(const struct hist *h)
{
    return h->count ? (double)h->sum / (double)h->count : 0.0;
}

void hist_bound_by_slots(struct hist *h)
{
    size_t i, lo = HIST_SLOTS, hi = 0;
    uint64_t sum = 0, mid;

    for (i = 0; i < HIST_SLOTS; i++) {
        if (h->slots[i] == 0)
            continue;
        lo = i < lo ? i : lo;
        hi = i;
        mid = hist_slot_lowest(i) + (hist_slot_highest(i) - hist_slot_lowest(i)) / 2;
        sum = sum + mid * h->slots[i] >= sum ? sum + mid * h->slots[i] : UINT64_MAX;
    }
    if (lo == HIST_SLOTS)
        return;
    h->min = hist_slot_lowest(lo);
    h->max = hist_slot_highest(hi) < HIST_VALUE_MAX ? hist_slot_highest(hi) : HIST_VALUE_MAX;
    h->sum = sum;
}
