/* trace.h - the X-Smtpstorm-Trace header: agents stamp every message with
 * "<campaign> <agent> <seq> <send-time-us>", sinks parse it to count by
 * campaign, find duplicates and measure delivery latency. */
#ifndef SMTPSTORM_TRACE_H
#define SMTPSTORM_TRACE_H

#include <stddef.h>
#include <stdint.h>

#define TRACE_HEADER     "X-Smtpstorm-Trace"
#define TRACE_ID_MAX     64     /* campaign and agent ids: [A-Za-z0-9._:-], 1..63 octets */
#define TRACE_LINE_MAX   (sizeof(TRACE_HEADER) + 2 * TRACE_ID_MAX + 48)

struct trace {
    char campaign[TRACE_ID_MAX];
    char agent[TRACE_ID_MAX];
    uint64_t seq;               /* unique per agent within a campaign */
    uint64_t sent_us;           /* sender's wall clock, microseconds since the epoch */
};

/* trace_id_valid - nonzero when id is a usable campaign or agent id. */
int trace_id_valid(const char *id);

/* trace_format - write the whole header line, CRLF included, into out.
 * Returns its length, or -1 if it does not fit or an id is invalid. */
int trace_format(const struct trace *t, char *out, size_t outlen);

/* A (campaign, agent) pair's lines up to the seq, "X-Smtpstorm-Trace:
 * CAMPAIGN AGENT ", formatted once for the messages of a workload. */
struct trace_head {
    size_t len;                 /* 0: the ids were not valid */
    char text[sizeof(TRACE_HEADER) + 2 * TRACE_ID_MAX + 2];
};

/* trace_head_init - h for campaign and agent; -1 (and h->len 0) when an
 * id is not valid. */
int trace_head_init(struct trace_head *h, const char *campaign, const char *agent);

/* A second of the wall clock in decimal, formatted once for the messages
 * stamped within it (trace_format_stamp). */
struct trace_second {
    uint64_t sec;               /* seconds since the epoch */
    size_t len;                 /* 0: not formatted yet */
    char digits[24];
};

/* trace_second_set - s for second sec; formats only when sec changed.
 * Returns 1 when it did (s was for another second or none), else 0. */
int trace_second_set(struct trace_second *s, uint64_t sec);

/* trace_format_stamp - the whole header line of h's pair, CRLF included,
 * for message seq sent at usec (below 1,000,000) into second s; the same
 * octets as trace_format for sent_us = s->sec * 1,000,000 + usec. Returns
 * its length, or -1 if it does not fit out or h is not valid. */
int trace_format_stamp(const struct trace_head *h, uint64_t seq, const struct trace_second *s,
                       unsigned usec, char *out, size_t outlen);

/* trace_rcpt_number - the n-th -N recipient number (from 0) of a part
 * whose message k is number seq_first + k * seq_stride, each message with
 * up to recipients recipients: contiguous blocks with stride 1, interleaved
 * by the stride otherwise, so parts of a campaign never share one. */
uint64_t trace_rcpt_number(uint64_t seq_first, uint64_t seq_stride, uint64_t recipients, uint64_t n);

/* trace_parse - parse one header line (with or without the field name, with
 * or without line ending) of len octets. Returns 0, or -1 if it is not a
 * well-formed trace. Never reads past len. */
int trace_parse(const char *line, size_t len, struct trace *t);

/* The envelope tag (--envelope-trace): the sender's local part gets
 * "+st-KEY-SEQ" (KEY: trace_pair_key in 16 hex digits, SEQ: the trace seq
 * in hex), so that a sink that refuses a message before its data knows
 * whose message it was. An MTA keeps the sender when it relays. */
#define TRACE_TAG_PREFIX "+st-"
#define TRACE_TAG_MAX    (sizeof(TRACE_TAG_PREFIX) + 16 + 1 + 16)

struct trace_tag {
    uint64_t key;               /* trace_pair_key of the campaign and agent */
    uint64_t seq;               /* the message's trace seq */
};

/* trace_pair_key - the 64-bit key of a (campaign, agent) pair (FNV-1a). */
uint64_t trace_pair_key(const char *campaign, const char *agent);

/* trace_tag_sender - write sender with tag before its
 * last '@' (at the end without one) into out. Returns the length, or -1
 * when it does not fit. */
int trace_tag_sender(const char *sender, const struct trace_tag *tag, char *out, size_t outlen);

/* trace_tag_parse - find the tag in the address addr[0..len): 0 with tag
 * set, -1 without a well-formed one. Never reads past len. */
int trace_tag_parse(const char *addr, size_t len, struct trace_tag *tag);

#endif
