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

/* engine_fatal - the reason the engine aborted, or NULL; owned by e,
 * valid until engine_free. Loop thread, or any thread after on_done. */
const char *engine_fatal(const struct engine *e);

/* engine_free - close what is left and release e; NULL is harmless. */
void engine_free(struct engine *e);

#endif
