/* test_dialogue.c - the agent's SMTP/LMTP client dialogue, with no socket:
 * canned server replies in, the exact command bytes out, the counts in the
 * meter. Every conversation is replayed with each reply split at every
 * byte, and once fed a byte at a time; the statuses and bytes must not
 * change. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "auth.h"
#include "dialogue.h"
#include "message.h"
#include "meter.h"
#include "trace.h"
#include "workload.h"

#define DATE "Wed,  2 Dec 2026 13:49:04 +0000 (UTC)"

/* The owner: hands out chained jobs, says whether more will come. */
struct owner {
    int chain_jobs;             /* take_job grants this many */
    int more;                   /* has_more */
    uint64_t rcpt_number;
    int dots, warnings;
    char last_warning[DIALOGUE_MSG_MAX + 64];
    const struct workload *w;   /* for wall_clock's repeated headers */
    struct dialogue_clock clock;
};

static int take_job(void *arg, struct dialogue_job *job)
{
    struct owner *o = arg;

    if (o->chain_jobs == 0)
        return 0;
    o->chain_jobs--;
    *job = (struct dialogue_job){ 100, 2, 0 };
    return 1;
}

static int has_more(void *arg) { return ((struct owner *)arg)->more; }

static uint64_t next_rcpt_number(void *arg) { return ++((struct owner *)arg)->rcpt_number; }

/* wall_clock - always DATE, 1764683344.000000, with the repeated
 * headers the engine would format for it. */
static const struct dialogue_clock *wall_clock(void *arg)
{
    struct owner *o = arg;
    o->clock.usec = 0;
    (void)trace_second_set(&o->clock.second, 1764683344);
    snprintf(o->clock.date, sizeof(o->clock.date), "%s", DATE);
    dialogue_clock_head(&o->clock, o->w);
    return &o->clock;
}

static void dot_sent(void *arg) { ((struct owner *)arg)->dots++; }

static void warn(void *arg, const char *msg)
{
    struct owner *o = arg;

    o->warnings++;
    snprintf(o->last_warning, sizeof(o->last_warning), "%s", msg);
}

static const struct dialogue_hooks hooks = { take_job, has_more, next_rcpt_number, wall_clock,
                                             dot_sent, warn };

/* One conversation under test. */
struct fixture {
    struct workload w;
    struct message_payload payload;
    struct meter meter;
    struct bufpool pool;        /* the dialogue's buffer while data is in flight */
    struct owner owner;
    struct dialogue d;
    size_t split;               /* feed each reply in pieces of this size; 0: whole */
    uint64_t now;
};

static void fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    workload_defaults(&f->w);
    f->w.myhostname = "me.test";
    f->w.sender = "s@me.test";
    f->w.recipient = "r@there.test";
    f->w.trace = 0;             /* but in run_lockstep */
    assert_int_equal(message_payload_generate(0, &f->payload), 0);
    f->w.payload = &f->payload;
    assert_int_equal(meter_init(&f->meter), 0);
    f->owner.more = 1;
    f->owner.w = &f->w;
    f->now = 1000;
}

static void fixture_start(struct fixture *f)
{
    workload_prepare_text(&f->w);     /* the repeated lines, as the agent prepares them */
    assert_int_equal(bufpool_init(&f->pool, dialogue_buffer_size(&f->w), 4), 0);
    assert_int_equal(dialogue_init(&f->d, &f->w, &hooks, &f->owner, &f->meter, &f->pool, 3), 0);
}

static void fixture_free(struct fixture *f)
{
    dialogue_release(&f->d);
    assert_int_equal(f->pool.taken, 0);     /* released: the buffer is back */
    bufpool_destroy(&f->pool);
    meter_destroy(&f->meter);
    message_payload_free(&f->payload);
}

/* output - take every byte queued (all written at once); the caller frees. */
static char *output(struct fixture *f)
{
    const struct iovec *iov;
    size_t len = 0;
    char *out;
    int n;

    iov = dialogue_output(&f->d, &n);
    for (int i = 0; i < n; i++)
        len += iov[i].iov_len;
    out = malloc(len + 1);
    assert_non_null(out);
    len = 0;
    for (int i = 0; i < n; i++) {
        memcpy(out + len, iov[i].iov_base, iov[i].iov_len);
        len += iov[i].iov_len;
    }
    out[len] = '\0';
    dialogue_sent(&f->d, len, ++f->now);
    return out;
}

/* expect_output - what was queued is exactly want. */
static void expect_output(struct fixture *f, const char *want)
{
    char *got = output(f);

    assert_string_equal(got, want);
    free(got);
}

/* reply - feed text in pieces of f->split octets; every piece but the last
 * must be taken whole with DIALOGUE_MORE. Returns the last status and sets
 * *left to the octets of the last piece not consumed. */
static enum dialogue_status reply_left(struct fixture *f, const char *text, size_t *left)
{
    size_t len = strlen(text), off = 0, piece, used;
    enum dialogue_status st = DIALOGUE_MORE;

    f->now += 10;
    while (off < len) {
        piece = f->split == 0 || f->split > len - off ? len - off : f->split;
        st = dialogue_feed(&f->d, text + off, piece, f->now, &used);
        off += used;
        if (st != DIALOGUE_MORE)
            break;
        assert_int_equal(used, piece);
    }
    *left = len - off;
    return st;
}

static enum dialogue_status reply(struct fixture *f, const char *text)
{
    size_t left;
    enum dialogue_status st = reply_left(f, text, &left);

    assert_int_equal(left, 0);
    return st;
}

/* greet - connect, take the banner, say EHLO; the EHLO reply must give want. */
static void greet(struct fixture *f, const char *ehlo_reply, enum dialogue_status want)
{
    dialogue_connected(&f->d, 4, ++f->now);
    assert_int_equal(reply(f, "220 x\r\n"), DIALOGUE_MORE);
    expect_output(f, "EHLO me.test\r\n");
    assert_int_equal(reply(f, ehlo_reply), want);
}

/* The trace header (when on), the headers and body smtp-source sends,
 * for message seq, fd and count as given. */
static void message_text(struct fixture *f, unsigned fd, unsigned count, char *out, size_t cap)
{
    struct message_header_vars v = { f->w.sender, f->w.recipient, DATE, f->w.myhostname, NULL,
                                     f->d.pid, fd, count };
    struct trace tr = { "", "", 1, 1764683344000000ULL };
    int n = 0;

    if (f->w.trace) {
        strcpy(tr.campaign, f->w.campaign);
        strcpy(tr.agent, f->w.agent_id);
        n = trace_format(&tr, out, cap);
        assert_true(n > 0);
    }
    n += message_headers_format(out + n, cap - (size_t)n, &v);
    assert_true(n > 0);
    assert_true((size_t)n + f->payload.len + 4 < cap);
    memcpy(out + n, f->payload.data, f->payload.len);
    memcpy(out + n + f->payload.len, ".\r\n", 4);
}

/* Lock-step, smtp-source's default: a new connection per message. */
static void run_lockstep(size_t split)
{
    struct fixture f;
    struct dialogue_job job = { 500, 1, 0 };
    char body[4096];

    fixture_init(&f);
    f.split = split;
    f.w.trace = 1;
    strcpy(f.w.campaign, "c1");
    strcpy(f.w.agent_id, "a1");
    assert_int_equal(workload_set_pair(&f.w), 0);
    fixture_start(&f);
    assert_int_equal(dialogue_run(&f.d, &job, f.now), DIALOGUE_MORE);   /* waits for the greeting */
    expect_output(&f, "");
    dialogue_connected(&f.d, 7, ++f.now);
    assert_int_equal(reply(&f, "220 sink.test ESMTP\r\n"), DIALOGUE_MORE);
    expect_output(&f, "HELO me.test\r\n");
    assert_int_equal(reply(&f, "250 sink.test\r\n"), DIALOGUE_MORE);
    expect_output(&f, "MAIL FROM:<s@me.test>\r\n");
    assert_int_equal(reply(&f, "250 2.1.0 Ok\r\n"), DIALOGUE_MORE);
    expect_output(&f, "RCPT TO:<r@there.test>\r\n");
    assert_int_equal(reply(&f, "250 2.1.5 Ok\r\n"), DIALOGUE_MORE);
    expect_output(&f, "DATA\r\n");
    assert_int_equal(reply(&f, "354 End data with <CR><LF>.<CR><LF>\r\n"), DIALOGUE_MORE);
    message_text(&f, 7, 0, body, sizeof(body));
    expect_output(&f, body);
    assert_int_equal(f.owner.dots, 1);
    assert_int_equal(reply(&f, "250 2.0.0 Ok: queued\r\n"), DIALOGUE_MORE);
    expect_output(&f, "QUIT\r\n");
    assert_int_equal(reply(&f, "221 Bye\r\n"), DIALOGUE_CLOSE);
    assert_int_equal(f.meter.live.messages_attempted, 1);
    assert_int_equal(f.meter.live.messages_accepted, 1);
    assert_int_equal(f.meter.live.recipients, 1);
    assert_int_equal(f.meter.live.replies[250], 4);
    assert_int_equal(f.meter.live.replies[354], 1);
    for (int p = PHASE_BANNER; p <= PHASE_QUIT; p++)
        if (p != PHASE_CONNECT)
            assert_int_equal(f.meter.live.latency[p].count, 1);
    assert_int_equal(f.meter.live.latency[PHASE_MESSAGE].count, 1);
    assert_int_equal(f.meter.live.errors, 0);
    dialogue_closed(&f.d);
    assert_int_equal(f.meter.live.messages_unfinished, 0);
    fixture_free(&f);
}

/* The dialogue holds its pool's buffer only while a reply is half read or
 * output waits: an idle -d connection between messages holds none. */
static void test_dialogue_holds_buffer_only_in_flight(void **state)
{
    struct fixture f;
    struct dialogue_job job = { 500, 1, 1 };
    size_t used;

    (void)state;
    fixture_init(&f);
    f.w.disconnect = 0;         /* -d */
    fixture_start(&f);
    assert_int_equal(dialogue_run(&f.d, &job, f.now), DIALOGUE_MORE);
    dialogue_connected(&f.d, 7, ++f.now);
    assert_false(dialogue_holds_buffer(&f.d));
    assert_int_equal(dialogue_feed(&f.d, "22", 2, ++f.now, &used), DIALOGUE_MORE);
    assert_true(dialogue_holds_buffer(&f.d));           /* a reply half read */
    assert_int_equal(reply(&f, "0 x\r\n"), DIALOGUE_MORE);
    assert_true(dialogue_holds_buffer(&f.d));           /* HELO waits to be written */
    expect_output(&f, "HELO me.test\r\n");
    assert_false(dialogue_holds_buffer(&f.d));
    assert_int_equal(reply(&f, "250 x\r\n"), DIALOGUE_MORE);
    expect_output(&f, "MAIL FROM:<s@me.test>\r\n");
    assert_int_equal(reply(&f, "250 ok\r\n"), DIALOGUE_MORE);
    expect_output(&f, "RCPT TO:<r@there.test>\r\n");
    assert_int_equal(reply(&f, "250 ok\r\n"), DIALOGUE_MORE);
    expect_output(&f, "DATA\r\n");
    assert_int_equal(reply(&f, "354 go\r\n"), DIALOGUE_MORE);
    assert_true(dialogue_holds_buffer(&f.d));
    free(output(&f));
    assert_false(dialogue_holds_buffer(&f.d));
    assert_int_equal(reply(&f, "250 queued\r\n"), DIALOGUE_IDLE);    /* the -w wait */
    assert_false(dialogue_holds_buffer(&f.d));
    assert_int_equal(f.pool.taken, 0);
    assert_int_equal(f.meter.live.messages_accepted, 1);
    dialogue_closed(&f.d);
    fixture_free(&f);
}

static void test_dialogue_lockstep_every_split(void **state)
{
    (void)state;
    for (size_t split = 0; split <= 40; split++)
        run_lockstep(split);
}

/* A kept connection (-d) with pipelining: the envelope in one group, the
 * next message's envelope right behind the end of data. */
static void run_pipelined(size_t split)
{
    struct fixture f;
    struct dialogue_job job = { 500, 1, 1 };
    char body1[4096], body2[4096], want[8192];

    fixture_init(&f);
    f.split = split;
    f.w.pipelining = 1;
    f.w.disconnect = 0;
    f.owner.chain_jobs = 1;
    fixture_start(&f);
    dialogue_connected(&f.d, 9, ++f.now);
    assert_int_equal(reply(&f, "220 sink.test ESMTP\r\n"), DIALOGUE_MORE);
    expect_output(&f, "EHLO me.test\r\n");
    assert_int_equal(reply(&f, "250-sink.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"), DIALOGUE_IDLE);
    expect_output(&f, "");
    assert_int_equal(dialogue_run(&f.d, &job, ++f.now), DIALOGUE_MORE);
    expect_output(&f, "MAIL FROM:<s@me.test>\r\nRCPT TO:<r@there.test>\r\nDATA\r\n");
    assert_int_equal(reply(&f, "250 Ok\r\n250 Ok\r\n354 go\r\n"), DIALOGUE_MORE);
    message_text(&f, 9, 1, body1, sizeof(body1));
    snprintf(want, sizeof(want), "%sMAIL FROM:<s@me.test>\r\nRCPT TO:<r@there.test>\r\nDATA\r\n", body1);
    expect_output(&f, want);
    /* the first message's 250 and the second's envelope replies in one read */
    assert_int_equal(reply(&f, "250 queued 1\r\n250 Ok\r\n250 Ok\r\n354 go\r\n"), DIALOGUE_MORE);
    message_text(&f, 9, 0, body2, sizeof(body2));
    expect_output(&f, body2);
    f.owner.more = 0;
    assert_int_equal(reply(&f, "250 queued 2\r\n"), DIALOGUE_MORE);
    expect_output(&f, "QUIT\r\n");
    assert_int_equal(reply(&f, "221 Bye\r\n"), DIALOGUE_CLOSE);
    assert_int_equal(f.meter.live.messages_attempted, 2);
    assert_int_equal(f.meter.live.messages_accepted, 2);
    assert_int_equal(f.owner.dots, 2);
    fixture_free(&f);
}

static void test_dialogue_pipelining_groups_every_split(void **state)
{
    (void)state;
    for (size_t split = 0; split <= 24; split++)
        run_pipelined(split);
}

/* BDAT (RFC 3030): the size on the command line is the octets that follow. */
static void test_dialogue_bdat_size_matches_the_chunk(void **state)
{
    struct fixture f;
    struct dialogue_job job = { 500, 1, 0 };
    unsigned long size;
    char *out, *chunk;

    (void)state;
    fixture_init(&f);
    f.w.chunking = 1;
    f.w.disconnect = 0;
    fixture_start(&f);
    greet(&f, "250-x\r\n250-CHUNKING\r\n250 SIZE 0\r\n", DIALOGUE_IDLE);
    assert_int_equal(dialogue_run(&f.d, &job, ++f.now), DIALOGUE_MORE);
    expect_output(&f, "MAIL FROM:<s@me.test>\r\n");
    reply(&f, "250 ok\r\n");
    expect_output(&f, "RCPT TO:<r@there.test>\r\n");
    reply(&f, "250 ok\r\n");
    out = output(&f);
    assert_int_equal(sscanf(out, "BDAT %lu LAST\r\n", &size), 1);
    chunk = strstr(out, "\r\n") + 2;
    assert_int_equal(strlen(chunk), size);
    assert_non_null(strstr(chunk, "From: <s@me.test>\r\n"));
    assert_null(strstr(chunk, "\r\n.\r\n"));            /* no end-of-data dot in BDAT */
    free(out);
    f.owner.more = 0;
    assert_int_equal(reply(&f, "250 2.0.0 Ok\r\n"), DIALOGUE_MORE);
    expect_output(&f, "QUIT\r\n");
    assert_int_equal(f.meter.live.messages_accepted, 1);
    fixture_free(&f);
}

/* LMTP: one end-of-data reply per accepted recipient (RFC 2033 4.2). */
static void run_lmtp(const char *finals, uint64_t accepted, uint64_t rejected)
{
    struct fixture f;
    struct dialogue_job job = { 500, 1, 0 };
    char *out;

    fixture_init(&f);
    f.w.lmtp = 1;
    f.w.recipients = 2;
    fixture_start(&f);
    assert_int_equal(dialogue_run(&f.d, &job, f.now), DIALOGUE_MORE);
    dialogue_connected(&f.d, 4, ++f.now);
    reply(&f, "220 lmtp\r\n");
    expect_output(&f, "LHLO me.test\r\n");
    reply(&f, "250 lmtp\r\n");
    expect_output(&f, "MAIL FROM:<s@me.test>\r\n");
    reply(&f, "250 ok\r\n");
    expect_output(&f, "RCPT TO:<2r@there.test>\r\n");      /* -r counts down, as smtp-source */
    reply(&f, "250 ok\r\n");
    expect_output(&f, "RCPT TO:<r@there.test>\r\n");
    reply(&f, "250 ok\r\n");
    expect_output(&f, "DATA\r\n");
    reply(&f, "354 go\r\n");
    free(output(&f));
    f.w.allow_reject = 1;
    assert_int_equal(reply(&f, finals), DIALOGUE_MORE);
    out = output(&f);
    assert_string_equal(out, "QUIT\r\n");
    free(out);
    assert_int_equal(f.meter.live.messages_accepted, accepted);
    assert_int_equal(f.meter.live.messages_rejected, rejected);
    assert_int_equal(f.meter.live.latency[PHASE_DOT].count, 1);
    fixture_free(&f);
}

static void test_dialogue_lmtp_one_final_reply_per_recipient(void **state)
{
    (void)state;
    run_lmtp("250 2.1.5 r1 ok\r\n250 2.1.5 r2 ok\r\n", 1, 0);
    run_lmtp("250 2.1.5 r1 ok\r\n452 4.2.2 r2 full\r\n", 1, 0);
    run_lmtp("550 5.1.1 r1 no\r\n550 5.1.1 r2 no\r\n", 0, 1);
}

/* STARTTLS: EHLO, STARTTLS, then EHLO again under TLS (RFC 3207 4.2). */
static void test_dialogue_starttls_says_ehlo_again(void **state)
{
    struct fixture f;
    struct dialogue_job job = { 500, 1, 0 };
    size_t left;

    (void)state;
    for (int leftover = 0; leftover <= 1; leftover++) {
        fixture_init(&f);
        f.w.starttls = 1;
        fixture_start(&f);
        dialogue_run(&f.d, &job, f.now);
        dialogue_connected(&f.d, 4, ++f.now);
        reply(&f, "220 x\r\n");
        expect_output(&f, "EHLO me.test\r\n");
        reply(&f, "250-x\r\n250 STARTTLS\r\n");
        expect_output(&f, "STARTTLS\r\n");
        if (leftover) {     /* RFC 3207 5: nothing may follow the 220 in the clear */
            assert_int_equal(reply_left(&f, "220 go ahead\r\n250 injected\r\n", &left), DIALOGUE_FAIL);
            assert_int_equal(f.meter.live.errors_by_kind[ERROR_PROTOCOL], 1);
            fixture_free(&f);
            continue;
        }
        assert_int_equal(reply(&f, "220 go ahead\r\n"), DIALOGUE_STARTTLS);
        assert_int_equal(dialogue_finish(&f.d, ++f.now), DIALOGUE_MORE);
        expect_output(&f, "");                  /* no QUIT in the middle of the handshake */
        assert_int_equal(dialogue_tls_started(&f.d, ++f.now), DIALOGUE_MORE);
        expect_output(&f, "EHLO me.test\r\n");
        assert_int_equal(reply(&f, "250 x\r\n"), DIALOGUE_MORE);
        expect_output(&f, "QUIT\r\n");          /* finishing: the job was dropped */
        fixture_free(&f);
    }
}

static void test_dialogue_starttls_not_offered(void **state)
{
    struct fixture f;

    (void)state;
    for (int allow = 0; allow <= 1; allow++) {
        fixture_init(&f);
        f.w.starttls = 1;
        f.w.allow_reject = allow;
        fixture_start(&f);
        dialogue_connected(&f.d, 4, ++f.now);
        reply(&f, "220 x\r\n");
        expect_output(&f, "EHLO me.test\r\n");
        if (!allow) {
            assert_int_equal(reply(&f, "250 x\r\n"), DIALOGUE_ABORT);
            assert_string_equal(dialogue_error(&f.d), "server does not offer STARTTLS (--starttls)");
        } else {
            assert_int_equal(reply(&f, "250 x\r\n"), DIALOGUE_FAIL);
            assert_int_equal(f.meter.live.errors_by_kind[ERROR_TLS], 1);
            assert_string_equal(f.owner.last_warning, "session 3: server does not offer STARTTLS");
        }
        fixture_free(&f);
    }
}

/* AUTH PLAIN in one command, AUTH LOGIN in two challenges (RFC 4954). */
static void test_dialogue_auth_plain_and_login(void **state)
{
    struct fixture f;
    struct dialogue_job job = { 500, 1, 0 };
    char b64[AUTH_B64_MAX], want[AUTH_B64_MAX + 32];

    (void)state;
    for (int login = 0; login <= 1; login++) {
        fixture_init(&f);
        f.w.auth_user = "alice";
        f.w.auth_pass = "s3cret";
        fixture_start(&f);
        dialogue_run(&f.d, &job, f.now);
        dialogue_connected(&f.d, 4, ++f.now);
        reply(&f, "220 x\r\n");
        expect_output(&f, "EHLO me.test\r\n");
        if (!login) {
            reply(&f, "250-x\r\n250 AUTH PLAIN LOGIN\r\n");
            assert_true(auth_plain("alice", "s3cret", b64, sizeof(b64)) > 0);
            snprintf(want, sizeof(want), "AUTH PLAIN %s\r\n", b64);
            expect_output(&f, want);
        } else {
            reply(&f, "250-x\r\n250 AUTH LOGIN\r\n");
            expect_output(&f, "AUTH LOGIN\r\n");
            reply(&f, "334 VXNlcm5hbWU6\r\n");
            expect_output(&f, "YWxpY2U=\r\n");
            reply(&f, "334 UGFzc3dvcmQ6\r\n");
            expect_output(&f, "czNjcmV0\r\n");
        }
        assert_int_equal(reply(&f, "235 2.7.0 Authentication successful\r\n"), DIALOGUE_MORE);
        expect_output(&f, "MAIL FROM:<s@me.test>\r\n");
        fixture_free(&f);
    }
}

/* Every unexpected reply, without -A: the run aborts, naming the step. */
static void test_dialogue_unexpected_reply_aborts_without_allow(void **state)
{
    static const struct { int steps; const char *what; } cases[] = {
        { 0, "rejected at server banner: 554 go away" },
        { 1, "HELO rejected: 554 go away" },
        { 2, "sender rejected: 554 go away" },
        { 3, "recipient rejected: 554 go away" },
        { 4, "data rejected: 554 go away" },
        { 5, "end of data rejected: 554 go away" },
    };
    static const char *const good[] = { "220 x\r\n", "250 x\r\n", "250 ok\r\n", "250 ok\r\n",
                                        "354 go\r\n" };
    struct dialogue_job job = { 500, 1, 0 };
    struct fixture f;

    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        fixture_init(&f);
        fixture_start(&f);
        dialogue_run(&f.d, &job, f.now);
        dialogue_connected(&f.d, 4, ++f.now);
        for (int i = 0; i < cases[c].steps; i++) {
            assert_int_equal(reply(&f, good[i]), DIALOGUE_MORE);
            free(output(&f));
        }
        assert_int_equal(reply(&f, "554 go away\r\n"), DIALOGUE_ABORT);
        assert_string_equal(dialogue_error(&f.d), cases[c].what);
        assert_int_equal(f.meter.live.errors_by_kind[ERROR_UNEXPECTED_REPLY], 1);
        fixture_free(&f);
    }
}

/* With -A a refusal is counted and the dialogue goes on: RSET after a
 * refused sender, recipient or DATA; a refused message is rejected. */
static void test_dialogue_refusals_with_allow_go_on(void **state)
{
    static const struct { int steps; const char *next; } cases[] = {
        { 2, "RSET\r\n" }, { 3, "RSET\r\n" }, { 4, "RSET\r\n" }, { 5, "QUIT\r\n" },
    };
    static const char *const good[] = { "220 x\r\n", "250 x\r\n", "250 ok\r\n", "250 ok\r\n",
                                        "354 go\r\n" };
    struct dialogue_job job = { 500, 1, 0 };
    struct fixture f;

    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        fixture_init(&f);
        f.w.allow_reject = 1;
        fixture_start(&f);
        dialogue_run(&f.d, &job, f.now);
        dialogue_connected(&f.d, 4, ++f.now);
        for (int i = 0; i < cases[c].steps; i++) {
            reply(&f, good[i]);
            free(output(&f));
        }
        f.owner.more = 0;
        assert_int_equal(reply(&f, "554 go away\r\n"), DIALOGUE_MORE);
        expect_output(&f, cases[c].next);
        if (cases[c].next[0] == 'R') {
            assert_int_equal(reply(&f, "250 reset\r\n"), DIALOGUE_MORE);
            expect_output(&f, "QUIT\r\n");
        }
        assert_int_equal(f.meter.live.messages_rejected, 1);
        assert_int_equal(f.meter.live.messages_accepted, 0);
        assert_int_equal(f.meter.live.errors_by_kind[ERROR_UNEXPECTED_REPLY], 1);
        assert_int_equal(f.owner.warnings, 1);
        fixture_free(&f);
    }
}

/* Protocol faults: a malformed reply, a reply nobody asked for, the
 * server closing mid-transaction; and an idle connection's end. */
static void test_dialogue_protocol_faults(void **state)
{
    struct dialogue_job job = { 500, 1, 0 };
    struct fixture f;
    size_t left;

    (void)state;
    fixture_init(&f);
    fixture_start(&f);
    dialogue_connected(&f.d, 4, ++f.now);
    assert_int_equal(reply_left(&f, "hello there\r\n", &left), DIALOGUE_FAIL);
    assert_int_equal(f.meter.live.errors_by_kind[ERROR_PROTOCOL], 1);
    assert_string_equal(f.owner.last_warning, "session 3: malformed reply while reading server greeting");
    fixture_free(&f);

    fixture_init(&f);
    f.w.disconnect = 0;
    fixture_start(&f);
    dialogue_connected(&f.d, 4, ++f.now);
    assert_int_equal(reply(&f, "220 x\r\n"), DIALOGUE_MORE);
    free(output(&f));
    assert_int_equal(reply(&f, "250 x\r\n"), DIALOGUE_IDLE);
    assert_int_equal(reply(&f, "421 shutting down\r\n"), DIALOGUE_HANGUP);  /* idle: nothing lost */
    assert_int_equal(f.meter.live.errors, 0);
    dialogue_closed(&f.d);
    assert_int_equal(dialogue_run(&f.d, &job, ++f.now), DIALOGUE_MORE);   /* waits for a connection */
    assert_true(dialogue_has_job(&f.d));
    expect_output(&f, "");
    fixture_free(&f);

    fixture_init(&f);
    fixture_start(&f);
    dialogue_run(&f.d, &job, f.now);
    dialogue_connected(&f.d, 4, ++f.now);
    reply(&f, "220 x\r\n");
    reply(&f, "250 x\r\n");
    free(output(&f));
    assert_int_equal(dialogue_eof(&f.d, ++f.now), DIALOGUE_FAIL);
    assert_int_equal(f.meter.live.errors_by_kind[ERROR_RESET], 1);
    assert_string_equal(f.owner.last_warning, "session 3: lost connection while sending sender");
    dialogue_closed(&f.d);
    assert_int_equal(f.meter.live.messages_unfinished, 1);
    fixture_free(&f);
}

/* A message over the server's SIZE is never sent (RFC 1870 4). */
static void test_dialogue_size_refusal_sends_nothing(void **state)
{
    struct dialogue_job job = { 500, 1, 0 };
    struct fixture f;

    (void)state;
    fixture_init(&f);
    f.w.mail_size = 1;
    f.w.disconnect = 0;
    f.w.ehlo = 1;
    fixture_start(&f);
    greet(&f, "250-x\r\n250 SIZE 100\r\n", DIALOGUE_IDLE);
    assert_int_equal(dialogue_run(&f.d, &job, ++f.now), DIALOGUE_IDLE);
    expect_output(&f, "");
    assert_int_equal(f.meter.live.errors_by_kind[ERROR_TOO_BIG], 1);
    assert_int_equal(f.meter.live.messages_attempted, 0);
    f.owner.more = 0;
    assert_int_equal(dialogue_run(&f.d, &job, ++f.now), DIALOGUE_MORE);   /* the last: QUIT */
    expect_output(&f, "QUIT\r\n");
    fixture_free(&f);
}

/* An abort counts what already arrived: the first message's 250 settles
 * it; the second stays in flight, then unfinished. */
static void test_dialogue_harvest_settles_arrived_replies(void **state)
{
    struct dialogue_job job = { 500, 1, 1 };
    struct fixture f;

    (void)state;
    fixture_init(&f);
    f.w.pipelining = 1;
    f.w.disconnect = 0;
    f.owner.chain_jobs = 1;
    fixture_start(&f);
    greet(&f, "250-x\r\n250 PIPELINING\r\n", DIALOGUE_IDLE);
    dialogue_run(&f.d, &job, ++f.now);
    reply(&f, "250 ok\r\n250 ok\r\n354 go\r\n");
    free(output(&f));
    assert_int_equal(dialogue_harvest(&f.d, "250 queued\r\n250 ok\r\n", 20, ++f.now), 1);
    assert_int_equal(f.meter.live.messages_accepted, 1);
    dialogue_closed(&f.d);
    assert_int_equal(f.meter.live.messages_unfinished, 1);
    assert_int_equal(f.meter.live.messages_attempted, 2);
    fixture_free(&f);
}

/* The time a reply is fed is the time recorded: no clock of its own. */
static void test_dialogue_latency_is_the_time_passed_in(void **state)
{
    struct dialogue_job job = { 1000, 1, 0 };
    struct fixture f;
    size_t used;

    (void)state;
    fixture_init(&f);
    fixture_start(&f);
    dialogue_run(&f.d, &job, 1000);
    dialogue_connected(&f.d, 4, 1000);
    assert_int_equal(dialogue_feed(&f.d, "220 x\r\n", 7, 1000 + 7000000, &used), DIALOGUE_MORE);
    assert_in_range(hist_percentile(&f.meter.live.latency[PHASE_BANNER], 50), 6950, 7050);   /* us */
    fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dialogue_lockstep_every_split),
        cmocka_unit_test(test_dialogue_holds_buffer_only_in_flight),
        cmocka_unit_test(test_dialogue_pipelining_groups_every_split),
        cmocka_unit_test(test_dialogue_bdat_size_matches_the_chunk),
        cmocka_unit_test(test_dialogue_lmtp_one_final_reply_per_recipient),
        cmocka_unit_test(test_dialogue_starttls_says_ehlo_again),
        cmocka_unit_test(test_dialogue_starttls_not_offered),
        cmocka_unit_test(test_dialogue_auth_plain_and_login),
        cmocka_unit_test(test_dialogue_unexpected_reply_aborts_without_allow),
        cmocka_unit_test(test_dialogue_refusals_with_allow_go_on),
        cmocka_unit_test(test_dialogue_protocol_faults),
        cmocka_unit_test(test_dialogue_size_refusal_sends_nothing),
        cmocka_unit_test(test_dialogue_harvest_settles_arrived_replies),
        cmocka_unit_test(test_dialogue_latency_is_the_time_passed_in),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
