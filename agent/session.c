/* session.c - one client connection of smtpstorm-agent (see session.h):
 * the socket's life around a pure dialogue. Each readiness event reads the
 * clock once and passes that time to the dialogue; the replies of one read
 * are answered with one write. */
#include "session.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "transport.h"

enum { ACT_READY, ACT_CONNECT };

/* What every readiness event touches first, the dialogue (large) last:
 * a session's state is cold after the kernel's work on its socket. */
struct agent_session {
    struct ev_loop *loop;
    const struct workload *w;
    const struct agent_session_hooks *hooks;
    void *arg;
    struct meter *meter;
    struct agent_session_pools *pools;
    struct transport transport;
    unsigned gen;               /* bumped at every close: stale callbacks notice */
    unsigned events;            /* interest registered with the loop */
    int connecting, handshaking, finishing, closed;
    int aborting;               /* this session asked for the abort: its reply in hand stays */
    uint64_t connect_ns;        /* when the pending connect began */
    uint64_t deadline_ns;       /* the timeout's true due time (the timer may be earlier) */
    char *in;                   /* from pools->input during a read, else NULL */
    struct ev_timer timeout;
    struct ev_timer delay;
    int delay_action;
    unsigned rand_seed;
    int connect_tries;
    int index;
    const struct endpoint_addr *addr;

    struct dialogue dlg;
};

static void session_on_io(struct ev_loop *loop, int fd, unsigned events, void *arg);
static void session_connect(struct agent_session *s);

static int has_more(const struct agent_session *s) { return s->hooks->dialogue.has_more(s->arg); }

/* session_watch - tell the loop what the socket waits for. Only the first
 * watch of a socket can fail (lib/ev.h's rule): -errno then. */
static int session_watch(struct agent_session *s)
{
    unsigned want = EV_READ;
    int rc;

    if (s->transport.fd < 0)
        return 0;
    if (s->connecting || s->dlg.seg_count > 0 || s->transport.tls_want_write)
        want |= EV_WRITE;
    if (s->connecting)
        want = EV_WRITE;
    if (want != s->events) {
        if ((rc = ev_io_set(s->loop, s->transport.fd, want, session_on_io, s)) != 0)
            return rc;
        s->events = want;
    }
    return 0;
}

/* The timeout. Re-armed at every reply and write, so it is moved lazily:
 * the deadline moves, the timer only when it fires early (as wrk and
 * libev's "timer cycling" do), which keeps the heap out of the
 * per-command path. */

static void session_arm_timeout(struct agent_session *s, uint64_t now)
{
    uint64_t cap = s->connect_ns + s->w->session_timeout_ns;    /* --session-timeout */

    s->deadline_ns = now + s->w->timeout_ns;
    if (s->w->session_timeout_ns && cap < s->deadline_ns)
        s->deadline_ns = cap;
    if (!ev_timer_armed(&s->timeout))
        ev_timer_start_at(s->loop, &s->timeout, s->deadline_ns);
}

static void session_stop_timeout(struct agent_session *s)
{
    s->deadline_ns = 0;
    ev_timer_stop(s->loop, &s->timeout);
}

/* Closing and failing. */

static void session_close(struct agent_session *s)
{
    if (s->transport.fd < 0)
        return;
    ev_io_del(s->loop, s->transport.fd);
    transport_close(&s->transport);
    meter_conn_closed(s->meter);
    meter_session(s->meter);
    s->gen++;
    s->events = 0;
    s->connecting = s->handshaking = 0;
    session_stop_timeout(s);
    dialogue_closed(&s->dlg);
}

static void session_report_closed(struct agent_session *s)
{
    if (s->closed)
        return;
    s->closed = 1;
    ev_timer_stop(s->loop, &s->delay);
    session_stop_timeout(s);
    s->hooks->closed(s->arg, s);
}

/* session_later - run action after delay_ns through the delay timer, so
 * that nothing recurses into the owner. */
static void session_later(struct agent_session *s, int action, uint64_t delay_ns)
{
    s->delay_action = action;
    ev_timer_start(s->loop, &s->delay, delay_ns);
}

/* session_drop - after a failure (counted): close, lose the message in
 * hand, and go on with the next. */
static void session_drop(struct agent_session *s)
{
    session_close(s);
    if (s->finishing)
        session_report_closed(s);
    else
        session_later(s, ACT_READY, 0);
}

/* session_fail - a transport failure: count kind, say it, drop. */
static void session_fail(struct agent_session *s, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), cold));
static void session_fail(struct agent_session *s, int kind, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    dialogue_vfailed(&s->dlg, kind, fmt, ap);
    va_end(ap);
    session_drop(s);
}

static int error_kind_of(int err, int tls)
{
    if (err == TRANSPORT_ETLS && tls)
        return ERROR_TLS;
    if (err == -ECONNRESET || err == -EPIPE || err == -ECONNABORTED)
        return ERROR_RESET;
    if (err == -ETIMEDOUT)
        return ERROR_TIMEOUT;
    return ERROR_OTHER;
}

static const char *session_doing(const struct agent_session *s)
{
    if (s->connecting)
        return "connecting";
    if (s->handshaking)
        return "in TLS handshake";
    return dialogue_doing(&s->dlg);
}

static __attribute__((cold)) void session_io_failed(struct agent_session *s, ssize_t err)
{
    session_fail(s, error_kind_of((int)err, s->transport.ssl != NULL), "%s while %s",
                 err == TRANSPORT_ETLS ? "TLS failure" : strerror((int)-err), session_doing(s));
}

/* Writing. */

/* session_flush - write what the socket takes. Returns 0, or -1 when the
 * session failed (and was closed). */
static int session_flush(struct agent_session *s, uint64_t now)
{
    const struct iovec *iov;
    int count;
    ssize_t n;

    while ((iov = dialogue_output(&s->dlg, &count), count > 0)) {
        n = transport_writev(&s->transport, iov, count);
        if (n == -EAGAIN)
            break;
        if (n < 0) {
            session_io_failed(s, n);
            return -1;
        }
        meter_bytes(s->meter, (uint64_t)n);
        dialogue_sent(&s->dlg, (size_t)n, now);
        if (s->dlg.seg_count > 0)
            session_arm_timeout(s, now);    /* progress: a fresh timeout for the rest */
    }
    session_watch(s);
    return 0;
}

/* session_send - commands are queued: a fresh timeout, and write now. */
static void session_send(struct agent_session *s, uint64_t now)
{
    if (s->dlg.seg_count == 0)
        return;
    session_arm_timeout(s, now);
    (void)session_flush(s, now);
}

/* What the dialogue said. */

static void session_start_tls(struct agent_session *s, uint64_t now);

static uint64_t session_delay_ns(struct agent_session *s)
{
    if (s->w->random_delay_s)
        return (uint64_t)(rand_r(&s->rand_seed) % (s->w->random_delay_s + 1)) * NS_PER_SEC;
    return (uint64_t)s->w->fixed_delay_s * NS_PER_SEC;
}

/* session_next - ready for the next message, after the -w/-R delay;
 * through the timer when from_owner (a call from the owner must not call
 * back into it). */
static void session_next(struct agent_session *s, uint64_t now, int from_owner)
{
    uint64_t delay = has_more(s) ? session_delay_ns(s) : 0;

    if (delay || from_owner)
        session_later(s, ACT_READY, delay);
    else
        s->hooks->ready(s->arg, s, now);
}

/* session_act - do what the dialogue's status st asks; from_owner: the
 * call came from the owner (agent_session_run). */
static void session_act(struct agent_session *s, enum dialogue_status st, uint64_t now,
                        int from_owner)
{
    switch (st) {
    case DIALOGUE_MORE:
        break;
    case DIALOGUE_IDLE:
        session_next(s, now, from_owner);
        break;
    case DIALOGUE_STARTTLS:
        session_start_tls(s, now);
        break;
    case DIALOGUE_CLOSE:
        session_close(s);
        if (s->finishing || !has_more(s))
            session_report_closed(s);
        else
            session_next(s, now, from_owner);
        break;
    case DIALOGUE_HANGUP:
        session_close(s);
        break;
    case DIALOGUE_FAIL:
        session_drop(s);
        break;
    case DIALOGUE_ABORT:
        s->aborting = 1;
        s->hooks->abort_run(s->arg, dialogue_error(&s->dlg));
        s->aborting = 0;
        break;
    }
}

/* Reading. */

/* session_feed - give the dialogue n octets read at now. Returns 0, or -1
 * when the connection closed or TLS began (the rest is not for it). */
static int session_feed(struct agent_session *s, size_t n, uint64_t now)
{
    unsigned gen = s->gen;
    enum dialogue_status st;
    size_t off, used;

    for (off = 0; off < n; off += used) {
        st = dialogue_feed(&s->dlg, s->in + off, n - off, now, &used);
        session_act(s, st, now, 0);
        if (s->gen != gen || s->handshaking)
            return -1;
    }
    return 0;
}

/* session_read_some - read and feed until the socket has no more; 0, or
 * -1 when the session closed, failed or began TLS (nothing more to do). */
static int session_read_some(struct agent_session *s, uint64_t now)
{
    ssize_t n;

    do {
        n = transport_read(&s->transport, s->in, AGENT_SESSION_IN_MAX);
        if (n == -EAGAIN)
            break;
        if (n == 0) {
            session_act(s, dialogue_eof(&s->dlg, now), now, 0);
            return -1;
        }
        if (n < 0) {
            session_io_failed(s, n);
            return -1;
        }
        if (session_feed(s, (size_t)n, now) < 0)
            return -1;
    } while (n == AGENT_SESSION_IN_MAX
             || (s->transport.ssl && transport_pending(&s->transport) > 0));   /* none in the clear */
    return 0;
}

static void session_read(struct agent_session *s, uint64_t now)
{
    uint64_t replies = s->dlg.replies;
    int rc;

    if ((s->in = bufpool_get(&s->pools->input)) == NULL) {
        session_fail(s, ERROR_OTHER, "out of memory for a read while %s", session_doing(s));
        return;
    }
    rc = session_read_some(s, now);
    bufpool_put(&s->pools->input, s->in);   /* nothing of it is kept */
    s->in = NULL;
    if (rc < 0)
        return;
    /* A reply's time counts from its command or the reply before it: octets
     * trickled without ending a reply do not hold the session open. */
    if (s->dlg.seg_count > 0)
        session_send(s, now);
    else if (dialogue_waiting(&s->dlg) && s->dlg.replies != replies)
        session_arm_timeout(s, now);
    else if (!dialogue_waiting(&s->dlg))
        session_stop_timeout(s);
    if (s->transport.fd >= 0)
        session_watch(s);
}

/* Connecting and TLS. */

static void session_connect_failed(struct agent_session *s, int err)
{
    char msg[128];

    if (s->transport.fd >= 0) {
        ev_io_del(s->loop, s->transport.fd);
        transport_close(&s->transport);
        meter_conn_closed(s->meter);
        s->gen++;
        s->events = 0;
    }
    s->connecting = 0;
    session_stop_timeout(s);
    snprintf(msg, sizeof(msg), "connect: %s", strerror(err));
    if (--s->connect_tries > 0) {
        s->hooks->dialogue.warn(s->arg, msg);
        session_later(s, ACT_CONNECT, 0);
        return;
    }
    meter_session(s->meter);
    dialogue_failed(&s->dlg, err == ECONNREFUSED ? ERROR_CONNECT_REFUSED
                    : err == ETIMEDOUT ? ERROR_TIMEOUT : ERROR_CONNECT, "%s", msg);
    dialogue_closed(&s->dlg);       /* the message waiting for it is lost */
    if (s->finishing)
        session_report_closed(s);
    else
        session_later(s, ACT_READY, 0);
}

static void session_connect(struct agent_session *s)
{
    struct linger linger = { 1, 0 };    /* as smtp-source: reset on close, no TIME_WAIT */
    int fd, rc;

    fd = endpoint_connect(s->addr, s->hooks->source(s->arg), s->w->sndbuf);
    if (fd < 0) {
        session_connect_failed(s, -fd);
        return;
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger));
    if (s->w->sndbuf > 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &s->w->sndbuf, sizeof(s->w->sndbuf));
    transport_init(&s->transport, fd);
    meter_conn_opened(s->meter);
    s->connecting = 1;
    s->events = 0;
    s->connect_ns = clock_mono_ns();
    if ((rc = session_watch(s)) != 0) {     /* the loop refused the socket */
        session_connect_failed(s, -rc);
        return;
    }
    session_arm_timeout(s, s->connect_ns);
}

static void session_connected(struct agent_session *s, uint64_t now)
{
    socklen_t len = sizeof(int);
    int err = 0;

    if (getsockopt(s->transport.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err != 0) {
        session_connect_failed(s, err);
        return;
    }
    s->connecting = 0;
    meter_latency(s->meter, PHASE_CONNECT, now - s->connect_ns);
    dialogue_connected(&s->dlg, s->transport.fd, now);
    session_arm_timeout(s, now);
    session_watch(s);
}

static void session_handshake(struct agent_session *s, uint64_t now)
{
    char err[256];
    int rc = transport_tls_handshake(&s->transport, err, sizeof(err));

    if (rc == 0) {
        session_watch(s);
        return;
    }
    if (rc < 0) {
        session_fail(s, rc == TRANSPORT_ETLS ? ERROR_TLS : ERROR_RESET, "TLS handshake failed: %s", err);
        return;
    }
    s->handshaking = 0;
    if (transport_tls_resumed(&s->transport))
        meter_tls_resumed(s->meter);
    session_act(s, dialogue_tls_started(&s->dlg, now), now, 0);
    if (s->transport.fd >= 0)
        session_send(s, now);
}

static void session_start_tls(struct agent_session *s, uint64_t now)
{
    const struct workload *w = s->w;
    struct transport_resume *resume;
    const char *tls_name;
    char err[256];

    /* SNI and the --tls-verify name: the target's host as given (in daemon
     * mode each target's share has its own, pinned by the guard). */
    tls_name = w->target.is_unix ? NULL : w->target.name[0] ? w->target.name : w->target.host;
    if (transport_tls_connect(&s->transport, w->tls_ctx, tls_name, err, sizeof(err)) != 0
        || ((resume = s->hooks->tls_resume(s->arg)) != NULL
            && transport_tls_offer(&s->transport, resume, err, sizeof(err)) != 0)) {
        session_fail(s, ERROR_TLS, "TLS: %s", err);
        return;
    }
    s->handshaking = 1;
    session_arm_timeout(s, now);
    session_handshake(s, now);
}

static void session_on_io(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    struct agent_session *s = arg;
    uint64_t now = ev_event_now(loop);  /* the one clock read of this event, or none */
    unsigned gen = s->gen;

    (void)fd;
    if (s->connecting) {
        session_connected(s, now);
        return;
    }
    if (s->handshaking) {
        session_handshake(s, now);
        return;
    }
    if ((events & EV_WRITE) && s->dlg.seg_count > 0 && session_flush(s, now) < 0)
        return;
    if (s->gen == gen && ((events & EV_READ) || s->transport.tls_want_write))
        session_read(s, now);
}

static void session_on_timeout(struct ev_loop *loop, void *arg)
{
    struct agent_session *s = arg;
    uint64_t now = ev_now(loop);

    if (s->transport.fd < 0)
        return;
    if (s->deadline_ns > now) {         /* moved since it was armed */
        ev_timer_start_at(loop, &s->timeout, s->deadline_ns);
        return;
    }
    if (s->connecting) {
        session_connect_failed(s, ETIMEDOUT);
        return;
    }
    if (s->w->session_timeout_ns && now >= s->connect_ns + s->w->session_timeout_ns)
        session_fail(s, ERROR_TIMEOUT, "session over --session-timeout (%.3g s) while %s",
                     (double)s->w->session_timeout_ns / 1e9, session_doing(s));
    else
        session_fail(s, ERROR_TIMEOUT, "timeout while %s", session_doing(s));
}

static void session_on_delay(struct ev_loop *loop, void *arg)
{
    struct agent_session *s = arg;

    (void)loop;
    if (s->delay_action == ACT_CONNECT)
        session_connect(s);
    else if (s->finishing)
        agent_session_finish(s);
    else
        s->hooks->ready(s->arg, s, clock_mono_ns());
}

/* The interface. */

int agent_session_pools_init(struct agent_session_pools *p, const struct workload *w)
{
    if (bufpool_init(&p->input, AGENT_SESSION_IN_MAX, AGENT_SESSION_POOL_KEEP) != 0)
        return -ENOMEM;
    if (bufpool_init(&p->dialogue, dialogue_buffer_size(w), AGENT_SESSION_POOL_KEEP) != 0) {
        bufpool_destroy(&p->input);
        return -ENOMEM;
    }
    return 0;
}

void agent_session_pools_release(struct agent_session_pools *p)
{
    bufpool_destroy(&p->dialogue);
    bufpool_destroy(&p->input);
}

struct agent_session *agent_session_new(struct ev_loop *loop, const struct workload *w,
                                        const struct endpoint_addr *addr, int index,
                                        struct meter *meter, struct agent_session_pools *pools,
                                        const struct agent_session_hooks *hooks, void *arg)
{
    struct agent_session *s = calloc(1, sizeof(*s));

    assert(hooks->ready && hooks->closed && hooks->abort_run && hooks->source && hooks->tls_resume);
    if (s == NULL)
        return NULL;
    if (dialogue_init(&s->dlg, w, &hooks->dialogue, arg, meter, &pools->dialogue, index) != 0) {
        free(s);
        return NULL;
    }
    s->loop = loop;
    s->w = w;
    s->addr = addr;
    s->hooks = hooks;
    s->arg = arg;
    s->meter = meter;
    s->pools = pools;
    s->index = index;
    s->rand_seed = (unsigned)getpid() ^ (unsigned)index * 2654435761u;
    transport_init(&s->transport, -1);
    ev_timer_init(&s->timeout, session_on_timeout, s);
    ev_timer_init(&s->delay, session_on_delay, s);
    return s;
}

void agent_session_run(struct agent_session *s, const struct dialogue_job *job, uint64_t now)
{
    enum dialogue_status st;

    assert(!s->closed);
    st = dialogue_run(&s->dlg, job, now);
    if (s->transport.fd >= 0) {          /* connected; or the job waits for the greeting */
        session_act(s, st, now, 1);
        if (s->transport.fd >= 0)
            session_send(s, now);
        return;
    }
    s->connect_tries = s->w->connect_tries > 0 ? s->w->connect_tries : 1;
    session_connect(s);
}

void agent_session_finish(struct agent_session *s)
{
    uint64_t now = clock_mono_ns();
    enum dialogue_status st;

    s->finishing = 1;
    ev_timer_stop(s->loop, &s->delay);
    st = dialogue_finish(&s->dlg, now);
    if (s->transport.fd < 0) {
        session_report_closed(s);
        return;
    }
    if (s->connecting || s->handshaking)
        return;                     /* it ends after the greeting */
    session_act(s, st, now, 1);
    if (s->transport.fd >= 0)
        session_send(s, now);
}

/* session_harvest - the run is aborted (another session's unexpected
 * reply, a stop): before the connection closes, count the outcome of
 * every message whose end-of-data reply is already in the socket's
 * buffer, so that what the server has taken is counted accepted; what is
 * still on its way stays unfinished. Reads without waiting. */
static void session_harvest(struct agent_session *s)
{
    uint64_t now;
    ssize_t n;

    if (s->transport.fd < 0 || s->connecting || s->handshaking || s->aborting
        || !dialogue_busy(&s->dlg))
        return;
    now = clock_mono_ns();
    if ((s->in = bufpool_get(&s->pools->input)) == NULL)
        return;                     /* what is in flight stays unfinished */
    while ((n = transport_read(&s->transport, s->in, AGENT_SESSION_IN_MAX)) > 0
           && dialogue_harvest(&s->dlg, s->in, (size_t)n, now))
        ;
    bufpool_put(&s->pools->input, s->in);
    s->in = NULL;
}

void agent_session_abort(struct agent_session *s)
{
    session_harvest(s);
    session_close(s);
    dialogue_closed(&s->dlg);       /* again when it was connected; else drops the waiting job */
    s->finishing = 1;
    session_report_closed(s);
}

void agent_session_free(struct agent_session *s)
{
    if (s == NULL)
        return;
    if (s->transport.fd >= 0) {
        ev_io_del(s->loop, s->transport.fd);
        transport_close(&s->transport);
    }
    ev_timer_stop(s->loop, &s->timeout);
    ev_timer_stop(s->loop, &s->delay);
    dialogue_release(&s->dlg);
    free(s);
}
