/* floor-source.c - the least a lock-step SMTP source must do, for
 * bench/agent-vs-postfix to measure against (not a tool, not a test): N
 * sessions on kept connections, each message MAIL, RCPT, DATA and a
 * preformatted 5 KB body with headers, one write per command, one read
 * per reply, epoll. No latency, no counters beyond the total, no
 * formatting per message: what is left is the system calls and the
 * parsing no client can skip, so its user time is the floor of any.
 *
 * With --pipelining (RFC 2920, as smtpstorm-agent --pipelining does it):
 * EHLO, then MAIL, RCPT and DATA in one write; at the 354, the body, its
 * end of data and the next message's MAIL, RCPT and DATA in one write (or
 * QUIT after the last): one write and one read a message, the least a
 * DATA dialogue allows, whatever the client.
 *
 * usage: floor-source [--pipelining] HOST PORT SESSIONS MESSAGES */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define FLOOR_SESSIONS_MAX 1024
#define FLOOR_BODY_LINES   63       /* 63 lines of 80 octets: smtp-source -l 5000 */

enum step { BANNER, HELO, MAIL, RCPT, DATA, DOT, QUIT, DONE };

struct floor_session {
    int fd;
    int want_write;                 /* EPOLLOUT registered: a write would have blocked */
    enum step step;
    int chained;                    /* --pipelining: the next envelope went with the end of data */
    const char *out;                /* what is left to write */
    size_t out_len;
    char in[1024];
    size_t in_len;
};

static const char helo[] = "HELO floor.test\r\n", mail[] = "MAIL FROM:<f@floor.test>\r\n",
                  rcpt[] = "RCPT TO:<r@floor.test>\r\n", data[] = "DATA\r\n", quit[] = "QUIT\r\n";
static const char ehlo[] = "EHLO floor.test\r\n", envelope[] = "MAIL FROM:<f@floor.test>\r\n"
                  "RCPT TO:<r@floor.test>\r\nDATA\r\n";
static char body[FLOOR_BODY_LINES * 80 + 512];
static size_t body_len;
static char body_then_envelope[sizeof(body) + sizeof(envelope)], body_then_quit[sizeof(body) + sizeof(quit)];
static size_t body_then_envelope_len, body_then_quit_len;
static long messages_left, messages_done;
static int pipelining;

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void make_body(void)
{
    size_t n = (size_t)snprintf(body, sizeof(body),
                                "From: <f@floor.test>\r\nTo: <r@floor.test>\r\n"
                                "Date: Wed,  2 Dec 2026 13:49:04 +0000 (UTC)\r\n"
                                "Message-Id: <0001.0002.0003@floor.test>\r\n\r\n");

    for (int i = 0; i < FLOOR_BODY_LINES; i++) {
        body[n] = (char)('0' + i % 10);
        memset(body + n + 1, 'X', 77);
        memcpy(body + n + 78, "\r\n", 2);
        n += 80;
    }
    memcpy(body + n, ".\r\n", 3);
    body_len = n + 3;
    memcpy(body_then_envelope, body, body_len);
    memcpy(body_then_envelope + body_len, envelope, sizeof(envelope) - 1);
    body_then_envelope_len = body_len + sizeof(envelope) - 1;
    memcpy(body_then_quit, body, body_len);
    memcpy(body_then_quit + body_len, quit, sizeof(quit) - 1);
    body_then_quit_len = body_len + sizeof(quit) - 1;
}

static void queue(struct floor_session *s, const char *p, size_t n)
{
    s->out = p;
    s->out_len = n;
}

/* flush - write what the socket takes; 0, or -1 when it waits. */
static int flush(struct floor_session *s)
{
    while (s->out_len > 0) {
        ssize_t n = write(s->fd, s->out, s->out_len);

        if (n < 0 && errno == EAGAIN)
            return -1;
        if (n < 0)
            die("write");
        s->out += n;
        s->out_len -= (size_t)n;
    }
    return 0;
}

/* next_message - the next message's first write (cmd: MAIL alone, or
 * the pipelined envelope), or QUIT when none is left. */
static void next_message(struct floor_session *s, const char *cmd, size_t len)
{
    if (messages_left > 0) {
        messages_left--;
        queue(s, cmd, len);
        s->step = MAIL;
    } else {
        queue(s, quit, sizeof(quit) - 1);
        s->step = QUIT;
    }
}

/* next_pipelined - one reply ended, with --pipelining: the next group
 * goes at the EHLO reply and at each 354; other replies only move on. */
static void next_pipelined(struct floor_session *s)
{
    switch (s->step) {
    case BANNER: queue(s, ehlo, sizeof(ehlo) - 1); s->step = HELO; return;
    case HELO: next_message(s, envelope, sizeof(envelope) - 1); return;
    case MAIL: s->step = RCPT; return;
    case RCPT: s->step = DATA; return;
    case DATA:
        s->chained = messages_left > 0;
        if (s->chained) {
            messages_left--;
            queue(s, body_then_envelope, body_then_envelope_len);
        } else {
            queue(s, body_then_quit, body_then_quit_len);
        }
        s->step = DOT;
        return;
    case DOT: messages_done++; s->step = s->chained ? MAIL : QUIT; return;
    case QUIT: s->step = DONE; return;
    case DONE: return;
    }
}

/* next - one reply ended: the next command. */
static void next(struct floor_session *s, int code)
{
    if (code >= 400)
        fprintf(stderr, "floor-source: reply %d\n", code), exit(1);
    if (pipelining) {
        next_pipelined(s);
        return;
    }
    switch (s->step) {
    case BANNER: queue(s, helo, sizeof(helo) - 1); s->step = HELO; return;
    case HELO:
    case DOT:
        if (s->step == DOT)
            messages_done++;
        next_message(s, mail, sizeof(mail) - 1);
        return;
    case MAIL: queue(s, rcpt, sizeof(rcpt) - 1); s->step = RCPT; return;
    case RCPT: queue(s, data, sizeof(data) - 1); s->step = DATA; return;
    case DATA: queue(s, body, body_len); s->step = DOT; return;
    case QUIT: s->step = DONE; return;
    case DONE: return;
    }
}

/* on_read - read and act on every complete reply (last line "ddd "). */
static void on_read(struct floor_session *s)
{
    ssize_t n = read(s->fd, s->in + s->in_len, sizeof(s->in) - s->in_len);
    char *line = s->in, *end;

    if (n < 0 && errno == EAGAIN)
        return;
    if (n <= 0) {
        if (s->step == QUIT)
            s->step = DONE;
        else
            fprintf(stderr, "floor-source: connection lost\n"), exit(1);
        return;
    }
    s->in_len += (size_t)n;
    while ((end = memchr(line, '\n', s->in_len - (size_t)(line - s->in))) != NULL) {
        if (end - line >= 4 && line[3] == ' ')
            next(s, atoi(line));
        line = end + 1;
    }
    s->in_len -= (size_t)(line - s->in);
    memmove(s->in, line, s->in_len);
    if (s->in_len == sizeof(s->in))
        fprintf(stderr, "floor-source: reply line too long\n"), exit(1);
}

int main(int argc, char **argv)
{
    static struct floor_session sessions[FLOOR_SESSIONS_MAX];
    struct epoll_event ev, events[64];
    struct sockaddr_in sin = { .sin_family = AF_INET };
    int ep, nsessions, open_sessions;

    if (argc > 1 && strcmp(argv[1], "--pipelining") == 0) {
        pipelining = 1;
        argv++;
        argc--;
    }
    if (argc != 5 || inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1
        || (nsessions = atoi(argv[3])) < 1 || nsessions > FLOOR_SESSIONS_MAX
        || (messages_left = atol(argv[4])) < 1) {
        fprintf(stderr, "usage: floor-source [--pipelining] HOST PORT SESSIONS MESSAGES\n");
        return 2;
    }
    sin.sin_port = htons((uint16_t)atoi(argv[2]));
    make_body();
    if ((ep = epoll_create1(0)) < 0)
        die("epoll_create1");
    for (int i = 0; i < nsessions; i++) {
        struct floor_session *s = &sessions[i];

        if ((s->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
            die("socket");
        if (connect(s->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
            die("connect");
        if (fcntl(s->fd, F_SETFL, O_NONBLOCK) < 0)
            die("fcntl");
        ev.events = EPOLLIN;
        ev.data.ptr = s;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) < 0)
            die("epoll_ctl");
    }
    open_sessions = nsessions;
    while (open_sessions > 0) {
        int n = epoll_wait(ep, events, 64, -1);

        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct floor_session *s = events[i].data.ptr;

            if (s->step == DONE)
                continue;
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                on_read(s);
            if (s->step != DONE && (flush(s) < 0) != s->want_write) {
                s->want_write = !s->want_write;
                ev.events = EPOLLIN | (s->want_write ? EPOLLOUT : 0);
                ev.data.ptr = s;
                if (epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev) < 0)
                    die("epoll_ctl");
            }
            if (s->step == DONE) {
                close(s->fd);
                open_sessions--;
            }
        }
    }
    printf("%ld messages\n", messages_done);
    return 0;
}
