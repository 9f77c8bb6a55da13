/* resolve.h - check a campaign's targets against the agent's allow-list
 * (guard_check_target, name lookups included) on a thread of its own, so
 * that a slow or silent name server never stalls the daemon's event loop:
 * its heartbeats and the coordinator's orders go on. The link answers the
 * coordinator's repeats of the workload with "not yet" until the lookup is
 * over (docs/wire.md). Targets that are addresses or unix: paths need no
 * lookup and no thread. */
#ifndef SMTPSTORM_AGENT_RESOLVE_H
#define SMTPSTORM_AGENT_RESOLVE_H

#include <stddef.h>

#include "endpoint.h"
#include "guard.h"

struct resolve;

/* resolve_needed - nonzero when one of the n target specs names a host
 * rather than an address (checking it may wait on a name server). */
int resolve_needed(char *const *targets, size_t n);

/* resolve_start - copy campaign and the n target specs and check them with
 * guard g for family (0, 4 or 6) on a new thread. g is read, never
 * written, and must outlive the lookup. The caller owns the result
 * (resolve_free). NULL when out of memory or no thread could start. */
struct resolve *resolve_start(const struct guard *g, char *const *targets, size_t n, int family,
                              const char *campaign);

/* resolve_same - nonzero when r was started for this campaign, targets and family. */
int resolve_same(const struct resolve *r, const char *campaign, char *const *targets, size_t n,
                 int family);

/* resolve_finished - nonzero once the lookup is over and resolve_take may be called. */
int resolve_finished(const struct resolve *r);

/* resolve_take - after resolve_finished: 0 with the n checked endpoints
 * (each pinned to the address that was checked) in *out, which the caller
 * then owns (free); or the first failure, as guard_check_target returns it
 * (-EACCES, -EAGAIN when the name server did not answer, ...), with a
 * sentence for the coordinator in why. */
int resolve_take(struct resolve *r, struct endpoint **out, char *why, size_t whylen);

/* resolve_free - let r go; NULL is harmless. Never waits: a lookup still
 * running finishes on its thread and frees what is left. */
void resolve_free(struct resolve *r);

#endif
