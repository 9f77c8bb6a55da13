/* fdlimit.h - a program's own descriptor limit: raised (soft, within the
 * hard limit) to what it is about to need, or a clear error naming both
 * numbers, before it starts something that would fail one accept() at a
 * time (the coordinator with thousands of agents, the scale simulator). */
#ifndef SMTPSTORM_FDLIMIT_H
#define SMTPSTORM_FDLIMIT_H

#include <stddef.h>
#include <stdint.h>

/* fdlimit_ensure - make the soft RLIMIT_NOFILE at least need, raising it
 * no further than the hard limit. Returns 0 (the limit is now at least
 * need; *now, when not NULL, holds it), or -EMFILE when the hard limit is
 * below need (the soft limit is then raised to the hard one, and err says
 * "need N descriptors, the hard limit is H"), or -errno when the limits
 * cannot be read or set. */
int fdlimit_ensure(uint64_t need, uint64_t *now, char *err, size_t errlen);

#endif
