/* published.c - a document copied under a mutex between an event loop and
 * a server thread, with a request count (see published.h). */
#include "published.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void published_init(struct published *p)
{
    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
}

/* published_dup - doc[0..len) and a NUL in a new buffer. */
static char *published_dup(const char *doc, size_t len)
{
    char *copy = malloc(len + 1);

    if (copy == NULL)
        return NULL;
    memcpy(copy, doc, len);
    copy[len] = '\0';
    return copy;
}

int published_set(struct published *p, const char *doc, size_t len)
{
    char *copy = published_dup(doc ? doc : "", len);

    if (copy == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&p->lock);
    free(p->doc);
    p->doc = copy;
    p->len = len;
    pthread_mutex_unlock(&p->lock);
    return 0;
}

char *published_copy(struct published *p, const char *fallback, size_t fallback_len, size_t *len)
{
    char *copy;

    pthread_mutex_lock(&p->lock);
    *len = p->doc ? p->len : fallback_len;
    copy = published_dup(p->doc ? p->doc : fallback, *len);
    pthread_mutex_unlock(&p->lock);
    return copy;
}

void published_bump(struct published *p)
{
    pthread_mutex_lock(&p->lock);
    p->count++;
    pthread_mutex_unlock(&p->lock);
}

uint64_t published_count(struct published *p)
{
    uint64_t n;

    pthread_mutex_lock(&p->lock);
    n = p->count;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void published_free(struct published *p)
{
    pthread_mutex_destroy(&p->lock);
    free(p->doc);
    p->doc = NULL;
}
