/* test_textbuf.c - the printf-free appender: numbers as printf prints
 * them, and an overflow that sticks and writes past nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "textbuf.h"

static void test_textbuf_numbers_match_printf(void **state)
{
    const uint64_t values[] = { 0, 1, 9, 10, 15, 16, 99, 100, 101, 255, 999, 1000, 4096, 65535, 65536, 99999999,
                                4294967295ULL, 18446744073709551615ULL };
    char got[64], want[64];
    struct textbuf b;

    (void)state;
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        textbuf_init(&b, got, sizeof(got));
        textbuf_u64(&b, values[i]);
        textbuf_put(&b, " ", 1);
        textbuf_hex(&b, values[i], 4);
        textbuf_put(&b, " ", 1);
        textbuf_hex(&b, values[i], 0);
        assert_false(b.overflow);
        snprintf(want, sizeof(want), "%llu %04llx %llx", (unsigned long long)values[i],
                 (unsigned long long)values[i], (unsigned long long)values[i]);
        assert_int_equal(b.len, strlen(want));
        assert_memory_equal(got, want, b.len);
    }
}

/* Every length a number can have, at both its ends (10^k - 1 and 10^k,
 * 16^k - 1 and 16^k), as printf prints it. */
static void test_textbuf_numbers_at_every_length_match_printf(void **state)
{
    char got[64], want[64];
    struct textbuf b;
    uint64_t p10 = 1, p16 = 1;

    (void)state;
    for (int k = 0; k < 40; k++) {
        const uint64_t values[] = { p10 - 1, p10, p10 + 1, p16 - 1, p16, p16 + 1 };

        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
            for (int width = 0; width <= 17; width++) {
                textbuf_init(&b, got, sizeof(got));
                textbuf_u64(&b, values[i]);
                textbuf_put(&b, " ", 1);
                textbuf_hex(&b, values[i], width);
                textbuf_put(&b, " ", 1);
                textbuf_u64_width(&b, values[i], (unsigned)width + 3);
                assert_false(b.overflow);
                snprintf(want, sizeof(want), "%llu %0*llx %0*llu", (unsigned long long)values[i],
                         width > 16 ? 16 : width, (unsigned long long)values[i], width + 3,
                         (unsigned long long)values[i]);
                assert_int_equal(b.len, strlen(want));
                assert_memory_equal(got, want, b.len);
            }
        }
        if (k < 19)
            p10 *= 10;
        else
            p10 = UINT64_MAX;           /* then 2^64 - 1 and its wrap to 0 */
        p16 = k < 15 ? p16 * 16 : UINT64_MAX;
    }
}

/* A number that does not fit writes nothing and sets the flag. */
static void test_textbuf_number_that_does_not_fit_writes_nothing(void **state)
{
    char buf[8];
    struct textbuf b;

    (void)state;
    memset(buf, '#', sizeof(buf));
    textbuf_init(&b, buf, 4);
    textbuf_u64(&b, 12345);
    assert_true(b.overflow);
    assert_memory_equal(buf, "########", 8);
    textbuf_init(&b, buf, 4);
    textbuf_hex(&b, 0xabc, 5);
    assert_true(b.overflow);
    assert_memory_equal(buf, "########", 8);
    textbuf_init(&b, buf, 4);
    textbuf_u64(&b, 1234);              /* exactly full */
    assert_false(b.overflow);
    assert_memory_equal(buf, "1234####", 8);
}

static void test_textbuf_overflow_sticks_and_writes_nothing_past_cap(void **state)
{
    char buf[8];
    struct textbuf b;

    (void)state;
    memset(buf, '#', sizeof(buf));
    textbuf_init(&b, buf, 5);
    textbuf_str(&b, "abc");
    textbuf_str(&b, "def");             /* does not fit */
    assert_true(b.overflow);
    textbuf_str(&b, "g");               /* would fit, but the line is already lost */
    assert_int_equal(b.len, 3);
    textbuf_u64(&b, 1);
    assert_int_equal(b.len, 3);
    assert_memory_equal(buf, "abc##", 5);
    textbuf_init(&b, buf, 5);
    textbuf_str(&b, "abcde");           /* exactly full */
    assert_false(b.overflow);
    textbuf_u64(&b, 7);
    assert_true(b.overflow);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_textbuf_numbers_match_printf),
        cmocka_unit_test(test_textbuf_numbers_at_every_length_match_printf),
        cmocka_unit_test(test_textbuf_number_that_does_not_fit_writes_nothing),
        cmocka_unit_test(test_textbuf_overflow_sticks_and_writes_nothing_past_cap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
