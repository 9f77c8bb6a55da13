/* loop.h - what server.c and conn.c share about one event loop: its
 * counters (single writer, relaxed atomics), its tally, its connection
 * pool. Private to sink/. */
#ifndef SMTPSTORM_SINK_LOOP_H
#define SMTPSTORM_SINK_LOOP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "behaviour.h"
#include "bufpool.h"
#include "config.h"
#include "dump.h"
#include "ev.h"
#include "session.h"
#include "tally.h"

struct sink_server;
struct sink_conn;
struct tls_server;

#define LOOP_LISTEN_MAX ENDPOINT_LISTEN_MAX

struct loop_counters {
    _Atomic uint64_t sessions, quits, messages, active, accepted, bytes;
    _Atomic uint64_t dump_errors, timeouts, tls_handshakes, tls_failures, tls_resumed;
    _Atomic uint64_t auth_successes, auth_failures;
    _Atomic uint64_t behaviour[BEHAVIOUR_OUT_COUNT];   /* what the rules did */
};

struct sink_loop {
    struct sink_server *srv;
    const struct sink_config *cfg;
    struct ev_loop *ev;
    pthread_t thread;
    int index;
    int fds[LOOP_LISTEN_MAX];       /* listeners this loop accepts on */
    int nfds;
    int accepting;                  /* listeners are watched */
    struct dump_writer *dump;
    struct tally *tally;
    struct tls_server *tls;
    struct sink_session_common common;   /* what its sessions share: EHLO, buffer pools */
    struct bufpool in_pool;         /* input buffers, taken while input waits (conn.c) */
    struct sink_conn *free_conns;        /* reused connection objects */
    struct sink_conn *active_conns;      /* open sessions */
    int shutting;                   /* closing everything: no accounting */
    uint64_t rng;
    /* --behaviour: the rules new sessions get (the loop's reference), the
     * next ones a reload left here (any thread stores, the loop takes), the
     * draws, the process's greylist and the clock */
    struct behaviour *beh;
    _Atomic(struct behaviour *) beh_next;
    struct behaviour_env benv;
    struct loop_counters c;
};

/* loop_bump - single-writer increment, visible to relaxed readers. */
static inline void loop_bump(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* loop_conn_closed - conn.c tells the loop a session ended (counters, -c,
 * -n, -m). */
void loop_conn_closed(struct sink_loop *loop, int quit_seen);

/* loop_message - conn.c tells the loop a message arrived; returns 1 when
 * -M is reached and the process must end once the reply is sent. */
int loop_message(struct sink_loop *loop, const struct trace *tr, uint64_t bytes, int dump_error);

/* loop_quit - a QUIT was answered. */
void loop_quit(struct sink_loop *loop);

/* loop_auth - an AUTH exchange ended, with 235 (ok) or not. */
void loop_auth(struct sink_loop *loop, int ok);

/* loop_behaviour - the rules a session starting now gets: the newest a
 * reload left, else the loop's (NULL: none). Valid while the loop runs
 * and until the next call; take a reference to keep it longer. */
struct behaviour *loop_behaviour(struct sink_loop *loop);

/* loop_exit - end the process's service (all loops). */
void loop_exit(struct sink_loop *loop);

/* sink_conn_start - serve accepted socket fd from peer text addr on loop. The
 * connection object comes from the loop's pool. Returns 0 or -errno (fd
 * is closed then). */
int sink_conn_start(struct sink_loop *loop, int fd, const char *addr, int family);

/* sink_conn_pool_init - the loop's pool of input buffers; 0 or -ENOMEM. */
int sink_conn_pool_init(struct sink_loop *loop);

/* sink_conn_pool_free - close the loop's open sessions and release its pooled
 * connection objects and input buffers. */
void sink_conn_pool_free(struct sink_loop *loop);

#endif
