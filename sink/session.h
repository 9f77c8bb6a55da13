/* session.h - the SMTP/LMTP server state machine of smtpstorm-sink, with
 * smtp-sink(1)'s replies. Pure: it knows no sockets. The driver (conn.c,
 * or a unit test) feeds it bytes as they arrive, in any split, and sends
 * the reply bytes it collects; delays are asked for, never waited. */
#ifndef SMTPSTORM_SINK_SESSION_H
#define SMTPSTORM_SINK_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "behaviour.h"
#include "bufpool.h"
#include "config.h"
#include "dump.h"
#include "sasl.h"
#include "trace.h"

#define SINK_SESSION_LINE_MAX    512         /* command line with CRLF, RFC 5321 4.5.3.1.4 */
#define SINK_SESSION_SIZE_EXTRA  26          /* MAIL SIZE=, RFC 1870 section 3 */
#define SINK_SESSION_DSN_MAIL    100         /* MAIL RET= ENVID=, RFC 3461 section 4 */
#define SINK_SESSION_DSN_RCPT    500         /* RCPT NOTIFY= ORCPT=, RFC 3461 section 4 */
#define SINK_SESSION_AUTH_MAIL   500         /* MAIL AUTH=, RFC 4954 section 5 */
#define SINK_SESSION_UTF8_MAIL   10          /* MAIL SMTPUTF8, RFC 6531 section 3.4 */
#define SINK_SESSION_AUTH_LINE   1100        /* AUTH and its responses: a PLAIN response for
                                         * 255-octet names and password (RFC 4954 section 4
                                         * allows 12288; kept smaller per session) */
#define SINK_SESSION_LINE_BUF    (SINK_SESSION_LINE_MAX + SINK_SESSION_SIZE_EXTRA \
                                  + SINK_SESSION_DSN_MAIL + SINK_SESSION_AUTH_MAIL \
                                  + SINK_SESSION_UTF8_MAIL + 16)   /* the longest MAIL */
#define SINK_SESSION_HEADER_MAX  1000        /* header line kept for the trace, RFC 5322 2.1.1 */
#define SINK_SESSION_RCPT_MAX    100000      /* recipients per transaction; then 452 */
#define SINK_SESSION_OUT_HIGH    (64 * 1024) /* stop taking commands while this much is unsent */
#define SINK_SESSION_BDAT_MAX    (1ULL << 40) /* largest BDAT chunk size accepted */
#define SINK_SESSION_EHLO_MAX    1024
#define SINK_SESSION_RCPT_LIST   (16 * 1024) /* recipients kept for rules at DATA, BDAT and "."
                                             * (only with such rules, or LMTP); later ones are "" */
#define SINK_SESSION_OUT_BUF     4096        /* a reply buffer from the pool; more is malloc'd */
#define SINK_SESSION_POOL_KEEP   256         /* free reply and work buffers kept resident a loop */


/* What the driver does after a call. */
enum sink_session_status {
    SINK_SESSION_MORE,       /* send the output, read more input */
    SINK_SESSION_PAUSE,      /* send the output, stop reading, call sink_session_resume
                         * after sink_session_delay_ms() */
    SINK_SESSION_CLOSE,      /* send the output, then close */
    SINK_SESSION_STARTTLS,   /* send the output, drop unread input, start TLS,
                         * then call sink_session_tls_started */
};

/* Events for the owner's counters; called from inside session calls. */
struct sink_session_hooks {
    /* a message was received completely (before its reply); tr is NULL
     * without a trace header; dump_error is 0 or -errno of its capture. */
    void (*message)(void *arg, const struct trace *tr, uint64_t bytes, int dump_error);
    /* a QUIT command was answered */
    void (*quit)(void *arg);
    /* an AUTH exchange ended: ok 1 with 235, 0 with 535 or 501 */
    void (*auth)(void *arg, int ok);
};

enum sink_session_state { SINK_ST_CMD, SINK_ST_DATA, SINK_ST_BDAT };

/* What every session of one event loop shares: the configuration, the
 * capture writer, the EHLO replies (built once from the configuration)
 * and the pools a session's buffers come from while it has data in
 * flight, so that an idle session holds none. */
struct sink_session_common {
    const struct sink_config *cfg;
    struct dump_writer *dw;         /* NULL: no -d/-D */
    struct bufpool out_pool;        /* reply buffers, SINK_SESSION_OUT_BUF */
    struct bufpool work_pool;       /* struct sink_session_work */
    char ehlo[2][SINK_SESSION_EHLO_MAX];    /* EHLO reply without and with STARTTLS */
    size_t ehlo_len[2];
};

/* A session's work area, taken from the pool while a command line is
 * half read, a header line is half read, or a reply waits for its delay. */
struct sink_session_work {
    char line[SINK_SESSION_LINE_BUF];       /* command line assembly */
    char hdr[SINK_SESSION_HEADER_MAX];      /* header line assembly */
    char pending_args[SINK_SESSION_LINE_BUF];   /* the delayed command's arguments */
};

struct sink_session {
    struct sink_session_common *common;
    const struct sink_config *cfg;
    struct sink_session_hooks hooks;
    void *hook_arg;
    uint64_t rng;
    /* connection */
    char addr[80];                  /* "1.2.3.4", "ipv6:...", "local" */
    int tls;                        /* TLS is active */
    const char *proto;              /* SMTP, ESMTP, LMTP */
    char *helo;                     /* last HELO/EHLO argument (printable), kept
                                     * for -d/-D only: their records name it */
    size_t helo_cap;
    int has_helo;
    int authed;                     /* AUTH succeeded (until STARTTLS) */
    struct sasl sasl;
    /* transaction */
    int in_mail;
    int utf8;                       /* its MAIL had SMTPUTF8 */
    long rcpts;
    enum sink_session_state state;
    int paused;
    int closing;
    struct sink_session_work *work; /* NULL while none of it is in use */
    /* command line assembly (in work) */
    size_t line_len;
    int line_long;                  /* discarding a too long line */
    /* message (DATA or BDAT) */
    int eod;                        /* chars of "\r\n.\r\n" matched */
    uint64_t msg_bytes;
    int in_headers;
    size_t hdr_len;                 /* header line assembly (in work) */
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
    char pending_verb[16];          /* its arguments are in work */
    uint64_t delay_ms;
    /* behaviour (NULL: none): borrowed, the driver holds a reference */
    const struct behaviour *beh;
    struct behaviour_env *benv;
    char sender[BEHAVIOUR_PATTERN_MAX];     /* MAIL's address */
    int has_sender;
    int have_tag;                   /* the sender carries an envelope tag (trace.h): */
    struct trace_tag tag;           /*   whose message a refusal before DATA refuses */
    char *rcpt_list;                /* NUL-separated recipients, SINK_SESSION_RCPT_LIST */
    size_t rcpt_list_len;
    int keep_rcpts;
    uint16_t *dot_rule;             /* LMTP: each recipient's decision at the end of data */
    size_t dot_cap, dot_n;
    const char *beh_reply;          /* the reply a rule decided, sent after any delay */
    int refused;                    /* the behaviour refused the whole message */
    int beh_close;                  /* close after the reply a rule decided (intake: paused) */
    uint64_t eod_delay;             /* the delay decided at the end of DATA */
    uint64_t tarpit_ms;             /* added to every reply's delay */
    uint64_t bandwidth;             /* octets per second read, 0: any */
    uint64_t bw_start_ms, bw_octets;
    struct poolbuf out;             /* replies not yet sent (none: no buffer) */
    /* capture */
    struct dump dump;
};

/* sink_session_common_init - prepare c for the sessions of one loop: cfg
 * and dw (may be NULL: no capture) are kept by pointer. Returns 0 or
 * -ENOMEM (then nothing needs releasing). */
int sink_session_common_init(struct sink_session_common *c, const struct sink_config *cfg,
                             struct dump_writer *dw);

/* sink_session_common_release - free c's pools; every session using c
 * must be released first. */
void sink_session_common_release(struct sink_session_common *c);

/* sink_session_init - prepare s for the loop's common (kept by pointer)
 * and hooks; seed feeds the -W odds. Allocates nothing: the session takes
 * its buffers from common's pools while it has data in flight. */
void sink_session_init(struct sink_session *s, struct sink_session_common *common,
                       const struct sink_session_hooks *hooks, void *hook_arg, uint64_t seed);

/* sink_session_set_behaviour - consult beh (borrowed until the session
 * ends or it is set again; NULL: none) with env (the loop's draws,
 * greylist and clock) from the next command on; set again, what the old
 * rules decided for the session (tarpit, bandwidth) ends. */
void sink_session_set_behaviour(struct sink_session *s, const struct behaviour *beh, struct behaviour_env *env);

/* sink_session_release - give back and free what the session holds. */
void sink_session_release(struct sink_session *s);

/* sink_session_start - a client connected from addr: reset all state and run
 * the CONNECT pseudo-command (greeting, or -q/-Q/-f/-r/-W connect). */
enum sink_session_status sink_session_start(struct sink_session *s, const char *addr);

/* sink_session_feed - consume input; returns how many of len bytes were used
 * (fewer when paused, closing, after STARTTLS, or while SINK_SESSION_OUT_HIGH
 * reply bytes wait to be sent) and sets *st. */
size_t sink_session_feed(struct sink_session *s, const char *in, size_t len,
                         enum sink_session_status *st);

/* sink_session_resume - the delay asked for by SINK_SESSION_PAUSE is over: do the
 * delayed action. Returns what to do next. */
enum sink_session_status sink_session_resume(struct sink_session *s);

/* sink_session_delay_ms - how long the pause lasts. */
uint64_t sink_session_delay_ms(const struct sink_session *s);

/* sink_session_tls_started - TLS is up: forget HELO and any transaction. */
void sink_session_tls_started(struct sink_session *s);

/* sink_session_end - the connection is gone: drop an unfinished capture. */
void sink_session_end(struct sink_session *s);

/* sink_session_output - the reply bytes not yet sent, *len of them. Owned
 * by s and valid until the next sink_session_* call on s (a feed, resume or
 * consume may move them). */
static inline const char *sink_session_output(const struct sink_session *s, size_t *len)
{
    *len = s->out.len;
    return s->out.p ? s->out.p : "";
}

/* sink_session_holds_buffers - nonzero while s holds a buffer of its
 * loop's pools (replies not yet sent, a half line, a delayed reply). */
static inline int sink_session_holds_buffers(const struct sink_session *s)
{
    return s->out.p != NULL || s->work != NULL;
}

/* sink_session_mid_input - part of a command line, of a DATA body or of a BDAT
 * chunk has been fed and its rest not yet: replies queued now answer less
 * than the client has sent, so it pipelines (a lock-step client sends
 * nothing before the reply it waits for). */
static inline int sink_session_mid_input(const struct sink_session *s)
{
    return s->line_len > 0 || s->line_long || (s->state == SINK_ST_DATA && s->msg_bytes > 0)
           || (s->state == SINK_ST_BDAT && s->bdat_left < s->bdat_size);
}

/* sink_session_between_transactions - no transaction is open (no MAIL
 * taken), no command is half read and no reply waits: rules consulted from
 * now on decide only what comes next. */
static inline int sink_session_between_transactions(const struct sink_session *s)
{
    return !s->in_mail && s->state == SINK_ST_CMD && !sink_session_mid_input(s) && s->pending == 0
           && s->beh_reply == NULL && !s->sasl.step;
}

/* sink_session_output_consume - n reply bytes were sent. */
void sink_session_output_consume(struct sink_session *s, size_t n);

#endif
