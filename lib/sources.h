/* sources.h - a pool of local source addresses for the agent's
 * connections (--source): each new connection binds to the next address
 * of its family, so the server under test sees many clients. The spec is
 * a comma-separated list of IPv4 or IPv6 addresses and CIDR blocks, a
 * block meaning every address in it (198.18.0.32/28: .32 to .47; none is
 * left out as a network or broadcast address: name what the host has),
 * at most SOURCES_MAX in all. */
#ifndef SMTPSTORM_SOURCES_H
#define SMTPSTORM_SOURCES_H

#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"

#define SOURCES_MAX       4096  /* addresses in one pool */
#define SOURCES_SPEC_MAX  1024  /* the spec's length */

struct source_pool {
    struct endpoint_addr *addr; /* IPv4 first, then IPv6; port 0 */
    size_t n, n4;               /* all of them, the IPv4 ones */
};

/* source_pool_parse - the pool spec names into p (the caller owns it:
 * source_pool_free). Returns 0, or -EINVAL / -ENOMEM with the reason in
 * err naming the item: "--source: '198.18.0.1/8': more than 4096 addresses". */
int source_pool_parse(struct source_pool *p, const char *spec, char *err, size_t errlen);

/* source_pool_free - release p's addresses; p may be empty. */
void source_pool_free(struct source_pool *p);

/* source_pool_pick - the k-th address of family (AF_INET or AF_INET6) in
 * p, round robin; NULL when p has none of that family. The pointer is p's,
 * valid until source_pool_free. */
const struct endpoint_addr *source_pool_pick(const struct source_pool *p, int family, uint64_t k);

/* source_pool_check - every address of p can be bound on this host.
 * Returns 0, or -errno with the first that cannot named in err. */
int source_pool_check(const struct source_pool *p, char *err, size_t errlen);

#endif
