/* test_fdlimit.c - the descriptor limit the programs set themselves: the
 * soft limit raised to what is needed, never above the hard limit and
 * never lowered, and a message naming both numbers when the hard limit is
 * too low. Lowers this test process's own hard limit. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <sys/resource.h>
#include <cmocka.h>

#include "fdlimit.h"

static void test_fdlimit_raises_soft_within_hard_never_lowers(void **state)
{
    struct rlimit rl = { 64, 300 };
    char err[512] = "";

    (void)state;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_int_equal(fdlimit_raise(200, "200 sessions", err, sizeof(err)), 0);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_int_equal(rl.rlim_cur, 200);
    assert_int_equal(rl.rlim_max, 300);
    assert_int_equal(fdlimit_raise(100, "100 sessions", err, sizeof(err)), 0);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_int_equal(rl.rlim_cur, 200);             /* never lowered */
    assert_int_equal(fdlimit_raise(300, "300 sessions", err, sizeof(err)), 0);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_int_equal(rl.rlim_cur, 300);             /* the hard limit itself is fine */
}

static void test_fdlimit_hard_too_low_names_the_numbers(void **state)
{
    struct rlimit rl = { 64, 300 }, now;
    char err[512] = "";

    (void)state;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_int_equal(fdlimit_raise(1066, "-s 1000 sessions", err, sizeof(err)), -EMFILE);
    assert_non_null(strstr(err, "-s 1000 sessions need 1066 file descriptors, but the hard limit is 300"));
    assert_non_null(strstr(err, "--nofile=1066:1066"));
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &now), 0);
    assert_int_equal(now.rlim_cur, 64);             /* nothing changed */
    assert_int_equal(now.rlim_max, 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fdlimit_raises_soft_within_hard_never_lowers),
        cmocka_unit_test(test_fdlimit_hard_too_low_names_the_numbers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
