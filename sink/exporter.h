/* exporter.h - smtpstorm-sink's --metrics ADDR:PORT: the engine's counter
 * snapshots as OpenMetrics text, served by lib/metrics (libmicrohttpd) at
 * /metrics. A thread of its own, with its own event loop, rebuilds the
 * text once a second, with or without --coordinator; the SMTP loops never
 * wait on it and the engine never sees libmicrohttpd. */
#ifndef SMTPSTORM_SINK_EXPORTER_H
#define SMTPSTORM_SINK_EXPORTER_H

#include <stddef.h>

#include "server.h"

struct sink_exporter;

/* sink_exporter_start - listen on exactly spec (ADDR:PORT, as
 * metrics_addr_check accepts) and serve srv's counters (srv must outlive
 * the exporter), refreshed every second. Call before dropping privileges
 * when the port needs them. The caller owns the result
 * (sink_exporter_stop). NULL with the reason in err (a busy port:
 * "cannot listen on ..."). */
struct sink_exporter *sink_exporter_start(struct sink_server *srv, const char *spec, char *err, size_t errlen);

/* sink_exporter_address - "ADDR:PORT" served (the port the system chose
 * when spec said 0). Valid until sink_exporter_stop. */
const char *sink_exporter_address(const struct sink_exporter *x);

/* sink_exporter_stop - stop the refresh thread and the HTTP server, free
 * x; NULL is harmless. */
void sink_exporter_stop(struct sink_exporter *x);

#endif
