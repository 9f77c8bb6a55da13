/* zmq-floor.c - the least the coordinator's ZeroMQ traffic costs, for
 * bench/cluster-scale to measure against (not a tool, not a test): a
 * ROUTER that takes every message and sends each peer one small frame
 * every BEAT_S seconds (the coordinator's heartbeat; default 1), nothing
 * decoded, nothing kept; and a load of N DEALERs sending M frames of B
 * octets a second each, spread evenly over the second (since wire version
 * 5 a running agent's one progress report, which carries its heartbeat).
 * What the ROUTER's process spends is libzmq's and the kernel's cost of
 * that traffic: the floor under any coordinator receiving it.
 *
 * usage: zmq-floor router ENDPOINT SECONDS [BEAT_S]
 *        zmq-floor load ENDPOINT PEERS MSGS_PER_PEER_PER_S OCTETS SECONDS
 * The router prints what it received and its CPU time (getrusage). */
#include "fdlimit.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <zmq.h>

#define FLOOR_PEERS_MAX  20000
#define FLOOR_ROUTE_MAX  256        /* ZeroMQ routing ids are 1..255 octets */
#define FLOOR_BEAT_OCTETS 40        /* about a Heartbeat envelope's size */
#define FLOOR_TICK_MS    10
#define FLOOR_PER_IO_THREAD 256     /* the load's peers a ZeroMQ I/O thread carries */

struct route {
    uint8_t id[FLOOR_ROUTE_MAX];
    size_t len;
};

/* ZMTP heartbeats as lib/zlink sets them: the DEALERs ping every second,
 * or every PING_MS (the timeout 3 pings, no TTL), the ROUTER never pings. FLOOR_ZMTP_BEATS=both in
 * the environment sets what zlink set before: both ends pinging, with a
 * 3 s TTL, which costs the ROUTER a linear scan of its timers a message. */
static int floor_both_beat;
static int floor_ping_ms = 1000;    /* the load's PING_MS: as peerlink for the peers' dead-man switch */

static int floor_beats(void *sock, int router)
{
    int ivl = floor_ping_ms, timeout = 3 * floor_ping_ms, ttl = floor_both_beat ? 3000 : 0;

    if (router && !floor_both_beat)
        return zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &(int){ 0 }, sizeof(int)) != 0 ? -1 : 0;
    return zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &ivl, sizeof(ivl)) != 0
        || zmq_setsockopt(sock, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof(timeout)) != 0
        || zmq_setsockopt(sock, ZMQ_HEARTBEAT_TTL, &ttl, sizeof(ttl)) != 0 ? -1 : 0;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6
        + (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* A new routing id into the table (linear probing over a hash of it);
 * the table holds at most FLOOR_PEERS_MAX. */
static void routes_note(struct route *table, size_t cap, size_t *n, const uint8_t *id, size_t len)
{
    uint64_t h = 14695981039346656037ULL;
    size_t i;

    for (i = 0; i < len; i++)
        h = (h ^ id[i]) * 1099511628211ULL;
    for (i = (size_t)h & (cap - 1); table[i].len; i = (i + 1) & (cap - 1))
        if (table[i].len == len && memcmp(table[i].id, id, len) == 0)
            return;
    if (*n >= FLOOR_PEERS_MAX)
        return;
    memcpy(table[i].id, id, len);
    table[i].len = len;
    (*n)++;
}

static int router(const char *ep, double seconds, double beat_s)
{
    size_t cap = 2 * 32768, n = 0, i;
    struct route *table = calloc(cap, sizeof(*table));
    uint64_t msgs = 0, octets = 0;
    uint8_t beat[FLOOR_BEAT_OCTETS] = { 0 };
    void *ctx = zmq_ctx_new(), *sock = ctx ? zmq_socket(ctx, ZMQ_ROUTER) : NULL;
    double t0, next_beat, end, c0;
    zmq_msg_t id, body;
    int more, hwm = 10000;          /* the coordinator's ROUTER's (coordinator/bind.c) */
    size_t ml;

    if (table == NULL || sock == NULL || zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof(hwm)) != 0
        || zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof(hwm)) != 0 || floor_beats(sock, 1) != 0
        || zmq_bind(sock, ep) != 0) {
        fprintf(stderr, "zmq-floor: router on %s: %s\n", ep, zmq_strerror(errno));
        return 1;
    }
    t0 = now_s();
    c0 = cpu_s();
    next_beat = t0 + beat_s;
    end = t0 + seconds;
    while (now_s() < end) {
        zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };
        double wait = next_beat - now_s();

        if (zmq_poll(&it, 1, wait > 0 ? (long)(wait * 1000) + 1 : 0) > 0) {
            for (;;) {              /* everything there is now */
                zmq_msg_init(&id);
                if (zmq_msg_recv(&id, sock, ZMQ_DONTWAIT) < 0) {
                    zmq_msg_close(&id);
                    break;
                }
                zmq_msg_init(&body);
                if (zmq_msg_recv(&body, sock, ZMQ_DONTWAIT) >= 0) {
                    msgs++;
                    octets += zmq_msg_size(&body);
                    routes_note(table, cap, &n, zmq_msg_data(&id), zmq_msg_size(&id));
                }
                ml = sizeof(more);
                while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &ml) == 0 && more
                       && zmq_msg_recv(&body, sock, ZMQ_DONTWAIT) >= 0)
                    ;
                zmq_msg_close(&body);
                zmq_msg_close(&id);
            }
        }
        if (now_s() >= next_beat) {
            for (i = 0; i < cap; i++)
                if (table[i].len && zmq_send(sock, table[i].id, table[i].len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
                    (void)zmq_send(sock, beat, sizeof(beat), ZMQ_DONTWAIT);
            next_beat += beat_s;
        }
    }
    printf("router: %zu peers, %llu messages, %llu octets in %.1f s: CPU %.3f s\n", n,
           (unsigned long long)msgs, (unsigned long long)octets, now_s() - t0, cpu_s() - c0);
    fflush(stdout);
    free(table);
    (void)zmq_setsockopt(sock, ZMQ_LINGER, &(int){ 0 }, sizeof(int));     /* beats to peers gone */
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return 0;
}

static int load(const char *ep, size_t peers, double per_peer, size_t octets, double seconds)
{
    void *ctx = zmq_ctx_new(), **socks = calloc(peers, sizeof(*socks));
    uint8_t *frame = calloc(1, octets ? octets : 1), sink[64];
    double t0, end, rate = per_peer * (double)peers;
    uint64_t sent = 0, due;
    char err[512];
    int zero = 0;
    size_t i, k;

    if (ctx == NULL || socks == NULL || frame == NULL)
        return 1;
    if (fdlimit_raise(2 * (uint64_t)peers + FDLIMIT_SPARE, "the load's peers", err, sizeof(err)) != 0) {
        fprintf(stderr, "zmq-floor: %s\n", err);
        return 1;
    }
    (void)zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, (int)peers + 16);
    (void)zmq_ctx_set(ctx, ZMQ_IO_THREADS, (int)(peers / FLOOR_PER_IO_THREAD + 1));   /* as simpeer */
    for (i = 0; i < peers; i++) {
        if ((socks[i] = zmq_socket(ctx, ZMQ_DEALER)) == NULL
            || zmq_setsockopt(socks[i], ZMQ_LINGER, &zero, sizeof(zero)) != 0 || floor_beats(socks[i], 0) != 0
            || zmq_connect(socks[i], ep) != 0) {
            fprintf(stderr, "zmq-floor: peer %zu: %s\n", i, zmq_strerror(errno));
            return 1;
        }
    }
    t0 = now_s();
    end = t0 + seconds;
    for (k = 0; now_s() < end; k++) {
        due = (uint64_t)(rate * (now_s() - t0));
        for (; sent < due; sent++)
            (void)zmq_send(socks[sent % peers], frame, octets, ZMQ_DONTWAIT);
        if (k % (1000 / FLOOR_TICK_MS) == 0)        /* the router's beats, once a second */
            for (i = 0; i < peers; i++)
                while (zmq_recv(socks[i], sink, sizeof(sink), ZMQ_DONTWAIT) >= 0)
                    ;
        nanosleep(&(struct timespec){ 0, FLOOR_TICK_MS * 1000000L }, NULL);
    }
    for (i = 0; i < peers; i++)
        zmq_close(socks[i]);
    free(socks);
    free(frame);
    zmq_ctx_term(ctx);
    return 0;
}

int main(int argc, char **argv)
{
    const char *beats = getenv("FLOOR_ZMTP_BEATS");

    floor_both_beat = beats != NULL && strcmp(beats, "both") == 0;
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "router") == 0) {
        double beat_s = argc == 5 ? atof(argv[4]) : 1;

        if (!(beat_s >= 0.01)) {
            fprintf(stderr, "zmq-floor: BEAT_S at least 0.01\n");
            return 2;
        }
        return router(argv[2], atof(argv[3]), beat_s);
    }
    if ((argc == 7 || argc == 8) && strcmp(argv[1], "load") == 0) {
        size_t peers = strtoul(argv[3], NULL, 10);

        if (peers < 1 || peers > FLOOR_PEERS_MAX) {
            fprintf(stderr, "zmq-floor: PEERS from 1 to %d\n", FLOOR_PEERS_MAX);
            return 2;
        }
        if (argc == 8 && ((floor_ping_ms = atoi(argv[7])) < 100 || floor_ping_ms > 60000)) {
            fprintf(stderr, "zmq-floor: PING_MS from 100 to 60000\n");
            return 2;
        }
        return load(argv[2], peers, atof(argv[4]), strtoul(argv[5], NULL, 10), atof(argv[6]));
    }
    fprintf(stderr, "usage: zmq-floor router ENDPOINT SECONDS [BEAT_S]\n"
                    "       zmq-floor load ENDPOINT PEERS MSGS_PER_PEER_PER_S OCTETS SECONDS [PING_MS]\n");
    return 2;
}
