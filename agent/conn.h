/* conn.h - the byte transport under one agent session: a non-blocking
 * socket, optionally wrapped in TLS after STARTTLS (OpenSSL). Reads and
 * writes never block; they say what they wait for. */
#ifndef SMTPSTORM_AGENT_CONN_H
#define SMTPSTORM_AGENT_CONN_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#define CONN_ETLS (-EPROTO)     /* a TLS failure (handshake, certificate, record) */

struct conn {
    int fd;                     /* -1 when closed */
    void *ssl;                  /* SSL * once TLS started, else NULL */
    int tls_want_write;         /* TLS waits for the socket to be writable */
};

/* tls_ctx_new - a client SSL_CTX for STARTTLS, shared read-only by every
 * session and thread. verify 0: no certificate check (the default of
 * smtp-source-like load tools); 1: check the chain against cafile (or the
 * system store when NULL) and the name. The caller owns *ctx
 * (tls_ctx_free). Returns 0 or -EINVAL with a message in err. */
int tls_ctx_new(void **ctx, int verify, const char *cafile, char *err, size_t errlen);

/* tls_ctx_free - release a context from tls_ctx_new; NULL is harmless. */
void tls_ctx_free(void *ctx);

/* conn_init - take ownership of the connected socket fd. */
void conn_init(struct conn *c, int fd);

/* conn_tls_start - begin a TLS client handshake over c with ctx, naming
 * host for SNI and verification. Returns 0 or CONN_ETLS (err says why). */
int conn_tls_start(struct conn *c, void *ctx, const char *host, char *err, size_t errlen);

/* conn_tls_handshake - advance the handshake: 1 when done, 0 while it
 * waits for the socket (see tls_want_write), CONN_ETLS or -errno on
 * failure (err says why). */
int conn_tls_handshake(struct conn *c, char *err, size_t errlen);

/* conn_read - read up to len octets: the count, 0 at end of stream,
 * -EAGAIN when nothing is there yet, CONN_ETLS or -errno on failure. */
ssize_t conn_read(struct conn *c, char *buf, size_t len);

/* conn_pending - octets TLS has decrypted but conn_read not yet returned. */
int conn_pending(const struct conn *c);

/* conn_writev - write as much of iov as the socket takes: the count
 * written, -EAGAIN when none, CONN_ETLS or -errno on failure. */
ssize_t conn_writev(struct conn *c, const struct iovec *iov, int iovcnt);

/* conn_tls_error - describe the last TLS error into err (for diagnostics). */
void conn_tls_error(char *err, size_t errlen);

/* conn_close - end TLS (without waiting) and close the socket. */
void conn_close(struct conn *c);

#endif
