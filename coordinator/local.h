/* local.h - `smtpstorm run --local N`: start N smtpstorm-agent daemons and,
 * when there is no TARGET, one smtpstorm-sink on this machine, connected to
 * this coordinator through the same protocol as a cluster; stop them by pid
 * at the end. Programs are found next to smtpstorm (installed or in the
 * build tree), then in PATH; SMTPSTORM_AGENT_PROGRAM and
 * SMTPSTORM_SINK_PROGRAM (a command, split at spaces) override that. */
#ifndef SMTPSTORM_COORDINATOR_LOCAL_H
#define SMTPSTORM_COORDINATOR_LOCAL_H

#include <stddef.h>

#define LOCAL_AGENTS_MAX 256

struct local;

/* local_start - spawn the agents (ids local-a1...) connecting to ctl_ep and,
 * when sink_ep is not NULL, a sink (id local-sink) on a free 127.0.0.1 port
 * whose address is written to target ("127.0.0.1:PORT"). The caller owns
 * the result (local_stop). NULL on error with the reason in err. */
struct local *local_start(int agents, const char *ctl_ep, const char *sink_ep,
                          char *target, size_t targetlen, char *err, size_t errlen);

/* local_exited - nonzero when a child has already exited; err names it. */
int local_exited(struct local *l, char *err, size_t errlen);

/* local_stop - SIGTERM every child, wait (bounded), SIGKILL what is left,
 * and free l; NULL is harmless. */
void local_stop(struct local *l);

#endif
