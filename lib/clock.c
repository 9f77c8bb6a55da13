/* clock.c - monotonic, wall and CPU clocks in nanoseconds (see clock.h). */
#include "clock.h"

#include <time.h>

static uint64_t clock_read(clockid_t id)
{
    struct timespec ts;

    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t clock_wall_ns(void) { return clock_read(CLOCK_REALTIME); }
uint64_t clock_cpu_ns(void) { return clock_read(CLOCK_PROCESS_CPUTIME_ID); }
