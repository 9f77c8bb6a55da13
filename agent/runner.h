/* runner.h - run one workload on N threads (--threads), each with its own
 * event loop, engine and counters: the workload split exactly between
 * them, one start time for all, merged snapshots on demand, and the -c
 * running counter. Used by agent/main.c. */
#ifndef SMTPSTORM_AGENT_RUNNER_H
#define SMTPSTORM_AGENT_RUNNER_H

#include <stddef.h>

#include "seconds.h"
#include "stats.h"
#include "workload.h"

struct runner;

/* runner_new - prepare threads engines for w (which must outlive the
 * runner); live_counter prints smtp-source's "-c" count to stdout. The
 * caller owns the runner (runner_free). NULL with a message in err. */
struct runner *runner_new(const struct workload *w, int threads, int live_counter, char *err,
                          size_t errlen);

/* runner_fd_limit - raise this process's descriptor limit for sessions
 * connections on threads loops and what the agent has besides, within the
 * hard limit (lib/fdlimit). Returns 0, or -errno with err naming the
 * numbers (-EMFILE: the hard limit is too low). */
int runner_fd_limit(int sessions, int threads, char *err, size_t errlen);

/* runner_start - start every thread. Returns 0 or -errno. */
int runner_start(struct runner *r);

/* runner_done_fd - a descriptor that becomes readable when every thread
 * has finished (for the caller's event loop). Owned by the runner. */
int runner_done_fd(const struct runner *r);

/* runner_done - nonzero when every thread has finished. */
int runner_done(const struct runner *r);

/* runner_snapshot - the merged cumulative counters of every thread into
 * out (which the caller owns). Any time, any thread. Returns 0, or -ENOMEM
 * (out then holds nothing). */
int runner_snapshot(struct runner *r, struct load_stats *out);

/* runner_take_seconds - add every engine's event-time rows closed since
 * the last call into w, and each engine's closed second into round. One
 * caller thread at a time. */
void runner_take_seconds(struct runner *r, struct seconds_window *w, struct seconds_round *round);

/* runner_stop - stop every engine: drain (abort 0) or close now (1). */
void runner_stop(struct runner *r, int abort);

/* runner_fatal - why the run was aborted (the first engine to abort), or
 * NULL. Valid after runner_join, until runner_free. */
const char *runner_fatal(const struct runner *r);

/* runner_join - wait for the threads to exit (they have finished when
 * runner_done says so). */
void runner_join(struct runner *r);

/* runner_free - join if needed and release everything; NULL is harmless. */
void runner_free(struct runner *r);

#endif
