/* test_bufpool.c - the sessions' on-demand buffers: a buffer given back is
 * the next one taken, buffers beyond keep leave no resident pages, and
 * every buffer made fits back on the free lists, however many slabs; a
 * growing buffer moves out of the pool when it outgrows it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "bufpool.h"

/* resident - nonzero when any page of buf[0..len) is resident (mincore). */
static int resident(void *buf, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = (len + page - 1) / page, i;
    unsigned char vec[64];

    assert_true(n <= sizeof(vec));
    assert_int_equal(mincore(buf, len, vec), 0);
    for (i = 0; i < n; i++)
        if (vec[i] & 1)
            return 1;
    return 0;
}

static void test_bufpool_buffers_start_on_pages_of_their_own(void **state)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    struct bufpool p;
    char *a, *b;

    (void)state;
    assert_int_equal(bufpool_init(&p, page + 100, 4), 0);
    assert_int_equal(p.size, page + 100);
    assert_int_equal(p.stride, 2 * page);
    a = bufpool_get(&p);
    b = bufpool_get(&p);
    assert_int_equal((uintptr_t)a % page, 0);
    assert_int_equal((uintptr_t)b % page, 0);
    assert_true(a + p.stride <= b || b + p.stride <= a);
    bufpool_put(&p, a);
    bufpool_put(&p, b);
    bufpool_destroy(&p);
}

static void test_bufpool_given_back_is_taken_next(void **state)
{
    struct bufpool p;
    char *a, *b;

    (void)state;
    assert_int_equal(bufpool_init(&p, 4096, 4), 0);
    a = bufpool_get(&p);
    assert_non_null(a);
    memset(a, 'x', p.size);
    bufpool_put(&p, a);
    b = bufpool_get(&p);
    assert_ptr_equal(a, b);
    assert_int_equal(b[0], 'x');        /* warm: its pages stayed */
    assert_int_equal(p.taken, 1);
    bufpool_put(&p, b);
    bufpool_put(&p, NULL);
    assert_int_equal(p.taken, 0);
    bufpool_destroy(&p);
}

static void test_bufpool_beyond_keep_pages_go_back(void **state)
{
    struct bufpool p;
    char *b[8];
    int i;

    (void)state;
    assert_int_equal(bufpool_init(&p, 16384, 2), 0);
    for (i = 0; i < 8; i++) {
        assert_non_null(b[i] = bufpool_get(&p));
        memset(b[i], i, p.size);
        assert_true(resident(b[i], p.size));
    }
    for (i = 0; i < 8; i++)
        bufpool_put(&p, b[i]);
    assert_int_equal(p.nwarm, 2);
    assert_true(resident(b[0], p.size));
    assert_true(resident(b[1], p.size));
    for (i = 2; i < 8; i++)
        assert_false(resident(b[i], p.size));
    bufpool_destroy(&p);
}

static void test_bufpool_many_slabs_all_fit_back(void **state)
{
    enum { N = 3000 };      /* 12 MB of 4 KB buffers: a dozen slabs */
    struct bufpool p;
    char **b = calloc(N, sizeof(*b));
    int i, j;

    (void)state;
    assert_non_null(b);
    assert_int_equal(bufpool_init(&p, 4096, 0), 0);
    for (j = 0; j < 2; j++) {
        for (i = 0; i < N; i++) {
            assert_non_null(b[i] = bufpool_get(&p));
            b[i][0] = (char)i;
        }
        for (i = 0; i < N; i++) {
            assert_int_equal(b[i][0], (char)i);     /* no buffer given twice */
            bufpool_put(&p, b[i]);
        }
        assert_int_equal(p.ncold, p.made);
    }
    bufpool_destroy(&p);
    free(b);
}

static void test_poolbuf_outgrows_the_pool_and_keeps_its_octets(void **state)
{
    struct bufpool p;
    struct poolbuf b = { NULL, 0, 0 };
    size_t i;

    (void)state;
    assert_int_equal(bufpool_init(&p, 4096, 2), 0);
    assert_int_equal(poolbuf_reserve(&p, &b, 100), 0);
    assert_int_equal(p.taken, 1);
    assert_int_equal(b.cap, 4096);
    for (i = 0; i < 10000; i++) {
        assert_int_equal(poolbuf_reserve(&p, &b, 1), 0);
        b.p[b.len++] = (char)(i % 251);
    }
    assert_int_equal(p.taken, 0);       /* moved to malloc: the pool's is back */
    assert_true(b.cap >= 10000);
    for (i = 0; i < 10000; i++)
        assert_int_equal(b.p[i], (char)(i % 251));
    poolbuf_release(&p, &b);
    assert_null(b.p);
    assert_int_equal(b.len + b.cap, 0);
    assert_int_equal(poolbuf_reserve(&p, &b, 10), 0);
    poolbuf_release(&p, &b);
    assert_int_equal(p.taken, 0);
    bufpool_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bufpool_buffers_start_on_pages_of_their_own),
        cmocka_unit_test(test_bufpool_given_back_is_taken_next),
        cmocka_unit_test(test_bufpool_beyond_keep_pages_go_back),
        cmocka_unit_test(test_bufpool_many_slabs_all_fit_back),
        cmocka_unit_test(test_poolbuf_outgrows_the_pool_and_keeps_its_octets),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
