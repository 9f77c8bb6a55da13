/* zgarbage.c - hostile input for the coordinator's two ZeroMQ endpoints,
 * for tests/coordinator/test_zmq_garbage.py: random frames on both,
 * frames over ZMQ_MAXMSGSIZE, a valid Progress without hello, valid
 * messages of the wrong type (Workload, Start, Stop) and a replay of an
 * old campaign's Progress and Done from a peer that said hello. Prints
 * "counted N" (what the coordinator must count as dropped) and
 * "oversized N" (frames libzmq refuses: the connection is dropped).
 *
 *   zgarbage --control EP --sinks EP --old-campaign ID [--seed N] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "wire.h"

#define RANDOM_CONTROL  20
#define RANDOM_SINKS    10
#define OVERSIZED       2

static uint32_t rng = 2463534242u;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void *dealer(void *ctx, const char *ep)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, timeout = 3000;

    if (s == NULL || zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero)) != 0
        || zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof(timeout)) != 0
        || zmq_connect(s, ep) != 0) {
        fprintf(stderr, "zgarbage: cannot connect to %s: %s\n", ep, zmq_strerror(zmq_errno()));
        exit(1);
    }
    return s;
}

/* send_env - encode and send; 1 when sent. */
static int send_env(void *s, Smtpstorm__Envelope *env)
{
    uint8_t *buf;
    size_t len;
    int ok;

    if (wire_encode(env, &buf, &len) != 0)
        exit(1);
    ok = zmq_send(s, buf, len, 0) == (int)len;
    free(buf);
    return ok;
}

/* random_frames - n frames of random octets (never a valid envelope:
 * the first octet is not a protobuf tag the Envelope accepts). */
static int random_frames(void *s, int n)
{
    uint8_t buf[256];
    int i, sent = 0;
    size_t len, j;

    for (i = 0; i < n; i++) {
        len = 1 + rnd() % sizeof(buf);
        for (j = 0; j < len; j++)
            buf[j] = (uint8_t)rnd();
        buf[0] = 0xff;          /* field 31, wire type 7: undecodable */
        sent += zmq_send(s, buf, len, 0) == (int)len;
    }
    return sent;
}

static void progress_env(Smtpstorm__Envelope *env, Smtpstorm__Progress *p, const char *campaign,
                         uint64_t seq)
{
    smtpstorm__progress__init(p);
    p->campaign = (char *)campaign;
    p->seq = seq;
    p->sessions = 5;
    p->messages_attempted = p->messages_accepted = 1000000;   /* would spoil the totals */
    p->recipients = 1000000;
    env->body_case = SMTPSTORM__ENVELOPE__BODY_PROGRESS;
    env->progress = p;
}

/* replayer - say hello as a stale agent, then send what a coordinator
 * must drop: wrong types and an old campaign's reports. */
static int replayer(void *ctx, const char *ep, const char *old)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__Hello h = SMTPSTORM__HELLO__INIT;
    Smtpstorm__Workload w = SMTPSTORM__WORKLOAD__INIT;
    Smtpstorm__Start st = SMTPSTORM__START__INIT;
    Smtpstorm__Stop sp = SMTPSTORM__STOP__INIT;
    Smtpstorm__Done d = SMTPSTORM__DONE__INIT;
    Smtpstorm__Progress p;
    char *targets[] = { "127.0.0.1:25" };
    char welcome[4096];
    void *s = dealer(ctx, ep);
    int sent = 0;
    uint64_t seq;

    h.id = "stale-agent";
    h.host = "replay.example";
    h.cores = 1;
    h.version = "0.0.1";
    h.role = SMTPSTORM__ROLE__ROLE_AGENT;
    h.pid = 1;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_HELLO;
    env.hello = &h;
    send_env(s, &env);
    if (zmq_recv(s, welcome, sizeof(welcome), 0) < 0) {     /* the welcome heartbeat */
        fprintf(stderr, "zgarbage: no welcome from %s\n", ep);
        exit(1);
    }
    w.campaign = (char *)old;
    w.targets = targets;
    w.n_targets = 1;
    w.seq_stride = 1;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_WORKLOAD;
    env.workload = &w;
    sent += send_env(s, &env);
    st.campaign = (char *)old;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_START;
    env.start = &st;
    sent += send_env(s, &env);
    sp.campaign = (char *)old;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_STOP;
    env.stop = &sp;
    sent += send_env(s, &env);
    for (seq = 1; seq <= 3; seq++) {
        progress_env(&env, &p, old, seq);
        sent += send_env(s, &env);
    }
    progress_env(&env, &p, old, 4);
    d.campaign = (char *)old;
    d.final = env.progress;
    d.status = "";
    env.body_case = SMTPSTORM__ENVELOPE__BODY_DONE;
    env.done = &d;
    sent += send_env(s, &env);
    zmq_close(s);
    return sent;
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        { "control", 1, NULL, 'c' }, { "sinks", 1, NULL, 's' }, { "old-campaign", 1, NULL, 'o' },
        { "seed", 1, NULL, 'r' }, { NULL, 0, NULL, 0 },
    };
    const char *control = NULL, *sinks = NULL, *old = NULL;
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__Progress p;
    void *ctx, *a, *b, *big;
    int opt, counted = 0, oversized = 0, i;
    size_t biglen = WIRE_MSG_MAX + 4096;
    char *bigbuf;

    while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (opt) {
        case 'c': control = optarg; break;
        case 's': sinks = optarg; break;
        case 'o': old = optarg; break;
        case 'r': rng = (uint32_t)strtoul(optarg, NULL, 10) | 1; break;
        default: return 2;
        }
    }
    if (control == NULL || sinks == NULL || old == NULL) {
        fprintf(stderr, "usage: zgarbage --control EP --sinks EP --old-campaign ID [--seed N]\n");
        return 2;
    }
    ctx = zmq_ctx_new();
    a = dealer(ctx, control);
    b = dealer(ctx, sinks);
    counted += random_frames(a, RANDOM_CONTROL);
    counted += random_frames(b, RANDOM_SINKS);
    progress_env(&env, &p, old, 9);                 /* valid, but no hello on this connection */
    counted += send_env(a, &env);
    counted += replayer(ctx, control, old);
    big = dealer(ctx, control);                     /* over ZMQ_MAXMSGSIZE: libzmq hangs up */
    if ((bigbuf = calloc(1, biglen)) == NULL)
        return 1;
    for (i = 0; i < OVERSIZED; i++)
        oversized += zmq_send(big, bigbuf, biglen, 0) == (int)biglen;
    free(bigbuf);
    {
        int linger = 2000;      /* let the frames leave before we close */

        zmq_setsockopt(a, ZMQ_LINGER, &linger, sizeof(linger));
        zmq_setsockopt(b, ZMQ_LINGER, &linger, sizeof(linger));
        zmq_setsockopt(big, ZMQ_LINGER, &linger, sizeof(linger));
    }
    zmq_close(a);
    zmq_close(b);
    zmq_close(big);
    zmq_ctx_term(ctx);
    printf("counted %d\noversized %d\n", counted, oversized);
    return 0;
}
