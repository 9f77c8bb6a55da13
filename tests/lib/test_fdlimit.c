/* test_fdlimit.c - the descriptor limit raised within the hard limit, and
 * a clear error when the hard limit is too low. Each test lowers the
 * limits of this test process only (the hard one cannot be raised back,
 * so the test that lowers it runs last). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <cmocka.h>

#include "fdlimit.h"

static void set_soft(rlim_t soft)
{
    struct rlimit rl;

    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = soft;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

static rlim_t soft_now(void)
{
    struct rlimit rl;

    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    return rl.rlim_cur;
}

static void test_fdlimit_raises_soft_to_need(void **state)
{
    struct rlimit rl;
    uint64_t now = 0;
    char err[256] = "";

    (void)state;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 200)
        skip();
    set_soft(64);
    assert_int_equal(fdlimit_ensure(200, &now, err, sizeof(err)), 0);
    assert_int_equal(now, 200);
    assert_int_equal(soft_now(), 200);
}

static void test_fdlimit_leaves_a_higher_limit_alone(void **state)
{
    uint64_t now = 0;
    char err[256] = "";

    (void)state;
    set_soft(150);
    assert_int_equal(fdlimit_ensure(100, &now, err, sizeof(err)), 0);
    assert_int_equal(now, 150);
    assert_int_equal(soft_now(), 150);
}

static void test_fdlimit_hard_limit_too_low_says_both_numbers(void **state)
{
    struct rlimit rl = { 90, 120 };
    uint64_t now = 0;
    char err[256] = "";

    (void)state;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_int_equal(fdlimit_ensure(5000, &now, err, sizeof(err)), -EMFILE);
    assert_int_equal(now, 120);
    assert_int_equal(soft_now(), 120);          /* raised as far as it goes */
    assert_non_null(strstr(err, "need 5000 descriptors"));
    assert_non_null(strstr(err, "hard limit is 120"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fdlimit_raises_soft_to_need),
        cmocka_unit_test(test_fdlimit_leaves_a_higher_limit_alone),
        cmocka_unit_test(test_fdlimit_hard_limit_too_low_says_both_numbers),   /* last: lowers the hard limit */
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
