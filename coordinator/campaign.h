/* campaign.h - the campaign file (`smtpstorm run --campaign FILE`): YAML
 * with targets, phases, every workload option and the thresholds, read
 * with libyaml into a struct run_config (its workload_spec and its
 * thresholds). docs/campaign.md is its reference. A bad file is reported
 * as "FILE:LINE: what is wrong". */
#ifndef SMTPSTORM_COORDINATOR_CAMPAIGN_H
#define SMTPSTORM_COORDINATOR_CAMPAIGN_H

#include <stddef.h>

#include "config.h"

#define CAMPAIGN_FILE_MAX (4u << 20)    /* a campaign file larger than this is a mistake */

/* campaign_parse - read the YAML text of len octets (name for messages)
 * into c->w and c->thresholds; c keeps its values for keys the text does
 * not set. Returns 0, or -EINVAL with "name:line: problem" in err (c may
 * be partly set; config_free frees it all). */
int campaign_parse(const char *text, size_t len, const char *name, struct run_config *c,
                   char *err, size_t errlen);

/* campaign_load - campaign_parse the file at path. Returns 0, -errno when
 * it cannot be read, or -EINVAL; err says why. */
int campaign_load(const char *path, struct run_config *c, char *err, size_t errlen);

#endif
