/* clock.h - time sources shared by all programs: a monotonic clock for
 * measuring, a wall clock for stamping, both in nanoseconds. */
#ifndef SMTPSTORM_CLOCK_H
#define SMTPSTORM_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NS_PER_US 1000ULL
#define NS_PER_MS 1000000ULL
#define NS_PER_SEC 1000000000ULL

/* clock_mono_ns - monotonic time in ns (CLOCK_MONOTONIC); never goes back.
 * Inline: the agent reads it at every readiness event. */
static inline uint64_t clock_mono_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* clock_wall_ns - wall-clock time in ns since the Unix epoch (CLOCK_REALTIME). */
uint64_t clock_wall_ns(void);

/* clock_cpu_ns - CPU time (user + system) this process has used, in ns. */
uint64_t clock_cpu_ns(void);

#endif
