/* fuzz_reply.c - fuzz the agent's SMTP reply parser (agent/reply.c): any
 * server bytes in any read split. The first byte seeds the split. Checks:
 * never more consumed than given, the text NUL-terminated at text_len,
 * complete replies have a 3-digit code, and the keyword search stays
 * inside the text. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"

static void check_reply(const struct reply *r)
{
    const char *params;
    size_t plen;

    if (r->text_len >= REPLY_TEXT_MAX || r->text[r->text_len] != '\0'
        || strlen(r->text) != r->text_len || r->code < 0 || r->code > 999)
        abort();
    if (reply_has_keyword(r, "PIPELINING", NULL, NULL) < 0)
        abort();
    if (reply_has_keyword(r, "SIZE", &params, &plen) && (params < r->text || params + plen > r->text + r->text_len))
        abort();
    (void)reply_has_keyword(r, "", &params, &plen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char text[REPLY_TEXT_MAX];
    static struct reply r;
    uint32_t rng;
    size_t pos = 0, chunk, used;
    char *copy;
    int rc;

    if (size < 1)
        return 0;
    rng = 0x2545f491u ^ data[0];
    copy = malloc(size - 1 ? size - 1 : 1);     /* exact size: ASan sees overreads */
    if (copy == NULL)
        return 0;
    memcpy(copy, data + 1, size - 1);
    size--;
    reply_init(&r, text);
    while (pos < size) {
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        chunk = 1 + rng % ((rng & 0x100) ? 5 : 3000);
        if (chunk > size - pos)
            chunk = size - pos;
        rc = reply_feed(&r, copy + pos, chunk, &used);
        if (used > chunk || (rc == 0 && used != chunk) || (rc != 0 && used == 0))
            abort();
        pos += used;
        if (rc == 1) {
            if (r.code < 0 || r.code > 999 || r.lines < 1)
                abort();
            check_reply(&r);
            reply_reset(&r);
        } else if (rc == -EPROTO) {
            check_reply(&r);
            reply_reset(&r);
        } else if (rc != 0) {
            abort();
        }
    }
    check_reply(&r);
    free(copy);
    return 0;
}
