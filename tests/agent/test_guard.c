/* test_guard.c - the daemon's guard: allow-list entries parsed strictly,
 * addresses matched by prefix (IPv4-mapped IPv6 as IPv4), the loopback and
 * unix: default, targets pinned to the address that was checked, and the
 * --max-rate/--max-sessions ceilings. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "guard.h"

static struct sockaddr_storage addr(const char *text)
{
    struct sockaddr_storage ss;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, text, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
        ss.ss_family = AF_INET;
    else if (inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
        ss.ss_family = AF_INET6;
    return ss;
}

static int allows(const struct guard *g, const char *text)
{
    struct sockaddr_storage ss = addr(text);

    return guard_allows_addr(g, (struct sockaddr *)&ss);
}

static void test_guard_default_is_loopback_and_unix(void **state)
{
    struct guard g;
    struct endpoint ep, pinned;
    char err[256], why[512];

    (void)state;
    guard_init(&g);
    assert_true(allows(&g, "127.0.0.1"));
    assert_true(allows(&g, "127.255.0.9"));
    assert_true(allows(&g, "::1"));
    assert_true(allows(&g, "::ffff:127.0.0.1"));
    assert_false(allows(&g, "10.0.0.1"));
    assert_false(allows(&g, "198.18.0.2"));
    assert_false(allows(&g, "::2"));
    assert_int_equal(endpoint_parse("unix:/tmp/x.sock", "25", &ep, err, sizeof(err)), 0);
    assert_int_equal(guard_check_target(&g, &ep, ENDPOINT_ANY, NULL, NULL, &pinned, why, sizeof(why)), 0);
    assert_int_equal(endpoint_parse("192.0.2.7:2525", "25", &ep, err, sizeof(err)), 0);
    assert_int_equal(guard_check_target(&g, &ep, ENDPOINT_ANY, NULL, NULL, &pinned, why, sizeof(why)), -EACCES);
    assert_non_null(strstr(why, "192.0.2.7:2525"));
    assert_non_null(strstr(why, "--allow-target"));
}

static void test_guard_prefixes_replace_the_default(void **state)
{
    struct guard g;
    char err[256];

    (void)state;
    guard_init(&g);
    assert_int_equal(guard_add_allow(&g, "198.18.0.0/15", err, sizeof(err)), 0);
    assert_int_equal(guard_add_allow(&g, "2001:db8::/32", err, sizeof(err)), 0);
    assert_int_equal(guard_add_allow(&g, "192.0.2.9", err, sizeof(err)), 0);
    assert_true(allows(&g, "198.18.0.1"));
    assert_true(allows(&g, "198.19.255.255"));
    assert_false(allows(&g, "198.20.0.0"));
    assert_false(allows(&g, "198.17.255.255"));
    assert_true(allows(&g, "2001:db8:ffff::1"));
    assert_false(allows(&g, "2001:db9::1"));
    assert_true(allows(&g, "192.0.2.9"));
    assert_false(allows(&g, "192.0.2.10"));
    assert_false(allows(&g, "127.0.0.1"));      /* an explicit list replaces the default */
}

static void test_guard_bad_entries_refused(void **state)
{
    static const char *const bad[] = { "10.0.0.0/33", "::/129", "10.0.0.0/x", "10.0.0.0/", "a b",
                                       "host/8", "1.2.3.4.5/8", "", "-", "x..y" };
    struct guard g;
    char err[256];
    size_t i;

    (void)state;
    guard_init(&g);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(guard_add_allow(&g, bad[i], err, sizeof(err)), -EINVAL);
    assert_int_equal(g.n_allow, 0);
    assert_int_equal(guard_add_allow(&g, "mx.example.org", err, sizeof(err)), 0);
    assert_int_equal(guard_add_allow(&g, "unix:/var/spool/", err, sizeof(err)), 0);
    assert_int_equal(guard_add_allow(&g, "[::1]", err, sizeof(err)), 0);
}

static void test_guard_pins_the_checked_address(void **state)
{
    struct guard g;
    struct endpoint ep, pinned;
    char err[256], why[512];

    (void)state;
    guard_init(&g);
    assert_int_equal(endpoint_parse("localhost:2525", "25", &ep, err, sizeof(err)), 0);
    assert_int_equal(guard_check_target(&g, &ep, ENDPOINT_IPV4, NULL, NULL, &pinned, why, sizeof(why)), 0);
    assert_string_equal(pinned.host, "127.0.0.1");
    assert_string_equal(pinned.port, "2525");
    assert_int_equal(guard_add_allow(&g, "unix:/run/", err, sizeof(err)), 0);
    assert_int_equal(endpoint_parse("unix:/tmp/s", "25", &ep, err, sizeof(err)), 0);
    assert_int_equal(guard_check_target(&g, &ep, ENDPOINT_ANY, NULL, NULL, &pinned, why, sizeof(why)), -EACCES);
    assert_int_equal(endpoint_parse("unix:/run/s", "25", &ep, err, sizeof(err)), 0);
    assert_int_equal(guard_check_target(&g, &ep, ENDPOINT_ANY, NULL, NULL, &pinned, why, sizeof(why)), 0);
}

static void test_guard_ceilings_clamp(void **state)
{
    struct guard g;
    double rate;
    uint32_t sessions;

    (void)state;
    guard_init(&g);
    rate = 0;
    sessions = 500;
    assert_int_equal(guard_clamp(&g, &rate, &sessions), 0);
    g.max_rate = 100;
    g.max_sessions = 10;
    assert_int_equal(guard_clamp(&g, &rate, &sessions), GUARD_CLAMPED_RATE | GUARD_CLAMPED_SESSIONS);
    assert_true(rate == 100);                   /* unlimited becomes the ceiling */
    assert_int_equal(sessions, 10);
    rate = 50;
    sessions = 3;
    assert_int_equal(guard_clamp(&g, &rate, &sessions), 0);
    assert_true(rate == 50);
    rate = 250;
    assert_int_equal(guard_clamp(&g, &rate, &sessions), GUARD_CLAMPED_RATE);
    assert_true(rate == 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guard_default_is_loopback_and_unix),
        cmocka_unit_test(test_guard_prefixes_replace_the_default),
        cmocka_unit_test(test_guard_bad_entries_refused),
        cmocka_unit_test(test_guard_pins_the_checked_address),
        cmocka_unit_test(test_guard_ceilings_clamp),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
