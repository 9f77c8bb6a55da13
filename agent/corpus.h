/* corpus.h - real messages to send (--corpus PATH): a directory of .eml
 * files, a maildir (its cur/ and new/) or an mbox file, read into memory
 * once at the start and shared read-only. Each message is sent as it is,
 * its line endings made CRLF (LF, CRLF and a lone CR all end a line) and
 * dot-stuffed for DATA; one that cannot be sent as it is (a NUL octet, a
 * line over 998 octets: RFC 5321 4.5.3.1.6) is skipped, counted, and its
 * file named. Message k of a campaign is the corpus's k-th in order, or in
 * a permutation drawn from the seed (--corpus-shuffle), cycling. */
#ifndef SMTPSTORM_AGENT_CORPUS_H
#define SMTPSTORM_AGENT_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "message.h"

#define CORPUS_LINE_MAX   998               /* octets of a line, CRLF not counted */
#define CORPUS_BYTES_MAX  (1ULL << 30)      /* all messages in memory */
#define CORPUS_FILES_MAX  1000000
#define CORPUS_WHY_MAX    512

struct corpus {
    struct message_payload *msgs;   /* data dot-stuffed, raw as received */
    size_t n;
    size_t *order;                  /* message k is msgs[order[k % n]] */
    size_t skipped;                 /* messages left out */
    char first_skip[CORPUS_WHY_MAX];    /* the first one's file and reason */
    uint64_t octets;                /* raw octets in all */
};

/* corpus_load - every message under path into c (the caller owns it:
 * corpus_free); shuffle: a seeded order. Messages left out are said in one
 * warning (their count and the first). Returns 0, or -errno with the
 * reason in err (a missing path, no message at all, over CORPUS_BYTES_MAX). */
int corpus_load(struct corpus *c, const char *path, int shuffle, uint64_t seed, char *err, size_t errlen);

/* corpus_pick - the message for trace sequence number seq; c's, valid
 * until corpus_free. */
static inline const struct message_payload *corpus_pick(const struct corpus *c, uint64_t seq)
{
    return &c->msgs[c->order[seq % c->n]];
}

/* corpus_free - release c; an empty corpus is harmless. */
void corpus_free(struct corpus *c);

#endif
