/* resolver.c - name lookups on the event loop with c-ares (see resolver.h):
 * the channel's sockets are ev watches, its retransmissions an ev timer;
 * answers land in a fixed table of entries, one per (name, family). */
#include "resolver.h"

#include <ares.h>
#include <arpa/nameser.h>
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "log.h"

#define NS_PER_MS 1000000ull
#define RESOLVER_MX_HOSTS_MAX 8         /* most preferred MX hosts looked up */

enum resolver_state { RS_FREE, RS_PENDING, RS_DONE, RS_FAILED };

struct resolver_entry {
    struct resolver *owner;
    enum resolver_state state;
    char name[ENDPOINT_HOST_MAX];       /* a host name, or mx:DOMAIN */
    int one_each;                       /* mx: the first address of each host only */
    int family;                         /* AF_UNSPEC, AF_INET or AF_INET6 */
    int rc;                             /* RS_FAILED: -ENOENT or -EAGAIN */
    char err[ENDPOINT_HOST_MAX + 80];
    struct sockaddr_storage addrs[RESOLVER_ADDRS_MAX];
    socklen_t lens[RESOLVER_ADDRS_MAX];
    int n;
    char mx_hosts[RESOLVER_MX_HOSTS_MAX][ENDPOINT_HOST_MAX];   /* mx: the hosts looked up */
    int n_mx_hosts;
    signed char addr_host[RESOLVER_ADDRS_MAX];  /* mx: the index of each address's host; -1 none */
    int queries;                        /* c-ares queries still on their way */
    int ok;                             /* of those finished, how many answered */
    int ttl_s;                          /* the smallest TTL among the answers */
    uint64_t expires_ns;                /* RS_DONE: monotonic end of its keep */
    uint64_t used_ns;                   /* last looked up, for eviction */
};

struct resolver {
    struct ev_loop *loop;
    ares_channel channel;
    struct ev_timer timer;              /* the channel's next timeout */
    int closing;                        /* resolver_free: answers are dropped */
    struct resolver_entry entries[RESOLVER_CACHE_MAX];
};

/* ---- the channel on the loop ---- */

static void resolver_arm(struct resolver *r)
{
    struct timeval tv, *next;

    next = ares_timeout(r->channel, NULL, &tv);
    if (next == NULL) {
        ev_timer_stop(r->loop, &r->timer);
        return;
    }
    ev_timer_start(r->loop, &r->timer, (uint64_t)next->tv_sec * 1000000000ull + (uint64_t)next->tv_usec * 1000ull);
}

static void resolver_on_timer(struct ev_loop *loop, void *arg)
{
    struct resolver *r = arg;

    (void)loop;
    ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    resolver_arm(r);
}

static void resolver_on_io(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    struct resolver *r = arg;

    (void)loop;
    ares_process_fd(r->channel, (events & EV_READ) ? fd : ARES_SOCKET_BAD,
                    (events & EV_WRITE) ? fd : ARES_SOCKET_BAD);
    resolver_arm(r);
}

/* resolver_on_sock_state - c-ares opened, changed or closed a socket. */
static void resolver_on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct resolver *r = data;
    unsigned events = (readable ? EV_READ : 0u) | (writable ? EV_WRITE : 0u);
    int rc;

    if (events == 0) {
        ev_io_del(r->loop, fd);
        return;
    }
    /* a socket the loop cannot watch: its query times out (the timer runs) */
    if ((rc = ev_io_set(r->loop, fd, events, resolver_on_io, r)) != 0)
        log_warn("name lookup: cannot watch the name server's socket: %s", strerror(-rc));
}

/* ---- entries ---- */

static struct resolver_entry *resolver_find(struct resolver *r, const char *name, int family)
{
    size_t i;

    for (i = 0; i < RESOLVER_CACHE_MAX; i++) {
        struct resolver_entry *e = &r->entries[i];

        if (e->state != RS_FREE && e->family == family && strcasecmp(e->name, name) == 0)
            return e;
    }
    return NULL;
}

/* resolver_slot - a free entry, or the least recently used one that no
 * query is filling; NULL when every entry waits for an answer. */
static struct resolver_entry *resolver_slot(struct resolver *r)
{
    struct resolver_entry *best = NULL;
    size_t i;

    for (i = 0; i < RESOLVER_CACHE_MAX; i++) {
        struct resolver_entry *e = &r->entries[i];

        if (e->state == RS_FREE)
            return e;
        if (e->state != RS_PENDING && (best == NULL || e->used_ns < best->used_ns))
            best = e;
    }
    return best;
}

/* resolver_fail - e's lookup is over without an address. */
static void resolver_fail(struct resolver_entry *e, int status, const char *what)
{
    e->state = RS_FAILED;
    e->rc = (status == ARES_ENOTFOUND || status == ARES_ENODATA || status == ARES_EBADNAME
             || status == ARES_SUCCESS) ? -ENOENT : -EAGAIN;
    snprintf(e->err, sizeof(e->err), "%s: %s", what,
             status == ARES_SUCCESS ? "no address of the requested family"
             : (status == ARES_ETIMEOUT || status == ARES_ECONNREFUSED)
               ? "no name server answered" : ares_strerror(status));
}

/* resolver_settle - one query of e is over; when it was the last, e is
 * done (kept for its TTL, within bounds) or failed. */
static void resolver_settle(struct resolver *r, struct resolver_entry *e, int status)
{
    uint64_t keep_ms;

    assert(e->queries > 0);
    if (--e->queries > 0)
        return;                         /* an MX host's addresses still to come */
    if (e->n == 0) {
        resolver_fail(e, e->ok ? ARES_SUCCESS : status, e->name);
        return;
    }
    keep_ms = (uint64_t)(e->ttl_s > 0 ? e->ttl_s : 0) * 1000u;
    keep_ms = keep_ms < RESOLVER_KEEP_MIN_MS ? RESOLVER_KEEP_MIN_MS
              : keep_ms > RESOLVER_KEEP_MAX_MS ? RESOLVER_KEEP_MAX_MS : keep_ms;
    e->expires_ns = ev_now(r->loop) + keep_ms * NS_PER_MS;
    e->state = RS_DONE;
}

/* resolver_host_index - which of e's MX hosts res answers for; -1 none. */
static int resolver_host_index(const struct resolver_entry *e, const struct ares_addrinfo *res)
{
    int i;

    for (i = 0; res->name != NULL && i < e->n_mx_hosts; i++)
        if (strcasecmp(e->mx_hosts[i], res->name) == 0)
            return i;
    return -1;
}

/* resolver_take - keep the addresses of res that e wants (its family). */
static void resolver_take(struct resolver_entry *e, const struct ares_addrinfo *res)
{
    const struct ares_addrinfo_node *node;
    int host = resolver_host_index(e, res);

    for (node = res->nodes; node && e->n < RESOLVER_ADDRS_MAX; node = node->ai_next) {
        if (node->ai_addrlen <= 0 || (size_t)node->ai_addrlen > sizeof(e->addrs[0]))
            continue;
        if (e->family != AF_UNSPEC && node->ai_family != e->family)
            continue;
        memcpy(&e->addrs[e->n], node->ai_addr, (size_t)node->ai_addrlen);
        e->lens[e->n] = (socklen_t)node->ai_addrlen;
        e->addr_host[e->n] = (signed char)host;
        if (e->ttl_s == 0 || (node->ai_ttl > 0 && node->ai_ttl < e->ttl_s))
            e->ttl_s = node->ai_ttl;
        e->n++;
        if (e->one_each)
            break;                      /* an MX host: one address of it */
    }
}

/* resolver_on_addrinfo - the addresses of e's name are in, or its query
 * failed. */
static void resolver_on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    struct resolver_entry *e = arg;

    (void)timeouts;
    if (status != ARES_EDESTRUCTION && !e->owner->closing) {
        if (status == ARES_SUCCESS && res != NULL) {
            e->ok++;
            resolver_take(e, res);
        }
        resolver_settle(e->owner, e, status);
    }
    if (res != NULL)
        ares_freeaddrinfo(res);
}

/* resolver_query_addrs - ask for host's addresses on e's behalf. */
static void resolver_query_addrs(struct resolver_entry *e, const char *host)
{
    struct ares_addrinfo_hints hints;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = e->family;
    hints.ai_socktype = SOCK_STREAM;
    e->queries++;
    /* may call back at once (a hosts-file answer): queries counted first */
    ares_getaddrinfo(e->owner->channel, host, NULL, &hints, resolver_on_addrinfo, e);
}

/* resolver_on_mx - a domain's MX records are in: its most preferred hosts
 * (RFC 5321 5.1; equal preferences all kept, for sessions to spread over)
 * are looked up for an address each; with no MX record, the domain itself
 * (the implicit MX). The MX query stays counted until the hosts' queries
 * have started, so that one answered at once cannot end the entry early. */
static void resolver_on_mx(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct resolver_entry *e = arg;
    struct ares_mx_reply *mx = NULL, *m;
    const char *domain = e->name + strlen(RESOLVER_MX_PREFIX);
    int best = -1, hosts = 0;

    (void)timeouts;
    if (status == ARES_EDESTRUCTION || e->owner->closing)
        return;
    if (status == ARES_SUCCESS)
        status = ares_parse_mx_reply(abuf, alen, &mx);
    if (status == ARES_ENODATA) {
        e->one_each = 0;
        resolver_query_addrs(e, domain);
    } else if (status == ARES_SUCCESS) {
        for (m = mx; m; m = m->next)
            if (best < 0 || m->priority < best)
                best = m->priority;
        for (m = mx; m && hosts < RESOLVER_MX_HOSTS_MAX; m = m->next)
            if (m->priority == best && m->host[0] != '\0' && strcmp(m->host, ".") != 0) {
                snprintf(e->mx_hosts[e->n_mx_hosts++], sizeof(e->mx_hosts[0]), "%s", m->host);
                resolver_query_addrs(e, m->host);
                hosts++;
            }
        if (hosts == 0)
            status = ARES_ENODATA;      /* a null MX (RFC 7505): the domain takes no mail */
    }
    if (mx != NULL)
        ares_free_data(mx);
    resolver_settle(e->owner, e, status == ARES_SUCCESS ? ARES_ENODATA : status);
}

/* resolver_start - e (named, of a family) asks the name servers. */
static void resolver_start(struct resolver *r, struct resolver_entry *e)
{
    e->state = RS_PENDING;
    e->n = e->ok = e->ttl_s = e->queries = e->n_mx_hosts = 0;
    e->err[0] = '\0';
    e->one_each = strncasecmp(e->name, RESOLVER_MX_PREFIX, strlen(RESOLVER_MX_PREFIX)) == 0;
    if (e->one_each) {
        e->queries++;                   /* the MX query */
        ares_query(r->channel, e->name + strlen(RESOLVER_MX_PREFIX), ns_c_in, ns_t_mx, resolver_on_mx, e);
    } else {
        resolver_query_addrs(e, e->name);
    }
    resolver_arm(r);
}

/* ---- the interface ---- */

/* resolver_channel - a new c-ares channel for r into *ch (the system's
 * resolv.conf read now). 0, or an ARES_ error. */
static int resolver_channel(struct resolver *r, ares_channel *ch)
{
    struct ares_options opts;

    memset(&opts, 0, sizeof(opts));
    opts.sock_state_cb = resolver_on_sock_state;
    opts.sock_state_cb_data = r;
    opts.timeout = RESOLVER_TIMEOUT_MS;
    opts.tries = RESOLVER_TRIES;
    return ares_init_options(ch, &opts, ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
}

/* resolver_renew - after a lookup no name server answered, and with no
 * query on its way, start over with a new channel: new sockets (new source
 * ports: a stale UDP flow in a container network's connection tracking, or
 * a name server that restarted, is left behind) and resolv.conf read again.
 * Seen with podman's aardvark-dns 1.4: a channel that had timed out kept
 * timing out while new ones were answered at once. */
static void resolver_renew(struct resolver *r)
{
    ares_channel fresh;

    if (resolver_pending(r) > 0 || resolver_channel(r, &fresh) != ARES_SUCCESS)
        return;                         /* keep the old one: it may still answer */
    ares_destroy(r->channel);
    r->channel = fresh;
    ev_timer_stop(r->loop, &r->timer);
}

struct resolver *resolver_new(struct ev_loop *loop, char *err, size_t errlen)
{
    struct resolver *r;
    size_t i;
    int rc;

    if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
        snprintf(err, errlen, "name lookups: %s", ares_strerror(rc));
        return NULL;
    }
    if ((r = calloc(1, sizeof(*r))) == NULL) {
        snprintf(err, errlen, "name lookups: out of memory");
        ares_library_cleanup();
        return NULL;
    }
    r->loop = loop;
    ev_timer_init(&r->timer, resolver_on_timer, r);
    for (i = 0; i < RESOLVER_CACHE_MAX; i++)
        r->entries[i].owner = r;
    if ((rc = resolver_channel(r, &r->channel)) != ARES_SUCCESS) {
        snprintf(err, errlen, "name lookups: %s", ares_strerror(rc));
        free(r);
        ares_library_cleanup();
        return NULL;
    }
    return r;
}

void resolver_free(struct resolver *r)
{
    if (r == NULL)
        return;
    r->closing = 1;
    ares_destroy(r->channel);          /* callbacks see ARES_EDESTRUCTION */
    ev_timer_stop(r->loop, &r->timer);
    free(r);
    ares_library_cleanup();
}

int resolver_pending(const struct resolver *r)
{
    size_t i;
    int n = 0;

    for (i = 0; i < RESOLVER_CACHE_MAX; i++)
        n += r->entries[i].state == RS_PENDING;
    return n;
}

/* resolver_port - ep's port as a number: digits, or a service name from
 * the local services file (no name server is asked). */
static int resolver_port(const struct endpoint *ep, uint16_t *port, char *err, size_t errlen)
{
    struct servent *se;
    char *end;
    long v;

    v = strtol(ep->port, &end, 10);
    if (ep->port[0] != '\0' && *end == '\0' && v >= 0 && v <= 65535) {
        *port = (uint16_t)v;
        return 0;
    }
    if ((se = getservbyname(ep->port, "tcp")) != NULL) {
        *port = ntohs((uint16_t)se->s_port);
        return 0;
    }
    snprintf(err, errlen, "%s: unknown port %s", ep->host, ep->port);
    return -EINVAL;
}

/* resolver_copy - e's addresses into out with port. */
static int resolver_copy(const struct resolver_entry *e, uint16_t port, struct endpoint_addr *out, int max)
{
    int i;

    for (i = 0; i < e->n && i < max; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        memcpy(&out[i].sa, &e->addrs[i], e->lens[i]);
        out[i].len = e->lens[i];
        if (out[i].sa.ss_family == AF_INET)
            ((struct sockaddr_in *)&out[i].sa)->sin_port = htons(port);
        else if (out[i].sa.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&out[i].sa)->sin6_port = htons(port);
    }
    return i;
}

const char *resolver_mx_host(const struct resolver *r, const struct endpoint *ep, enum endpoint_family family,
                             int i)
{
    const struct resolver_entry *e = resolver_find((struct resolver *)r, ep->host, endpoint_af(family));

    if (e == NULL || e->state != RS_DONE || i < 0 || i >= e->n || e->addr_host[i] < 0)
        return "";
    return e->mx_hosts[(int)e->addr_host[i]];
}

int resolver_lookup(struct resolver *r, const struct endpoint *ep, enum endpoint_family family,
                    struct endpoint_addr *out, int max, char *err, size_t errlen)
{
    const char *name = ep->host[0] ? ep->host : "localhost";
    int fam = endpoint_af(family), rc;
    struct resolver_entry *e;
    uint16_t port;

    assert(max > 0);
    if ((rc = endpoint_resolve_numeric(ep, family, out, max, err, errlen)) != 0)
        return rc;
    if ((rc = resolver_port(ep, &port, err, errlen)) != 0)
        return rc;
    e = resolver_find(r, name, fam);
    if (e != NULL && e->state == RS_DONE && ev_now(r->loop) >= e->expires_ns)
        resolver_start(r, e);               /* kept past its time: ask again */
    if (e == NULL) {
        if ((e = resolver_slot(r)) == NULL) {
            snprintf(err, errlen, "%s: too many names being looked up at once", name);
            return -EAGAIN;
        }
        snprintf(e->name, sizeof(e->name), "%s", name);
        e->family = fam;
        resolver_start(r, e);
    }
    e->used_ns = ev_now(r->loop);
    switch (e->state) {
    case RS_DONE:
        return resolver_copy(e, port, out, max);
    case RS_FAILED:
        snprintf(err, errlen, "%s", e->err);
        rc = e->rc;
        e->state = RS_FREE;                 /* told once; the next ask asks again */
        if (rc == -EAGAIN)
            resolver_renew(r);
        return rc;
    default:
        snprintf(err, errlen, "%s: looking it up", name);
        return -EINPROGRESS;
    }
}
