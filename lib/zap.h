/* zap.h - the coordinator's ZAP handler (ZeroMQ RFC 27): a REP socket bound
 * on inproc://zeromq.zap.01 in the coordinator's ZeroMQ context, serviced in
 * its lib/ev loop (no thread), that admits a CURVE client only when its
 * public key is in an allow-list (keys_load_dir). Every CURVE server socket
 * of that context asks it at each handshake; libzmq admits everyone when no
 * handler is bound, so open this before binding the sockets and close it
 * after them.
 *
 * A refused key is logged as a warning once per key (with the address it
 * came from, in Z85) and at debug level after that; the sockets' owner
 * never sees the peer, so it can never be given work. */
#ifndef SMTPSTORM_ZAP_H
#define SMTPSTORM_ZAP_H

#include <stddef.h>
#include <stdint.h>

#include "ev.h"
#include "keys.h"

#define ZAP_ENDPOINT        "inproc://zeromq.zap.01"    /* RFC 27 */
#define ZAP_DOMAIN          "smtpstorm"     /* set on the server sockets (ZMQ_ZAP_DOMAIN) */
#define ZAP_REFUSED_KEYS    1024            /* distinct refused keys remembered */

struct zap;

/* zap_open - bind the handler in ctx and watch it in loop. ring is the
 * allow-list; it is not copied and must outlive the handler. The caller
 * owns the result (zap_close). NULL on error with the reason in err (e.g.
 * another handler is bound in ctx). */
struct zap *zap_open(void *ctx, struct ev_loop *loop, const struct keys_ring *ring,
                     char *err, size_t errlen);

/* zap_refused - handshakes refused since open (a refused peer retries, so
 * one peer counts many times). */
uint64_t zap_refused(const struct zap *z);

/* zap_refused_keys - distinct public keys refused since open (at most
 * ZAP_REFUSED_KEYS are told apart; more count as that many). */
uint64_t zap_refused_keys(const struct zap *z);

/* zap_admitted - handshakes admitted since open. */
uint64_t zap_admitted(const struct zap *z);

/* zap_close - stop watching, close the socket, free z; NULL is harmless. */
void zap_close(struct zap *z);

#endif
