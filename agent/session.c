/* session.c - one SMTP/LMTP client session of smtpstorm-agent (see
 * session.h). Every command sent pushes what reply it expects onto a
 * queue; replies pop it in order. Lock-step (smtp-source's way) and
 * pipelined transactions (RFC 2920) thus share one path: pipelining only
 * queues more commands before the first reply. */
#include "session.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth.h"
#include "clock.h"
#include "transport.h"
#include "engine.h"
#include "log.h"
#include "message.h"
#include "number.h"
#include "reply.h"
#include "trace.h"

#define SESSION_IN_MAX    4096  /* octets read per call */
#define SESSION_OUT_SEGS  8     /* queued output pieces: commands, headers, payload, "." */
#define SESSION_CMD_SLACK 4096  /* command buffer room beyond one transaction's worth */
#define SESSION_MSG_MAX   (REPLY_TEXT_MAX + 256)

enum cmd {
    CMD_BANNER, CMD_HELO, CMD_STARTTLS, CMD_AUTH, CMD_AUTH_USER, CMD_AUTH_PASS,
    CMD_MAIL, CMD_RCPT, CMD_DATA, CMD_DOT, CMD_BDAT, CMD_RSET, CMD_QUIT
};

/* What each command's failure is called, in smtp-source's words. */
static const char *const cmd_doing[] = {
    "reading server greeting", "sending HELO", "sending STARTTLS", "sending AUTH",
    "sending AUTH", "sending AUTH", "sending sender", "sending recipient",
    "sending DATA command", "sending message", "sending message", "sending RSET",
    "sending QUIT",
};

enum { CAP_PIPELINING = 1, CAP_CHUNKING = 2, CAP_STARTTLS = 4, CAP_SIZE = 8, CAP_SMTPUTF8 = 16 };
enum { ACT_READY, ACT_CONNECT };

struct expect {
    enum cmd cmd;
    int t;                      /* the transaction slot a reply belongs to */
    uint64_t sent_ns;
};

/* One mail transaction. Two slots: with pipelining the next message's
 * MAIL, RCPT and DATA follow the previous end of data in the same write,
 * so its replies arrive while the previous one is still being counted. */
struct txn {
    int active;
    struct session_job job;
    int rcpt_left, rcpt_accepted, final_left, final_ok, rejected, empty_data;
};

#define SESSION_TXNS 2

struct session {
    struct engine *eng;
    struct ev_loop *loop;
    const struct workload *w;
    const struct endpoint_addr *addr;
    int index;
    unsigned pid;

    struct transport conn;
    unsigned gen;               /* bumped at every close: stale callbacks notice */
    unsigned events;            /* interest registered with the loop */
    int connecting, handshaking, tls_done, authed, greeted, finishing, closed;
    int dispatching;            /* a reply's handler runs: an abort must not read behind it */
    int connect_tries;
    uint64_t connect_ns;        /* when the pending connect began */
    unsigned caps;
    uint64_t size_limit;        /* the server's SIZE (RFC 1870), 0: none announced */
    enum auth_mech mech;
    const char *helo_verb;
    struct ev_timer timeout;
    struct ev_timer delay;
    int delay_action;
    unsigned rand_seed;

    char in[SESSION_IN_MAX];
    struct reply reply;

    struct iovec seg[SESSION_OUT_SEGS];
    int seg_head, seg_count;
    char *cmd;
    size_t cmd_cap, cmd_len;
    int drain_slot;             /* expectation whose sent time is "output drained", or -1 */

    struct expect *exp;
    size_t exp_cap, exp_head, exp_count;

    int has_job;                /* job waits for the connection and greeting */
    struct session_job job;
    int pipelined, chunked;     /* this connection pipelines / uses BDAT */
    int tail_complete;          /* the output queued last ended a whole message */
    struct txn txn[SESSION_TXNS];
};

/* Said once per process, not per message. */
static atomic_int warned_pipelining, warned_chunking;

static void session_on_io(struct ev_loop *loop, int fd, unsigned events, void *arg);
static void session_send_helo(struct session *s);
static void session_start_txn(struct session *s, const struct session_job *job);

static uint64_t now_ns(void) { return clock_mono_ns(); }

static int is_2xx(int code) { return code >= 200 && code <= 299; }

/* Output queue. */

static int out_push(struct session *s, const char *ptr, size_t len)
{
    struct iovec *last;

    if (len == 0)
        return 0;
    if (s->seg_count > 0) {
        last = &s->seg[s->seg_head + s->seg_count - 1];
        if ((const char *)last->iov_base + last->iov_len == ptr) {
            last->iov_len += len;
            return 0;
        }
    }
    if (s->seg_head + s->seg_count == SESSION_OUT_SEGS) {
        if (s->seg_head == 0)
            return -ENOBUFS;
        memmove(s->seg, s->seg + s->seg_head, (size_t)s->seg_count * sizeof(s->seg[0]));
        s->seg_head = 0;
    }
    s->seg[s->seg_head + s->seg_count].iov_base = (void *)ptr;
    s->seg[s->seg_head + s->seg_count].iov_len = len;
    s->seg_count++;
    return 0;
}

/* out_cmd - format one command line (CRLF added) into the command buffer
 * and queue it. Returns 0 or -ENOBUFS. */
static int out_cmd(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int out_cmd(struct session *s, const char *fmt, ...)
{
    size_t avail = s->cmd_cap - s->cmd_len;
    char *at = s->cmd + s->cmd_len;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(at, avail, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n + 3 > avail)
        return -ENOBUFS;
    if (s->w->verbose)
        log_info("%s", at);
    memcpy(at + n, "\r\n", 3);
    s->cmd_len += (size_t)n + 2;
    return out_push(s, at, (size_t)n + 2);
}

static void session_watch(struct session *s)
{
    unsigned want = EV_READ;

    if (s->conn.fd < 0)
        return;
    if (s->connecting || s->seg_count > 0 || s->conn.tls_want_write)
        want |= EV_WRITE;
    if (s->connecting)
        want = EV_WRITE;
    if (want != s->events && ev_io_set(s->loop, s->conn.fd, want, session_on_io, s) == 0)
        s->events = want;
}

static void session_arm_timeout(struct session *s)
{
    (void)ev_timer_start(s->loop, &s->timeout, s->w->timeout_ns);
}

/* Expectations. */

static int expect_push_txn(struct session *s, enum cmd cmd, int t)
{
    size_t slot;

    if (s->exp_count == s->exp_cap)
        return -ENOBUFS;
    slot = (s->exp_head + s->exp_count) % s->exp_cap;
    s->exp[slot].cmd = cmd;
    s->exp[slot].t = t;
    s->exp[slot].sent_ns = now_ns();
    s->exp_count++;
    if (cmd == CMD_DOT || cmd == CMD_BDAT)
        s->drain_slot = (int)slot;
    return 0;
}

static int expect_push(struct session *s, enum cmd cmd) { return expect_push_txn(s, cmd, 0); }

static void expect_pop(struct session *s)
{
    if ((int)s->exp_head == s->drain_slot)
        s->drain_slot = -1;
    s->exp_head = (s->exp_head + 1) % s->exp_cap;
    s->exp_count--;
}

/* Closing and failing. */

static void session_close(struct session *s)
{
    if (s->conn.fd < 0)
        return;
    ev_io_del(s->loop, s->conn.fd);
    transport_close(&s->conn);
    engine_count(s->eng, COUNT_CONN_CLOSED);
    s->gen++;
    s->events = 0;
    engine_count(s->eng, COUNT_SESSION);
    ev_timer_stop(s->loop, &s->timeout);
    s->seg_head = s->seg_count = 0;
    s->cmd_len = 0;
    s->exp_head = s->exp_count = 0;
    s->drain_slot = -1;
    reply_reset(&s->reply);
    s->connecting = s->handshaking = s->tls_done = s->authed = s->greeted = 0;
    s->caps = 0;
    s->size_limit = 0;
    s->tail_complete = 0;
    for (int t = 0; t < SESSION_TXNS; t++)      /* begun, with no outcome: cut short */
        if (s->txn[t].active)
            engine_count(s->eng, COUNT_UNFINISHED);
    memset(s->txn, 0, sizeof(s->txn));
}

static int session_busy(const struct session *s)
{
    return s->txn[0].active || s->txn[1].active;
}

static void session_report_closed(struct session *s)
{
    if (s->closed)
        return;
    s->closed = 1;
    ev_timer_stop(s->loop, &s->delay);
    ev_timer_stop(s->loop, &s->timeout);
    engine_session_closed(s->eng, s);
}

/* session_later - run action after delay_ns through the delay timer, so
 * that failures never recurse into the engine. */
static void session_later(struct session *s, int action, uint64_t delay_ns)
{
    s->delay_action = action;
    (void)ev_timer_start(s->loop, &s->delay, delay_ns);
}

/* session_fail - a transport or protocol failure: count kind (unless < 0),
 * say what happened, close, drop the message in hand, and go on. */
static void session_fail(struct session *s, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void session_fail(struct session *s, int kind, const char *fmt, ...)
{
    char msg[SESSION_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (kind >= 0) {
        engine_count_error(s->eng, (enum stats_error)kind);
        engine_warn(s->eng, "session %d: %s", s->index, msg);
    }
    session_close(s);
    s->has_job = 0;
    if (s->finishing)
        session_report_closed(s);
    else
        session_later(s, ACT_READY, 0);
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

static const char *session_doing(const struct session *s)
{
    if (s->connecting)
        return "connecting";
    if (s->handshaking)
        return "in TLS handshake";
    if (s->exp_count == 0)
        return "idle";
    return cmd_doing[s->exp[s->exp_head].cmd];
}

/* Writing. */

static void session_drained(struct session *s)
{
    s->cmd_len = 0;
    s->seg_head = 0;
    if (s->drain_slot >= 0) {
        s->exp[s->drain_slot].sent_ns = now_ns();
        s->drain_slot = -1;
    }
}

/* session_flush - write what the socket takes. Returns 0, or -1 when the
 * session failed (and was closed). */
static int session_flush(struct session *s)
{
    size_t left;
    ssize_t n;

    while (s->seg_count > 0) {
        n = transport_writev(&s->conn, &s->seg[s->seg_head], s->seg_count);
        if (n == -EAGAIN)
            break;
        if (n < 0) {
            session_fail(s, error_kind_of((int)n, s->conn.ssl != NULL), "%s while %s",
                         n == TRANSPORT_ETLS ? "TLS failure" : strerror((int)-n), session_doing(s));
            return -1;
        }
        engine_count_bytes(s->eng, (uint64_t)n);
        left = (size_t)n;
        while (left > 0 && s->seg_count > 0) {
            struct iovec *v = &s->seg[s->seg_head];

            if (left < v->iov_len) {
                v->iov_base = (char *)v->iov_base + left;
                v->iov_len -= left;
                left = 0;
            } else {
                left -= v->iov_len;
                s->seg_head++;
                s->seg_count--;
            }
        }
        if (s->seg_count > 0)
            session_arm_timeout(s);     /* progress: a fresh timeout for the rest */
    }
    if (s->seg_count == 0)
        session_drained(s);
    session_watch(s);
    return 0;
}

/* session_send - queue done: write now and wait for replies. */
static void session_send(struct session *s)
{
    session_arm_timeout(s);
    (void)session_flush(s);
}

static void session_nobufs(struct session *s)
{
    session_fail(s, ERROR_OTHER, "internal error: command buffer full while %s",
                 session_doing(s));
}

/* Replies that are not what was hoped for. */

/* session_unexpected - a reply other than the expected one: abort the run
 * (returns -1; s is closed) or, with -A, warn and count (returns 0). */
static int session_unexpected(struct session *s, const char *what)
{
    char msg[SESSION_MSG_MAX];

    snprintf(msg, sizeof(msg), "%s: %d %s", what, s->reply.code, s->reply.text);
    engine_count_error(s->eng, ERROR_UNEXPECTED_REPLY);
    if (!s->w->allow_reject) {
        engine_abort_run(s->eng, msg);
        return -1;
    }
    engine_warn(s->eng, "%s", msg);
    return 0;
}

/* After a message: QUIT, or wait (-w/-R) and take the next one. */

static uint64_t session_delay_ns(struct session *s)
{
    if (s->w->random_delay_s)
        return (uint64_t)(rand_r(&s->rand_seed) % (s->w->random_delay_s + 1)) * NS_PER_SEC;
    return (uint64_t)s->w->fixed_delay_s * NS_PER_SEC;
}

static void session_next(struct session *s)
{
    uint64_t delay = engine_has_more(s->eng) ? session_delay_ns(s) : 0;

    if (delay)
        session_later(s, ACT_READY, delay);
    else
        engine_session_ready(s->eng, s);
}

static void session_quit(struct session *s)
{
    if (out_cmd(s, "QUIT") || expect_push(s, CMD_QUIT)) {
        session_nobufs(s);
        return;
    }
    session_send(s);
}

/* session_chain - with pipelining on a kept connection, queue the next
 * message's envelope right behind a complete message when one is due now
 * (RFC 2920 3.1: only DATA must end a group; the message content may
 * start one). Saves a round trip and a write per message. */
static void session_chain(struct session *s)
{
    struct session_job job;
    const struct workload *w = s->w;

    if (!s->pipelined || w->disconnect || !s->tail_complete || w->fixed_delay_s
        || w->random_delay_s || s->finishing || (s->txn[0].active && s->txn[1].active))
        return;
    if (engine_take_job(s->eng, &job))
        session_start_txn(s, &job);
}

static void session_txn_end(struct session *s, int t)
{
    s->txn[t].active = 0;
    if (session_busy(s)) {          /* the chained next message goes on */
        session_chain(s);
        return;
    }
    if (s->w->disconnect || !engine_has_more(s->eng))
        session_quit(s);
    else
        session_next(s);
}

/* The transaction. */

static int session_queue_rcpt(struct session *s, int t)
{
    char addr[MESSAGE_ADDR_MAX];
    uint64_t number = s->w->number_rcpts ? engine_next_rcpt_number(s->eng) : 0;

    if (message_rcpt_format(addr, sizeof(addr), s->w->recipient, s->txn[t].rcpt_left, number) < 0)
        return -ENOBUFS;
    s->txn[t].rcpt_left--;
    if (out_cmd(s, "RCPT TO:%s", addr))
        return -ENOBUFS;
    return expect_push_txn(s, CMD_RCPT, t);
}

/* session_prefix - the trace header and smtp-source's headers, formatted
 * at the end of the command buffer; returns their length or -1. */
static int session_prefix(struct session *s, int t, char *at, size_t cap)
{
    const struct workload *w = s->w;
    struct message_header_vars v;
    struct trace tr;
    int n = 0, m;

    if (w->trace) {
        memset(&tr, 0, sizeof(tr));
        memcpy(tr.campaign, w->campaign, sizeof(tr.campaign));
        memcpy(tr.agent, w->agent_id, sizeof(tr.agent));
        tr.seq = s->txn[t].job.seq;
        tr.sent_us = clock_wall_ns() / NS_PER_US;
        if ((n = trace_format(&tr, at, cap)) < 0)
            return -1;
    }
    if (w->send_headers) {
        v.sender = w->sender;
        v.recipient = w->recipient;
        v.date = engine_date(s->eng);
        v.myhostname = w->myhostname;
        v.subject = w->subject;
        v.pid = s->pid;
        v.fd = (unsigned)s->conn.fd;
        v.count = s->txn[t].job.remaining;
        if ((m = message_headers_format(at + n, cap - (size_t)n, &v)) < 0)
            return -1;
        n += m;
    }
    return n;
}

/* session_queue_body - after 354: prefix, payload, and ".". */
static int session_queue_body(struct session *s, int t)
{
    static const char dot[] = ".\r\n";
    char *at = s->cmd + s->cmd_len;
    int n = 0;

    if (!s->txn[t].empty_data) {
        if ((n = session_prefix(s, t, at, s->cmd_cap - s->cmd_len)) < 0)
            return -ENOBUFS;
        s->cmd_len += (size_t)n;
        if (out_push(s, at, (size_t)n) || out_push(s, s->w->payload->data, s->w->payload->len))
            return -ENOBUFS;
    }
    if (s->w->verbose)
        log_info(".");
    if (out_push(s, dot, sizeof(dot) - 1) || expect_push_txn(s, CMD_DOT, t))
        return -ENOBUFS;
    s->tail_complete = 1;
    engine_dot_sent(s->eng);
    return 0;
}

/* session_queue_bdat - "BDAT n LAST" with the whole message (RFC 3030). */
static int session_queue_bdat(struct session *s, int t)
{
    size_t reserve = 48, cap = s->cmd_cap - s->cmd_len;
    char *at = s->cmd + s->cmd_len;
    int n, line;

    if (cap <= reserve || (n = session_prefix(s, t, at + reserve, cap - reserve)) < 0)
        return -ENOBUFS;
    line = snprintf(at, reserve, "BDAT %zu LAST\r\n", (size_t)n + s->w->payload->raw_len);
    if (line < 0 || (size_t)line >= reserve)
        return -ENOBUFS;
    if (s->w->verbose)
        log_info("BDAT %zu LAST", (size_t)n + s->w->payload->raw_len);
    memmove(at + line, at + reserve, (size_t)n);
    s->cmd_len += (size_t)line + (size_t)n;
    if (out_push(s, at, (size_t)line + (size_t)n)
        || out_push(s, s->w->payload->raw, s->w->payload->raw_len)
        || expect_push_txn(s, CMD_BDAT, t))
        return -ENOBUFS;
    s->tail_complete = 1;
    engine_dot_sent(s->eng);
    return 0;
}

static int session_queue_data(struct session *s, int t)
{
    if (s->chunked)
        return session_queue_bdat(s, t);
    if (out_cmd(s, "DATA"))
        return -ENOBUFS;
    s->tail_complete = 0;
    return expect_push_txn(s, CMD_DATA, t);
}

/* session_message_size - what transaction t will send after DATA's 354
 * or in BDAT, as RFC 1870 6.1 counts it (no dot-stuffing, no final dot):
 * the headers formatted now, in the command buffer's free room, plus the
 * payload. Only computed when the server announced SIZE; 0 otherwise. */
static size_t session_message_size(struct session *s, int t)
{
    int n = 0;

    if (!(s->caps & CAP_SIZE))
        return 0;
    if ((n = session_prefix(s, t, s->cmd + s->cmd_len, s->cmd_cap - s->cmd_len)) < 0)
        n = 0;
    return (size_t)n + s->w->payload->raw_len;
}

/* session_refuse - a message the server said it will not take is not
 * sent (no MAIL, no body) but counted: over its SIZE (RFC 1870 4: the
 * client should not send it), or --smtputf8 without SMTPUTF8 offered (RFC
 * 6531 3.4). The session goes on as after a message, through the delay
 * timer so that it never recurses into the engine. Returns 1 when refused. */
static int session_refuse(struct session *s, int t, size_t size)
{
    if (s->w->smtputf8 && !(s->caps & CAP_SMTPUTF8)) {
        engine_count_error(s->eng, ERROR_NO_SMTPUTF8);
        engine_warn(s->eng, "session %d: server does not offer SMTPUTF8 (--smtputf8): message not sent",
                    s->index);
    } else if (s->size_limit > 0 && size > s->size_limit) {
        engine_count_error(s->eng, ERROR_TOO_BIG);
        engine_warn(s->eng, "session %d: message of %zu octets is over the server's SIZE %llu: not sent",
                    s->index, size, (unsigned long long)s->size_limit);
    } else {
        return 0;
    }
    s->txn[t].active = 0;
    if (session_busy(s))
        return 1;               /* the other transaction's end goes on */
    if (s->w->disconnect || !engine_has_more(s->eng))
        session_quit(s);
    else
        session_later(s, ACT_READY, session_delay_ns(s));
    return 1;
}

/* session_queue_mail - MAIL FROM, with SIZE= when the server offers SIZE
 * and the workload sends it (RFC 1870 6), and SMTPUTF8 (RFC 6531 3.4). */
static int session_queue_mail(struct session *s, size_t size)
{
    char param[32] = "";

    if ((s->caps & CAP_SIZE) && s->w->mail_size)
        snprintf(param, sizeof(param), " SIZE=%zu", size);
    return out_cmd(s, "MAIL FROM:<%s>%s%s", s->w->sender, param, s->w->smtputf8 ? " SMTPUTF8" : "");
}

static void session_start_txn(struct session *s, const struct session_job *job)
{
    const struct workload *w = s->w;
    struct txn *x;
    size_t size;
    int i, t = s->txn[0].active ? 1 : 0;

    x = &s->txn[t];
    memset(x, 0, sizeof(*x));
    x->active = 1;
    x->job = *job;
    x->rcpt_left = w->recipients;
    if (!s->txn[1 - t].active) {     /* a new connection's first transaction, or lock-step */
        s->pipelined = w->pipelining && (s->caps & CAP_PIPELINING);
        s->chunked = w->chunking && (s->caps & CAP_CHUNKING);
        if (w->pipelining && !(s->caps & CAP_PIPELINING) && atomic_exchange(&warned_pipelining, 1) == 0)
            log_warn("server does not offer PIPELINING; sending in lock-step");
        if (w->chunking && !(s->caps & CAP_CHUNKING) && atomic_exchange(&warned_chunking, 1) == 0)
            log_warn("server does not offer CHUNKING; sending DATA");
    }
    size = session_message_size(s, t);
    if (session_refuse(s, t, size))
        return;
    engine_count(s->eng, COUNT_ATTEMPTED);
    s->tail_complete = 0;
    if (session_queue_mail(s, size) || expect_push_txn(s, CMD_MAIL, t))
        goto nobufs;
    if (s->pipelined) {
        for (i = 0; i < w->recipients; i++)
            if (session_queue_rcpt(s, t))
                goto nobufs;
        if (session_queue_data(s, t))
            goto nobufs;
    }
    if (s->chunked)
        session_chain(s);       /* a whole BDAT message is queued: the next may follow */
    session_send(s);            /* one write for all that is queued */
    return;

nobufs:
    session_nobufs(s);
}

static void session_rset(struct session *s, int t)
{
    s->txn[t].rejected = 1;
    s->tail_complete = 0;
    if (out_cmd(s, "RSET") || expect_push_txn(s, CMD_RSET, t)) {
        session_nobufs(s);
        return;
    }
    session_send(s);
}

/* After the greeting: HELO, STARTTLS, AUTH, then the transaction. */

static void session_after_helo(struct session *s)
{
    const struct workload *w = s->w;
    char b64[AUTH_B64_MAX];

    s->greeted = 1;
    if (w->starttls && !s->tls_done) {
        if (!(s->caps & CAP_STARTTLS)) {
            if (!w->allow_reject) {
                engine_abort_run(s->eng, "server does not offer STARTTLS (--starttls)");
                return;
            }
            session_fail(s, ERROR_TLS, "server does not offer STARTTLS");
            return;
        }
        if (out_cmd(s, "STARTTLS") || expect_push(s, CMD_STARTTLS))
            goto nobufs;
        session_send(s);
        return;
    }
    if (w->auth_user && !s->authed) {
        if (s->mech == AUTH_NONE) {
            if (!w->allow_reject) {
                engine_abort_run(s->eng, "server does not offer AUTH PLAIN or LOGIN (--auth)");
                return;
            }
            session_fail(s, ERROR_OTHER, "server does not offer AUTH PLAIN or LOGIN");
            return;
        }
        if (s->mech == AUTH_PLAIN) {
            if (auth_plain(w->auth_user, w->auth_pass, b64, sizeof(b64)) < 0
                || out_cmd(s, "AUTH PLAIN %s", b64) || expect_push(s, CMD_AUTH))
                goto nobufs;
        } else if (out_cmd(s, "AUTH LOGIN") || expect_push(s, CMD_AUTH_USER)) {
            goto nobufs;
        }
        session_send(s);
        return;
    }
    if (s->has_job) {
        s->has_job = 0;
        session_start_txn(s, &s->job);
    } else {
        session_next(s);
    }
    return;

nobufs:
    session_nobufs(s);
}

static void session_send_helo(struct session *s)
{
    const struct workload *w = s->w;
    int ehlo = w->pipelining || w->chunking || w->starttls || w->auth_user || w->smtputf8 || w->ehlo;

    s->helo_verb = w->lmtp ? "LHLO" : ehlo ? "EHLO" : "HELO";
    if (out_cmd(s, "%s %s", s->helo_verb, w->myhostname) || expect_push(s, CMD_HELO)) {
        session_nobufs(s);
        return;
    }
    session_send(s);
}

/* session_size_limit - the SIZE keyword's number (RFC 1870 4); 0 (no
 * limit) when absent, zero, or not a number we can read. */
static uint64_t session_size_limit(const char *params, size_t len)
{
    char digits[24];
    uint64_t v;

    while (len > 0 && params[len - 1] == ' ')
        len--;
    if (len == 0 || len >= sizeof(digits))
        return 0;
    memcpy(digits, params, len);
    digits[len] = '\0';
    return number_parse_u64(digits, 0, UINT64_MAX, &v) == 0 ? v : 0;
}

static void session_parse_caps(struct session *s)
{
    const char *params;
    size_t plen;

    s->caps = 0;
    if (reply_has_keyword(&s->reply, "PIPELINING", NULL, NULL))
        s->caps |= CAP_PIPELINING;
    if (reply_has_keyword(&s->reply, "CHUNKING", NULL, NULL))
        s->caps |= CAP_CHUNKING;
    if (reply_has_keyword(&s->reply, "STARTTLS", NULL, NULL))
        s->caps |= CAP_STARTTLS;
    if (reply_has_keyword(&s->reply, "SMTPUTF8", NULL, NULL))
        s->caps |= CAP_SMTPUTF8;
    s->size_limit = 0;
    if (reply_has_keyword(&s->reply, "SIZE", &params, &plen)) {
        s->caps |= CAP_SIZE;
        s->size_limit = session_size_limit(params, plen);
    }
    s->mech = AUTH_NONE;
    if (reply_has_keyword(&s->reply, "AUTH", &params, &plen))
        s->mech = auth_pick(params, plen);
}

static void session_handshake(struct session *s);

/* One handler per expected reply; each returns after s may have closed. */

static void on_banner(struct session *s)
{
    if (!is_2xx(s->reply.code) && session_unexpected(s, "rejected at server banner") < 0)
        return;
    if (s->w->send_helo)
        session_send_helo(s);
    else
        session_after_helo(s);
}

static void on_helo(struct session *s)
{
    char what[32];

    if (!is_2xx(s->reply.code)) {
        snprintf(what, sizeof(what), "%s rejected", s->helo_verb);
        if (session_unexpected(s, what) < 0)
            return;
    } else if (s->helo_verb[0] != 'H') {
        session_parse_caps(s);
    }
    session_after_helo(s);
}

static void on_starttls(struct session *s, size_t leftover)
{
    const char *tls_name;
    char err[256];

    if (s->reply.code != 220) {
        if (session_unexpected(s, "STARTTLS rejected") == 0)
            session_fail(s, ERROR_TLS, "STARTTLS rejected: %d %s", s->reply.code, s->reply.text);
        return;
    }
    if (leftover > 0) {     /* RFC 3207 5: nothing may follow the 220 in the clear */
        session_fail(s, ERROR_PROTOCOL, "server sent data after its STARTTLS reply");
        return;
    }
    /* SNI and the --tls-verify name: the target's host as given (in daemon
     * mode each target's share has its own, pinned by the guard). */
    tls_name = s->w->target.is_unix ? NULL : s->w->target.name[0] ? s->w->target.name : s->w->target.host;
    if (transport_tls_connect(&s->conn, s->w->tls_ctx, tls_name, err, sizeof(err)) != 0) {
        session_fail(s, ERROR_TLS, "TLS: %s", err);
        return;
    }
    s->handshaking = 1;
    session_arm_timeout(s);
    session_handshake(s);
}

static void on_auth(struct session *s, enum cmd cmd)
{
    char b64[AUTH_B64_MAX];
    const char *field = cmd == CMD_AUTH_USER ? s->w->auth_user : s->w->auth_pass;

    if (cmd == CMD_AUTH) {
        if (!is_2xx(s->reply.code)) {     /* 235 (RFC 4954); smtp-sink says 250 */
            if (session_unexpected(s, "authentication rejected") == 0)
                session_fail(s, -1, "authentication rejected");
            return;
        }
        s->authed = 1;
        session_after_helo(s);
        return;
    }
    if (s->reply.code != 334) {
        if (session_unexpected(s, "authentication rejected") == 0)
            session_fail(s, -1, "authentication rejected");
        return;
    }
    if (auth_base64(field, strlen(field), b64, sizeof(b64)) < 0
        || out_cmd(s, "%s", b64) || expect_push(s, cmd == CMD_AUTH_USER ? CMD_AUTH_PASS : CMD_AUTH)) {
        session_nobufs(s);
        return;
    }
    session_send(s);
}

static void on_mail(struct session *s, int t)
{
    if (!is_2xx(s->reply.code)) {
        if (session_unexpected(s, "sender rejected") < 0)
            return;
        s->txn[t].rejected = 1;
        if (!s->pipelined)
            session_rset(s, t);
        return;
    }
    if (!s->pipelined) {
        if (session_queue_rcpt(s, t)) {
            session_nobufs(s);
            return;
        }
        session_send(s);
    }
}

static void on_rcpt(struct session *s, int t)
{
    struct txn *x = &s->txn[t];
    int rc;

    if (is_2xx(s->reply.code)) {
        x->rcpt_accepted++;
        engine_count(s->eng, COUNT_RECIPIENT);
    } else if (session_unexpected(s, "recipient rejected") < 0) {
        return;
    }
    if (s->pipelined)
        return;
    if (x->rcpt_left > 0) {
        rc = session_queue_rcpt(s, t);
    } else if (x->rcpt_accepted > 0) {
        rc = session_queue_data(s, t);
    } else {
        session_rset(s, t);     /* no recipient accepted */
        return;
    }
    if (rc) {
        session_nobufs(s);
        return;
    }
    session_send(s);
}

static void on_data(struct session *s, int t)
{
    struct txn *x = &s->txn[t];

    if (s->reply.code != 354) {
        if (session_unexpected(s, "data rejected") < 0)
            return;
        session_rset(s, t);
        return;
    }
    /* 354 although no recipient was accepted (pipelined): end the empty data */
    x->empty_data = x->rcpt_accepted == 0 || x->rejected;
    if (session_queue_body(s, t)) {
        session_nobufs(s);
        return;
    }
    session_chain(s);           /* the next envelope goes in the same write */
    if (s->conn.fd >= 0)
        session_send(s);
}

/* txn_final - one end-of-data reply (ok: positive) for transaction t; LMTP
 * has one per accepted recipient. Once all have come, the message is
 * counted accepted or rejected and 1 is returned. */
static int txn_final(struct session *s, int t, int ok, uint64_t now)
{
    struct txn *x = &s->txn[t];

    if (x->final_left == 0)
        x->final_left = s->w->lmtp && x->rcpt_accepted > 1 ? x->rcpt_accepted : 1;
    x->final_ok += ok;
    if (--x->final_left > 0)
        return 0;
    if (x->final_ok > 0 && !x->empty_data && !x->rejected)
        engine_count_accepted(s->eng, now, now > x->job.due_ns ? now - x->job.due_ns : 0);
    else
        engine_count(s->eng, COUNT_REJECTED);
    return 1;
}

static void on_final(struct session *s, int t, uint64_t sent_ns)
{
    uint64_t now = now_ns();
    int ok = is_2xx(s->reply.code);

    if (!ok && session_unexpected(s, "end of data rejected") < 0)
        return;
    if (!txn_final(s, t, ok, now))
        return;
    expect_pop(s);
    engine_record_latency(s->eng, PHASE_DOT, now - sent_ns);
    session_txn_end(s, t);
}

static void on_rset(struct session *s, int t)
{
    if (!is_2xx(s->reply.code) && session_unexpected(s, "rset rejected") < 0)
        return;
    engine_count(s->eng, COUNT_REJECTED);
    session_txn_end(s, t);
}

static void on_quit(struct session *s)
{
    session_close(s);
    if (s->finishing || !engine_has_more(s->eng)) {
        session_report_closed(s);
        return;
    }
    session_next(s);
}

/* session_reply - one complete reply arrived. leftover: octets after it. */
static void session_reply(struct session *s, size_t leftover)
{
    struct expect e;
    uint64_t now = now_ns();
    int code = s->reply.code;

    engine_count_reply(s->eng, code);
    if (s->w->verbose)
        log_info("<<< %d %s", code, s->reply.text);
    if (s->exp_count == 0) {
        if (!s->has_job && !session_busy(s)) {  /* e.g. 421 to an idle -d connection */
            session_close(s);
            return;
        }
        session_fail(s, ERROR_PROTOCOL, "reply %d when none was expected", code);
        return;
    }
    e = s->exp[s->exp_head];
    if (e.cmd == CMD_DOT || e.cmd == CMD_BDAT) {
        on_final(s, e.t, e.sent_ns);
        return;
    }
    expect_pop(s);
    switch (e.cmd) {
    case CMD_BANNER:
        engine_record_latency(s->eng, PHASE_BANNER, now - e.sent_ns);
        on_banner(s);
        break;
    case CMD_HELO:
        engine_record_latency(s->eng, PHASE_HELO, now - e.sent_ns);
        on_helo(s);
        break;
    case CMD_STARTTLS:
        on_starttls(s, leftover);
        break;
    case CMD_AUTH:
    case CMD_AUTH_USER:
    case CMD_AUTH_PASS:
        on_auth(s, e.cmd);
        break;
    case CMD_MAIL:
        engine_record_latency(s->eng, PHASE_MAIL, now - e.sent_ns);
        on_mail(s, e.t);
        break;
    case CMD_RCPT:
        engine_record_latency(s->eng, PHASE_RCPT, now - e.sent_ns);
        on_rcpt(s, e.t);
        break;
    case CMD_DATA:
        engine_record_latency(s->eng, PHASE_DATA, now - e.sent_ns);
        on_data(s, e.t);
        break;
    case CMD_RSET:
        on_rset(s, e.t);
        break;
    case CMD_QUIT:
        engine_record_latency(s->eng, PHASE_QUIT, now - e.sent_ns);
        on_quit(s);
        break;
    default:
        break;
    }
}

/* Reading. */

static void session_eof(struct session *s)
{
    if (s->exp_count > 0 && s->exp[s->exp_head].cmd == CMD_QUIT) {
        engine_record_latency(s->eng, PHASE_QUIT, now_ns() - s->exp[s->exp_head].sent_ns);
        on_quit(s);
        return;
    }
    if (s->exp_count == 0 && !session_busy(s) && !s->has_job) {
        session_close(s);       /* the server closed an idle -d connection */
        return;
    }
    session_fail(s, ERROR_RESET, "lost connection while %s", session_doing(s));
}

static void session_read(struct session *s)
{
    unsigned gen = s->gen;
    size_t off, used;
    ssize_t n;
    int rc, replied = 0;

    do {
        n = transport_read(&s->conn, s->in, sizeof(s->in));
        if (n == -EAGAIN)
            break;
        if (n == 0) {
            session_eof(s);
            return;
        }
        if (n < 0) {
            session_fail(s, error_kind_of((int)n, s->conn.ssl != NULL), "%s while %s",
                         n == TRANSPORT_ETLS ? "TLS failure" : strerror((int)-n), session_doing(s));
            return;
        }
        for (off = 0; off < (size_t)n; off += used) {
            rc = reply_feed(&s->reply, s->in + off, (size_t)n - off, &used);
            if (rc < 0) {
                session_fail(s, ERROR_PROTOCOL, "malformed reply while %s", session_doing(s));
                return;
            }
            if (rc == 1) {
                replied = 1;
                s->dispatching = 1;
                session_reply(s, (size_t)n - off - used);
                s->dispatching = 0;
                if (s->gen != gen || s->handshaking)
                    return;
                reply_reset(&s->reply);
            }
        }
    } while (n == (ssize_t)sizeof(s->in) || transport_pending(&s->conn) > 0);
    /* A reply's time counts from its command or the reply before it: octets
     * trickled without ending a reply do not hold the session open. */
    if (s->exp_count > 0 && replied)
        session_arm_timeout(s);
    else if (s->exp_count == 0 && s->seg_count == 0)
        ev_timer_stop(s->loop, &s->timeout);
    session_watch(s);
}

/* Connecting and TLS. */

static void session_connect(struct session *s);

static void session_connect_failed(struct session *s, int err)
{
    if (s->conn.fd >= 0) {
        ev_io_del(s->loop, s->conn.fd);
        transport_close(&s->conn);
        engine_count(s->eng, COUNT_CONN_CLOSED);
        s->gen++;
        s->events = 0;
    }
    s->connecting = 0;
    ev_timer_stop(s->loop, &s->timeout);
    if (--s->connect_tries > 0) {
        engine_warn(s->eng, "connect: %s", strerror(err));
        session_later(s, ACT_CONNECT, 0);
        return;
    }
    engine_count(s->eng, COUNT_SESSION);
    session_fail(s, err == ECONNREFUSED ? ERROR_CONNECT_REFUSED
                 : err == ETIMEDOUT ? ERROR_TIMEOUT : ERROR_CONNECT,
                 "connect: %s", strerror(err));
}

static void session_connect(struct session *s)
{
    struct linger linger = { 1, 0 };    /* as smtp-source: reset on close, no TIME_WAIT */
    int fd;

    fd = endpoint_connect(s->addr, s->w->sndbuf);
    if (fd < 0) {
        session_connect_failed(s, -fd);
        return;
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger));
    if (s->w->sndbuf > 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &s->w->sndbuf, sizeof(s->w->sndbuf));
    transport_init(&s->conn, fd);
    engine_count(s->eng, COUNT_CONN_OPENED);
    s->connecting = 1;
    s->events = 0;
    s->connect_ns = now_ns();
    session_arm_timeout(s);
    session_watch(s);
}

static void session_connected(struct session *s)
{
    socklen_t len = sizeof(int);
    uint64_t started = s->connect_ns;
    int err = 0;

    if (getsockopt(s->conn.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err != 0) {
        session_connect_failed(s, err);
        return;
    }
    s->connecting = 0;
    engine_record_latency(s->eng, PHASE_CONNECT, now_ns() - started);
    s->exp_head = s->exp_count = 0;
    (void)expect_push(s, CMD_BANNER);
    session_arm_timeout(s);
    session_watch(s);
}

static void session_handshake(struct session *s)
{
    char err[256];
    int rc = transport_tls_handshake(&s->conn, err, sizeof(err));

    if (rc == 0) {
        session_watch(s);
        return;
    }
    if (rc < 0) {
        session_fail(s, rc == TRANSPORT_ETLS ? ERROR_TLS : ERROR_RESET, "TLS handshake failed: %s", err);
        return;
    }
    s->handshaking = 0;
    s->tls_done = 1;
    s->caps = 0;
    reply_reset(&s->reply);
    session_send_helo(s);
}

static void session_on_io(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    struct session *s = arg;
    unsigned gen = s->gen;

    (void)loop;
    (void)fd;
    if (s->connecting) {
        session_connected(s);
        return;
    }
    if (s->handshaking) {
        session_handshake(s);
        return;
    }
    if ((events & EV_WRITE) && s->seg_count > 0 && session_flush(s) < 0)
        return;
    if (s->gen == gen && ((events & EV_READ) || s->conn.tls_want_write))
        session_read(s);
}

static void session_on_timeout(struct ev_loop *loop, void *arg)
{
    struct session *s = arg;

    (void)loop;
    if (s->conn.fd < 0)
        return;
    if (s->connecting) {
        session_connect_failed(s, ETIMEDOUT);
        return;
    }
    session_fail(s, ERROR_TIMEOUT, "timeout while %s", session_doing(s));
}

static void session_on_delay(struct ev_loop *loop, void *arg)
{
    struct session *s = arg;

    (void)loop;
    if (s->delay_action == ACT_CONNECT)
        session_connect(s);
    else if (s->finishing)
        session_finish(s);
    else
        engine_session_ready(s->eng, s);
}

/* The interface. */

struct session *session_new(struct engine *eng, struct ev_loop *loop, const struct workload *w,
                            const struct endpoint_addr *addr, int index)
{
    struct session *s = calloc(1, sizeof(*s));
    struct message_header_vars v = { w->sender, w->recipient, "", w->myhostname, w->subject, 0, 0, 0 };
    size_t rcpt_len = strlen(w->recipient) + 32;

    if (s == NULL)
        return NULL;
    s->eng = eng;
    s->loop = loop;
    s->w = w;
    s->addr = addr;
    s->index = index;
    s->pid = (unsigned)getpid();
    s->rand_seed = (unsigned)getpid() ^ (unsigned)index * 2654435761u;
    transport_init(&s->conn, -1);
    s->drain_slot = -1;
    reply_reset(&s->reply);
    ev_timer_init(&s->timeout, session_on_timeout, s);
    ev_timer_init(&s->delay, session_on_delay, s);
    s->exp_cap = (size_t)w->recipients + 8;
    s->exp = calloc(s->exp_cap, sizeof(*s->exp));
    s->cmd_cap = SESSION_CMD_SLACK + strlen(w->sender) + 2 * AUTH_B64_MAX
        + (size_t)w->recipients * (rcpt_len + 16) + TRACE_LINE_MAX + message_headers_max(&v);
    s->cmd = malloc(s->cmd_cap);
    if (s->exp == NULL || s->cmd == NULL) {
        session_free(s);
        return NULL;
    }
    return s;
}

void session_run(struct session *s, const struct session_job *job)
{
    if (s->conn.fd >= 0 && s->greeted && !session_busy(s)) {
        session_start_txn(s, job);
        return;
    }
    s->job = *job;
    s->has_job = 1;
    if (s->conn.fd >= 0)
        return;                 /* connected but not greeted: picked up after HELO */
    s->connect_tries = s->w->connect_tries > 0 ? s->w->connect_tries : 1;
    session_connect(s);
}

void session_finish(struct session *s)
{
    s->finishing = 1;
    s->has_job = 0;
    ev_timer_stop(s->loop, &s->delay);
    if (s->conn.fd >= 0 && s->greeted && !session_busy(s) && s->exp_count == 0) {
        session_quit(s);
        return;
    }
    if (s->conn.fd >= 0)
        return;                 /* busy: it ends after what it is doing */
    session_report_closed(s);
}

/* session_harvest_reply - in an abort: one reply that had already arrived.
 * An end-of-data reply settles its message as on_final does (accepted or
 * rejected); any other only leaves the queue. Nothing is sent. */
static void session_harvest_reply(struct session *s)
{
    struct expect e;

    engine_count_reply(s->eng, s->reply.code);
    if (s->exp_count == 0)
        return;
    e = s->exp[s->exp_head];
    if ((e.cmd == CMD_DOT || e.cmd == CMD_BDAT) && s->txn[e.t].active) {
        if (!txn_final(s, e.t, is_2xx(s->reply.code), now_ns()))
            return;
        s->txn[e.t].active = 0;
    }
    expect_pop(s);
}

/* session_harvest - the run is aborted (another session's unexpected
 * reply, a stop): before the connection closes, count the outcome of
 * every message whose end-of-data reply is already in the socket's
 * buffer, so that what the server has taken is counted accepted; what is
 * still on its way stays unfinished. Reads without waiting, sends nothing. */
static void session_harvest(struct session *s)
{
    size_t off, used;
    ssize_t n;
    int rc;

    if (s->conn.fd < 0 || s->connecting || s->handshaking || s->dispatching || !session_busy(s))
        return;             /* dispatching: its handler aborted; the reply in hand is not settled */
    while (session_busy(s) && (n = transport_read(&s->conn, s->in, sizeof(s->in))) > 0) {
        for (off = 0; off < (size_t)n; off += used) {
            if ((rc = reply_feed(&s->reply, s->in + off, (size_t)n - off, &used)) < 0)
                return;
            if (rc == 1) {
                session_harvest_reply(s);
                reply_reset(&s->reply);
            }
        }
    }
}

void session_abort(struct session *s)
{
    session_harvest(s);
    session_close(s);
    s->has_job = 0;
    s->finishing = 1;
    session_report_closed(s);
}

void session_free(struct session *s)
{
    if (s == NULL)
        return;
    if (s->conn.fd >= 0) {
        ev_io_del(s->loop, s->conn.fd);
        transport_close(&s->conn);
    }
    ev_timer_stop(s->loop, &s->timeout);
    ev_timer_stop(s->loop, &s->delay);
    free(s->exp);
    free(s->cmd);
    free(s);
}
