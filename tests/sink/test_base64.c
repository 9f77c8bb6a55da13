/* test_base64.c - the sink's base64 decoder takes RFC 4648's test vectors,
 * refuses everything else, and never writes past the room it is given. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base64.h"

static void test_base64_rfc4648_vectors(void **state)
{
    static const char *const v[][2] = {
        { "", "" }, { "Zg==", "f" }, { "Zm8=", "fo" }, { "Zm9v", "foo" }, { "Zm9vYg==", "foob" },
        { "Zm9vYmE=", "fooba" }, { "Zm9vYmFy", "foobar" }, { "+/+/", "\xfb\xff\xbf" },
    };
    unsigned char out[16];
    size_t i;
    int n;

    (void)state;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        n = base64_decode(v[i][0], strlen(v[i][0]), out, sizeof(out));
        assert_int_equal(n, (int)strlen(v[i][1]));
        assert_memory_equal(out, v[i][1], (size_t)n);
    }
    n = base64_decode("AGFsaWNlAHMzY3JldA==", 20, out, sizeof(out));
    assert_int_equal(n, 13);
    assert_memory_equal(out, "\0alice\0s3cret", 13);
}

static void test_base64_not_base64_refused(void **state)
{
    static const char *const bad[] = {
        "Z", "Zg", "Zg=", "Zm9vY", "====", "Z===", "Zg=a", "Z=g=", "Zg==Zg==", "Zm 9v", "Zm9v\n",
        "Zm9-", "Zm9_", "Zm\x80v", "Zm\0v",
    };
    unsigned char out[16];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(base64_decode(bad[i], i == 14 ? 4 : strlen(bad[i]), out, sizeof(out)), -EINVAL);
}

static void test_base64_room_checked_before_writing(void **state)
{
    unsigned char out[8];
    size_t cap;

    (void)state;
    for (cap = 0; cap < 6; cap++) {
        memset(out, 0xaa, sizeof(out));
        assert_int_equal(base64_decode("Zm9vYmFy", 8, out, cap), -ENOSPC);
        assert_true(out[0] == 0xaa);
    }
    assert_int_equal(base64_decode("Zm9vYmE=", 8, out, 5), 5);
    assert_int_equal(base64_decode("Zm9vYg==", 8, out, 4), 4);
}

/* random input at every length: a result never exceeds cap, and bytes
 * past cap are never written */
static void test_base64_random_input_stays_in_bounds(void **state)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=*\r ";
    char in[64];
    unsigned char out[64];
    uint32_t r = 12345;
    size_t len, cap, i;
    int n, round;

    (void)state;
    for (round = 0; round < 20000; round++) {
        len = (size_t)(round % 40);
        for (i = 0; i < len; i++) {
            r = r * 1103515245u + 12345u;
            in[i] = (round & 1) ? alphabet[(r >> 16) % 64] : alphabet[(r >> 16) % (sizeof(alphabet) - 1)];
        }
        cap = (size_t)(round % 33);
        memset(out, 0x5a, sizeof(out));
        n = base64_decode(in, len, out, cap);
        assert_true(n == -EINVAL || n == -ENOSPC || (n >= 0 && (size_t)n <= cap));
        for (i = cap; i < sizeof(out); i++)
            assert_true(out[i] == 0x5a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_rfc4648_vectors),
        cmocka_unit_test(test_base64_not_base64_refused),
        cmocka_unit_test(test_base64_room_checked_before_writing),
        cmocka_unit_test(test_base64_random_input_stays_in_bounds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
