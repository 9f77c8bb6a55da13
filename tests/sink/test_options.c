/* test_options.c - smtp-sink's option checks: every bad value is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

static enum sink_options_result parse(struct sink_config *cfg, const char *opt, const char *val,
                                      char *err, size_t errlen)
{
    char *argv[8];
    int argc = 0;

    argv[argc++] = "sink";
    argv[argc++] = "-u";
    argv[argc++] = "nobody";
    if (opt)
        argv[argc++] = (char *)opt;
    if (val)
        argv[argc++] = (char *)val;
    argv[argc++] = "127.0.0.1:2525";
    argv[argc++] = "10";
    argv[argc] = NULL;
    sink_config_init(cfg, "sink");
    return sink_options_parse(cfg, argc, argv, err, errlen);
}

static void test_options_defaults_as_smtp_sink(void **state)
{
    struct sink_config cfg;
    char err[256];

    (void)state;
    assert_int_equal(parse(&cfg, NULL, NULL, err, sizeof(err)), SINK_OPTIONS_RUN);
    assert_string_equal(cfg.hostname, "smtp-sink");
    assert_int_equal(cfg.timeout_s, 100);
    assert_int_equal(cfg.max_clients, 256);
    assert_int_equal(cfg.backlog, 10);
    assert_string_equal(cfg.soft_reply, "450 4.3.0 Error: command failed");
    assert_string_equal(cfg.hard_reply, "500 5.3.0 Error: command failed");
    assert_true(cfg.cmd[SINK_CMD_EHLO].flags & SINK_CMD_FLAG_ENABLE);
    assert_false(cfg.cmd[SINK_CMD_LHLO].flags & SINK_CMD_FLAG_ENABLE);
    assert_false(cfg.cmd[SINK_CMD_STARTTLS].flags & SINK_CMD_FLAG_ENABLE);
}

static void test_options_bad_values_refused(void **state)
{
    static const char *const bad[][2] = {
        { "-A", "x" }, { "-A", "-1" }, { "-b", "500 no" }, { "-B", "450 no" }, { "-b", "4" },
        { "-f", "bogus" }, { "-q", "mail,bogus" }, { "-Q", "x" }, { "-r", "y" }, { "-s", "z" },
        { "-H", "0" }, { "-m", "0" }, { "-m", "many" }, { "-M", "0" }, { "-n", "-3" },
        { "-t", "0" }, { "-t", "10s" }, { "-T", "0" }, { "-w", "0" }, { "-W", "data" },
        { "-W", "foo:1" }, { "-W", "data:0" }, { "-W", "data:1:100" }, { "--threads", "0" },
        { "--threads", "9999" }, { "-Z", NULL }, { "--coordinator", "x" },
        { "--metrics", "localhost" }, { "--metrics", "127.0.0.1:65536" }, { "--metrics", "" },
        { "--size-limit", "0" }, { "--size-limit", "-1" }, { "--size-limit", "1k" },
        { "--socket-mode", "666" }, { "--auth-users", "/nonexistent/users" },
    };
    struct sink_config cfg;
    char err[256];
    size_t i;
    enum sink_options_result r;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = parse(&cfg, bad[i][0], bad[i][1], err, sizeof(err));
        if (r != SINK_OPTIONS_USAGE && r != SINK_OPTIONS_FATAL)
            fail_msg("%s %s was accepted", bad[i][0], bad[i][1] ? bad[i][1] : "");
    }
}

static void test_options_command_lists(void **state)
{
    struct sink_config cfg;
    char err[256];

    (void)state;
    assert_int_equal(parse(&cfg, "-f", "Mail, rcpt .,QUIT", err, sizeof(err)), SINK_OPTIONS_RUN);
    assert_true(cfg.cmd[SINK_CMD_MAIL].flags & SINK_CMD_FLAG_HARD_ERR);
    assert_true(cfg.cmd[SINK_CMD_RCPT].flags & SINK_CMD_FLAG_HARD_ERR);
    assert_true(cfg.cmd[SINK_CMD_DOT].flags & SINK_CMD_FLAG_HARD_ERR);
    assert_true(cfg.cmd[SINK_CMD_QUIT].flags & SINK_CMD_FLAG_HARD_ERR);
    assert_true(cfg.no_pipelining);
    assert_int_equal(parse(&cfg, "-W", "rcpt:2:50", err, sizeof(err)), SINK_OPTIONS_RUN);
    assert_int_equal(cfg.cmd[SINK_CMD_RCPT].delay_s, 2);
    assert_int_equal(cfg.cmd[SINK_CMD_RCPT].delay_odds, 50);
    assert_int_equal(parse(&cfg, "-S", "a\\tb\\101\\\\\\n", err, sizeof(err)), SINK_OPTIONS_RUN);
    assert_int_equal(cfg.start_len, 6);
    assert_memory_equal(cfg.start_string, "a\tbA\\\n", 6);
}

static void test_options_metrics_address_kept(void **state)
{
    struct sink_config cfg;
    char err[256];

    (void)state;
    assert_int_equal(parse(&cfg, NULL, NULL, err, sizeof(err)), SINK_OPTIONS_RUN);
    assert_null(cfg.metrics);
    assert_int_equal(parse(&cfg, "--metrics", "127.0.0.1:9464", err, sizeof(err)), SINK_OPTIONS_RUN);
    assert_string_equal(cfg.metrics, "127.0.0.1:9464");
    assert_int_equal(parse(&cfg, "--metrics", "[::1]:0", err, sizeof(err)), SINK_OPTIONS_RUN);
    assert_int_equal(parse(&cfg, "--metrics", "localhost", err, sizeof(err)), SINK_OPTIONS_USAGE);
    assert_non_null(strstr(err, "ADDR:PORT"));
}

static void test_options_size_smtputf8_socket_mode(void **state)
{
    struct sink_config cfg;
    char err[256];
    char *argv[] = { "sink", "-u", "nobody", "--socket-mode", "0660", "unix:/tmp/x.sock", "10", NULL };

    (void)state;
    assert_int_equal(parse(&cfg, NULL, NULL, err, sizeof(err)), SINK_OPTIONS_RUN);
    assert_true(cfg.size_limit == 0);
    assert_int_equal(cfg.no_smtputf8, 0);
    assert_int_equal(cfg.socket_mode, 0666);
    assert_null(cfg.users);
    assert_int_equal(parse(&cfg, "--size-limit", "10240000", err, sizeof(err)), SINK_OPTIONS_RUN);
    assert_true(cfg.size_limit == 10240000);
    assert_int_equal(parse(&cfg, "--no-smtputf8", NULL, err, sizeof(err)), SINK_OPTIONS_RUN);
    assert_int_equal(cfg.no_smtputf8, 1);
    sink_config_init(&cfg, "sink");
    assert_int_equal(sink_options_parse(&cfg, 7, argv, err, sizeof(err)), SINK_OPTIONS_RUN);
    assert_int_equal(cfg.socket_mode, 0660);
    /* a TCP listener has no mode */
    assert_int_equal(parse(&cfg, "--socket-mode", "0600", err, sizeof(err)), SINK_OPTIONS_USAGE);
    assert_non_null(strstr(err, "unix:"));
    argv[4] = "0888";
    sink_config_init(&cfg, "sink");
    assert_int_equal(sink_options_parse(&cfg, 7, argv, err, sizeof(err)), SINK_OPTIONS_USAGE);
    argv[4] = "01777";
    sink_config_init(&cfg, "sink");
    assert_int_equal(sink_options_parse(&cfg, 7, argv, err, sizeof(err)), SINK_OPTIONS_USAGE);
}

/* a bad --auth-users line is a usage error that names the line */
static void test_options_auth_users_bad_line_named(void **state)
{
    static const char *const files[][2] = {
        { "alice:pw\nbob\n", "line 2:" }, { "# c\n\n:pw\n", "line 3:" }, { "a:\n", "line 1:" },
        { "a:b\nc:d\na:e\n", "line 3: user already on line 1" },
    };
    struct sink_config cfg;
    char path[] = "/tmp/test_options_users.XXXXXX", err[512];
    size_t i;
    int fd;

    (void)state;
    assert_true((fd = mkstemp(path)) >= 0);
    close(fd);
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        FILE *f = fopen(path, "w");

        assert_non_null(f);
        fputs(files[i][0], f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(parse(&cfg, "--auth-users", path, err, sizeof(err)), SINK_OPTIONS_USAGE);
        if (strstr(err, files[i][1]) == NULL || strstr(err, path) == NULL)
            fail_msg("file %zu: %s", i, err);
    }
    unlink(path);
    assert_int_equal(parse(&cfg, "--auth-users", path, err, sizeof(err)), SINK_OPTIONS_USAGE);
    assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_defaults_as_smtp_sink),
        cmocka_unit_test(test_options_bad_values_refused),
        cmocka_unit_test(test_options_command_lists),
        cmocka_unit_test(test_options_metrics_address_kept),
        cmocka_unit_test(test_options_size_smtputf8_socket_mode),
        cmocka_unit_test(test_options_auth_users_bad_line_named),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
