/* stats.h - the load counters every program shares: what an agent measures,
 * what crosses the wire as cumulative progress, and what the coordinator
 * merges into the report. Plain data: one writer per instance (one event
 * loop), merged on demand by whoever reads. */
#ifndef SMTPSTORM_STATS_H
#define SMTPSTORM_STATS_H

#include <stdint.h>

#include "hist.h"

/* Latency phases of the report contract (design.md, latency_ms). The
 * order is the wire's (Hist.phase): new phases go last; reports show them
 * in stats_phases_shown's order. */
enum stats_phase {
    PHASE_CONNECT, PHASE_BANNER, PHASE_HELO, PHASE_MAIL, PHASE_RCPT,
    PHASE_DATA, PHASE_DOT, PHASE_QUIT, PHASE_MESSAGE, PHASE_DELIVERY,
    PHASE_STARTTLS,             /* STARTTLS sent to the TLS handshake done (RFC 3207) */
    PHASE_COUNT
};

/* Every phase in the order a session goes through them, for reports. */
extern const enum stats_phase stats_phases_shown[PHASE_COUNT];

/* Error kinds an agent tells apart. The order is the wire's (Progress's
 * errors_by_kind is indexed by it): new kinds go last. */
enum stats_error {
    ERROR_CONNECT_REFUSED, ERROR_CONNECT, ERROR_TIMEOUT, ERROR_RESET,
    ERROR_TLS, ERROR_PROTOCOL, ERROR_UNEXPECTED_REPLY, ERROR_OTHER,
    ERROR_TOO_BIG,              /* not sent: over the server's SIZE (RFC 1870) */
    ERROR_NO_SMTPUTF8,          /* not sent: --smtputf8 and no SMTPUTF8 offered (RFC 6531) */
    ERROR_KIND_COUNT
};

#define STATS_REPLY_CODES 600   /* SMTP reply codes are 200..599 (RFC 5321 4.2) */

struct load_stats {
    uint64_t sessions;              /* sessions completed or failed */
    uint64_t messages_attempted;    /* transactions started (MAIL sent) */
    uint64_t messages_accepted;     /* final 250 after end of data */
    uint64_t messages_rejected;     /* final 4xx/5xx after end of data, or refused earlier */
    uint64_t messages_unfinished;   /* begun, then neither accepted nor rejected: the session
                                     * failed or was cut short (attempted = accepted +
                                     * rejected + unfinished once it is over) */
    uint64_t errors;                /* sum of errors_by_kind */
    uint64_t recipients;            /* RCPT accepted */
    uint64_t bytes;                 /* octets written to the server */
    uint64_t tls_resumed;           /* TLS handshakes that resumed a session (the starttls
                                     * phase counts them all) */
    uint64_t errors_by_kind[ERROR_KIND_COUNT];
    uint64_t replies[STATS_REPLY_CODES];    /* replies by code; [0] counts codes out of range */
    struct hist latency[PHASE_COUNT];       /* microseconds */
    struct hist body_sizes;         /* octets: the body length drawn for each message begun,
                                     * with --size (-l's meaning); empty without */
};

/* What happened in one second of a campaign, by event time: the counts of
 * the second that ends t seconds after the campaign's common start (on the
 * coordinator's clock), not cumulative. Agents fill the first six and
 * sessions_active (sessions open at the second's end); sinks fill received
 * and duplicates. Row 0 holds what happened before the start. */
struct stats_second {
    uint32_t t;
    uint32_t sessions_active;
    uint64_t attempted, accepted, rejected, errors, replies_4xx, replies_5xx;
    uint64_t received, duplicates;
    uint64_t sink_deferred, sink_rejected;  /* sinks: 4xx and 5xx replies their --behaviour rules gave */
};

/* stats_second_add - add src's counts (not t, sessions_active included)
 * into dst. */
void stats_second_add(struct stats_second *dst, const struct stats_second *src);

/* stats_second_sub - dst's counts minus src's, each at least 0 (not t,
 * nor sessions_active, which is a gauge) into out. */
void stats_second_sub(const struct stats_second *dst, const struct stats_second *src,
                      struct stats_second *out);

/* stats_init - zero every counter and histogram. */
void stats_init(struct load_stats *s);

/* stats_merge - add every counter and histogram of src into dst. */
void stats_merge(struct load_stats *dst, const struct load_stats *src);

/* stats_count_reply - count one reply code (out-of-range codes go to [0]). */
static inline void stats_count_reply(struct load_stats *s, int code)
{
    s->replies[code >= 100 && code < STATS_REPLY_CODES ? code : 0]++;
}

/* stats_count_error - count one error of the given kind. */
void stats_count_error(struct load_stats *s, enum stats_error kind);

/* stats_phase_name - the report's name of a phase ("connect", ...). Static string. */
const char *stats_phase_name(enum stats_phase phase);

/* stats_error_name - the report's name of an error kind ("timeout", ...). Static string. */
const char *stats_error_name(enum stats_error kind);

#endif
