/* engine.h - the SMTP/LMTP load engine of smtpstorm-agent: runs one
 * workload on one event loop (many sessions, one thread), records every
 * count and latency into its own struct load_stats, and lets any thread
 * take a cumulative snapshot or stop it. The standalone program runs one
 * engine per --threads loop (agent/runner.c); a daemon mode can run the
 * same engine from a link module. Knows nothing of ZeroMQ or protobuf.
 *
 * Life cycle (loop thread unless noted):
 *     e = engine_new(loop, &workload, &hooks, err, sizeof(err));
 *     engine_start(e, start_ns);          then ev_run(loop) dispatches it
 *     engine_snapshot(e, &stats);         any thread, any time
 *     engine_stop(e, 0);                  any thread: drain; 1: abort now
 *     hooks.on_done(arg)                  loop thread, once, when finished
 *     engine_free(e);                     after the loop stopped running it */
#ifndef SMTPSTORM_AGENT_ENGINE_H
#define SMTPSTORM_AGENT_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "ev.h"
#include "meter.h"
#include "stats.h"
#include "workload.h"

struct engine;
struct session;
struct session_job;

/* Callbacks into the engine's owner; each runs on the loop thread and may
 * be NULL. */
struct engine_hooks {
    void (*on_dot)(void *arg);                      /* end of data sent (smtp-source -c) */
    void (*on_done)(void *arg);                     /* every session has ended */
    void (*on_fatal)(void *arg, const char *msg);   /* aborted: unexpected reply without -A */
    void *arg;
};

#define ENGINE_FATAL_MAX 512

/* engine_new - an engine for workload w on loop; w (and what it points to)
 * must outlive the engine. Resolves the target. The caller owns the engine
 * (engine_free). NULL on error with a message in err. */
struct engine *engine_new(struct ev_loop *loop, const struct workload *w,
                          const struct engine_hooks *hooks, char *err, size_t errlen);

/* engine_start - begin: message 0 is due at monotonic start_ns (0: now);
 * sessions connect as messages become due. Returns 0 or -errno. */
int engine_start(struct engine *e, uint64_t start_ns);

/* engine_snapshot - copy the cumulative counters and histograms into out
 * (which the caller owns), as published at the last second's end or at
 * the end. Safe from any thread. */
void engine_snapshot(struct engine *e, struct load_stats *out);

/* engine_take_seconds - the event-time rows the engine has closed from
 * second from_t on (meter_take); any thread. Returns the first second not
 * closed; *live is nonzero while the engine runs. */
uint32_t engine_take_seconds(struct engine *e, uint32_t from_t,
                             void (*fn)(void *arg, const struct meter_second *row), void *arg,
                             int *live);

/* engine_stop - from any thread: start no more messages and let sessions
 * finish the one in hand and QUIT (abort 0), or close every connection at
 * once (abort 1). on_done follows. */
void engine_stop(struct engine *e, int abort);

/* engine_done - nonzero once every session has ended. Any thread. */
int engine_done(const struct engine *e);

/* engine_fatal - the reason the engine aborted, or NULL. Loop thread, or
 * any thread after on_done. */
const char *engine_fatal(const struct engine *e);

/* engine_free - close what is left and release e; NULL is harmless. */
void engine_free(struct engine *e);

/* For agent/session.c only: */

/* engine_session_ready - s can take a job now (it gets one through
 * session_run, now or when due, or session_finish). */
void engine_session_ready(struct engine *e, struct session *s);

/* engine_session_closed - s finished or aborted and will do nothing more. */
void engine_session_closed(struct engine *e, struct session *s);

/* engine_take_job - a message due right now for a session that can send
 * it at once (pipelining behind its previous one): 1 with *job filled, or
 * 0 when none is due now, other sessions wait, or the engine stops. */
int engine_take_job(struct engine *e, struct session_job *job);

/* engine_has_more - nonzero while messages may still be handed out. */
int engine_has_more(const struct engine *e);

/* engine_abort_run - an unexpected reply without -A: report msg through
 * on_fatal and abort every session. */
void engine_abort_run(struct engine *e, const char *msg);

/* engine_next_rcpt_number - the next -N recipient number. */
uint64_t engine_next_rcpt_number(struct engine *e);

/* engine_dot_sent - an end of data was sent (drives on_dot). */
void engine_dot_sent(struct engine *e);

/* engine_date - the Date: header value for now (cached per second). */
const char *engine_date(struct engine *e);

/* engine_warn - print a warning unless this engine already printed
 * ENGINE_WARN_MAX of them (the summary has the counts). */
void engine_warn(struct engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ENGINE_WARN_MAX 10

/* Recording, from the loop thread: into the engine's meter, no lock. */

/* engine_record_latency - one latency of phase, in ns (kept in us). */
void engine_record_latency(struct engine *e, enum stats_phase phase, uint64_t ns);

/* engine_count_reply - one server reply with this code. */
void engine_count_reply(struct engine *e, int code);

/* engine_count_error - one error of this kind. */
void engine_count_error(struct engine *e, enum stats_error kind);

/* engine_count_bytes - n octets written to the server. */
void engine_count_bytes(struct engine *e, uint64_t n);

/* engine_count_accepted - a message's end of data got a positive reply at
 * monotonic now_ns; message_ns is its whole transaction's latency. */
void engine_count_accepted(struct engine *e, uint64_t now_ns, uint64_t message_ns);

enum engine_counter {
    COUNT_SESSION, COUNT_ATTEMPTED, COUNT_REJECTED, COUNT_RECIPIENT,
    COUNT_CONN_OPENED, COUNT_CONN_CLOSED,   /* a session's socket opened, closed */
    COUNT_UNFINISHED                        /* a begun transaction cut short */
};

/* engine_count - add one to the counter named by which. */
void engine_count(struct engine *e, enum engine_counter which);

#endif
