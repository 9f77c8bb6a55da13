/* test_message.c - the message smtp-source sends: -l payload shape, the
 * default body, -F dot-stuffing and CRLF, recipient names for -r and -N,
 * the headers, and exact workload splitting across threads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "auth.h"
#include "message.h"
#include "workload.h"

/* check_lines - every line ends in CRLF, has no other CR or LF, is at most
 * max octets with CRLF, and none starts with '.' unless stuffed. */
static void check_lines(const char *p, size_t len, size_t max)
{
    size_t start = 0, i;

    for (i = 0; i < len; i++) {
        if (p[i] != '\n')
            continue;
        assert_true(i > start && p[i - 1] == '\r');
        assert_true(i + 1 - start <= max);
        assert_null(memchr(p + start, '\r', i - 1 - start));
        start = i + 1;
    }
    assert_int_equal(start, len);
}

static void test_message_payload_length_and_line_shape(void **state)
{
    size_t lengths[] = { 1, 2, 78, 79, 80, 81, 159, 160, 161, 200, 5000, 65536 };
    struct message_payload p;
    size_t i, j, line;

    (void)state;
    for (i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        assert_int_equal(message_payload_generate(lengths[i], &p), 0);
        assert_int_equal(p.len, lengths[i] + 2);       /* -l octets plus the CRLF smtp-source adds */
        assert_ptr_equal(p.raw, p.data);
        check_lines(p.data, p.len, 82);    /* 80, or 80 X + CRLF at the end as smtp-source */
        for (j = 0, line = 1; j + 80 < lengths[i]; j += 80, line++) {
            assert_int_equal(p.data[j], "0123456789"[line % 10]);   /* numbered lines */
            assert_memory_equal(p.data + j + 78, "\r\n", 2);
        }
        message_payload_free(&p);
    }
}

static void test_message_payload_200_matches_smtp_source(void **state)
{
    struct message_payload p;
    char want[203];

    (void)state;
    memset(want, 'X', sizeof(want));
    want[0] = '1';
    memcpy(want + 78, "\r\n", 2);
    want[80] = '2';
    memcpy(want + 158, "\r\n", 2);
    memcpy(want + 200, "\r\n", 2);
    assert_int_equal(message_payload_generate(200, &p), 0);
    assert_int_equal(p.len, 202);
    assert_memory_equal(p.data, want, 202);
    message_payload_free(&p);
}

static void test_message_payload_default_is_la_de_da(void **state)
{
    struct message_payload p;

    (void)state;
    assert_int_equal(message_payload_generate(0, &p), 0);
    assert_int_equal(p.len, 4 * 19);
    assert_memory_equal(p.data, "La de da de da 1.\r\nLa de da de da 2.\r\n", 38);
    message_payload_free(&p);
}

static void test_message_file_dot_stuffed_crlf_added(void **state)
{
    const char *text = "Subject: x\n.dot line\n..two\nbody\n\n.\nlast";
    const char *data = "Subject: x\r\n..dot line\r\n...two\r\nbody\r\n\r\n..\r\nlast\r\n\r\n";
    const char *raw = "Subject: x\r\n.dot line\r\n..two\r\nbody\r\n\r\n.\r\nlast\r\n\r\n";
    struct message_payload p;

    (void)state;
    assert_int_equal(message_payload_from_text(text, strlen(text), &p), 0);
    assert_int_equal(p.len, strlen(data));
    assert_memory_equal(p.data, data, p.len);
    assert_int_equal(p.raw_len, strlen(raw));
    assert_memory_equal(p.raw, raw, p.raw_len);
    message_payload_free(&p);
}

static void test_message_file_keeps_cr_as_smtp_source_does(void **state)
{
    struct message_payload p;

    (void)state;
    assert_int_equal(message_payload_from_text("a\r\nb\n", 5, &p), 0);
    assert_int_equal(p.len, strlen("a\r\r\nb\r\n\r\n"));
    assert_memory_equal(p.data, "a\r\r\nb\r\n\r\n", p.len);
    message_payload_free(&p);
    assert_int_equal(message_payload_from_text("", 0, &p), 0);     /* empty: the default body */
    assert_memory_equal(p.data, "La de da", 8);
    message_payload_free(&p);
}

static void test_message_rcpt_names(void **state)
{
    char out[64];

    (void)state;
    /* -r 3: smtp-source counts down and the last one is plain */
    assert_int_equal(message_rcpt_format(out, sizeof(out), "foo@vm", 3, 0), 9);
    assert_string_equal(out, "<3foo@vm>");
    message_rcpt_format(out, sizeof(out), "foo@vm", 2, 0);
    assert_string_equal(out, "<2foo@vm>");
    message_rcpt_format(out, sizeof(out), "foo@vm", 1, 0);
    assert_string_equal(out, "<foo@vm>");
    /* -N: the sequence number, even for one recipient */
    message_rcpt_format(out, sizeof(out), "foo@vm", 1, 17);
    assert_string_equal(out, "<17foo@vm>");
    assert_int_equal(message_rcpt_format(out, 8, "foo@vm", 1, 123456), -1);
}

static void test_message_headers(void **state)
{
    struct message_header_vars v = { "a@b", "c@d", "Mon, 23 Nov 2026 18:24:09 +0000 (UTC)", "vm",
                                     NULL, 0x1381, 3, 1 };
    char out[512];
    int n;

    (void)state;
    n = message_headers_format(out, sizeof(out), &v);
    assert_string_equal(out, "From: <a@b>\r\nTo: <c@d>\r\nDate: Mon, 23 Nov 2026 18:24:09 +0000 (UTC)\r\n"
                        "Message-Id: <1381.0003.0001@vm>\r\n\r\n");
    assert_int_equal(n, (int)strlen(out));
    assert_true((size_t)n <= message_headers_max(&v));
    v.subject = "hello there";
    message_headers_format(out, sizeof(out), &v);
    assert_non_null(strstr(out, "\r\nSubject: hello there\r\n\r\n"));
    assert_int_equal(message_headers_format(out, 20, &v), -1);
}

/* The headers formatted from their repeated part, and from the text a
 * second of messages repeats (what a session does), are those formatted
 * whole, octet for octet, and fail as they do. */
static void test_message_headers_fixed_same_octets(void **state)
{
    static const char *const subjects[] = { NULL, "", "hello there" };
    static const unsigned numbers[][3] = {
        { 0x1381, 3, 1 }, { 0, 0, 0 }, { 0xffffffffu, 0x12345, 0xabcdef }, { 7, 1023, 100000 },
    };
    struct message_headers_fixed f;
    char whole[1024], fixed[1024], from_head[1024], id[MESSAGE_ID_PREFIX_MAX], head[MESSAGE_HEAD_MAX];
    size_t id_len, cap;
    int n, m, h, k2;

    (void)state;
    for (size_t s = 0; s < sizeof(subjects) / sizeof(subjects[0]); s++) {
        for (size_t k = 0; k < sizeof(numbers) / sizeof(numbers[0]); k++) {
            struct message_header_vars v = { "a@b", "rcpt@there.test", "Mon, 23 Nov 2026 18:24:09 +0000 (UTC)",
                                             "vm.example", subjects[s], numbers[k][0], numbers[k][1],
                                             numbers[k][2] };

            assert_int_equal(message_headers_fixed_init(&f, v.recipient, v.myhostname, v.subject), 0);
            id_len = message_id_prefix(id, v.pid, v.fd);
            assert_int_equal(id_len, strlen(id));
            h = message_head_format(head, sizeof(head), &f, v.sender, v.date);
            assert_true(h > 0);
            assert_int_equal(message_head_format(head, (size_t)h - 1, &f, v.sender, v.date), -1);
            for (cap = 0; cap <= 200; cap++) {      /* every size, to well past the need */
                memset(whole, 'x', sizeof(whole));
                memset(fixed, 'x', sizeof(fixed));
                memset(from_head, 'x', sizeof(from_head));
                n = message_headers_format(whole, cap, &v);
                m = message_headers_format_fixed(fixed, cap, &f, v.sender, v.date, id, id_len, v.count);
                k2 = message_headers_format_head(from_head, cap, &f, head, (size_t)h, id, id_len, v.count);
                assert_int_equal(n, m);
                assert_int_equal(n, k2);
                if (n >= 0) {
                    assert_memory_equal(whole, fixed, (size_t)n + 1);
                    assert_memory_equal(whole, from_head, (size_t)n + 1);
                }
            }
            assert_true(n > 0);
        }
    }
    memset(whole, 'h', 700);        /* a host name longer than the repeated part holds */
    whole[700] = '\0';
    assert_int_equal(message_headers_fixed_init(&f, "c@d", whole, NULL), -1);
    assert_int_equal(f.to_len, 0);
}

static void test_workload_split_sums_exactly(void **state)
{
    struct workload w, part;
    uint64_t messages = 0, seen[64] = { 0 };
    int sessions = 0, i, k;
    double rate = 0;

    (void)state;
    workload_defaults(&w);
    w.sessions = 7;
    w.messages = 1001;
    w.rate = 400;
    for (i = 0; i < 3; i++) {
        assert_int_equal(workload_split(&w, 3, i, &part), 0);
        sessions += part.sessions;
        messages += part.messages;
        rate += part.rate;
        for (k = 0; k < 5; k++) {   /* -N numbers never collide between parts */
            uint64_t n = part.rcpt_number_first + (uint64_t)k * part.rcpt_number_stride;

            assert_true(n < 64);
            assert_int_equal(seen[n]++, 0);
        }
    }
    assert_int_equal(sessions, 7);
    assert_int_equal(messages, 1001);
    assert_true(rate > 399.999 && rate < 400.001);
    assert_int_equal(workload_split(&w, 8, 0, &part), -22);     /* more parts than sessions */
}

static void test_auth_plain_and_base64(void **state)
{
    char out[AUTH_B64_MAX];

    (void)state;
    assert_int_equal(auth_plain("user", "pass", out, sizeof(out)), 16);
    assert_string_equal(out, "AHVzZXIAcGFzcw==");
    auth_base64("ab", 2, out, sizeof(out));
    assert_string_equal(out, "YWI=");
    assert_int_equal(auth_pick("LOGIN PLAIN", 11), AUTH_PLAIN);
    assert_int_equal(auth_pick("CRAM-MD5 LOGIN", 14), AUTH_LOGIN);
    assert_int_equal(auth_pick("CRAM-MD5", 8), AUTH_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_payload_length_and_line_shape),
        cmocka_unit_test(test_message_payload_200_matches_smtp_source),
        cmocka_unit_test(test_message_payload_default_is_la_de_da),
        cmocka_unit_test(test_message_file_dot_stuffed_crlf_added),
        cmocka_unit_test(test_message_file_keeps_cr_as_smtp_source_does),
        cmocka_unit_test(test_message_rcpt_names),
        cmocka_unit_test(test_message_headers),
        cmocka_unit_test(test_message_headers_fixed_same_octets),
        cmocka_unit_test(test_workload_split_sums_exactly),
        cmocka_unit_test(test_auth_plain_and_base64),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
