/* summary.h - the end-of-run summary smtpstorm-agent prints on stdout:
 * messages, rate, CPU per message, latency percentiles per phase, replies
 * by code and errors by kind. */
#ifndef SMTPSTORM_AGENT_SUMMARY_H
#define SMTPSTORM_AGENT_SUMMARY_H

#include <stdio.h>

#include "stats.h"

/* summary_print - write the summary of st for a run of elapsed_s seconds
 * that used cpu_s CPU seconds to f. */
void summary_print(FILE *f, const struct load_stats *st, double elapsed_s, double cpu_s);

#endif
