/* greylist.h - the sink's greylisting table (behaviour files, issue 16):
 * (client address, sender, recipient) triples and when each was first
 * seen, in a fixed-size table; when it is full the least recently used
 * entry is evicted (and counted). One table per process, shared by the
 * loops under its own mutex, taken only by RCPTs a greylist rule matched. */
#ifndef SMTPSTORM_SINK_GREYLIST_H
#define SMTPSTORM_SINK_GREYLIST_H

#include <stddef.h>
#include <stdint.h>

#define GREYLIST_ENTRIES 65536      /* triples kept: 32 octets each, 2 MiB */

struct greylist;

enum greylist_result {
    GREYLIST_DEFER = 1,     /* first attempt, too early, or after the lifetime: 451 */
    GREYLIST_PASS = 2,      /* retried after min and within the lifetime */
};

/* greylist_new - an empty table of max entries (>= 1); the caller owns it. NULL on ENOMEM. */
struct greylist *greylist_new(size_t max);

/* greylist_free - release it. NULL is fine. */
void greylist_free(struct greylist *g);

/* greylist_check - an attempt of the triple at now_ms: new (or older than
 * lifetime_ms since first seen: started again) and younger than min_ms
 * defer; else it passes. Strings are compared case-insensitively (by a
 * 64-bit hash of the three). Any thread. */
enum greylist_result greylist_check(struct greylist *g, const char *client, const char *sender,
                                    const char *rcpt, uint64_t now_ms, uint64_t min_ms,
                                    uint64_t lifetime_ms);

/* greylist_evictions - entries evicted so far to make room. Any thread. */
uint64_t greylist_evictions(const struct greylist *g);

/* greylist_size - entries held now. */
size_t greylist_size(const struct greylist *g);

#endif
