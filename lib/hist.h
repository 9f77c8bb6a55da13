/* hist.h - a log-linear histogram of non-negative integers (latencies in
 * microseconds), in the manner of HdrHistogram: relative error under 1%,
 * fixed size, no allocation, mergeable across threads and hosts exactly.
 * Percentiles never exceed the recorded maximum. */
#ifndef SMTPSTORM_HIST_H
#define SMTPSTORM_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS   8                       /* 2^8 linear steps per power of two */
#define HIST_HALF       (1u << (HIST_SUB_BITS - 1))
#define HIST_MAX_BITS   40                      /* values up to 2^40 us, ~12.7 days */
#define HIST_SLOTS      ((HIST_MAX_BITS - HIST_SUB_BITS + 2) * HIST_HALF)
#define HIST_VALUE_MAX  ((1ULL << HIST_MAX_BITS) - 1)

struct hist {
    uint64_t count;             /* values recorded */
    uint64_t sum;               /* their sum (saturating) */
    uint64_t min;               /* UINT64_MAX while empty */
    uint64_t max;
    uint64_t slots[HIST_SLOTS];
};

/* hist_init - make h empty. */
void hist_init(struct hist *h);

/* hist_record - count one value; values above HIST_VALUE_MAX count as it:
 * hist_record_n(h, value, 1), inline (the agent records six a message). */
static inline void hist_record(struct hist *h, uint64_t value)
{
    unsigned shift = 0;

    if (value > HIST_VALUE_MAX)
        value = HIST_VALUE_MAX;
    if (value >= (1u << HIST_SUB_BITS))     /* hist_slot_of's layout */
        shift = 63u - (unsigned)__builtin_clzll(value) - (HIST_SUB_BITS - 1);
    h->slots[shift ? (size_t)shift * HIST_HALF + (size_t)(value >> shift) : (size_t)value]++;
    h->count++;
    h->sum = h->sum + value >= h->sum ? h->sum + value : UINT64_MAX;
    if (value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
}

/* hist_record_n - count the same value n times. */
void hist_record_n(struct hist *h, uint64_t value, uint64_t n);

/* hist_merge - add every count of src into dst. */
void hist_merge(struct hist *dst, const struct hist *src);

/* hist_percentile - the value at or below which pct percent (0..100) of the
 * recorded values lie, reported as the highest value of its slot, clamped to
 * [min, max]; 0 when empty. */
uint64_t hist_percentile(const struct hist *h, double pct);

/* hist_mean - the arithmetic mean of recorded values, 0 when empty. */
double hist_mean(const struct hist *h);

/* hist_slot_of - the slot index a value counts in (for serializers). */
size_t hist_slot_of(uint64_t value);

/* hist_slot_lowest - the smallest value that counts in slot. */
uint64_t hist_slot_lowest(size_t slot);

/* hist_slot_highest - the largest value that counts in slot. */
uint64_t hist_slot_highest(size_t slot);

/* hist_add_slot - add count to slot (for decoders); values' min/max/sum must
 * be set by the caller from the sender's. Returns -1 if slot is out of range. */
int hist_add_slot(struct hist *h, size_t slot, uint64_t count);

/* hist_bound_by_slots - for a histogram filled by hist_add_slot alone: min
 * and max from its lowest and highest nonempty slots' bounds, sum from
 * their midpoints. */
void hist_bound_by_slots(struct hist *h);

#endif
