/* tls-floor - the least an SMTP client or server does per STARTTLS session,
 * for bench/tls-handshakes: blocking sockets, one OpenSSL context (the
 * same library and defaults as the agent and the sink), no event loop,
 * clocks or counters. A session is the agent's default one: banner, EHLO,
 * STARTTLS, the handshake, EHLO again, one small message, QUIT.
 *
 *   tls-floor client HOST PORT SESSIONS     sessions one after another
 *   tls-floor server PORT CERT KEY SESSIONS serves that many, one at a time
 *
 * Not a test and not a tool: every error ends the program (the server
 * does not count a connection closed before QUIT: a port probe). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define LINE_MAX_LEN 1024

static const char message[] =
    "MAIL FROM:<floor@bench.test>\r\n";
static const char body[] =
    "From: <floor@bench.test>\r\nTo: <sink@bench.test>\r\nSubject: floor\r\n\r\nfloor\r\n.\r\n";

static void die(const char *what)
{
    fprintf(stderr, "tls-floor: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

/* A buffered reader over a socket or an SSL. */
struct conn {
    int fd;
    SSL *ssl;
    char buf[4096];
    size_t len, pos;
};

/* conn_fill - read more; -1 at the end of the stream. */
static int conn_fill(struct conn *c)
{
    int n = c->ssl ? SSL_read(c->ssl, c->buf, sizeof(c->buf)) : (int)read(c->fd, c->buf, sizeof(c->buf));

    if (n <= 0)
        return -1;
    c->len = (size_t)n;
    c->pos = 0;
    return 0;
}

/* conn_line - the next line (without CRLF) into out; -1 at the end of
 * the stream. */
static int conn_line(struct conn *c, char *out)
{
    size_t n = 0;

    for (;;) {
        if (c->pos == c->len && conn_fill(c) != 0)
            return -1;
        if (c->buf[c->pos] == '\n') {
            c->pos++;
            break;
        }
        if (n + 1 < LINE_MAX_LEN)
            out[n++] = c->buf[c->pos];
        c->pos++;
    }
    if (n > 0 && out[n - 1] == '\r')
        n--;
    out[n] = '\0';
    return 0;
}

static void conn_send(struct conn *c, const char *s, size_t n)
{
    if (c->ssl ? SSL_write(c->ssl, s, (int)n) != (int)n : write(c->fd, s, n) != (ssize_t)n)
        die("write");
}

/* conn_reply - read one whole reply (its last line into out). */
static void conn_reply(struct conn *c, char *out)
{
    do
        if (conn_line(c, out) != 0)
            die("connection closed");
    while (strlen(out) > 3 && out[3] == '-');
}

static void client_session(SSL_CTX *ctx, const struct sockaddr_in *sa)
{
    struct conn c = { .fd = socket(AF_INET, SOCK_STREAM, 0) };
    char line[LINE_MAX_LEN];

    if (c.fd < 0 || connect(c.fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0)
        die("connect");
    conn_reply(&c, line);
    conn_send(&c, "EHLO floor\r\n", 12);
    conn_reply(&c, line);
    conn_send(&c, "STARTTLS\r\n", 10);
    conn_reply(&c, line);
    if (strncmp(line, "220", 3) != 0 || c.pos != c.len)
        die("STARTTLS refused");
    if ((c.ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c.ssl, c.fd) != 1 || SSL_connect(c.ssl) != 1)
        die("handshake");
    c.len = c.pos = 0;
    conn_send(&c, "EHLO floor\r\n", 12);
    conn_reply(&c, line);
    conn_send(&c, message, sizeof(message) - 1);
    conn_reply(&c, line);
    conn_send(&c, "RCPT TO:<sink@bench.test>\r\n", 27);
    conn_reply(&c, line);
    conn_send(&c, "DATA\r\n", 6);
    conn_reply(&c, line);
    conn_send(&c, body, sizeof(body) - 1);
    conn_reply(&c, line);
    if (strncmp(line, "250", 3) != 0)
        die("message refused");
    conn_send(&c, "QUIT\r\n", 6);
    conn_reply(&c, line);
    SSL_set_shutdown(c.ssl, SSL_SENT_SHUTDOWN);
    SSL_free(c.ssl);
    close(c.fd);
}

/* server_session - serve one connection; 1 when it ended with QUIT, 0
 * when the client went away first (a port probe). */
static int server_session(SSL_CTX *ctx, int lfd)
{
    struct conn c = { .fd = accept(lfd, NULL, NULL) };
    char line[LINE_MAX_LEN];
    int on = 1, in_data = 0, quit = 0;

    if (c.fd < 0)
        die("accept");
    conn_send(&c, "220 floor ESMTP\r\n", 17);
    while (!quit && conn_line(&c, line) == 0) {
        if (in_data) {
            if (strcmp(line, ".") == 0) {
                in_data = 0;
                conn_send(&c, "250 2.0.0 Ok\r\n", 14);
            }
        } else if (strncmp(line, "EHLO", 4) == 0) {
            conn_send(&c, "250-floor\r\n250 STARTTLS\r\n", 25);
        } else if (strcmp(line, "STARTTLS") == 0) {
            conn_send(&c, "220 2.0.0 Ready\r\n", 17);
            if ((c.ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c.ssl, c.fd) != 1 || SSL_accept(c.ssl) != 1)
                die("handshake");
            /* the reply after the tickets must not wait for a delayed ACK */
            (void)setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
            c.len = c.pos = 0;
        } else if (strcmp(line, "DATA") == 0) {
            in_data = 1;
            conn_send(&c, "354 go\r\n", 8);
        } else if (strcmp(line, "QUIT") == 0) {
            conn_send(&c, "221 2.0.0 Bye\r\n", 15);
            quit = 1;
        } else {
            conn_send(&c, "250 2.0.0 Ok\r\n", 14);
        }
    }
    if (c.ssl) {
        SSL_set_shutdown(c.ssl, SSL_SENT_SHUTDOWN);
        SSL_free(c.ssl);
    }
    close(c.fd);
    return quit;
}

static struct sockaddr_in address(const char *host, const char *port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };

    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        die("bad address");
    return sa;
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa;
    SSL_CTX *ctx;
    long i, n;
    int lfd, on = 1;

    if (argc == 5 && strcmp(argv[1], "client") == 0) {
        sa = address(argv[2], argv[3]);
        n = atol(argv[4]);
        if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
            die("context");
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        for (i = 0; i < n; i++)
            client_session(ctx, &sa);
    } else if (argc == 6 && strcmp(argv[1], "server") == 0) {
        sa = address("127.0.0.1", argv[2]);
        n = atol(argv[5]);
        if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL
            || SSL_CTX_use_certificate_chain_file(ctx, argv[3]) != 1
            || SSL_CTX_use_PrivateKey_file(ctx, argv[4], SSL_FILETYPE_PEM) != 1)
            die("certificate");
        if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0
            || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0
            || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 128) != 0)
            die("listen");
        for (i = 0; i < n; i += server_session(ctx, lfd))
            ;
        close(lfd);
    } else {
        fputs("usage: tls-floor client HOST PORT SESSIONS | server PORT CERT KEY SESSIONS\n", stderr);
        return 2;
    }
    SSL_CTX_free(ctx);
    return 0;
}
