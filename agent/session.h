/* session.h - one SMTP/LMTP client connection of smtpstorm-agent: connect,
 * banner, HELO/EHLO/LHLO, STARTTLS, AUTH, then transactions (MAIL, RCPT,
 * DATA or BDAT, optionally pipelined) as agent/engine.c hands them out,
 * and QUIT. Event-driven on the engine's loop; records into the engine's
 * counters. Internal to agent/: only engine.c calls these. */
#ifndef SMTPSTORM_AGENT_SESSION_H
#define SMTPSTORM_AGENT_SESSION_H

#include <stdint.h>

#include "endpoint.h"
#include "ev.h"
#include "workload.h"

struct engine;
struct session;

/* One message to send. */
struct session_job {
    uint64_t due_ns;            /* when it was due (monotonic): latency starts here */
    uint64_t seq;               /* trace sequence number */
    unsigned remaining;         /* messages left after this one (Message-Id, as smtp-source) */
};

/* session_new - a session slot that is not connected yet; the caller owns
 * it (session_free). addr is the resolved target (kept by pointer). NULL
 * when out of memory. */
struct session *session_new(struct engine *eng, struct ev_loop *loop, const struct workload *w,
                            const struct endpoint_addr *addr, int index);

/* session_run - send job: connect first if not connected. The session
 * calls engine_session_ready when it can take another job, and
 * engine_session_closed when session_finish has completed. */
void session_run(struct session *s, const struct session_job *job);

/* session_finish - no more jobs: QUIT if connected, then report closed. */
void session_finish(struct session *s);

/* session_abort - close the connection now, stop timers, report closed. */
void session_abort(struct session *s);

/* session_free - release s; it must be closed (finished or aborted). */
void session_free(struct session *s);

#endif
