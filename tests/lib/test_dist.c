/* test_dist.c - per-message distributions: the grammar, clear errors that
 * name the token, draws that follow the asked distribution (a
 * Kolmogorov-Smirnov test with a fixed seed, for each family), and a
 * sequence that depends only on the seed and the message number. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dist.h"

#define KS_DRAWS 20000
#define KS_LIMIT (1.95 / sqrt(KS_DRAWS))   /* the 99.9% critical value */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* ks_distance - sup |empirical - asked| over KS_DRAWS draws (seed 7),
 * on both sides of each value (the discrete distributions have steps). */
static double ks_distance(const struct dist *d)
{
    static uint64_t v[KS_DRAWS];
    double worst = 0, below, at;
    size_t i, j;

    for (i = 0; i < KS_DRAWS; i++)
        v[i] = dist_draw(d, dist_random(7, i, DIST_STREAM_SIZE));
    qsort(v, KS_DRAWS, sizeof(v[0]), cmp_u64);
    for (i = 0; i < KS_DRAWS; i = j) {
        for (j = i; j < KS_DRAWS && v[j] == v[i]; j++)
            ;
        below = fabs((double)i / KS_DRAWS - (v[i] == 0 ? 0 : dist_cdf(d, (double)v[i] - 1)));
        at = fabs((double)j / KS_DRAWS - dist_cdf(d, (double)v[i]));
        worst = fmax(worst, fmax(below, at));
    }
    return worst;
}

static void parse_ok(struct dist *d, const char *text)
{
    char err[256] = "";

    if (dist_parse(d, text, DIST_SIZES, 0, 1ULL << 30, err, sizeof(err)) != 0)
        fail_msg("%s: %s", text, err);
}

static void test_dist_grammar(void **state)
{
    struct dist d;

    (void)state;
    parse_ok(&d, "5k");
    assert_int_equal(d.kind, DIST_FIXED);
    assert_int_equal(dist_draw(&d, 12345), 5120);
    parse_ok(&d, "1k-100k");
    assert_int_equal(d.kind, DIST_UNIFORM);
    assert_int_equal(d.lo, 1024);
    assert_int_equal(dist_max(&d), 102400);
    parse_ok(&d, "lognormal:median=8k,sigma=1.2,max=10m");
    assert_int_equal(d.kind, DIST_LOGNORMAL);
    assert_int_equal(dist_max(&d), 10 << 20);
    assert_true(fabs(exp(d.mu) - 8192) < 1e-6);
    parse_ok(&d, "lognormal:sigma=0.5,median=100");
    assert_int_equal(dist_max(&d), DIST_LOGNORMAL_MAX);
    parse_ok(&d, "mix:2k=60,20k=30,2m=10");
    assert_int_equal(d.n, 3);
    assert_int_equal(d.weight_sum, 100);
    assert_true(fabs(dist_mean(&d) - (2048 * 60 + 20480 * 30 + 2097152 * 10) / 100.0) < 1e-6);
    assert_int_equal(dist_parse(&d, "3", DIST_COUNTS, 1, 100, NULL, 0), 0);
}

static void test_dist_errors_name_the_token(void **state)
{
    static const struct { const char *text; const char *err; } bad[] = {
        { "lognormal:median=8x,sigma=1", "'lognormal:median=8x,sigma=1': bad size '8x'" },
        { "lognormal:median=8k", "'lognormal:median=8k': a log-normal needs median= (above 0) and sigma=" },
        { "lognormal:median=8k,sigma=0", "'lognormal:median=8k,sigma=0': sigma must be a number above 0 and at most 10, not '0'" },
        { "lognormal:mean=8k", "'lognormal:mean=8k': unknown key 'mean' (median, sigma, max)" },
        { "mix:2k=60,20k", "'mix:2k=60,20k': want value=weight, not '20k'" },
        { "mix:2k=0", "'mix:2k=0': bad weight '0' (a whole number from 1)" },
        { "100k-1k", "'100k-1k': the low end is above the high end" },
        { "2g", "'2g': bad size '2g'" },
        { "", "'': bad size ''" },
        { "2m-2048m", "'2m-2048m': 2048m is out of range (0 to 1073741824)" },
    };
    char err[256];
    struct dist d;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(dist_parse(&d, bad[i].text, DIST_SIZES, 0, 1ULL << 30, err, sizeof(err)), -EINVAL);
        assert_string_equal(err, bad[i].err);
    }
    assert_int_equal(dist_parse(&d, "5k", DIST_COUNTS, 1, 100, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "'5k': bad count '5k'");
}

static void test_dist_draws_follow_the_distribution(void **state)
{
    static const char *const families[] = {
        "1k-100k", "0-9", "lognormal:median=8k,sigma=1.2,max=10m", "lognormal:median=100,sigma=0.3",
        "mix:2k=60,20k=30,2m=10", "5k",
    };
    struct dist d;

    (void)state;
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        parse_ok(&d, families[i]);
        if (ks_distance(&d) > KS_LIMIT)
            fail_msg("%s: Kolmogorov-Smirnov distance %.4f over %.4f", families[i], ks_distance(&d),
                     KS_LIMIT);
    }
}

/* A wrong sampler must fail the same test: a log-normal drawn with twice
 * its sigma is far from the one asked for. */
static void test_dist_ks_catches_a_wrong_sampler(void **state)
{
    struct dist asked, wrong;

    (void)state;
    parse_ok(&asked, "lognormal:median=8k,sigma=1.2,max=10m");
    wrong = asked;
    wrong.sigma *= 1.1;
    {
        static uint64_t v[KS_DRAWS];
        double worst = 0;

        for (size_t i = 0; i < KS_DRAWS; i++)
            v[i] = dist_draw(&wrong, dist_random(7, i, DIST_STREAM_SIZE));
        qsort(v, KS_DRAWS, sizeof(v[0]), cmp_u64);
        for (size_t i = 0; i < KS_DRAWS; i++)
            worst = fmax(worst, fabs((double)(i + 1) / KS_DRAWS - dist_cdf(&asked, (double)v[i])));
        assert_true(worst > KS_LIMIT);
    }
}

static void test_dist_random_depends_on_seed_seq_stream_only(void **state)
{
    (void)state;
    assert_int_equal(dist_random(1, 2, DIST_STREAM_SIZE), dist_random(1, 2, DIST_STREAM_SIZE));
    assert_int_not_equal(dist_random(1, 2, DIST_STREAM_SIZE), dist_random(2, 2, DIST_STREAM_SIZE));
    assert_int_not_equal(dist_random(1, 2, DIST_STREAM_SIZE), dist_random(1, 3, DIST_STREAM_SIZE));
    assert_int_not_equal(dist_random(1, 2, DIST_STREAM_SIZE), dist_random(1, 2, DIST_STREAM_RECIPIENTS));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dist_grammar),
        cmocka_unit_test(test_dist_errors_name_the_token),
        cmocka_unit_test(test_dist_draws_follow_the_distribution),
        cmocka_unit_test(test_dist_ks_catches_a_wrong_sampler),
        cmocka_unit_test(test_dist_random_depends_on_seed_seq_stream_only),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
