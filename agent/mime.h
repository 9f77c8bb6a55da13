/* mime.h - the MIME messages of smtpstorm-agent --mime: a mail client's
 * headers, multipart/alternative text and HTML parts of real words, and
 * with --attach base64 attachments (76-column lines) with plausible names
 * and types, in multipart/mixed. Every part is cut from pools built once
 * per process and shared read-only (the text, its HTML, random base64),
 * at offsets drawn per message; only the headers and the ends of parts
 * are formatted per message, so the generator never limits a test. What a
 * message holds depends on the seed and its number alone (lib/dist.h). */
#ifndef SMTPSTORM_AGENT_MIME_H
#define SMTPSTORM_AGENT_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "dist.h"

#define MIME_ATTACH_MAX     16          /* attachments per message */
#define MIME_TEXT_DEFAULT   2048        /* the text part without --size */
#define MIME_ATTACH_SIZE_MAX (64ULL << 20)  /* one attachment, decoded: 64m */
#define MIME_OVERHEAD_MAX   (2048 + MIME_ATTACH_MAX * 512)  /* formatted octets per message */

/* What --mime sends; the distributions are not owned. */
struct mime_spec {
    const struct dist *text_size;       /* the text part's octets (--size); NULL: 2k */
    const struct dist *attach_count;    /* attachments per message (--attachments); NULL: 1 */
    const struct dist *attach_size;     /* each attachment's decoded octets (--attach);
                                         * NULL: no attachment, multipart/alternative */
};

/* The shared pools: lines of fixed length, so a cut is a pointer and a length. */
struct mime_pool {
    char *text, *html, *b64;
    size_t text_lines, b64_lines;
};

/* One message's draws. */
struct mime_plan {
    uint64_t seq;
    uint64_t text_len;                  /* the text part's octets, about */
    uint64_t text_line;                 /* where its cut starts in the pools */
    int n_attach;
    uint64_t attach_len[MIME_ATTACH_MAX];
    uint64_t attach_line[MIME_ATTACH_MAX];
    unsigned attach_kind[MIME_ATTACH_MAX];  /* index of its name and type */
};

/* The headers a MIME message's top says; strings not owned. */
struct mime_headers {
    const char *sender, *recipient, *subject, *date, *myhostname, *agent, *campaign;
};

/* Where mime_emit puts the message, in order: formatted pieces (copy: the
 * callee copies them, they live only during the call) and pool pieces
 * (kept by pointer: they live as long as the pool). 0 or -ENOBUFS. */
struct mime_sink {
    int (*copy)(void *arg, const char *p, size_t n);
    int (*keep)(void *arg, const char *p, size_t n);
    void *arg;
};

/* mime_pool_build - pools for texts up to max_text octets and attachments
 * up to max_attach decoded octets (0: none), from seed. The caller owns p
 * (mime_pool_free). Returns 0 or -ENOMEM. */
int mime_pool_build(struct mime_pool *p, uint64_t max_text, uint64_t max_attach, uint64_t seed);

/* mime_pool_for - mime_pool_build for what spec can draw. */
int mime_pool_for(struct mime_pool *p, const struct mime_spec *spec, uint64_t seed);

/* mime_pool_free - release p's pools; p may be empty. */
void mime_pool_free(struct mime_pool *p);

/* mime_plan_draw - message seq's sizes, offsets and attachment kinds. */
void mime_plan_draw(const struct mime_spec *spec, const struct mime_pool *pool, uint64_t seed,
                    uint64_t seq, struct mime_plan *out);

/* mime_emit - the whole message (headers, then the parts) into out.
 * Returns 0, or the first -ENOBUFS out returned. */
int mime_emit(const struct mime_plan *plan, const struct mime_pool *pool, const struct mime_headers *h,
              const struct mime_sink *out);

/* mime_size - the octets mime_emit would send. */
size_t mime_size(const struct mime_plan *plan, const struct mime_pool *pool, const struct mime_headers *h);

#endif
