/* conn.c - one client connection of smtpstorm-sink: socket (or TLS) reads
 * and writes, the -t timer and the delay timer, driving a session
 * (session.c). Replies of a whole read are sent with one write. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "clock.h"
#include "log.h"
#include "loop.h"
#include "session.h"
#include "tls.h"

#define CONN_IN_SIZE (64 * 1024)    /* one read; the session keeps nothing of it */

enum { TLS_NONE, TLS_HANDSHAKE, TLS_UP };

struct conn {
    struct sink_loop *loop;
    struct conn *next;              /* pool link, or active list */
    struct conn *prev;              /* active list */
    int fd;
    int family;
    SSL *ssl;
    int tls_state;
    int paused;                     /* waiting for the delay timer */
    int closing;                    /* close once the output is sent */
    int starttls;                   /* start TLS once the output is sent */
    int exit_after;                 /* -M reached: end the process after the reply */
    int quit_seen;
    int timed_out;
    int nodelay;                    /* TCP_NODELAY is set, or not for this socket */
    size_t in_pos, in_len;
    char *in;
    struct ev_timer idle;
    struct ev_timer delay;
    struct session s;
};

static void conn_update(struct conn *c);
static void conn_process(struct conn *c);

/* ---- hooks from the session ---- */

static void hook_message(void *arg, const struct trace *tr, uint64_t bytes, int dump_error)
{
    struct conn *c = arg;

    if (loop_message(c->loop, tr, bytes, dump_error))
        c->exit_after = 1;
}

static void hook_quit(void *arg)
{
    struct conn *c = arg;

    c->quit_seen = 1;
    loop_quit(c->loop);
}

static void hook_auth(void *arg, int ok)
{
    struct conn *c = arg;

    loop_auth(c->loop, ok);
}

/* ---- life cycle ---- */

static void conn_close(struct conn *c)
{
    struct sink_loop *loop = c->loop;

    ev_timer_stop(loop->ev, &c->idle);
    ev_timer_stop(loop->ev, &c->delay);
    ev_io_forget(loop->ev, c->fd);     /* close() below takes it out of epoll */
    session_end(&c->s);
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    close(c->fd);
    c->fd = -1;
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

static void on_idle(struct ev_loop *ev, void *arg)
{
    struct conn *c = arg;

    (void)ev;
    log_warn("read timeout");
    c->timed_out = 1;
    conn_close(c);
}

static void on_delay(struct ev_loop *ev, void *arg)
{
    struct conn *c = arg;
    enum session_status st;

    (void)ev;
    c->paused = 0;
    st = session_resume(&c->s);
    if (st == SESSION_CLOSE)
        c->closing = 1;
    else if (st == SESSION_PAUSE)
        c->paused = 1;
    if (c->paused)
        ev_timer_start(c->loop->ev, &c->delay, session_delay_ms(&c->s) * NS_PER_MS);
    conn_process(c);
}

/* ---- I/O ---- */

/* conn_read_some - one read; bytes, 0 on EOF, -EAGAIN, or -errno. */
static ssize_t conn_read_some(struct conn *c, char *buf, size_t len)
{
    ssize_t n;
    int e;

    if (c->ssl) {
        n = SSL_read(c->ssl, buf, (int)len);
        if (n > 0)
            return n;
        e = SSL_get_error(c->ssl, (int)n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return -EAGAIN;
        ERR_clear_error();
        return e == SSL_ERROR_ZERO_RETURN ? 0 : -EPROTO;
    }
    n = read(c->fd, buf, len);
    if (n < 0)
        return errno == EINTR ? -EAGAIN : -errno;
    return n;
}

/* conn_nodelay - TCP_NODELAY once the client pipelines (issue 19). Nagle
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
 * whatever TCP_NODELAY says. A failure costs latency only: said once. */
static void conn_nodelay(struct conn *c)
{
    static atomic_int warned;
    int on = 1;

    c->nodelay = 1;
    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0
        && atomic_exchange(&warned, 1) == 0)
        log_warn("TCP_NODELAY for %s: %s (pipelined replies may wait 40 ms for ACKs)", c->s.addr,
                 strerror(errno));
}

/* conn_flush - send what the session has; 0 when all sent, -EAGAIN when
 * the socket is full, or -errno. */
static int conn_flush(struct conn *c)
{
    const char *out;
    size_t len;
    ssize_t n;
    int e, more;

    /* After QUIT with nothing unread, the 221 waits (MSG_MORE) for the
     * close() that follows, so the FIN rides in its segment: one segment
     * less per session. Not on other closes: close() with unread input
     * resets the connection and would drop a reply still queued. */
    more = c->quit_seen && c->closing && c->in_pos == c->in_len ? MSG_MORE : 0;
    if (!c->nodelay && (session_output(&c->s, &len), len > 0) && session_mid_input(&c->s))
        conn_nodelay(c);
    while ((out = session_output(&c->s, &len)), len > 0) {
        if (c->ssl) {
            n = SSL_write(c->ssl, out, (int)(len > 1 << 30 ? 1 << 30 : len));
            if (n <= 0) {
                e = SSL_get_error(c->ssl, (int)n);
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                    return -EAGAIN;
                ERR_clear_error();
                return -EPROTO;
            }
        } else {
            n = send(c->fd, out, len, MSG_NOSIGNAL | more);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
            }
        }
        session_output_consume(&c->s, (size_t)n);
        ev_timer_start(c->loop->ev, &c->idle, (uint64_t)c->loop->cfg->timeout_s * NS_PER_SEC);
    }
    return 0;
}

static void conn_handshake(struct conn *c)
{
    int r = SSL_do_handshake(c->ssl), e;

    if (r == 1) {
        c->tls_state = TLS_UP;
        loop_bump(&c->loop->c.tls_handshakes, 1);
        session_tls_started(&c->s);
        conn_update(c);
        return;
    }
    e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        conn_update(c);
        return;
    }
    ERR_clear_error();
    loop_bump(&c->loop->c.tls_failures, 1);
    log_warn("TLS handshake with %s failed", c->s.addr);
    conn_close(c);
}

static void conn_start_tls(struct conn *c)
{
    c->starttls = 0;
    c->in_pos = c->in_len = 0;      /* no plaintext may cross into TLS */
    if ((c->ssl = tls_session_new(c->loop->tls, c->fd)) == NULL) {
        loop_bump(&c->loop->c.tls_failures, 1);
        conn_close(c);
        return;
    }
    c->tls_state = TLS_HANDSHAKE;
    conn_handshake(c);
}

/* conn_process - feed buffered input, send replies, act on the status. */
static void conn_process(struct conn *c)
{
    enum session_status st;
    size_t used;
    int e;

    while (c->in_pos < c->in_len && !c->paused && !c->closing && !c->starttls) {
        used = session_feed(&c->s, c->in + c->in_pos, c->in_len - c->in_pos, &st);
        c->in_pos += used;
        if (st == SESSION_CLOSE)
            c->closing = 1;
        else if (st == SESSION_STARTTLS)
            c->starttls = 1;
        else if (st == SESSION_PAUSE) {
            c->paused = 1;
            ev_timer_start(c->loop->ev, &c->delay, session_delay_ms(&c->s) * NS_PER_MS);
        } else if (used == 0 && (e = conn_flush(c)) != 0) {
            break;          /* replies wait for the socket; input waits for them */
        }
    }
    if (c->in_pos == c->in_len)
        c->in_pos = c->in_len = 0;
    e = conn_flush(c);
    if (e != 0 && e != -EAGAIN) {
        conn_close(c);
        return;
    }
    if (e == 0 && c->exit_after) {
        c->exit_after = 0;
        loop_exit(c->loop);
    }
    if (e == 0 && c->closing) {
        conn_close(c);
        return;
    }
    if (e == 0 && c->starttls) {
        conn_start_tls(c);
        return;
    }
    conn_update(c);
}

static void on_io(struct ev_loop *ev, int fd, unsigned events, void *arg)
{
    struct conn *c = arg;
    ssize_t n;

    (void)ev;
    (void)fd;
    (void)events;
    if (c->tls_state == TLS_HANDSHAKE) {
        conn_handshake(c);
        return;
    }
    if (c->in_len == 0 && !c->paused && !c->closing && !c->starttls) {
        n = conn_read_some(c, c->in, CONN_IN_SIZE);
        if (n == 0 || (n < 0 && n != -EAGAIN)) {
            conn_close(c);
            return;
        }
        if (n > 0) {
            c->in_len = (size_t)n;
            ev_timer_start(c->loop->ev, &c->idle, (uint64_t)c->loop->cfg->timeout_s * NS_PER_SEC);
        }
    }
    conn_process(c);
}

/* conn_update - watch for what the connection waits on; arm -t. */
static void conn_update(struct conn *c)
{
    size_t out_len;
    unsigned events = 0;

    if (c->tls_state == TLS_HANDSHAKE) {
        ev_io_set(c->loop->ev, c->fd, SSL_want_write(c->ssl) ? EV_WRITE : EV_READ, on_io, c);
    } else {
        session_output(&c->s, &out_len);
        if (out_len > 0)
            events |= EV_WRITE;
        if (!c->paused && !c->closing && !c->starttls && c->in_len == 0)
            events |= EV_READ;
        ev_io_set(c->loop->ev, c->fd, events, on_io, c);
    }
    if (c->paused)
        ev_timer_stop(c->loop->ev, &c->idle);
    else if (!ev_timer_armed(&c->idle))
        ev_timer_start(c->loop->ev, &c->idle, (uint64_t)c->loop->cfg->timeout_s * NS_PER_SEC);
    /* TLS may hold decrypted bytes the socket no longer signals. */
    if (c->ssl && c->tls_state == TLS_UP && (events & EV_READ) && SSL_pending(c->ssl) > 0)
        on_io(c->loop->ev, c->fd, EV_READ, c);
}

/* conn_get - a connection object from the pool or a new one. */
static struct conn *conn_get(struct sink_loop *loop)
{
    static const struct session_hooks hooks = { hook_message, hook_quit, hook_auth };
    struct conn *c = loop->free_conns;

    if (c) {
        loop->free_conns = c->next;
        return c;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return NULL;
    if ((c->in = malloc(CONN_IN_SIZE)) == NULL
        || session_init(&c->s, loop->cfg, loop->dump, &hooks, c, loop->rng++) != 0) {
        session_release(&c->s);
        free(c->in);
        free(c);
        return NULL;
    }
    c->loop = loop;
    ev_timer_init(&c->idle, on_idle, c);
    ev_timer_init(&c->delay, on_delay, c);
    return c;
}

int conn_start(struct sink_loop *loop, int fd, const char *addr, int family)
{
    struct conn *c = conn_get(loop);
    enum session_status st;

    if (c == NULL) {
        close(fd);
        return -ENOMEM;
    }
    c->prev = NULL;
    c->next = loop->active_conns;
    if (c->next)
        c->next->prev = c;
    loop->active_conns = c;
    c->fd = fd;
    c->family = family;
    c->tls_state = TLS_NONE;
    c->paused = c->closing = c->starttls = c->exit_after = c->quit_seen = c->timed_out = 0;
    c->nodelay = family != AF_INET && family != AF_INET6;
    c->in_pos = c->in_len = 0;
    st = session_start(&c->s, addr);
    if (st == SESSION_CLOSE)
        c->closing = 1;
    else if (st == SESSION_PAUSE) {
        c->paused = 1;
        ev_timer_start(loop->ev, &c->delay, session_delay_ms(&c->s) * NS_PER_MS);
    }
    conn_process(c);
    return 0;
}

void conn_pool_free(struct sink_loop *loop)
{
    struct conn *c;

    loop->shutting = 1;
    while (loop->active_conns)
        conn_close(loop->active_conns);

    while ((c = loop->free_conns) != NULL) {
        loop->free_conns = c->next;
        session_release(&c->s);
        free(c->in);
        free(c);
    }
}
