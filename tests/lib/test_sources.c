/* test_sources.c - --source pools: lists and CIDR blocks of both families,
 * round-robin picks by family, errors that name the item, and the check
 * that this host has the addresses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <cmocka.h>

#include "sources.h"

static const char *text_of(const struct endpoint_addr *a, char *buf, size_t len)
{
    endpoint_peer_text(&a->sa, buf, len);
    return buf;
}

static void test_sources_lists_and_blocks(void **state)
{
    struct source_pool p;
    char err[256], t[64];

    (void)state;
    assert_int_equal(source_pool_parse(&p, "198.18.0.32/28,fd00::4/126,198.18.1.1", err, sizeof(err)), 0);
    assert_int_equal(p.n4, 17);
    assert_int_equal(p.n, 21);
    assert_string_equal(text_of(source_pool_pick(&p, AF_INET, 0), t, sizeof(t)), "198.18.0.32");
    assert_string_equal(text_of(source_pool_pick(&p, AF_INET, 15), t, sizeof(t)), "198.18.0.47");
    assert_string_equal(text_of(source_pool_pick(&p, AF_INET, 16), t, sizeof(t)), "198.18.1.1");
    assert_string_equal(text_of(source_pool_pick(&p, AF_INET, 17), t, sizeof(t)), "198.18.0.32");
    assert_string_equal(text_of(source_pool_pick(&p, AF_INET6, 0), t, sizeof(t)), "ipv6:fd00::4");
    assert_string_equal(text_of(source_pool_pick(&p, AF_INET6, 3), t, sizeof(t)), "ipv6:fd00::7");
    assert_null(source_pool_pick(&p, AF_UNIX, 0));
    source_pool_free(&p);
    assert_int_equal(source_pool_parse(&p, "fd00::ff/120", err, sizeof(err)), 0);   /* a carry */
    assert_int_equal(p.n, 256);
    assert_string_equal(text_of(source_pool_pick(&p, AF_INET6, 255), t, sizeof(t)), "ipv6:fd00::ff");
    assert_null(source_pool_pick(&p, AF_INET, 0));
    source_pool_free(&p);
}

static void test_sources_errors_name_the_item(void **state)
{
    static const struct { const char *spec, *err; } bad[] = {
        { "198.18.0.1/8", "--source: '198.18.0.1/8': more than 4096 addresses" },
        { "198.18.0.1,host.test", "--source: 'host.test': not an address or CIDR block" },
        { "198.18.0.1/33", "--source: '198.18.0.1/33': not an address or CIDR block" },
        { "fd00::/64", "--source: 'fd00::/64': more than 4096 addresses" },
        { "", "--source: want 1 to 1023 characters of addresses" },
        { ",", "--source: ',': no address" },
    };
    struct source_pool p;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(source_pool_parse(&p, bad[i].spec, err, sizeof(err)), -EINVAL);
        assert_string_equal(err, bad[i].err);
    }
}

static void test_sources_check_wants_local_addresses(void **state)
{
    struct source_pool p;
    char err[256];

    (void)state;
    assert_int_equal(source_pool_parse(&p, "127.0.0.1,127.0.0.9", err, sizeof(err)), 0);
    assert_int_equal(source_pool_check(&p, err, sizeof(err)), 0);   /* all of 127/8 is loopback's */
    source_pool_free(&p);
    assert_int_equal(source_pool_parse(&p, "127.0.0.1,198.18.255.254", err, sizeof(err)), 0);
    assert_int_equal(source_pool_check(&p, err, sizeof(err)), -EADDRNOTAVAIL);
    assert_non_null(strstr(err, "--source: 198.18.255.254 is not an address of this host"));
    source_pool_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sources_lists_and_blocks),
        cmocka_unit_test(test_sources_errors_name_the_item),
        cmocka_unit_test(test_sources_check_wants_local_addresses),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
