/* session.h - the SMTP/LMTP server state machine of smtpstorm-sink, with
 * smtp-sink(1)'s replies. Pure: it knows no sockets. The driver (conn.c,
 * or a unit test) feeds it bytes as they arrive, in any split, and sends
 * the reply bytes it collects; delays are asked for, never waited. */
#ifndef SMTPSTORM_SINK_SESSION_H
#define SMTPSTORM_SINK_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "dump.h"
#include "sasl.h"
#include "trace.h"

#define SESSION_LINE_MAX    512         /* command line with CRLF, RFC 5321 4.5.3.1.4 */
#define SESSION_SIZE_EXTRA  26          /* MAIL SIZE=, RFC 1870 section 3 */
#define SESSION_DSN_MAIL    100         /* MAIL RET= ENVID=, RFC 3461 section 4 */
#define SESSION_DSN_RCPT    500         /* RCPT NOTIFY= ORCPT=, RFC 3461 section 4 */
#define SESSION_AUTH_MAIL   500         /* MAIL AUTH=, RFC 4954 section 5 */
#define SESSION_UTF8_MAIL   10          /* MAIL SMTPUTF8, RFC 6531 section 3.4 */
#define SESSION_AUTH_LINE   1100        /* AUTH and its responses: a PLAIN response for
                                         * 255-octet names and password (RFC 4954 section 4
                                         * allows 12288; kept smaller per session) */
#define SESSION_LINE_BUF    (SESSION_LINE_MAX + SESSION_SIZE_EXTRA + SESSION_DSN_MAIL \
                             + SESSION_AUTH_MAIL + SESSION_UTF8_MAIL + 16)   /* the longest MAIL */
#define SESSION_HEADER_MAX  1000        /* header line kept for the trace, RFC 5322 2.1.1 */
#define SESSION_RCPT_MAX    100000      /* recipients per transaction; then 452 */
#define SESSION_OUT_HIGH    (64 * 1024) /* stop taking commands while this much is unsent */
#define SESSION_BDAT_MAX    (1ULL << 40) /* largest BDAT chunk size accepted */
#define SESSION_EHLO_MAX    1024

/* What the driver does after a call. */
enum session_status {
    SESSION_MORE,       /* send the output, read more input */
    SESSION_PAUSE,      /* send the output, stop reading, call session_resume
                         * after session_delay_ms() */
    SESSION_CLOSE,      /* send the output, then close */
    SESSION_STARTTLS,   /* send the output, drop unread input, start TLS,
                         * then call session_tls_started */
};

/* Events for the owner's counters; called from inside session calls. */
struct session_hooks {
    /* a message was received completely (before its reply); tr is NULL
     * without a trace header; dump_error is 0 or -errno of its capture. */
    void (*message)(void *arg, const struct trace *tr, uint64_t bytes, int dump_error);
    /* a QUIT command was answered */
    void (*quit)(void *arg);
    /* an AUTH exchange ended: ok 1 with 235, 0 with 535 or 501 */
    void (*auth)(void *arg, int ok);
};

enum session_state { ST_CMD, ST_DATA, ST_BDAT };

struct session {
    const struct sink_config *cfg;
    struct session_hooks hooks;
    void *hook_arg;
    uint64_t rng;
    /* connection */
    char addr[80];                  /* "1.2.3.4", "ipv6:...", "local" */
    int tls;                        /* TLS is active */
    const char *proto;              /* SMTP, ESMTP, LMTP */
    char helo[SESSION_LINE_BUF];    /* last HELO/EHLO argument (printable) */
    int has_helo;
    int authed;                     /* AUTH succeeded (until STARTTLS) */
    struct sasl sasl;
    /* transaction */
    int in_mail;
    int utf8;                       /* its MAIL had SMTPUTF8 */
    long rcpts;
    enum session_state state;
    int paused;
    int closing;
    /* command line assembly */
    char line[SESSION_LINE_BUF];
    size_t line_len;
    int line_long;                  /* discarding a too long line */
    /* message (DATA or BDAT) */
    int eod;                        /* chars of "\r\n.\r\n" matched */
    uint64_t msg_bytes;
    int in_headers;
    char hdr[SESSION_HEADER_MAX];
    size_t hdr_len;
    int hdr_long;
    int have_trace;
    struct trace trace;
    int bdat_msg;                   /* a BDAT message is in progress */
    int bdat_ok;                    /* this chunk belongs to a valid transaction */
    int bdat_last;
    uint64_t bdat_left;
    uint64_t bdat_size;
    int dump_error;
    /* a delayed action */
    int pending;                    /* PEND_* */
    int pending_cmd;
    char pending_verb[16];
    char pending_args[SESSION_LINE_BUF];
    uint64_t delay_ms;
    /* output */
    char *out;
    size_t out_len, out_cap;
    /* capture */
    struct dump dump;
    char ehlo[2][SESSION_EHLO_MAX]; /* EHLO reply without and with STARTTLS */
    size_t ehlo_len[2];
};

/* session_init - prepare s for cfg (kept), capture writer dw (may be NULL)
 * and hooks; seed feeds the -W odds. Returns 0 or -ENOMEM. */
int session_init(struct session *s, const struct sink_config *cfg, struct dump_writer *dw,
                 const struct session_hooks *hooks, void *hook_arg, uint64_t seed);

/* session_release - free what session_init and use allocated. */
void session_release(struct session *s);

/* session_start - a client connected from addr: reset all state and run
 * the CONNECT pseudo-command (greeting, or -q/-Q/-f/-r/-W connect). */
enum session_status session_start(struct session *s, const char *addr);

/* session_feed - consume input; returns how many of len bytes were used
 * (fewer when paused, closing, after STARTTLS, or while SESSION_OUT_HIGH
 * reply bytes wait to be sent) and sets *st. */
size_t session_feed(struct session *s, const char *in, size_t len, enum session_status *st);

/* session_resume - the delay asked for by SESSION_PAUSE is over: do the
 * delayed action. Returns what to do next. */
enum session_status session_resume(struct session *s);

/* session_delay_ms - how long the pause lasts. */
uint64_t session_delay_ms(const struct session *s);

/* session_tls_started - TLS is up: forget HELO and any transaction. */
void session_tls_started(struct session *s);

/* session_end - the connection is gone: drop an unfinished capture. */
void session_end(struct session *s);

/* session_output - the reply bytes not yet sent (owned by s). */
static inline const char *session_output(const struct session *s, size_t *len)
{
    *len = s->out_len;
    return s->out;
}

/* session_mid_input - part of a command line, of a DATA body or of a BDAT
 * chunk has been fed and its rest not yet: replies queued now answer less
 * than the client has sent, so it pipelines (a lock-step client sends
 * nothing before the reply it waits for). */
static inline int session_mid_input(const struct session *s)
{
    return s->line_len > 0 || s->line_long || (s->state == ST_DATA && s->msg_bytes > 0)
           || (s->state == ST_BDAT && s->bdat_left < s->bdat_size);
}

/* session_output_consume - n reply bytes were sent. */
void session_output_consume(struct session *s, size_t n);

#endif
