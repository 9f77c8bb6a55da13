/* workload.h - what one smtpstorm-agent run (or one thread of it, or one
 * agent's share of a campaign) is asked to do: the smtp-source options in
 * resolved form plus the smtpstorm extensions. Filled by agent/options.c
 * or by a future link module; read by agent/engine.c. */
#ifndef SMTPSTORM_AGENT_WORKLOAD_H
#define SMTPSTORM_AGENT_WORKLOAD_H

#include <stdint.h>

#include "dist.h"
#include "corpus.h"
#include "endpoint.h"
#include "mime.h"
#include "spread.h"
#include "sources.h"
#include "message.h"
#include "schedule.h"
#include "trace.h"

#define WORKLOAD_HOSTNAME_MAX 256
#define WORKLOAD_UNLIMITED UINT64_MAX   /* messages: stop only at the deadline */

struct workload {
    /* where */
    struct endpoint target;
    enum endpoint_family family;    /* -4 / -6 */
    int sndbuf;                     /* -T: TCP window, 0 = system default */
    int connect_tries;              /* -C, default 1 */
    const struct source_pool *sources;  /* --source: connection k of this workload binds to
                                     * the pool's (source_first + k * source_stride)-th
                                     * address of the target's family; not owned; NULL:
                                     * the system's choice */
    uint64_t source_first, source_stride;

    /* how much and how fast */
    int sessions;                   /* -s: parallel sessions, default 1 */
    uint64_t messages;              /* -m: WORKLOAD_UNLIMITED = no limit (then duration_ns is set) */
    double rate;                    /* --rate: messages/s, 0 = closed loop */
    const struct schedule_step *steps;  /* or a rate in steps (a campaign's ramp), which
                                     * then ends the run; rate is steps[0].rate's share
                                     * (workload_split), and so is every step's;
                                     * not owned; NULL: rate throughout */
    size_t n_steps;
    uint64_t duration_ns;           /* --duration: 0 = none */
    uint64_t origin_ns;             /* event-time seconds count from this monotonic time
                                     * (a campaign's common start); 0: the run's start */
    unsigned fixed_delay_s;         /* -w */
    unsigned random_delay_s;        /* -R */
    uint64_t session_timeout_ns;    /* --session-timeout: a connection ends after this long (0: no bound) */
    uint64_t timeout_ns;            /* --timeout: a connect, TLS handshake, write progress or
                                     * reply (from its command) takes at most this long */

    /* the protocol */
    int lmtp;                       /* -L */
    int disconnect;                 /* 1 unless -d */
    int send_helo;                  /* 0 with -o */
    int send_headers;               /* 0 with -o or -F */
    int allow_reject;               /* -A */
    int pipelining;                 /* --pipelining */
    int chunking;                   /* --chunking */
    int starttls;                   /* --starttls */
    int tls_resume;                 /* --tls-resume: each loop offers its last TLS session */
    void *tls_ctx;                  /* an SSL_CTX from transport_client_ctx_new when starttls; not owned */
    const char *auth_user;          /* --auth USER:PASS; NULL: no AUTH */
    const char *auth_pass;
    int mail_size;                  /* SIZE= on MAIL when the server offers SIZE (RFC 1870):
                                     * --mail-size, --pipelining, --chunking, daemon mode;
                                     * a message over the server's SIZE is never sent */
    int smtputf8;                   /* --smtputf8: MAIL ... SMTPUTF8 (RFC 6531), only to a
                                     * server that offers it */
    int ehlo;                       /* EHLO even with no extension option (--mail-size) */
    int verbose;                    /* -v */

    /* the message */
    const char *myhostname;         /* -M or the host name */
    const char *sender;             /* -f, default foo@myhostname */
    const char *recipient;          /* -t, default foo@myhostname */
    const char *subject;            /* -S or NULL */
    int recipients;                 /* -r, default 1 */
    int number_rcpts;               /* -N */
    uint64_t rcpt_number_first;     /* -N numbers are first, first+stride, ... */
    uint64_t rcpt_number_stride;
    const struct message_payload *payload;  /* not owned; shared read-only; with size_dist,
                                     * the line pattern (message_payload_generate of
                                     * its max + MESSAGE_LINE_LEN) bodies are cut from */
    const struct dist *size_dist;   /* --size: each body's length drawn by message number
                                     * (-l's meaning: octets before the final CRLF); not
                                     * owned; NULL: the payload as is (-l, -F) */
    const struct dist *rcpt_dist;   /* --recipients: recipients per message drawn by
                                     * message number (recipients is then its max);
                                     * not owned; NULL: -r */
    const struct spread *rcpt_spread;   /* --rcpt-domains, --rcpt-file: each recipient's
                                     * address drawn; not owned; NULL: -t */
    const struct spread *sender_spread; /* --senders: each message's sender drawn; NULL: -f */
    const struct corpus *corpus;    /* --corpus: each message one of these, by its number;
                                     * not owned; NULL: the payload */
    const struct mime_spec *mime;   /* --mime: MIME messages of these parts; not owned;
                                     * NULL: smtp-source's message */
    const struct mime_pool *mime_pool;  /* the pools they are cut from; not owned */
    uint64_t seed;                  /* --seed: what every draw depends on, with the
                                     * message's trace sequence number */

    /* the trace header */
    int trace;                      /* stamp X-Smtpstorm-Trace (not with -o) */
    char campaign[TRACE_ID_MAX];
    char agent_id[TRACE_ID_MAX];
    uint64_t seq_first;             /* trace sequence numbers: first, first+stride, ... */
    uint64_t seq_stride;
    int envelope_trace;             /* --envelope-trace: tag each sender (trace.h) */
    uint64_t pair_key;              /* with it: trace_pair_key(campaign, agent_id) */
    struct trace_head trace_head;   /* the header's constant start (workload_set_pair) */

    /* What every message repeats, formatted once (workload_prepare_text;
     * a length 0: formatted per message): the headers' repeated text, and
     * MAIL and RCPT as sent without SIZE=, SMTPUTF8, a drawn or tagged
     * sender, a drawn or numbered recipient. */
    struct message_headers_fixed headers_fixed;
    size_t mail_line_len, rcpt_line_len;
    char mail_line[MESSAGE_ADDR_MAX + 16];  /* "MAIL FROM:<sender>\r\n" */
    char rcpt_line[MESSAGE_ADDR_MAX + 16];  /* "RCPT TO:<recipient>\r\n" */
};

/* workload_defaults - smtp-source's defaults: one session, one message,
 * one recipient, disconnect after each message, HELO and headers, 300 s
 * timeout, numbering from 1. Strings are left NULL for the caller. */
void workload_defaults(struct workload *w);

/* workload_set_pair - what w's campaign and agent_id give every message:
 * the envelope tag's pair key and the trace header's start. -1 when an id
 * is not a valid trace id. */
int workload_set_pair(struct workload *w);

/* workload_prepare_text - format once what every message of w repeats
 * (the headers' recipient, host name and subject; MAIL and RCPT lines),
 * for its sessions, which format only the rest per message; called once
 * those are set. What is too long for it stays formatted per message. */
void workload_prepare_text(struct workload *w);

/* workload_number - message k of w is number seq_first + k * seq_stride
 * (its trace seq); set that, and w's -N recipient numbers to match: unique
 * across every part of a campaign (contiguous blocks of w->recipients with
 * stride 1, interleaved otherwise). */
void workload_number(struct workload *w, uint64_t seq_first, uint64_t seq_stride);

/* workload_split - the share part (0 <= part < parts) of w into out:
 * sessions, messages and rate divided so that the parts sum exactly to w;
 * -N numbers and trace sequence numbers interleaved so that no two parts
 * use the same one. Strings and payload are shared, not copied. Returns 0,
 * or -EINVAL when parts < 1, part is out of range or w has fewer sessions
 * than parts. */
int workload_split(const struct workload *w, int parts, int part, struct workload *out);

#endif
