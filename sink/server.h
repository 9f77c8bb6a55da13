/* server.h - smtpstorm-sink's listeners and event loops: one or more
 * threads (--threads), each an ev loop with its own SO_REUSEPORT listener,
 * sessions, counters and tally; the -m/-M/-n limits; and the snapshot
 * functions a link module (or -c) reads the counters through. */
#ifndef SMTPSTORM_SINK_SERVER_H
#define SMTPSTORM_SINK_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "behaviour.h"
#include "config.h"
#include "tally.h"

struct sink_server;

/* Process-wide figures merged from every loop (cumulative since start,
 * except active). */
struct sink_counters {
    uint64_t sessions;          /* sessions ended (smtp-sink -c "sess") */
    uint64_t quits;             /* QUIT commands answered ("quit") */
    uint64_t messages;          /* messages received completely ("mesg") */
    uint64_t active;            /* sessions open now */
    uint64_t accepted;          /* connections accepted */
    uint64_t bytes;             /* message octets received (DATA and BDAT) */
    uint64_t dump_errors;       /* messages whose -d/-D capture failed */
    uint64_t timeouts;          /* sessions ended by the -t time limit */
    uint64_t tls_handshakes;    /* STARTTLS handshakes completed */
    uint64_t tls_failures;      /* STARTTLS handshakes failed */
    uint64_t tls_resumed;       /* ... completed by resuming a session (a ticket) */
    uint64_t auth_successes;    /* AUTH exchanges answered 235 */
    uint64_t auth_failures;     /* AUTH exchanges ended with 535 or 501 */
    uint64_t behaviour[BEHAVIOUR_OUT_COUNT];    /* --behaviour: what the rules did (BEHAVIOUR_OUT_*) */
    uint64_t greylist_evictions;    /* greylist entries evicted to make room */
};

/* sink_server_new - loops, listeners (bound now, before privileges are
 * dropped) and TLS context for cfg (kept). On error returns NULL with a
 * message in err. The caller owns the server. */
struct sink_server *sink_server_new(const struct sink_config *cfg, char *err, size_t errlen);

/* sink_server_run - serve until -M/-n is reached or sink_server_stop.
 * Runs cfg->threads loops (the first on the calling thread). Returns 0 or
 * -errno. */
int sink_server_run(struct sink_server *srv);

/* sink_server_stop - make every loop return; async-signal-safe. */
void sink_server_stop(struct sink_server *srv);

/* sink_server_free - close everything and release srv. */
void sink_server_free(struct sink_server *srv);

/* sink_counters_snapshot - merge every loop's counters into out, from any
 * thread, without stopping the loops (relaxed loads: each figure is exact
 * at some recent moment). */
void sink_counters_snapshot(const struct sink_server *srv, struct sink_counters *out);

/* sink_tally_snapshot - merge every loop's per-campaign tally into out
 * (tally_snapshot_init'ed here); any thread. */
void sink_tally_snapshot(const struct sink_server *srv, struct tally_snapshot *out);

/* sink_server_retire_campaigns - the coordinator starts a campaign: the
 * campaigns counted so far that are not heard from again are evicted
 * first when the tallies need room (tally_seen_retire_all). Any thread. */
void sink_server_retire_campaigns(struct sink_server *srv);

/* sink_server_second_delivery - add every loop's delivery latency (us) of
 * campaign's messages that arrived in event-time second sec into out (see
 * tally_second_delivery). Any thread. */
void sink_server_second_delivery(const struct sink_server *srv, const char *campaign, uint32_t sec,
                                 struct hist *out);

/* sink_server_set_offset - agent's clock minus ours in campaign (from the
 * coordinator's Start), applied to its messages' delivery latency from now
 * on, and the campaign's start on our wall clock (us), from which their
 * event-time seconds count. Any thread. Returns 0 or -ENOSPC (agent table
 * full). */
int sink_server_set_offset(struct sink_server *srv, const char *campaign, const char *agent,
                           int64_t offset_ns, uint64_t origin_us);

/* sink_server_counting - the sum of every loop's tally_counting into
 * *mark; returns nonzero when a loop is counting right now. A snapshot
 * between two equal marks, the first not busy, saw every count or none of
 * it (totals and agents agree). Any thread. */
int sink_server_counting(const struct sink_server *srv, uint64_t *mark);

/* sink_agents_snapshot - campaign's per-agent received and duplicate
 * counts into out[0..max) (caller-owned); returns how many. Any thread. */
size_t sink_agents_snapshot(const struct sink_server *srv, const char *campaign, struct tally_agent *out,
                            size_t max);

/* sink_server_set_behaviour - the sink's own behaviour (--behaviour, or a
 * SIGHUP reload) is b (NULL: none): sessions that start from now on
 * follow it unless a coordinator's is in force (every loop takes its own
 * reference; the caller keeps its own). Any thread; sessions already
 * open keep the rules they started with. */
void sink_server_set_behaviour(struct sink_server *srv, struct behaviour *b);

/* sink_server_override_behaviour - a coordinator's behaviour b is in force
 * for sessions that start from now on; NULL: back to the sink's own. As
 * sink_server_set_behaviour otherwise. */
void sink_server_override_behaviour(struct sink_server *srv, struct behaviour *b);

/* sink_server_id - the name in reports: --id, or hostname:port. Owned by
 * srv, valid until sink_server_free. */
const char *sink_server_id(const struct sink_server *srv);

#endif
