/* bufpool.h - buffers of one size that sessions take while they have data
 * in flight and give back when idle, so that an idle session holds none:
 * smtpstorm-sink's input, replies and command work areas, smtpstorm-agent's
 * reads and commands. A free list: taking and giving back cost a pointer
 * push or pop, no malloc. Up to `keep` free buffers stay resident for the
 * next taker; the pages of any more go back to the kernel (MADV_DONTNEED),
 * so a burst of busy sessions does not leave its peak resident once they
 * are idle. One pool per event loop: nothing here is thread-safe. */
#ifndef SMTPSTORM_BUFPOOL_H
#define SMTPSTORM_BUFPOOL_H

#include <assert.h>
#include <stddef.h>

struct bufpool_slab;

struct bufpool {
    size_t size;                /* octets of each buffer the caller may use */
    size_t stride;              /* size rounded up to whole pages: their distance */
    size_t keep;                /* free buffers kept resident */
    void **warm;                /* free and resident, [0..nwarm), room for keep */
    size_t nwarm;
    void **cold;                /* free, their pages given back, [0..ncold) */
    size_t ncold, cold_cap;
    struct bufpool_slab *slabs; /* what the buffers were carved from */
    size_t taken;               /* buffers out now */
    size_t made;                /* buffers carved so far */
};

/* bufpool_init - an empty pool of buffers of size octets (each starts on a
 * page of its own), keeping up to keep free ones resident. Under
 * AddressSanitizer a free buffer and the rest of its last page are
 * poisoned. Returns 0 or -ENOMEM (then nothing needs releasing). */
int bufpool_init(struct bufpool *p, size_t size, size_t keep);

/* bufpool_destroy - unmap every buffer; none may still be taken. */
void bufpool_destroy(struct bufpool *p);

/* bufpool_get_slow - bufpool_get when no warm buffer is free (or under
 * AddressSanitizer, which poisons free buffers). */
void *bufpool_get_slow(struct bufpool *p);

/* bufpool_put_slow - bufpool_put when the warm stack is full (or under
 * AddressSanitizer). */
void bufpool_put_slow(struct bufpool *p, void *buf);

#if defined(__SANITIZE_ADDRESS__)
#define BUFPOOL_INLINE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BUFPOOL_INLINE 0
#endif
#endif
#ifndef BUFPOOL_INLINE
#define BUFPOOL_INLINE 1
#endif

/* bufpool_get - a buffer of p->size octets (contents undefined), owned by
 * the caller until bufpool_put. NULL when out of memory. Inline: a session
 * takes and gives back buffers several times a message. */
static inline void *bufpool_get(struct bufpool *p)
{
    if (BUFPOOL_INLINE && p->nwarm > 0) {
        p->taken++;
        return p->warm[--p->nwarm];
    }
    return bufpool_get_slow(p);
}

/* bufpool_put - give back buf, taken from p; NULL is ignored. */
static inline void bufpool_put(struct bufpool *p, void *buf)
{
    if (BUFPOOL_INLINE && buf != NULL && p->nwarm < p->keep) {
        assert(p->taken > 0);       /* only what bufpool_get gave */
        p->taken--;
        p->warm[p->nwarm++] = buf;
        return;
    }
    bufpool_put_slow(p, buf);
}

/* A growing buffer that lives in a pool buffer while it fits, in malloc'd
 * memory in the rare case it outgrows it; NULL (all zero) while unused. */
struct poolbuf {
    char *p;
    size_t len, cap;
};

/* poolbuf_reserve - room for more octets after b->len: a buffer of pool
 * taken at the first call, moved to a malloc'd one twice as large (or
 * more) when outgrown. Returns 0 or -ENOMEM (b keeps its octets). */
int poolbuf_reserve(struct bufpool *pool, struct poolbuf *b, size_t more);

/* poolbuf_release - back to pool (or freed, when it was outgrown); b is
 * unused afterwards. */
void poolbuf_release(struct bufpool *pool, struct poolbuf *b);

#endif
