/* seconds.h - event-time rows merged from several engines' meters (the
 * threads of a runner, the targets and segments of a campaign's part):
 * each row the sum of every engine's row of that second, the seconds every
 * running engine has closed, and the sum of all rows taken. What the
 * daemon's Progress and the standalone agent's timeline are made of. One
 * owner thread; engines are read through engine_take_seconds. */
#ifndef SMTPSTORM_AGENT_SECONDS_H
#define SMTPSTORM_AGENT_SECONDS_H

#include <stdint.h>

#include "meter.h"
#include "stats.h"

#define SECONDS_WINDOW 32       /* seconds held; older rows leave (their counts stay in total) */

struct seconds_window {
    struct meter_second rows[SECONDS_WINDOW];   /* second t at [t % SECONDS_WINDOW] */
    uint8_t used[SECONDS_WINDOW];
    struct stats_second total;  /* every row ever added, summed (t, sessions_active 0) */
    uint32_t closed;            /* seconds before this one are closed by every engine */
    uint64_t last_ns;           /* the latest last_ns of any row */
};

/* A reader's place in one engine's meter. */
struct seconds_cursor {
    uint32_t next;              /* the first second not yet taken */
};

/* seconds_window_init - an empty window. */
void seconds_window_init(struct seconds_window *w);

/* seconds_add_row - add row into w (meter_take's callback; arg is w). */
void seconds_add_row(void *arg, const struct meter_second *row);

/* seconds_find - w's row for second t, or NULL when it holds none. The
 * pointer is valid until the next change of w. */
const struct meter_second *seconds_find(const struct seconds_window *w, uint32_t t);

/* seconds_totals_before - the sum of the rows added for seconds before t
 * (total less the rows still held from t on) into out. */
void seconds_totals_before(const struct seconds_window *w, uint32_t t, struct stats_second *out);

/* Merging the closed seconds of several engines: start a round, take each
 * engine's rows (seconds_round_take), then end it to set w->closed: the
 * least of the running engines' closed seconds, or when none runs, the
 * greatest of any. */
struct seconds_round {
    uint32_t least_live, greatest;
    int any_live;
};

/* seconds_round_begin - a new round (greatest starts at w's closed). */
void seconds_round_begin(const struct seconds_window *w, struct seconds_round *r);

/* seconds_round_note - one engine's closed second and whether it runs. */
void seconds_round_note(struct seconds_round *r, uint32_t closed, int live);

/* seconds_round_end - set w->closed from the round. */
void seconds_round_end(struct seconds_window *w, const struct seconds_round *r);

#endif
