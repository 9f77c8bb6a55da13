/* conn.c - one client connection of smtpstorm-sink: reads and writes
 * through lib/transport (plain, or TLS after STARTTLS), the -t timer and
 * the delay timer, driving a session (session.c). Replies of a whole read
 * are sent with one write. */
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "loop.h"
#include "session.h"
#include "tls.h"
#include "transport.h"

#define SINK_CONN_IN_SIZE (64 * 1024)    /* one read; the session keeps nothing of it */
#define SINK_CONN_IN_KEEP 16             /* free input buffers kept resident a loop */

enum { SINK_TLS_NONE, SINK_TLS_HANDSHAKE, SINK_TLS_UP };

struct sink_conn {
    struct sink_loop *loop;
    struct sink_conn *next;              /* pool link, or active list */
    struct sink_conn *prev;              /* active list */
    struct transport tr;            /* the socket, and TLS after STARTTLS */
    int family;
    int tls_state;
    int paused;                     /* waiting for the delay timer */
    int closing;                    /* close once the output is sent */
    int starttls;                   /* start TLS once the output is sent */
    int exit_after;                 /* -M reached: end the process after the reply */
    int quit_seen;
    int timed_out;
    int nodelay;                    /* TCP_NODELAY is set, or not for this socket */
    size_t in_pos, in_len;
    char *in;                       /* from the loop's pool while input waits, else NULL */
    struct ev_timer idle;           /* may fire before idle_due_ns: see sink_conn_arm_idle */
    uint64_t idle_due_ns;           /* when -t runs out, from the last read or write */
    struct ev_timer delay;
    struct behaviour *beh;          /* the rules of this session (a reference), NULL: none */
    struct sink_session s;
};

static void sink_conn_update(struct sink_conn *c);
static void sink_conn_process(struct sink_conn *c);

/* sink_conn_in_give_back - all input is used: the buffer goes back to the
 * loop's pool, so that an idle connection holds none. */
static void sink_conn_in_give_back(struct sink_conn *c)
{
    c->in_pos = c->in_len = 0;
    bufpool_put(&c->loop->in_pool, c->in);
    c->in = NULL;
}

/* ---- hooks from the session ---- */

static void hook_message(void *arg, const struct trace *tr, uint64_t bytes, int dump_error)
{
    struct sink_conn *c = arg;

    if (loop_message(c->loop, tr, bytes, dump_error))
        c->exit_after = 1;
}

static void hook_quit(void *arg)
{
    struct sink_conn *c = arg;

    c->quit_seen = 1;
    loop_quit(c->loop);
}

static void hook_auth(void *arg, int ok)
{
    struct sink_conn *c = arg;

    loop_auth(c->loop, ok);
}

/* ---- life cycle ---- */

static void sink_conn_close(struct sink_conn *c)
{
    struct sink_loop *loop = c->loop;

    assert(c->tr.fd >= 0);          /* closed once, from the active list */
    assert(c->prev ? c->prev->next == c : loop->active_conns == c);
    ev_timer_stop(loop->ev, &c->idle);
    ev_timer_stop(loop->ev, &c->delay);
    ev_io_forget(loop->ev, c->tr.fd);  /* closing it below takes it out of epoll */
    sink_session_end(&c->s);
    sink_conn_in_give_back(c);
    behaviour_unref(c->beh);
    c->beh = NULL;
    transport_close(&c->tr);
    if (c->prev)
        c->prev->next = c->next;
    else
        loop->active_conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = NULL;
    if (loop->cfg->verbose)
        log_info("disconnect");
    if (c->timed_out)
        loop_bump(&loop->c.timeouts, 1);
    c->next = loop->free_conns;
    loop->free_conns = c;
    loop_conn_closed(loop, c->quit_seen);
    if (c->exit_after)
        loop_exit(loop);
}

/* sink_conn_act - do what the session said to do next (st): close or start
 * TLS once the output is sent, or pause until the delay timer fires. */
static void sink_conn_act(struct sink_conn *c, enum sink_session_status st)
{
    switch (st) {
    case SINK_SESSION_MORE:
        break;
    case SINK_SESSION_PAUSE:
        c->paused = 1;
        ev_timer_start(c->loop->ev, &c->delay, sink_session_delay_ms(&c->s) * NS_PER_MS);
        break;
    case SINK_SESSION_CLOSE:
        c->closing = 1;
        break;
    case SINK_SESSION_STARTTLS:
        c->starttls = 1;
        break;
    }
}

/* sink_conn_arm_idle - (re)start the -t time limit. Only its due time
 * moves (a read or a write is several a message); the timer is armed when
 * it is not, and moved when it fires early (as wrk and the agent do). */
static void sink_conn_arm_idle(struct sink_conn *c)
{
    c->idle_due_ns = ev_now(c->loop->ev) + (uint64_t)c->loop->cfg->timeout_s * NS_PER_SEC;
    if (!ev_timer_armed(&c->idle))
        ev_timer_start_at(c->loop->ev, &c->idle, c->idle_due_ns);
}

static void on_idle(struct ev_loop *ev, void *arg)
{
    struct sink_conn *c = arg;

    if (c->idle_due_ns > ev_now(ev)) {      /* moved since it was armed */
        ev_timer_start_at(ev, &c->idle, c->idle_due_ns);
        return;
    }
    log_warn("read timeout");
    c->timed_out = 1;
    sink_conn_close(c);
}

static void on_delay(struct ev_loop *ev, void *arg)
{
    struct sink_conn *c = arg;

    (void)ev;
    assert(c->paused);              /* the delay timer runs only while paused */
    c->paused = 0;
    sink_conn_act(c, sink_session_resume(&c->s));
    sink_conn_process(c);
}

/* ---- I/O ---- */

/* sink_conn_nodelay - TCP_NODELAY once the client pipelines (issue 19). Nagle
 * holds a write while an earlier one is unacknowledged, and a client that
 * has sent all it has delays that ACK by 40 ms (Linux's minimum). Replies
 * sent mid-input are such an earlier write: captured on lo with `agent -s
 * 1 -d --pipelining --chunking -l 102400`, the 250s to MAIL and RCPT went
 * after the first 64 KB read of the group, BDAT's 250 when the chunk
 * ended, and that second write waited 43.5-44 ms for the agent's pure ACK
 * of the first, once for every two messages (it keeps two in flight): 45
 * msg/s, dot p50 44 ms. A lock-step client never gets here, so it keeps
 * Nagle and the very segments and calls it had (docs/benchmarks.md).
 * MSG_MORE still holds the 221 for the FIN: tcp_push corks on MSG_MORE
 * whatever TCP_NODELAY says. A TLS session sets it too, once its handshake
 * is done (sink_conn_handshake). A failure costs latency only: said once. */
static void sink_conn_nodelay(struct sink_conn *c)
{
    static atomic_int warned;
    int on = 1;

    c->nodelay = 1;
    if (setsockopt(c->tr.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0
        && atomic_exchange(&warned, 1) == 0)
        log_warn("TCP_NODELAY for %s: %s (pipelined replies may wait 40 ms for ACKs)", c->s.addr,
                 strerror(errno));
}

/* sink_conn_flush - send what the session has; 0 when all sent, -EAGAIN when
 * the socket is full, or -errno. */
static int sink_conn_flush(struct sink_conn *c)
{
    const char *out;
    size_t len;
    ssize_t n;
    int more;

    /* After QUIT with nothing unread, the 221 waits (MSG_MORE) for the
     * close() that follows, so the FIN rides in its segment: one segment
     * less per session. Not on other closes: close() with unread input
     * resets the connection and would drop a reply still queued. */
    more = c->quit_seen && c->closing && c->in_pos == c->in_len;
    if (!c->nodelay && (sink_session_output(&c->s, &len), len > 0) && sink_session_mid_input(&c->s))
        sink_conn_nodelay(c);
    while ((out = sink_session_output(&c->s, &len)), len > 0) {
        if ((n = transport_write(&c->tr, out, len, more)) < 0)
            return (int)n;
        sink_session_output_consume(&c->s, (size_t)n);
        sink_conn_arm_idle(c);
    }
    return 0;
}

static void sink_conn_handshake(struct sink_conn *c)
{
    char err[256];
    int rc = transport_tls_handshake(&c->tr, err, sizeof(err));

    if (rc < 0) {
        loop_bump(&c->loop->c.tls_failures, 1);
        log_warn("TLS handshake with %s failed: %s", c->s.addr, err);
        sink_conn_close(c);
        return;
    }
    if (rc == 1) {
        c->tls_state = SINK_TLS_UP;
        /* the handshake's last flight (TLS 1.3's tickets) is unacknowledged,
         * and Nagle would hold the reply to the client's EHLO behind it for
         * the client's delayed ACK: 44 ms a session (captured: agent
         * --starttls, 44 msg/s on one session) */
        if (!c->nodelay)
            sink_conn_nodelay(c);
        loop_bump(&c->loop->c.tls_handshakes, 1);
        if (transport_tls_resumed(&c->tr))
            loop_bump(&c->loop->c.tls_resumed, 1);
        sink_session_tls_started(&c->s);
    }
    sink_conn_update(c);
}

static void sink_conn_start_tls(struct sink_conn *c)
{
    char err[256];

    assert(c->tls_state == SINK_TLS_NONE);  /* the session refuses a second STARTTLS */
    c->starttls = 0;
    sink_conn_in_give_back(c);      /* no plaintext may cross into TLS */
    if (transport_tls_accept(&c->tr, tls_server_ctx(c->loop->tls), err, sizeof(err)) != 0) {
        loop_bump(&c->loop->c.tls_failures, 1);
        log_warn("TLS with %s: %s", c->s.addr, err);
        sink_conn_close(c);
        return;
    }
    c->tls_state = SINK_TLS_HANDSHAKE;
    sink_conn_handshake(c);
}

/* sink_conn_follow_rules - an open session takes over the loop's newest
 * rules (a phase's behaviour sent by the coordinator, a reload, none any
 * more) between two transactions, so that a client keeping its connection
 * across a phase boundary (an MTA's connection cache) gets the new phase's
 * behaviour from its next MAIL; "intake: paused" it takes over before its
 * next command, wherever it is (it then answers 421 and closes). Called
 * only between replies, when nothing of the session points into its old
 * rules (no reply pending). What the old rules decided for the session
 * (tarpit, bandwidth) ends with them. */
static void sink_conn_follow_rules(struct sink_conn *c)
{
    struct behaviour *b = loop_behaviour(c->loop);

    if (b == c->beh)
        return;
    if (!(b != NULL && behaviour_paused(b)) && !sink_session_between_transactions(&c->s))
        return;
    behaviour_unref(c->beh);
    c->beh = b ? behaviour_ref(b) : NULL;
    sink_session_set_behaviour(&c->s, c->beh, &c->loop->benv);
}

/* sink_conn_process - feed buffered input, send replies, act on the status. */
static void sink_conn_process(struct sink_conn *c)
{
    enum sink_session_status st;
    size_t used;
    int e;

    while (c->in_pos < c->in_len && !c->paused && !c->closing && !c->starttls) {
        sink_conn_follow_rules(c);
        used = sink_session_feed(&c->s, c->in + c->in_pos, c->in_len - c->in_pos, &st);
        c->in_pos += used;
        sink_conn_act(c, st);
        if (st == SINK_SESSION_MORE && used == 0 && sink_conn_flush(c) != 0)
            break;          /* replies wait for the socket; input waits for them */
    }
    if (c->in_pos == c->in_len)
        sink_conn_in_give_back(c);
    e = sink_conn_flush(c);
    if (e != 0 && e != -EAGAIN) {
        sink_conn_close(c);
        return;
    }
    if (e == 0 && c->exit_after) {
        c->exit_after = 0;
        loop_exit(c->loop);
    }
    if (e == 0 && c->closing) {
        sink_conn_close(c);
        return;
    }
    if (e == 0 && c->starttls) {
        sink_conn_start_tls(c);
        return;
    }
    sink_conn_update(c);
}

static void on_io(struct ev_loop *ev, int fd, unsigned events, void *arg)
{
    struct sink_conn *c = arg;
    ssize_t n;

    (void)ev;
    (void)fd;
    (void)events;
    if (c->tls_state == SINK_TLS_HANDSHAKE) {
        sink_conn_handshake(c);
        return;
    }
    if (c->in_len == 0 && !c->paused && !c->closing && !c->starttls) {
        if (c->in == NULL && (c->in = bufpool_get(&c->loop->in_pool)) == NULL) {
            log_warn("no memory for input from %s", c->s.addr);
            sink_conn_close(c);
            return;
        }
        n = transport_read(&c->tr, c->in, SINK_CONN_IN_SIZE);
        if (n == 0 || (n < 0 && n != -EAGAIN)) {
            sink_conn_close(c);
            return;
        }
        if (n > 0) {
            c->in_len = (size_t)n;
            sink_conn_arm_idle(c);
        }
    }
    sink_conn_process(c);
}

/* sink_conn_update - watch for what the connection waits on; arm -t. The
 * first watch of a new connection can be refused (ev_io_set: ENOSPC past
 * fs.epoll.max_user_watches): that connection is closed, said once a
 * connection. May close c: callers touch c no more. */
static void sink_conn_update(struct sink_conn *c)
{
    size_t out_len;
    unsigned events = 0;
    int rc;

    if (c->tls_state == SINK_TLS_HANDSHAKE) {
        events = c->tr.tls_want_write ? EV_WRITE : EV_READ;
    } else {
        sink_session_output(&c->s, &out_len);
        if (out_len > 0)
            events |= EV_WRITE;
        if (!c->paused && !c->closing && !c->starttls && c->in_len == 0)
            events |= EV_READ;
    }
    if ((rc = ev_io_set(c->loop->ev, c->tr.fd, events, on_io, c)) != 0) {
        log_warn("cannot watch the connection from %s: %s", c->s.addr, strerror(-rc));
        sink_conn_close(c);
        return;
    }
    if (c->paused)
        ev_timer_stop(c->loop->ev, &c->idle);
    else if (!ev_timer_armed(&c->idle))
        sink_conn_arm_idle(c);
    /* TLS may hold decrypted bytes the socket no longer signals. */
    if (c->tls_state == SINK_TLS_UP && (events & EV_READ) && transport_pending(&c->tr) > 0)
        on_io(c->loop->ev, c->tr.fd, EV_READ, c);
}

/* sink_conn_get - a connection object from the pool or a new one. */
static struct sink_conn *sink_conn_get(struct sink_loop *loop)
{
    static const struct sink_session_hooks hooks = { hook_message, hook_quit, hook_auth };
    struct sink_conn *c = loop->free_conns;

    if (c) {
        loop->free_conns = c->next;
        return c;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return NULL;
    sink_session_init(&c->s, &loop->common, &hooks, c, loop->rng++);
    c->loop = loop;
    ev_timer_init(&c->idle, on_idle, c);
    ev_timer_init(&c->delay, on_delay, c);
    return c;
}

int sink_conn_start(struct sink_loop *loop, int fd, const char *addr, int family)
{
    struct sink_conn *c = sink_conn_get(loop);

    if (c == NULL) {
        close(fd);
        return -ENOMEM;
    }
    c->prev = NULL;
    c->next = loop->active_conns;
    if (c->next)
        c->next->prev = c;
    loop->active_conns = c;
    transport_init(&c->tr, fd);
    c->family = family;
    c->tls_state = SINK_TLS_NONE;
    c->paused = c->closing = c->starttls = c->exit_after = c->quit_seen = c->timed_out = 0;
    c->nodelay = family != AF_INET && family != AF_INET6;
    assert(c->in == NULL && c->in_len == 0);    /* given back at close */
    c->beh = loop_behaviour(loop);
    if (c->beh)
        behaviour_ref(c->beh);
    sink_session_set_behaviour(&c->s, c->beh, &loop->benv);
    sink_conn_act(c, sink_session_start(&c->s, addr));
    sink_conn_process(c);
    return 0;
}

void sink_conn_pool_free(struct sink_loop *loop)
{
    struct sink_conn *c;

    loop->shutting = 1;
    while (loop->active_conns)
        sink_conn_close(loop->active_conns);

    while ((c = loop->free_conns) != NULL) {
        loop->free_conns = c->next;
        sink_session_release(&c->s);
        free(c);
    }
    bufpool_destroy(&loop->in_pool);
}

int sink_conn_pool_init(struct sink_loop *loop)
{
    return bufpool_init(&loop->in_pool, SINK_CONN_IN_SIZE, SINK_CONN_IN_KEEP);
}
