/* run.h - `smtpstorm run`: bind the control and sink endpoints, wait for
 * agents and sinks (spawning them with --local), plan and send the parts,
 * one start time, follow progress, drain the sinks, reconcile and report. */
#ifndef SMTPSTORM_COORDINATOR_RUN_H
#define SMTPSTORM_COORDINATOR_RUN_H

#include "config.h"
#include "reconcile.h"

/* run_campaign - run one campaign as cfg says, printing progress and the
 * summary; returns the exit code (enum run_exit). */
enum run_exit run_campaign(const struct run_config *cfg);

#endif
