/* floor-sink.c - the least a lock-step SMTP sink must do, for
 * bench/sink-vs-postfix to measure against (not a tool, not a test): one
 * thread, epoll, non-blocking sockets; a 220 banner, a canned reply to
 * each command line (EHLO, HELO, LHLO, MAIL, RCPT, RSET, NOOP 250; DATA
 * 354; QUIT 221 and close; anything else 502), and in a message the scan
 * for "\r\n.\r\n" across reads, then 250. One read per readable event
 * into a 64 KB buffer (smtpstorm-sink's size), one write per batch of
 * replies (at most 4 KB of them a read: a lock-step client sends one
 * command a reply). No addresses, no dot-unstuffing, no sizes, no dumps,
 * no counters beyond the total of messages, no TLS: what is left is the system calls and the parsing no sink can skip, so
 * its user time is the floor of any lock-step sink.
 *
 * The scan looks for '.' with memchr and checks the CR LF on each side,
 * the cheapest search glibc offers: smtp-source's text has no '.' but
 * the end of data, so a message costs one memchr a read.
 *
 * It prints "N messages" when it exits: on SIGTERM or SIGINT, or once it
 * has seen MESSAGES ends of data (0: no limit) and its last connection
 * has closed (the last QUIT gets its 221). A connection's errors close
 * that connection (a port probe is one); the others end the program.
 *
 * usage: floor-sink HOST PORT MESSAGES */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define FLOOR_IN_SIZE  (64 * 1024)
#define FLOOR_OUT_SIZE 4096         /* replies of one read; more is an error */

struct floor_conn {
    int fd;
    int want_write;                 /* EPOLLOUT registered: a write would have blocked */
    int data;                       /* in a message: in[] keeps the last 4 octets read */
    int quit;                       /* QUIT answered: close once the 221 is out */
    size_t in_len, out_off, out_len;
    char in[FLOOR_IN_SIZE];
    char out[FLOOR_OUT_SIZE];
};

static const char banner[] = "220 floor.test ESMTP\r\n", ok[] = "250 ok\r\n", go[] = "354 go\r\n",
                  bye[] = "221 bye\r\n", what[] = "502 what\r\n";
static long messages_max, messages_done;
static int open_conns, ep;
static volatile sig_atomic_t stop;

static void die(const char *what_failed)
{
    perror(what_failed);
    exit(1);
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int reply(struct floor_conn *c, const char *p, size_t n)
{
    if (c->out_len + n > sizeof(c->out))
        return -1;
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return 0;
}

/* command - the canned reply to one line; -1 when the replies overflow. */
static int command(struct floor_conn *c, const char *line, size_t len)
{
    uint32_t verb = 0;

#define VERB(s) ((uint32_t)(uint8_t)(s)[0] | (uint32_t)(uint8_t)(s)[1] << 8 \
                 | (uint32_t)(uint8_t)(s)[2] << 16 | (uint32_t)(uint8_t)(s)[3] << 24)
    if (len >= 4)
        verb = VERB(line) | 0x20202020u;    /* lower case (one load: the compiler sees it) */
    if (verb == VERB("mail") || verb == VERB("rcpt") || verb == VERB("ehlo") || verb == VERB("helo")
        || verb == VERB("lhlo") || verb == VERB("rset") || verb == VERB("noop"))
        return reply(c, ok, sizeof(ok) - 1);
    if (verb == VERB("data")) {
        c->data = 1;
        return reply(c, go, sizeof(go) - 1);
    }
    if (verb == VERB("quit")) {
        c->quit = 1;
        return reply(c, bye, sizeof(bye) - 1);
    }
    return reply(c, what, sizeof(what) - 1);
#undef VERB
}

/* eod - where "\r\n.\r\n" ends in in[from..len), the CR LF before it
 * possibly in in[from-2..from); 0 when not there yet. */
static size_t eod(const char *in, size_t from, size_t len)
{
    const char *p = in + from, *end = in + len;

    while ((p = memchr(p, '.', (size_t)(end - p))) != NULL && end - p >= 3) {
        if (p[-2] == '\r' && p[-1] == '\n' && p[1] == '\r' && p[2] == '\n')
            return (size_t)(p + 3 - in);
        p++;
    }
    return 0;
}

/* flush - write the replies; 0, 1 when the socket would block, -1 on error. */
static int flush(struct floor_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);

        if (n < 0 && errno == EAGAIN)
            return 1;
        if (n < 0)
            return -1;
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    return 0;
}

/* on_read - one read, every complete line and message end in it, the
 * replies; 0, or -1 when the connection is to close. */
static int on_read(struct floor_conn *c)
{
    ssize_t n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
    size_t pos = 0, end;
    char *nl;

    if (n < 0 && errno == EAGAIN)
        return 0;
    if (n <= 0)
        return -1;
    if (c->quit)                    /* after QUIT: the 221 is waiting to go */
        return 0;
    c->in_len += (size_t)n;
    if (c->data)
        pos = 2;                    /* the 4 octets kept: a '.' at 0 or 1 was checked */
    for (;;) {
        if (c->data) {
            if ((end = eod(c->in, pos, c->in_len)) == 0) {
                memmove(c->in, c->in + c->in_len - 4, 4);
                c->in_len = 4;
                return 0;
            }
            pos = end;
            c->data = 0;
            messages_done++;
            if (reply(c, ok, sizeof(ok) - 1) < 0)
                return -1;
            continue;
        }
        if ((nl = memchr(c->in + pos, '\n', c->in_len - pos)) == NULL)
            break;
        end = (size_t)(nl + 1 - c->in);
        if (command(c, c->in + pos, end - pos) < 0)
            return -1;
        pos = end;                  /* after DATA the line's CR LF stays at pos-2 */
        if (c->quit)
            return 0;
    }
    c->in_len -= pos;
    memmove(c->in, c->in + pos, c->in_len);
    return c->in_len == sizeof(c->in) ? -1 : 0;     /* a line of 64 KB */
}

static void conn_close(struct floor_conn *c)
{
    close(c->fd);
    free(c);
    open_conns--;
}

static void on_accept(int lfd)
{
    struct epoll_event ev = { .events = EPOLLIN };
    struct floor_conn *c;
    int fd;

    while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
        if ((c = malloc(sizeof(*c))) == NULL)
            die("malloc");
        c->fd = fd;
        c->want_write = c->data = c->quit = 0;
        c->in_len = c->out_off = c->out_len = 0;
        open_conns++;
        reply(c, banner, sizeof(banner) - 1);
        ev.data.ptr = c;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
            die("epoll_ctl");
        if (flush(c) != 0)          /* 22 octets do not wait: a probe went away */
            conn_close(c);
    }
    if (errno != EAGAIN && errno != ECONNABORTED && errno != EINTR)
        die("accept4");
}

int main(int argc, char **argv)
{
    static struct epoll_event events[64];
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    struct sockaddr_in sin = { .sin_family = AF_INET };
    struct sigaction sa = { .sa_handler = on_signal };
    sigset_t block, unblocked;
    int lfd, one = 1;

    if (argc != 4 || inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1 || atoi(argv[2]) < 1
        || (messages_max = atol(argv[3])) < 0) {
        fprintf(stderr, "usage: floor-sink HOST PORT MESSAGES\n");
        return 2;
    }
    sin.sin_port = htons((uint16_t)atoi(argv[2]));
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    if (sigprocmask(SIG_BLOCK, &block, &unblocked) < 0)
        die("sigprocmask");
    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
        die("sigaction");
    if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0)
        die("socket");
    if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
        die("setsockopt");
    if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
        die("bind");
    if (listen(lfd, 256) < 0)
        die("listen");
    if ((ep = epoll_create1(0)) < 0)
        die("epoll_create1");
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
        die("epoll_ctl");
    /* SIGTERM is taken only inside epoll_pwait: none is lost between a
     * check of stop and the wait. */
    while (!stop && !(messages_max > 0 && messages_done >= messages_max && open_conns == 0)) {
        int n = epoll_pwait(ep, events, 64, -1, &unblocked);

        if (n < 0 && errno != EINTR)
            die("epoll_pwait");
        for (int i = 0; i < n; i++) {
            struct floor_conn *c = events[i].data.ptr;
            int w;

            if (c == NULL) {
                on_accept(lfd);
                continue;
            }
            if ((events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && on_read(c) < 0) {
                conn_close(c);
                continue;
            }
            if ((w = flush(c)) < 0 || (w == 0 && c->quit)) {
                conn_close(c);
                continue;
            }
            if (w != c->want_write) {
                c->want_write = w;
                ev.events = EPOLLIN | (w ? EPOLLOUT : 0);
                ev.data.ptr = c;
                if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
                    die("epoll_ctl");
            }
        }
    }
    printf("%ld messages\n", messages_done);
    return 0;
}
