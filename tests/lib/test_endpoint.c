/* test_endpoint.c - the smtp-sink/smtp-source address syntax. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "endpoint.h"

static void parse_ok(const char *spec, const char *dflt, const char *host, const char *port)
{
    struct endpoint ep;
    char err[256];

    assert_int_equal(endpoint_parse(spec, dflt, &ep, err, sizeof(err)), 0);
    assert_int_equal(ep.is_unix, 0);
    assert_string_equal(ep.host, host);
    assert_string_equal(ep.port, port);
}

static void test_endpoint_parse_inet_forms(void **state)
{
    (void)state;
    parse_ok("127.0.0.1:25", NULL, "127.0.0.1", "25");
    parse_ok("inet:localhost:2525", NULL, "localhost", "2525");
    parse_ok(":25", NULL, "", "25");
    parse_ok("inet::25", NULL, "", "25");
    parse_ok("[::1]:25", NULL, "::1", "25");
    parse_ok("mail.example", "25", "mail.example", "25");
    parse_ok("[::1]", "smtp", "::1", "smtp");
}

static void test_endpoint_parse_unix(void **state)
{
    struct endpoint ep;
    char err[256];

    (void)state;
    assert_int_equal(endpoint_parse("unix:/tmp/sock", NULL, &ep, err, sizeof(err)), 0);
    assert_true(ep.is_unix);
    assert_string_equal(ep.path, "/tmp/sock");
}

static void test_endpoint_parse_rejects_bad_input(void **state)
{
    struct endpoint ep;
    char err[256], longname[400];

    (void)state;
    memset(longname, 'a', sizeof(longname) - 4);
    memcpy(longname + sizeof(longname) - 4, ":25", 4);
    assert_int_equal(endpoint_parse("", NULL, &ep, err, sizeof(err)), -EINVAL);
    assert_int_equal(endpoint_parse("localhost", NULL, &ep, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "missing port"));
    assert_int_equal(endpoint_parse("::1:25", NULL, &ep, err, sizeof(err)), -EINVAL);
    assert_int_equal(endpoint_parse("[::1:25", NULL, &ep, err, sizeof(err)), -EINVAL);
    assert_int_equal(endpoint_parse("unix:", NULL, &ep, err, sizeof(err)), -EINVAL);
    assert_int_equal(endpoint_parse(longname, NULL, &ep, err, sizeof(err)), -EINVAL);
}

static void test_endpoint_listen_and_connect_loopback(void **state)
{
    struct endpoint ep;
    struct endpoint_listen_opts opts = { .family = ENDPOINT_IPV4, .backlog = 8 };
    struct endpoint_addr addr;
    char err[256];
    int fds[ENDPOINT_LISTEN_MAX], n, fd;

    (void)state;
    assert_int_equal(endpoint_parse("127.0.0.1:0", NULL, &ep, err, sizeof(err)), 0);
    n = endpoint_listen(&ep, &opts, fds, ENDPOINT_LISTEN_MAX, err, sizeof(err));
    assert_int_equal(n, 1);
    addr.len = sizeof(addr.sa);
    assert_int_equal(getsockname(fds[0], (struct sockaddr *)&addr.sa, &addr.len), 0);
    fd = endpoint_connect(&addr, NULL, 0);
    assert_true(fd >= 0);
    close(fd);
    close(fds[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoint_parse_inet_forms),
        cmocka_unit_test(test_endpoint_parse_unix),
        cmocka_unit_test(test_endpoint_parse_rejects_bad_input),
        cmocka_unit_test(test_endpoint_listen_and_connect_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
