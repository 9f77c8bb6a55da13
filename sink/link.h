/* link.h - smtpstorm-sink's tie to the coordinator (--coordinator): the
 * only sink file that speaks the control plane (lib/peerlink, ZeroMQ,
 * protobuf). A thread of its own, with its own event loop, reads the
 * engine's counter snapshots every second and streams them: by campaign,
 * per agent, with the delivery latency corrected by each agent's clock
 * offset from the coordinator's Start. The SMTP loops never wait on it. */
#ifndef SMTPSTORM_SINK_LINK_H
#define SMTPSTORM_SINK_LINK_H

#include <stddef.h>

#include "config.h"
#include "server.h"

struct sink_link;

/* sink_link_prepare - read cfg's --key and --coordinator-key files and
 * check that a --coordinator beyond loopback has keys (or --insecure):
 * call before listening and dropping privileges (-u, -R), as the key files
 * may not be readable after. The keys are kept for sink_link_start, which
 * erases them. Returns 0, or -1 with the reason in err. */
int sink_link_prepare(const struct sink_config *cfg, char *err, size_t errlen);

/* sink_link_start - connect to cfg->coordinator and start streaming srv's
 * counters (both must outlive the link). The caller owns the result
 * (sink_link_stop). NULL with the reason in err. */
struct sink_link *sink_link_start(struct sink_server *srv, const struct sink_config *cfg, char *err,
                                  size_t errlen);

/* sink_link_stop - send the last counters, stop the thread, close and free
 * l; NULL is harmless. Returns nonzero when the coordinator refused this
 * sink (another wire version, a duplicate id). */
int sink_link_stop(struct sink_link *l);

#endif
