/* tls.h - the OpenSSL server context behind STARTTLS (--tls-cert,
 * --tls-key): loaded once, shared read-only by every loop. */
#ifndef SMTPSTORM_SINK_TLS_H
#define SMTPSTORM_SINK_TLS_H

#include <stddef.h>

struct tls_server;

/* tls_server_new - load cert and key; NULL with a message in err on
 * failure. The caller owns the result (tls_server_free). */
struct tls_server *tls_server_new(const char *cert, const char *key, char *err, size_t errlen);

/* tls_server_free - release it (after every SSL made from it). */
void tls_server_free(struct tls_server *t);

/* tls_server_ctx - t's SSL_CTX, for transport_tls_accept; owned by t,
 * valid until tls_server_free. */
void *tls_server_ctx(const struct tls_server *t);

#endif
