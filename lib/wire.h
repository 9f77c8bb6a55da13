/* wire.h - the control plane's messages (proto/smtpstorm.proto) for the
 * coordinator and the agent and sink link modules: bounded, validated
 * decoding, encoding, struct load_stats <-> Progress with sparse histograms,
 * and clock offsets from heartbeats. Protocol engines never include this. */
#ifndef SMTPSTORM_WIRE_H
#define SMTPSTORM_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "smtpstorm.pb-c.h"
#include "hist.h"
#include "stats.h"

#define WIRE_VERSION        5               /* bump on any incompatible schema change */
#define WIRE_MSG_MAX        (4u << 20)      /* ZMQ_MAXMSGSIZE: largest frame accepted */
#define WIRE_CONTENT_MAX    (1u << 20)      /* -F file contents carried in a Workload */
#define WIRE_TARGETS_MAX    1024            /* targets per workload */
#define WIRE_PHASES_MAX     64              /* phases per workload */
#define WIRE_TEXT_MAX       1024            /* any other string field */
#define WIRE_LIST_MAX       4096            /* repeated fields not bounded otherwise */
#define WIRE_AGENTS_MAX     10000           /* agents in one campaign: a Start's offsets, a sink's
                                             * counts by agent (smtpstorm run --agents's ceiling) */
#define WIRE_SECONDS_MAX    16              /* event-time rows in one report */
#define WIRE_TIMEOUT_MAX_MS (86400u * 1000) /* Workload.timeout_ms: a day */
#define WIRE_BEAT_SLOW_DEAD_MS 8000         /* a dead-man switch this long or more is beaten */
#define WIRE_BEAT_SLOW_MS      2000         /*   every 2 s (wire_beat_interval_ms) */

/* wire_decode - unpack and validate one frame of len octets. On success
 * *out is a validated envelope the caller owns (wire_free). Returns
 * -EMSGSIZE (too big), -EBADMSG (undecodable or invalid: *out is NULL), or
 * -EPROTONOSUPPORT (another wire version, not 0: *out is still set, so the caller
 * can name the peer and its version, and must free it). */
int wire_decode(const void *buf, size_t len, Smtpstorm__Envelope **out);

/* wire_free - release an envelope from wire_decode; NULL is harmless. */
void wire_free(Smtpstorm__Envelope *env);

/* wire_encode - stamp env with WIRE_VERSION and pack it into a new buffer
 * the caller owns (free()). Returns 0, -ENOMEM or -EMSGSIZE. */
int wire_encode(Smtpstorm__Envelope *env, uint8_t **buf, size_t *len);

/* wire_body_name - the body's name ("hello", "progress", ...); static string. */
const char *wire_body_name(const Smtpstorm__Envelope *env);

/* wire_text - env's string field s or "" when the peer sent none; never NULL. */
const char *wire_text(const char *s);

/* A histogram ready to encode, with its own slot arrays: no allocation. */
struct wire_hist_store {
    Smtpstorm__Hist msg;
    uint32_t deltas[HIST_SLOTS];
    uint64_t counts[HIST_SLOTS];
};

/* wire_hist_fill - describe h (sparsely) in st->msg for phase; returns
 * &st->msg, valid while st and h are unchanged. */
Smtpstorm__Hist *wire_hist_fill(struct wire_hist_store *st, const struct hist *h, unsigned phase);

/* wire_hist_check - 0 when pb is a consistent histogram (slots in range and
 * increasing, counts summing to count, min <= max), else -EBADMSG. */
int wire_hist_check(const Smtpstorm__Hist *pb);

/* wire_hist_merge - add the histogram pb describes into dst. Returns 0, or
 * -EBADMSG (pb inconsistent; dst unchanged). */
int wire_hist_merge(struct hist *dst, const Smtpstorm__Hist *pb);

/* Everything a Progress message points to, allocated once per link. */
struct wire_progress_store;

/* wire_progress_store_new - allocate a store; the caller owns it
 * (wire_progress_store_free). NULL on error. */
struct wire_progress_store *wire_progress_store_new(void);

/* wire_progress_store_free - release st; NULL is harmless. */
void wire_progress_store_free(struct wire_progress_store *st);

/* A peer's event-time rows to send (proto Seconds): rows[i] with the
 * histograms messages[i] and deliveries[i] (NULL: none), every t below
 * closed. */
struct wire_seconds {
    uint32_t closed;
    struct stats_second before;     /* the sum of every second before closed */
    struct stats_second total;      /* everything counted so far, the open second too */
    size_t n;                       /* at most WIRE_SECONDS_MAX */
    const struct stats_second *rows[WIRE_SECONDS_MAX];
    const struct hist *messages[WIRE_SECONDS_MAX];
    const struct hist *deliveries[WIRE_SECONDS_MAX];
    uint64_t last_ns;
};

/* Room to encode one struct wire_seconds: no allocation after new. */
struct wire_seconds_store;

/* wire_seconds_store_new - a store; with_hists 0 when no row will carry a
 * histogram. The caller owns it (wire_seconds_store_free). NULL when out
 * of memory. */
struct wire_seconds_store *wire_seconds_store_new(int with_hists);

/* wire_seconds_store_free - release st; NULL is harmless. */
void wire_seconds_store_free(struct wire_seconds_store *st);

/* wire_seconds_fill - describe src in a Seconds held by st; returns it,
 * valid until the next fill on st while src's histograms are unchanged. */
Smtpstorm__Seconds *wire_seconds_fill(struct wire_seconds_store *st, const struct wire_seconds *src);

/* wire_second_get - the counts of a validated Second into out. */
void wire_second_get(const Smtpstorm__Second *pb, struct stats_second *out);

/* Identity and gauges that travel with a Progress besides the counters. */
struct wire_progress_meta {
    const char *campaign;
    uint64_t seq;               /* increases with every report */
    uint64_t elapsed_ns;        /* since the workload's start */
    uint64_t cpu_ns;            /* CPU used during the workload */
    uint32_t sessions_active;
    Smtpstorm__Seconds *seconds;    /* from wire_seconds_fill, or NULL */
    uint64_t corpus_messages, corpus_skipped;   /* --corpus */
    uint64_t source_pool;       /* --source addresses */
};

/* wire_progress_fill - describe s (cumulative) in a Progress held by st;
 * returns it, valid until the next fill on st, or NULL when out of memory. */
Smtpstorm__Progress *wire_progress_fill(struct wire_progress_store *st, const struct load_stats *s,
                                        const struct wire_progress_meta *meta);

/* wire_progress_merge - add every counter and histogram of p into dst
 * (stats_init dst first to decode). Returns 0 or -EBADMSG (dst may be
 * partly updated; p from wire_decode is always valid). */
int wire_progress_merge(struct load_stats *dst, const Smtpstorm__Progress *p);

/* Heartbeat bookkeeping of one side of a link. */
struct wire_beat {
    uint64_t peer_sender_ns;    /* sender_ns of the last heartbeat received */
    uint64_t received_mono_ns;  /* when it arrived (monotonic) */
};

/* wire_beat_fill - fill hb to send now (wall and monotonic clocks given). */
void wire_beat_fill(Smtpstorm__Heartbeat *hb, const struct wire_beat *b, uint64_t now_wall_ns,
                    uint64_t now_mono_ns);

/* wire_beat_interval_ms - how often a peer whose dead-man switch
 * (Hello.dead_ms, its --heartbeat-timeout) is dead_ms is beaten by the
 * coordinator, and pings it over ZMTP: every 2 s for a switch of 8 s or
 * more (any 8 s of silence then holds three beats, and a stall of the
 * coordinator must last 6 s to trip it, more than the 4 s a default
 * switch beaten every second allows), else every second. With thousands
 * of agents, --heartbeat-timeout 8 halves both. */
uint32_t wire_beat_interval_ms(uint64_t dead_ms);

/* wire_beat_of - the heartbeat env carries: a Heartbeat's body, or the
 * beat of a Progress or SinkCounters (a peer's report standing for its
 * heartbeat); NULL when it carries none. Points into env. */
const Smtpstorm__Heartbeat *wire_beat_of(const Smtpstorm__Envelope *env);

/* wire_beat_receive - note hb's arrival in b; when hb answers one of ours,
 * store the round trip and the peer's clock offset (peer minus own) and
 * return 0; -EAGAIN when it carries no usable sample. */
int wire_beat_receive(struct wire_beat *b, const Smtpstorm__Heartbeat *hb, uint64_t now_wall_ns,
                      uint64_t now_mono_ns, int64_t *offset_ns, uint64_t *rtt_ns);

#endif
