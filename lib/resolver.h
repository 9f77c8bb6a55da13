/* resolver.h - name lookups that never wait: c-ares queries driven by the
 * lib/ev loop, answers kept in a small cache. For the agent daemon, whose
 * loop must go on sending heartbeats while a name server takes its time
 * (or never answers): a lookup either has its answer at hand or starts a
 * query and says "ask again"; the coordinator repeats its workload until
 * the agent answers, so the second ask finds the answer. The resolver
 * belongs to its loop's thread and is freed before the loop.
 *
 * A name may also be mx:DOMAIN: the domain's MX records, its most
 * preferred hosts (RFC 5321 5.1; all of those of equal preference, up to
 * 8), one address of each, in the order of the records; a domain without
 * MX records is its own host (the implicit MX), and a null MX (RFC 7505)
 * is no address. */
#ifndef SMTPSTORM_RESOLVER_H
#define SMTPSTORM_RESOLVER_H

#include <stddef.h>

#include "endpoint.h"
#include "ev.h"

#define RESOLVER_MX_PREFIX "mx:"        /* a target naming a mail domain */
#define RESOLVER_ADDRS_MAX 16           /* addresses kept per name */
#define RESOLVER_CACHE_MAX 128          /* names kept at once */
#define RESOLVER_TIMEOUT_MS 1000        /* first try's wait; c-ares doubles it each round */
#define RESOLVER_TRIES 3                /* rounds over the name servers */
#define RESOLVER_KEEP_MIN_MS 10000      /* an answer is kept at least this long (TTL 0 too) */
#define RESOLVER_KEEP_MAX_MS 300000     /* and at most this long, whatever its TTL */

struct resolver;

/* resolver_new - a resolver whose queries run on loop (the loop's thread
 * only), reading the system's resolv.conf and hosts file as getaddrinfo
 * does. The caller owns it (resolver_free). NULL with a message in err. */
struct resolver *resolver_new(struct ev_loop *loop, char *err, size_t errlen);

/* resolver_free - cancel every query (their answers are dropped) and
 * release r and its watches. NULL is harmless. */
void resolver_free(struct resolver *r);

/* resolver_lookup - the addresses of ep (host:port, host possibly
 * mx:DOMAIN) within family, at most max of them into out, each with ep's
 * port. A numeric address or a unix: endpoint is answered at once. Returns
 * the count from the cache; -EINPROGRESS when a query is on its way (it was
 * started now or before: ask again later); or, once for a finished query
 * that failed, -ENOENT (no such name, or no address of the family) or
 * -EAGAIN (no name server answered), with a message for the user in err;
 * the next lookup of that name asks the name servers again. */
int resolver_lookup(struct resolver *r, const struct endpoint *ep, enum endpoint_family family,
                    struct endpoint_addr *out, int max, char *err, size_t errlen);

/* resolver_mx_host - after resolver_lookup of an mx:DOMAIN endpoint
 * answered: the MX host name address i of the answer (in its order)
 * belongs to, for SNI; "" when not known. Owned by r, valid until the
 * next lookup. */
const char *resolver_mx_host(const struct resolver *r, const struct endpoint *ep, enum endpoint_family family,
                             int i);

/* resolver_pending - how many queries are on their way. */
int resolver_pending(const struct resolver *r);

#endif
