/* rawio.h - the system calls of the per-message path (a socket's read and
 * writes, the event loop's wait) made through syscall(2), not through
 * read(2), send(2), sendmsg(2) and epoll_wait(2): those are cancellation
 * points, which glibc brackets in a process with threads (the agent's
 * loops run in threads) with __pthread_enable_asynccancel and its undo,
 * about 30 instructions a call and 240 a message in lock-step (callgrind:
 * 4% of the agent's). No thread of ours is ever cancelled. Under
 * AddressSanitizer the libc calls stay, so that its interceptors still
 * check the buffers. Each returns what its libc namesake returns, errno
 * set the same way. */
#ifndef SMTPSTORM_RAWIO_H
#define SMTPSTORM_RAWIO_H

#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define RAWIO_LIBC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RAWIO_LIBC 1
#endif
#endif

#ifdef RAWIO_LIBC

/* rawio_read - read(2). */
static inline ssize_t rawio_read(int fd, void *buf, size_t len) { return read(fd, buf, len); }

/* rawio_send - send(2). */
static inline ssize_t rawio_send(int fd, const void *buf, size_t len, int flags)
{
    return send(fd, buf, len, flags);
}

/* rawio_sendmsg - sendmsg(2). */
static inline ssize_t rawio_sendmsg(int fd, const struct msghdr *mh, int flags)
{
    return sendmsg(fd, mh, flags);
}

/* rawio_epoll_wait - epoll_wait(2). */
static inline int rawio_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout_ms)
{
    return epoll_wait(epfd, events, maxevents, timeout_ms);
}

#else

static inline ssize_t rawio_read(int fd, void *buf, size_t len) { return syscall(SYS_read, fd, buf, len); }

static inline ssize_t rawio_send(int fd, const void *buf, size_t len, int flags)
{
    return syscall(SYS_sendto, fd, buf, len, flags, NULL, 0);
}

static inline ssize_t rawio_sendmsg(int fd, const struct msghdr *mh, int flags)
{
    return syscall(SYS_sendmsg, fd, mh, flags);
}

/* as epoll_pwait with no signal mask, the one every architecture has */
static inline int rawio_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout_ms)
{
    return (int)syscall(SYS_epoll_pwait, epfd, events, maxevents, timeout_ms, NULL, (size_t)8);
}

#endif /* RAWIO_LIBC */

#endif
