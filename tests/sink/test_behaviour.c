/* test_behaviour.c - the sink's behaviour files: the parser names the line
 * of every error, and the pure session under rules gives the replies,
 * proportions, repeatable draws, greylisting and LMTP replies they ask for. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "behaviour.h"
#include "config.h"
#include "greylist.h"
#include "session.h"

/* ---- the parser ---- */

static const char example[] =
    "seed: 7\n"
    "rules:\n"
    "  - { at: RCPT, probability: 0.3, reply: \"451 4.7.1 Try again later\" }\n"
    "  - { at: RCPT, recipient: \"*@grey.test\", greylist: { min: 5s, lifetime: 4h } }\n"
    "  - { at: RCPT, recipient: \"*@gone.test\", reply: \"550 5.1.1 No such user\" }\n"
    "  - { at: \".\", probability: 0.01, disconnect: true }\n"
    "  - { at: DATA, delay: 2s }\n"
    "  - { bandwidth: 1m }        # octets per second per session\n";

static struct behaviour *parse_ok(const char *text)
{
    struct behaviour *b = NULL;
    char err[512];

    if (behaviour_parse(text, strlen(text), "behaviour.yaml", &b, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    return b;
}

static void parse_err(const char *text, const char *want)
{
    struct behaviour *b = NULL;
    char err[512];

    assert_int_equal(behaviour_parse(text, strlen(text), "behaviour.yaml", &b, err, sizeof(err)), -EINVAL);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("got \"%s\", want \"%s...\"", err, want);
    assert_null(b);
}

static void test_parse_issue_example(void **state)
{
    struct behaviour *b = parse_ok(example);

    (void)state;
    assert_int_equal(behaviour_rules(b), 6);
    assert_int_equal(behaviour_seed(b), 7);
    assert_true(behaviour_has_greylist(b));
    assert_string_equal(behaviour_rule_reply(b, 2), "550 5.1.1 No such user");
    behaviour_unref(b);
}

static void test_parse_errors_name_the_line(void **state)
{
    (void)state;
    parse_err("rules:\n  - { at: RCPT\n", "behaviour.yaml:3: ");
    parse_err("seed: 1\nrules:\n  - { at: RCPT, reply: \"550 5.1.1 x\" }\n  - { at: FOO, reply: \"550 x\" }\n",
              "behaviour.yaml:4: unknown command 'FOO'");
    parse_err("rules:\n  - at: RCPT\n    probability: 1.5\n    reply: \"451 4.7.1 x\"\n",
              "behaviour.yaml:3: probability must be from 0 to 1, not 1.5");
    parse_err("rules:\n  - { at: RCPT, probability: -0.1, reply: \"451 4.7.1 x\" }\n",
              "behaviour.yaml:2: probability must be from 0 to 1, not -0.1");
    parse_err("rules:\n\n  - { at: RCPT, reply: \"600 6.0.0 x\" }\n", "behaviour.yaml:3: bad reply '600 6.0.0 x'");
    parse_err("rules:\n  - { at: RCPT, reply: \"45 x\" }\n", "behaviour.yaml:2: bad reply");
    parse_err("rules:\n  - { at: RCPT, colour: red, reply: \"550 5.0.0 x\" }\n",
              "behaviour.yaml:2: unknown key 'colour'");
    parse_err("seed: 1\nmode: fast\n", "behaviour.yaml:2: unknown key 'mode'");
    parse_err("rules:\n  - { at: MAIL, greylist: { min: 5s } }\n", "behaviour.yaml:2: greylist goes with at: RCPT");
    parse_err("rules:\n  - { at: RCPT }\n", "behaviour.yaml:2: a rule needs an action");
    parse_err("seed: 1\nintake: stopped\n", "behaviour.yaml:2: intake: wants paused or open, not stopped");
    parse_err("intake: [paused]\n", "behaviour.yaml:1: intake: wants paused or open, not a list or mapping");
}

static void test_parse_intake_paused_or_open(void **state)
{
    struct behaviour *p = parse_ok("intake: paused\nrules:\n  - { at: RCPT, reply: \"550 5.1.1 x\" }\n");
    struct behaviour *o = parse_ok("intake: open\n"), *n = parse_ok(example);

    (void)state;
    assert_true(behaviour_paused(p));
    assert_int_equal(behaviour_rules(p), 1);
    assert_false(behaviour_paused(o));
    assert_false(behaviour_paused(n));
    assert_string_equal(behaviour_rule_reply(p, BEHAVIOUR_RULE_INTAKE), BEHAVIOUR_INTAKE_REPLY);
    behaviour_unref(p);
    behaviour_unref(o);
    behaviour_unref(n);
}

/* ---- the session under rules ---- */

struct rig {
    struct sink_config cfg;
    struct behaviour *b;
    struct behaviour_env env;
    struct sink_session_common common;
    struct sink_session s;
    uint64_t now;
    int messages;
    int counts[BEHAVIOUR_OUT_COUNT];
    int tagged;                     /* outcomes that came with an envelope tag */
    struct trace_tag last_tag;
    enum sink_session_status st;
    char *out;
    size_t out_len, out_cap;
};

static void on_message(void *arg, const struct trace *tr, uint64_t bytes, int dump_error)
{
    (void)tr, (void)bytes, (void)dump_error;
    ((struct rig *)arg)->messages++;
}

static uint64_t fake_now(void *arg)
{
    return ((struct rig *)arg)->now;
}

static void on_outcome(void *arg, enum behaviour_outcome o, const struct trace *tr, const struct trace_tag *tag)
{
    struct rig *r = arg;

    (void)tr;
    r->counts[o]++;
    r->tagged += tag != NULL;
    if (tag)
        r->last_tag = *tag;
}

static void take(struct rig *r)
{
    size_t n;
    const char *p = sink_session_output(&r->s, &n);

    if (r->out_len + n + 1 > r->out_cap) {
        r->out_cap = (r->out_len + n + 1) * 2;
        r->out = realloc(r->out, r->out_cap);
    }
    memcpy(r->out + r->out_len, p, n);
    r->out_len += n;
    r->out[r->out_len] = '\0';
    sink_session_output_consume(&r->s, n);
}

/* rig_new - a session under the rules text, with or without -L, seed given
 * (-1: the file's). */
static struct rig *rig_new(const char *rules, int lmtp, long long seed)
{
    static const struct sink_session_hooks hooks = { on_message, NULL, NULL };
    char err[256];
    char *argv[] = { "sink", "-u", "nobody", lmtp ? "-L" : "-c", "127.0.0.1:25", "10", NULL };
    struct rig *r = calloc(1, sizeof(*r));

    sink_config_init(&r->cfg, "sink");
    assert_int_equal(sink_options_parse(&r->cfg, 6, argv, err, sizeof(err)), SINK_OPTIONS_RUN);
    r->b = parse_ok(rules);
    if (seed >= 0)
        behaviour_set_seed(r->b, (uint64_t)seed);
    r->env.now_ms = fake_now;
    r->env.now_arg = r;
    r->env.outcome = on_outcome;
    r->env.outcome_arg = r;
    behaviour_env_seed(&r->env, r->b, 0);
    r->env.grey = greylist_new(16);
    assert_int_equal(sink_session_common_init(&r->common, &r->cfg, NULL), 0);
    sink_session_init(&r->s, &r->common, &hooks, r, 1);
    sink_session_set_behaviour(&r->s, r->b, &r->env);
    r->st = sink_session_start(&r->s, "192.0.2.1");
    take(r);
    return r;
}

static void rig_free(struct rig *r)
{
    sink_session_release(&r->s);
    sink_session_common_release(&r->common);
    behaviour_unref(r->b);
    greylist_free(r->env.grey);
    sink_config_free(&r->cfg);
    free(r->out);
    free(r);
}

/* feed - all of text; delays pass at once. Returns the replies to it. */
static const char *feed(struct rig *r, const char *text)
{
    size_t len = strlen(text), pos = 0;

    r->out_len = 0;
    take(r);
    while (r->st != SINK_SESSION_CLOSE) {
        if (r->st == SINK_SESSION_PAUSE) {
            r->st = sink_session_resume(&r->s);
        } else if (pos < len) {
            pos += sink_session_feed(&r->s, text + pos, len - pos, &r->st);
        } else {
            break;
        }
        take(r);
    }
    return r->out;
}

static int count_of(const char *out, const char *code)
{
    int n = 0;

    for (; (out = strstr(out, code)) != NULL; out++)
        n++;
    return n;
}

/* rcpt_outcomes - 1000 RCPTs in one transaction: a string of their codes' first digits. */
static void rcpt_outcomes(struct rig *r, char *seq, size_t n)
{
    char line[64];
    size_t i;

    feed(r, "MAIL FROM:<s@example.test>\r\n");
    for (i = 0; i < n; i++) {
        snprintf(line, sizeof(line), "RCPT TO:<r%zu@example.test>\r\n", i);
        seq[i] = feed(r, line)[0];
    }
    seq[n] = '\0';
    feed(r, "RSET\r\n");
}

static const char deferral30[] = "rules:\n  - { at: RCPT, probability: 0.3, reply: \"451 4.7.1 Try again later\" }\n";

static void test_session_deferral_proportion_binomial(void **state)
{
    struct rig *r = rig_new(deferral30, 0, 12345);
    char *seq = malloc(1001);
    int i, deferred = 0;

    (void)state;
    for (i = 0; i < 100; i++) {
        rcpt_outcomes(r, seq, 1000);
        deferred += count_of(seq, "4");
    }
    /* n = 100000, p = 0.3: sd = 144.9; z(99.95%) = 3.29 gives +-477 */
    if (deferred < 29523 || deferred > 30477)
        fail_msg("%d deferred of 100000", deferred);
    assert_int_equal(r->counts[BEHAVIOUR_OUT_DEFERRED], deferred);
    free(seq);
    rig_free(r);
}

static void test_session_same_seed_same_sequence(void **state)
{
    struct rig *a = rig_new(deferral30, 0, 7), *b = rig_new(deferral30, 0, 7), *c = rig_new(deferral30, 0, 8);
    char sa[1001], sb[1001], sc[1001];

    (void)state;
    rcpt_outcomes(a, sa, 1000);
    rcpt_outcomes(b, sb, 1000);
    rcpt_outcomes(c, sc, 1000);
    assert_string_equal(sa, sb);
    assert_string_not_equal(sa, sc);
    rig_free(a);
    rig_free(b);
    rig_free(c);
}

static void test_session_first_match_and_patterns(void **state)
{
    struct rig *r = rig_new("rules:\n"
                            "  - { at: RCPT, recipient: \"*@gone.test\", reply: \"550 5.1.1 No such user\" }\n"
                            "  - { at: RCPT, recipient: \"vip@*\", accept: true }\n"
                            "  - { at: RCPT, recipient: \"*@slow.test\", reply: \"452 4.2.2 Full\" }\n"
                            "  - { at: RCPT, recipient: \"*@*.test\", reply: \"451 4.7.1 Later\" }\n", 0, -1);

    (void)state;
    feed(r, "MAIL FROM:<s@example.org>\r\n");
    assert_string_equal(feed(r, "RCPT TO:<x@gone.test>\r\n"), "550 5.1.1 No such user\r\n");
    assert_string_equal(feed(r, "RCPT TO:<Y@GONE.Test>\r\n"), "550 5.1.1 No such user\r\n");
    assert_string_equal(feed(r, "RCPT TO:<vip@gone.test>\r\n"), "550 5.1.1 No such user\r\n");
    assert_string_equal(feed(r, "RCPT TO:<vip@slow.test>\r\n"), "250 2.1.5 Ok\r\n");
    assert_string_equal(feed(r, "RCPT TO:<z@slow.test>\r\n"), "452 4.2.2 Full\r\n");
    assert_string_equal(feed(r, "RCPT TO:<z@other.test>\r\n"), "451 4.7.1 Later\r\n");
    assert_string_equal(feed(r, "RCPT TO:<z@gone.test.org>\r\n"), "250 2.1.5 Ok\r\n");
    assert_int_equal(r->counts[BEHAVIOUR_OUT_REJECTED], 3);
    assert_int_equal(r->counts[BEHAVIOUR_OUT_DEFERRED], 2);
    rig_free(r);
}

static void test_session_greylist_min_and_lifetime(void **state)
{
    struct rig *r = rig_new("rules:\n  - { at: RCPT, recipient: \"*@grey.test\", "
                            "greylist: { min: 5s, lifetime: 4h } }\n", 0, -1);
    const char *rcpt = "RCPT TO:<u@grey.test>\r\n";

    (void)state;
    r->now = 1000000;
    feed(r, "MAIL FROM:<s@example.org>\r\n");
    assert_string_equal(feed(r, rcpt), "451 4.7.1 Greylisted, try again later\r\n");
    r->now += 1000;
    assert_string_equal(feed(r, rcpt), "451 4.7.1 Greylisted, try again later\r\n");
    assert_string_equal(feed(r, "RCPT TO:<u@other.test>\r\n"), "250 2.1.5 Ok\r\n");
    r->now += 5000;
    assert_string_equal(feed(r, rcpt), "250 2.1.5 Ok\r\n");
    r->now += 5 * 3600 * 1000ULL;
    assert_string_equal(feed(r, rcpt), "451 4.7.1 Greylisted, try again later\r\n");
    assert_int_equal(r->counts[BEHAVIOUR_OUT_GREY_DEFERRED], 3);
    assert_int_equal(r->counts[BEHAVIOUR_OUT_GREY_PASSED], 1);
    rig_free(r);
}

static void test_greylist_lru_eviction_counted(void **state)
{
    struct greylist *g = greylist_new(2);

    (void)state;
    assert_int_equal(greylist_check(g, "c", "s", "a", 0, 10, 1000), GREYLIST_DEFER);
    assert_int_equal(greylist_check(g, "c", "s", "b", 1, 10, 1000), GREYLIST_DEFER);
    assert_int_equal(greylist_check(g, "c", "s", "a", 20, 10, 1000), GREYLIST_PASS);   /* a is recent now */
    assert_int_equal(greylist_check(g, "c", "s", "x", 21, 10, 1000), GREYLIST_DEFER);  /* evicts b */
    assert_int_equal(greylist_evictions(g), 1);
    assert_int_equal(greylist_size(g), 2);
    assert_int_equal(greylist_check(g, "C", "S", "A", 40, 10, 1000), GREYLIST_PASS);
    assert_int_equal(greylist_check(g, "c", "s", "b", 41, 10, 1000), GREYLIST_DEFER);  /* new again */
    assert_int_equal(greylist_evictions(g), 2);
    greylist_free(g);
}

static const char message[] = "DATA\r\nSubject: t\r\n\r\nbody\r\n.\r\n";

static void test_session_lmtp_per_recipient_replies(void **state)
{
    struct rig *r = rig_new("rules:\n"
                            "  - { at: RCPT, recipient: \"*@no.test\", reply: \"550 5.1.1 No such user\" }\n"
                            "  - { at: \".\", recipient: \"*@gone.test\", reply: \"552 5.2.2 Mailbox full\" }\n"
                            "  - { at: \".\", recipient: \"*@later.test\", reply: \"451 4.2.0 Later\" }\n", 1, -1);

    (void)state;
    feed(r, "LHLO x\r\nMAIL FROM:<s@example.org>\r\n");
    assert_string_equal(feed(r, "RCPT TO:<a@ok.test>\r\nRCPT TO:<n@no.test>\r\nRCPT TO:<b@gone.test>\r\n"
                             "RCPT TO:<c@ok.test>\r\n"),
                        "250 2.1.5 Ok\r\n550 5.1.1 No such user\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n");
    assert_string_equal(feed(r, message), "354 End data with <CR><LF>.<CR><LF>\r\n250 2.2.0 Ok\r\n"
                        "552 5.2.2 Mailbox full\r\n250 2.2.0 Ok\r\n");
    assert_int_equal(r->messages, 1);
    feed(r, "MAIL FROM:<s@example.org>\r\nRCPT TO:<d@later.test>\r\n");
    assert_string_equal(feed(r, message), "354 End data with <CR><LF>.<CR><LF>\r\n451 4.2.0 Later\r\n");
    assert_int_equal(r->messages, 1);       /* refused for every recipient: not received */
    rig_free(r);
}

static void test_session_disconnect_at_dot(void **state)
{
    struct rig *r = rig_new("rules:\n  - { at: \".\", disconnect: true }\n", 0, -1);

    (void)state;
    feed(r, "EHLO x\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<a@ok.test>\r\n");
    assert_string_equal(feed(r, message), "354 End data with <CR><LF>.<CR><LF>\r\n");
    assert_int_equal(r->st, SINK_SESSION_CLOSE);
    assert_int_equal(r->messages, 0);
    assert_int_equal(r->counts[BEHAVIOUR_OUT_DISCONNECTED], 1);
    rig_free(r);
}

static void test_session_delay_asked_not_waited(void **state)
{
    struct rig *r = rig_new("rules:\n  - { at: RCPT, delay: 2s, reply: \"451 4.7.1 Slow\" }\n", 0, -1);
    enum sink_session_status st;
    const char *m = "MAIL FROM:<s@example.org>\r\nRCPT TO:<a@ok.test>\r\n";

    (void)state;
    sink_session_feed(&r->s, m, strlen(m), &st);
    assert_int_equal(st, SINK_SESSION_PAUSE);
    assert_int_equal(sink_session_delay_ms(&r->s), 2000);
    r->st = sink_session_resume(&r->s);
    r->out_len = 0;
    take(r);
    assert_string_equal(r->out, "250 2.1.0 Ok\r\n451 4.7.1 Slow\r\n");
    rig_free(r);
}

static const char intake_paused[] = "intake: paused\nrules:\n  - { at: CONNECT, delay: 5s }\n";

static void test_session_intake_paused_421_at_connect(void **state)
{
    struct rig *r = rig_new(intake_paused, 0, -1);

    (void)state;
    assert_string_equal(r->out, "421 4.3.2 Intake paused, try again later\r\n");
    assert_int_equal(r->st, SINK_SESSION_CLOSE);
    assert_int_equal(r->counts[BEHAVIOUR_OUT_DEFERRED], 1);
    assert_int_equal(r->counts[BEHAVIOUR_OUT_DELAYED], 0);     /* the rules wait meanwhile */
    rig_free(r);
}

/* pause - what the sink's connection does when its loop gets "intake:
 * paused": the open session takes it over before its next command. */
static struct behaviour *pause(struct rig *r)
{
    struct behaviour *p = parse_ok(intake_paused);

    sink_session_set_behaviour(&r->s, p, &r->env);
    return p;
}

static void test_session_intake_paused_midway_message_deferred(void **state)
{
    struct rig *r = rig_new("rules: []\n", 0, -1);
    struct behaviour *p;

    (void)state;
    feed(r, "EHLO x\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<a@ok.test>\r\n");
    assert_string_equal(feed(r, "DATA\r\nSubject: t\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
    p = pause(r);
    assert_string_equal(feed(r, "\r\nbody\r\n.\r\n"), "421 4.3.2 Intake paused, try again later\r\n");
    assert_int_equal(r->st, SINK_SESSION_CLOSE);
    assert_int_equal(r->messages, 0);
    assert_int_equal(r->counts[BEHAVIOUR_OUT_DEFERRED], 1);
    rig_free(r);
    behaviour_unref(p);
}

static void test_session_intake_paused_lmtp_each_recipient_then_quit_ok(void **state)
{
    struct rig *r = rig_new("rules: []\n", 1, -1), *q = rig_new("rules: []\n", 0, -1);
    struct behaviour *p, *pq;

    (void)state;
    feed(r, "LHLO x\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<a@ok.test>\r\nRCPT TO:<b@ok.test>\r\n"
         "DATA\r\n");
    p = pause(r);
    assert_string_equal(feed(r, "Subject: t\r\n\r\nbody\r\n.\r\n"),
                        "421 4.3.2 Intake paused, try again later\r\n421 4.3.2 Intake paused, try again later\r\n");
    assert_int_equal(r->st, SINK_SESSION_CLOSE);
    assert_int_equal(r->messages, 0);
    feed(q, "EHLO x\r\n");
    pq = pause(q);
    assert_string_equal(feed(q, "QUIT\r\n"), "221 Bye\r\n");
    rig_free(r);
    rig_free(q);
    behaviour_unref(p);
    behaviour_unref(pq);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_issue_example),
        cmocka_unit_test(test_parse_errors_name_the_line),
        cmocka_unit_test(test_parse_intake_paused_or_open),
        cmocka_unit_test(test_session_intake_paused_421_at_connect),
        cmocka_unit_test(test_session_intake_paused_midway_message_deferred),
        cmocka_unit_test(test_session_intake_paused_lmtp_each_recipient_then_quit_ok),
        cmocka_unit_test(test_session_deferral_proportion_binomial),
        cmocka_unit_test(test_session_same_seed_same_sequence),
        cmocka_unit_test(test_session_first_match_and_patterns),
        cmocka_unit_test(test_session_greylist_min_and_lifetime),
        cmocka_unit_test(test_greylist_lru_eviction_counted),
        cmocka_unit_test(test_session_lmtp_per_recipient_replies),
        cmocka_unit_test(test_session_disconnect_at_dot),
        cmocka_unit_test(test_session_delay_asked_not_waited),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
