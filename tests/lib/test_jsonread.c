/* test_jsonread.c - the strict JSON reader: a report-shaped document
 * read whole, escapes and UTF-8 decoded, everything outside RFC 8259
 * refused with a line and column, every truncation of a valid document
 * refused, depth bounded. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jsonread.h"

static const char report[] =
    "{\n  \"version\": 1,\n  \"campaign\": \"c\\u00e9 \\ud83d\\ude00 \\\"q\\\"\",\n"
    "  \"totals\": {\"messages_accepted\": 2000, \"rate_msgs_per_s\": 1234.5e-1, \"lost\": null},\n"
    "  \"latency_ms\": {\"message\": {\"p99\": 0.25, \"count\": -0}, \"delivery\": null},\n"
    "  \"phases\": [{\"name\": \"ramp\"}, {\"name\": \"steady\"}], \"ok\": true, \"bad\": false, \"e\": []\n}\n";

static struct jsonread_value *parse_ok(const char *text)
{
    struct jsonread_value *v = NULL;
    char err[128] = "";

    if (jsonread_parse(text, strlen(text), &v, err, sizeof(err)) != 0)
        fail_msg("parse failed: %s", err);
    return v;
}

static void parse_bad(const char *text, const char *why)
{
    struct jsonread_value *v = (struct jsonread_value *)1;
    char err[128] = "";

    assert_int_equal(jsonread_parse(text, strlen(text), &v, err, sizeof(err)), -EINVAL);
    assert_null(v);
    if (strstr(err, why) == NULL || strncmp(err, "line ", 5) != 0)
        fail_msg("for %s: expected \"%s\" in \"%s\"", text, why, err);
}

static void test_jsonread_reads_a_report(void **state)
{
    struct jsonread_value *v = parse_ok(report);
    const struct jsonread_value *t;
    double d = 0;

    (void)state;
    assert_int_equal(v->type, JSONREAD_OBJECT);
    assert_int_equal(v->n_children, 8);
    assert_int_equal(jsonread_number(jsonread_get(v, "version"), &d), 0);
    assert_true(d == 1);
    assert_string_equal(jsonread_string(jsonread_get(v, "campaign")), "c\xc3\xa9 \xf0\x9f\x98\x80 \"q\"");
    t = jsonread_get(v, "totals");
    assert_int_equal(jsonread_number(jsonread_get(t, "rate_msgs_per_s"), &d), 0);
    assert_true(d > 123.44 && d < 123.46);
    assert_int_equal(jsonread_get(t, "lost")->type, JSONREAD_NULL);
    assert_int_equal(jsonread_number(jsonread_get(t, "lost"), &d), -1);
    assert_null(jsonread_get(t, "nothing"));
    assert_int_equal(jsonread_number(jsonread_get(jsonread_get(jsonread_get(v, "latency_ms"), "message"), "p99"), &d), 0);
    assert_true(d == 0.25);
    assert_string_equal(jsonread_string(jsonread_get(jsonread_at(jsonread_get(v, "phases"), 1), "name")), "steady");
    assert_null(jsonread_at(jsonread_get(v, "phases"), 2));
    assert_null(jsonread_at(jsonread_get(v, "e"), 0));
    assert_int_equal(jsonread_get(v, "ok")->type, JSONREAD_TRUE);
    assert_int_equal(jsonread_get(v, "bad")->type, JSONREAD_FALSE);
    assert_null(jsonread_string(jsonread_get(v, "ok")));
    jsonread_free(v);
}

static void test_jsonread_refuses_what_rfc8259_does_not_allow(void **state)
{
    (void)state;
    parse_bad("", "found the end");
    parse_bad("{\"a\": 1,}", "member's key");
    parse_bad("[1, 2,]", "expected a value");
    parse_bad("{\"a\": 1, \"a\": 2}", "a key twice");
    parse_bad("{'a': 1}", "member's key");
    parse_bad("[01]", "expected ',' or ']'");
    parse_bad("[1.]", "digits after '.'");
    parse_bad("[1e]", "exponent");
    parse_bad("[+1]", "expected a value");
    parse_bad("[NaN]", "expected a value");
    parse_bad("[1e999]", "out of range");
    parse_bad("[\"a\tb\"]", "control character");
    parse_bad("[\"\\x\"]", "unknown escape");
    parse_bad("[\"\\u12\"]", "four hex digits");
    parse_bad("[\"\\udc00\"]", "lone low surrogate");
    parse_bad("[\"\\ud800x\"]", "high surrogate");
    parse_bad("[\"\xc3\x28\"]", "invalid UTF-8");
    parse_bad("[\"\xc0\xaf\"]", "invalid UTF-8");
    parse_bad("[\"\xed\xa0\x80\"]", "invalid UTF-8");
    parse_bad("{} {}", "text after the value");
    parse_bad("// c\n{}", "expected a value");
    parse_bad("{\"a\"\n 1}", "line 2 column 2: expected ':'");
}

static void test_jsonread_refuses_every_truncation(void **state)
{
    size_t len = strlen(report), cut;
    struct jsonread_value *v;
    char err[128];

    (void)state;
    /* the value ends at the closing brace: every shorter prefix is incomplete */
    for (cut = 0; cut < len - 1; cut++) {
        char *copy = malloc(cut + 1);

        assert_non_null(copy);
        memcpy(copy, report, cut);          /* not NUL-terminated for the reader: len bounds it */
        assert_int_equal(jsonread_parse(copy, cut, &v, err, sizeof(err)), -EINVAL);
        assert_null(v);
        free(copy);
    }
    assert_int_equal(jsonread_parse(report, len, &v, err, sizeof(err)), 0);
    jsonread_free(v);
}

static void test_jsonread_bounds_depth(void **state)
{
    char deep[2 * JSONREAD_DEPTH_MAX + 8];
    int i, n = 0;
    struct jsonread_value *v;

    (void)state;
    for (i = 0; i < JSONREAD_DEPTH_MAX; i++)
        deep[n++] = '[';
    for (i = 0; i < JSONREAD_DEPTH_MAX; i++)
        deep[n++] = ']';
    deep[n] = '\0';
    v = parse_ok(deep);                     /* 64 deep: fine */
    jsonread_free(v);
    memmove(deep + 1, deep, (size_t)n + 1);
    deep[0] = '[';
    deep[n + 1] = ']';
    deep[n + 2] = '\0';
    parse_bad(deep, "nested too deep");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonread_reads_a_report),
        cmocka_unit_test(test_jsonread_refuses_what_rfc8259_does_not_allow),
        cmocka_unit_test(test_jsonread_refuses_every_truncation),
        cmocka_unit_test(test_jsonread_bounds_depth),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
