/* resolve.c - target checks off the event loop (see resolve.h). The thread
 * and the link share one struct with a reference count of two: whichever
 * lets go last frees it, so resolve_free never waits on a name server. */
#include "resolve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESOLVE_WHY_MAX 512

struct resolve {
    atomic_int refs;            /* the thread's and the owner's */
    atomic_int finished;        /* set by the thread when rc, why and out are final */
    const struct guard *guard;
    int family;
    char *campaign;
    char **targets;             /* copies of the specs */
    size_t n;
    struct endpoint *out;       /* n pinned endpoints; moved out by resolve_take */
    int rc;
    char why[RESOLVE_WHY_MAX];
};

static void resolve_unref(struct resolve *r)
{
    size_t i;

    if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (i = 0; i < r->n; i++)
        free(r->targets[i]);
    free(r->targets);
    free(r->campaign);
    free(r->out);
    free(r);
}

int resolve_needed(char *const *targets, size_t n)
{
    struct endpoint ep;
    unsigned char addr[16];
    char err[256];
    size_t i;

    for (i = 0; i < n; i++) {
        if (endpoint_parse(targets[i], "25", &ep, err, sizeof(err)) != 0 || ep.is_unix)
            continue;           /* a bad spec is refused at once by the caller's check */
        if (inet_pton(AF_INET, ep.host, addr) != 1 && inet_pton(AF_INET6, ep.host, addr) != 1)
            return 1;
    }
    return 0;
}

/* resolve_check_all - guard_check_target on every target, stopping at the first failure. */
static void resolve_check_all(struct resolve *r)
{
    struct endpoint ep;
    char err[256];
    size_t i;

    for (i = 0; i < r->n; i++) {
        if (endpoint_parse(r->targets[i], "25", &ep, err, sizeof(err)) != 0) {
            snprintf(r->why, sizeof(r->why), "bad target %s: %s", r->targets[i], err);
            r->rc = -EINVAL;
            return;
        }
        r->rc = guard_check_target(r->guard, &ep, r->family, &r->out[i], r->why, sizeof(r->why));
        if (r->rc != 0)
            return;
    }
}

static void *resolve_thread(void *arg)
{
    struct resolve *r = arg;

    resolve_check_all(r);
    atomic_store_explicit(&r->finished, 1, memory_order_release);
    resolve_unref(r);
    return NULL;
}

struct resolve *resolve_start(const struct guard *g, char *const *targets, size_t n, int family,
                              const char *campaign)
{
    struct resolve *r = calloc(1, sizeof(*r));
    pthread_attr_t attr;
    pthread_t tid;
    size_t i;
    int rc;

    if (r == NULL)
        return NULL;
    atomic_init(&r->refs, 1);
    atomic_init(&r->finished, 0);
    r->guard = g;
    r->family = family;
    r->campaign = strdup(campaign);
    r->targets = calloc(n ? n : 1, sizeof(*r->targets));
    r->out = calloc(n ? n : 1, sizeof(*r->out));
    if (r->campaign == NULL || r->targets == NULL || r->out == NULL)
        goto fail;
    for (r->n = 0; r->n < n; r->n++)
        if ((r->targets[r->n] = strdup(targets[r->n])) == NULL)
            goto fail;
    if (pthread_attr_init(&attr) != 0)
        goto fail;
    (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    atomic_store(&r->refs, 2);
    rc = pthread_create(&tid, &attr, resolve_thread, r);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        atomic_store(&r->refs, 1);
        goto fail;
    }
    return r;

fail:
    for (i = 0; i < r->n; i++)
        free(r->targets[i]);
    r->n = 0;
    resolve_unref(r);
    return NULL;
}

int resolve_same(const struct resolve *r, const char *campaign, char *const *targets, size_t n,
                 int family)
{
    size_t i;

    if (strcmp(r->campaign, campaign) != 0 || r->n != n || r->family != family)
        return 0;
    for (i = 0; i < n; i++)
        if (strcmp(r->targets[i], targets[i]) != 0)
            return 0;
    return 1;
}

int resolve_finished(const struct resolve *r)
{
    return atomic_load_explicit(&r->finished, memory_order_acquire);
}

int resolve_take(struct resolve *r, struct endpoint **out, char *why, size_t whylen)
{
    if (!resolve_finished(r)) {
        snprintf(why, whylen, "still looking up the targets");
        return -EINPROGRESS;
    }
    if (r->rc != 0) {
        snprintf(why, whylen, "%s", r->why);
        return r->rc;
    }
    *out = r->out;
    r->out = NULL;
    return 0;
}

void resolve_free(struct resolve *r)
{
    if (r)
        resolve_unref(r);
}
