/* test_published.c - lib/published: the fallback until the first document,
 * copies that outlive the next set, the count from several threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "published.h"

static void test_published_fallback_until_first_set(void **state)
{
    struct published p;
    size_t len = 99;
    char *copy;

    (void)state;
    published_init(&p);
    copy = published_copy(&p, "none", 4, &len);
    assert_non_null(copy);
    assert_int_equal(len, 4);
    assert_string_equal(copy, "none");
    free(copy);
    assert_int_equal(published_set(&p, "abc", 3), 0);
    copy = published_copy(&p, "none", 4, &len);
    assert_int_equal(len, 3);
    assert_string_equal(copy, "abc");
    free(copy);
    published_free(&p);
}

static void test_published_copy_outlives_next_set(void **state)
{
    struct published p;
    size_t len;
    char *old, *now;

    (void)state;
    published_init(&p);
    assert_int_equal(published_set(&p, "first document", 5), 0);   /* only "first" */
    old = published_copy(&p, "", 0, &len);
    assert_int_equal(published_set(&p, NULL, 0), 0);               /* empty, not the fallback */
    now = published_copy(&p, "fallback", 8, &len);
    assert_string_equal(old, "first");
    assert_int_equal(len, 0);
    assert_string_equal(now, "");
    free(old);
    free(now);
    published_free(&p);
}

#define BUMPERS 4
#define BUMPS   10000

static void *bumper(void *arg)
{
    for (int i = 0; i < BUMPS; i++)
        published_bump(arg);
    return NULL;
}

static void test_published_count_from_threads(void **state)
{
    struct published p;
    pthread_t t[BUMPERS];

    (void)state;
    published_init(&p);
    assert_int_equal(published_count(&p), 0);
    for (int i = 0; i < BUMPERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, bumper, &p), 0);
    for (int i = 0; i < BUMPERS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(published_count(&p), BUMPERS * BUMPS);
    published_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published_fallback_until_first_set),
        cmocka_unit_test(test_published_copy_outlives_next_set),
        cmocka_unit_test(test_published_count_from_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
