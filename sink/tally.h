/* tally.h - per-campaign message accounting from the X-Smtpstorm-Trace
 * header (lib/trace.h): messages received, duplicates (the same agent and
 * seq seen twice, anywhere in the process) and end-to-end delivery latency.
 * One struct tally per event loop, written only by that loop without locks;
 * any thread may take a snapshot at any time (relaxed atomic loads, and a
 * sequence count per entry so that an entry being reused is skipped, never
 * read half-written). The link module that streams counters to the
 * coordinator reads snapshots.
 *
 * Bounded over any number of campaigns: a loop keeps TALLY_CAMPAIGNS_MAX
 * campaigns and the process TALLY_AGENTS_MAX (campaign, agent) pairs with
 * their duplicate windows (room for every agent a campaign may have,
 * WIRE_AGENTS_MAX, and for the pairs of campaigns before it). When a new one arrives and the table is full,
 * the least recently active one is evicted and its slot reused, preferring
 * those retired by tally_seen_retire_all (called when the coordinator
 * starts a campaign: any campaign not heard from since is over for it).
 * So a running campaign loses no count unless more than TALLY_CAMPAIGNS_MAX
 * campaigns (or TALLY_AGENTS_MAX pairs) are active since the last Start. */
#ifndef SMTPSTORM_SINK_TALLY_H
#define SMTPSTORM_SINK_TALLY_H

#include <stddef.h>
#include <stdint.h>

#include "hist.h"
#include "stats.h"
#include "trace.h"

#define TALLY_CAMPAIGNS_MAX 16      /* campaigns tracked per loop at once; least recently active evicted */
#define TALLY_AGENTS_MAX    16384   /* (campaign, agent) pairs at once, a 64 KiB window each
                                     * taken when the pair's first message comes; likewise */
#define TALLY_SEQ_WORDS     8192    /* 32 seqs a word: a sliding window of 262144 seqs per agent */
#define TALLY_SECONDS       16      /* event-time seconds a loop keeps per campaign */
#define TALLY_OUTCOMES      6       /* what --behaviour rules did at the end of data
                                     * (behaviour.h's BEHAVIOUR_OUT_*, by number) */

/* Process-wide duplicate detector shared by every loop: lock-free. */
struct tally_seen;

/* One loop's counters. */
struct tally;

/* One campaign's merged figures. */
struct tally_campaign {
    char campaign[TRACE_ID_MAX];
    uint64_t received;          /* messages carrying this campaign's trace (duplicates too) */
    uint64_t duplicates;        /* agent+seq seen before */
    uint64_t bytes;             /* their octets (as tally_count_message was told) */
    uint64_t unchecked;         /* not checked: seq outside the window, or table full */
    uint64_t outcomes[TALLY_OUTCOMES];  /* --behaviour rules at its messages (known by trace at
                                 * the end of data, or by envelope tag before):
                                 * deferred, rejected, disconnected, delayed (behaviour.h) */
    struct hist latency_us;     /* now - sent_us + the agent's clock offset, microseconds
                                 * (0 when negative) */
    /* by event time: the seconds of the campaign (second t ends t s after
     * its start, on the coordinator's clock; row 0: start unknown or not
     * yet) in which messages arrived, received (distinct) and duplicates */
    struct stats_second seconds[2 * TALLY_SECONDS];
    size_t n_seconds;
    uint64_t last_ns;           /* the last arrival, ns after the start; 0: none known */
};

/* One agent's figures within one campaign, process-wide. */
struct tally_agent {
    char agent[TRACE_ID_MAX];
    uint64_t received;          /* distinct messages (duplicates not counted) */
    uint64_t duplicates;
    uint64_t rejected;          /* refused for good by a rule (5xx) and never received since */
    uint64_t deferred;          /* deferred by a rule (4xx, greylisted, hung up), never received
                                 * nor rejected since: still to come back */
};

/* A merged view of one or more loops' tallies. Large (hist per campaign):
 * allocate it on the heap. */
struct tally_snapshot {
    uint64_t untraced;          /* messages without a well-formed trace header */
    uint64_t overflow;          /* traced messages of campaigns beyond TALLY_CAMPAIGNS_MAX
                                 * in the merged view (loops holding different campaigns) */
    uint64_t evicted;           /* campaigns evicted from the loops' tables so far */
    size_t count;               /* campaigns[0..count) are valid */
    struct tally_campaign campaigns[TALLY_CAMPAIGNS_MAX];
};

/* tally_seen_new - an empty duplicate detector for pairs (campaign, agent)
 * pairs at once (0: TALLY_AGENTS_MAX); the caller owns it. NULL on ENOMEM. */
struct tally_seen *tally_seen_new(size_t pairs);

/* tally_seen_free - release it (after every tally using it is gone). */
void tally_seen_free(struct tally_seen *seen);

/* tally_seen_check - record agent+seq of campaign; 1 if it was seen
 * before, 0 if new, -1 if it could not be checked. Any thread. */
int tally_seen_check(struct tally_seen *seen, const struct trace *t);

/* tally_seen_set_offset - the clock offset of agent in campaign (its clock
 * minus ours, from the coordinator's Start), applied to the delivery
 * latency of its messages from now on, and the campaign's start on our
 * wall clock (us; 0: unknown), from which its messages' seconds count.
 * Any thread. Returns 0, or -ENOSPC when the table is full. */
int tally_seen_set_offset(struct tally_seen *seen, const char *campaign, const char *agent,
                          int64_t offset_ns, uint64_t origin_us);

/* tally_second_of - the event-time second of a message arriving at wall
 * time now_us in a campaign that started at origin_us (0: unknown; then,
 * and before the start, second 0). */
static inline uint32_t tally_second_of(uint64_t now_us, uint64_t origin_us)
{
    return origin_us == 0 || now_us < origin_us ? 0 : (uint32_t)((now_us - origin_us) / 1000000u) + 1;
}

/* tally_seen_retire_all - a campaign starts: every campaign and pair not
 * active from now on is retired, and evicted first when room is needed.
 * Any thread. */
void tally_seen_retire_all(struct tally_seen *seen);

/* tally_seen_evicted - how many (campaign, agent) pairs were evicted. */
uint64_t tally_seen_evicted(const struct tally_seen *seen);

/* tally_seen_agents - the per-agent figures of campaign into out[0..max);
 * returns how many were written. Any thread (relaxed loads). */
size_t tally_seen_agents(const struct tally_seen *seen, const char *campaign, struct tally_agent *out,
                         size_t max);

/* tally_new - one loop's tally using seen; the caller owns it. NULL on ENOMEM. */
struct tally *tally_new(struct tally_seen *seen);

/* tally_free - release it. */
void tally_free(struct tally *t);

/* tally_count - count one received message with trace tr at wall-clock
 * now_us. Only the owning loop calls this. A campaign new to a full table
 * evicts the least recently active one (retired ones first). */
void tally_count(struct tally *t, const struct trace *tr, uint64_t now_us);

/* tally_count_message - tally_count for a message of bytes octets. */
void tally_count_message(struct tally *t, const struct trace *tr, uint64_t now_us, uint64_t bytes);

/* tally_count_outcome - a --behaviour rule did outcome (< TALLY_OUTCOMES)
 * at the end of data of a message with trace tr: counted for its campaign,
 * and a deferral or rejection remembered by seq until the message comes
 * (tally_seen_agents). Only the owning loop. */
void tally_count_outcome(struct tally *t, const struct trace *tr, int outcome, uint64_t now_us);

/* tally_count_tag_outcome - tally_count_outcome for a message known by
 * its envelope tag (trace.h) before its data.
 * Returns 0, or -1 when no pair of this key is known (the outcome is then
 * not counted for a campaign). Only the owning loop. */
int tally_count_tag_outcome(struct tally *t, const struct trace_tag *tag, int outcome, uint64_t now_us);

/* tally_count_untraced - count one message without a trace header. */
void tally_count_untraced(struct tally *t);

/* tally_second_delivery - add the delivery latency (us) of the messages of
 * campaign that arrived in its event-time second sec, as t still holds it
 * (the last TALLY_SECONDS seconds), into out; its min, max and sum are
 * those of the slots' bounds. Any thread. */
void tally_second_delivery(const struct tally *t, const char *campaign, uint32_t sec, struct hist *out);

/* tally_counting - t's sequence count: odd while its loop is counting a
 * message or an outcome; it moves with every count. Equal even values
 * before and after a read mean no count happened in between. Any thread. */
uint64_t tally_counting(const struct tally *t);

/* tally_snapshot_init - make s empty. */
void tally_snapshot_init(struct tally_snapshot *s);

/* tally_snapshot_add - merge loop tally t into s by campaign. Any thread. */
void tally_snapshot_add(struct tally_snapshot *s, const struct tally *t);

#endif
