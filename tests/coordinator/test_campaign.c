/* test_campaign.c - the campaign file: a full file is read into the
 * workload, and every kind of mistake is reported with its line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "campaign.h"
#include "cli.h"

static const char good[] =
    "# nightly soak\n"
    "name: nightly\n"
    "targets:\n"
    "  - 127.0.0.1:2525\n"
    "  - \"[::1]:2526\"\n"
    "messages: 100000\n"
    "sessions: 50\n"
    "rate: 250.5\n"
    "pipelining: yes\n"
    "recipients: 3\n"
    "length: 0\n"
    "from: load@example.org\n"
    "family: 6\n"
    "fixed_wait: 250ms\n"
    "timeout: 5s\n"
    "phases:\n"
    "  - kind: ramp\n"
    "    rate: 1000\n"
    "    duration: 30s\n"
    "  - { name: plateau, kind: steady, rate: 1000, duration: 2m }\n"
    "  - kind: spike\n"
    "    sessions: 400\n"
    "    duration: 10\n"
    "thresholds:\n"
    "  - p99(message) < 500ms\n"
    "  - lost==0\n";

static void test_campaign_reads_every_kind_of_key(void **state)
{
    struct run_config c;
    char err[256];

    (void)state;
    config_init(&c);
    assert_int_equal(campaign_parse(good, strlen(good), "good.yaml", &c, err, sizeof(err)), 0);
    assert_string_equal(c.w.name, "nightly");
    assert_int_equal(c.w.n_targets, 2);
    assert_string_equal(c.w.targets[1], "[::1]:2526");
    assert_true(c.w.messages == 100000 && c.w.messages_set);
    assert_true(c.w.sessions == 50 && c.w.sessions_set);
    assert_true(c.w.rate > 250.4 && c.w.rate < 250.6);
    assert_true(c.w.pipelining && c.w.recipients == 3 && c.w.has_length && c.w.length == 0);
    assert_string_equal(c.w.from, "load@example.org");
    assert_int_equal(c.w.family, 6);
    assert_true(c.w.fixed_wait_ms == 250);
    assert_true(c.w.timeout_ms == 5000);
    assert_int_equal(c.w.n_phases, 3);
    assert_int_equal(c.w.phases[0].kind, PHASE_KIND_RAMP);
    assert_true(c.w.phases[1].duration_ms == 120000);
    assert_string_equal(c.w.phases[1].name, "plateau");
    assert_string_equal(c.w.phases[0].name, "");
    assert_true(c.w.phases[2].sessions == 400 && c.w.phases[2].duration_ms == 10000);
    assert_true(config_total_duration_ms(&c.w) == 160000);
    assert_int_equal(c.n_thresholds, 2);
    assert_string_equal(c.thresholds[1].text, "lost==0");
    assert_true(c.thresholds_from_file);
    config_free(&c);
}

/* Parse text for run (or, capacity set, for smtpstorm capacity) and
 * expect an error that starts with "t.yaml:LINE: " and says what. */
static void expect_error_for(int capacity, const char *text, int line, const char *what)
{
    struct run_config c;
    char err[256], prefix[32];

    config_init(&c);
    c.cap.on = capacity;
    assert_int_equal(campaign_parse(text, strlen(text), "t.yaml", &c, err, sizeof(err)), -EINVAL);
    snprintf(prefix, sizeof(prefix), "t.yaml:%d: ", line);
    if (strncmp(err, prefix, strlen(prefix)) != 0 || strstr(err, what) == NULL)
        fail_msg("expected '%s...%s', got '%s'", prefix, what, err);
    config_free(&c);
}

static void expect_error(const char *text, int line, const char *what)
{
    expect_error_for(0, text, line, what);
}

static void test_campaign_errors_name_the_line(void **state)
{
    (void)state;
    expect_error("messages: 10\nrat: 5\n", 2, "unknown key 'rat'");
    expect_error("messages: ten\n", 1, "'messages' must be a whole number");
    expect_error("messages: 0\n", 1, "'messages' must be a whole number from 1");
    expect_error("sessions: 5\n\n\nrate: fast\n", 4, "'rate' must be messages per second");
    expect_error("duration: forever\n", 1, "'duration' must be a duration");
    expect_error("pipelining: maybe\n", 1, "must be true or false");
    expect_error("messages: 1\nmessages: 2\n", 2, "given twice");
    expect_error("targets: {a: 1}\n", 1, "'targets' must be a list");
    expect_error("phases:\n  - kind: burst\n    duration: 5s\n", 2, "not ramp, steady or spike");
    expect_error("phases:\n  - kind: ramp\n    rate: 10\n", 2, "needs a duration");
    expect_error("phases:\n  - duration: 5s\n", 2, "needs a kind");
    expect_error("phases:\n  - kind: spike\n    duration: 5s\n    sessions: lots\n", 4, "phase sessions");
    expect_error("phases:\n  - kind: spike\n    duration: 5s\n    colour: red\n", 4, "unknown phase key 'colour'");
    expect_error("phases:\n  - kind: spike\n    duration: 5s\n    name: 'a b'\n", 4, "phase name 'a b'");
    expect_error("messages: [1, 2]\n", 1, "needs a plain value");
    expect_error("- just\n- a list\n", 1, "must be a mapping");
    expect_error("family: 5\n", 1, "'family' must be 4, 6 or any");
    expect_error("messages: 1\ntimeout: 0\n", 2, "'timeout' must be a duration like 30s");
    expect_error("timeout: 25h\n", 1, "at most a day");
    expect_error("timeout: soon\n", 1, "'timeout' must be a duration");
    expect_error("", 1, "empty");
    expect_error("messages: 5\nthresholds:\n  - lost==0\n  - p99(mesage)<1s\n", 4,
                 "threshold: ");
    expect_error("thresholds: {lost: 0}\n", 1, "'thresholds' must be a list");
    expect_error("thresholds:\n  - [lost, 0]\n", 2, "a threshold must be an expression");
    expect_error("messages: 5\ncapacity:\n  slo: [lost==0]\n", 2, "for smtpstorm capacity --campaign");
}

static const char capacity_file[] =
    "name: mx-capacity\n"
    "targets: [127.0.0.1:2525]\n"
    "pipelining: yes\n"
    "size: 4k\n"
    "capacity:\n"
    "  slo:\n"
    "    - p99(message) < 2s\n"
    "    - backlog_growth<50/s\n"
    "  start: 40\n"
    "  max: 400\n"
    "  factor: 1.5\n"
    "  resolution: 8%\n"
    "  step: 5s\n"
    "  settle: 1500ms\n"
    "  max_sessions: 300\n";

static void test_campaign_reads_the_capacity_section(void **state)
{
    struct run_config c;
    char err[256];

    (void)state;
    config_init(&c);
    c.cap.on = 1;
    if (campaign_parse(capacity_file, strlen(capacity_file), "cap.yaml", &c, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_string_equal(c.w.name, "mx-capacity");
    assert_true(c.w.n_targets == 1 && c.w.pipelining);
    assert_true(c.n_thresholds == 2 && c.thresholds_from_file);
    assert_string_equal(c.thresholds[1].text, "backlog_growth<50/s");
    assert_true(c.cap.start == 40 && c.cap.max == 400 && c.cap.factor == 1.5 && c.cap.resolution_pct == 8);
    assert_true(c.cap.step_ms == 5000 && c.cap.settle_ms == 1500 && c.cap.max_sessions == 300);
    config_free(&c);
    config_init(&c);        /* a section without some keys keeps their defaults */
    c.cap.on = 1;
    assert_int_equal(campaign_parse("capacity: {slo: lost==0, start: 20}\n", 35, "c.yaml", &c, err, sizeof(err)), 0);
    assert_true(c.n_thresholds == 1 && c.cap.start == 20 && c.cap.max == CAPACITY_MAX_DEFAULT
                && c.cap.step_ms == CAPACITY_STEP_DEFAULT_MS);
    config_free(&c);
}

static void test_campaign_capacity_errors_name_the_line(void **state)
{
    (void)state;
    expect_error_for(1, "targets: [a]\ncapacity: 5\n", 2, "'capacity' must be a mapping");
    expect_error_for(1, "capacity:\n  slo: [lost==0]\n  colour: red\n", 3, "unknown capacity key 'colour'");
    expect_error_for(1, "capacity:\n  start: 10\n  start: 20\n", 3, "capacity 'start' is given twice");
    expect_error_for(1, "capacity:\n  start: fast\n", 2, "capacity 'start': 'fast' is not messages per second");
    expect_error_for(1, "capacity:\n  max: 0\n", 2, "capacity 'max': '0' is not messages per second above 0");
    expect_error_for(1, "capacity:\n  factor: 1\n", 2, "capacity 'factor': '1' is not a number above 1");
    expect_error_for(1, "capacity:\n  resolution: 100%\n", 2, "capacity 'resolution': '100%' is not a percent");
    expect_error_for(1, "capacity:\n  step: 500ms\n", 2, "capacity 'step': '500ms' is not a duration of a second");
    expect_error_for(1, "capacity:\n  settle: later\n", 2, "capacity 'settle': 'later' is not a duration");
    expect_error_for(1, "capacity:\n  max_sessions: 0\n", 2, "capacity 'max_sessions': '0' is not a whole");
    expect_error_for(1, "capacity:\n  step: [5s]\n", 2, "capacity 'step' needs a plain value");
    expect_error_for(1, "capacity:\n  slo:\n    - lost==0\n    - p99(mesage)<1s\n", 4, "slo: ");
    expect_error_for(1, "capacity:\n  slo:\n    - steady:lost==0\n", 3, "drop the 'steady:' scope");
    expect_error_for(1, "capacity:\n  slo: {lost: 0}\n", 2, "'slo' must be a list of objectives");
    expect_error_for(1, "capacity:\n  slo:\n    - [lost, 0]\n", 3, "an objective must be an expression");
    expect_error_for(1, "capacity:\n  slo: [+5%]\n", 2, "slo: ");
    expect_error_for(1, "capacity:\n  start: 50\n  max: 20\n", 3, "start 50 is above max 20");
    expect_error_for(1, "targets: [a]\n\nphases:\n  - {kind: steady, duration: 5s}\n", 3,
                     "'phases': the capacity search decides");
    expect_error_for(1, "rate: 100\n", 1, "'rate': the capacity search decides");
    expect_error_for(1, "messages: 100\n", 1, "'messages': the capacity search decides");
    expect_error_for(1, "sessions: 10\n", 1, "'sessions': the capacity search decides");
    expect_error_for(1, "duration: 10s\n", 1, "'duration': the capacity search decides");
    expect_error_for(1, "warmup: 10s\n", 1, "'warmup': the capacity search decides");
    expect_error_for(1, "thresholds: [lost==0]\n", 1, "its capacity: slo: list");
}

/* smtpstorm capacity --campaign FILE: every option on the command line
 * overrides the file's key, --slo replaces its whole list, TARGETs its targets. */
static void test_capacity_command_line_overrides_the_file(void **state)
{
    char path[] = "/tmp/test_campaign_XXXXXX", err[256];
    char *argv[] = { "capacity", "--campaign", path, "--start", "80", "--step", "2s", "--slo", "lost==0",
                     "--resolution", "3", "127.0.0.1:2600", NULL };
    struct run_config c;
    int fd;

    (void)state;
    assert_true((fd = mkstemp(path)) >= 0);
    assert_int_equal(write(fd, capacity_file, strlen(capacity_file)), (ssize_t)strlen(capacity_file));
    close(fd);
    config_init(&c);
    if (cli_parse_capacity(12, argv, &c, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_true(c.cap.start == 80 && c.cap.step_ms == 2000 && c.cap.resolution_pct == 3);
    assert_true(c.cap.max == 400 && c.cap.factor == 1.5 && c.cap.settle_ms == 1500 && c.cap.max_sessions == 300);
    assert_true(c.n_thresholds == 1 && c.w.n_targets == 1 && c.w.pipelining);
    assert_string_equal(c.thresholds[0].text, "lost==0");
    assert_string_equal(c.w.targets[0], "127.0.0.1:2600");
    config_free(&c);
    config_init(&c);        /* without --slo, the file's objectives */
    if (cli_parse_capacity(5, argv, &c, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_true(c.n_thresholds == 2 && c.cap.start == 80 && c.w.n_targets == 1);
    config_free(&c);
    unlink(path);
}

static void test_campaign_yaml_syntax_error_names_the_line(void **state)
{
    (void)state;
    expect_error("messages: 10\nsessions: 2\ntargets: [a, b\nrate: 5\n", 4, "expected");
    expect_error("messages: 10\n  sessions: 2\n", 2, "");
}

static void test_campaign_load_missing_file_says_so(void **state)
{
    struct run_config c;
    char err[256];

    (void)state;
    config_init(&c);
    assert_true(campaign_load("/nonexistent/campaign.yaml", &c, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "/nonexistent/campaign.yaml"));
    config_free(&c);
}

static void test_config_parses_durations(void **state)
{
    uint64_t ms;

    (void)state;
    assert_int_equal(config_parse_duration("90", 1000, &ms), 0);
    assert_true(ms == 90000);
    assert_int_equal(config_parse_duration("1.5m", 1000, &ms), 0);
    assert_true(ms == 90000);
    assert_int_equal(config_parse_duration("500ms", 1000, &ms), 0);
    assert_true(ms == 500);
    assert_int_equal(config_parse_duration("2h", 1000, &ms), 0);
    assert_true(ms == 7200000);
    assert_int_equal(config_parse_duration("-1", 1000, &ms), -EINVAL);
    assert_int_equal(config_parse_duration("5 s", 1000, &ms), -EINVAL);
    assert_int_equal(config_parse_duration("1e300", 1000, &ms), -EINVAL);
}

static void test_config_timeout_defaults_to_30s_and_is_bounded(void **state)
{
    struct run_config c;
    uint64_t ms = 7;

    (void)state;
    config_init(&c);
    assert_true(c.w.timeout_ms == 30000);       /* a dead target ends a campaign within a minute */
    config_free(&c);
    assert_int_equal(config_parse_timeout("5s", &ms), 0);
    assert_true(ms == 5000);
    assert_int_equal(config_parse_timeout("2", &ms), 0);
    assert_true(ms == 2000);
    assert_int_equal(config_parse_timeout("500ms", &ms), 0);
    assert_true(ms == 500);
    assert_int_equal(config_parse_timeout("24h", &ms), 0);
    assert_int_equal(config_parse_timeout("0", &ms), -EINVAL);
    assert_int_equal(config_parse_timeout("0.1ms", &ms), -EINVAL);
    assert_int_equal(config_parse_timeout("25h", &ms), -EINVAL);
    assert_int_equal(config_parse_timeout("-5s", &ms), -EINVAL);
    assert_int_equal(config_parse_timeout("5x", &ms), -EINVAL);
    assert_true(ms == 86400000);                /* unchanged by the refusals */
}

/* sink_behaviour: inline, per campaign and per phase; a bad one names
 * the campaign file's own line. */
static void test_campaign_sink_behaviour_inline_and_per_phase(void **state)
{
    static const char good[] =
        "messages: 10\n"
        "sink_behaviour:\n"
        "  rules:\n"
        "    - { at: RCPT, probability: 0.5, reply: \"451 4.7.1 Later\" }\n"
        "phases:\n"
        "  - { kind: steady, duration: 2s }\n"
        "  - kind: steady\n"
        "    duration: 2s\n"
        "    sink_behaviour: { rules: [ { at: RCPT, reply: \"550 5.1.1 No\" } ] }\n";
    static const char bad[] =
        "messages: 10\n"
        "phases:\n"
        "  - kind: steady\n"
        "    duration: 2s\n"
        "    sink_behaviour:\n"
        "      rules:\n"
        "        - { at: RCPT, probability: 1.5, reply: \"451 4.7.1 Later\" }\n";
    struct run_config c;
    char err[512];

    (void)state;
    config_init(&c);
    if (campaign_parse(good, strlen(good), "b.yaml", &c, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_non_null(c.w.sink_behaviour.text);
    assert_null(c.w.phases[0].sink_behaviour.text);
    assert_non_null(strstr(c.w.phases[1].sink_behaviour.text, "550 5.1.1"));
    assert_int_equal(c.w.envelope_trace, -1);
    config_free(&c);
    config_init(&c);
    assert_int_equal(campaign_parse(bad, strlen(bad), "b.yaml", &c, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "b.yaml:7:"));
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_campaign_reads_every_kind_of_key),
        cmocka_unit_test(test_campaign_errors_name_the_line),
        cmocka_unit_test(test_campaign_yaml_syntax_error_names_the_line),
        cmocka_unit_test(test_campaign_load_missing_file_says_so),
        cmocka_unit_test(test_config_parses_durations),
        cmocka_unit_test(test_config_timeout_defaults_to_30s_and_is_bounded),
        cmocka_unit_test(test_campaign_sink_behaviour_inline_and_per_phase),
        cmocka_unit_test(test_campaign_reads_the_capacity_section),
        cmocka_unit_test(test_campaign_capacity_errors_name_the_line),
        cmocka_unit_test(test_capacity_command_line_overrides_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
