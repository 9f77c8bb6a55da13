/* test_reply.c - the agent's SMTP reply parser: single and multi-line
 * replies fed whole and split at every byte, several replies in one read
 * (pipelining), bare LF, censoring, and malformed input refused; a reply
 * fed whole (where the parser takes a simple one-line reply in one step)
 * gives what it gives fed octet by octet, at every length limit. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "reply.h"

/* feed_all - feed input in pieces of at most step octets; collect the
 * codes and texts of complete replies. Returns the count or a negative
 * parser error. */
static int feed_all(const char *input, size_t len, size_t step, int *codes, char texts[][REPLY_TEXT_MAX],
                    int max)
{
    static char text[REPLY_TEXT_MAX];
    struct reply r;
    size_t off = 0, piece, used, done;
    int n = 0, rc;

    reply_init(&r, text);
    while (off < len) {
        piece = len - off < step ? len - off : step;
        for (done = 0; done < piece; done += used) {
            rc = reply_feed(&r, input + off + done, piece - done, &used);
            if (rc < 0)
                return rc;
            if (rc == 1) {
                if (n < max) {
                    codes[n] = r.code;
                    memcpy(texts[n], r.text, REPLY_TEXT_MAX);
                }
                n++;
                reply_reset(&r);
            }
        }
        off += piece;
    }
    return n;
}

static void test_reply_single_line(void **state)
{
    int codes[4];
    char texts[4][REPLY_TEXT_MAX];

    (void)state;
    assert_int_equal(feed_all("250 2.0.0 Ok\r\n", 14, 100, codes, texts, 4), 1);
    assert_int_equal(codes[0], 250);
    assert_string_equal(texts[0], "2.0.0 Ok");
}

static void test_reply_multi_line_split_at_every_byte(void **state)
{
    const char *in = "250-smtp.example.com\r\n250-PIPELINING\r\n250-SIZE 1000\r\n"
                     "250-AUTH PLAIN LOGIN\r\n250 CHUNKING\r\n354 go ahead\r\n";
    size_t len = strlen(in), step;
    int codes[4];
    char texts[4][REPLY_TEXT_MAX];

    (void)state;
    for (step = 1; step <= len; step++) {
        assert_int_equal(feed_all(in, len, step, codes, texts, 4), 2);
        assert_int_equal(codes[0], 250);
        assert_string_equal(texts[0], "smtp.example.com\nPIPELINING\nSIZE 1000\nAUTH PLAIN LOGIN\nCHUNKING");
        assert_int_equal(codes[1], 354);
        assert_string_equal(texts[1], "go ahead");
    }
}

static void test_reply_pipelined_replies_in_one_read(void **state)
{
    const char *in = "250 sender ok\r\n250 rcpt ok\r\n550 no such user\r\n354 data\r\n";
    int codes[8];
    char texts[8][REPLY_TEXT_MAX];

    (void)state;
    assert_int_equal(feed_all(in, strlen(in), strlen(in), codes, texts, 8), 4);
    assert_int_equal(codes[0], 250);
    assert_int_equal(codes[1], 250);
    assert_int_equal(codes[2], 550);
    assert_string_equal(texts[2], "no such user");
    assert_int_equal(codes[3], 354);
}

static void test_reply_bare_lf_and_code_only(void **state)
{
    int codes[4];
    char texts[4][REPLY_TEXT_MAX];

    (void)state;
    assert_int_equal(feed_all("220 hi\n250\r\n221\n", 16, 3, codes, texts, 4), 3);
    assert_int_equal(codes[0], 220);
    assert_string_equal(texts[0], "hi");
    assert_int_equal(codes[1], 250);
    assert_string_equal(texts[1], "");
    assert_int_equal(codes[2], 221);
}

static void test_reply_censors_nonprintable(void **state)
{
    int codes[2];
    char texts[2][REPLY_TEXT_MAX];

    (void)state;
    assert_int_equal(feed_all("250 a\001b\377c\r\n", 11, 100, codes, texts, 2), 1);
    assert_string_equal(texts[0], "a?b?c");
    /* a CR inside the text is dropped, a tab kept, whatever the split */
    for (size_t step = 1; step <= 12; step++) {
        assert_int_equal(feed_all("250 a\rb\tc\r\r\n", 12, step, codes, texts, 2), 1);
        assert_string_equal(texts[0], "ab\tc");
        assert_int_equal(feed_all("250 a\001b\377c\r\n", 11, step, codes, texts, 2), 1);
        assert_string_equal(texts[0], "a?b?c");
    }
}

static void test_reply_rejects_malformed(void **state)
{
    const char *bad[] = {
        "hello world\r\n", "25 short\r\n", "2500 too long code\r\n", "250x bad separator\r\n",
        "\r\n", "abc\r\n", "250-first\r\nxyz\r\n",
    };
    int codes[4];
    char texts[4][REPLY_TEXT_MAX];
    size_t i, step;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        for (step = 1; step <= strlen(bad[i]); step++)
            assert_int_equal(feed_all(bad[i], strlen(bad[i]), step, codes, texts, 4), -EPROTO);
}

static void test_reply_rejects_endless_line_and_too_many_lines(void **state)
{
    static char big[REPLY_LINE_MAX + 64];
    static char many[(REPLY_LINES_MAX + 2) * 6 + 8];
    static char text[REPLY_TEXT_MAX];
    struct reply r;
    size_t used, off = 0;
    int i, rc = 0;

    (void)state;
    memset(big, 'x', sizeof(big));
    memcpy(big, "250 ", 4);
    reply_init(&r, text);
    assert_int_equal(reply_feed(&r, big, sizeof(big), &used), -EPROTO);
    assert_true(used <= REPLY_LINE_MAX + 1);
    for (i = 0; i < REPLY_LINES_MAX + 2; i++) {
        memcpy(many + off, "250-x\n", 6);
        off += 6;
    }
    reply_reset(&r);
    rc = reply_feed(&r, many, off, &used);
    assert_int_equal(rc, -EPROTO);
}

/* one_line - "250 " then text_len octets of fill, then end (CRLF, LF, ...),
 * into a malloc'd buffer (the caller frees); *len is its length. */
static char *one_line(size_t text_len, char fill, const char *end, size_t *len)
{
    char *s = malloc(4 + text_len + strlen(end) + 1);

    assert_non_null(s);
    memcpy(s, "250 ", 4);
    memset(s + 4, fill, text_len);
    strcpy(s + 4 + text_len, end);
    *len = 4 + text_len + strlen(end);
    return s;
}

static void assert_whole_as_octets(const char *in, size_t len)
{
    static int codes[2][3];
    static char texts[2][3][REPLY_TEXT_MAX];
    int whole = feed_all(in, len, len, codes[0], texts[0], 3);
    int octets = feed_all(in, len, 1, codes[1], texts[1], 3);

    assert_int_equal(whole, octets);
    for (int i = 0; i < whole && i < 3; i++) {
        assert_int_equal(codes[0][i], codes[1][i]);
        assert_string_equal(texts[0][i], texts[1][i]);
    }
}

static void test_reply_whole_equals_octet_by_octet(void **state)
{
    const char *small[] = {
        "250 2.0.0 Ok\r\n", "250 \r\n", "250 \n", "250 x\n", "250 a\rb\r\n", "250 a\tb\r\n",
        "250 caf\xc3\xa9\r\n", "250 del\x7f\r\n", "250\r\n", "250-a\r\n250 b\r\n", "250 a\r\r\n",
        "354 go ahead\r\n250 then\r\n", "25x no\r\n", "250 no end",
    };
    const size_t lengths[] = {
        REPLY_TEXT_MAX - 4, REPLY_TEXT_MAX - 3, REPLY_TEXT_MAX - 2, REPLY_TEXT_MAX - 1, REPLY_TEXT_MAX,
        REPLY_TEXT_MAX + 7, REPLY_LINE_MAX - 6, REPLY_LINE_MAX - 5, REPLY_LINE_MAX - 4, REPLY_LINE_MAX - 3,
    };
    const char *ends[] = { "\r\n", "\n" };
    size_t i, e, len;
    char *in;

    (void)state;
    for (i = 0; i < sizeof(small) / sizeof(small[0]); i++)
        assert_whole_as_octets(small[i], strlen(small[i]));
    for (i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++)
        for (e = 0; e < 2; e++) {
            in = one_line(lengths[i], 'y', ends[e], &len);
            assert_whole_as_octets(in, len);
            free(in);
        }
}

static void test_reply_keywords(void **state)
{
    const char *in = "250-mx.example.com greets you\r\n250-PIPELINING\r\n250-auth=LOGIN\r\n"
                     "250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n";
    static char text[REPLY_TEXT_MAX];
    struct reply r;
    const char *params;
    size_t used, plen;

    (void)state;
    reply_init(&r, text);
    assert_int_equal(reply_feed(&r, in, strlen(in), &used), 1);
    assert_true(reply_has_keyword(&r, "pipelining", NULL, NULL));
    assert_true(reply_has_keyword(&r, "STARTTLS", NULL, NULL));
    assert_false(reply_has_keyword(&r, "CHUNKING", NULL, NULL));
    assert_false(reply_has_keyword(&r, "mx.example.com", NULL, NULL));    /* greeting line */
    assert_true(reply_has_keyword(&r, "AUTH", &params, &plen));
    assert_int_equal(plen, strlen("PLAIN LOGIN"));  /* not the old AUTH=LOGIN form */
    assert_memory_equal(params, "PLAIN LOGIN", plen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_single_line),
        cmocka_unit_test(test_reply_multi_line_split_at_every_byte),
        cmocka_unit_test(test_reply_pipelined_replies_in_one_read),
        cmocka_unit_test(test_reply_bare_lf_and_code_only),
        cmocka_unit_test(test_reply_censors_nonprintable),
        cmocka_unit_test(test_reply_rejects_malformed),
        cmocka_unit_test(test_reply_rejects_endless_line_and_too_many_lines),
        cmocka_unit_test(test_reply_keywords),
        cmocka_unit_test(test_reply_whole_equals_octet_by_octet),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
