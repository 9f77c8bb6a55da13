/* cli.h - `smtpstorm run`'s command line into a struct run_config:
 * smtp-source's letters as campaign totals, the agent's long workload
 * options, --campaign FILE (read first; the command line then overrides
 * it), cluster and report options, and TARGETs. */
#ifndef SMTPSTORM_COORDINATOR_CLI_H
#define SMTPSTORM_COORDINATOR_CLI_H

#include <stddef.h>

#include "config.h"

#define CLI_HELP 1      /* cli_parse_run: --help was asked for */

/* cli_parse_run - parse argv (argv[0] is "run") into c (config_init'ed).
 * Returns 0, CLI_HELP, or -EINVAL with a message for the user in err. */
int cli_parse_run(int argc, char **argv, struct run_config *c, char *err, size_t errlen);

/* cli_parse_capacity - the same for `smtpstorm capacity` (argv[0] is
 * "capacity"): run's workload and cluster options, --slo EXPR (into c's
 * thresholds) and the search's options; checks what a search needs. */
int cli_parse_capacity(int argc, char **argv, struct run_config *c, char *err, size_t errlen);

/* cli_usage_capacity - print `smtpstorm capacity`'s help to out. */
void cli_usage_capacity(void *out);

/* cli_usage_run - print `smtpstorm run`'s help to out. */
void cli_usage_run(void *out);

#endif
