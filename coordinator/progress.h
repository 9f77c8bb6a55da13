/* progress.h - the live progress line of `smtpstorm run`: on a terminal one
 * line rewritten in place every second; otherwise a plain line every few
 * seconds, so logs stay readable. */
#ifndef SMTPSTORM_COORDINATOR_PROGRESS_H
#define SMTPSTORM_COORDINATOR_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROGRESS_PLAIN_EVERY_NS (5ULL * 1000000000ULL)  /* non-terminal: a line every 5 s */

struct progress_view {
    uint64_t attempted, accepted, errors, rejected;
    int sinks;                      /* sinks count the mail: received and backlog shown */
    uint64_t received;
    int64_t backlog;                /* accepted minus received at the end of second backlog_t */
    uint32_t backlog_t;             /* of the campaign, by event time; 0: no second settled yet */
    double rate;                    /* accepted a second over the last settled seconds */
    int draining;                   /* the agents are done; waiting for the sinks */
    uint64_t planned;               /* -m total; 0: duration-bound */
    uint64_t p99_us;                /* whole-transaction latency */
    size_t agents_up, agents_total;
    double elapsed_s;
    double eta_s;                   /* < 0: unknown */
};

struct progress_line {
    FILE *out;
    int tty;
    int shown;                      /* a line is on screen (tty) */
    uint64_t last_ns;
};

/* progress_init - write to out; detects whether it is a terminal. */
void progress_init(struct progress_line *pl, FILE *out);

/* progress_update - show v now if it is time to (every call on a terminal,
 * every PROGRESS_PLAIN_EVERY_NS otherwise). */
void progress_update(struct progress_line *pl, const struct progress_view *v, uint64_t now_ns);

/* progress_clear - end the live line so other output starts on a clean line. */
void progress_clear(struct progress_line *pl);

#endif
