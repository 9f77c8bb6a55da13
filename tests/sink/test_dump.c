/* test_dump.c - the -d/-D capture files have smtp-sink's exact format. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "dump.h"
#include "maildate.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test_dump.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[300];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, 65536);

    assert_non_null(f);
    *len = fread(buf, 1, 65535, f);
    fclose(f);
    return buf;
}

/* capture - one transaction, body fed in pieces of step bytes. */
static void capture(struct dump *d, const char *body, size_t step, enum dump_body_mode mode)
{
    size_t i, n = strlen(body);

    assert_int_equal(dump_open(d, "127.0.0.1", "ESMTP", "client.example", 0, 1700000000), 0);
    dump_record(d, "X-Mail-Args", "<a@b>", 5);
    dump_record(d, "X-Rcpt-Args", "<c@d>", 5);
    dump_received(d, "client.example", "127.0.0.1", "ESMTP", "smtp-sink");
    for (i = 0; i < n; i += step)
        dump_body(d, body + i, n - i < step ? n - i : step, mode);
}

static const char body[] = "Subject: hi\r\n\r\n.dotted\r\n..two\r\nbare\rcr\nlf\r\n\r\n.\r\n";

static void expected(char *out, size_t outlen, uint32_t id, const char *start)
{
    char date[MAIL_DATE_MAX];

    assert_true(mail_date_format(1700000000, date, sizeof(date)) > 0);
    snprintf(out, outlen, "%sX-Client-Addr: 127.0.0.1\nX-Client-Proto: ESMTP\nX-Helo-Args: client.example\n"
             "X-Mail-Args: <a@b>\nX-Rcpt-Args: <c@d>\nReceived: from client.example ([127.0.0.1])\n"
             "\tby smtp-sink (smtp-sink) with ESMTP id %08x;\n\t%s\n"
             "Subject: hi\n\ndotted\n.two\nbarecr\nlf\n\n\n", start, id, date);
}

static void test_dump_single_file_format_any_split(void **state)
{
    struct sink_config cfg;
    struct dump_writer *w;
    struct dump d;
    char tmpl[300], want[2048], *got;
    size_t step, len;
    int err;

    (void)state;
    sink_config_init(&cfg, "t");
    snprintf(tmpl, sizeof(tmpl), "%s/sub/dir/%%Y.", dir);
    cfg.dump_single = tmpl;
    memcpy(cfg.start_string, "S\n", 2);
    cfg.start_len = 2;
    w = dump_writer_new(&cfg, 7, &err);
    assert_non_null(w);
    dump_init(&d, w);
    for (step = 1; step <= sizeof(body); step++) {
        capture(&d, body, step, DUMP_BODY_DATA);
        char path[DUMP_PATH_MAX];
        uint32_t id = d.id;
        snprintf(path, sizeof(path), "%s", d.path);
        assert_int_equal(dump_finish(&d), 0);
        got = slurp(path, &len);
        expected(want, sizeof(want), id, "S\n");
        assert_string_equal(got, want);
        free(got);
        unlink(path);
    }
    dump_release(&d);
    dump_writer_free(w);
}

static void test_dump_abort_removes_file(void **state)
{
    struct sink_config cfg;
    struct dump_writer *w;
    struct dump d;
    char tmpl[300], path[DUMP_PATH_MAX];
    int err;

    (void)state;
    sink_config_init(&cfg, "t");
    snprintf(tmpl, sizeof(tmpl), "%s/abort.", dir);
    cfg.dump_single = tmpl;
    w = dump_writer_new(&cfg, 9, &err);
    dump_init(&d, w);
    capture(&d, "partial", 3, DUMP_BODY_DATA);
    snprintf(path, sizeof(path), "%s", d.path);
    assert_int_equal(access(path, F_OK), 0);
    dump_abort(&d);
    assert_null(d.buf.p);                 /* the buffer went back */
    assert_int_not_equal(access(path, F_OK), 0);
    dump_release(&d);
    dump_writer_free(w);
}

static void test_dump_shared_file_appends_whole_messages(void **state)
{
    struct sink_config cfg;
    struct dump_writer *w;
    struct dump d;
    char tmpl[300], want[4096], one[2048], *got;
    uint32_t ids[2];
    size_t len;
    int err, i;

    (void)state;
    sink_config_init(&cfg, "t");
    snprintf(tmpl, sizeof(tmpl), "%s/shared/all", dir);
    cfg.dump_shared = tmpl;
    w = dump_writer_new(&cfg, 11, &err);
    dump_init(&d, w);
    want[0] = '\0';
    for (i = 0; i < 2; i++) {
        capture(&d, body, 5, DUMP_BODY_DATA);
        assert_non_null(d.buf.p);         /* the capture holds a buffer ... */
        ids[i] = d.id;
        assert_int_equal(dump_finish(&d), 0);
        assert_null(d.buf.p);             /* ... and gives it back at its end */
        expected(one, sizeof(one), ids[i], "");
        strcat(want, one);
    }
    got = slurp(tmpl, &len);
    assert_string_equal(got, want);
    free(got);
    dump_release(&d);
    dump_writer_free(w);
}

static void test_dump_open_error_is_reported_not_fatal(void **state)
{
    struct sink_config cfg;
    struct dump_writer *w;
    struct dump d;
    char tmpl[300];
    int err;

    (void)state;
    sink_config_init(&cfg, "t");
    snprintf(tmpl, sizeof(tmpl), "/proc/no/such/dir/x.");
    cfg.dump_single = tmpl;
    w = dump_writer_new(&cfg, 13, &err);
    dump_init(&d, w);
    assert_int_not_equal(dump_open(&d, "127.0.0.1", "SMTP", NULL, 0, 1700000000), 0);
    dump_body(&d, "x\r\n.\r\n", 6, DUMP_BODY_DATA);
    assert_int_not_equal(dump_finish(&d), 0);
    /* the next capture starts clean */
    dump_release(&d);
    dump_writer_free(w);
}

/* SMTPUTF8: the records keep octets >= 0x80; otherwise '?' as smtp-sink */
static void test_dump_utf8_records_only_for_smtputf8(void **state)
{
    struct sink_config cfg;
    struct dump_writer *w;
    struct dump d;
    char tmpl[300], path[DUMP_PATH_MAX], *got;
    size_t len;
    int err, utf8;

    (void)state;
    sink_config_init(&cfg, "t");
    snprintf(tmpl, sizeof(tmpl), "%s/u8.", dir);
    cfg.dump_single = tmpl;
    w = dump_writer_new(&cfg, 3, &err);
    assert_non_null(w);
    dump_init(&d, w);
    for (utf8 = 0; utf8 < 2; utf8++) {
        assert_int_equal(dump_open(&d, "127.0.0.1", "ESMTP", "h\xc3\xa9", utf8, 1700000000), 0);
        dump_record(&d, "X-Mail-Args", "<s\xc3\xa9@x> SMTPUTF8", strlen("<s\xc3\xa9@x> SMTPUTF8"));
        dump_record(&d, "X-Rcpt-Args", "<\xe2\x82\xac@x>", strlen("<\xe2\x82\xac@x>"));
        dump_received(&d, "h\xc3\xa9", "127.0.0.1", "ESMTP", "smtp-sink");
        dump_body(&d, "Subject: \xc3\xa9\r\n\r\n.\r\n", strlen("Subject: \xc3\xa9\r\n\r\n.\r\n"),
                  DUMP_BODY_DATA);
        snprintf(path, sizeof(path), "%s", d.path);
        assert_int_equal(dump_finish(&d), 0);
        got = slurp(path, &len);
        if (utf8)
            assert_non_null(strstr(got, "X-Helo-Args: h\xc3\xa9\nX-Mail-Args: <s\xc3\xa9@x> SMTPUTF8\n"
                                   "X-Rcpt-Args: <\xe2\x82\xac@x>\nReceived: from h\xc3\xa9 ([127.0.0.1])\n"));
        else if (strstr(got, "X-Helo-Args: h??\nX-Mail-Args: <s??@x> SMTPUTF8\n"
                                   "X-Rcpt-Args: <???@x>\nReceived: from h?? ([127.0.0.1])\n") == NULL)
            fail_msg("%s", got);
        assert_non_null(strstr(got, "\nSubject: \xc3\xa9\n\n\n"));     /* the message as received */
        free(got);
        unlink(path);
    }
    dump_release(&d);
    dump_writer_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dump_single_file_format_any_split),
        cmocka_unit_test(test_dump_abort_removes_file),
        cmocka_unit_test(test_dump_shared_file_appends_whole_messages),
        cmocka_unit_test(test_dump_open_error_is_reported_not_fatal),
        cmocka_unit_test(test_dump_utf8_records_only_for_smtputf8),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
