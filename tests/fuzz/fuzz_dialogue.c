/* fuzz_dialogue.c - fuzz the agent's SMTP/LMTP client dialogue
 * (agent/dialogue.c) as a server would: any reply bytes, in any split,
 * under any mix of options. The first byte picks the options, the second
 * seeds the read split; the harness acts on every status as the session
 * driver does (a new message when idle, TLS when asked, a new connection
 * after a close or failure). Checks: output stays inside the command
 * buffer or the payload, and every message begun is accounted for once
 * the last connection is gone (attempted = accepted + rejected +
 * unfinished). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dialogue.h"
#include "message.h"
#include "meter.h"
#include "workload.h"

#define FUZZ_JOBS 8             /* messages handed out per input */

struct fuzz_owner {
    int jobs_left;
};

static int take_job(void *arg, struct dialogue_job *job)
{
    struct fuzz_owner *o = arg;

    if (o->jobs_left == 0)
        return 0;
    o->jobs_left--;
    *job = (struct dialogue_job){ 1, (uint64_t)o->jobs_left, (unsigned)o->jobs_left };
    return 1;
}

static int has_more(void *arg) { return ((struct fuzz_owner *)arg)->jobs_left > 0; }

static uint64_t next_rcpt_number(void *arg)
{
    (void)arg;
    return 7;
}

static const struct dialogue_clock *wall_clock(void *arg)
{
    static struct dialogue_clock clock = { .usec = 1, .date = "Wed,  2 Dec 2026 13:49:04 +0000 (UTC)" };

    (void)arg;
    return &clock;              /* second 0, no head: every header formatted per message */
}

static void warn(void *arg, const char *msg)
{
    (void)arg;
    if (strlen(msg) > DIALOGUE_MSG_MAX + 32)
        abort();
}

static const struct dialogue_hooks hooks = { take_job, has_more, next_rcpt_number, wall_clock, NULL,
                                             warn };

/* drain - write all output; every piece lies in the command buffer or the payload. */
static void drain(struct dialogue *d, const struct message_payload *p, uint64_t now)
{
    const struct iovec *iov;
    size_t len = 0;
    int n;

    iov = dialogue_output(d, &n);
    for (int i = 0; i < n; i++) {
        const char *b = iov[i].iov_base;
        int in_cmd = b >= d->cmd && b + iov[i].iov_len <= d->cmd + d->cmd_cap;
        int in_payload = (b >= p->data && b + iov[i].iov_len <= p->data + p->len)
            || (b >= p->raw && b + iov[i].iov_len <= p->raw + p->raw_len);

        if (!in_cmd && !in_payload && !(iov[i].iov_len == 3 && memcmp(b, ".\r\n", 3) == 0))
            abort();
        len += iov[i].iov_len;
    }
    dialogue_sent(d, len, now);
}

/* act - what the driver does with st; returns 0 to go on, -1 when the run ends. */
static int act(struct dialogue *d, struct fuzz_owner *o, enum dialogue_status st, uint64_t now)
{
    struct dialogue_job job;

    switch (st) {
    case DIALOGUE_MORE:
        return 0;
    case DIALOGUE_IDLE:
        if (take_job(o, &job))
            return act(d, o, dialogue_run(d, &job, now), now);
        return act(d, o, dialogue_finish(d, now), now);
    case DIALOGUE_STARTTLS:
        return act(d, o, dialogue_tls_started(d, now), now);
    case DIALOGUE_CLOSE:
    case DIALOGUE_HANGUP:
    case DIALOGUE_FAIL:
        dialogue_closed(d);
        if (!has_more(o))
            return -1;
        dialogue_connected(d, 5, now);
        return 0;
    case DIALOGUE_ABORT:
        return -1;
    }
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct message_payload payload;
    struct fuzz_owner owner = { FUZZ_JOBS };
    struct dialogue_job job = { 1, 99, 9 };
    struct workload w;
    struct meter meter;
    struct bufpool pool;
    struct dialogue d;
    size_t pos = 2, piece, used;
    uint32_t rng;
    uint64_t now = 1;
    unsigned opts;

    if (size < 2 || message_payload_generate(200, &payload) != 0)
        return 0;
    opts = data[0];
    rng = 0x9e3779b9u ^ data[1];
    workload_defaults(&w);
    w.myhostname = "fuzz.test";
    w.sender = "s@fuzz.test";
    w.recipient = "r@fuzz.test";
    w.payload = &payload;
    w.trace = 0;
    w.pipelining = opts & 1;
    w.chunking = (opts >> 1) & 1;
    w.lmtp = (opts >> 2) & 1;
    w.starttls = (opts >> 3) & 1;
    w.allow_reject = (opts >> 4) & 1;
    w.disconnect = (opts >> 5) & 1;
    w.auth_user = (opts >> 6) & 1 ? "u" : NULL;
    w.auth_pass = "p";
    w.recipients = (opts >> 7) & 1 ? 3 : 1;
    w.mail_size = 1;
    if (bufpool_init(&pool, dialogue_buffer_size(&w), 4) != 0)
        abort();
    if (meter_init(&meter) != 0 || dialogue_init(&d, &w, &hooks, &owner, &meter, &pool, 1) != 0) {
        message_payload_free(&payload);
        bufpool_destroy(&pool);
        return 0;
    }
    (void)dialogue_run(&d, &job, now);
    dialogue_connected(&d, 5, now);
    while (pos < size) {
        rng = rng * 1103515245u + 12345u;
        piece = 1 + (rng >> 16) % 64;
        if (piece > size - pos)
            piece = size - pos;
        while (piece > 0) {
            enum dialogue_status st = dialogue_feed(&d, (const char *)data + pos, piece, ++now, &used);

            if (used > piece)
                abort();
            pos += used;
            piece -= used;
            drain(&d, &payload, now);
            if (act(&d, &owner, st, now) < 0)
                goto done;
            drain(&d, &payload, now);
        }
    }
done:
    dialogue_closed(&d);
    if (meter.live.messages_attempted
        != meter.live.messages_accepted + meter.live.messages_rejected + meter.live.messages_unfinished)
        abort();
    dialogue_release(&d);
    if (pool.taken != 0)
        abort();                    /* released: the buffer is back */
    bufpool_destroy(&pool);
    meter_destroy(&meter);
    message_payload_free(&payload);
    return 0;
}
