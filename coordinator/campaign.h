/* campaign.h - the campaign file (`smtpstorm run --campaign FILE`): YAML
 * with targets, phases and every workload option, read with libyaml into a
 * struct workload_spec. docs/campaign.md is its reference. A bad file is
 * reported as "FILE:LINE: what is wrong". */
#ifndef SMTPSTORM_COORDINATOR_CAMPAIGN_H
#define SMTPSTORM_COORDINATOR_CAMPAIGN_H

#include <stddef.h>

#include "config.h"

#define CAMPAIGN_FILE_MAX (4u << 20)    /* a campaign file larger than this is a mistake */

/* campaign_parse - read the YAML text of len octets (name for messages)
 * into w, which keeps its values for keys the text does not set. Returns
 * 0, or -EINVAL with "name:line: problem" in err (w may be partly set). */
int campaign_parse(const char *text, size_t len, const char *name, struct workload_spec *w,
                   char *err, size_t errlen);

/* campaign_load - campaign_parse the file at path. Returns 0, -errno when
 * it cannot be read, or -EINVAL; err says why. */
int campaign_load(const char *path, struct workload_spec *w, char *err, size_t errlen);

#endif
