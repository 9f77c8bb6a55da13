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
        cmocka_unit_test(test_textbuf_overflow_sticks_and_writes_nothing_past_cap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
