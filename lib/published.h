/* published.h - one document handed from an event loop to a server thread:
 * the loop publishes a copy under a mutex, the server's thread copies it out
 * and counts what it answered (lib/metrics' /metrics, the coordinator's
 * --web). Neither side ever holds the lock while it does anything else.
 *
 *   struct published p;
 *   published_init(&p);
 *   published_set(&p, text, len);                 the loop, once a second
 *   body = published_copy(&p, "# EOF\n", 6, &n);  the server's thread
 *   published_bump(&p);                           count a request
 *   published_free(&p); */
#ifndef SMTPSTORM_PUBLISHED_H
#define SMTPSTORM_PUBLISHED_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct published {
    pthread_mutex_t lock;           /* guards doc, len and count */
    char *doc;                      /* NULL until the first published_set */
    size_t len;
    uint64_t count;                 /* published_bump's */
};

/* published_init - no document yet, a count of 0. */
void published_init(struct published *p);

/* published_set - serve a copy of doc[0..len) from now on (NUL-terminated
 * in the copy). Returns 0, or -ENOMEM and the last document stays. */
int published_set(struct published *p, const char *doc, size_t len);

/* published_copy - a copy of the document (NUL-terminated), or of
 * fallback[0..fallback_len) while none has been set; its length in *len.
 * The caller owns the copy (free). NULL when out of memory. */
char *published_copy(struct published *p, const char *fallback, size_t fallback_len, size_t *len);

/* published_bump - count one more (a request answered). Any thread. */
void published_bump(struct published *p);

/* published_count - how many published_bump so far. Any thread. */
uint64_t published_count(struct published *p);

/* published_free - release the document and the mutex. */
void published_free(struct published *p);

#endif
