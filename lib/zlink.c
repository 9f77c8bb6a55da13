/* zlink.c - a ZeroMQ ROUTER or DEALER socket driven by a lib/ev loop
 * through ZMQ_FD and ZMQ_EVENTS (see zlink.h). */
#include "zlink.h"
#include "log.h"
#include "zap.h"

#include <assert.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zmq.h>

struct zlink {
    void *sock;
    int fd;
    enum zlink_type type;
    struct ev_loop *loop;
    struct ev_timer recheck;    /* zero-delay: drain again after a send or a full batch */
    uint64_t gather_ns;         /* zlink_opts.gather_ms */
    int gathering;              /* the fd is not watched until the pending read drains */
    zlink_recv_fn *fn;
    void *arg;
    uint64_t malformed;
    const char *user;           /* the message being delivered's ZAP user id, or NULL */
    char endpoint[ZLINK_ENDPOINT_MAX];
    void *mon;                  /* handshake events (PAIR): a CURVE DEALER's, a ROUTER's; else NULL */
    int mon_fd;
    int mon_said;               /* a handshake failure logged since the last success */
    uint64_t handshakes_failed; /* ROUTER: connections whose handshake failed */
    uint64_t disconnects;       /* ROUTER: connections closed (by either side, or for a bad frame) */
    uint64_t oversize;          /* frames over WIRE_MSG_MAX dropped */
};

/* Handshake outcomes a CURVE client reports, and a ROUTER counts
 * (zmq_socket_monitor); a ROUTER counts its closed connections too. */
#define ZLINK_MON_EVENTS (ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH \
                          | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
#define ZLINK_MON_ROUTER_EVENTS (ZLINK_MON_EVENTS | ZMQ_EVENT_DISCONNECTED)

static int zlink_setopt_int(void *sock, int opt, int value)
{
    return zmq_setsockopt(sock, opt, &value, sizeof(value));
}

static int zlink_curve(struct zlink *z, const struct zlink_opts *o)
{
    const struct keys_secret *k = o->curve_key;

    if (k == NULL)
        return 0;
    if (z->type == ZLINK_ROUTER)
        return zmq_setsockopt(z->sock, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN)) != 0
            || zlink_setopt_int(z->sock, ZMQ_CURVE_SERVER, 1) != 0
            || zmq_setsockopt(z->sock, ZMQ_CURVE_SECRETKEY, k->secret_key, KEYS_BYTES) != 0 ? -errno : 0;
    return zmq_setsockopt(z->sock, ZMQ_CURVE_SERVERKEY, o->curve_server_key, KEYS_BYTES) != 0
        || zmq_setsockopt(z->sock, ZMQ_CURVE_PUBLICKEY, k->public_key, KEYS_BYTES) != 0
        || zmq_setsockopt(z->sock, ZMQ_CURVE_SECRETKEY, k->secret_key, KEYS_BYTES) != 0 ? -errno : 0;
}

/* ZMTP heartbeats: a DEALER pings every second and reconnects when its
 * server is silent for the timeout; a ROUTER never pings, and a DEALER asks
 * for no TTL. libzmq arms a timer on the server's connection for either,
 * and cancels it on every message received there by a linear scan of all
 * its I/O thread's timers (poller_base_t::cancel_timer in libzmq 4.3): with
 * 5,000 agents each message cost a scan of some 10,000 timers
 * (bench/zmq-floor, 5,000 peers: 99% of a core with them, 20% without).
 * A ROUTER's dead connections are the kernel's to find (TCP keepalive);
 * whether a peer is alive is the application heartbeats' to say. */
#define ZLINK_KEEPALIVE_IDLE_S  10
#define ZLINK_KEEPALIVE_INTVL_S 2
#define ZLINK_KEEPALIVE_CNT     3

static int zlink_heartbeats(struct zlink *z, const struct zlink_opts *o)
{
    int hb = o->heartbeat_ms > 0 ? o->heartbeat_ms : 1000;
    int hb_timeout = o->heartbeat_timeout_ms > 0 ? o->heartbeat_timeout_ms : 3 * hb;

    if (z->type == ZLINK_ROUTER)
        return zlink_setopt_int(z->sock, ZMQ_HEARTBEAT_IVL, 0) != 0
            || zlink_setopt_int(z->sock, ZMQ_TCP_KEEPALIVE, 1) != 0
            || zlink_setopt_int(z->sock, ZMQ_TCP_KEEPALIVE_IDLE, ZLINK_KEEPALIVE_IDLE_S) != 0
            || zlink_setopt_int(z->sock, ZMQ_TCP_KEEPALIVE_INTVL, ZLINK_KEEPALIVE_INTVL_S) != 0
            || zlink_setopt_int(z->sock, ZMQ_TCP_KEEPALIVE_CNT, ZLINK_KEEPALIVE_CNT) != 0 ? -errno : 0;
    return zlink_setopt_int(z->sock, ZMQ_HEARTBEAT_IVL, hb) != 0
        || zlink_setopt_int(z->sock, ZMQ_HEARTBEAT_TIMEOUT, hb_timeout) != 0
        || zlink_setopt_int(z->sock, ZMQ_HEARTBEAT_TTL, 0) != 0 ? -errno : 0;
}

static int zlink_configure(struct zlink *z, const struct zlink_opts *o)
{
    /* a ROUTER reads frames up to twice the limit, to count and drop those
     * over it (zlink_oversize); libzmq hangs up on larger ones */
    int64_t maxmsg = z->type == ZLINK_ROUTER ? 2 * (int64_t)WIRE_MSG_MAX : WIRE_MSG_MAX;
    int hwm = o->hwm > 0 ? o->hwm : 1000;

    if (zmq_setsockopt(z->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) != 0
        || zlink_setopt_int(z->sock, ZMQ_LINGER, o->linger_ms > 0 ? o->linger_ms : 0) != 0
        || zlink_setopt_int(z->sock, ZMQ_SNDHWM, hwm) != 0
        || zlink_setopt_int(z->sock, ZMQ_RCVHWM, hwm) != 0
        || zlink_setopt_int(z->sock, ZMQ_IPV6, 1) != 0
        || zlink_heartbeats(z, o) != 0
        || zlink_setopt_int(z->sock, ZMQ_RECONNECT_IVL, 100) != 0
        || zlink_setopt_int(z->sock, ZMQ_RECONNECT_IVL_MAX, 2000) != 0)
        return -errno;
    if (z->type == ZLINK_ROUTER && zlink_setopt_int(z->sock, ZMQ_ROUTER_MANDATORY, 1) != 0)
        return -errno;
    if (z->type == ZLINK_DEALER && o->immediate && zlink_setopt_int(z->sock, ZMQ_IMMEDIATE, 1) != 0)
        return -errno;
    return zlink_curve(z, o);
}

/* Read one whole multipart message; returns parts read (0: nothing), or
 * -errno. Keeps at most two parts in msgs; the rest are read and dropped. */
static int zlink_recv_parts(struct zlink *z, zmq_msg_t msgs[2])
{
    zmq_msg_t extra;
    int parts = 0, more;
    size_t morelen;

    for (;;) {
        zmq_msg_t *m = parts < 2 ? &msgs[parts] : &extra;

        zmq_msg_init(m);
        if (zmq_msg_recv(m, z->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(m);
            return parts > 0 ? parts : (errno == EAGAIN ? 0 : -errno);
        }
        parts++;
        more = 0;
        morelen = sizeof(more);
        if (zmq_getsockopt(z->sock, ZMQ_RCVMORE, &more, &morelen) != 0)
            more = 0;
        if (m == &extra)
            zmq_msg_close(m);
        if (!more)
            return parts;
    }
}

static void zlink_deliver(struct zlink *z, zmq_msg_t msgs[2], int parts)
{
    int want = z->type == ZLINK_ROUTER ? 2 : 1;
    zmq_msg_t *body = &msgs[want - 1];

    if (parts != want || (want == 2 && zmq_msg_size(&msgs[0]) == 0)) {
        z->malformed++;
        return;
    }
    if (zmq_msg_size(body) > WIRE_MSG_MAX) {
        z->oversize++;
        return;
    }
    z->user = zmq_msg_gets(body, "User-Id");   /* NULL when no ZAP handler named one */
    z->fn(z, want == 2 ? zmq_msg_data(&msgs[0]) : NULL, want == 2 ? zmq_msg_size(&msgs[0]) : 0,
          zmq_msg_data(body), zmq_msg_size(body), z->arg);
    z->user = NULL;
}

/* Say why a CURVE client is not getting through, once per failure streak:
 * otherwise a refused agent would wait in silence. */
static void zlink_monitor_event(struct zlink *z, uint16_t event, uint32_t value)
{
    if (z->type == ZLINK_ROUTER) {      /* a server counts; its clients say why themselves */
        if (event == ZMQ_EVENT_DISCONNECTED)
            z->disconnects++;
        else if (event != ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            z->handshakes_failed++;
        return;
    }
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        if (z->mon_said)
            log_info("CURVE handshake with %s now succeeds", z->endpoint);
        z->mon_said = 0;
        return;
    }
    if (z->mon_said)
        return;
    z->mon_said = 1;
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        log_error("the coordinator at %s refused this program's key (ZAP status %u): its NAME.pub "
                  "must be in the coordinator's --authorized-keys directory; retrying", z->endpoint,
                  (unsigned)value);
    else
        log_error("CURVE handshake with %s failed: is --coordinator-key that coordinator's NAME.pub, "
                  "and does it run with --key? retrying", z->endpoint);
}

static void zlink_monitor_pump(struct zlink *z)
{
    zmq_msg_t m;
    uint16_t event;
    uint32_t value;
    int events, more, n;
    size_t len;

    for (n = 0; z->mon != NULL && n < ZLINK_BATCH; n++) {
        len = sizeof(events);
        if (zmq_getsockopt(z->mon, ZMQ_EVENTS, &events, &len) != 0 || !(events & ZMQ_POLLIN))
            return;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, z->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        event = 0;
        if (zmq_msg_size(&m) == sizeof(event) + sizeof(value)) {  /* ZMQ_EVENT frame: event, value */
            memcpy(&event, zmq_msg_data(&m), sizeof(event));
            memcpy(&value, (uint8_t *)zmq_msg_data(&m) + sizeof(event), sizeof(value));
        }
        do {                    /* then the endpoint frame: we know ours */
            len = sizeof(more);
            if (zmq_getsockopt(z->mon, ZMQ_RCVMORE, &more, &len) != 0)
                more = 0;
            zmq_msg_close(&m);
            zmq_msg_init(&m);
        } while (more && zmq_msg_recv(&m, z->mon, ZMQ_DONTWAIT) >= 0);
        zmq_msg_close(&m);
        if (event)
            zlink_monitor_event(z, event, value);
    }
}

static void zlink_on_fd(struct ev_loop *loop, int fd, unsigned events, void *arg);

/* zlink_drained - nothing more to read: watch the fd again if gathering. */
static void zlink_drained(struct zlink *z)
{
    if (z->gathering) {
        z->gathering = 0;
        (void)ev_io_set(z->loop, z->fd, EV_READ, zlink_on_fd, z);   /* same fd, registered: a MOD */
    }
}

static void zlink_pump(struct zlink *z)
{
    zmq_msg_t msgs[2];
    int events, parts, i, n;
    size_t len;

    zlink_monitor_pump(z);
    for (n = 0; n < ZLINK_BATCH; n++) {
        len = sizeof(events);
        if (zmq_getsockopt(z->sock, ZMQ_EVENTS, &events, &len) != 0 || !(events & ZMQ_POLLIN)) {
            zlink_drained(z);
            return;
        }
        parts = zlink_recv_parts(z, msgs);
        if (parts <= 0) {
            zlink_drained(z);
            return;
        }
        zlink_deliver(z, msgs, parts);
        for (i = 0; i < parts && i < 2; i++)
            zmq_msg_close(&msgs[i]);
    }
    ev_timer_start(z->loop, &z->recheck, 0);
}

/* zlink_on_fd - input may wait. Gathering, the fd is left alone (not
 * watched, not read: libzmq's I/O thread then signals no more) and read
 * once gather_ns later, when many peers' messages wait: one wake-up for
 * them all instead of one each. */
static void zlink_on_fd(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    struct zlink *z = arg;

    (void)fd;
    (void)events;
    if (z->gather_ns == 0) {
        zlink_pump(z);
        return;
    }
    if (!z->gathering) {
        z->gathering = 1;
        (void)ev_io_set(loop, z->fd, 0, zlink_on_fd, z);
        ev_timer_start(loop, &z->recheck, z->gather_ns);
    }
}

static void zlink_on_recheck(struct ev_loop *loop, void *arg)
{
    (void)loop;
    zlink_pump(arg);
}

static void zlink_on_mon_fd(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)fd;
    (void)events;
    zlink_monitor_pump(arg);
}

/* A CURVE client watches its own handshakes, a server its clients', through
 * a PAIR socket. */
static int zlink_monitor(struct zlink *z, void *ctx, char *err, size_t errlen)
{
    char ep[64];
    size_t len = sizeof(z->mon_fd);
    int zero = 0;

    snprintf(ep, sizeof(ep), "inproc://zlink-monitor-%p", (void *)z);
    if (zmq_socket_monitor(z->sock, ep, z->type == ZLINK_ROUTER ? ZLINK_MON_ROUTER_EVENTS : ZLINK_MON_EVENTS) != 0
        || (z->mon = zmq_socket(ctx, ZMQ_PAIR)) == NULL
        || zmq_setsockopt(z->mon, ZMQ_LINGER, &zero, sizeof(zero)) != 0
        || zmq_connect(z->mon, ep) != 0
        || zmq_getsockopt(z->mon, ZMQ_FD, &z->mon_fd, &len) != 0
        || ev_io_set(z->loop, z->mon_fd, EV_READ, zlink_on_mon_fd, z) != 0) {
        z->mon_fd = -1;
        snprintf(err, errlen, "cannot watch the CURVE handshakes: %s", zmq_strerror(errno));
        return -1;
    }
    return 0;
}

static void zlink_monitor_close(struct zlink *z)
{
    if (z->mon_fd >= 0)
        ev_io_del(z->loop, z->mon_fd);
    z->mon_fd = -1;
    if (z->mon != NULL) {
        (void)zmq_socket_monitor(z->sock, NULL, 0);
        zmq_close(z->mon);
        z->mon = NULL;
    }
}

static int zlink_attach(struct zlink *z, const struct zlink_opts *o, char *err, size_t errlen)
{
    size_t len = sizeof(z->endpoint);
    int rc = o->bind ? zmq_bind(z->sock, o->endpoint) : zmq_connect(z->sock, o->endpoint);

    if (rc != 0) {
        snprintf(err, errlen, "cannot %s %s: %s", o->bind ? "bind" : "connect to", o->endpoint,
                 zmq_strerror(errno));
        return -1;
    }
    if (!o->bind || zmq_getsockopt(z->sock, ZMQ_LAST_ENDPOINT, z->endpoint, &len) != 0)
        snprintf(z->endpoint, sizeof(z->endpoint), "%s", o->endpoint);
    len = sizeof(z->fd);
    if (zmq_getsockopt(z->sock, ZMQ_FD, &z->fd, &len) != 0
        || ev_io_set(z->loop, z->fd, EV_READ, zlink_on_fd, z) != 0) {
        snprintf(err, errlen, "cannot watch the ZeroMQ socket of %s", o->endpoint);
        return -1;
    }
    return 0;
}

int zlink_endpoint_loopback(const char *ep)
{
    char host[ZLINK_ENDPOINT_MAX];
    const char *h, *end;
    struct in6_addr a6;
    struct in_addr a4;

    if (strncmp(ep, "ipc://", 6) == 0 || strncmp(ep, "inproc://", 9) == 0)
        return 1;
    if (strncmp(ep, "tcp://", 6) != 0 || strchr(ep, ';') != NULL)
        return 0;
    h = ep + 6;
    if (*h == '[') {
        if ((end = strchr(++h, ']')) == NULL || end[1] != ':')
            return 0;
    } else if ((end = strrchr(h, ':')) == NULL) {
        return 0;
    }
    if ((size_t)(end - h) >= sizeof(host))
        return 0;
    memcpy(host, h, (size_t)(end - h));
    host[end - h] = '\0';
    if (strcasecmp(host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6)
            || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return 0;
}

/* Keys make sense together, and no keys is fine on loopback only. */
static int zlink_check_security(const struct zlink_opts *o, char *err, size_t errlen)
{
    if (o->curve_key != NULL) {
        if (!keys_available())
            return snprintf(err, errlen, "this libzmq was built without CURVE: cannot use keys "
                            "(install a libzmq with libsodium)"), -1;
        if (o->type == ZLINK_DEALER && o->curve_server_key == NULL)
            return snprintf(err, errlen, "a CURVE client needs the server's public key"), -1;
        return 0;
    }
    if (o->curve_server_key != NULL)
        return snprintf(err, errlen, "the server's public key needs our own key pair too"), -1;
    if (o->insecure || zlink_endpoint_loopback(o->endpoint))
        return 0;
    snprintf(err, errlen, "refusing to %s %s without CURVE keys: it is not a loopback address, so "
             "anyone who can reach it could %s; give keys (see docs/security.md), "
             "or --insecure on a network you trust", o->bind ? "bind" : "connect to", o->endpoint,
             o->bind ? "command load" : "impersonate the coordinator");
    return -1;
}

struct zlink *zlink_open(void *ctx, struct ev_loop *loop, const struct zlink_opts *opts,
                         zlink_recv_fn *fn, void *arg, char *err, size_t errlen)
{
    struct zlink *z;

    assert(ctx != NULL && loop != NULL && opts != NULL && opts->endpoint != NULL && fn != NULL);
    if (zlink_check_security(opts, err, errlen) != 0)
        return NULL;
    if ((z = calloc(1, sizeof(*z))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    z->type = opts->type;
    z->loop = loop;
    z->fn = fn;
    z->arg = arg;
    z->fd = -1;
    z->mon_fd = -1;
    z->gather_ns = opts->gather_ms > 0 ? (uint64_t)opts->gather_ms * 1000000u : 0;
    ev_timer_init(&z->recheck, zlink_on_recheck, z);
    z->sock = zmq_socket(ctx, opts->type == ZLINK_ROUTER ? ZMQ_ROUTER : ZMQ_DEALER);
    if (z->sock == NULL) {
        snprintf(err, errlen, "cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
        goto fail;
    }
    if (zlink_configure(z, opts) != 0) {
        snprintf(err, errlen, "cannot configure the ZeroMQ socket: %s", zmq_strerror(errno));
        goto fail;
    }
    if ((opts->type == ZLINK_ROUTER || opts->curve_key != NULL) && zlink_monitor(z, ctx, err, errlen) != 0)
        goto fail;
    if (zlink_attach(z, opts, err, errlen) != 0)
        goto fail;
    /* Messages may already wait (a fast peer): look once without a signal. */
    ev_timer_start(loop, &z->recheck, 0);
    return z;

fail:
    zlink_monitor_close(z);
    if (z->sock != NULL) {
        (void)zlink_setopt_int(z->sock, ZMQ_LINGER, 0);
        zmq_close(z->sock);
    }
    free(z);
    return NULL;
}

int zlink_send(struct zlink *z, const uint8_t *peer, size_t peerlen, const void *data, size_t len)
{
    int rc = 0;

    assert(z != NULL && (data != NULL || len == 0));
    assert(z->type == ZLINK_DEALER ? peer == NULL
           : peer != NULL && peerlen > 0 && peerlen < ZLINK_PEER_MAX);
    if (z->type == ZLINK_ROUTER) {
        if (zmq_send(z->sock, peer, peerlen, ZMQ_DONTWAIT | ZMQ_SNDMORE) < 0)
            rc = -errno;
    }
    if (rc == 0 && zmq_send(z->sock, data, len, ZMQ_DONTWAIT) < 0)
        rc = -errno;
    /* Sending may have consumed the fd's signal for pending input. */
    ev_timer_start(z->loop, &z->recheck, 0);
    return rc;
}

int zlink_send_env(struct zlink *z, const uint8_t *peer, size_t peerlen, Smtpstorm__Envelope *env)
{
    uint8_t *buf;
    size_t len;
    int rc;

    if ((rc = wire_encode(env, &buf, &len)) != 0)
        return rc;
    rc = zlink_send(z, peer, peerlen, buf, len);
    free(buf);
    return rc;
}

uint64_t zlink_malformed(const struct zlink *z) { return z->malformed; }

uint64_t zlink_handshakes_failed(const struct zlink *z) { return z ? z->handshakes_failed : 0; }

uint64_t zlink_disconnects(const struct zlink *z) { return z ? z->disconnects : 0; }

uint64_t zlink_oversize(const struct zlink *z) { return z ? z->oversize : 0; }

const char *zlink_user(const struct zlink *z) { return z->user && z->user[0] ? z->user : NULL; }

const char *zlink_endpoint(const struct zlink *z) { return z->endpoint; }

void zlink_close(struct zlink *z)
{
    if (z == NULL)
        return;
    ev_timer_stop(z->loop, &z->recheck);
    if (z->fd >= 0)
        ev_io_del(z->loop, z->fd);
    zlink_monitor_close(z);
    zmq_close(z->sock);
    free(z);
}
