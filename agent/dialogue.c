/* dialogue.c - the SMTP/LMTP client dialogue of smtpstorm-agent (see
 * dialogue.h): replies in, commands out, counts into the meter. Each
 * public call sets d->now and d->status; the handlers below queue
 * commands, set the status when the driver must act, and return. */
#include "dialogue.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "message.h"
#include "number.h"
#include "textbuf.h"
#include "trace.h"

#define DIALOGUE_CMD_SLACK 4096  /* command buffer room beyond one transaction's worth */
#define DIALOGUE_BDAT_LINE 48    /* room for "BDAT <size> LAST\r\n" */

/* What each command's failure is called, in smtp-source's words. */
static const char *const cmd_doing[] = {
    [DIALOGUE_BANNER] = "reading server greeting", [DIALOGUE_HELO] = "sending HELO",
    [DIALOGUE_STARTTLS_CMD] = "sending STARTTLS", [DIALOGUE_AUTH] = "sending AUTH",
    [DIALOGUE_AUTH_USER] = "sending AUTH", [DIALOGUE_AUTH_PASS] = "sending AUTH",
    [DIALOGUE_MAIL] = "sending sender", [DIALOGUE_RCPT] = "sending recipient",
    [DIALOGUE_DATA] = "sending DATA command", [DIALOGUE_DOT] = "sending message",
    [DIALOGUE_BDAT] = "sending message", [DIALOGUE_RSET] = "sending RSET",
    [DIALOGUE_QUIT] = "sending QUIT",
};

/* Said once per process, not per message. */
static atomic_int warned_pipelining, warned_chunking;

static void start_txn(struct dialogue *d, const struct dialogue_job *job);

static int is_2xx(int code) { return code >= 200 && code <= 299; }

/* Failing. */

void dialogue_vfailed(struct dialogue *d, int kind, const char *fmt, va_list ap)
{
    char line[DIALOGUE_MSG_MAX + 32];
    int n;

    if (kind < 0)
        return;
    meter_error(d->meter, (enum stats_error)kind);
    n = snprintf(line, sizeof(line), "session %d: ", d->index);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    d->hooks->warn(d->arg, line);
}

void dialogue_failed(struct dialogue *d, int kind, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    dialogue_vfailed(d, kind, fmt, ap);
    va_end(ap);
}

/* fail - a protocol failure: count kind (unless < 0), say it, and tell the
 * driver to close (DIALOGUE_FAIL). */
static void fail(struct dialogue *d, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), cold));
static void fail(struct dialogue *d, int kind, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    dialogue_vfailed(d, kind, fmt, ap);
    va_end(ap);
    d->status = DIALOGUE_FAIL;
}

static __attribute__((cold)) void nobufs(struct dialogue *d)
{
    fail(d, ERROR_OTHER, "internal error: command buffer full while %s", dialogue_doing(d));
}

/* abort_run - DIALOGUE_ABORT, saying msg: kept in a buffer allocated at
 * the first abort (the run ends with it; none is held before). */
static __attribute__((cold)) void abort_run(struct dialogue *d, const char *msg)
{
    if (d->error != NULL || (d->error = malloc(DIALOGUE_MSG_MAX)) != NULL)
        snprintf(d->error, DIALOGUE_MSG_MAX, "%s", msg);
    d->status = DIALOGUE_ABORT;
}

/* unexpected - a reply other than the one hoped for: abort the run
 * (returns -1) or, with -A, warn and count (returns 0). */
static __attribute__((cold)) int unexpected(struct dialogue *d, const char *what)
{
    char msg[DIALOGUE_MSG_MAX];

    snprintf(msg, sizeof(msg), "%s: %d %s", what, d->reply.code, d->reply.text);
    meter_error(d->meter, ERROR_UNEXPECTED_REPLY);
    if (!d->w->allow_reject) {
        abort_run(d, msg);
        return -1;
    }
    d->hooks->warn(d->arg, msg);
    return 0;
}

/* Output: segments over the command buffer and the shared payload. */

static int out_push(struct dialogue *d, const char *ptr, size_t len)
{
    struct iovec *last;

    if (len == 0)
        return 0;
    if (d->seg_count > 0) {
        last = &d->seg[d->seg_head + d->seg_count - 1];
        if ((const char *)last->iov_base + last->iov_len == ptr) {
            last->iov_len += len;
            return 0;
        }
    }
    if (d->seg_head + d->seg_count == DIALOGUE_OUT_SEGS) {
        if (d->seg_head == 0)
            return -ENOBUFS;
        memmove(d->seg, d->seg + d->seg_head, (size_t)d->seg_count * sizeof(d->seg[0]));
        d->seg_head = 0;
    }
    d->seg[d->seg_head + d->seg_count].iov_base = (void *)ptr;
    d->seg[d->seg_head + d->seg_count].iov_len = len;
    d->seg_count++;
    return 0;
}

/* line_begin - start a command line in the command buffer's free room. */
static void line_begin(struct dialogue *d, struct textbuf *b)
{
    textbuf_init(b, d->cmd + d->cmd_len, d->cmd_cap - d->cmd_len);
}

/* line_end - add CRLF and queue the line. Returns 0 or -ENOBUFS. */
static int line_end(struct dialogue *d, struct textbuf *b)
{
    TEXTBUF_LIT(b, "\r\n");
    if (b->overflow)
        return -ENOBUFS;
    if (d->w->verbose)
        log_info("%.*s", (int)b->len - 2, b->p);
    d->cmd_len += b->len;
    return out_push(d, b->p, b->len);
}

/* out_copy - queue the command line at line, len octets with its CRLF,
 * formatted already (a literal, or the workload's), by a copy. */
static int out_copy(struct dialogue *d, const char *line, size_t len)
{
    char *at = d->cmd + d->cmd_len;

    if (d->cmd_cap - d->cmd_len < len)
        return -ENOBUFS;
    memcpy(at, line, len);
    if (d->w->verbose)
        log_info("%.*s", (int)len - 2, at);
    d->cmd_len += len;
    return out_push(d, at, len);
}

/* OUT_LIT - queue the literal command cmd (CRLF added). */
#define OUT_LIT(d, cmd) out_copy((d), cmd "\r\n", sizeof(cmd) + 1)

/* out_cmd - queue the command line text (CRLF added). */
static int out_cmd(struct dialogue *d, const char *text)
{
    struct textbuf b;

    line_begin(d, &b);
    textbuf_str(&b, text);
    return line_end(d, &b);
}

/* Expectations. */

static int expect_push_txn(struct dialogue *d, enum dialogue_cmd cmd, int t)
{
    size_t slot;

    if (d->exp_count == d->exp_cap)
        return -ENOBUFS;
    slot = d->exp_head + d->exp_count;     /* both below exp_cap: no division */
    if (slot >= d->exp_cap)
        slot -= d->exp_cap;
    d->exp[slot] = (struct dialogue_expect){ cmd, t, d->now };
    d->exp_count++;
    if (cmd == DIALOGUE_DOT || cmd == DIALOGUE_BDAT)
        d->drain_slot = (int)slot;
    return 0;
}

static int expect_push(struct dialogue *d, enum dialogue_cmd cmd) { return expect_push_txn(d, cmd, 0); }

static void expect_pop(struct dialogue *d)
{
    if ((int)d->exp_head == d->drain_slot)
        d->drain_slot = -1;
    if (++d->exp_head == d->exp_cap)
        d->exp_head = 0;
    d->exp_count--;
}

static void record(struct dialogue *d, enum stats_phase phase, uint64_t sent_ns)
{
    meter_latency(d->meter, phase, d->now > sent_ns ? d->now - sent_ns : 0);
}

/* After a message: QUIT, or the next one. */

static void quit(struct dialogue *d)
{
    if (OUT_LIT(d, "QUIT") || expect_push(d, DIALOGUE_QUIT))
        nobufs(d);
}

/* chain - with pipelining on a kept connection, queue the next message's
 * envelope right behind a complete message when one is due now (RFC 2920
 * 3.1: only DATA must end a group; the message content may start one).
 * Saves a round trip and a write per message. */
static void chain(struct dialogue *d)
{
    struct dialogue_job job;
    const struct workload *w = d->w;

    if (!d->pipelined || w->disconnect || !d->tail_complete || w->fixed_delay_s
        || w->random_delay_s || d->finishing || (d->txn[0].active && d->txn[1].active))
        return;
    if (d->hooks->take_job(d->arg, &job))
        start_txn(d, &job);
}

/* after_message - no transaction left: QUIT (-d, or nothing more to send)
 * or ask for the next message. */
static void after_message(struct dialogue *d)
{
    if (d->w->disconnect || d->finishing || !d->hooks->has_more(d->arg))
        quit(d);
    else
        d->status = DIALOGUE_IDLE;
}

static void txn_end(struct dialogue *d, int t)
{
    d->txn[t].active = 0;
    if (dialogue_busy(d))           /* the chained next message goes on */
        chain(d);
    else
        after_message(d);
}

/* The transaction. */

static int queue_rcpt(struct dialogue *d, int t)
{
    uint64_t number;
    struct textbuf b;
    const char *rcpt = d->w->recipient;
    char drawn[MESSAGE_ADDR_MAX];

    if (d->w->rcpt_line_len > 0 && !d->w->number_rcpts && !d->w->rcpt_spread
        && d->txn[t].rcpt_left <= 1) {      /* the workload's own line, unnumbered */
        d->txn[t].rcpt_left--;
        if (out_copy(d, d->w->rcpt_line, d->w->rcpt_line_len))
            return -ENOBUFS;
        return expect_push_txn(d, DIALOGUE_RCPT, t);
    }
    number = d->w->number_rcpts ? d->hooks->next_rcpt_number(d->arg) : 0;

    if (d->w->rcpt_spread) {
        if (spread_pick(d->w->rcpt_spread, dist_random(d->w->seed, d->txn[t].job.seq,
                                                       DIST_STREAM_RCPT + (uint64_t)d->txn[t].rcpt_left),
                        d->w->recipient, drawn, sizeof(drawn) - 32) < 0)
            return -ENOBUFS;
        rcpt = drawn;
    }
    line_begin(d, &b);
    TEXTBUF_LIT(&b, "RCPT TO:");
    if (message_rcpt_append(&b, rcpt, d->txn[t].rcpt_left, number) < 0)
        return -ENOBUFS;
    d->txn[t].rcpt_left--;
    if (line_end(d, &b))
        return -ENOBUFS;
    return expect_push_txn(d, DIALOGUE_RCPT, t);
}

/* mime_headers_of - what a MIME message's top says, into h (returned). */
static const struct mime_headers *mime_headers_of(const struct dialogue *d, int t, struct mime_headers *h)
{
    const struct workload *w = d->w;

    *h = (struct mime_headers){ d->txn[t].sender, w->recipient, w->subject, d->msg_date ? d->msg_date : "",
                                w->myhostname, w->agent_id, w->campaign };
    return h;
}

/* prefix - the trace header and smtp-source's headers (not with --mime:
 * its own come with it), formatted at at; returns their length or -1. */
static int prefix(struct dialogue *d, int t, char *at, size_t cap)
{
    const struct workload *w = d->w;
    const struct dialogue_clock *c = NULL;
    struct message_header_vars v;
    const char *date = NULL;
    int n = 0, m;

    if (w->trace || w->send_headers || w->mime) {
        c = d->hooks->wall_clock(d->arg);
        date = c->date;
    }
    d->msg_date = date;
    if (w->trace && (n = trace_format_stamp(&w->trace_head, d->txn[t].job.seq, &c->second, c->usec, at, cap)) < 0)
        return -1;
    if (w->send_headers && c->head_len > 0 && d->txn[t].sender == w->sender) {
        if ((m = message_headers_format_head(at + n, cap - (size_t)n, &w->headers_fixed, c->head, c->head_len,
                                             d->id_prefix, d->id_len, d->txn[t].job.remaining)) < 0)
            return -1;
        n += m;
    } else if (w->send_headers && w->headers_fixed.to_len > 0) {
        if ((m = message_headers_format_fixed(at + n, cap - (size_t)n, &w->headers_fixed,
                                              d->txn[t].sender, date, d->id_prefix, d->id_len,
                                              d->txn[t].job.remaining)) < 0)
            return -1;
        n += m;
    } else if (w->send_headers) {
        v = (struct message_header_vars){ d->txn[t].sender, w->recipient, date, w->myhostname,
                                          w->subject, d->pid, (unsigned)d->fd,
                                          d->txn[t].job.remaining };
        if ((m = message_headers_format(at + n, cap - (size_t)n, &v)) < 0)
            return -1;
        n += m;
    }
    return n;
}

/* body_octets - what transaction t's body is (after the headers, before
 * the final dot): the payload, or with --size a cut of the line pattern:
 * its whole lines below the drawn length, then the rest as one line,
 * then CRLF, as -l of that length would shape it. */
static size_t body_octets(const struct dialogue *d, int t)
{
    struct mime_headers h;

    if (d->w->mime)
        return mime_size(&d->txn[t].plan, d->w->mime_pool, mime_headers_of(d, t, &h));
    return d->w->size_dist ? (size_t)d->txn[t].body_len + 2 : d->txn[t].payload->raw_len;
}

/* The command buffer and the output queue as a mime_sink. */

static int mime_copy(void *arg, const char *p, size_t n)
{
    struct dialogue *d = arg;
    char *at = d->cmd + d->cmd_len;

    if (d->cmd_cap - d->cmd_len < n)
        return -ENOBUFS;
    memcpy(at, p, n);
    d->cmd_len += n;
    d->mime_octets += n;
    return out_push(d, at, n);
}

static int mime_keep(void *arg, const char *p, size_t n)
{
    struct dialogue *d = arg;

    d->mime_octets += n;
    return out_push(d, p, n);
}

/* queue_mime - transaction t's MIME message; its size is recorded. */
static int queue_mime(struct dialogue *d, int t)
{
    const struct mime_sink sink = { mime_copy, mime_keep, d };
    struct mime_headers h;
    int rc;

    d->mime_octets = 0;
    rc = mime_emit(&d->txn[t].plan, d->w->mime_pool, mime_headers_of(d, t, &h), &sink);
    if (rc == 0)
        meter_body(d->meter, d->mime_octets);
    return rc;
}

/* queue_payload - the body of transaction t (raw: for BDAT, not
 * dot-stuffed; the pattern has no dots). Returns 0 or -ENOBUFS. */
static int queue_payload(struct dialogue *d, int t, int raw)
{
    const struct message_payload *p = d->txn[t].payload;
    size_t whole, rest;
    char *at;

    if (d->w->mime)
        return queue_mime(d, t);
    if (!d->w->size_dist)
        return raw ? out_push(d, p->raw, p->raw_len) : out_push(d, p->data, p->len);
    whole = (size_t)d->txn[t].body_len / MESSAGE_LINE_LEN * MESSAGE_LINE_LEN;
    rest = (size_t)d->txn[t].body_len - whole;
    assert(whole <= p->len);
    if (out_push(d, p->data, whole))
        return -ENOBUFS;
    if (d->cmd_cap - d->cmd_len < rest + 2)
        return -ENOBUFS;
    at = d->cmd + d->cmd_len;
    if (rest > 0) {
        memset(at, 'X', rest);
        at[0] = "0123456789"[(whole / MESSAGE_LINE_LEN + 1) % 10];
    }
    memcpy(at + rest, "\r\n", 2);
    d->cmd_len += rest + 2;
    return out_push(d, at, rest + 2);
}

/* message_queued - a whole message is queued: the next may follow it. */
static void message_queued(struct dialogue *d)
{
    d->tail_complete = 1;
    if (d->hooks->dot_sent)
        d->hooks->dot_sent(d->arg);
}

/* queue_body - after 354: prefix, payload, and ".". */
static int queue_body(struct dialogue *d, int t)
{
    static const char dot[] = ".\r\n";
    char *at = d->cmd + d->cmd_len;
    int n = 0;

    if (!d->txn[t].empty_data) {
        if ((n = prefix(d, t, at, d->cmd_cap - d->cmd_len)) < 0)
            return -ENOBUFS;
        d->cmd_len += (size_t)n;
        if (out_push(d, at, (size_t)n) || queue_payload(d, t, 0))
            return -ENOBUFS;
    }
    if (d->w->verbose)
        log_info(".");
    if (out_push(d, dot, sizeof(dot) - 1) || expect_push_txn(d, DIALOGUE_DOT, t))
        return -ENOBUFS;
    message_queued(d);
    return 0;
}

/* queue_bdat - "BDAT n LAST" with the whole message (RFC 3030). */
static int queue_bdat(struct dialogue *d, int t)
{
    size_t cap = d->cmd_cap - d->cmd_len, size;
    char *at = d->cmd + d->cmd_len;
    struct textbuf b;
    int n;

    if (cap <= DIALOGUE_BDAT_LINE
        || (n = prefix(d, t, at + DIALOGUE_BDAT_LINE, cap - DIALOGUE_BDAT_LINE)) < 0)
        return -ENOBUFS;
    size = (size_t)n + body_octets(d, t);
    textbuf_init(&b, at, DIALOGUE_BDAT_LINE);
    TEXTBUF_LIT(&b, "BDAT ");
    textbuf_u64(&b, size);
    TEXTBUF_LIT(&b, " LAST\r\n");
    if (b.overflow)
        return -ENOBUFS;
    if (d->w->verbose)
        log_info("BDAT %zu LAST", size);
    memmove(at + b.len, at + DIALOGUE_BDAT_LINE, (size_t)n);
    d->cmd_len += b.len + (size_t)n;
    if (out_push(d, at, b.len + (size_t)n) || queue_payload(d, t, 1)
        || expect_push_txn(d, DIALOGUE_BDAT, t))
        return -ENOBUFS;
    message_queued(d);
    return 0;
}

static int queue_data(struct dialogue *d, int t)
{
    if (d->chunked)
        return queue_bdat(d, t);
    if (OUT_LIT(d, "DATA"))
        return -ENOBUFS;
    d->tail_complete = 0;
    return expect_push_txn(d, DIALOGUE_DATA, t);
}

/* message_size - what transaction t will send after DATA's 354 or in
 * BDAT, as RFC 1870 6.1 counts it (no dot-stuffing, no final dot): the
 * headers formatted now, in the command buffer's free room, plus the
 * payload. Only computed when the server announced SIZE; 0 otherwise. */
static size_t message_size(struct dialogue *d, int t)
{
    int n;

    if (!(d->caps & DIALOGUE_CAP_SIZE))
        return 0;
    if ((n = prefix(d, t, d->cmd + d->cmd_len, d->cmd_cap - d->cmd_len)) < 0)
        n = 0;
    return (size_t)n + body_octets(d, t);
}

/* refuse - a message the server said it will not take is not sent (no
 * MAIL, no body) but counted: over its SIZE (RFC 1870 4: the client should
 * not send it), or --smtputf8 without SMTPUTF8 offered (RFC 6531 3.4).
 * Returns 1 when refused. */
static int refuse(struct dialogue *d, int t, size_t size)
{
    if (d->w->smtputf8 && !(d->caps & DIALOGUE_CAP_SMTPUTF8)) {
        dialogue_failed(d, ERROR_NO_SMTPUTF8,
                        "server does not offer SMTPUTF8 (--smtputf8): message not sent");
    } else if (d->size_limit > 0 && size > d->size_limit) {
        dialogue_failed(d, ERROR_TOO_BIG, "message of %zu octets is over the server's SIZE %llu: not sent",
                        size, (unsigned long long)d->size_limit);
    } else {
        return 0;
    }
    d->txn[t].active = 0;
    if (!dialogue_busy(d))      /* else the other transaction's end goes on */
        after_message(d);
    return 1;
}

/* queue_mail - MAIL FROM, with SIZE= when the server offers SIZE and the
 * workload sends it (RFC 1870 6), and SMTPUTF8 (RFC 6531 3.4); the sender
 * tagged with the message's trace (--envelope-trace). */
static int queue_mail(struct dialogue *d, int t, size_t size)
{
    char tagged[MESSAGE_ADDR_MAX + TRACE_TAG_MAX];
    struct trace_tag tag = { d->w->pair_key, d->txn[t].job.seq };
    struct textbuf b;

    if (d->w->mail_line_len > 0 && !d->w->sender_spread && !d->w->envelope_trace && !d->w->smtputf8
        && !((d->caps & DIALOGUE_CAP_SIZE) && d->w->mail_size))
        return out_copy(d, d->w->mail_line, d->w->mail_line_len);     /* the workload's own line */
    line_begin(d, &b);
    TEXTBUF_LIT(&b, "MAIL FROM:<");
    if (d->w->envelope_trace && trace_tag_sender(d->txn[t].sender, &tag, tagged, sizeof(tagged)) > 0)
        textbuf_str(&b, tagged);
    else
        textbuf_str(&b, d->txn[t].sender);
    TEXTBUF_LIT(&b, ">");
    if ((d->caps & DIALOGUE_CAP_SIZE) && d->w->mail_size) {
        TEXTBUF_LIT(&b, " SIZE=");
        textbuf_u64(&b, size);
    }
    if (d->w->smtputf8)
        TEXTBUF_LIT(&b, " SMTPUTF8");
    return line_end(d, &b);
}

/* choose_modes - a connection's first transaction (or lock-step): pipeline
 * and chunk only what the server offers, and say once when it does not. */
static void choose_modes(struct dialogue *d)
{
    const struct workload *w = d->w;

    d->pipelined = w->pipelining && (d->caps & DIALOGUE_CAP_PIPELINING);
    d->chunked = w->chunking && (d->caps & DIALOGUE_CAP_CHUNKING);
    if (w->pipelining && !d->pipelined && atomic_exchange(&warned_pipelining, 1) == 0)
        log_warn("server does not offer PIPELINING; sending in lock-step");
    if (w->chunking && !d->chunked && atomic_exchange(&warned_chunking, 1) == 0)
        log_warn("server does not offer CHUNKING; sending DATA");
}

static void start_txn(struct dialogue *d, const struct dialogue_job *job)
{
    int i, t = d->txn[0].active ? 1 : 0;
    struct dialogue_txn *x = &d->txn[t];
    size_t size;

    assert(!d->txn[t].active);
    /* Field by field, not a compound literal: that would clear the sender
     * and the MIME plan too (over a kilobyte a message, both written below
     * when used). */
    x->active = 1;
    x->job = *job;
    x->rcpt_left = d->w->recipients;
    x->rcpt_accepted = x->final_left = x->final_ok = x->rejected = x->empty_data = 0;
    x->body_len = 0;
    x->payload = d->w->corpus ? corpus_pick(d->w->corpus, job->seq) : d->w->payload;
    if (d->w->rcpt_dist)
        x->rcpt_left = (int)dist_draw(d->w->rcpt_dist, dist_random(d->w->seed, job->seq,
                                                                    DIST_STREAM_RECIPIENTS));
    x->sender = d->w->sender;       /* no copy per message: options checked its length */
    if (d->w->sender_spread
        && spread_pick(d->w->sender_spread, dist_random(d->w->seed, job->seq, DIST_STREAM_SENDER),
                       d->w->sender, x->sender_drawn, sizeof(x->sender_drawn)) >= 0)
        x->sender = x->sender_drawn;
    if (d->w->mime) {
        mime_plan_draw(d->w->mime, d->w->mime_pool, d->w->seed, job->seq, &x->plan);
    } else if (d->w->size_dist) {
        x->body_len = dist_draw(d->w->size_dist, dist_random(d->w->seed, job->seq, DIST_STREAM_SIZE));
        meter_body(d->meter, x->body_len);
    }
    if (!d->txn[1 - t].active)
        choose_modes(d);
    size = message_size(d, t);
    if (refuse(d, t, size))
        return;
    meter_attempted(d->meter);
    d->tail_complete = 0;
    if (queue_mail(d, t, size) || expect_push_txn(d, DIALOGUE_MAIL, t))
        goto nobufs;
    if (d->pipelined) {
        for (i = x->rcpt_left; i > 0; i--)
            if (queue_rcpt(d, t))
                goto nobufs;
        if (queue_data(d, t))
            goto nobufs;
    }
    if (d->chunked)
        chain(d);               /* a whole BDAT message is queued: the next may follow */
    return;

nobufs:
    nobufs(d);
}

static void rset(struct dialogue *d, int t)
{
    d->txn[t].rejected = 1;
    d->tail_complete = 0;
    if (OUT_LIT(d, "RSET") || expect_push_txn(d, DIALOGUE_RSET, t))
        nobufs(d);
}

/* After the greeting: HELO, STARTTLS, AUTH, then the transaction. */

static int send_starttls(struct dialogue *d)
{
    if (!(d->caps & DIALOGUE_CAP_STARTTLS)) {
        if (!d->w->allow_reject) {
            abort_run(d, "server does not offer STARTTLS (--starttls)");
            return -1;
        }
        fail(d, ERROR_TLS, "server does not offer STARTTLS");
        return -1;
    }
    return out_cmd(d, "STARTTLS") || expect_push(d, DIALOGUE_STARTTLS_CMD) ? -ENOBUFS : 0;
}

static int send_auth(struct dialogue *d)
{
    const struct workload *w = d->w;
    char b64[AUTH_B64_MAX];
    struct textbuf b;

    if (d->mech == AUTH_NONE) {
        if (!w->allow_reject) {
            abort_run(d, "server does not offer AUTH PLAIN or LOGIN (--auth)");
            return -1;
        }
        fail(d, ERROR_OTHER, "server does not offer AUTH PLAIN or LOGIN");
        return -1;
    }
    if (d->mech == AUTH_LOGIN)
        return out_cmd(d, "AUTH LOGIN") || expect_push(d, DIALOGUE_AUTH_USER) ? -ENOBUFS : 0;
    if (auth_plain(w->auth_user, w->auth_pass, b64, sizeof(b64)) < 0)
        return -ENOBUFS;
    line_begin(d, &b);
    TEXTBUF_LIT(&b, "AUTH PLAIN ");
    textbuf_str(&b, b64);
    return line_end(d, &b) || expect_push(d, DIALOGUE_AUTH) ? -ENOBUFS : 0;
}

static void after_helo(struct dialogue *d)
{
    int rc;

    d->greeted = 1;
    if (d->w->starttls && !d->tls_done)
        rc = send_starttls(d);
    else if (d->w->auth_user && !d->authed)
        rc = send_auth(d);
    else if (d->has_job) {
        d->has_job = 0;
        start_txn(d, &d->job);
        return;
    } else if (d->finishing) {
        quit(d);
        return;
    } else {
        d->status = DIALOGUE_IDLE;
        return;
    }
    if (rc == -ENOBUFS)
        nobufs(d);
}

static void send_helo(struct dialogue *d)
{
    const struct workload *w = d->w;
    int ehlo = w->pipelining || w->chunking || w->starttls || w->auth_user || w->smtputf8 || w->ehlo;
    struct textbuf b;

    d->helo_verb = w->lmtp ? "LHLO" : ehlo ? "EHLO" : "HELO";
    line_begin(d, &b);
    textbuf_str(&b, d->helo_verb);
    TEXTBUF_LIT(&b, " ");
    textbuf_str(&b, w->myhostname);
    if (line_end(d, &b) || expect_push(d, DIALOGUE_HELO))
        nobufs(d);
}

/* size_limit - the SIZE keyword's number (RFC 1870 4); 0 (no limit) when
 * absent, zero, or not a number we can read. */
static uint64_t size_limit(const char *params, size_t len)
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

static void parse_caps(struct dialogue *d)
{
    static const struct { const char *keyword; unsigned cap; } plain[] = {
        { "PIPELINING", DIALOGUE_CAP_PIPELINING }, { "CHUNKING", DIALOGUE_CAP_CHUNKING },
        { "STARTTLS", DIALOGUE_CAP_STARTTLS }, { "SMTPUTF8", DIALOGUE_CAP_SMTPUTF8 },
    };
    const char *params;
    size_t plen;

    d->caps = 0;
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        if (reply_has_keyword(&d->reply, plain[i].keyword, NULL, NULL))
            d->caps |= plain[i].cap;
    d->size_limit = 0;
    if (reply_has_keyword(&d->reply, "SIZE", &params, &plen)) {
        d->caps |= DIALOGUE_CAP_SIZE;
        d->size_limit = size_limit(params, plen);
    }
    d->mech = AUTH_NONE;
    if (reply_has_keyword(&d->reply, "AUTH", &params, &plen))
        d->mech = auth_pick(params, plen);
}

/* One handler per expected reply. */

static void on_banner(struct dialogue *d)
{
    if (!is_2xx(d->reply.code) && unexpected(d, "rejected at server banner") < 0)
        return;
    if (d->w->send_helo)
        send_helo(d);
    else
        after_helo(d);
}

static void on_helo(struct dialogue *d)
{
    char what[32];

    if (!is_2xx(d->reply.code)) {
        snprintf(what, sizeof(what), "%s rejected", d->helo_verb);
        if (unexpected(d, what) < 0)
            return;
    } else if (d->helo_verb[0] != 'H') {
        parse_caps(d);
    }
    after_helo(d);
}

static void on_starttls(struct dialogue *d, size_t leftover)
{
    if (d->reply.code != 220) {
        if (unexpected(d, "STARTTLS rejected") == 0)
            fail(d, ERROR_TLS, "STARTTLS rejected: %d %s", d->reply.code, d->reply.text);
        return;
    }
    if (leftover > 0) {     /* RFC 3207 5: nothing may follow the 220 in the clear */
        fail(d, ERROR_PROTOCOL, "server sent data after its STARTTLS reply");
        return;
    }
    d->greeted = 0;         /* RFC 3207 4.2: the greeting starts over under TLS */
    d->status = DIALOGUE_STARTTLS;
}

static void auth_rejected(struct dialogue *d)
{
    if (unexpected(d, "authentication rejected") == 0)
        fail(d, -1, "authentication rejected");
}

static void on_auth(struct dialogue *d, enum dialogue_cmd cmd)
{
    char b64[AUTH_B64_MAX];
    const char *field = cmd == DIALOGUE_AUTH_USER ? d->w->auth_user : d->w->auth_pass;

    if (cmd == DIALOGUE_AUTH) {
        if (!is_2xx(d->reply.code)) {     /* 235 (RFC 4954); smtp-sink says 250 */
            auth_rejected(d);
            return;
        }
        d->authed = 1;
        after_helo(d);
        return;
    }
    if (d->reply.code != 334) {
        auth_rejected(d);
        return;
    }
    if (auth_base64(field, strlen(field), b64, sizeof(b64)) < 0 || out_cmd(d, b64)
        || expect_push(d, cmd == DIALOGUE_AUTH_USER ? DIALOGUE_AUTH_PASS : DIALOGUE_AUTH))
        nobufs(d);
}

static void on_mail(struct dialogue *d, int t)
{
    if (!is_2xx(d->reply.code)) {
        if (unexpected(d, "sender rejected") < 0)
            return;
        d->txn[t].rejected = 1;
        if (!d->pipelined)
            rset(d, t);
        return;
    }
    if (!d->pipelined && queue_rcpt(d, t))
        nobufs(d);
}

static void on_rcpt(struct dialogue *d, int t)
{
    struct dialogue_txn *x = &d->txn[t];
    int rc;

    if (is_2xx(d->reply.code)) {
        x->rcpt_accepted++;
        meter_recipient(d->meter);
    } else if (unexpected(d, "recipient rejected") < 0) {
        return;
    }
    if (d->pipelined)
        return;
    if (x->rcpt_left > 0) {
        rc = queue_rcpt(d, t);
    } else if (x->rcpt_accepted > 0) {
        rc = queue_data(d, t);
    } else {
        rset(d, t);             /* no recipient accepted */
        return;
    }
    if (rc)
        nobufs(d);
}

static void on_data(struct dialogue *d, int t)
{
    struct dialogue_txn *x = &d->txn[t];

    if (d->reply.code != 354) {
        if (unexpected(d, "data rejected") == 0)
            rset(d, t);
        return;
    }
    /* 354 although no recipient was accepted (pipelined): end the empty data */
    x->empty_data = x->rcpt_accepted == 0 || x->rejected;
    if (queue_body(d, t)) {
        nobufs(d);
        return;
    }
    chain(d);                   /* the next envelope goes in the same write */
}

/* txn_final - one end-of-data reply (ok: positive) for transaction t; LMTP
 * has one per accepted recipient. Once all have come, the message is
 * counted accepted or rejected and 1 is returned. */
static int txn_final(struct dialogue *d, int t, int ok)
{
    struct dialogue_txn *x = &d->txn[t];
    uint64_t now = d->now;

    if (x->final_left == 0)
        x->final_left = d->w->lmtp && x->rcpt_accepted > 1 ? x->rcpt_accepted : 1;
    x->final_ok += ok;
    if (--x->final_left > 0)
        return 0;
    if (x->final_ok > 0 && !x->empty_data && !x->rejected)
        meter_accepted(d->meter, now, now > x->job.due_ns ? now - x->job.due_ns : 0);
    else
        meter_rejected(d->meter);
    return 1;
}

static void on_final(struct dialogue *d, const struct dialogue_expect *e)
{
    int ok = is_2xx(d->reply.code);

    if (!ok && unexpected(d, "end of data rejected") < 0)
        return;
    if (!txn_final(d, e->t, ok))
        return;
    expect_pop(d);
    record(d, PHASE_DOT, e->sent_ns);
    txn_end(d, e->t);
}

static void on_rset(struct dialogue *d, int t)
{
    if (!is_2xx(d->reply.code) && unexpected(d, "rset rejected") < 0)
        return;
    meter_rejected(d->meter);
    txn_end(d, t);
}

/* The phase whose latency a reply to each command ends (recorded before
 * its handler runs); -1: none, or recorded elsewhere (the end of data's
 * once its transaction is settled, STARTTLS's after the handshake). */
static const signed char reply_phase[] = {
    [DIALOGUE_BANNER] = PHASE_BANNER, [DIALOGUE_HELO] = PHASE_HELO, [DIALOGUE_STARTTLS_CMD] = -1,
    [DIALOGUE_AUTH] = -1, [DIALOGUE_AUTH_USER] = -1, [DIALOGUE_AUTH_PASS] = -1,
    [DIALOGUE_MAIL] = PHASE_MAIL, [DIALOGUE_RCPT] = PHASE_RCPT, [DIALOGUE_DATA] = PHASE_DATA,
    [DIALOGUE_DOT] = -1, [DIALOGUE_BDAT] = -1, [DIALOGUE_RSET] = -1, [DIALOGUE_QUIT] = PHASE_QUIT,
};

/* on_reply - one complete reply arrived; leftover octets follow it. */
static void on_reply(struct dialogue *d, size_t leftover)
{
    struct dialogue_expect e;
    int code = d->reply.code;

    meter_reply(d->meter, code);
    d->replies++;
    if (d->w->verbose)
        log_info("<<< %d %s", code, d->reply.text);
    if (d->exp_count == 0) {
        if (!d->has_job && !dialogue_busy(d))   /* e.g. 421 to an idle -d connection */
            d->status = DIALOGUE_HANGUP;
        else
            fail(d, ERROR_PROTOCOL, "reply %d when none was expected", code);
        return;
    }
    e = d->exp[d->exp_head];
    if (e.cmd == DIALOGUE_DOT || e.cmd == DIALOGUE_BDAT) {
        on_final(d, &e);
        return;
    }
    expect_pop(d);
    if (reply_phase[e.cmd] >= 0)    /* one histogram update in the code, not one per case */
        record(d, (enum stats_phase)reply_phase[e.cmd], e.sent_ns);
    switch (e.cmd) {
    case DIALOGUE_BANNER: on_banner(d); break;
    case DIALOGUE_HELO: on_helo(d); break;
    case DIALOGUE_STARTTLS_CMD: d->starttls_sent_ns = e.sent_ns; on_starttls(d, leftover); break;
    case DIALOGUE_AUTH:
    case DIALOGUE_AUTH_USER:
    case DIALOGUE_AUTH_PASS: on_auth(d, e.cmd); break;
    case DIALOGUE_MAIL: on_mail(d, e.t); break;
    case DIALOGUE_RCPT: on_rcpt(d, e.t); break;
    case DIALOGUE_DATA: on_data(d, e.t); break;
    case DIALOGUE_RSET: on_rset(d, e.t); break;
    case DIALOGUE_QUIT: d->status = DIALOGUE_CLOSE; break;
    default: break;
    }
}

/* The interface. */

/* begin - a public call starts at now. */
static void begin(struct dialogue *d, uint64_t now)
{
    d->now = now;
    d->status = DIALOGUE_MORE;
}

/* cmd_size - the command buffer a dialogue of w needs: one transaction's
 * commands and headers, with room to spare. */
static size_t cmd_size(const struct workload *w)
{
    struct message_header_vars v = { w->sender, w->recipient, "", w->myhostname, w->subject, 0, 0, 0 };
    size_t rcpt_len = strlen(w->recipient) + 32;

    return DIALOGUE_CMD_SLACK + (w->mime ? 2 * MIME_OVERHEAD_MAX : 0) + strlen(w->sender) + 2 * AUTH_B64_MAX
           + (size_t)w->recipients * (rcpt_len + 16) + TRACE_LINE_MAX + message_headers_max(&v);
}

size_t dialogue_buffer_size(const struct workload *w)
{
    return REPLY_TEXT_MAX + cmd_size(w);
}

/* hold - the buffer for a call that may read a reply or queue output,
 * from the pool unless held already. Out of memory here is fatal, as in
 * the event loop's core (lib/ev.h): a session cannot go on without it. */
static void hold(struct dialogue *d)
{
    char *b;

    if (d->cmd != NULL)
        return;
    if ((b = bufpool_get(d->pool)) == NULL) {
        log_error("out of memory for a session's buffer");
        abort();
    }
    d->reply.text = b;
    d->cmd = b + REPLY_TEXT_MAX;
    d->cmd_len = 0;
}

/* settle - the end of a call: with no reply half read and no output
 * waiting, the buffer goes back to the pool. */
static void settle(struct dialogue *d)
{
    if (d->cmd == NULL || d->seg_count > 0 || reply_begun(&d->reply))
        return;
    bufpool_put(d->pool, d->reply.text);
    d->reply.text = NULL;
    d->cmd = NULL;
    d->cmd_len = 0;
}

void dialogue_clock_head(struct dialogue_clock *c, const struct workload *w)
{
    int n = -1;

    if (w->send_headers && w->headers_fixed.to_len > 0)
        n = message_head_format(c->head, sizeof(c->head), &w->headers_fixed, w->sender, c->date);
    c->head_len = n > 0 ? (size_t)n : 0;
}

int dialogue_init(struct dialogue *d, const struct workload *w, const struct dialogue_hooks *hooks,
                  void *arg, struct meter *meter, struct bufpool *pool, int index)
{
    assert(hooks->take_job && hooks->has_more && hooks->next_rcpt_number && hooks->wall_clock
           && hooks->warn);
    assert(pool->size >= dialogue_buffer_size(w));     /* the engine sized it so */
    memset(d, 0, sizeof(*d));
    d->w = w;
    d->hooks = hooks;
    d->arg = arg;
    d->meter = meter;
    d->pool = pool;
    d->index = index;
    d->pid = (unsigned)getpid();
    d->fd = -1;
    d->drain_slot = -1;
    reply_init(&d->reply, NULL);
    d->exp_cap = (size_t)w->recipients + 8;
    d->exp = calloc(d->exp_cap, sizeof(*d->exp));
    d->cmd_cap = cmd_size(w);
    if (d->exp == NULL) {
        dialogue_release(d);
        return -ENOMEM;
    }
    return 0;
}

void dialogue_release(struct dialogue *d)
{
    free(d->exp);
    free(d->error);
    d->exp = NULL;
    d->error = NULL;
    reply_reset(&d->reply);
    d->seg_count = 0;
    settle(d);
}

void dialogue_connected(struct dialogue *d, int fd, uint64_t now)
{
    assert(!d->connected);
    begin(d, now);
    d->connected = 1;
    d->fd = fd;
    d->id_len = message_id_prefix(d->id_prefix, d->pid, (unsigned)fd);
    d->exp_head = d->exp_count = 0;
    (void)expect_push(d, DIALOGUE_BANNER);      /* the ring has room for at least 8 */
}

enum dialogue_status dialogue_feed(struct dialogue *d, const char *in, size_t len, uint64_t now,
                                   size_t *used)
{
    size_t off = 0, n;
    int rc;

    assert(d->connected);
    begin(d, now);
    hold(d);
    while (off < len && d->status == DIALOGUE_MORE) {
        rc = reply_feed(&d->reply, in + off, len - off, &n);
        off += n;
        if (rc < 0) {
            fail(d, ERROR_PROTOCOL, "malformed reply while %s", dialogue_doing(d));
            break;
        }
        if (rc == 1) {
            on_reply(d, len - off);
            reply_reset(&d->reply);
        }
    }
    *used = off;
    settle(d);
    return d->status;
}

enum dialogue_status dialogue_eof(struct dialogue *d, uint64_t now)
{
    begin(d, now);
    if (d->exp_count > 0 && d->exp[d->exp_head].cmd == DIALOGUE_QUIT) {
        record(d, PHASE_QUIT, d->exp[d->exp_head].sent_ns);
        return DIALOGUE_CLOSE;
    }
    if (d->exp_count == 0 && !dialogue_busy(d) && !d->has_job)
        return DIALOGUE_HANGUP;     /* the server closed an idle -d connection */
    fail(d, ERROR_RESET, "lost connection while %s", dialogue_doing(d));
    return d->status;
}

enum dialogue_status dialogue_run(struct dialogue *d, const struct dialogue_job *job, uint64_t now)
{
    begin(d, now);
    if (d->connected && d->greeted && !dialogue_busy(d)) {
        hold(d);
        start_txn(d, job);
        settle(d);
        return d->status;
    }
    d->job = *job;
    d->has_job = 1;
    return d->status;
}

enum dialogue_status dialogue_finish(struct dialogue *d, uint64_t now)
{
    begin(d, now);
    d->finishing = 1;
    d->has_job = 0;
    if (!d->connected)
        return DIALOGUE_CLOSE;
    if (d->greeted && !dialogue_busy(d) && d->exp_count == 0) {
        hold(d);
        quit(d);
        settle(d);
    }
    return d->status;           /* busy: it ends after what it is doing */
}

enum dialogue_status dialogue_tls_started(struct dialogue *d, uint64_t now)
{
    begin(d, now);
    record(d, PHASE_STARTTLS, d->starttls_sent_ns);
    d->tls_done = 1;
    d->caps = 0;
    hold(d);
    reply_reset(&d->reply);
    send_helo(d);
    settle(d);
    return d->status;
}

void dialogue_sent(struct dialogue *d, size_t n, uint64_t now)
{
    while (n > 0 && d->seg_count > 0) {
        struct iovec *v = &d->seg[d->seg_head];

        if (n < v->iov_len) {
            v->iov_base = (char *)v->iov_base + n;
            v->iov_len -= n;
            n = 0;
        } else {
            n -= v->iov_len;
            d->seg_head++;
            d->seg_count--;
        }
    }
    if (d->seg_count > 0)
        return;
    d->cmd_len = 0;
    d->seg_head = 0;
    if (d->drain_slot >= 0) {   /* the end of data is written: its reply's time starts */
        d->exp[d->drain_slot].sent_ns = now;
        d->drain_slot = -1;
    }
    settle(d);
}

/* harvest_reply - in an abort: one reply that had already arrived. An
 * end-of-data reply settles its message as on_final does; any other only
 * leaves the queue. */
static void harvest_reply(struct dialogue *d)
{
    struct dialogue_expect e;

    meter_reply(d->meter, d->reply.code);
    if (d->exp_count == 0)
        return;
    e = d->exp[d->exp_head];
    if ((e.cmd == DIALOGUE_DOT || e.cmd == DIALOGUE_BDAT) && d->txn[e.t].active) {
        if (!txn_final(d, e.t, is_2xx(d->reply.code)))
            return;
        d->txn[e.t].active = 0;
    }
    expect_pop(d);
}

int dialogue_harvest(struct dialogue *d, const char *in, size_t len, uint64_t now)
{
    size_t off, used;
    int rc;

    begin(d, now);
    hold(d);
    for (off = 0; off < len; off += used) {
        if ((rc = reply_feed(&d->reply, in + off, len - off, &used)) < 0)
            break;
        if (rc == 1) {
            harvest_reply(d);
            reply_reset(&d->reply);
        }
    }
    if (off < len)
        reply_reset(&d->reply);     /* malformed: nothing more to count */
    settle(d);
    return off < len ? 0 : dialogue_busy(d);
}

void dialogue_closed(struct dialogue *d)
{
    for (int t = 0; t < DIALOGUE_TXNS; t++)     /* begun, with no outcome: cut short */
        if (d->txn[t].active)
            meter_unfinished(d->meter);
    memset(d->txn, 0, sizeof(d->txn));
    d->connected = d->greeted = d->tls_done = d->authed = 0;
    d->has_job = 0;
    d->fd = -1;
    d->seg_head = d->seg_count = 0;
    d->cmd_len = 0;
    d->exp_head = d->exp_count = 0;
    d->drain_slot = -1;
    reply_reset(&d->reply);
    d->caps = 0;
    d->size_limit = 0;
    d->tail_complete = 0;
    settle(d);
}

const char *dialogue_doing(const struct dialogue *d)
{
    return d->exp_count == 0 ? "idle" : cmd_doing[d->exp[d->exp_head].cmd];
}
