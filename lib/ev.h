/* ev.h - the event loop every smtpstorm program waits in: epoll readiness
 * for file descriptors and a min-heap of one-shot timers, in the spirit of
 * Redis's ae. One loop per thread; nothing here is thread-safe except
 * ev_wake.
 *
 * Failures of the loop's core follow one rule (ae's and Postfix's): running
 * out of memory inside the loop (growing the timer heap or the fd table, or
 * the kernel's ENOMEM from epoll_ctl) is fatal: it is logged and the
 * process aborts, because a loop that cannot arm a timer cannot keep a
 * session's time limit (it would hang instead). So ev_timer_start and
 * ev_timer_start_at return nothing, and a change to a watch already in
 * place (epoll_ctl MOD, which fails only so or by a bug) never fails.
 * What the outside world can refuse is returned: ev_io_set's first watch
 * of an fd (epoll_ctl ADD: ENOSPC past fs.epoll.max_user_watches, EPERM for
 * an fd epoll cannot watch), which the caller handles where it happens.
 * A caller breaking an interface contract (a negative fd, a timer never
 * initialised) is a programming error, caught by assert. */
#ifndef SMTPSTORM_EV_H
#define SMTPSTORM_EV_H

#include <stddef.h>
#include <stdint.h>

#define EV_READ  1u
#define EV_WRITE 2u

struct ev_loop;

/* Called when fd is ready; events is a mask of EV_READ/EV_WRITE (errors and
 * hang-ups are reported as both, so the handler's read or write sees them). */
typedef void ev_io_fn(struct ev_loop *loop, int fd, unsigned events, void *arg);

/* Called once when a timer expires. */
typedef void ev_timer_fn(struct ev_loop *loop, void *arg);

/* A timer is embedded in its owner's struct; the loop never allocates it. */
struct ev_timer {
    uint64_t due_ns;        /* monotonic deadline */
    size_t heap_index;      /* position in the heap, 0 when not armed */
    ev_timer_fn *fn;
    void *arg;
};

/* ev_loop_new - create a loop; the caller owns it (ev_loop_free). NULL on
 * error (errno says why). */
struct ev_loop *ev_loop_new(void);

/* ev_loop_free - release the loop. File descriptors are not closed. */
void ev_loop_free(struct ev_loop *loop);

/* ev_io_set - watch fd (>= 0) for events (replacing any earlier watch;
 * events 0 keeps the registration but waits for nothing). Returns 0, or
 * -errno when fd was not watched yet and epoll refuses it (-ENOSPC,
 * -EPERM, -EBADF, ...); changing an existing watch always succeeds. */
int ev_io_set(struct ev_loop *loop, int fd, unsigned events, ev_io_fn *fn, void *arg);

/* ev_io_del - stop watching fd; call before close(fd). */
void ev_io_del(struct ev_loop *loop, int fd);

/* ev_io_forget - like ev_io_del without the epoll_ctl system call, for an
 * fd the caller closes right away and never dup'ed: closing its last
 * reference removes it from the epoll set. */
void ev_io_forget(struct ev_loop *loop, int fd);

/* ev_timer_init - prepare t to call fn(arg); it starts disarmed. */
void ev_timer_init(struct ev_timer *t, ev_timer_fn *fn, void *arg);

/* ev_timer_start - arm (or re-arm) t (ev_timer_init'ed) to fire delay_ns
 * from the loop's now. Never fails: no memory for the heap is fatal. */
void ev_timer_start(struct ev_loop *loop, struct ev_timer *t, uint64_t delay_ns);

/* ev_timer_start_at - arm (or re-arm) t to fire at monotonic time due_ns;
 * never fails, as ev_timer_start. */
void ev_timer_start_at(struct ev_loop *loop, struct ev_timer *t, uint64_t due_ns);

/* ev_timer_stop - disarm t; harmless when it is not armed. */
void ev_timer_stop(struct ev_loop *loop, struct ev_timer *t);

/* ev_timer_armed - nonzero when t waits to fire. */
int ev_timer_armed(const struct ev_timer *t);

/* ev_now - the loop's cached monotonic time (ns), refreshed at each wake-up. */
uint64_t ev_now(const struct ev_loop *loop);

/* ev_now_update - refresh the cached time and return it. */
uint64_t ev_now_update(struct ev_loop *loop);

/* ev_event_now - the monotonic time (ns) of the event a handler is
 * dispatched for: the wake-up's reading in the first fd handler of a
 * wake-up, at its first call (nothing has run since); a new reading
 * anywhere else (handlers before it, or its own work, took time). One
 * clock read saved a wake-up; the cached time (ev_now) is then this
 * reading too. */
uint64_t ev_event_now(struct ev_loop *loop);

/* ev_run - dispatch events until ev_stop is called. Returns 0, or -errno
 * when epoll fails. */
int ev_run(struct ev_loop *loop);

/* ev_run_once - wait at most timeout_ms (-1: until an event or timer) and
 * dispatch what is ready. Returns 0 or -errno. */
int ev_run_once(struct ev_loop *loop, int timeout_ms);

/* ev_stop - make ev_run return after the current dispatch round. */
void ev_stop(struct ev_loop *loop);

/* ev_wake - interrupt a loop's wait from any thread or a signal handler;
 * the loop's ev_run then returns if ev_stop was called, else goes on. */
void ev_wake(struct ev_loop *loop);

#endif
