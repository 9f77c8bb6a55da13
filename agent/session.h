/* session.h - one SMTP/LMTP client connection of smtpstorm-agent: the
 * driver of a dialogue (agent/dialogue.c). It owns the socket: connect
 * (with -t retries), STARTTLS's handshake, reads, writes, the timeout and
 * the -w/-R delay, on its owner's loop; the dialogue decides every byte.
 * It talks to its owner (agent/engine.c) through struct
 * agent_session_hooks alone and records into the owner's meter. */
#ifndef SMTPSTORM_AGENT_SESSION_H
#define SMTPSTORM_AGENT_SESSION_H

#include <stdint.h>

#include "bufpool.h"
#include "dialogue.h"
#include "endpoint.h"
#include "ev.h"
#include "meter.h"
#include "transport.h"
#include "workload.h"

struct agent_session;

/* What a session asks of its owner; every callback runs on the loop
 * thread with the arg given to agent_session_new. */
struct agent_session_hooks {
    struct dialogue_hooks dialogue;     /* passed on to the session's dialogue */
    /* s can take a message at now (monotonic, the time of the event that
     * freed it: no clock read of its own): agent_session_run (now or when
     * due) or agent_session_finish */
    void (*ready)(void *arg, struct agent_session *s, uint64_t now);
    /* s finished or aborted and will do nothing more */
    void (*closed)(void *arg, struct agent_session *s);
    /* an unexpected reply without -A: stop the whole run, saying msg */
    void (*abort_run)(void *arg, const char *msg);
    /* the local address a new connection binds to (--source), valid
     * while the workload is; NULL: the system's choice */
    const struct endpoint_addr *(*source)(void *arg);
    /* --tls-resume: the TLS session a new connection offers and the next
     * one's is kept in, shared by the loop's sessions */
    struct transport_resume *(*tls_resume)(void *arg);
};

#define AGENT_SESSION_IN_MAX    4096   /* octets read per call */
#define AGENT_SESSION_POOL_KEEP 256    /* free buffers of each pool kept resident a loop */

/* The buffers the sessions of one loop take while they have data in
 * flight, so that an idle session holds none: reads, and each dialogue's
 * reply text and commands. */
struct agent_session_pools {
    struct bufpool input;       /* AGENT_SESSION_IN_MAX octets */
    struct bufpool dialogue;    /* dialogue_buffer_size(w) octets */
};

/* agent_session_pools_init - the pools for sessions of workload w;
 * 0 or -ENOMEM (then nothing needs releasing). */
int agent_session_pools_init(struct agent_session_pools *p, const struct workload *w);

/* agent_session_pools_release - free the pools; every session using them
 * must be freed first. */
void agent_session_pools_release(struct agent_session_pools *p);

/* agent_session_new - a session that is not connected yet, to addr (the
 * resolved target, kept by pointer, as are w, meter, pools and hooks,
 * which must outlive it). The caller owns it (agent_session_free). NULL
 * when out of memory. */
struct agent_session *agent_session_new(struct ev_loop *loop, const struct workload *w,
                                        const struct endpoint_addr *addr, int index,
                                        struct meter *meter, struct agent_session_pools *pools,
                                        const struct agent_session_hooks *hooks, void *arg);

/* agent_session_run - send job at now (monotonic, the caller's clock
 * read): connect first if not connected. */
void agent_session_run(struct agent_session *s, const struct dialogue_job *job, uint64_t now);

/* agent_session_finish - no more jobs: QUIT if connected, then closed. */
void agent_session_finish(struct agent_session *s);

/* agent_session_abort - count what has already arrived, close the
 * connection now, stop timers, then closed. */
void agent_session_abort(struct agent_session *s);

/* agent_session_free - release s; it must be closed (finished or aborted). */
void agent_session_free(struct agent_session *s);

#endif
