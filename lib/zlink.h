/* zlink.h - one ZeroMQ socket of the control plane inside a lib/ev loop,
 * shared by the coordinator (ROUTER, bound), agents and sinks (DEALER,
 * connecting): bounded inbound size, ZMTP heartbeats, reconnection, linger,
 * and frames of the wrong shape counted and dropped.
 *
 * Loop integration: the socket's ZMQ_FD is watched for reading in the
 * (level-triggered) loop; it only signals "ZMQ_EVENTS may have changed", so
 * every wake-up drains messages while ZMQ_EVENTS says POLLIN (at most
 * ZLINK_BATCH per round, then a zero-delay timer continues), and every send
 * arms the same timer because a send can consume the signal. No thread. */
#ifndef SMTPSTORM_ZLINK_H
#define SMTPSTORM_ZLINK_H

#include <stddef.h>
#include <stdint.h>

#include "ev.h"
#include "keys.h"
#include "wire.h"

#define ZLINK_PEER_MAX      256     /* ZeroMQ routing ids are 1..255 octets */
#define ZLINK_BATCH         256     /* messages handled per loop round */
#define ZLINK_ENDPOINT_MAX  512

enum zlink_type { ZLINK_ROUTER, ZLINK_DEALER };

struct zlink_opts {
    enum zlink_type type;
    const char *endpoint;           /* tcp://127.0.0.1:7400, tcp://[::1]:7400, ipc:///path */
    int bind;                       /* 1: bind (coordinator), 0: connect */
    int heartbeat_ms;               /* DEALER: ZMTP PING interval; 0: 1000 (a ROUTER never pings) */
    int heartbeat_timeout_ms;       /* DEALER: drop a silent connection after; 0: 3 * heartbeat_ms */
    int hwm;                        /* send and receive high-water marks; 0: 1000 */
    int linger_ms;                  /* how long close waits for unsent messages; -1: 0 */
    int immediate;                  /* DEALER: queue only on live connections */
    int gather_ms;                  /* wait this long after input is signalled before reading
                                     * it, so that one pass reads what many peers sent (a
                                     * coordinator's thousands of agents); 0: read at once */
    /* CURVE (RFC 26). All NULL: no CURVE, and then an endpoint that is not
     * loopback (zlink_endpoint_loopback) is refused unless insecure. */
    const struct keys_secret *curve_key;    /* own key pair; ROUTER: the CURVE server */
    const uint8_t *curve_server_key;        /* DEALER: the server's public key (KEYS_BYTES) */
    int insecure;                   /* allow a non-loopback endpoint without CURVE */
};

struct zlink;

/* Called for each well-formed message: peer is the routing id (ROUTER) or
 * NULL (DEALER); data is the payload. Both are valid during the call only.
 * The callback may send, but must not close z. */
typedef void zlink_recv_fn(struct zlink *z, const uint8_t *peer, size_t peerlen,
                           const uint8_t *data, size_t len, void *arg);

/* zlink_open - create, configure and bind or connect one socket in ctx and
 * watch it in loop (both must outlive the result; opts is read here only).
 * The caller owns the result, valid until zlink_close. On error
 * returns NULL with a message for the user in err; a non-loopback endpoint
 * without curve_key (and without insecure) is such an error. A ROUTER with
 * curve_key admits every client key unless a ZAP handler (zap.h) is bound
 * in ctx: open that first. */
struct zlink *zlink_open(void *ctx, struct ev_loop *loop, const struct zlink_opts *opts,
                         zlink_recv_fn *fn, void *arg, char *err, size_t errlen);

/* zlink_endpoint_loopback - nonzero when ep cannot leave this host:
 * tcp://127.x.x.x:..., tcp://[::1]:..., tcp://localhost:..., ipc://...,
 * inproc://... Anything else (the wildcard address, an interface name,
 * another host, a source;destination pair, other transports) is 0. */
int zlink_endpoint_loopback(const char *ep);

/* zlink_send - queue one message (to peer, for a ROUTER: 1 to
 * ZLINK_PEER_MAX - 1 octets; NULL for a DEALER) without waiting; data is
 * copied. Returns 0, -EAGAIN (queue full or, with immediate, not connected),
 * -EHOSTUNREACH (ROUTER: no such peer now) or another -errno. */
int zlink_send(struct zlink *z, const uint8_t *peer, size_t peerlen, const void *data, size_t len);

/* zlink_send_env - encode env (wire_encode) and zlink_send it; same returns. */
int zlink_send_env(struct zlink *z, const uint8_t *peer, size_t peerlen, Smtpstorm__Envelope *env);

/* zlink_handshakes_failed - a ROUTER's connections whose ZMTP or CURVE
 * handshake failed (garbage, a wrong key, a key ZAP refused) since open;
 * 0 for a DEALER or NULL. */
uint64_t zlink_handshakes_failed(const struct zlink *z);

/* zlink_disconnects - a ROUTER's connections closed since open: peers
 * leaving, and connections libzmq dropped for a frame over twice
 * WIRE_MSG_MAX (it gives no other sign of those); 0 for a DEALER or NULL. */
uint64_t zlink_disconnects(const struct zlink *z);

/* zlink_oversize - frames over WIRE_MSG_MAX dropped since open (a ROUTER
 * reads them up to twice that size to count them). */
uint64_t zlink_oversize(const struct zlink *z);

/* zlink_user - during a zlink_recv_fn call, the user id the ZAP handler
 * gave the sender's connection (zap.h: the name of its authorized key);
 * NULL outside a call or when no handler authenticated it (no CURVE). The
 * string stays valid until the callback returns. */
const char *zlink_user(const struct zlink *z);

/* zlink_malformed - frames dropped for their shape (wrong part count, empty
 * routing id) since open. Undecodable payloads are the caller's to count. */
uint64_t zlink_malformed(const struct zlink *z);

/* zlink_endpoint - the endpoint actually bound or connected (a bound
 * tcp://...:0 shows its port); storage inside z, valid until zlink_close(z). */
const char *zlink_endpoint(const struct zlink *z);

/* zlink_close - stop watching, close the socket (lingering as configured)
 * and free z; NULL is harmless. */
void zlink_close(struct zlink *z);

#endif
