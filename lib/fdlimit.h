/* fdlimit.h - the descriptor limit the agent and the sink set themselves:
 * at start (or when a workload arrives) each raises its soft
 * RLIMIT_NOFILE to what its sessions need, within the hard limit it was
 * given, and says clearly, with the numbers, when the hard limit is too
 * low. */
#ifndef SMTPSTORM_FDLIMIT_H
#define SMTPSTORM_FDLIMIT_H

#include <stddef.h>
#include <stdint.h>

/* Descriptors beyond the sessions' own: standard streams, listeners,
 * each loop's epoll and event descriptors, the control link's and the
 * metrics server's sockets, log, dump and report files. */
#define FDLIMIT_SPARE 64

/* fdlimit_raise - make this process's soft RLIMIT_NOFILE at least need,
 * never above its hard limit and never lower than it was. why names what
 * needs them, for the message ("-s 100000 sessions"). Returns 0; or
 * -EMFILE when the hard limit is below need, with err naming both numbers
 * and how to raise it (nothing changed); or -errno of getrlimit or
 * setrlimit, with err. */
int fdlimit_raise(uint64_t need, const char *why, char *err, size_t errlen);

#endif
