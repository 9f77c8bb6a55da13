/* test_session.c - the sink's SMTP state machine gives the same replies
 * however the input is split into reads, and pins smtp-sink's replies. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "session.h"

struct seen {
    int messages;
    int traced;
    uint64_t bytes;
    struct trace last;
    int quits;
    int auth_ok, auth_failed;
};

static void on_message(void *arg, const struct trace *tr, uint64_t bytes, int dump_error)
{
    struct seen *s = arg;

    (void)dump_error;
    s->messages++;
    s->bytes += bytes;
    if (tr) {
        s->traced++;
        s->last = *tr;
    }
}

static void on_quit(void *arg)
{
    ((struct seen *)arg)->quits++;
}

static void on_auth(void *arg, int ok)
{
    struct seen *s = arg;

    if (ok)
        s->auth_ok++;
    else
        s->auth_failed++;
}

static const struct sink_session_hooks hooks = { on_message, on_quit, on_auth };

/* A growing reply transcript. */
struct out {
    char *p;
    size_t len;
};

static void take_output(struct sink_session *s, struct out *o)
{
    size_t n;
    const char *p = sink_session_output(s, &n);

    o->p = realloc(o->p, o->len + n + 1);
    memcpy(o->p + o->len, p, n);
    o->len += n;
    o->p[o->len] = '\0';
    sink_session_output_consume(s, n);
}

static void config_for(struct sink_config *cfg, int lmtp)
{
    char err[256];
    char *argv[] = { "sink", "-u", "nobody", lmtp ? "-L" : "-c", "--no-smtputf8", "127.0.0.1:25", "10",
                     NULL };

    sink_config_init(cfg, "sink");
    assert_int_equal(sink_options_parse(cfg, 7, argv, err, sizeof(err)), SINK_OPTIONS_RUN);
}

/* config_args - a config from the defaults and options (NULL-terminated). */
static void config_args(struct sink_config *cfg, const char *const *opts)
{
    char err[256];
    char *argv[16];
    int argc = 0;

    argv[argc++] = "sink";
    argv[argc++] = "-u";
    argv[argc++] = "nobody";
    while (*opts && argc < 13)
        argv[argc++] = (char *)*opts++;
    argv[argc++] = "127.0.0.1:25";
    argv[argc++] = "10";
    argv[argc] = NULL;
    sink_config_init(cfg, "sink");
    assert_int_equal(sink_options_parse(cfg, argc, argv, err, sizeof(err)), SINK_OPTIONS_RUN);
}

/* run - feed input in pieces whose ends are cuts[0..ncuts) (sorted), with
 * one byte a read when bytewise; returns the replies. */
static char *run(const struct sink_config *cfg, const char *in, size_t len, const size_t *cuts,
                 size_t ncuts, int bytewise, struct seen *seen)
{
    struct sink_session_common common;
    struct sink_session s;
    struct out o = { NULL, 0 };
    enum sink_session_status st = SINK_SESSION_MORE;
    size_t pos = 0, end, k = 0, used;

    memset(seen, 0, sizeof(*seen));
    assert_int_equal(sink_session_common_init(&common, cfg, NULL), 0);
    sink_session_init(&s, &common, &hooks, seen, 1);
    st = sink_session_start(&s, "127.0.0.1");
    take_output(&s, &o);
    while (pos < len && st != SINK_SESSION_CLOSE) {
        end = bytewise ? pos + 1 : k < ncuts ? cuts[k++] : len;
        if (end <= pos)
            continue;
        while (pos < end && st != SINK_SESSION_CLOSE) {
            used = sink_session_feed(&s, in + pos, end - pos, &st);
            pos += used;
            take_output(&s, &o);
            assert_true(st != SINK_SESSION_PAUSE);
        }
    }
    sink_session_end(&s);
    sink_session_release(&s);
    sink_session_common_release(&common);
    return o.p;
}

static const char conversation[] =
    "EHLO client.example\r\n"
    "MAIL FROM:<a@example>\r\nRCPT TO:<b@example>\r\nRCPT TO:<c@example>\r\nDATA\r\n"
    "X-Smtpstorm-Trace: camp1 agent7 42 1700000000000000\r\n"
    "Subject: split\r\n\r\nbody\r\n..stuffed\r\nbare\n.\nnot the end\r\n.\r\n"
    "NOOP\r\nRSET\r\nMAIL FROM:<x>\r\nRCPT TO:<y>\r\nDATA\r\n.\r\n"
    "VRFY z\r\nQUIT\r\n";

static const char expected_smtp[] =
    "220 smtp-sink ESMTP\r\n"
    "250-smtp-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n"
    "250-XCLIENT NAME HELO\r\n250-XFORWARD NAME ADDR PROTO HELO\r\n"
    "250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-SIZE\r\n250-CHUNKING\r\n250 \r\n"
    "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
    "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok\r\n"
    "250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
    "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok\r\n"
    "250 2.0.0 Ok\r\n221 Bye\r\n";

static void test_session_pipelined_in_one_read(void **state)
{
    struct sink_config cfg;
    struct seen seen;
    char *out;

    (void)state;
    config_for(&cfg, 0);
    out = run(&cfg, conversation, strlen(conversation), NULL, 0, 0, &seen);
    assert_string_equal(out, expected_smtp);
    assert_int_equal(seen.messages, 2);
    assert_int_equal(seen.traced, 1);
    assert_string_equal(seen.last.campaign, "camp1");
    assert_string_equal(seen.last.agent, "agent7");
    assert_true(seen.last.seq == 42);
    assert_int_equal(seen.quits, 1);
    free(out);
}

static void test_session_split_at_every_boundary(void **state)
{
    struct sink_config cfg;
    struct seen seen;
    size_t len = strlen(conversation), i, j, cuts[2];
    char *out;

    (void)state;
    config_for(&cfg, 0);
    for (i = 1; i < len; i++) {
        cuts[0] = i;
        out = run(&cfg, conversation, len, cuts, 1, 0, &seen);
        assert_string_equal(out, expected_smtp);
        assert_int_equal(seen.messages, 2);
        assert_int_equal(seen.traced, 1);
        free(out);
    }
    /* three reads: every pair of cuts around the first end of data */
    for (i = 200; i < 330 && i < len; i++)
        for (j = i + 1; j < 335 && j < len; j++) {
            cuts[0] = i;
            cuts[1] = j;
            out = run(&cfg, conversation, len, cuts, 2, 0, &seen);
            assert_string_equal(out, expected_smtp);
            assert_int_equal(seen.traced, 1);
            free(out);
        }
}

static void test_session_one_byte_per_read(void **state)
{
    struct sink_config cfg;
    struct seen seen;
    char *out;

    (void)state;
    config_for(&cfg, 0);
    out = run(&cfg, conversation, strlen(conversation), NULL, 0, 1, &seen);
    assert_string_equal(out, expected_smtp);
    assert_int_equal(seen.traced, 1);
    free(out);
}

static void test_session_dot_split_across_reads(void **state)
{
    static const char in[] = "HELO x\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\nline\r\n.\r\nQUIT\r\n";
    struct sink_config cfg;
    struct seen seen;
    size_t base = strlen("HELO x\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\nline"), cuts[4], i;
    char *out;

    (void)state;
    config_for(&cfg, 0);
    for (i = 0; i < 5; i++) {
        cuts[0] = base + i;
        cuts[1] = base + i + 1 < base + 5 ? base + i + 1 : base + 5;
        cuts[2] = base + 5;
        out = run(&cfg, in, strlen(in), cuts, 3, 0, &seen);
        assert_non_null(strstr(out, "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok\r\n221 Bye\r\n"));
        assert_int_equal(seen.messages, 1);
        assert_true(seen.bytes == strlen("line\r\n.\r\n"));
        free(out);
    }
}

static void test_session_bare_lf_dot_does_not_end_data(void **state)
{
    static const char in[] = "HELO x\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\n"
                             "a\n.\nRSET\r\nb\r\n.\r\nNOOP\r\n";
    struct sink_config cfg;
    struct seen seen;
    char *out;

    (void)state;
    config_for(&cfg, 0);
    out = run(&cfg, in, strlen(in), NULL, 0, 0, &seen);
    assert_string_equal(out, "220 smtp-sink ESMTP\r\n250 smtp-sink\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
                        "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n");
    assert_int_equal(seen.messages, 1);
    free(out);
}

/* The end-of-data scan looks at 64 and 16 octets at a time: a body of
 * every length up to past four blocks, with an LF-dot that is not the end
 * ("\r\n..", "\n.\n", "\r\n.x", "\r\n.\r", "\r\n.x\n") at every offset, ends at
 * its own "\r\n.\r\n" and nowhere else, read whole and cut around the
 * decoy and around the end. */
static void test_session_end_of_data_at_every_offset(void **state)
{
    static const char head[] = "HELO x\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\n";
    static const char tail[] = "\r\n.\r\nNOOP\r\n";
    static const char *const decoys[] = { "\r\n..", "\n.\n", "\r\n.x", "\r\n.\r", "\r\n.x\n" };
    static const char want[] = "220 smtp-sink ESMTP\r\n250 smtp-sink\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
                               "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n";
    struct sink_config cfg;
    struct seen seen;
    char in[512], *out;
    size_t body, at, d, c, dl, len, hl = strlen(head), cuts[6];

    (void)state;
    config_for(&cfg, 0);
    for (body = 0; body <= 290; body += 11) {
        for (d = 0; d < sizeof(decoys) / sizeof(decoys[0]); d++) {
            dl = strlen(decoys[d]);
            for (at = 0; at + dl <= body; at += 7) {
                memcpy(in, head, hl);
                memset(in + hl, 'x', body);
                memcpy(in + hl + at, decoys[d], dl);
                memcpy(in + hl + body, tail, strlen(tail));
                len = hl + body + strlen(tail);
                cuts[0] = len;      /* whole */
                cuts[1] = hl + at + 1;
                cuts[2] = hl + at + 3;
                cuts[3] = hl + body + 1;
                cuts[4] = hl + body + 2;
                cuts[5] = hl + body + 4;
                for (c = 0; c < 6; c++) {
                    out = run(&cfg, in, len, &cuts[c], 1, 0, &seen);
                    assert_string_equal(out, want);
                    assert_int_equal(seen.messages, 1);
                    assert_true(seen.bytes == body + 5);
                    free(out);
                }
            }
        }
    }
}

static void test_session_lmtp_one_reply_per_recipient(void **state)
{
    static const char in[] = "LHLO x\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nRCPT TO:<c>\r\nRCPT TO:<d>\r\n"
                             "DATA\r\nhi\r\n.\r\nQUIT\r\n";
    struct sink_config cfg;
    struct seen seen;
    char *out;

    (void)state;
    config_for(&cfg, 1);
    out = run(&cfg, in, strlen(in), NULL, 0, 0, &seen);
    assert_non_null(strstr(out, "354 End data with <CR><LF>.<CR><LF>\r\n"
                                "250 2.2.0 Ok\r\n250 2.2.0 Ok\r\n250 2.2.0 Ok\r\n221 Bye\r\n"));
    free(out);
}

static void test_session_long_line_gets_500_and_session_goes_on(void **state)
{
    static const char tail[] = "\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nNO\0OP\r\nQUIT\r\n";
    struct sink_config cfg;
    struct seen seen;
    char in[8192];
    char *out;
    size_t n;

    (void)state;
    config_for(&cfg, 0);
    n = (size_t)snprintf(in, sizeof(in), "NOOP ");
    memset(in + n, 'x', 600);
    n += 600;
    n += (size_t)snprintf(in + n, sizeof(in) - n, "\r\nNOOP ");
    memset(in + n, 'y', 5000);
    n += 5000;
    memcpy(in + n, tail, sizeof(tail) - 1);
    n += sizeof(tail) - 1;
    out = run(&cfg, in, n, NULL, 0, 0, &seen);
    assert_string_equal(out, "220 smtp-sink ESMTP\r\n500 5.5.2 Error: command line too long\r\n"
                        "500 5.5.2 Error: command line too long\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
                        "500 5.5.1 Error: unknown command\r\n221 Bye\r\n");
    free(out);
}

static void test_session_bdat_chunks(void **state)
{
    static const char in[] = "EHLO x\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\n"
                             "BDAT 12\r\nSubject: x\r\n"
                             "BDAT 6 LAST\r\nbody\r\nBDAT 3\r\nabcNOOP\r\n";
    struct sink_config cfg;
    struct seen seen;
    size_t len = strlen(in), i, cuts[1];
    char *out;

    (void)state;
    config_for(&cfg, 0);
    for (i = 1; i < len; i++) {
        cuts[0] = i;
        out = run(&cfg, in, len, cuts, 1, 0, &seen);
        assert_non_null(strstr(out, "250 \r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok: 12 octets\r\n"
                                    "250 2.0.0 Ok\r\n503 5.5.1 Error: need RCPT command\r\n"
                                    "250 2.0.0 Ok\r\n"));
        assert_int_equal(seen.messages, 1);
        assert_true(seen.bytes == 18);
        free(out);
    }
}

/* replies_mid_input - feed in[0..len) in two reads cut at cut (one read
 * when cut is 0 or past the end), taking the replies; returns whether any
 * reply was queued while sink_session_mid_input said part of the input was in. */
static int replies_mid_input(struct sink_session *s, const char *in, size_t len, size_t cut)
{
    enum sink_session_status st;
    struct out o = { NULL, 0 };
    size_t pos = 0, end, n;
    int mid = 0;

    while (pos < len) {
        end = cut > pos && cut < len ? cut : len;
        pos += sink_session_feed(s, in + pos, end - pos, &st);
        sink_session_output(s, &n);
        if (n > 0 && sink_session_mid_input(s))
            mid = 1;
        take_output(s, &o);
    }
    free(o.p);
    return mid;
}

/* lockstep_or_group - a session greeted by EHLO that is fed each of cmds
 * cut at cut; returns whether replies were ever queued mid-input, and
 * checks that messages were received. */
static int lockstep_or_group(const struct sink_config *cfg, const char *const *cmds, size_t cut,
                             int messages)
{
    struct sink_session_common common;
    struct sink_session s;
    struct seen seen;
    int mid = 0;

    memset(&seen, 0, sizeof(seen));
    assert_int_equal(sink_session_common_init(&common, cfg, NULL), 0);
    sink_session_init(&s, &common, &hooks, &seen, 1);
    (void)sink_session_start(&s, "127.0.0.1");
    (void)replies_mid_input(&s, "EHLO x\r\n", 8, 0);
    for (; *cmds; cmds++)
        mid |= replies_mid_input(&s, *cmds, strlen(*cmds), cut);
    assert_int_equal(seen.messages, messages);
    sink_session_end(&s);
    sink_session_release(&s);
    sink_session_common_release(&common);
    return mid;
}

/* A lock-step client never has replies queued while part of its input is
 * read (so the sink keeps Nagle for it), whatever the reads' cuts; a
 * pipelined BDAT group cut inside its chunk does (issue 19: the sink's cue
 * for TCP_NODELAY), and not when it comes in one read. */
static void test_session_mid_input_only_when_client_is_ahead(void **state)
{
    static const char *const lockstep[] = {
        "MAIL FROM:<a>\r\n", "RCPT TO:<b>\r\n", "DATA\r\n", "Subject: x\r\n\r\nbody\r\n.\r\n",
        "MAIL FROM:<a>\r\n", "RCPT TO:<b>\r\n", "BDAT 10 LAST\r\n0123456789", NULL,
    };
    static const char *const group[] = {
        "MAIL FROM:<a>\r\nRCPT TO:<b>\r\nBDAT 10 LAST\r\n0123456789", NULL,
    };
    size_t cut, len = strlen(group[0]);
    struct sink_config cfg;

    (void)state;
    config_for(&cfg, 0);
    for (cut = 1; cut < 30; cut++)
        assert_false(lockstep_or_group(&cfg, lockstep, cut, 2));
    for (cut = len - 9; cut < len; cut++)
        assert_true(lockstep_or_group(&cfg, group, cut, 1));
    assert_false(lockstep_or_group(&cfg, group, 0, 1));
}

static void test_session_reject_flags_and_unknown(void **state)
{
    static const char in[] = "HELO x\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nEHLO y\r\nconnect\r\nXYZZY\r\n\r\nQUIT\r\n";
    struct sink_config cfg;
    struct seen seen;
    char err[256];
    char *argv[] = { "sink", "-u", "nobody", "-f", "rcpt", "-r", "mail", "-e", ":25", "1", NULL };
    char *out;

    (void)state;
    sink_config_init(&cfg, "sink");
    assert_int_equal(sink_options_parse(&cfg, 10, argv, err, sizeof(err)), SINK_OPTIONS_RUN);
    out = run(&cfg, in, strlen(in), NULL, 0, 0, &seen);
    assert_string_equal(out, "220 smtp-sink\r\n250 smtp-sink\r\n450 4.3.0 Error: command failed\r\n"
                        "500 5.3.0 Error: command failed\r\n500 5.5.1 Error: unknown command\r\n"
                        "500 5.5.1 Error: unknown command\r\n500 5.5.1 Error: unknown command\r\n"
                        "500 5.5.2 Error: unknown command\r\n221 Bye\r\n");
    free(out);
}

static void test_session_many_pipelined_rcpts_bounded_output(void **state)
{
    struct sink_config cfg;
    struct seen seen;
    size_t n = 0, i, count = 0;
    char *in = malloc(20000 * 20 + 100), *out, *p;

    (void)state;
    config_for(&cfg, 0);
    n += (size_t)sprintf(in + n, "HELO x\r\nMAIL FROM:<a>\r\n");
    for (i = 0; i < 20000; i++)
        n += (size_t)sprintf(in + n, "RCPT TO:<r%zu>\r\n", i);
    n += (size_t)sprintf(in + n, "QUIT\r\n");
    out = run(&cfg, in, n, NULL, 0, 0, &seen);
    for (p = out; (p = strstr(p, "250 2.1.5 Ok\r\n")) != NULL; p++)
        count++;
    assert_int_equal(count, 20000);
    assert_non_null(strstr(out, "221 Bye\r\n"));
    free(out);
    free(in);
}

/* every_split - in gives want however it is split in two reads, and one
 * byte a read; the AUTH and message counts are the same each time. */
static void every_split(const struct sink_config *cfg, const char *in, const char *want, int auth_ok,
                        int auth_failed, int messages)
{
    struct seen seen;
    size_t len = strlen(in), i, cuts[1];
    char *out;

    for (i = 0; i <= len; i++) {
        cuts[0] = i;
        out = run(cfg, in, len, cuts, i < len ? 1 : 0, i == len, &seen);
        if (strcmp(out, want) != 0)
            fail_msg("split at %zu of %zu:\n got %s\nwant %s", i, len, out, want);
        assert_int_equal(seen.auth_ok, auth_ok);
        assert_int_equal(seen.auth_failed, auth_failed);
        assert_int_equal(seen.messages, messages);
        free(out);
    }
}

#define GREETING "220 smtp-sink ESMTP\r\n"
#define EHLO_DEFAULT "250-smtp-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n" \
    "250-XCLIENT NAME HELO\r\n250-XFORWARD NAME ADDR PROTO HELO\r\n250-ENHANCEDSTATUSCODES\r\n" \
    "250-DSN\r\n250-SIZE\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n250 \r\n"
#define PLAIN_ALICE "AGFsaWNlAHMzY3JldA=="      /* "\0alice\0s3cret" */
#define PLAIN_WRONG "AGFsaWNlAHdyb25n"          /* "\0alice\0wrong" */

static void test_session_ehlo_announces_smtputf8_by_default(void **state)
{
    static const char *const none[] = { NULL };
    struct sink_config cfg;

    (void)state;
    config_args(&cfg, none);
    every_split(&cfg, "EHLO x\r\nQUIT\r\n", GREETING EHLO_DEFAULT "221 Bye\r\n", 0, 0, 0);
}

static void test_session_auth_plain_with_initial_response_then_503(void **state)
{
    static const char *const none[] = { NULL };
    struct sink_config cfg;

    (void)state;
    config_args(&cfg, none);
    every_split(&cfg, "EHLO x\r\nAUTH PLAIN " PLAIN_ALICE "\r\nAUTH LOGIN\r\nMAIL FROM:<a>\r\nQUIT\r\n",
                GREETING EHLO_DEFAULT "235 2.7.0 Authentication successful\r\n"
                "503 5.5.1 Error: already authenticated\r\n250 2.1.0 Ok\r\n221 Bye\r\n", 1, 0, 0);
}

static void test_session_auth_plain_empty_challenge_and_login(void **state)
{
    static const char *const none[] = { NULL };
    struct sink_config cfg;

    (void)state;
    config_args(&cfg, none);
    every_split(&cfg, "AUTH PLAIN\r\n" PLAIN_ALICE "\r\nQUIT\r\n",
                GREETING "334 \r\n235 2.7.0 Authentication successful\r\n221 Bye\r\n", 1, 0, 0);
    every_split(&cfg, "AUTH LOGIN\r\nYWxpY2U=\r\nczNjcmV0\r\nQUIT\r\n",
                GREETING "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 2.7.0 Authentication successful\r\n"
                "221 Bye\r\n", 1, 0, 0);
    every_split(&cfg, "auth login YWxpY2U=\r\nczNjcmV0\r\nQUIT\r\n",
                GREETING "334 UGFzc3dvcmQ6\r\n235 2.7.0 Authentication successful\r\n221 Bye\r\n", 1, 0, 0);
}

static void test_session_auth_cancel_bad_base64_and_syntax(void **state)
{
    static const char *const none[] = { NULL };
    struct sink_config cfg;

    (void)state;
    config_args(&cfg, none);
    every_split(&cfg, "AUTH LOGIN\r\n*\r\nAUTH PLAIN\r\n*\r\nAUTH LOGIN YWxpY2U=\r\n*\r\nNOOP\r\n",
                GREETING "334 VXNlcm5hbWU6\r\n501 5.7.0 Authentication aborted\r\n"
                "334 \r\n501 5.7.0 Authentication aborted\r\n"
                "334 UGFzc3dvcmQ6\r\n501 5.7.0 Authentication aborted\r\n250 2.0.0 Ok\r\n", 0, 3, 0);
    every_split(&cfg, "AUTH PLAIN !!!!\r\nAUTH LOGIN\r\nYWxp=2U=\r\nAUTH PLAIN AGFsaWNl\x01\r\n"
                "AUTH PLAIN YQ=\r\nAUTH LOGIN\r\nYWxpY2U=\r\n====\r\nNOOP\r\n",
                GREETING "501 5.5.2 Cannot decode response\r\n334 VXNlcm5hbWU6\r\n"
                "501 5.5.2 Cannot decode response\r\n501 5.5.2 Cannot decode response\r\n"
                "501 5.5.2 Cannot decode response\r\n334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n"
                "501 5.5.2 Cannot decode response\r\n250 2.0.0 Ok\r\n", 0, 5, 0);
    every_split(&cfg, "AUTH\r\nAUTH CRAM-MD5\r\nAUTH PLAIN a b\r\nAUTH PLAIN YWJj\r\nAUTH PLAIN =\r\nNOOP\r\n",
                GREETING "501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n"
                "504 5.5.4 Unrecognized authentication type\r\n"
                "501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n"
                "535 5.7.8 Authentication credentials invalid\r\n"
                "535 5.7.8 Authentication credentials invalid\r\n250 2.0.0 Ok\r\n", 0, 2, 0);
}

static void test_session_auth_in_transaction_503(void **state)
{
    static const char *const none[] = { NULL };
    struct sink_config cfg;

    (void)state;
    config_args(&cfg, none);
    every_split(&cfg, "EHLO x\r\nMAIL FROM:<a>\r\nAUTH PLAIN " PLAIN_ALICE "\r\nRSET\r\nAUTH PLAIN "
                PLAIN_ALICE "\r\nQUIT\r\n",
                GREETING EHLO_DEFAULT "250 2.1.0 Ok\r\n503 5.5.1 Error: MAIL transaction in progress\r\n"
                "250 2.1.0 Ok\r\n235 2.7.0 Authentication successful\r\n221 Bye\r\n", 1, 0, 0);
}

static void test_session_auth_response_too_long_500(void **state)
{
    static const char *const none[] = { NULL };
    struct sink_config cfg;
    char in[4096];
    size_t n;

    (void)state;
    config_args(&cfg, none);
    n = (size_t)snprintf(in, sizeof(in), "AUTH LOGIN\r\n");
    memset(in + n, 'A', 2000);
    n += 2000;
    snprintf(in + n, sizeof(in) - n, "\r\nNOOP\r\n");
    every_split(&cfg, in, GREETING "334 VXNlcm5hbWU6\r\n500 5.5.6 Authentication Exchange line is too long\r\n"
                "250 2.0.0 Ok\r\n", 0, 1, 0);
}

static void test_session_auth_users_checked(void **state)
{
    char path[] = "/tmp/test_session_users.XXXXXX";
    const char *opts[] = { "--auth-users", path, NULL };
    struct sink_config cfg;
    FILE *f;
    int fd;

    (void)state;
    assert_true((fd = mkstemp(path)) >= 0);
    assert_non_null(f = fdopen(fd, "w"));
    fputs("# test users\nbob:pa:ss\r\n\nalice:s3cret\n", f);
    assert_int_equal(fclose(f), 0);
    config_args(&cfg, opts);
    unlink(path);
    every_split(&cfg, "AUTH PLAIN " PLAIN_WRONG "\r\nAUTH LOGIN YWxpY2U=\r\nd3Jvbmc=\r\n"
                "AUTH PLAIN AGJvYgBwYTpzcw==\r\nQUIT\r\n",           /* bob, pa:ss */
                GREETING "535 5.7.8 Authentication credentials invalid\r\n334 UGFzc3dvcmQ6\r\n"
                "535 5.7.8 Authentication credentials invalid\r\n"
                "235 2.7.0 Authentication successful\r\n221 Bye\r\n", 1, 2, 0);
    every_split(&cfg, "AUTH PLAIN Ym9iAGFsaWNlAHMzY3JldA==\r\n"         /* bob acting as alice */
                "AUTH PLAIN YWxpY2UAYWxpY2UAczNjcmV0\r\nQUIT\r\n",      /* alice as alice */
                GREETING "535 5.7.8 Authentication credentials invalid\r\n"
                "235 2.7.0 Authentication successful\r\n221 Bye\r\n", 1, 1, 0);
    sink_config_free(&cfg);
}

/* body_of - n octets of message: lines of 'x' ending in CRLF. */
static void body_of(char *out, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        out[i] = (i % 10 == 8) ? '\r' : (i % 10 == 9) ? '\n' : 'x';
    out[n] = '\0';
}

static void test_session_size_limit_at_mail_and_at_end(void **state)
{
    static const char *const opts[] = { "--size-limit", "100", NULL };
    struct sink_config cfg;
    char b100[101], b101[102], b60[61], b41[42], in[2048], want[2048];

    (void)state;
    config_args(&cfg, opts);
    body_of(b100, 100);
    body_of(b101, 100);
    memcpy(b101 + 100, "y", 2);     /* 101 octets: ...\r\ny then CRLF.CRLF's CRLF */
    body_of(b60, 60);
    body_of(b41, 41);
    snprintf(in, sizeof(in),
             "EHLO x\r\nMAIL FROM:<a> SIZE=101\r\nMAIL FROM:<a> SIZE=99999999999999999999999\r\n"
             "MAIL FROM:<a> SIZE=1x\r\nMAIL FROM:<\"a> SIZE=1\"@b> SIZE=100\r\nRCPT TO:<b>\r\n"
             "DATA\r\n%s\r\n.\r\n"
             "MAIL FROM:<a>\r\nRCPT TO:<b>\r\nBDAT 60\r\n%sBDAT 41 LAST\r\n%s"
             "MAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\n%s.\r\nQUIT\r\n", b101, b60, b41, b100);
    snprintf(want, sizeof(want), "%s%s", GREETING,
             "250-smtp-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n"
             "250-XCLIENT NAME HELO\r\n250-XFORWARD NAME ADDR PROTO HELO\r\n250-ENHANCEDSTATUSCODES\r\n"
             "250-DSN\r\n250-SIZE 100\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n250 \r\n"
             "552 5.3.4 Message size exceeds fixed limit\r\n552 5.3.4 Message size exceeds fixed limit\r\n"
             "501 5.5.4 Bad message size syntax\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
             "354 End data with <CR><LF>.<CR><LF>\r\n552 5.3.4 Message size exceeds fixed limit\r\n"
             "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok: 60 octets\r\n"
             "552 5.3.4 Message size exceeds fixed limit\r\n"
             "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok\r\n"
             "221 Bye\r\n");
    every_split(&cfg, in, want, 0, 0, 1);
}

/* An idle session holds no buffer of the loop's pools: taken while a
 * reply waits to be sent, a command or header line is half read or a
 * reply waits for its -W delay, given back as soon as none is. */
static void test_session_idle_holds_no_buffers(void **state)
{
    static const char *const opts[] = { "-W", "rset:1", NULL };
    struct sink_session_common common;
    struct sink_config cfg;
    struct sink_session s;
    struct seen seen;
    struct out o = { NULL, 0 };
    enum sink_session_status st;
    const char *half[] = { "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubj",
                           "ect: x\r\n\r\nbody\r\n.\r\nNO", "OP\r\n" };
    size_t i;

    (void)state;
    config_args(&cfg, opts);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(sink_session_common_init(&common, &cfg, NULL), 0);
    sink_session_init(&s, &common, &hooks, &seen, 1);
    (void)sink_session_start(&s, "127.0.0.1");
    assert_true(sink_session_holds_buffers(&s));        /* the greeting */
    take_output(&s, &o);
    assert_false(sink_session_holds_buffers(&s));
    for (i = 0; i < 3; i++) {
        assert_int_equal(sink_session_feed(&s, half[i], strlen(half[i]), &st), strlen(half[i]));
        assert_int_equal(st, SINK_SESSION_MORE);
        assert_true(sink_session_holds_buffers(&s));       /* replies */
        take_output(&s, &o);
        assert_true(sink_session_holds_buffers(&s) == (i < 2));    /* the half line */
    }
    assert_int_equal(seen.messages, 1);
    assert_int_equal(common.out_pool.taken + common.work_pool.taken, 0);
    assert_int_equal(sink_session_feed(&s, "RSET\r\n", 6, &st), 6);
    assert_int_equal(st, SINK_SESSION_PAUSE);
    assert_true(sink_session_holds_buffers(&s));        /* the delayed reply */
    assert_int_equal(sink_session_resume(&s), SINK_SESSION_MORE);
    take_output(&s, &o);
    assert_false(sink_session_holds_buffers(&s));
    assert_non_null(strstr(o.p, "250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n"));   /* NOOP, RSET */
    sink_session_end(&s);
    sink_session_release(&s);
    sink_session_common_release(&common);
    sink_config_free(&cfg);
    free(o.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_idle_holds_no_buffers),
        cmocka_unit_test(test_session_pipelined_in_one_read),
        cmocka_unit_test(test_session_split_at_every_boundary),
        cmocka_unit_test(test_session_one_byte_per_read),
        cmocka_unit_test(test_session_dot_split_across_reads),
        cmocka_unit_test(test_session_bare_lf_dot_does_not_end_data),
        cmocka_unit_test(test_session_end_of_data_at_every_offset),
        cmocka_unit_test(test_session_lmtp_one_reply_per_recipient),
        cmocka_unit_test(test_session_long_line_gets_500_and_session_goes_on),
        cmocka_unit_test(test_session_bdat_chunks),
        cmocka_unit_test(test_session_mid_input_only_when_client_is_ahead),
        cmocka_unit_test(test_session_reject_flags_and_unknown),
        cmocka_unit_test(test_session_many_pipelined_rcpts_bounded_output),
        cmocka_unit_test(test_session_ehlo_announces_smtputf8_by_default),
        cmocka_unit_test(test_session_auth_plain_with_initial_response_then_503),
        cmocka_unit_test(test_session_auth_plain_empty_challenge_and_login),
        cmocka_unit_test(test_session_auth_cancel_bad_base64_and_syntax),
        cmocka_unit_test(test_session_auth_in_transaction_503),
        cmocka_unit_test(test_session_auth_response_too_long_500),
        cmocka_unit_test(test_session_auth_users_checked),
        cmocka_unit_test(test_session_size_limit_at_mail_and_at_end),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
