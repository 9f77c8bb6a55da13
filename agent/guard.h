/* guard.h - what a smtpstorm-agent in daemon mode lets a coordinator make
 * it do: load only targets on its allow-list (--allow-target ADDR/PREFIX,
 * ADDR, HOST or unix:[PATH-PREFIX]; default loopback and unix: sockets),
 * and never exceed its --max-rate and --max-sessions ceilings. Filled by
 * agent/options.c, consulted by agent/link.c for every workload. */
#ifndef SMTPSTORM_AGENT_GUARD_H
#define SMTPSTORM_AGENT_GUARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "endpoint.h"

#define GUARD_ALLOW_MAX   64        /* --allow-target given at most this often */
#define GUARD_RESOLVE_MAX 16        /* addresses of one target checked */

enum guard_kind { GUARD_NET, GUARD_HOST, GUARD_UNIX };

/* One allow-list entry. */
struct guard_allow {
    enum guard_kind kind;
    int family;                     /* GUARD_NET: AF_INET or AF_INET6 */
    unsigned char addr[16];         /* GUARD_NET: network address, host bits zero */
    int prefix;                     /* GUARD_NET: prefix length */
    char text[ENDPOINT_HOST_MAX];   /* as given (GUARD_HOST: the name; GUARD_UNIX: path prefix) */
};

struct guard {
    struct guard_allow allow[GUARD_ALLOW_MAX];
    size_t n_allow;                 /* 0: the default list (127.0.0.0/8, ::1/128, unix:) */
    double max_rate;                /* messages a second; 0: no ceiling */
    uint32_t max_sessions;          /* 0: no ceiling */
};

/* guard_init - no allow-list entries yet (the default applies) and no ceilings. */
void guard_init(struct guard *g);

/* guard_add_allow - append spec: "ADDR/PREFIX", "ADDR", "[V6ADDR]",
 * "HOST" or "unix:[PATH-PREFIX]". Returns 0, or -EINVAL (-E2BIG past
 * GUARD_ALLOW_MAX) with the reason in err. */
int guard_add_allow(struct guard *g, const char *spec, char *err, size_t errlen);

/* guard_allows_addr - nonzero when the IPv4/IPv6 address sa is inside a
 * GUARD_NET entry (or the default list). IPv4-mapped IPv6 addresses count
 * as IPv4. HOST entries are not consulted here (see guard_check_target). */
int guard_allows_addr(const struct guard *g, const struct sockaddr *sa);

/* A name lookup for guard_check_target: the addresses of ep within family,
 * at most max into out. Returns the count, or -errno with a message in err
 * (-EINPROGRESS: the answer is on its way, ask again later). */
typedef int guard_lookup_fn(void *arg, const struct endpoint *ep, enum endpoint_family family,
                            struct endpoint_addr *out, int max, char *err, size_t errlen);

/* guard_check_target - resolve target (within family) through lookup(arg)
 * (NULL: endpoint_resolve, which may wait for a name server) and check that
 * every address it resolves to is allowed, HOST entries being resolved the
 * same way; on success write into pinned the same target with its first
 * address in numeric form, so that what is connected to is what was
 * checked (DNS cannot change it later). Returns 0, -EACCES (outside the
 * list) or the lookup's -errno (-EINPROGRESS: not answered yet), with a
 * sentence for the coordinator's report in why. */
int guard_check_target(const struct guard *g, const struct endpoint *target, int family,
                       guard_lookup_fn *lookup, void *arg, struct endpoint *pinned, char *why, size_t whylen);

/* guard_check_addrs - check that each of the n addresses target resolved
 * to is allowed (HOST entries looked up through lookup(arg), NULL:
 * endpoint_resolve); on success write the first npinned of them into
 * pinned as target with that address in numeric form (the name kept for
 * SNI). Returns 0, -EACCES, -EINPROGRESS (a HOST entry's lookup is on its
 * way) or -EINVAL, with a sentence in why. */
int guard_check_addrs(const struct guard *g, const struct endpoint *target, const struct endpoint_addr *addrs,
                      int n, guard_lookup_fn *lookup, void *arg, struct endpoint *pinned, int npinned, char *why,
                      size_t whylen);

/* guard_clamp - apply the ceilings to one rate (messages a second, 0:
 * unlimited) and session count in place. Returns a bit mask of what was
 * lowered: GUARD_CLAMPED_RATE, GUARD_CLAMPED_SESSIONS (0: nothing). */
int guard_clamp(const struct guard *g, double *rate, uint32_t *sessions);

#define GUARD_CLAMPED_RATE     1
#define GUARD_CLAMPED_SESSIONS 2

/* guard_describe - the allow-list as text ("127.0.0.0/8, ::1/128, unix:")
 * into out, for messages. */
void guard_describe(const struct guard *g, char *out, size_t outlen);

#endif
