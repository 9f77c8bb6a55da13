/* fuzz_trace.c - fuzz the X-Smtpstorm-Trace parser: any bytes, never a read
 * past the input, and every accepted trace formats back to a parseable line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct trace t, again;
    char line[TRACE_LINE_MAX];
    char *copy;
    int n;

    copy = malloc(size ? size : 1);     /* exact-size copy so ASan sees overreads */
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    if (trace_parse(copy, size, &t) == 0) {
        n = trace_format(&t, line, sizeof(line));
        if (n < 0 || trace_parse(line, (size_t)n, &again) != 0 || again.seq != t.seq
            || again.sent_us != t.sent_us || strcmp(again.agent, t.agent) != 0)
            abort();
    }
    free(copy);
    return 0;
}
