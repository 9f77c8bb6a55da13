/* link.h - smtpstorm-agent's daemon mode (--coordinator): the only part of
 * the agent that speaks the control plane (lib/peerlink, protobuf). It
 * checks each Workload against the guard (allow-list, ceilings), turns it
 * into a job (agent/job.h), starts it at the campaign's start time, streams
 * cumulative progress, says Done, and stops all load on Stop, on a signal
 * or when the coordinator falls silent (dead-man switch). */
#ifndef SMTPSTORM_AGENT_LINK_H
#define SMTPSTORM_AGENT_LINK_H

#include "options.h"

/* link_run - serve coordinator o->coordinator until SIGINT/SIGTERM (or the
 * coordinator refuses this agent). o must outlive the call. Returns the
 * process exit status: 0 after a signal, 1 on a setup error or refusal
 * (the reason is printed to stderr). */
int link_run(const struct agent_options *o);

#endif
