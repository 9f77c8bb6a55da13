/* ev.c - epoll and timer-heap event loop (see ev.h, and its rule for
 * failures: out of memory is fatal, ev_fatal). */
#include "ev.h"
#include "clock.h"
#include "log.h"
#include "rawio.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define EV_BATCH 256            /* epoll events taken per wait */

struct ev_io {
    ev_io_fn *fn;
    void *arg;
    unsigned events;
    int registered;
};

struct ev_loop {
    int epfd;
    int wakefd;
    volatile int stopping;
    uint64_t now;
    int now_fresh;              /* now was read at this wake-up and no handler has run since */
    struct ev_io *io;           /* indexed by fd */
    size_t io_len;
    struct ev_timer **heap;     /* 1-based min-heap on due_ns */
    size_t heap_len;
    size_t heap_cap;
};

/* ev_fatal - the loop's core cannot go on (ev.h): say so and abort. */
static _Noreturn void ev_fatal(const char *what, int err)
{
    log_error("event loop: %s: %s", what, strerror(err));
    abort();
}

struct ev_loop *ev_loop_new(void)
{
    struct ev_loop *loop = calloc(1, sizeof(*loop));
    struct epoll_event ee = { .events = EPOLLIN };

    if (loop == NULL)
        return NULL;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0)
        goto fail_loop;
    loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->wakefd < 0)
        goto fail_ep;
    ee.data.fd = loop->wakefd;
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ee) != 0)
        goto fail_wake;
    loop->now = clock_mono_ns();
    return loop;

fail_wake:
    close(loop->wakefd);
fail_ep:
    close(loop->epfd);
fail_loop:
    free(loop);
    return NULL;
}

void ev_loop_free(struct ev_loop *loop)
{
    if (loop == NULL)
        return;
    close(loop->wakefd);
    close(loop->epfd);
    free(loop->io);
    free(loop->heap);
    free(loop);
}

/* ev_io_reserve - make loop->io hold fd; out of memory is fatal. */
static void ev_io_reserve(struct ev_loop *loop, int fd)
{
    size_t want = loop->io_len ? loop->io_len : 64;
    struct ev_io *grown;

    if ((size_t)fd < loop->io_len)
        return;
    while (want <= (size_t)fd)
        want *= 2;
    grown = realloc(loop->io, want * sizeof(*grown));
    if (grown == NULL)
        ev_fatal("no memory for the descriptor table", ENOMEM);
    memset(grown + loop->io_len, 0, (want - loop->io_len) * sizeof(*grown));
    loop->io = grown;
    loop->io_len = want;
}

int ev_io_set(struct ev_loop *loop, int fd, unsigned events, ev_io_fn *fn, void *arg)
{
    struct epoll_event ee = { 0 };
    struct ev_io *io;

    assert(fd >= 0 && fd != loop->wakefd && fd != loop->epfd);
    assert((events & ~(EV_READ | EV_WRITE)) == 0);
    ev_io_reserve(loop, fd);
    io = &loop->io[fd];
    ee.data.fd = fd;
    ee.events = ((events & EV_READ) ? EPOLLIN : 0) | ((events & EV_WRITE) ? EPOLLOUT : 0);
    if (!io->registered) {
        if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ee) != 0) {
            if (errno == ENOMEM)
                ev_fatal("epoll_ctl ADD", errno);
            return -errno;
        }
    } else if (io->events != events && epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ee) != 0) {
        ev_fatal("epoll_ctl MOD", errno);  /* ENOMEM, or a watch closed behind our back */
    }
    io->registered = 1;
    io->events = events;
    io->fn = fn;
    io->arg = arg;
    return 0;
}

void ev_io_del(struct ev_loop *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->io_len || !loop->io[fd].registered)
        return;
    (void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
    memset(&loop->io[fd], 0, sizeof(loop->io[fd]));
}

void ev_io_forget(struct ev_loop *loop, int fd)
{
    if (fd >= 0 && (size_t)fd < loop->io_len)
        memset(&loop->io[fd], 0, sizeof(loop->io[fd]));
}

/* Timer heap: index 0 unused so that heap_index 0 means "not armed". */

static void heap_place(struct ev_loop *loop, size_t i, struct ev_timer *t)
{
    loop->heap[i] = t;
    t->heap_index = i;
}

static void heap_up(struct ev_loop *loop, size_t i)
{
    struct ev_timer *t = loop->heap[i];

    while (i > 1 && loop->heap[i / 2]->due_ns > t->due_ns) {
        heap_place(loop, i, loop->heap[i / 2]);
        i /= 2;
    }
    heap_place(loop, i, t);
}

static void heap_down(struct ev_loop *loop, size_t i)
{
    struct ev_timer *t = loop->heap[i];
    size_t child;

    while ((child = 2 * i) <= loop->heap_len) {
        if (child < loop->heap_len && loop->heap[child + 1]->due_ns < loop->heap[child]->due_ns)
            child++;
        if (loop->heap[child]->due_ns >= t->due_ns)
            break;
        heap_place(loop, i, loop->heap[child]);
        i = child;
    }
    heap_place(loop, i, t);
}

void ev_timer_init(struct ev_timer *t, ev_timer_fn *fn, void *arg)
{
    assert(fn != NULL);
    memset(t, 0, sizeof(*t));
    t->fn = fn;
    t->arg = arg;
}

int ev_timer_armed(const struct ev_timer *t) { return t->heap_index != 0; }

void ev_timer_stop(struct ev_loop *loop, struct ev_timer *t)
{
    size_t i = t->heap_index;
    struct ev_timer *last;

    if (i == 0)
        return;
    assert(i <= loop->heap_len && loop->heap[i] == t);     /* armed in this loop */
    last = loop->heap[loop->heap_len--];
    t->heap_index = 0;
    if (last == t)
        return;
    heap_place(loop, i, last);
    if (i > 1 && loop->heap[i / 2]->due_ns > last->due_ns)
        heap_up(loop, i);
    else
        heap_down(loop, i);
}

void ev_timer_start_at(struct ev_loop *loop, struct ev_timer *t, uint64_t due_ns)
{
    struct ev_timer **grown;
    size_t cap;

    assert(t->fn != NULL);          /* ev_timer_init'ed */
    ev_timer_stop(loop, t);
    if (loop->heap_len + 1 >= loop->heap_cap) {
        cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
        grown = realloc(loop->heap, cap * sizeof(*grown));
        if (grown == NULL)
            ev_fatal("no memory for the timer heap", ENOMEM);
        loop->heap = grown;
        loop->heap_cap = cap;
    }
    t->due_ns = due_ns;
    loop->heap[++loop->heap_len] = t;
    heap_up(loop, loop->heap_len);
}

void ev_timer_start(struct ev_loop *loop, struct ev_timer *t, uint64_t delay_ns)
{
    ev_timer_start_at(loop, t, loop->now + delay_ns);
}

uint64_t ev_now(const struct ev_loop *loop) { return loop->now; }

uint64_t ev_now_update(struct ev_loop *loop)
{
    loop->now = clock_mono_ns();
    loop->now_fresh = 0;
    return loop->now;
}

uint64_t ev_event_now(struct ev_loop *loop)
{
    if (loop->now_fresh) {
        loop->now_fresh = 0;
        return loop->now;
    }
    return ev_now_update(loop);
}

void ev_stop(struct ev_loop *loop)
{
    loop->stopping = 1;
    ev_wake(loop);
}

void ev_wake(struct ev_loop *loop)
{
    uint64_t one = 1;

    /* A full counter already means "wake up": nothing to handle. */
    if (write(loop->wakefd, &one, sizeof(one)) < 0)
        return;
}

static int ev_next_timeout_ms(const struct ev_loop *loop, int limit_ms)
{
    uint64_t due, wait_ms;

    if (loop->heap_len == 0)
        return limit_ms;
    due = loop->heap[1]->due_ns;
    if (due <= loop->now)
        return 0;
    wait_ms = (due - loop->now + NS_PER_MS - 1) / NS_PER_MS;
    if (limit_ms >= 0 && wait_ms > (uint64_t)limit_ms)
        return limit_ms;
    return wait_ms > 60000 ? 60000 : (int)wait_ms;
}

static void ev_fire_timers(struct ev_loop *loop)
{
    struct ev_timer *t;

    while (loop->heap_len > 0 && loop->heap[1]->due_ns <= loop->now && !loop->stopping) {
        t = loop->heap[1];
        ev_timer_stop(loop, t);
        t->fn(loop, t->arg);
    }
}

static void ev_dispatch(struct ev_loop *loop, const struct epoll_event *ee)
{
    int fd = ee->data.fd;
    unsigned events = 0;
    uint64_t count;
    struct ev_io *io;

    if (fd == loop->wakefd) {
        if (read(loop->wakefd, &count, sizeof(count)) < 0)
            return;
        return;
    }
    if ((size_t)fd >= loop->io_len || !loop->io[fd].registered)
        return;
    io = &loop->io[fd];
    if (ee->events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
        events |= EV_READ;
    if (ee->events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
        events |= EV_WRITE;
    events &= io->events ? io->events : 0;
    if (events && io->fn)
        io->fn(loop, fd, events, io->arg);
}

int ev_run_once(struct ev_loop *loop, int timeout_ms)
{
    struct epoll_event ready[EV_BATCH];
    int n, i;

    n = rawio_epoll_wait(loop->epfd, ready, EV_BATCH, ev_next_timeout_ms(loop, timeout_ms));
    if (n < 0 && errno != EINTR)
        return -errno;
    ev_now_update(loop);
    for (i = 0; i < n && !loop->stopping; i++) {
        loop->now_fresh = i == 0;       /* no handler has run since the reading */
        ev_dispatch(loop, &ready[i]);
    }
    loop->now_fresh = 0;
    ev_fire_timers(loop);
    return 0;
}

int ev_run(struct ev_loop *loop)
{
    int err = 0;

    loop->stopping = 0;
    while (!loop->stopping && err == 0)
        err = ev_run_once(loop, -1);
    return err;
}
