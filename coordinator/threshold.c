/* threshold.c - parse and evaluate --threshold expressions (see threshold.h).
 * Grammar:  expr   := [scope ":"] lhs op number [unit]
 *           scope  := a campaign phase's name (or kind): judged on that phase alone
 *           lhs    := pNN(phase) | pNN.N(phase) | max(phase) | rate(counter) | rate | counter
 *                   | backlog_growth   (per second: a campaign phase's, or a capacity step's)
 *           op     := < | <= | > | >= | == | !=
 *           number := a non-negative number with a unit below, or a change:
 *                     "+" or "-" number "%" (compare: new against base)
 *           unit   := ms | s | us   (latency)   /s (rate)   % (counter ratio)
 * rate alone is rate(accepted). */
#include "threshold.h"
#include "stats.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const counter_names[] = {
    "accepted", "attempted", "rejected", "errors", "received", "lost", "duplicates",
    "sessions", "recipients", NULL,
};

/* is_phase - word names a latency phase (stats.h). */
static int is_phase(const char *word)
{
    int i;

    for (i = 0; i < PHASE_COUNT; i++)
        if (strcmp(word, stats_phase_name((enum stats_phase)i)) == 0)
            return 1;
    return 0;
}

static int in_list(const char *word, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(word, *list) == 0)
            return 1;
    return 0;
}

/* The message quotes expr and, on a line of its own, points a caret at column at. */
static int fail(char *err, size_t errlen, const char *expr, size_t at, const char *why)
{
    snprintf(err, errlen, "bad threshold \"%s\" at column %zu: %s\n    %s\n    %*s", expr, at + 1, why, expr,
             (int)at + 1, "^");
    return -1;
}

static size_t take_word(const char *s, size_t at, char *out, size_t outlen)
{
    size_t n = 0;

    while (s[at + n] && (isalnum((unsigned char)s[at + n]) || s[at + n] == '.' || s[at + n] == '_')) {
        if (n + 1 < outlen)
            out[n] = s[at + n];
        n++;
    }
    out[n < outlen ? n : outlen - 1] = '\0';
    return n;
}

static int parse_percentile_name(const char *name, double *pct)
{
    char *end;

    if (strcmp(name, "max") == 0) {
        *pct = 100;
        return 0;
    }
    if (strcmp(name, "p999") == 0) {
        *pct = 99.9;
        return 0;
    }
    if (name[0] != 'p' || !isdigit((unsigned char)name[1]))
        return -1;
    *pct = strtod(name + 1, &end);
    return *end == '\0' && *pct > 0 && *pct <= 100 ? 0 : -1;
}

/* parse_scope - an optional "NAME:" naming the campaign phase it judges. */
static int parse_scope(const char *expr, size_t *at, struct threshold *t, char *err, size_t errlen)
{
    size_t n = strspn(expr + *at, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");

    if (expr[*at + n] != ':')
        return 0;
    if (n == 0 || n >= sizeof(t->scope))
        return fail(err, errlen, expr, *at, "expected a campaign phase's name before ':'");
    memcpy(t->scope, expr + *at, n);
    t->scope[n] = '\0';
    *at += n + 1;
    while (expr[*at] == ' ')
        (*at)++;
    return 0;
}

static int parse_lhs(const char *expr, size_t *at, struct threshold *t, char *err, size_t errlen)
{
    size_t n = take_word(expr, *at, t->name, sizeof(t->name));

    if (n == 0 || n >= sizeof(t->name))
        return fail(err, errlen, expr, *at, "expected a metric such as p99(message), rate(accepted) or errors");
    *at += n;
    if (expr[*at] != '(' && strcmp(t->name, "rate") == 0) {
        snprintf(t->arg, sizeof(t->arg), "accepted");
        t->metric = METRIC_RATE;
        return 0;
    }
    if (expr[*at] != '(' && strcmp(t->name, "backlog_growth") == 0) {
        t->metric = METRIC_GROWTH;
        return 0;
    }
    if (expr[*at] != '(') {
        if (!in_list(t->name, counter_names))
            return fail(err, errlen, expr, *at - n, "unknown counter (accepted, attempted, rejected, errors, received, lost, duplicates, sessions, recipients, backlog_growth)");
        t->metric = METRIC_COUNT;
        return 0;
    }
    (*at)++;
    n = take_word(expr, *at, t->arg, sizeof(t->arg));
    if (n == 0 || n >= sizeof(t->arg) || expr[*at + n] != ')')
        return fail(err, errlen, expr, *at, "expected a name and a closing parenthesis");
    if (strcmp(t->name, "rate") == 0) {
        if (!in_list(t->arg, counter_names))
            return fail(err, errlen, expr, *at, "rate() takes a counter: accepted, attempted, rejected, errors, received");
        t->metric = METRIC_RATE;
    } else if (parse_percentile_name(t->name, &t->percentile) == 0) {
        if (!is_phase(t->arg))
            return fail(err, errlen, expr, *at,
                        "unknown phase (connect, banner, helo, starttls, mail, rcpt, data, dot, quit, message, delivery)");
        t->metric = METRIC_PERCENTILE;
    } else {
        return fail(err, errlen, expr, *at - 1 - strlen(t->name), "unknown function (pNN, max, rate)");
    }
    *at += n + 1;
    return 0;
}

static int parse_op(const char *expr, size_t *at, struct threshold *t, char *err, size_t errlen)
{
    static const struct { const char *text; enum threshold_op op; } ops[] = {
        { "<=", THRESHOLD_LE }, { ">=", THRESHOLD_GE }, { "==", THRESHOLD_EQ },
        { "!=", THRESHOLD_NE }, { "<", THRESHOLD_LT }, { ">", THRESHOLD_GT },
    };
    size_t i, len;

    while (expr[*at] == ' ')
        (*at)++;
    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        len = strlen(ops[i].text);
        if (strncmp(expr + *at, ops[i].text, len) == 0) {
            t->op = ops[i].op;
            *at += len;
            return 0;
        }
    }
    return fail(err, errlen, expr, *at, "expected a comparison: < <= > >= == !=");
}

static int parse_limit(const char *expr, size_t *at, struct threshold *t, char *err, size_t errlen)
{
    const char *start, *unit;
    char *end;

    while (expr[*at] == ' ')
        (*at)++;
    start = expr + *at;
    t->change = *start == '+' || *start == '-';
    t->limit = strtod(start, &end);
    if (end == start || !isfinite(t->limit) || (t->limit < 0 && !t->change))
        return fail(err, errlen, expr, *at, "expected a non-negative number, or a change such as +10% or -5%");
    unit = end;
    *at = (size_t)(unit - expr);
    if (t->change) {
        if (strcmp(unit, "%") != 0)
            return fail(err, errlen, expr, *at, "a change (a signed limit) is a percent: +10% or -5%");
    } else if (t->metric == METRIC_PERCENTILE) {
        if (strcmp(unit, "s") == 0)
            t->limit *= 1000;
        else if (strcmp(unit, "us") == 0)
            t->limit /= 1000;
        else if (strcmp(unit, "ms") != 0 && *unit != '\0')
            return fail(err, errlen, expr, *at, "latency takes ms, s or us");
    } else if (t->metric == METRIC_RATE || t->metric == METRIC_GROWTH) {
        if (strcmp(unit, "/s") != 0 && *unit != '\0')
            return fail(err, errlen, expr, *at, "a rate takes /s");
    } else if (strcmp(unit, "%") == 0) {
        t->metric = METRIC_RATIO;
    } else if (*unit != '\0') {
        return fail(err, errlen, expr, *at, "a counter takes a plain number or a %");
    }
    return 0;
}

int threshold_parse(const char *expr, struct threshold *t, char *err, size_t errlen)
{
    size_t at = 0;

    memset(t, 0, sizeof(*t));
    if (strlen(expr) >= sizeof(t->text))
        return fail(err, errlen, expr, 0, "expression too long");
    snprintf(t->text, sizeof(t->text), "%s", expr);
    while (expr[at] == ' ')
        at++;
    if (parse_scope(expr, &at, t, err, errlen) != 0)
        return -1;
    if (parse_lhs(expr, &at, t, err, errlen) != 0 || parse_op(expr, &at, t, err, errlen) != 0
        || parse_limit(expr, &at, t, err, errlen) != 0)
        return -1;
    return 0;
}

static int compare(double value, enum threshold_op op, double limit)
{
    switch (op) {
    case THRESHOLD_LT: return value < limit;
    case THRESHOLD_LE: return value <= limit;
    case THRESHOLD_GT: return value > limit;
    case THRESHOLD_GE: return value >= limit;
    case THRESHOLD_EQ: return value == limit;
    case THRESHOLD_NE: return value != limit;
    }
    return 0;
}

/* threshold_measure - t's left-hand side from src into *value; 0, or -1 when unknown. */
static int threshold_measure(const struct threshold *t, const struct threshold_source *src, double *value)
{
    double attempted = 0;
    int known = -1;

    *value = 0;

    switch (t->metric) {
    case METRIC_PERCENTILE:
        known = src->latency_ms(src->ctx, t->arg, t->percentile, value);
        break;
    case METRIC_RATE:
        known = src->counter(src->ctx, t->arg, value);
        *value = src->duration_s > 0 ? *value / src->duration_s : 0;
        break;
    case METRIC_COUNT:
    case METRIC_GROWTH:
        known = src->counter(src->ctx, t->name, value);
        break;
    case METRIC_RATIO:
        known = src->counter(src->ctx, t->name, value);
        if (known == 0 && src->counter(src->ctx, "attempted", &attempted) == 0)
            *value = attempted > 0 ? 100.0 * *value / attempted : 0;
        else
            known = -1;
        break;
    }
    return known == 0 ? 0 : -1;
}

int threshold_eval(const struct threshold *t, const struct threshold_source *src, double *measured)
{
    if (threshold_measure(t, src, measured) != 0 || t->change)
        return -1;
    return compare(*measured, t->op, t->limit);
}

int threshold_eval_change(const struct threshold *t, const struct threshold_source *base,
                          const struct threshold_source *new_, double *measured)
{
    double b, n;

    *measured = 0;
    if (threshold_measure(t, base, &b) != 0 || threshold_measure(t, new_, &n) != 0)
        return -1;
    *measured = b != 0 ? (n - b) / fabs(b) * 100.0 : n == 0 ? 0 : n > 0 ? INFINITY : -INFINITY;
    return compare(*measured, t->op, t->limit);
}

char *threshold_describe(const struct threshold *t, int held, double value, char *buf, size_t len)
{
    const char *unit = threshold_unit_text(t), *op = threshold_op_text(t->op);

    if (held < 0)
        snprintf(buf, len, "not measured, limit %s%s%.6g%s", op, t->change && t->limit >= 0 ? "+" : "", t->limit,
                 unit);
    else if (t->change)
        snprintf(buf, len, "change %+.2f%%, limit %s%+.6g%%", value, op, t->limit);
    else
        snprintf(buf, len, "measured %.6g%s, limit %s%.6g%s", value, unit, op, t->limit, unit);
    return buf;
}

const char *threshold_op_text(enum threshold_op op)
{
    static const char *const text[] = { "<", "<=", ">", ">=", "==", "!=" };

    return (unsigned)op < sizeof(text) / sizeof(text[0]) ? text[op] : "?";
}

const char *threshold_unit_text(const struct threshold *t)
{
    if (t->change)
        return "%";
    switch (t->metric) {
    case METRIC_PERCENTILE: return "ms";
    case METRIC_RATE: case METRIC_GROWTH: return "/s";
    case METRIC_RATIO: return "%";
    case METRIC_COUNT: return "";
    }
    return "";
}
