/* zap.c - a ZAP handler (RFC 27) admitting CURVE clients by public key,
 * driven by a lib/ev loop through ZMQ_FD and ZMQ_EVENTS (see zap.h). */
#include "zap.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define ZAP_VERSION     "1.0"   /* RFC 27 */
#define ZAP_PARTS       7       /* version, id, domain, address, identity, mechanism, key */
#define ZAP_PARTS_MAX   16      /* read and dropped past this */
#define ZAP_FIELD_MAX   256     /* request id, domain, address kept at most this long */
#define ZAP_BATCH       64      /* requests answered per loop round */

struct zap {
    void *sock;
    int fd;
    struct ev_loop *loop;
    struct ev_timer recheck;
    const struct keys_ring *ring;
    uint64_t refused, admitted;
    uint8_t (*seen)[KEYS_BYTES];    /* refused keys already warned about */
    size_t n_seen;
};

/* One request as read: fixed copies of the frames we look at. */
struct zap_request {
    int parts;
    char version[16], id[ZAP_FIELD_MAX], domain[ZAP_FIELD_MAX], address[ZAP_FIELD_MAX];
    char mechanism[16];
    size_t id_len;
    uint8_t key[KEYS_BYTES];
    size_t key_len;
};

/* Copy a frame as text: printable ASCII only, '?' for the rest, truncated. */
static void zap_text(char *dst, size_t cap, const zmq_msg_t *m)
{
    const unsigned char *s = zmq_msg_data((zmq_msg_t *)m);
    size_t i, n = zmq_msg_size((zmq_msg_t *)m);

    if (n >= cap)
        n = cap - 1;
    for (i = 0; i < n; i++)
        dst[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
    dst[n] = '\0';
}

static void zap_take(struct zap_request *q, int index, zmq_msg_t *m)
{
    size_t n = zmq_msg_size(m);

    switch (index) {
    case 0: zap_text(q->version, sizeof(q->version), m); break;
    case 1:
        q->id_len = n < sizeof(q->id) ? n : sizeof(q->id);
        memcpy(q->id, zmq_msg_data(m), q->id_len);     /* echoed as it came */
        break;
    case 2: zap_text(q->domain, sizeof(q->domain), m); break;
    case 3: zap_text(q->address, sizeof(q->address), m); break;
    case 5: zap_text(q->mechanism, sizeof(q->mechanism), m); break;
    case 6:
        q->key_len = n;
        if (n == KEYS_BYTES)
            memcpy(q->key, zmq_msg_data(m), KEYS_BYTES);
        break;
    default: break;
    }
}

/* Read one whole request; 1 when one was read, 0 when none waits, -errno. */
static int zap_read(struct zap *z, struct zap_request *q)
{
    zmq_msg_t m;
    int more = 1;
    size_t len;

    memset(q, 0, sizeof(*q));
    while (more) {
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, z->sock, ZMQ_DONTWAIT) < 0) {
            int rc = errno;

            zmq_msg_close(&m);
            if (q->parts > 0)
                return 1;               /* cannot happen: parts arrive together */
            return rc == EAGAIN ? 0 : -rc;
        }
        if (q->parts < ZAP_PARTS_MAX)
            zap_take(q, q->parts, &m);
        q->parts++;
        len = sizeof(more);
        if (zmq_getsockopt(z->sock, ZMQ_RCVMORE, &more, &len) != 0)
            more = 0;
        zmq_msg_close(&m);
    }
    return 1;
}

static void zap_reply(struct zap *z, const struct zap_request *q, const char *status,
                      const char *text, const char *user)
{
    if (zmq_send(z->sock, ZAP_VERSION, strlen(ZAP_VERSION), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0
        || zmq_send(z->sock, q->id, q->id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0
        || zmq_send(z->sock, status, strlen(status), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0
        || zmq_send(z->sock, text, strlen(text), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0
        || zmq_send(z->sock, user, strlen(user), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0
        || zmq_send(z->sock, "", 0, ZMQ_DONTWAIT) < 0)
        log_error("cannot answer a ZAP request: %s", zmq_strerror(errno));
}

/* Remember key; nonzero when it was new (so worth a warning). */
static int zap_first_refusal(struct zap *z, const uint8_t key[KEYS_BYTES])
{
    size_t i;

    for (i = 0; i < z->n_seen; i++)
        if (memcmp(z->seen[i], key, KEYS_BYTES) == 0)
            return 0;
    if (z->n_seen >= ZAP_REFUSED_KEYS)
        return 0;
    memcpy(z->seen[z->n_seen++], key, KEYS_BYTES);
    return 1;
}

static void zap_decide(struct zap *z, struct zap_request *q)
{
    char z85[KEYS_Z85_LEN + 1];
    const char *name;

    /* An IPv4 peer on a dual-stack socket: say 127.0.0.1, not ::ffff:127.0.0.1. */
    if (strncmp(q->address, "::ffff:", 7) == 0 && strchr(q->address + 7, '.') != NULL)
        memmove(q->address, q->address + 7, strlen(q->address + 7) + 1);

    if (q->parts != ZAP_PARTS || strcmp(q->version, ZAP_VERSION) != 0
        || strcmp(q->mechanism, "CURVE") != 0 || q->key_len != KEYS_BYTES) {
        z->refused++;
        log_warn("refused a peer at %s: not a CURVE handshake (%s, %d parts)", q->address,
                 q->mechanism, q->parts);
        zap_reply(z, q, q->parts >= 2 && strcmp(q->version, ZAP_VERSION) == 0 ? "400" : "500",
                  "CURVE only", "");
        return;
    }
    keys_z85(q->key, z85);
    name = strcmp(q->domain, ZAP_DOMAIN) == 0 ? keys_ring_find(z->ring, q->key) : NULL;
    if (name == NULL) {
        z->refused++;
        if (zap_first_refusal(z, q->key))
            log_warn("refused a peer at %s: its key %s is not in --authorized-keys "
                     "(to admit it, put its NAME.pub file in that directory and start again)",
                     q->address, z85);
        else
            log_debug("refused again: key %s at %s", z85, q->address);
        zap_reply(z, q, "400", "key not authorized", "");
        return;
    }
    z->admitted++;
    log_debug("admitted key %s (%s) from %s", name, z85, q->address);
    zap_reply(z, q, "200", "OK", name);
}

static void zap_pump(struct zap *z)
{
    struct zap_request q;
    int events, n, rc;
    size_t len;

    for (n = 0; n < ZAP_BATCH; n++) {
        len = sizeof(events);
        if (zmq_getsockopt(z->sock, ZMQ_EVENTS, &events, &len) != 0 || !(events & ZMQ_POLLIN))
            return;
        if ((rc = zap_read(z, &q)) <= 0)
            return;
        zap_decide(z, &q);
    }
    ev_timer_start(z->loop, &z->recheck, 0);
}

static void zap_on_fd(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)fd;
    (void)events;
    zap_pump(arg);
}

static void zap_on_recheck(struct ev_loop *loop, void *arg)
{
    (void)loop;
    zap_pump(arg);
}

struct zap *zap_open(void *ctx, struct ev_loop *loop, const struct keys_ring *ring,
                     char *err, size_t errlen)
{
    struct zap *z = calloc(1, sizeof(*z));
    int zero = 0;
    size_t len;

    if (z == NULL || (z->seen = calloc(ZAP_REFUSED_KEYS, sizeof(*z->seen))) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    z->loop = loop;
    z->ring = ring;
    z->fd = -1;
    ev_timer_init(&z->recheck, zap_on_recheck, z);
    if ((z->sock = zmq_socket(ctx, ZMQ_REP)) == NULL
        || zmq_setsockopt(z->sock, ZMQ_LINGER, &zero, sizeof(zero)) != 0) {
        snprintf(err, errlen, "cannot create the ZAP socket: %s", zmq_strerror(errno));
        goto fail;
    }
    if (zmq_bind(z->sock, ZAP_ENDPOINT) != 0) {
        snprintf(err, errlen, "cannot bind the ZAP handler on %s: %s", ZAP_ENDPOINT, zmq_strerror(errno));
        goto fail;
    }
    len = sizeof(z->fd);
    if (zmq_getsockopt(z->sock, ZMQ_FD, &z->fd, &len) != 0
        || ev_io_set(loop, z->fd, EV_READ, zap_on_fd, z) != 0) {
        z->fd = -1;
        snprintf(err, errlen, "cannot watch the ZAP socket");
        goto fail;
    }
    ev_timer_start(loop, &z->recheck, 0);
    return z;

fail:
    zap_close(z);
    return NULL;
}

uint64_t zap_refused(const struct zap *z) { return z ? z->refused : 0; }

uint64_t zap_refused_keys(const struct zap *z) { return z ? z->n_seen : 0; }

uint64_t zap_admitted(const struct zap *z) { return z ? z->admitted : 0; }

void zap_close(struct zap *z)
{
    if (z == NULL)
        return;
    if (z->loop)
        ev_timer_stop(z->loop, &z->recheck);
    if (z->fd >= 0)
        ev_io_del(z->loop, z->fd);
    if (z->sock)
        zmq_close(z->sock);
    free(z->seen);
    free(z);
}
