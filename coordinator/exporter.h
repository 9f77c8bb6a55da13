/* exporter.h - the coordinator's OpenMetrics document for --metrics: the
 * campaign's merged load (lib/metrics' smtpstorm_* families, labelled by
 * campaign), each sink's counters, each agent's liveness and accepted
 * messages, and the campaign's state. Built by the event loop once a
 * second from the peers' last reports; lib/metrics serves it. */
#ifndef SMTPSTORM_COORDINATOR_EXPORTER_H
#define SMTPSTORM_COORDINATOR_EXPORTER_H

#include <stddef.h>

#include "control.h"
#include "metrics.h"
#include "registry.h"

/* What the run shows of itself; everything borrowed for the call. */
struct exporter_view {
    const char *campaign;           /* "" until the campaign has an id */
    int running;                    /* agents are sending */
    double elapsed_s;               /* since the start; 0 before */
    size_t agents_alive, sinks_alive;
    struct peer *const *agents;     /* taking part */
    size_t na;
    struct peer *const *sinks;      /* present at the start */
    size_t ns;
    struct control_counts control;  /* the control plane's refusals since the start */
};

/* exporter_build - append the document for v to t (ending it with # EOF).
 * Returns 0, or -ENOMEM (t is then marked failed). */
int exporter_build(struct metrics_text *t, const struct exporter_view *v);

#endif
