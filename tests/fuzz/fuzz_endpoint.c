/* fuzz_endpoint.c - fuzz the [inet:]host:port / unix:path parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct endpoint ep;
    char err[256], text[ENDPOINT_HOST_MAX + 64];
    char *spec = malloc(size + 1);

    if (spec == NULL)
        return 0;
    memcpy(spec, data, size);
    spec[size] = '\0';
    if (endpoint_parse(spec, size % 2 ? "25" : NULL, &ep, err, sizeof(err)) == 0)
        endpoint_format(&ep, text, sizeof(text));
    free(spec);
    return 0;
}
