/* sources.c - pools of local source addresses (see sources.h). */
#include "sources.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "number.h"

/* A pool being built: IPv4 and IPv6 apart, joined at the end. */
struct pool_build {
    struct endpoint_addr v4[SOURCES_MAX], v6[SOURCES_MAX];
    size_t n4, n6;
};

static int add_v4(struct pool_build *b, uint32_t host_order)
{
    struct sockaddr_in *sin;

    if (b->n4 + b->n6 == SOURCES_MAX)
        return -1;
    memset(&b->v4[b->n4], 0, sizeof(b->v4[0]));
    sin = (struct sockaddr_in *)&b->v4[b->n4].sa;
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(host_order);
    b->v4[b->n4++].len = sizeof(*sin);
    return 0;
}

static int add_v6(struct pool_build *b, const struct in6_addr *a)
{
    struct sockaddr_in6 *sin6;

    if (b->n4 + b->n6 == SOURCES_MAX)
        return -1;
    memset(&b->v6[b->n6], 0, sizeof(b->v6[0]));
    sin6 = (struct sockaddr_in6 *)&b->v6[b->n6].sa;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr = *a;
    b->v6[b->n6++].len = sizeof(*sin6);
    return 0;
}

/* add_v4_block - every address of a.b.c.d/prefix (a pool block names
 * addresses the host has, not a subnet: no network or broadcast address
 * is left out). Returns 0, or -1 when full. */
static int add_v4_block(struct pool_build *b, uint32_t base, long prefix)
{
    uint64_t size = 1ULL << (32 - prefix);
    uint32_t net = prefix == 0 ? 0 : base & ~(uint32_t)(size - 1);

    if (size > SOURCES_MAX - b->n4 - b->n6)
        return -1;
    for (uint64_t i = 0; i < size; i++)
        (void)add_v4(b, net + (uint32_t)i);
    return 0;
}

/* add_v6_block - every address of a/prefix. Returns 0, or -1 when full. */
static int add_v6_block(struct pool_build *b, struct in6_addr a, long prefix)
{
    uint64_t size, i;

    if (128 - prefix >= 13 || (size = 1ULL << (128 - prefix)) > SOURCES_MAX - b->n4 - b->n6)
        return -1;
    for (int bit = (int)prefix; bit < 128; bit++)
        a.s6_addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
    for (i = 0; i < size; i++) {
        struct in6_addr x = a;
        unsigned carry = (unsigned)i;

        for (int byte = 15; byte >= 0 && carry; byte--) {
            unsigned sum = x.s6_addr[byte] + (carry & 0xff);

            x.s6_addr[byte] = (uint8_t)sum;
            carry = (carry >> 8) + (sum >> 8);
        }
        (void)add_v6(b, &x);
    }
    return 0;
}

/* add_item - one address or block of the spec. */
static int add_item(struct pool_build *b, const char *item, char *err, size_t errlen)
{
    char text[INET6_ADDRSTRLEN + 8];
    struct in_addr a4;
    struct in6_addr a6;
    char *slash;
    long prefix = -1;
    int v6;

    if (strlen(item) >= sizeof(text))
        return snprintf(err, errlen, "--source: '%s': not an address or CIDR block", item), -EINVAL;
    strcpy(text, item);
    if ((slash = strchr(text, '/')) != NULL)
        *slash++ = '\0';
    v6 = strchr(text, ':') != NULL;
    if ((v6 ? inet_pton(AF_INET6, text, &a6) : inet_pton(AF_INET, text, &a4)) != 1
        || (slash && number_parse_long(slash, 0, v6 ? 128 : 32, &prefix) != 0))
        return snprintf(err, errlen, "--source: '%s': not an address or CIDR block", item), -EINVAL;
    if (prefix < 0)
        prefix = v6 ? 128 : 32;
    if (v6 ? add_v6_block(b, a6, prefix) : add_v4_block(b, ntohl(a4.s_addr), prefix))
        return snprintf(err, errlen, "--source: '%s': more than %d addresses", item, SOURCES_MAX), -EINVAL;
    return 0;
}

int source_pool_parse(struct source_pool *p, const char *spec, char *err, size_t errlen)
{
    struct pool_build *b;
    char copy[SOURCES_SPEC_MAX], *item, *save = NULL;
    int rc = 0;

    memset(p, 0, sizeof(*p));
    if (strlen(spec) >= sizeof(copy) || spec[0] == '\0')
        return snprintf(err, errlen, "--source: want 1 to %d characters of addresses", SOURCES_SPEC_MAX - 1),
               -EINVAL;
    if ((b = calloc(1, sizeof(*b))) == NULL)
        return snprintf(err, errlen, "out of memory"), -ENOMEM;
    strcpy(copy, spec);
    for (item = strtok_r(copy, ",", &save); item && rc == 0; item = strtok_r(NULL, ",", &save))
        rc = add_item(b, item, err, errlen);
    if (rc == 0 && b->n4 + b->n6 == 0)
        rc = (snprintf(err, errlen, "--source: '%s': no address", spec), -EINVAL);
    if (rc == 0 && (p->addr = calloc(b->n4 + b->n6, sizeof(p->addr[0]))) == NULL)
        rc = (snprintf(err, errlen, "out of memory"), -ENOMEM);
    if (rc == 0) {
        memcpy(p->addr, b->v4, b->n4 * sizeof(p->addr[0]));
        memcpy(p->addr + b->n4, b->v6, b->n6 * sizeof(p->addr[0]));
        p->n4 = b->n4;
        p->n = b->n4 + b->n6;
    }
    free(b);
    return rc;
}

void source_pool_free(struct source_pool *p)
{
    free(p->addr);
    memset(p, 0, sizeof(*p));
}

const struct endpoint_addr *source_pool_pick(const struct source_pool *p, int family, uint64_t k)
{
    if (family == AF_INET)
        return p->n4 ? &p->addr[k % p->n4] : NULL;
    if (family == AF_INET6)
        return p->n > p->n4 ? &p->addr[p->n4 + k % (p->n - p->n4)] : NULL;
    return NULL;
}

int source_pool_check(const struct source_pool *p, char *err, size_t errlen)
{
    char text[INET6_ADDRSTRLEN + 8];
    int fd, e;

    for (size_t i = 0; i < p->n; i++) {
        if ((fd = socket(p->addr[i].sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
            return snprintf(err, errlen, "--source: socket: %s", strerror(errno)), -errno;
        e = bind(fd, (const struct sockaddr *)&p->addr[i].sa, p->addr[i].len) == 0 ? 0 : errno;
        close(fd);
        if (e != 0) {
            endpoint_peer_text(&p->addr[i].sa, text, sizeof(text));
            snprintf(err, errlen, "--source: %s is not an address of this host (%s)", text, strerror(e));
            return -e;
        }
    }
    return 0;
}
