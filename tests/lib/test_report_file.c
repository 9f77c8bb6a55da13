/* test_report_file.c - lib/report_file: the first write error is kept with
 * its errno and reported at close naming the path; "-" writes standard
 * output; an atomic report appears only when every write succeeded. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report_file.h"

/* read_all - the contents of path into buf (NUL-terminated); its length or -1. */
static ssize_t read_all(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = read(fd, buf, len - 1);
    close(fd);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

static void test_report_file_dev_full_fails_at_close_with_enospc_naming_the_path(void **state)
{
    struct report_file rf;
    char err[256] = "";

    (void)state;
    assert_int_equal(report_file_open(&rf, "/dev/full", 0, err, sizeof(err)), 0);
    fprintf(report_file_stream(&rf), "{\"version\": %d}\n", 1);
    assert_int_equal(report_file_close(&rf, err, sizeof(err)), -ENOSPC);
    assert_non_null(strstr(err, "/dev/full"));
    assert_non_null(strstr(err, strerror(ENOSPC)));
}

static void test_report_file_dash_writes_standard_output(void **state)
{
    char path[] = "/tmp/test_report_file_XXXXXX", got[64], err[256] = "";
    struct report_file rf;
    int fd = mkstemp(path), saved = dup(STDOUT_FILENO), rc;

    (void)state;
    assert_true(fd >= 0 && saved >= 0);
    fflush(stdout);
    assert_int_equal(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
    printf("before ");                  /* stdout's own buffer comes first */
    rc = report_file_open(&rf, "-", REPORT_FILE_ATOMIC, err, sizeof(err));
    if (rc == 0) {
        fputs("report\n", report_file_stream(&rf));
        rc = report_file_close(&rf, err, sizeof(err));
    }
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(fd);
    assert_int_equal(rc, 0);
    assert_int_equal(read_all(path, got, sizeof(got)), 14);
    assert_string_equal(got, "before report\n");
    unlink(path);
}

static void test_report_file_missing_directory_fails_at_open(void **state)
{
    struct report_file rf;
    char err[256] = "";

    (void)state;
    assert_int_equal(report_file_open(&rf, "/nonexistent-smtpstorm-dir/r.json", 0, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "cannot write /nonexistent-smtpstorm-dir/r.json"));
    assert_int_equal(report_file_open(&rf, "/nonexistent-smtpstorm-dir/r.json", REPORT_FILE_ATOMIC, err,
                                      sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "/nonexistent-smtpstorm-dir/r.json"));
}

static void test_report_file_keeps_the_first_error(void **state)
{
    struct report_file rf;
    char err[256] = "";

    (void)state;
    assert_int_equal(report_file_open(&rf, "/dev/full", 0, err, sizeof(err)), 0);
    report_file_fail(&rf, ENOMEM);
    fputs("never written\n", report_file_stream(&rf));
    report_file_fail(&rf, EIO);
    assert_int_equal(report_file_close(&rf, err, sizeof(err)), -ENOMEM);
    assert_non_null(strstr(err, "/dev/full"));
}

static void test_report_file_atomic_appears_only_on_success(void **state)
{
    char dir[] = "/tmp/test_report_file_XXXXXX", path[128], got[64], err[256] = "";
    struct report_file rf;
    struct stat st;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/r.json", dir);
    assert_int_equal(report_file_open(&rf, path, REPORT_FILE_ATOMIC, err, sizeof(err)), 0);
    fputs("{}\n", report_file_stream(&rf));
    assert_int_equal(stat(path, &st), -1);          /* not before close */
    assert_int_equal(report_file_close(&rf, err, sizeof(err)), 0);
    assert_int_equal(read_all(path, got, sizeof(got)), 3);
    assert_string_equal(got, "{}\n");

    assert_int_equal(report_file_open(&rf, path, REPORT_FILE_ATOMIC, err, sizeof(err)), 0);
    fputs("half", report_file_stream(&rf));
    report_file_fail(&rf, ENOMEM);
    assert_int_equal(report_file_close(&rf, err, sizeof(err)), -ENOMEM);
    assert_int_equal(read_all(path, got, sizeof(got)), 3);   /* the old one stays */
    unlink(path);
    assert_int_equal(rmdir(dir), 0);                /* no temporary file left behind */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_file_dev_full_fails_at_close_with_enospc_naming_the_path),
        cmocka_unit_test(test_report_file_dash_writes_standard_output),
        cmocka_unit_test(test_report_file_missing_directory_fails_at_open),
        cmocka_unit_test(test_report_file_keeps_the_first_error),
        cmocka_unit_test(test_report_file_atomic_appears_only_on_success),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
