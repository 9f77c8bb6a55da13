/* fdlimit.c - raise the soft descriptor limit within the hard one (see
 * fdlimit.h). */
#include "fdlimit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

int fdlimit_raise(uint64_t need, const char *why, char *err, size_t errlen)
{
    struct rlimit rl;
    int e;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        e = errno;
        snprintf(err, errlen, "getrlimit(RLIMIT_NOFILE): %s", strerror(e));
        return -e;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return 0;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        snprintf(err, errlen,
                 "%s need %llu file descriptors, but the hard limit is %llu (ulimit -Hn): raise it "
                 "(as root: prlimit --pid PID --nofile=%llu:%llu, ulimit -Hn %llu in the shell that "
                 "starts this, or LimitNOFILE=%llu in a systemd unit) or ask for fewer",
                 why, (unsigned long long)need, (unsigned long long)rl.rlim_max,
                 (unsigned long long)need, (unsigned long long)need, (unsigned long long)need,
                 (unsigned long long)need);
        return -EMFILE;
    }
    rl.rlim_cur = (rlim_t)need;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        e = errno;
        snprintf(err, errlen, "%s need %llu file descriptors; raising the soft limit to it: %s", why,
                 (unsigned long long)need, strerror(e));
        return -e;
    }
    return 0;
}
