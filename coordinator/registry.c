/* registry.c - agents and sinks known to the coordinator (see registry.h). */
#include "registry.h"
#include "clock.h"
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REGISTRY_OFFSET_KEEP_NS (10 * NS_PER_SEC)  /* refresh the kept clock sample this often */

void registry_init(struct registry *r, uint64_t dead_ms)
{
    memset(r, 0, sizeof(*r));
    r->dead_ns = dead_ms * NS_PER_MS;
}

void registry_free(struct registry *r)
{
    size_t i;

    for (i = 0; i < r->n; i++) {
        wire_free(r->peers[i]->latest);
        free(r->peers[i]);
    }
    free(r->peers);
    free(r->routes);
    memset(r, 0, sizeof(*r));
}

/* route_hash - FNV-1a of the routing id, seeded with the socket. */
static size_t route_hash(const struct zlink *z, const uint8_t *route, size_t len)
{
    uint64_t h = 14695981039346656037ULL ^ (uint64_t)(uintptr_t)z;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= route[i];
        h *= 1099511628211ULL;
    }
    return (size_t)(h ^ (h >> 32));
}

static int route_is(const struct peer *p, const struct zlink *z, const uint8_t *route, size_t len)
{
    return p->z == z && p->route_len == len && memcmp(p->route, route, len) == 0;
}

/* route_slot - the slot of p (indexed) or where it goes. */
static size_t route_slot(const struct registry *r, const struct zlink *z, const uint8_t *route, size_t len)
{
    size_t mask = r->routes_cap - 1, i = route_hash(z, route, len) & mask;

    while (r->routes[i] != NULL && !route_is(r->routes[i], z, route, len))
        i = (i + 1) & mask;
    return i;
}

/* route_grow - room for want peers at half load; the index rebuilt. */
static int route_grow(struct registry *r, size_t want)
{
    struct peer **old = r->routes;
    size_t cap = r->routes_cap ? r->routes_cap : 64, i;

    if (2 * want <= r->routes_cap)
        return 0;
    while (cap < 2 * want)
        cap *= 2;
    if ((r->routes = calloc(cap, sizeof(*r->routes))) == NULL) {
        r->routes = old;
        return -ENOMEM;
    }
    r->routes_cap = cap;
    for (i = 0; i < r->n; i++)
        if (r->peers[i]->route_len > 0)
            r->routes[route_slot(r, r->peers[i]->z, r->peers[i]->route, r->peers[i]->route_len)] = r->peers[i];
    free(old);
    return 0;
}

/* route_unindex - p leaves the index (it has a route; linear probing's
 * deletion: later entries of the run move back into the hole). */
static void route_unindex(struct registry *r, struct peer *p)
{
    size_t mask = r->routes_cap - 1, i = route_slot(r, p->z, p->route, p->route_len), j = i, k;

    assert(r->routes[i] == p);
    for (;;) {
        j = (j + 1) & mask;
        if (r->routes[j] == NULL)
            break;
        k = route_hash(r->routes[j]->z, r->routes[j]->route, r->routes[j]->route_len) & mask;
        if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
            r->routes[i] = r->routes[j];
            i = j;
        }
    }
    r->routes[i] = NULL;
}

struct peer *registry_by_route(const struct registry *r, const struct zlink *z,
                               const uint8_t *route, size_t len)
{
    if (r->routes_cap == 0 || len == 0)
        return NULL;
    return r->routes[route_slot(r, z, route, len)];
}

struct peer *registry_by_id(const struct registry *r, enum peerlink_role role, const char *id)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        if (r->peers[i]->role == role && strcmp(r->peers[i]->id, id) == 0)
            return r->peers[i];
    return NULL;
}

static struct peer *registry_add(struct registry *r)
{
    struct peer **grown, *p;
    size_t cap;

    if (r->n >= REGISTRY_PEERS_MAX || route_grow(r, r->n + 1) != 0)
        return NULL;
    if (r->n == r->cap) {
        cap = r->cap ? 2 * r->cap : 16;
        if ((grown = realloc(r->peers, cap * sizeof(*grown))) == NULL)
            return NULL;
        r->peers = grown;
        r->cap = cap;
    }
    if ((p = calloc(1, sizeof(*p))) == NULL)
        return NULL;
    p->part = -1;
    r->peers[r->n++] = p;
    return p;
}

struct peer *registry_hello(struct registry *r, struct zlink *z, const uint8_t *route, size_t len,
                            const Smtpstorm__Hello *hello, uint64_t now_ns)
{
    enum peerlink_role role = hello->role == SMTPSTORM__ROLE__ROLE_SINK ? PEERLINK_SINK : PEERLINK_AGENT;
    struct peer *p = registry_by_id(r, role, hello->id), *other;

    if (len == 0 || len >= ZLINK_PEER_MAX)
        return NULL;
    /* A routing id now names this peer only. */
    if ((other = registry_by_route(r, z, route, len)) != NULL && other != p) {
        route_unindex(r, other);
        other->route_len = 0;
    }
    if (p == NULL && (p = registry_add(r)) == NULL)
        return NULL;
    snprintf(p->id, sizeof(p->id), "%s", hello->id);
    snprintf(p->host, sizeof(p->host), "%s", wire_text(hello->host));
    snprintf(p->version, sizeof(p->version), "%s", wire_text(hello->version));
    p->cores = hello->cores ? hello->cores : 1;
    p->pid = hello->pid;
    p->dead_ms = hello->dead_ms;
    p->role = role;
    if (p->route_len != len || memcmp(p->route, route, len) != 0) {
        memset(&p->beat, 0, sizeof(p->beat));   /* a new connection, maybe a new process */
        p->have_offset = 0;
    }
    if (p->route_len > 0 && !route_is(p, z, route, len))
        route_unindex(r, p);
    if (p->route_len == 0 || !route_is(p, z, route, len)) {
        p->z = z;
        memcpy(p->route, route, len);
        p->route_len = len;
        r->routes[route_slot(r, z, route, len)] = p;
    }
    registry_heard(p, now_ns);
    return p;
}

void registry_heard(struct peer *p, uint64_t now_ns)
{
    p->last_rx_ns = now_ns;
    p->alive = 1;
}

int registry_beat(struct peer *p, const Smtpstorm__Heartbeat *hb, uint64_t now_wall_ns,
                  uint64_t now_ns)
{
    int64_t offset;
    uint64_t rtt;

    p->busy = hb->campaign[0] != '\0';
    if (wire_beat_receive(&p->beat, hb, now_wall_ns, now_ns, &offset, &rtt) != 0)
        return -EAGAIN;
    if (!p->have_offset || rtt <= p->rtt_ns + p->rtt_ns / 4
        || (now_ns > p->offset_at_ns && now_ns - p->offset_at_ns > REGISTRY_OFFSET_KEEP_NS)) {
        p->offset_ns = offset;
        p->rtt_ns = rtt;
        p->offset_at_ns = now_ns;
        p->have_offset = 1;
    }
    return 0;
}

int registry_beat_due(const struct peer *p, uint64_t now, uint64_t tick_ns)
{
    uint64_t every_ns = (uint64_t)wire_beat_interval_ms(p->dead_ms) * NS_PER_MS;

    if (every_ns <= tick_ns || p->beat_tx_ns == 0 || now < p->beat_tx_ns)
        return 1;
    return now - p->beat_tx_ns + tick_ns / 2 >= every_ns;
}

uint32_t registry_report_interval_ms(size_t agents, uint64_t dead_ms)
{
    uint64_t want_s = (agents + REGISTRY_REPORTS_PER_S - 1) / REGISTRY_REPORTS_PER_S;
    uint64_t most_s = dead_ms / 4 / 1000;

    if (want_s > most_s)
        want_s = most_s;
    if (want_s > CONFIG_REPORT_INTERVAL_MAX_MS / 1000)
        want_s = CONFIG_REPORT_INTERVAL_MAX_MS / 1000;
    return want_s < 1 ? 1000 : (uint32_t)(want_s * 1000);
}

void registry_sweep(struct registry *r, uint64_t now_ns,
                    void (*on_dead)(struct peer *p, void *arg), void *arg)
{
    size_t i;

    for (i = 0; i < r->n; i++) {
        struct peer *p = r->peers[i];

        if (p->alive && now_ns > p->last_rx_ns && now_ns - p->last_rx_ns > r->dead_ns) {
            p->alive = 0;
            if (on_dead)
                on_dead(p, arg);
        }
    }
}

size_t registry_alive(const struct registry *r, enum peerlink_role role)
{
    size_t i, n = 0;

    for (i = 0; i < r->n; i++)
        n += r->peers[i]->role == role && r->peers[i]->alive;
    return n;
}

static int peer_cmp(const void *a, const void *b)
{
    return strcmp((*(struct peer *const *)a)->id, (*(struct peer *const *)b)->id);
}

size_t registry_list(const struct registry *r, enum peerlink_role role, int alive_only,
                     struct peer **out, size_t max)
{
    size_t i, n = 0;

    for (i = 0; i < r->n && n < max; i++)
        if (r->peers[i]->role == role && (!alive_only || r->peers[i]->alive))
            out[n++] = r->peers[i];
    qsort(out, n, sizeof(*out), peer_cmp);
    return n;
}

void registry_keep_latest(struct peer *p, Smtpstorm__Envelope *env, uint64_t seq)
{
    wire_free(p->latest);
    p->latest = env;
    p->latest_seq = seq;
}

void registry_reset_campaign(struct registry *r)
{
    size_t i;

    for (i = 0; i < r->n; i++) {
        struct peer *p = r->peers[i];

        p->part = -1;
        p->state = PEER_IDLE;
        p->lost = 0;
        p->saw_progress = 0;
        p->heartbeats = p->clock_samples = 0;
        p->extensions = 0;
        p->status[0] = '\0';
        if (p->role == PEERLINK_AGENT)
            registry_keep_latest(p, NULL, 0);
    }
}
