/* fdlimit.c - raise the descriptor limit to what a program needs (see
 * fdlimit.h). */
#include "fdlimit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

int fdlimit_ensure(uint64_t need, uint64_t *now, char *err, size_t errlen)
{
    struct rlimit rl;
    int e;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        e = errno;
        snprintf(err, errlen, "cannot read the descriptor limit: %s", strerror(e));
        return -e;
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ? rl.rlim_max : (rlim_t)need;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            e = errno;
            snprintf(err, errlen, "cannot raise the descriptor limit to %llu: %s",
                     (unsigned long long)rl.rlim_cur, strerror(e));
            return -e;
        }
    }
    if (now != NULL)
        *now = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        snprintf(err, errlen, "need %llu descriptors, the hard limit is %llu (raise it: ulimit -Hn, "
                 "LimitNOFILE= in a systemd unit, --ulimit nofile= for a container)",
                 (unsigned long long)need, (unsigned long long)rl.rlim_cur);
        return -EMFILE;
    }
    return 0;
}
