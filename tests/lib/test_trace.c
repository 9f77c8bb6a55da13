/* test_trace.c - the trace header round-trips and rejects malformed lines. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "trace.h"

static void test_trace_format_then_parse_round_trips(void **state)
{
    struct trace in = { "c-20261123", "agent-1", 18446744073709551615ULL, 1795000000123456ULL }, out;
    char line[TRACE_LINE_MAX];
    int n;

    (void)state;
    n = trace_format(&in, line, sizeof(line));
    assert_true(n > 0);
    assert_string_equal(line, "X-Smtpstorm-Trace: c-20261123 agent-1 18446744073709551615 1795000000123456\r\n");
    assert_int_equal(trace_parse(line, (size_t)n, &out), 0);
    assert_string_equal(out.campaign, in.campaign);
    assert_string_equal(out.agent, in.agent);
    assert_true(out.seq == in.seq);
    assert_true(out.sent_us == in.sent_us);
    assert_int_equal(trace_parse(line + 18, strlen(line + 18), &out), 0);
}

/* A line stamped from a second formatted once is the line formatted
 * whole, for every send time, the second's first and last microsecond and
 * times before the first second among them; a second set again to the
 * same value keeps its text, and to another is formatted anew. */
static void test_trace_stamp_same_octets_as_whole(void **state)
{
    static const uint64_t times[] = {
        0, 1, 999999, 1000000, 1000001, 1764683344000000ULL, 1764683344000042ULL,
        1764683344999999ULL, 1764683345000000ULL, 18446744073709551615ULL,
    };
    struct trace_head h;
    struct trace_second s = { 0, 0, "" };
    struct trace t = { "c1", "a.1", 77, 0 };
    char whole[TRACE_LINE_MAX], stamped[TRACE_LINE_MAX], want[TRACE_LINE_MAX];
    size_t cap;
    int n, m;

    (void)state;
    assert_int_equal(trace_head_init(&h, t.campaign, t.agent), 0);
    assert_int_equal(trace_second_set(&s, 0), 1);      /* none yet: formatted */
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        t.sent_us = times[i];
        (void)trace_second_set(&s, times[i] / 1000000);
        assert_int_equal(trace_second_set(&s, times[i] / 1000000), 0);     /* the same: kept */
        snprintf(want, sizeof(want), "X-Smtpstorm-Trace: c1 a.1 77 %llu\r\n", (unsigned long long)times[i]);
        for (cap = 0; cap <= sizeof(whole); cap++) {
            n = trace_format(&t, whole, cap);
            m = trace_format_stamp(&h, t.seq, &s, (unsigned)(times[i] % 1000000), stamped, cap);
            assert_int_equal(n, m);
            if (cap == sizeof(whole)) {
                assert_int_equal(n, (int)strlen(want));
                assert_string_equal(whole, want);
                assert_string_equal(stamped, want);
            }
        }
    }
}

static void test_trace_parse_rejects_malformed(void **state)
{
    const char *bad[] = {
        "", "X-Smtpstorm-Trace:", "X-Smtpstorm-Trace: c a", "X-Smtpstorm-Trace: c a 1",
        "X-Smtpstorm-Trace: c a 1 2 extra", "X-Smtpstorm-Trace: c a 99999999999999999999 1",
        "X-Smtpstorm-Trace: c/x a 1 2", "X-Smtpstorm-Trace: c a -1 2",
    };
    struct trace t;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(trace_parse(bad[i], strlen(bad[i]), &t), -1);
}

static void test_trace_format_refuses_bad_ids(void **state)
{
    struct trace t = { "has space", "a", 1, 2 };
    char line[TRACE_LINE_MAX];

    (void)state;
    assert_int_equal(trace_format(&t, line, sizeof(line)), -1);
    memset(t.campaign, 'x', TRACE_ID_MAX - 1);      /* the longest id allowed */
    t.campaign[TRACE_ID_MAX - 1] = '\0';
    assert_true(trace_format(&t, line, sizeof(line)) > 0);
    assert_int_equal(trace_format(&t, line, 40), -1);   /* too small a buffer */
}

static void test_trace_tag_round_trips_and_keeps_the_domain(void **state)
{
    struct trace_tag tag = { trace_pair_key("c1", "ag0"), 0x1234 }, back;
    char out[256];
    int n;

    (void)state;
    n = trace_tag_sender("foo@example.test", &tag, out, sizeof(out));
    assert_int_equal(n, (int)strlen(out));
    assert_non_null(strstr(out, "foo+st-"));
    assert_non_null(strstr(out, "-1234@example.test"));
    assert_int_equal(trace_tag_parse(out, strlen(out), &back), 0);
    assert_true(back.key == tag.key && back.seq == tag.seq);
    /* no domain: the tag goes at the end; a subaddress before it stays */
    assert_true(trace_tag_sender("a+b", &tag, out, sizeof(out)) > 0);
    assert_int_equal(strncmp(out, "a+b+st-", 7), 0);
    assert_int_equal(trace_tag_parse(out, strlen(out), &back), 0);
    assert_true(back.seq == 0x1234);
    assert_int_equal(trace_tag_sender("foo@example.test", &tag, out, 20), -1);
    assert_true(trace_pair_key("c1", "ag0") != trace_pair_key("c1a", "g0"));
}

static void test_trace_tag_parse_rejects_malformed(void **state)
{
    static const char *bad[] = { "", "foo@x", "foo+st-@x", "foo+st-12@x", "foo+st-12-@x", "foo+st--1@x",
                                 "foo+st-12-3x@x", "foo+st-12345678901234567-1@x", "foo+st-1-2",
                                 "foo+st-A1-2@x" };
    struct trace_tag tag;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (trace_tag_parse(bad[i], strlen(bad[i]), &tag) == 0 && strcmp(bad[i], "foo+st-1-2") != 0)
            fail_msg("accepted %s", bad[i]);
    assert_int_equal(trace_tag_parse("foo+st-1-2", 10, &tag), 0);     /* no domain is fine */
    assert_int_equal(trace_tag_parse("foo+st-1-2@x", 9, &tag), -1);   /* never past len */
}

/* -N numbers: blocks of -r with stride 1, interleaved otherwise; two parts
 * of three never share one, whatever the recipients. */
static void test_trace_rcpt_numbers_never_shared(void **state)
{
    uint64_t a, b, n, m;

    (void)state;
    assert_int_equal(trace_rcpt_number(0, 1, 3, 0), 1);
    assert_int_equal(trace_rcpt_number(2, 1, 3, 4), 2 * 3 + 1 + 4);
    assert_int_equal(trace_rcpt_number(1, 3, 2, 0), 2);
    for (a = 0; a < 3; a++)
        for (b = a + 1; b < 3; b++)
            for (n = 0; n < 40; n++)
                for (m = 0; m < 40; m++)
                    assert_true(trace_rcpt_number(a, 3, 2, n) != trace_rcpt_number(b, 3, 2, m));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_format_then_parse_round_trips),
        cmocka_unit_test(test_trace_stamp_same_octets_as_whole),
        cmocka_unit_test(test_trace_parse_rejects_malformed),
        cmocka_unit_test(test_trace_format_refuses_bad_ids),
        cmocka_unit_test(test_trace_tag_round_trips_and_keeps_the_domain),
        cmocka_unit_test(test_trace_tag_parse_rejects_malformed),
        cmocka_unit_test(test_trace_rcpt_numbers_never_shared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
