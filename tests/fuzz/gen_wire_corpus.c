/* gen_wire_corpus.c - write fuzz_wire's seed corpus: valid envelopes of
 * every message type and short conversations (hello, heartbeats,
 * progress, done, sink counters), each frame as fuzz_wire reads it:
 * [route][length, 2 octets little-endian][frame].
 * Usage: gen_wire_corpus DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

static FILE *out;

static void put(uint8_t route, Smtpstorm__Envelope *env, uint32_t version)
{
    uint8_t *buf, head[3];
    size_t len;

    if (wire_encode(env, &buf, &len) != 0 || len > 0xffff)
        exit(1);
    if (version != WIRE_VERSION) {      /* re-pack claiming another version */
        free(buf);
        env->version = version;
        len = smtpstorm__envelope__get_packed_size(env);
        buf = malloc(len);
        smtpstorm__envelope__pack(env, buf);
    }
    head[0] = route;
    head[1] = (uint8_t)(len & 0xff);
    head[2] = (uint8_t)(len >> 8);
    fwrite(head, 1, 3, out);
    fwrite(buf, 1, len, out);
    free(buf);
}

static void open_file(const char *dir, const char *name)
{
    char path[1024];

    if (out)
        fclose(out);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((out = fopen(path, "wb")) == NULL) {
        perror(path);
        exit(1);
    }
}

static void hello(uint8_t route, const char *id, Smtpstorm__Role role, uint32_t version)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__Hello h = SMTPSTORM__HELLO__INIT;

    h.id = (char *)id;
    h.host = "host.example";
    h.cores = 4;
    h.version = "0.1.0";
    h.role = role;
    h.clock_ns = 1700000000000000000ull;
    h.pid = 4242;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_HELLO;
    env.hello = &h;
    put(route, &env, version);
}

static void beat(uint8_t route, const char *campaign)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__Heartbeat hb = SMTPSTORM__HEARTBEAT__INIT;

    hb.sender_ns = 1700000000200000000ull;
    hb.echo_ns = 1700000000100000000ull;
    hb.held_ns = 1000000;
    hb.campaign = (char *)campaign;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    put(route, &env, WIRE_VERSION);
}

static Smtpstorm__Progress *progress(struct wire_progress_store *st, const char *campaign, uint64_t seq,
                                     uint64_t accepted)
{
    struct load_stats s;
    static struct wire_seconds_store *sst;
    static struct stats_second rows[2];
    static struct hist lat;
    struct wire_seconds sec = { 0 };
    struct wire_progress_meta m = { .campaign = campaign, .seq = seq, .elapsed_ns = seq * 1000000000ull, .cpu_ns = 5000000, .sessions_active = 3 };
    uint64_t i;

    /* two event-time rows, the second with a latency histogram */
    if (sst == NULL && (sst = wire_seconds_store_new(1)) == NULL)
        exit(1);
    hist_init(&lat);
    hist_record(&lat, 1500);
    rows[0] = (struct stats_second){ .t = (uint32_t)seq, .attempted = accepted / 2, .accepted = accepted / 2 };
    rows[1] = (struct stats_second){ .t = (uint32_t)seq + 1, .attempted = 1, .accepted = 1, .sessions_active = 3 };
    sec.closed = (uint32_t)seq + 2;
    sec.n = 2;
    sec.rows[0] = &rows[0];
    sec.rows[1] = &rows[1];
    sec.messages[1] = &lat;
    sec.before.accepted = accepted;
    sec.total.accepted = accepted + 1;
    sec.last_ns = seq * 1000000000ull;
    m.seconds = wire_seconds_fill(sst, &sec);

    stats_init(&s);
    s.sessions = 3;
    s.messages_attempted = accepted + 1;
    s.messages_accepted = accepted;
    s.messages_rejected = 1;
    s.recipients = accepted;
    s.bytes = accepted * 400;
    s.errors = 1;
    s.errors_by_kind[ERROR_TIMEOUT] = 1;
    s.replies[250] = accepted;
    s.replies[451] = 1;
    for (i = 0; i < accepted; i++) {
        hist_record(&s.latency[PHASE_MESSAGE], 1000 + i * 37);
        hist_record(&s.latency[PHASE_DOT], 200 + i);
    }
    return wire_progress_fill(st, &s, &m);
}

static void send_progress(uint8_t route, struct wire_progress_store *st, const char *campaign,
                          uint64_t seq, uint64_t accepted)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;

    env.body_case = SMTPSTORM__ENVELOPE__BODY_PROGRESS;
    env.progress = progress(st, campaign, seq, accepted);
    put(route, &env, WIRE_VERSION);
}

static void send_done(uint8_t route, struct wire_progress_store *st, const char *campaign, uint64_t accepted)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__Done d = SMTPSTORM__DONE__INIT;

    d.campaign = (char *)campaign;
    d.final = progress(st, campaign, 99, accepted);
    d.status = "";
    env.body_case = SMTPSTORM__ENVELOPE__BODY_DONE;
    env.done = &d;
    put(route, &env, WIRE_VERSION);
}

static void send_counters(uint8_t route, const char *campaign, const char *agent, uint64_t received)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__SinkCounters sc = SMTPSTORM__SINK_COUNTERS__INIT;
    Smtpstorm__CampaignCounters cc = SMTPSTORM__CAMPAIGN_COUNTERS__INIT, *ccp = &cc;
    Smtpstorm__AgentReceived ar = SMTPSTORM__AGENT_RECEIVED__INIT, *arp = &ar;
    static struct wire_hist_store hs;
    struct hist h;
    uint64_t i;

    hist_init(&h);
    for (i = 0; i < received; i++)
        hist_record(&h, 500 + i * 11);
    ar.agent = (char *)agent;
    ar.received = received;
    ar.duplicates = 1;
    cc.campaign = (char *)campaign;
    cc.received = received;
    cc.duplicates = 1;
    cc.bytes = received * 420;
    cc.agents = &arp;
    cc.n_agents = 1;
    cc.delivery = wire_hist_fill(&hs, &h, PHASE_DELIVERY);
    sc.seq = received;
    sc.sessions = 2;
    sc.messages = received + 2;
    sc.untraced = 2;
    sc.campaigns = &ccp;
    sc.n_campaigns = 1;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_SINK_COUNTERS;
    env.sink_counters = &sc;
    put(route, &env, WIRE_VERSION);
}

static void send_workload(uint8_t route, const char *campaign)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__Workload w = SMTPSTORM__WORKLOAD__INIT;
    Smtpstorm__Phase ph = SMTPSTORM__PHASE__INIT, *php = &ph;
    char *targets[] = { "127.0.0.1:2525", "unix:/tmp/sink.sock" };
    static const char content[] = "Subject: hi\n\n.\nbody\n";

    w.campaign = (char *)campaign;
    w.targets = targets;
    w.n_targets = 2;
    w.messages = 1000;
    w.sessions = 8;
    w.seq_first = 1;
    w.seq_stride = 3;
    w.rate_milli = 100000;
    w.pipelining = 1;
    w.auth = "user:pass";
    w.from = "a@example";
    w.content.data = (uint8_t *)content;
    w.content.len = sizeof(content) - 1;
    w.helo_name = "client";
    w.subject = "s";
    w.to = "b@example";
    w.recipients = 2;
    w.reset_retries = 1;
    ph.kind = SMTPSTORM__PHASE__KIND__RAMP;
    ph.duration_ms = 5000;
    ph.rate_milli = 50000;
    w.phases = &php;
    w.n_phases = 1;
    env.body_case = SMTPSTORM__ENVELOPE__BODY_WORKLOAD;
    env.workload = &w;
    put(route, &env, WIRE_VERSION);
}

static void send_small(uint8_t route, Smtpstorm__Envelope__BodyCase which, const char *campaign)
{
    Smtpstorm__Envelope env = SMTPSTORM__ENVELOPE__INIT;
    Smtpstorm__Ready r = SMTPSTORM__READY__INIT;
    Smtpstorm__Start s = SMTPSTORM__START__INIT;
    Smtpstorm__PeerOffset po = SMTPSTORM__PEER_OFFSET__INIT, *pop = &po;
    Smtpstorm__Stop st = SMTPSTORM__STOP__INIT;
    Smtpstorm__Error e = SMTPSTORM__ERROR__INIT;

    env.body_case = which;
    switch (which) {
    case SMTPSTORM__ENVELOPE__BODY_READY:
        r.campaign = (char *)campaign;
        env.ready = &r;
        break;
    case SMTPSTORM__ENVELOPE__BODY_START:
        s.campaign = (char *)campaign;
        s.start_ns = 1700000001000000000ull;
        s.offset_ns = -12345;
        po.id = "a1";
        po.offset_ns = 777;
        s.agents = &pop;
        s.n_agents = 1;
        env.start = &s;
        break;
    case SMTPSTORM__ENVELOPE__BODY_STOP:
        st.campaign = (char *)campaign;
        st.reason = "interrupted";
        env.stop = &st;
        break;
    default:
        e.code = SMTPSTORM__ERROR__CODE__REFUSED;
        e.text = "target not allowed";
        e.campaign = (char *)campaign;
        env.body_case = SMTPSTORM__ENVELOPE__BODY_ERROR;
        env.error = &e;
        break;
    }
    put(route, &env, WIRE_VERSION);
}

int main(int argc, char **argv)
{
    struct wire_progress_store *st = wire_progress_store_new();
    const char *dir = argc > 1 ? argv[1] : ".", *camp = "c-20240101T000000-1";

    open_file(dir, "hello");
    hello(1, "a1", SMTPSTORM__ROLE__ROLE_AGENT, WIRE_VERSION);
    open_file(dir, "hello-other-version");
    hello(1, "oldie", SMTPSTORM__ROLE__ROLE_AGENT, 2);
    open_file(dir, "workload");
    send_workload(0, camp);
    open_file(dir, "ready");
    send_small(0, SMTPSTORM__ENVELOPE__BODY_READY, camp);
    open_file(dir, "start");
    send_small(0, SMTPSTORM__ENVELOPE__BODY_START, camp);
    open_file(dir, "stop");
    send_small(0, SMTPSTORM__ENVELOPE__BODY_STOP, camp);
    open_file(dir, "error");
    send_small(0, SMTPSTORM__ENVELOPE__BODY_ERROR, camp);
    open_file(dir, "heartbeat");
    beat(0, camp);
    open_file(dir, "progress");
    send_progress(0, st, camp, 1, 5);
    open_file(dir, "done");
    send_done(0, st, camp, 7);
    open_file(dir, "sink-counters");
    send_counters(0, camp, "a1", 6);
    /* conversations */
    open_file(dir, "conv-agent");
    hello(1, "a1", SMTPSTORM__ROLE__ROLE_AGENT, WIRE_VERSION);
    beat(1, "");
    send_progress(1, st, camp, 1, 3);
    send_progress(1, st, camp, 2, 9);
    send_progress(1, st, camp, 1, 2);          /* late: ignored */
    send_done(1, st, camp, 10);
    open_file(dir, "conv-cluster");
    hello(1, "a1", SMTPSTORM__ROLE__ROLE_AGENT, WIRE_VERSION);
    hello(2, "a2", SMTPSTORM__ROLE__ROLE_AGENT, WIRE_VERSION);
    hello(3, "s1", SMTPSTORM__ROLE__ROLE_SINK, WIRE_VERSION);
    send_progress(1, st, camp, 1, 4);
    send_progress(2, st, camp, 1, 5);
    send_counters(3, camp, "a1", 4);
    beat(3, camp);
    send_counters(3, camp, "a2", 5);
    send_done(2, st, camp, 6);
    open_file(dir, "conv-garbage");
    hello(1, "a1", SMTPSTORM__ROLE__ROLE_AGENT, WIRE_VERSION);
    send_workload(1, camp);                     /* wrong type for a coordinator */
    send_progress(1, st, "old-campaign", 5, 100); /* a replayed old campaign */
    send_progress(4, st, camp, 1, 1);           /* no hello on this route */
    fclose(out);
    wire_progress_store_free(st);
    return 0;
}
