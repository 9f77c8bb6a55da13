/* test_session.c - the sink's SMTP state machine gives the same replies
 * however the input is split into reads, and pins smtp-sink's replies. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "session.h"

struct seen {
    int messages;
    int traced;
    uint64_t bytes;
    struct trace last;
    int quits;
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

static const struct session_hooks hooks = { on_message, on_quit };

/* A growing reply transcript. */
struct out {
    char *p;
    size_t len;
};

static void take_output(struct session *s, struct out *o)
{
    size_t n;
    const char *p = session_output(s, &n);

    o->p = realloc(o->p, o->len + n + 1);
    memcpy(o->p + o->len, p, n);
    o->len += n;
    o->p[o->len] = '\0';
    session_output_consume(s, n);
}

static void config_for(struct sink_config *cfg, int lmtp)
{
    char err[256];
    char *argv[] = { "sink", "-u", "nobody", lmtp ? "-L" : "-c", "127.0.0.1:25", "10", NULL };

    sink_config_init(cfg, "sink");
    assert_int_equal(sink_options_parse(cfg, 6, argv, err, sizeof(err)), SINK_OPTIONS_RUN);
}

/* run - feed input in pieces whose ends are cuts[0..ncuts) (sorted), with
 * one byte a read when bytewise; returns the replies. */
static char *run(const struct sink_config *cfg, const char *in, size_t len, const size_t *cuts,
                 size_t ncuts, int bytewise, struct seen *seen)
{
    struct session s;
    struct out o = { NULL, 0 };
    enum session_status st = SESSION_MORE;
    size_t pos = 0, end, k = 0, used;

    memset(seen, 0, sizeof(*seen));
    assert_int_equal(session_init(&s, cfg, NULL, &hooks, seen, 1), 0);
    st = session_start(&s, "127.0.0.1");
    take_output(&s, &o);
    while (pos < len && st != SESSION_CLOSE) {
        end = bytewise ? pos + 1 : k < ncuts ? cuts[k++] : len;
        if (end <= pos)
            continue;
        while (pos < end && st != SESSION_CLOSE) {
            used = session_feed(&s, in + pos, end - pos, &st);
            pos += used;
            take_output(&s, &o);
            assert_true(st != SESSION_PAUSE);
        }
    }
    session_end(&s);
    session_release(&s);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_pipelined_in_one_read),
        cmocka_unit_test(test_session_split_at_every_boundary),
        cmocka_unit_test(test_session_one_byte_per_read),
        cmocka_unit_test(test_session_dot_split_across_reads),
        cmocka_unit_test(test_session_bare_lf_dot_does_not_end_data),
        cmocka_unit_test(test_session_lmtp_one_reply_per_recipient),
        cmocka_unit_test(test_session_long_line_gets_500_and_session_goes_on),
        cmocka_unit_test(test_session_bdat_chunks),
        cmocka_unit_test(test_session_reject_flags_and_unknown),
        cmocka_unit_test(test_session_many_pipelined_rcpts_bounded_output),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
