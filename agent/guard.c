/* guard.c - the daemon's target allow-list and ceilings (see guard.h). */
#include "guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The list an agent uses when it was given none: this host only. */
static const char *const guard_default[] = { "127.0.0.0/8", "::1/128", "unix:" };
#define GUARD_DEFAULT_N (sizeof(guard_default) / sizeof(guard_default[0]))

void guard_init(struct guard *g)
{
    memset(g, 0, sizeof(*g));
}

/* guard_mask - zero the bits of addr beyond prefix. */
static void guard_mask(unsigned char *addr, int bytes, int prefix)
{
    int i;

    for (i = 0; i < bytes; i++) {
        int keep = prefix - 8 * i;

        if (keep >= 8)
            continue;
        addr[i] = keep <= 0 ? 0 : (unsigned char)(addr[i] & (0xff << (8 - keep)));
    }
}

/* guard_valid_host - letters, digits, '-', '_' and '.' in non-empty labels. */
static int guard_valid_host(const char *s)
{
    size_t label = 0, len = strlen(s);

    if (len == 0 || len >= ENDPOINT_HOST_MAX)
        return 0;
    for (; *s; s++) {
        if (*s == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
                   || ((*s == '-' || *s == '_') && label > 0)) {
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return 1;
}

/* guard_parse_net - "ADDR[/PREFIX]" or "[V6ADDR][/PREFIX]" into a; 0 or -1. */
static int guard_parse_net(const char *spec, struct guard_allow *a)
{
    char buf[ENDPOINT_HOST_MAX], *slash, *end, *host = buf;
    long prefix = -1;
    size_t len;

    if (strlen(spec) >= sizeof(buf))
        return -1;
    snprintf(buf, sizeof(buf), "%s", spec);
    if ((slash = strchr(buf, '/')) != NULL) {
        *slash = '\0';
        errno = 0;
        prefix = strtol(slash + 1, &end, 10);
        if (errno || end == slash + 1 || *end != '\0' || prefix < 0)
            return -1;
    }
    len = strlen(host);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        host[len - 1] = '\0';
        host++;
    }
    if (inet_pton(AF_INET, host, a->addr) == 1) {
        a->family = AF_INET;
        a->prefix = prefix < 0 ? 32 : (int)prefix;
        if (a->prefix > 32)
            return -1;
        guard_mask(a->addr, 4, a->prefix);
    } else if (inet_pton(AF_INET6, host, a->addr) == 1) {
        a->family = AF_INET6;
        a->prefix = prefix < 0 ? 128 : (int)prefix;
        if (a->prefix > 128)
            return -1;
        guard_mask(a->addr, 16, a->prefix);
    } else {
        return -1;
    }
    a->kind = GUARD_NET;
    return 0;
}

/* guard_parse - one entry into a; 0, or -EINVAL with err. */
static int guard_parse(const char *spec, struct guard_allow *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof(*a));
    if (strlen(spec) >= sizeof(a->text)) {
        snprintf(err, errlen, "--allow-target %.40s...: too long", spec);
        return -EINVAL;
    }
    if (strncmp(spec, "unix:", 5) == 0) {
        a->kind = GUARD_UNIX;
        snprintf(a->text, sizeof(a->text), "%s", spec + 5);
        return 0;
    }
    if (guard_parse_net(spec, a) == 0) {
        snprintf(a->text, sizeof(a->text), "%s", spec);
        return 0;
    }
    if (strchr(spec, '/') == NULL && strchr(spec, ':') == NULL && guard_valid_host(spec)) {
        a->kind = GUARD_HOST;
        snprintf(a->text, sizeof(a->text), "%s", spec);
        return 0;
    }
    snprintf(err, errlen, "bad --allow-target %s: want ADDR/PREFIX (10.0.0.0/8, 2001:db8::/32), "
             "ADDR, HOST or unix:[PATH-PREFIX]", spec);
    return -EINVAL;
}

int guard_add_allow(struct guard *g, const char *spec, char *err, size_t errlen)
{
    if (g->n_allow >= GUARD_ALLOW_MAX) {
        snprintf(err, errlen, "too many --allow-target options (at most %d)", GUARD_ALLOW_MAX);
        return -E2BIG;
    }
    if (guard_parse(spec, &g->allow[g->n_allow], err, errlen) != 0)
        return -EINVAL;
    g->n_allow++;
    return 0;
}

/* guard_entry - entry i of the list in force (the default when none was given). */
static const struct guard_allow *guard_entry(const struct guard *g, size_t i, struct guard_allow *tmp)
{
    char err[64];

    if (g->n_allow > 0)
        return &g->allow[i];
    (void)guard_parse(guard_default[i], tmp, err, sizeof(err));
    return tmp;
}

static size_t guard_count(const struct guard *g)
{
    return g->n_allow > 0 ? g->n_allow : GUARD_DEFAULT_N;
}

/* guard_net_match - a's network contains the family/addr address. */
static int guard_net_match(const struct guard_allow *a, int family, const unsigned char *addr)
{
    unsigned char masked[16];
    int bytes = family == AF_INET ? 4 : 16;

    if (a->kind != GUARD_NET || a->family != family)
        return 0;
    memcpy(masked, addr, (size_t)bytes);
    guard_mask(masked, bytes, a->prefix);
    return memcmp(masked, a->addr, (size_t)bytes) == 0;
}

/* guard_addr_of - family and raw address of sa (IPv4-mapped IPv6 as IPv4);
 * 0, or -1 for other families. */
static int guard_addr_of(const struct sockaddr *sa, int *family, unsigned char *addr)
{
    if (sa->sa_family == AF_INET) {
        *family = AF_INET;
        memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;

        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            *family = AF_INET;
            memcpy(addr, a6->s6_addr + 12, 4);
        } else {
            *family = AF_INET6;
            memcpy(addr, a6->s6_addr, 16);
        }
        return 0;
    }
    return -1;
}

int guard_allows_addr(const struct guard *g, const struct sockaddr *sa)
{
    struct guard_allow tmp;
    unsigned char addr[16];
    size_t i;
    int family;

    if (guard_addr_of(sa, &family, addr) != 0)
        return 0;
    for (i = 0; i < guard_count(g); i++)
        if (guard_net_match(guard_entry(g, i, &tmp), family, addr))
            return 1;
    return 0;
}

/* guard_same_addr - a and b are the same IP address (ports aside). */
static int guard_same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
    unsigned char x[16], y[16];
    int fx, fy;

    if (guard_addr_of(a, &fx, x) != 0 || guard_addr_of(b, &fy, y) != 0 || fx != fy)
        return 0;
    return memcmp(x, y, fx == AF_INET ? 4 : 16) == 0;
}

/* guard_resolve_blocking - the lookup guard_check_target uses without one
 * of the caller's: getaddrinfo. */
static int guard_resolve_blocking(void *arg, const struct endpoint *ep, enum endpoint_family family,
                                  struct endpoint_addr *out, int max, char *err, size_t errlen)
{
    (void)arg;
    return endpoint_resolve(ep, family, out, max, err, errlen);
}

/* guard_host_allows - sa is one of the addresses a HOST entry of the list
 * resolves to (1), or the target was named by that very host name (1);
 * 0 when none, -EINPROGRESS while an entry's lookup is on its way. */
static int guard_host_allows(const struct guard *g, const char *target_host, const struct sockaddr *sa,
                             guard_lookup_fn *lookup, void *arg)
{
    struct endpoint_addr addrs[GUARD_RESOLVE_MAX];
    struct endpoint ep;
    char err[256];
    size_t i;
    int n, k, pending = 0;

    for (i = 0; i < g->n_allow; i++) {
        if (g->allow[i].kind != GUARD_HOST)
            continue;
        if (strcasecmp(g->allow[i].text, target_host) == 0)
            return 1;
        memset(&ep, 0, sizeof(ep));
        snprintf(ep.host, sizeof(ep.host), "%s", g->allow[i].text);
        snprintf(ep.port, sizeof(ep.port), "25");
        n = lookup(arg, &ep, ENDPOINT_ANY, addrs, GUARD_RESOLVE_MAX, err, sizeof(err));
        pending |= n == -EINPROGRESS;
        for (k = 0; k < n; k++)
            if (guard_same_addr((const struct sockaddr *)&addrs[k].sa, sa))
                return 1;
    }
    return pending ? -EINPROGRESS : 0;
}

static int guard_unix_allows(const struct guard *g, const char *path)
{
    struct guard_allow tmp;
    const struct guard_allow *a;
    size_t i;

    for (i = 0; i < guard_count(g); i++) {
        a = guard_entry(g, i, &tmp);
        if (a->kind == GUARD_UNIX && strncmp(path, a->text, strlen(a->text)) == 0)
            return 1;
    }
    return 0;
}

int guard_check_addrs(const struct guard *g, const struct endpoint *target, const struct endpoint_addr *addrs,
                      int n, guard_lookup_fn *lookup, void *arg, struct endpoint *pinned, int npinned, char *why,
                      size_t whylen)
{
    char name[ENDPOINT_HOST_MAX + 40], list[512], numeric[NI_MAXHOST];
    int i, host_ok;

    endpoint_format(target, name, sizeof(name));
    for (i = 0; i < n; i++) {
        const struct sockaddr *sa = (const struct sockaddr *)&addrs[i].sa;

        if (guard_allows_addr(g, sa))
            continue;
        if ((host_ok = guard_host_allows(g, target->host, sa, lookup ? lookup : guard_resolve_blocking,
                                         arg)) == -EINPROGRESS) {
            snprintf(why, whylen, "looking up the --allow-target names for target %s", name);
            return host_ok;
        }
        if (host_ok)
            continue;
        if (getnameinfo(sa, addrs[i].len, numeric, sizeof(numeric), NULL, 0, NI_NUMERICHOST) != 0)
            snprintf(numeric, sizeof(numeric), "?");
        guard_describe(g, list, sizeof(list));
        snprintf(why, whylen, "target %s (%s) is not in its --allow-target list (%s)", name, numeric, list);
        return -EACCES;
    }
    for (i = 0; i < n && i < npinned; i++) {
        if (getnameinfo((const struct sockaddr *)&addrs[i].sa, addrs[i].len, numeric, sizeof(numeric),
                        NULL, 0, NI_NUMERICHOST) != 0) {
            snprintf(why, whylen, "cannot use the address of target %s", name);
            return -EINVAL;
        }
        pinned[i] = *target;
        if (strcmp(target->host, numeric) != 0)
            memcpy(pinned[i].name, target->host, sizeof(pinned[i].name));
        snprintf(pinned[i].host, sizeof(pinned[i].host), "%.*s", (int)sizeof(pinned[i].host) - 1, numeric);
    }
    return 0;
}

int guard_check_target(const struct guard *g, const struct endpoint *target, int family,
                       guard_lookup_fn *lookup, void *arg, struct endpoint *pinned, char *why, size_t whylen)
{
    struct endpoint_addr addrs[GUARD_RESOLVE_MAX];
    char name[ENDPOINT_HOST_MAX + 40], list[512], err[256];
    int n;

    endpoint_format(target, name, sizeof(name));
    if (target->is_unix) {
        if (!guard_unix_allows(g, target->path)) {
            guard_describe(g, list, sizeof(list));
            snprintf(why, whylen, "target %s is not in its --allow-target list (%s)", name, list);
            return -EACCES;
        }
        *pinned = *target;
        return 0;
    }
    if (lookup == NULL)
        lookup = guard_resolve_blocking;
    n = lookup(arg, target, (enum endpoint_family)family, addrs, GUARD_RESOLVE_MAX, err, sizeof(err));
    if (n == -EINPROGRESS) {
        snprintf(why, whylen, "looking up target %s", name);
        return n;
    }
    if (n <= 0) {
        snprintf(why, whylen, "cannot resolve target %s: %s", name, n < 0 ? err : "no address");
        return n < 0 ? n : -ENOENT;
    }
    return guard_check_addrs(g, target, addrs, n, lookup, arg, pinned, 1, why, whylen);
}

int guard_clamp(const struct guard *g, double *rate, uint32_t *sessions)
{
    int what = 0;

    if (g->max_rate > 0 && (*rate <= 0 || *rate > g->max_rate)) {
        *rate = g->max_rate;
        what |= GUARD_CLAMPED_RATE;
    }
    if (g->max_sessions > 0 && *sessions > g->max_sessions) {
        *sessions = g->max_sessions;
        what |= GUARD_CLAMPED_SESSIONS;
    }
    return what;
}

void guard_describe(const struct guard *g, char *out, size_t outlen)
{
    struct guard_allow tmp;
    const struct guard_allow *a;
    size_t i, used = 0;
    int n;

    out[0] = '\0';
    if (g->n_allow == 0 && outlen > 9)
        used = (size_t)snprintf(out, outlen, "default: ");
    for (i = 0; i < guard_count(g) && used < outlen; i++) {
        a = guard_entry(g, i, &tmp);
        n = snprintf(out + used, outlen - used, "%s%s%s", i ? ", " : "",
                     a->kind == GUARD_UNIX ? "unix:" : "", a->text);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}
