/* metrics.h - OpenMetrics text for Prometheus, and a small HTTP server
 * (libmicrohttpd, on its own thread) that serves the last published text at
 * /metrics, for the coordinator and the sink (--metrics ADDR:PORT).
 *
 * Threads: the event loop builds a struct metrics_text (the builders below)
 * from its own counters, say once a second, and hands it to
 * metrics_publish, which copies it under a mutex. The HTTP thread only ever
 * reads that copy: it never touches the loop's state.
 *
 *   struct metrics_text t = METRICS_TEXT_INIT;
 *   metrics_text_load(&t, &load, 1);             one campaign's load_stats
 *   metrics_text_sinks(&t, &sink, 1);            a sink's counters by campaign
 *   metrics_text_eof(&t);
 *   metrics_publish(server, &t);
 *   metrics_text_reset(&t);                       keep the buffer for next time */
#ifndef SMTPSTORM_METRICS_H
#define SMTPSTORM_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "hist.h"
#include "stats.h"

#define METRICS_ADDR_MAX  300       /* "[v6 address]:port" and then some */
#define METRICS_CONTENT_TYPE "application/openmetrics-text; version=1.0.0; charset=utf-8"

/* The le buckets of every latency histogram, in microseconds (+Inf follows). */
#define METRICS_BUCKETS_US { 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, \
                             250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000, 60000000 }

enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

#define METRICS_UNKNOWN UINT64_MAX   /* a struct metrics_sink figure not known: left out */

/* A growing OpenMetrics document. Zero-initialize (METRICS_TEXT_INIT). */
struct metrics_text {
    char *buf;
    size_t len, cap;
    int failed;                 /* out of memory at some point: do not publish */
};

#define METRICS_TEXT_INIT { NULL, 0, 0, 0 }

/* Labels are a NULL-terminated list of name, value, name, value, ...
 * (e.g. (const char *[]){ "campaign", id, NULL }), NULL for none. Values
 * are escaped here (quotes, backslashes, newlines; other control and
 * non-ASCII octets become '?'), so peers' text is safe in them. */

/* metrics_text_family - start family name (without _total, with its unit
 * suffix) of type: "# TYPE", "# UNIT" (unit NULL: none) and "# HELP".
 * Every sample of a family must follow its header, before the next family. */
void metrics_text_family(struct metrics_text *t, const char *name, enum metrics_type type,
                         const char *unit, const char *help);

/* metrics_text_counter - a counter sample "name_total{labels} v". */
void metrics_text_counter(struct metrics_text *t, const char *name, const char *const *labels, uint64_t v);

/* metrics_text_gauge - a gauge sample "name{labels} v". */
void metrics_text_gauge(struct metrics_text *t, const char *name, const char *const *labels, double v);

/* metrics_text_histogram - a histogram of microsecond values h as seconds:
 * name_bucket{labels,le=...} for METRICS_BUCKETS_US and +Inf (cumulative;
 * a slot counts in the first bucket at or above its lowest value, so the
 * error is the histogram's, under 1%), name_count and name_sum. */
void metrics_text_histogram(struct metrics_text *t, const char *name, const char *const *labels,
                            const struct hist *h);

/* metrics_text_eof - end the document ("# EOF"). */
void metrics_text_eof(struct metrics_text *t);

/* metrics_text_reset - make t empty again, keeping its buffer. */
void metrics_text_reset(struct metrics_text *t);

/* metrics_text_free - release t's buffer; t is empty again. */
void metrics_text_free(struct metrics_text *t);

/* One campaign's load as a load generator counts it (an agent's, or every
 * agent's merged by the coordinator). Borrowed for the call. */
struct metrics_load {
    const char *campaign;               /* label "campaign" */
    const struct load_stats *stats;     /* cumulative since the campaign began */
    uint64_t sessions_active;           /* open now */
};

/* metrics_text_load - the families smtpstorm_sessions, _sessions_active,
 * _messages_attempted, _messages_accepted, _messages_rejected,
 * _recipients, _sent_bytes, _errors{kind}, _replies{code} and
 * _latency_seconds{phase} (histograms; empty phases left out) for each of
 * loads[0..n), labelled by campaign. */
void metrics_text_load(struct metrics_text *t, const struct metrics_load *loads, size_t n);

/* One campaign's counts at one sink (struct tally_campaign's figures). */
struct metrics_sink_campaign {
    const char *campaign;
    uint64_t received;                  /* distinct traced messages */
    uint64_t duplicates;
    const struct hist *delivery;        /* end-to-end latency, us; NULL: none */
};

/* A sink's counters (struct sink_counters' and struct tally_snapshot's
 * figures); a process-wide one that is METRICS_UNKNOWN is left out (the
 * coordinator does not hear every figure a sink keeps). */
struct metrics_sink {
    const char *id;                     /* label "sink" */
    uint64_t sessions;                  /* sessions ended */
    uint64_t sessions_active;           /* open now */
    uint64_t messages;                  /* every message, traced or not */
    uint64_t bytes;                     /* message octets received */
    uint64_t untraced;                  /* messages without a trace header */
    const struct metrics_sink_campaign *campaigns;
    size_t n_campaigns;
};

/* metrics_text_sinks - the families smtpstorm_sink_sessions,
 * _sink_sessions_active, _sink_messages, _sink_received_bytes,
 * _sink_untraced (labelled by sink), _sink_received, _sink_duplicates and
 * _delivery_latency_seconds (labelled by sink and campaign) for sinks[0..n). */
void metrics_text_sinks(struct metrics_text *t, const struct metrics_sink *sinks, size_t n);

struct metrics_server;

/* metrics_http_start - listen on exactly the address spec (ADDR:PORT)
 * names and answer with libmicrohttpd's handler(cls, ...) from a thread of
 * its own (signals blocked there), at most conn_limit connections at once;
 * "ADDR:PORT" listened on goes in address. For another server than
 * /metrics (the coordinator's --web): what names the option in errors.
 * The caller owns the daemon (MHD_stop_daemon). NULL on error, why in err. */
struct MHD_Daemon *metrics_http_start(const char *spec, const char *what,
                                      MHD_AccessHandlerCallback handler, void *cls, unsigned conn_limit,
                                      char *address, size_t addrlen, char *err, size_t errlen);

/* metrics_addr_check - 0 when spec is ADDR:PORT or [V6ADDR]:PORT (port
 * 0..65535, 0: any free one), else -EINVAL with the problem in err. */
int metrics_addr_check(const char *spec, char *err, size_t errlen);

/* metrics_start - listen on exactly the address spec names and serve the
 * published text at /metrics from a thread of its own (signals blocked
 * there). Until the first metrics_publish it serves an empty document. The
 * caller owns the server (metrics_stop). NULL on error, with why in err. */
struct metrics_server *metrics_start(const char *spec, char *err, size_t errlen);

/* metrics_address - "ADDR:PORT" the server listens on (the port the system
 * chose when spec said 0). Static to the server; valid until metrics_stop. */
const char *metrics_address(const struct metrics_server *m);

/* metrics_publish - serve a copy of t from now on. Returns 0, -EINVAL when
 * t failed (out of memory while building: the last text stays), -ENOMEM. */
int metrics_publish(struct metrics_server *m, const struct metrics_text *t);

/* metrics_scrapes - how many /metrics requests were answered. Any thread. */
uint64_t metrics_scrapes(struct metrics_server *m);

/* metrics_stop - stop the thread, close the socket and free m; NULL is harmless. */
void metrics_stop(struct metrics_server *m);

#endif
