/* fuzz_campaign.c - fuzz the campaign file parser (coordinator/campaign.c):
 * any bytes as YAML. Checks: no read past the text, an error always says
 * "name:line: ...", targets and phases within their limits, no leak. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct run_config c;
    char err[512];
    char *text = malloc(size ? size : 1);      /* exact size, not terminated */
    int rc;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    config_init(&c);
    err[0] = '\0';
    rc = campaign_parse(text, size, "fuzz.yaml", &c, err, sizeof(err));
    if (rc != 0 && (rc != -EINVAL || strncmp(err, "fuzz.yaml:", 10) != 0))
        abort();
    if (c.w.n_targets > CONFIG_TARGETS_MAX || c.w.n_phases > CONFIG_PHASES_MAX)
        abort();
    config_free(&c);
    free(text);
    return 0;
}
