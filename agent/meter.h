/* meter.h - what one agent engine records: the cumulative counters and
 * histograms of its run, and the same by event time, one row for every
 * second of the campaign. Written by the engine's loop thread alone and
 * without a lock; published for other threads once a second (meter_tick)
 * and at the end (meter_finish), the only times the lock is taken. Reads
 * no clock: the loop's timer says when a second has ended, so an event
 * counts in the second during which its loop iteration ran.
 *
 *     meter_init(&m);                          owner, before the loop runs it
 *     meter_begin(&m, origin_ns, now);         loop thread, at the start
 *     meter_accepted(&m, message_ns); ...      loop thread, per event
 *     meter_tick(&m, now);                     loop thread, once a second
 *     meter_finish(&m);                        loop thread, at the end
 *     meter_snapshot(&m, &stats);              any thread
 *     meter_take(&m, from_t, fn, arg);         any thread: closed rows
 *     meter_destroy(&m);                       when no thread uses it */
#ifndef SMTPSTORM_AGENT_METER_H
#define SMTPSTORM_AGENT_METER_H

#include <pthread.h>
#include <stdint.h>

#include "hist.h"
#include "stats.h"

#define METER_WINDOW 8          /* closed seconds a reader can still take */

/* One second: its counts and the whole-message latency (microseconds) of
 * the messages accepted in it. */
struct meter_second {
    struct stats_second n;
    uint64_t last_ns;           /* the last message accepted in it, ns after the origin; 0: none */
    struct hist message;
};

struct meter {
    uint64_t origin_ns;             /* monotonic: second t ends at origin + t s */
    uint64_t close_ns;              /* when the second being filled ends */
    uint32_t first;                 /* the first second this meter filled */
    uint32_t open_conns;            /* connections open now */
    int begun, ended;
    struct load_stats live;         /* loop thread only */
    struct meter_second cur;        /* the second being filled: cur.n.t */
    pthread_mutex_t lock;           /* guards what follows */
    struct load_stats pub;          /* live as of the last publication */
    struct meter_second ring[METER_WINDOW];  /* closed second t at [t % METER_WINDOW] */
    uint32_t closed;                /* seconds before this one are closed */
    int pub_live;                   /* begun and not ended */
};

/* meter_init - an empty meter (its seconds start at meter_begin).
 * Returns 0 or -errno. */
int meter_init(struct meter *m);

/* meter_begin - count seconds from monotonic origin_ns, starting now
 * (before the origin: row 0). Before anything is recorded. */
void meter_begin(struct meter *m, uint64_t origin_ns, uint64_t now_ns);

/* meter_destroy - release what meter_init took. */
void meter_destroy(struct meter *m);

/* Recording: loop thread only, no lock, no clock. */

/* meter_latency - one latency of phase, in ns (kept in us). */
static inline void meter_latency(struct meter *m, enum stats_phase phase, uint64_t ns)
{
    hist_record(&m->live.latency[phase], ns / 1000);
}

/* meter_reply - one server reply with this code. */
static inline void meter_reply(struct meter *m, int code)
{
    stats_count_reply(&m->live, code);
    if (code >= 400 && code < 500)
        m->cur.n.replies_4xx++;
    else if (code >= 500 && code < 600)
        m->cur.n.replies_5xx++;
}

/* meter_error - one error of this kind. */
void meter_error(struct meter *m, enum stats_error kind);

/* meter_attempted - a transaction began (MAIL sent). */
static inline void meter_attempted(struct meter *m)
{
    m->live.messages_attempted++;
    m->cur.n.attempted++;
}

/* meter_accepted - a message's end of data got a positive reply at
 * monotonic now_ns; message_ns is its whole transaction's latency. */
void meter_accepted(struct meter *m, uint64_t now_ns, uint64_t message_ns);

/* meter_rejected - a transaction ended refused. */
static inline void meter_rejected(struct meter *m)
{
    m->live.messages_rejected++;
    m->cur.n.rejected++;
}

/* meter_body - a message begun has a body of octets drawn (--size). */
static inline void meter_body(struct meter *m, uint64_t octets) { hist_record(&m->live.body_sizes, octets); }

/* meter_unfinished - a begun transaction ended neither accepted nor rejected. */
static inline void meter_unfinished(struct meter *m) { m->live.messages_unfinished++; }

/* meter_recipient - a recipient was accepted. */
static inline void meter_recipient(struct meter *m) { m->live.recipients++; }

/* meter_tls_resumed - a TLS handshake resumed a session. */
static inline void meter_tls_resumed(struct meter *m) { m->live.tls_resumed++; }

/* meter_bytes - n octets written to the server. */
static inline void meter_bytes(struct meter *m, uint64_t n) { m->live.bytes += n; }

/* meter_session - a session completed or failed. */
static inline void meter_session(struct meter *m) { m->live.sessions++; }

/* meter_conn_opened, meter_conn_closed - a connection's socket was opened
 * or closed (sessions_active is the difference at each second's end). */
static inline void meter_conn_opened(struct meter *m) { m->open_conns++; }
static inline void meter_conn_closed(struct meter *m) { if (m->open_conns > 0) m->open_conns--; }

/* meter_tick - close and publish every second that ended by now_ns;
 * returns when the next one ends (monotonic), for the caller's timer. */
uint64_t meter_tick(struct meter *m, uint64_t now_ns);

/* meter_finish - close the second being filled (however short) and
 * publish everything: the meter is final. */
void meter_finish(struct meter *m);

/* Reading: any thread. */

/* meter_snapshot - the cumulative counters as last published into out
 * (caller-owned). */
void meter_snapshot(struct meter *m, struct load_stats *out);

/* meter_take - call fn(arg, row) for each closed second from from_t on that
 * the meter still holds (at most METER_WINDOW), in order, under the lock
 * (fn must be quick and must not call back). Returns the first second not
 * yet closed; *live is set nonzero between meter_begin and meter_finish
 * (while later rows may still come). */
uint32_t meter_take(struct meter *m, uint32_t from_t,
                    void (*fn)(void *arg, const struct meter_second *row), void *arg, int *live);

#endif
