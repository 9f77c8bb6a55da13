/* bufpool.c - the free list of equal buffers behind the sessions' on-demand
 * buffers (see bufpool.h): buffers carved from mmap'd slabs of about 1 MB,
 * a warm stack of resident free ones, a cold stack of free ones whose
 * pages went back to the kernel. */
#include "bufpool.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define BUFPOOL_SLAB_OCTETS (1024 * 1024)   /* one mmap per this much: few mappings
                                             * under vm.max_map_count (65530) */

struct bufpool_slab {
    struct bufpool_slab *next;
    void *base;
    size_t len;
};

int bufpool_init(struct bufpool *p, size_t size, size_t keep)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    assert(size > 0);
    p->size = size;
    p->stride = (size + page - 1) / page * page;
    p->keep = keep;
    p->nwarm = p->ncold = p->cold_cap = p->taken = p->made = 0;
    p->cold = NULL;
    p->slabs = NULL;
    if ((p->warm = calloc(keep ? keep : 1, sizeof(*p->warm))) == NULL)
        return -ENOMEM;
    return 0;
}

void bufpool_destroy(struct bufpool *p)
{
    struct bufpool_slab *s;

    assert(p->taken == 0);          /* every buffer back before the pool goes */
    while ((s = p->slabs) != NULL) {
        p->slabs = s->next;
        UNPOISON(s->base, s->len);
        munmap(s->base, s->len);
        free(s);
    }
    free(p->warm);
    free(p->cold);
    p->warm = p->cold = NULL;
    p->nwarm = p->ncold = p->cold_cap = 0;
}

/* cold_room - room on the cold stack for every buffer made and n more, so
 * that giving back never needs memory; 0 or -ENOMEM. */
static int cold_room(struct bufpool *p, size_t n)
{
    size_t cap = p->cold_cap ? p->cold_cap : 64;
    void **grown;

    if (p->made + n <= p->cold_cap)
        return 0;
    while (cap < p->made + n)
        cap *= 2;
    if ((grown = realloc(p->cold, cap * sizeof(*grown))) == NULL)
        return -ENOMEM;
    p->cold = grown;
    p->cold_cap = cap;
    return 0;
}

/* grow - a new slab, its buffers onto the cold stack (fresh pages are not
 * resident until touched). 0 or -ENOMEM. */
static int grow(struct bufpool *p)
{
    size_t n = p->stride >= BUFPOOL_SLAB_OCTETS ? 1 : BUFPOOL_SLAB_OCTETS / p->stride, i;
    struct bufpool_slab *s;

    if (cold_room(p, n) != 0 || (s = malloc(sizeof(*s))) == NULL)
        return -ENOMEM;
    s->len = n * p->stride;
    s->base = mmap(NULL, s->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (s->base == MAP_FAILED) {
        free(s);
        return -ENOMEM;
    }
    POISON(s->base, s->len);
    s->next = p->slabs;
    p->slabs = s;
    p->made += n;
    for (i = n; i-- > 0;)       /* the slab's first buffer on top */
        p->cold[p->ncold++] = (char *)s->base + i * p->stride;
    return 0;
}

void *bufpool_get_slow(struct bufpool *p)
{
    void *b;

    if (p->nwarm > 0)
        b = p->warm[--p->nwarm];
    else if (p->ncold > 0 || grow(p) == 0)
        b = p->cold[--p->ncold];
    else
        return NULL;
    p->taken++;
    UNPOISON(b, p->size);
    return b;
}

void bufpool_put_slow(struct bufpool *p, void *buf)
{
    if (buf == NULL)
        return;
    assert(p->taken > 0);           /* only what bufpool_get gave */
    p->taken--;
    POISON(buf, p->size);
    if (p->nwarm < p->keep) {
        p->warm[p->nwarm++] = buf;
        return;
    }
    /* Beyond keep: the pages go back now, so that RSS follows the sessions
     * in flight. The cold stack has room for every buffer made (grow). */
    (void)madvise(buf, p->stride, MADV_DONTNEED);
    p->cold[p->ncold++] = buf;
}

int poolbuf_reserve(struct bufpool *pool, struct poolbuf *b, size_t more)
{
    size_t cap;
    char *grown;

    if (b->p == NULL) {
        if ((b->p = bufpool_get(pool)) == NULL)
            return -ENOMEM;
        b->cap = pool->size;
    }
    if (more <= b->cap - b->len)
        return 0;
    for (cap = b->cap * 2; cap - b->len < more; cap *= 2)
        ;
    if ((grown = malloc(cap)) == NULL)
        return -ENOMEM;
    memcpy(grown, b->p, b->len);
    if (b->cap == pool->size)
        bufpool_put(pool, b->p);
    else
        free(b->p);
    b->p = grown;
    b->cap = cap;
    return 0;
}

void poolbuf_release(struct bufpool *pool, struct poolbuf *b)
{
    if (b->cap == pool->size)
        bufpool_put(pool, b->p);
    else
        free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
