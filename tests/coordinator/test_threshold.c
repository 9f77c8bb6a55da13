/* test_threshold.c - threshold expressions parse, point at errors, and
 * evaluate against known values. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "threshold.h"

/* What a fake source measures; a negative count is unknown. */
struct fake {
    double p99_ms, attempted, accepted, errors, lost;
};

static int fake_latency(void *ctx, const char *phase, double pct, double *out)
{
    const struct fake *f = ctx;

    if (strcmp(phase, "message") != 0)
        return -1;
    *out = pct >= 99 ? f->p99_ms : 20.0;
    return 0;
}

static int fake_counter(void *ctx, const char *name, double *out)
{
    const struct fake *f = ctx;

    if (strcmp(name, "attempted") == 0) *out = f->attempted;
    else if (strcmp(name, "accepted") == 0) *out = f->accepted;
    else if (strcmp(name, "errors") == 0) *out = f->errors;
    else if (strcmp(name, "lost") == 0) *out = f->lost;
    else if (strcmp(name, "backlog_growth") == 0) *out = 42.5;
    else return -1;
    return *out < 0 ? -1 : 0;
}

static struct fake measured_new = { 480.0, 10000, 9990, 10, 0 };
/* The base of a comparison: p99(message) 400 ms, 10000 accepted in 5 s, lost unknown. */
static struct fake measured_base = { 400.0, -1, 10000, 0, -1 };

static const struct threshold_source source = { fake_latency, fake_counter, 5.0, &measured_new };
static const struct threshold_source base = { fake_latency, fake_counter, 5.0, &measured_base };

static int eval(const char *expr)
{
    struct threshold t;
    char err[256];
    double measured;

    assert_int_equal(threshold_parse(expr, &t, err, sizeof(err)), 0);
    return threshold_eval(&t, &source, &measured);
}

static void test_threshold_examples_from_the_issue(void **state)
{
    (void)state;
    assert_int_equal(eval("p99(message)<500ms"), 1);
    assert_int_equal(eval("p99(message)<0.4s"), 0);
    assert_int_equal(eval("p50(message)<=20"), 1);
    assert_int_equal(eval("rate(accepted)>1000/s"), 1);   /* 9990 / 5 s */
    assert_int_equal(eval("rate(accepted)>2000/s"), 0);
    assert_int_equal(eval("errors<0.1%"), 0);             /* exactly 0.1 % */
    assert_int_equal(eval("errors<=0.1%"), 1);
    assert_int_equal(eval("lost==0"), 1);
    assert_int_equal(eval("errors < 11"), 1);
}

static void test_threshold_scoped_to_a_campaign_phase(void **state)
{
    struct threshold t;
    char err[256];

    (void)state;
    assert_int_equal(threshold_parse("steady:p99(message)<50ms", &t, err, sizeof(err)), 0);
    assert_string_equal(t.scope, "steady");
    assert_string_equal(t.arg, "message");
    assert_true(t.limit == 50);
    assert_int_equal(threshold_parse(" warm-up.1: rate(accepted) > 10/s", &t, err, sizeof(err)), 0);
    assert_string_equal(t.scope, "warm-up.1");
    assert_int_equal(threshold_parse("lost==0", &t, err, sizeof(err)), 0);
    assert_string_equal(t.scope, "");
    assert_int_equal(eval("steady:p99(message)<500ms"), 1);  /* the source here ignores the scope */
}

static void test_threshold_unknown_value_fails(void **state)
{
    (void)state;
    assert_int_equal(eval("p99(delivery)<1s"), -1);
    assert_int_equal(eval("duplicates==0"), -1);
}

/* backlog_growth: a rate of growth, /s or bare, never a %. */
static void test_threshold_backlog_growth(void **state)
{
    struct threshold t;
    char err[256];

    (void)state;
    assert_int_equal(eval("backlog_growth < 50/s"), 1);
    assert_int_equal(eval("backlog_growth<40"), 0);
    assert_int_equal(threshold_parse("step:backlog_growth<20/s", &t, err, sizeof(err)), 0);
    assert_int_equal(t.metric, METRIC_GROWTH);
    assert_string_equal(threshold_unit_text(&t), "/s");
    assert_int_equal(threshold_parse("backlog_growth<5%", &t, err, sizeof(err)), -1);
}

static int eval_change(const char *expr, double *measured)
{
    struct threshold t;
    char err[256];

    assert_int_equal(threshold_parse(expr, &t, err, sizeof(err)), 0);
    assert_true(t.change);
    return threshold_eval_change(&t, &base, &source, measured);
}

static void test_threshold_change_between_two_reports(void **state)
{
    struct threshold t;
    char err[256], text[128];
    double m;

    (void)state;
    assert_int_equal(eval_change("p99(message) < +10%", &m), 0);   /* 400 -> 480 ms: +20 % */
    assert_true(m > 19.999 && m < 20.001);
    assert_int_equal(eval_change("p99(message) < +25%", &m), 1);
    assert_int_equal(eval_change("p50(message) <= +0%", &m), 1);   /* unchanged */
    assert_int_equal(eval_change("rate > -5%", &m), 1);            /* rate(accepted): 2000 -> 1998 /s */
    assert_true(m > -0.101 && m < -0.099);
    assert_int_equal(eval_change("rate > -0.05%", &m), 0);
    assert_int_equal(eval_change("errors < +50%", &m), 0);         /* 0 -> 10: +inf */
    assert_int_equal(eval_change("steady:rate(accepted) > -1%", &m), 1);
    assert_int_equal(eval_change("p99(delivery) < +10%", &m), -1); /* unknown in both */
    assert_int_equal(eval_change("lost <= +0%", &m), -1);          /* unknown in the base */
    assert_int_equal(threshold_parse("rate > -5%", &t, err, sizeof(err)), 0);
    assert_int_equal(t.metric, METRIC_RATE);
    assert_string_equal(t.arg, "accepted");
    assert_true(t.limit == -5);
    assert_string_equal(threshold_unit_text(&t), "%");
    assert_int_equal(threshold_eval(&t, &source, &m), -1);         /* a change needs a base */
    assert_string_equal(threshold_describe(&t, 0, -7.5, text, sizeof(text)), "change -7.50%, limit >-5%");
    assert_int_equal(threshold_parse("p99(message)<500ms", &t, err, sizeof(err)), 0);
    assert_false(t.change);
    assert_string_equal(threshold_describe(&t, 0, 512.25, text, sizeof(text)), "measured 512.25ms, limit <500ms");
    assert_string_equal(threshold_describe(&t, -1, 0, text, sizeof(text)), "not measured, limit <500ms");
}

static void expect_error(const char *expr, const char *column, const char *why)
{
    struct threshold t;
    char err[256];

    assert_int_equal(threshold_parse(expr, &t, err, sizeof(err)), -1);
    assert_non_null(strstr(err, column));
    assert_non_null(strstr(err, why));
}

static void test_threshold_errors_point_at_the_problem(void **state)
{
    (void)state;
    expect_error("p99(mesage)<500ms", "column 5", "unknown phase");
    expect_error("p99(message)~500", "column 13", "comparison");
    expect_error("p99(message)<fast", "column 14", "number");
    expect_error("p99(message)<5kg", "column 15", "ms, s or us");
    expect_error("rate(accepted)>5/min", "column 17", "/s");
    expect_error("speed>1", "column 1", "unknown counter");
    expect_error("avg(message)<1", "column 1", "unknown function");
    expect_error("", "column 1", "expected a metric");
    expect_error(":p99(message)<1s", "column 1", "campaign phase's name");
    expect_error("steady:p99(mesage)<1s", "column 12", "unknown phase");
    expect_error("p99(message)<+10ms", "column 17", "a change");
    expect_error("rate>-5", "column 8", "a change");
    expect_error("errors<-1", "column 10", "a change");
    expect_error("p99(message)<-x%", "column 14", "a change such as +10%");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threshold_examples_from_the_issue),
        cmocka_unit_test(test_threshold_scoped_to_a_campaign_phase),
        cmocka_unit_test(test_threshold_unknown_value_fails),
        cmocka_unit_test(test_threshold_backlog_growth),
        cmocka_unit_test(test_threshold_errors_point_at_the_problem),
        cmocka_unit_test(test_threshold_change_between_two_reports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
