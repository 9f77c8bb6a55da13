/* test_number.c - strict number parsing: whole string, range, no sign
 * unless allowed, no overflow. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>

#include "number.h"

static void test_number_parse_long_accepts_whole_numbers_in_range(void **state)
{
    long v = 7;

    (void)state;
    assert_int_equal(number_parse_long("0", 0, 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(number_parse_long("10", 0, 10, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(number_parse_long("-3", -5, 5, &v), 0);
    assert_int_equal(v, -3);
}

static void test_number_parse_long_refuses_junk(void **state)
{
    const char *bad[] = { "", " 1", "1 ", "2x", "+1", "-1", "11", "0x10", "99999999999999999999", NULL };
    long v = 42;
    int i;

    (void)state;
    for (i = 0; bad[i]; i++)
        assert_int_equal(number_parse_long(bad[i], 0, 10, &v), -EINVAL);
    assert_int_equal(number_parse_long(NULL, 0, 10, &v), -EINVAL);
    assert_int_equal(v, 42);
}

static void test_number_parse_u64_full_range(void **state)
{
    uint64_t v = 0;

    (void)state;
    assert_int_equal(number_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(number_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -EINVAL);
    assert_int_equal(number_parse_u64("-1", 0, UINT64_MAX, &v), -EINVAL);
    assert_int_equal(number_parse_u64("0", 1, 5, &v), -EINVAL);
}

static void test_number_parse_double_bounds(void **state)
{
    double v = 0;

    (void)state;
    assert_int_equal(number_parse_double("0.5", 0, 1, &v), 0);
    assert_true(v == 0.5);
    assert_int_equal(number_parse_double(".25", 0, 1, &v), 0);
    assert_int_equal(number_parse_double("1e3", 0, 1e6, &v), 0);
    assert_true(v == 1000);
    assert_int_equal(number_parse_double("nan", 0, 1, &v), -EINVAL);
    assert_int_equal(number_parse_double("inf", 0, 1e300, &v), -EINVAL);
    assert_int_equal(number_parse_double("1e999", 0, 1e300, &v), -EINVAL);
    assert_int_equal(number_parse_double("-1", -5, 1, &v), -EINVAL);
    assert_int_equal(number_parse_double("2", 0, 1, &v), -EINVAL);
    assert_int_equal(number_parse_double("1s", 0, 10, &v), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_number_parse_long_accepts_whole_numbers_in_range),
        cmocka_unit_test(test_number_parse_long_refuses_junk),
        cmocka_unit_test(test_number_parse_u64_full_range),
        cmocka_unit_test(test_number_parse_double_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
