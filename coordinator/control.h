/* control.h - what the coordinator's control plane refused, by kind: the
 * counts the summary, the JSON report's "control" and /metrics show. */
#ifndef SMTPSTORM_COORDINATOR_CONTROL_H
#define SMTPSTORM_COORDINATOR_CONTROL_H

#include <stdint.h>

struct control_counts {
    uint64_t dropped;               /* messages undecodable, malformed or misdirected */
    uint64_t refused;               /* peers refused for another wire version */
    uint64_t unauthorized;          /* distinct keys refused: not in --authorized-keys */
    uint64_t impostors;             /* messages refused: an id or route its key may not speak for */
    uint64_t handshakes_failed;     /* connections whose ZMTP or CURVE handshake failed */
    uint64_t oversize;              /* frames over the wire's limit, dropped */
    uint64_t disconnects;           /* connections closed (peers leaving, frames far over the limit) */
};

#endif
