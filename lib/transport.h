/* transport.h - the byte transport under an SMTP session, client or
 * server: a non-blocking socket, optionally wrapped in TLS after STARTTLS
 * (OpenSSL), in the spirit of wrk's struct sock. Used by the agent's
 * sessions (client handshake) and the sink's connections (server
 * handshake). Reads and writes never block; they say what they wait for.
 * OpenSSL types stay out of this header: a context or SSL is a void *. */
#ifndef SMTPSTORM_TRANSPORT_H
#define SMTPSTORM_TRANSPORT_H

#include <errno.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#define TRANSPORT_ETLS (-EPROTO)    /* a TLS failure (handshake, certificate, record) */

struct transport {
    int fd;                     /* -1 when closed */
    void *ssl;                  /* SSL * once TLS started, else NULL */
    int tls_want_write;         /* TLS waits for the socket to be writable */
};

/* transport_client_ctx_new - a client SSL_CTX for STARTTLS, shared
 * read-only by every session and thread. verify 0: no certificate check
 * (the default of smtp-source-like load tools); 1: check the chain against
 * cafile (or the system store when NULL) and the name. The caller owns
 * *ctx (transport_ctx_free). Returns 0 or -EINVAL with a message in err. */
int transport_client_ctx_new(void **ctx, int verify, const char *cafile, char *err, size_t errlen);

/* transport_ctx_free - release an SSL_CTX (after every transport that
 * uses it is closed); NULL is harmless. */
void transport_ctx_free(void *ctx);

/* transport_init - take ownership of the connected socket fd (or -1: a
 * closed transport, for transport_close's sake). */
void transport_init(struct transport *t, int fd);

/* transport_tls_connect - begin a TLS client handshake over t (open, not
 * yet TLS) with ctx, naming host (may be NULL) for SNI and verification.
 * Returns 0 or TRANSPORT_ETLS (err says why). */
int transport_tls_connect(struct transport *t, void *ctx, const char *host, char *err, size_t errlen);

/* A client's latest TLS session with a server (its ticket), offered again
 * on the next connection: --tls-resume. Used by one thread at a time;
 * starts zeroed, ends with transport_resume_free. */
struct transport_resume {
    void *session;              /* SSL_SESSION *, or NULL: none yet */
};

/* transport_client_ctx_resume - let ctx's connections keep the sessions
 * the servers give them (in the transport_resume each was offered with).
 * Returns 0, or TRANSPORT_ETLS (err says why). */
int transport_client_ctx_resume(void *ctx, char *err, size_t errlen);

/* transport_tls_offer - after transport_tls_connect, before the handshake:
 * offer r's session to the server, and keep what the server gives in r.
 * r must outlive the connection's TLS. Returns 0 or TRANSPORT_ETLS. */
int transport_tls_offer(struct transport *t, struct transport_resume *r, char *err, size_t errlen);

/* transport_tls_resumed - nonzero when t's finished handshake resumed a
 * session instead of a full handshake. */
int transport_tls_resumed(const struct transport *t);

/* transport_resume_free - release r's session. */
void transport_resume_free(struct transport_resume *r);

/* transport_tls_accept - begin a TLS server handshake over t (open, not
 * yet TLS) with the server SSL_CTX ctx (certificate and key loaded).
 * Returns 0 or TRANSPORT_ETLS (err says why). */
int transport_tls_accept(struct transport *t, void *ctx, char *err, size_t errlen);

/* transport_tls_handshake - advance the handshake begun by
 * transport_tls_connect or _accept: 1 when done, 0 while it waits for the
 * socket (see tls_want_write), TRANSPORT_ETLS or -errno on failure (err
 * says why). */
int transport_tls_handshake(struct transport *t, char *err, size_t errlen);

/* transport_read - read up to len octets: the count, 0 at end of stream,
 * -EAGAIN when nothing is there yet, TRANSPORT_ETLS or -errno on failure. */
ssize_t transport_read(struct transport *t, char *buf, size_t len);

/* transport_pending - octets TLS has decrypted but transport_read not yet
 * returned (the socket no longer signals them); 0 without TLS. */
int transport_pending(const struct transport *t);

/* transport_writev - write as much of iov as the socket takes: the count
 * written, -EAGAIN when none, TRANSPORT_ETLS or -errno on failure. */
ssize_t transport_writev(struct transport *t, const struct iovec *iov, int iovcnt);

/* transport_write - transport_writev of one buffer; more nonzero: more
 * follows at once (MSG_MORE on a plain socket, so that a close's FIN can
 * share the segment; no effect under TLS). */
ssize_t transport_write(struct transport *t, const void *buf, size_t len, int more);

/* transport_tls_error - describe the last TLS error of this thread into
 * err (for diagnostics) and clear OpenSSL's error queue. */
void transport_tls_error(char *err, size_t errlen);

/* transport_close - end TLS (without waiting) and close the socket;
 * harmless on a closed transport. */
void transport_close(struct transport *t);

#endif
