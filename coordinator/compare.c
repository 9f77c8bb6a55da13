/* compare.c - `smtpstorm compare BASE.json NEW.json` (see compare.h): the
 * options, the rows side by side (totals, rates, latency per latency
 * phase, per campaign phase), the terminal table, the thresholds' verdict
 * and the exit code. */
#include "compare.h"
#include "log.h"
#include "reconcile.h"
#include "stats.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { COMPARE_OPT_THRESHOLD = 256, COMPARE_OPT_HTML, COMPARE_OPT_JUNIT, COMPARE_OPT_HELP };

static const struct option compare_long[] = {
    { "threshold", required_argument, NULL, COMPARE_OPT_THRESHOLD },
    { "html", required_argument, NULL, COMPARE_OPT_HTML },
    { "junit", required_argument, NULL, COMPARE_OPT_JUNIT },
    { "help", no_argument, NULL, COMPARE_OPT_HELP },
    { NULL, 0, NULL, 0 },
};

static void compare_usage(FILE *out)
{
    fputs("usage: smtpstorm compare [options] BASE.json NEW.json\n"
          "\n"
          "Sets two reports of `smtpstorm run --json` side by side: totals, rates,\n"
          "latency percentiles per latency phase and per campaign phase, with the change\n"
          "from BASE to NEW in percent. The reports must be of one report version and of\n"
          "campaigns with the same phases (matched by name, then by order).\n"
          "\n"
          "options:\n"
          "  --threshold EXPR pass/fail condition, repeatable (default none): a change from\n"
          "                   BASE to NEW has a sign and a %, e.g. 'p99(message)<+10%'\n"
          "                   (at most 10 % slower), 'rate>-5%' (rate(accepted): at most\n"
          "                   5 % fewer a second), 'steady:p99(message)<+0%'; without a\n"
          "                   sign it judges NEW alone, as smtpstorm run's: 'errors==0'\n"
          "  --html FILE      the comparison as one self-contained HTML page (default none)\n"
          "  --junit FILE     the thresholds as JUnit XML, one testcase each (\"-\": standard\n"
          "                   output; default none)\n"
          "  --help           this text\n"
          "exit: 0 every threshold held, 1 a file could not be written, 2 usage or bad\n"
          "      input (unreadable, not a report, other version, other phases), 7 a\n"
          "      threshold failed\n", out);
}

/* compare_args - options and the two paths into c; 0, 1 for --help, -EINVAL (err). */
static int compare_args(int argc, char **argv, struct compare *c, const char **html, const char **junit, char *err,
                        size_t errlen)
{
    int opt;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", compare_long, NULL)) != -1) {
        if (opt == COMPARE_OPT_HELP)
            return 1;
        if (opt == COMPARE_OPT_HTML)
            *html = optarg;
        else if (opt == COMPARE_OPT_JUNIT)
            *junit = optarg;
        else if (opt != COMPARE_OPT_THRESHOLD)
            return snprintf(err, errlen, "bad option %s: see smtpstorm compare --help", argv[optind - 1]), -EINVAL;
        else if (c->n_thresholds >= CONFIG_THRESHOLDS_MAX)
            return snprintf(err, errlen, "too many --threshold (at most %d)", CONFIG_THRESHOLDS_MAX), -EINVAL;
        else if (threshold_parse(optarg, &c->thresholds[c->n_thresholds++], err, errlen) != 0)
            return -EINVAL;
    }
    if (argc - optind != 2)
        return snprintf(err, errlen, "compare takes two reports, BASE.json and NEW.json: see smtpstorm compare "
                        "--help"), -EINVAL;
    c->base.path = argv[optind];
    c->new_.path = argv[optind + 1];
    return 0;
}

/* compare_row_add - a row of key in base's and new's objects; -ENOMEM. */
static int compare_row_add(struct compare *c, const char *section, const char *label, const char *unit,
                           const struct jsonread_value *b, const struct jsonread_value *n, const char *key)
{
    struct compare_row *row;

    if (c->n_rows == c->cap_rows) {
        size_t cap = c->cap_rows ? 2 * c->cap_rows : 64;

        if ((row = realloc(c->rows, cap * sizeof(*row))) == NULL)
            return -ENOMEM;
        c->rows = row;
        c->cap_rows = cap;
    }
    row = &c->rows[c->n_rows++];
    memset(row, 0, sizeof(*row));
    snprintf(row->section, sizeof(row->section), "%s", section);
    snprintf(row->label, sizeof(row->label), "%s", label);
    row->unit = unit;
    row->has_base = jsonread_number(jsonread_get(b, key), &row->base) == 0;
    row->has_new = jsonread_number(jsonread_get(n, key), &row->new_) == 0;
    return 0;
}

static int compare_rows_totals(struct compare *c)
{
    static const char *const counts[] = {
        "messages_attempted", "messages_accepted", "messages_rejected", "errors", "sessions", "recipients",
        "bytes", "sink_received", "duplicates", "lost",
    };
    static const char *const rates[][2] = {
        { "injection", "rate_msgs_per_s" }, { "injection", "peak_msgs_per_s" },
        { "delivery", "rate_msgs_per_s" }, { "delivery", "peak_msgs_per_s" },
    };
    const struct jsonread_value *b = c->base.root, *n = c->new_.root;
    char label[48];
    size_t i;
    int rc = 0;

    for (i = 0; i < sizeof(counts) / sizeof(counts[0]) && rc == 0; i++)
        rc = compare_row_add(c, "totals", counts[i], "", c->base.totals, c->new_.totals, counts[i]);
    if (rc == 0)
        rc = compare_row_add(c, "rates", "rate_msgs_per_s", "/s", c->base.totals, c->new_.totals, "rate_msgs_per_s");
    for (i = 0; i < sizeof(rates) / sizeof(rates[0]) && rc == 0; i++) {
        snprintf(label, sizeof(label), "%s %s", rates[i][0], rates[i][1]);
        rc = compare_row_add(c, "rates", label, "/s", jsonread_get(b, rates[i][0]), jsonread_get(n, rates[i][0]),
                             rates[i][1]);
    }
    return rc;
}

static int compare_rows_latency(struct compare *c)
{
    static const char *const pcts[] = { "p50", "p90", "p99", "p999", "max" };
    const struct jsonread_value *b, *n;
    char label[48];
    size_t i, k;
    int rc = 0;

    for (i = 0; i < PHASE_COUNT && rc == 0; i++) {
        b = jsonread_get(c->base.latency, stats_phase_name(stats_phases_shown[i]));
        n = jsonread_get(c->new_.latency, stats_phase_name(stats_phases_shown[i]));
        if ((b == NULL || b->type != JSONREAD_OBJECT) && (n == NULL || n->type != JSONREAD_OBJECT))
            continue;       /* measured in neither */
        for (k = 0; k < sizeof(pcts) / sizeof(pcts[0]) && rc == 0; k++) {
            snprintf(label, sizeof(label), "%s %s", stats_phase_name(stats_phases_shown[i]), pcts[k]);
            rc = compare_row_add(c, "latency_ms", label, "ms", b, n, pcts[k]);
        }
    }
    return rc;
}

static int compare_rows_phases(struct compare *c)
{
    static const char *const keys[][2] = {
        { "rate_msgs_per_s", "/s" }, { "attempted", "" }, { "accepted", "" }, { "rejected", "" }, { "errors", "" },
        { "received", "" }, { "message_p50_ms", "ms" }, { "message_p90_ms", "ms" }, { "message_p99_ms", "ms" },
        { "message_max_ms", "ms" }, { "delivery_p50_ms", "ms" }, { "delivery_p99_ms", "ms" },
    };
    const struct jsonread_value *b, *n;
    char section[96];
    size_t i, k;
    int rc = 0;

    for (i = 0; i < c->n_phases && rc == 0; i++) {
        b = jsonread_at(c->base.phases, i);
        n = jsonread_at(c->new_.phases, c->phase_match[i]);
        snprintf(section, sizeof(section), "phase %zu %.40s", i + 1, compare_phase_name(&c->base, i));
        for (k = 0; k < sizeof(keys) / sizeof(keys[0]) && rc == 0; k++)
            rc = compare_row_add(c, section, keys[k][0], keys[k][1], b, n, keys[k][0]);
    }
    return rc;
}

char *compare_change_text(const struct compare_row *row, char *buf, size_t len)
{
    if (!row->has_base || !row->has_new)
        snprintf(buf, len, "-");
    else if (row->base == row->new_)
        snprintf(buf, len, "0.0%%");
    else if (row->base == 0)
        snprintf(buf, len, "new");
    else
        snprintf(buf, len, "%+.1f%%", (row->new_ - row->base) / fabs(row->base) * 100.0);
    return buf;
}

static void compare_value_text(const struct compare_row *row, int has, double v, char *buf, size_t len)
{
    if (!has)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.*f", row->unit[0] ? 3 : 0, v);
}

/* compare_judge - every threshold: a change on base and new, else on new alone. */
static void compare_judge(struct compare *c)
{
    struct compare_scope bctx, nctx;
    struct threshold_source bsrc, nsrc;
    const struct threshold *t;
    size_t i, ph;

    for (i = 0; i < c->n_thresholds; i++) {
        t = &c->thresholds[i];
        ph = 0;
        while (t->scope[0] && strcmp(compare_phase_name(&c->base, ph), t->scope) != 0)
            ph++;       /* compare_check found it */
        compare_source(&c->base, t->scope[0] ? jsonread_at(c->base.phases, ph) : NULL, &bctx, &bsrc);
        compare_source(&c->new_, t->scope[0] ? jsonread_at(c->new_.phases, c->phase_match[ph]) : NULL, &nctx,
                       &nsrc);
        c->verdicts[i].t = t;
        c->verdicts[i].held = t->change ? threshold_eval_change(t, &bsrc, &nsrc, &c->verdicts[i].value)
                                        : threshold_eval(t, &nsrc, &c->verdicts[i].value);
        c->failed += c->verdicts[i].held != 1;
    }
}

static void compare_print(FILE *out, const struct compare *c)
{
    char b[32], n[32], ch[32], why[160];
    const char *section = "";
    size_t i;

    fprintf(out, "base %s (campaign %s)\nnew  %s (campaign %s)\n\n%-34s %14s %14s %9s\n", c->base.path,
            c->base.campaign, c->new_.path, c->new_.campaign, "", "base", "new", "change");
    for (i = 0; i < c->n_rows; i++) {
        const struct compare_row *r = &c->rows[i];

        if (strcmp(section, r->section) != 0)
            fprintf(out, "%s\n", section = r->section);
        compare_value_text(r, r->has_base, r->base, b, sizeof(b));
        compare_value_text(r, r->has_new, r->new_, n, sizeof(n));
        fprintf(out, "  %-32s %14s %14s %9s\n", r->label, b, n, compare_change_text(r, ch, sizeof(ch)));
    }
    if (c->n_thresholds > 0)
        fputs("thresholds\n", out);
    for (i = 0; i < c->n_thresholds; i++)
        fprintf(out, "  %-4s %s: %s\n", c->verdicts[i].held == 1 ? "ok" : "FAIL", c->verdicts[i].t->text,
                threshold_describe(c->verdicts[i].t, c->verdicts[i].held, c->verdicts[i].value, why, sizeof(why)));
    if (c->n_thresholds > 0)
        fprintf(out, "result: %zu of %zu thresholds failed\n", c->failed, c->n_thresholds);
}

/* compare_outputs - --html and --junit; 0 or -errno (logged). */
static int compare_outputs(const struct compare *c, const char *html, const char *junit)
{
    char err[512], classname[256];
    int rc = 0;

    if (html && compare_html_write(html, c, err, sizeof(err)) != 0) {
        log_error("%s", err);
        rc = -EIO;
    }
    snprintf(classname, sizeof(classname), "%s -> %s", c->base.campaign, c->new_.campaign);
    if (junit && junit_write(junit, "smtpstorm compare", classname, c->verdicts, c->n_thresholds, 0, err,
                             sizeof(err)) != 0) {
        log_error("%s", err);
        rc = -EIO;
    }
    return rc;
}

static void compare_free(struct compare *c)
{
    jsonread_free(c->base.root);
    jsonread_free(c->new_.root);
    free(c->phase_match);
    free(c->rows);
    free(c);
}

int compare_main(int argc, char **argv)
{
    struct compare *c = calloc(1, sizeof(*c));
    const char *html = NULL, *junit = NULL, *base, *new_;
    char err[768];
    int rc, code = EXIT_RUN_USAGE;

    if (c == NULL)
        return log_error("out of memory"), EXIT_RUN_FAILED;
    if ((rc = compare_args(argc, argv, c, &html, &junit, err, sizeof(err))) == 1) {
        compare_usage(stdout);
        code = EXIT_RUN_OK;
        goto done;
    }
    base = c->base.path;
    new_ = c->new_.path;
    if (rc != 0 || compare_report_load(base, &c->base, err, sizeof(err)) != 0
        || compare_report_load(new_, &c->new_, err, sizeof(err)) != 0 || compare_check(c, err, sizeof(err)) != 0)
        goto fail;
    if (compare_rows_totals(c) != 0 || compare_rows_latency(c) != 0 || compare_rows_phases(c) != 0) {
        code = EXIT_RUN_FAILED;
        snprintf(err, sizeof(err), "out of memory");
        goto fail;
    }
    compare_judge(c);
    compare_print(stdout, c);
    code = c->failed ? EXIT_RUN_THRESHOLDS : EXIT_RUN_OK;
    if (compare_outputs(c, html, junit) != 0)
        code = code ? code : EXIT_RUN_FAILED;
    goto done;
fail:
    log_error("%s", err);
done:
    compare_free(c);
    return code;
}
