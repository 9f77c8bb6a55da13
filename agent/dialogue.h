/* dialogue.h - the SMTP/LMTP client dialogue of smtpstorm-agent, pure: it
 * knows no sockets and reads no clock. Its driver (agent/session.c, or a
 * unit test) says when the connection is up, feeds it the server's bytes
 * in any split with the time they arrived, and sends the command bytes it
 * queues; the dialogue answers what to do next (enum dialogue_status) and
 * records what happened into the loop's meter. Every command sent pushes
 * the reply it expects onto a queue that replies pop in order, so
 * lock-step (smtp-source's way) and pipelining (RFC 2920) share one path:
 * pipelining only queues more commands before the first reply.
 *
 *     dialogue_init(&d, w, &hooks, arg, meter, index);
 *     dialogue_connected(&d, fd, now);           the socket is up: expect the banner
 *     st = dialogue_feed(&d, in, n, now, &used); replies in, commands queued
 *     iov = dialogue_output(&d, &cnt);           what to write ...
 *     dialogue_sent(&d, written, now);           ... and what was written
 *     dialogue_run(&d, &job, now);               a message to send
 *     dialogue_closed(&d);                       the connection is gone
 *     dialogue_release(&d); */
#ifndef SMTPSTORM_AGENT_DIALOGUE_H
#define SMTPSTORM_AGENT_DIALOGUE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "auth.h"
#include "bufpool.h"
#include "message.h"
#include "meter.h"
#include "mime.h"
#include "reply.h"
#include "trace.h"
#include "workload.h"

#define DIALOGUE_OUT_SEGS (8 + 2 * (MIME_ATTACH_MAX + 4))    /* queued output pieces:
                                 * commands, headers, payload (or a MIME message's
                                 * pieces), ".", the next envelope */
#define DIALOGUE_TXNS     2     /* a pipelined message chained behind the one in hand */
#define DIALOGUE_MSG_MAX  (REPLY_TEXT_MAX + 256)

/* One message to send. */
struct dialogue_job {
    uint64_t due_ns;            /* when it was due (monotonic): its latency starts here */
    uint64_t seq;               /* trace sequence number */
    unsigned remaining;         /* messages left after this one (Message-Id, as smtp-source) */
};

/* What the driver does after a call. */
enum dialogue_status {
    DIALOGUE_MORE,      /* send the output (if any) and read replies */
    DIALOGUE_IDLE,      /* no message in hand: give it the next (dialogue_run, after the
                         * -w/-R delay) or end it (dialogue_finish) */
    DIALOGUE_STARTTLS,  /* 220 to STARTTLS: start TLS, then dialogue_tls_started */
    DIALOGUE_CLOSE,     /* QUIT was answered: close the connection */
    DIALOGUE_HANGUP,    /* the server ended a connection with nothing in flight: close it;
                         * nothing was lost */
    DIALOGUE_FAIL,      /* a failure, counted and said: close, the message in hand is lost */
    DIALOGUE_ABORT,     /* an unexpected reply without -A: abort the run with
                         * dialogue_error()'s text */
};

/* The wall clock of the event a message is formatted in, and the texts
 * its headers repeat for the whole of that second, which the owner
 * formats once a second for every message of its loop. */
struct dialogue_clock {
    unsigned usec;              /* microseconds into the second */
    struct trace_second second; /* the second since the epoch (trace header) */
    char date[MAIL_DATE_MAX];   /* its Date: header value */
    size_t head_len;            /* 0: no head (formatted per message) */
    char head[MESSAGE_HEAD_MAX];    /* message_head_format's text for the
                                 * workload's own sender and date */
};

/* dialogue_clock_head - c's head for w, from c->date: message_head_format's
 * text when w sends its own fixed headers, else none (head_len 0, and each
 * message formats its headers whole). The owner calls it each new second. */
void dialogue_clock_head(struct dialogue_clock *c, const struct workload *w);

/* What the dialogue asks of whoever hands it messages (agent/engine.c).
 * Every callback runs inside a dialogue call, on the driver's thread. */
struct dialogue_hooks {
    /* another message due right now, to pipeline behind the one in hand:
     * 1 with *job filled, 0 when none */
    int (*take_job)(void *arg, struct dialogue_job *job);
    /* nonzero while messages may still be handed out */
    int (*has_more)(void *arg);
    /* the next -N recipient number */
    uint64_t (*next_rcpt_number)(void *arg);
    /* the wall clock for a message being formatted (the owner's, valid
     * until the next call) */
    const struct dialogue_clock *(*wall_clock)(void *arg);
    /* an end of data was queued (smtp-source -c counts them) */
    void (*dot_sent)(void *arg);
    /* print a warning (the owner may suppress repeats; the meter counts) */
    void (*warn)(void *arg, const char *msg);
};

enum dialogue_cmd {
    DIALOGUE_BANNER, DIALOGUE_HELO, DIALOGUE_STARTTLS_CMD, DIALOGUE_AUTH, DIALOGUE_AUTH_USER,
    DIALOGUE_AUTH_PASS, DIALOGUE_MAIL, DIALOGUE_RCPT, DIALOGUE_DATA, DIALOGUE_DOT, DIALOGUE_BDAT,
    DIALOGUE_RSET, DIALOGUE_QUIT
};

/* A reply the dialogue waits for. */
struct dialogue_expect {
    enum dialogue_cmd cmd;
    int t;                      /* the transaction slot it belongs to */
    uint64_t sent_ns;           /* when its command went out (the end of data: when written) */
};

/* One mail transaction. With pipelining the next message's MAIL, RCPT and
 * DATA follow the previous end of data in the same write, so its replies
 * arrive while the previous one is still being counted: two slots. */
struct dialogue_txn {
    int active;
    struct dialogue_job job;
    int rcpt_left, rcpt_accepted, final_left, final_ok, rejected, empty_data;
    uint64_t body_len;          /* with --size: the body's drawn length (-l's meaning) */
    const struct message_payload *payload;  /* the body: the workload's, or a corpus message */
    const char *sender;         /* its sender: the workload's -f, or sender_drawn */
    char sender_drawn[MESSAGE_ADDR_MAX];    /* with --senders: the one drawn */
    struct mime_plan plan;      /* with --mime: what the message holds (last: seldom used) */
};

/* Laid out for the cache: what every reply and message touches first (a
 * session's state is cold after the kernel's work on its socket), the
 * output segments and the transactions next, what a connection's start,
 * TLS or a failure needs last. */
struct dialogue {
    const struct workload *w;
    const struct dialogue_hooks *hooks;
    void *arg;
    struct meter *meter;
    uint64_t now;               /* the time passed to the call in progress */
    uint64_t replies;           /* complete replies fed so far */
    enum dialogue_status status;    /* what the call in progress will return */
    /* the connection */
    int connected, greeted, tls_done, authed, finishing;
    unsigned caps;              /* DIALOGUE_CAP_* of the last EHLO/LHLO reply */
    int pipelined, chunked;     /* this connection pipelines / uses BDAT */
    int tail_complete;          /* the output queued last ended a whole message */
    int has_job;                /* job waits for the greeting */
    int seg_head, seg_count;    /* the output segments queued (seg, below) */
    /* The reply text and the command buffer share one buffer of the
     * loop's pool, held while a reply is being read or output waits
     * (reply.text, then cmd, both NULL while idle). */
    struct bufpool *pool;
    char *cmd;
    size_t cmd_cap, cmd_len;
    int drain_slot;             /* the expectation whose sent time is "output drained", or -1 */
    /* expectations, a ring */
    struct dialogue_expect *exp;
    size_t exp_cap, exp_head, exp_count;
    struct reply reply;
    const char *msg_date;       /* the Date: of the message being formatted (the owner's) */
    unsigned pid;               /* smtp-source's Message-Id numbers: pid, fd, count */
    int fd;
    size_t id_len;
    char id_prefix[MESSAGE_ID_PREFIX_MAX];  /* pid and fd, formatted at the connection */
    /* output: segments over the command buffer and the shared payload */
    struct iovec seg[DIALOGUE_OUT_SEGS];
    /* messages */
    struct dialogue_txn txn[DIALOGUE_TXNS];
    struct dialogue_job job;
    int index;                  /* the session's number, for warnings */
    uint64_t starttls_sent_ns;  /* when STARTTLS went: its phase ends with the handshake */
    uint64_t size_limit;        /* the server's SIZE (RFC 1870), 0: none announced */
    enum auth_mech mech;
    const char *helo_verb;
    char *error;                /* DIALOGUE_ABORT's reason (DIALOGUE_MSG_MAX, malloc'd at the first) */
    size_t mime_octets;         /* the MIME message being queued, so far */
};

enum {
    DIALOGUE_CAP_PIPELINING = 1, DIALOGUE_CAP_CHUNKING = 2, DIALOGUE_CAP_STARTTLS = 4,
    DIALOGUE_CAP_SIZE = 8, DIALOGUE_CAP_SMTPUTF8 = 16
};

/* dialogue_buffer_size - the octets of the buffer a dialogue of workload w
 * holds while it reads a reply or has output waiting: the size of the
 * pool its sessions share (bufpool_init). */
size_t dialogue_buffer_size(const struct workload *w);

/* dialogue_init - prepare d for workload w (kept by pointer, as are hooks,
 * arg, meter and pool, which must outlive d); its buffer comes from pool
 * (of at least dialogue_buffer_size(w) octets) while it has data in
 * flight: an idle dialogue holds none. index names the session in
 * warnings. Returns 0 or -ENOMEM (then nothing needs releasing). */
int dialogue_init(struct dialogue *d, const struct workload *w, const struct dialogue_hooks *hooks,
                  void *arg, struct meter *meter, struct bufpool *pool, int index);

/* dialogue_release - free what dialogue_init allocated. */
void dialogue_release(struct dialogue *d);

/* dialogue_connected - a connection is up on socket fd (its number goes
 * into Message-Id) at now: wait for the banner. */
void dialogue_connected(struct dialogue *d, int fd, uint64_t now);

/* dialogue_feed - consume the server's bytes, which arrived at now; *used
 * is set to how many were consumed: all of them, or fewer when the status
 * is not DIALOGUE_MORE (the driver acts, then feeds the rest, unless it
 * closed the connection or started TLS). */
enum dialogue_status dialogue_feed(struct dialogue *d, const char *in, size_t len, uint64_t now,
                                   size_t *used);

/* dialogue_eof - the server closed the connection at now. Returns
 * DIALOGUE_CLOSE after QUIT, DIALOGUE_HANGUP with nothing in flight, else
 * DIALOGUE_FAIL (counted). */
enum dialogue_status dialogue_eof(struct dialogue *d, uint64_t now);

/* dialogue_run - send job now when the connection is greeted and idle,
 * else keep it until the greeting. Returns DIALOGUE_MORE, DIALOGUE_IDLE
 * (the message was refused unsent: over the server's SIZE or --smtputf8
 * without SMTPUTF8; counted) or DIALOGUE_FAIL. */
enum dialogue_status dialogue_run(struct dialogue *d, const struct dialogue_job *job,
                                  uint64_t now);

/* dialogue_finish - no more messages: QUIT now when greeted and idle, or
 * after the message in hand. Returns DIALOGUE_MORE when a QUIT is or will
 * be sent, DIALOGUE_CLOSE when there is no connection to end. */
enum dialogue_status dialogue_finish(struct dialogue *d, uint64_t now);

/* dialogue_tls_started - the TLS handshake after STARTTLS is done: say
 * EHLO again (RFC 3207 4.2). Returns DIALOGUE_MORE or DIALOGUE_FAIL. */
enum dialogue_status dialogue_tls_started(struct dialogue *d, uint64_t now);

/* dialogue_output - the bytes queued and not yet written, as *count iovecs
 * (owned by d, valid until the next dialogue call). */
static inline const struct iovec *dialogue_output(const struct dialogue *d, int *count)
{
    *count = d->seg_count;
    return &d->seg[d->seg_head];
}

/* dialogue_sent - n octets of the output were written at now. */
void dialogue_sent(struct dialogue *d, size_t n, uint64_t now);

/* dialogue_harvest - the run is aborted: count the outcome of every
 * message whose end-of-data reply is in these bytes, already received;
 * sends nothing. Returns nonzero while a message is still in flight. */
int dialogue_harvest(struct dialogue *d, const char *in, size_t len, uint64_t now);

/* dialogue_closed - the connection is gone: a begun transaction with no
 * outcome is counted unfinished, the job waiting for a greeting is dropped
 * and the dialogue waits for dialogue_connected again. */
void dialogue_closed(struct dialogue *d);

/* dialogue_failed - count a failure of kind (a stats_error; < 0: none)
 * and say the message (printf's fmt) as this session's warning: for the driver's transport
 * failures, as for the dialogue's own. */
void dialogue_failed(struct dialogue *d, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), cold));

/* dialogue_vfailed - dialogue_failed with a va_list. */
void dialogue_vfailed(struct dialogue *d, int kind, const char *fmt, va_list ap) __attribute__((cold));

/* dialogue_waiting - nonzero while a reply is expected. */
static inline int dialogue_waiting(const struct dialogue *d) { return d->exp_count > 0; }

/* dialogue_busy - nonzero while a transaction is under way. */
static inline int dialogue_busy(const struct dialogue *d)
{
    return d->txn[0].active || d->txn[1].active;
}

/* dialogue_has_job - nonzero while a message waits for the greeting. */
static inline int dialogue_has_job(const struct dialogue *d) { return d->has_job; }

/* dialogue_doing - what the dialogue waits for, in smtp-source's words
 * ("sending recipient"), for messages; a static string (valid forever). */
const char *dialogue_doing(const struct dialogue *d);

/* dialogue_error - DIALOGUE_ABORT's reason; owned by d, valid until the
 * next dialogue call. */
static inline const char *dialogue_error(const struct dialogue *d)
{
    return d->error ? d->error : "out of memory for the reason of an abort";
}

/* dialogue_holds_buffer - nonzero while d holds a buffer of its pool (a
 * reply half read, output not yet written). */
static inline int dialogue_holds_buffer(const struct dialogue *d) { return d->cmd != NULL; }

#endif
