/* threshold.h - pass/fail expressions over a campaign's results, in the
 * spirit of k6's thresholds: "p99(message)<500ms", "rate(accepted)>1000/s",
 * "errors<0.1%", "lost==0", "backlog_growth<50/s" (a phase's: accepted
 * minus received, its growth per second), or one campaign phase's: "steady:p99(message)<50ms". Parsed once from the command line, evaluated
 * against the final report. A limit with a sign and a % is a change from a
 * base report to a new one, for `smtpstorm compare`: "p99(message)<+10%",
 * "rate>-5%" (rate alone is rate(accepted)). */
#ifndef SMTPSTORM_THRESHOLD_H
#define SMTPSTORM_THRESHOLD_H

#include <stddef.h>

#define THRESHOLD_TEXT_MAX 128

enum threshold_op { THRESHOLD_LT, THRESHOLD_LE, THRESHOLD_GT, THRESHOLD_GE, THRESHOLD_EQ, THRESHOLD_NE };

/* What the left-hand side measures. */
enum threshold_metric {
    METRIC_PERCENTILE,      /* pNN(phase), max(phase): milliseconds */
    METRIC_RATE,            /* rate(accepted|attempted|received|rejected|errors): per second */
    METRIC_COUNT,           /* errors, rejected, lost, duplicates, accepted, ...: a count */
    METRIC_RATIO,           /* the same names compared with a %: percent of attempted */
    METRIC_GROWTH,          /* backlog_growth: the backlog's growth over a phase, per second */
};

struct threshold {
    char text[THRESHOLD_TEXT_MAX];  /* as the user wrote it */
    enum threshold_metric metric;
    char name[32];                  /* "p99", "max", "rate", "errors", "lost", ... */
    char arg[32];                   /* phase or counter inside parentheses, or "" */
    char scope[32];                 /* the campaign phase it judges ("steady:..."), or "" */
    double percentile;              /* for METRIC_PERCENTILE: 50, 99, 99.9, 100 for max */
    enum threshold_op op;
    double limit;                   /* normalised: ms, per second, count or percent;
                                     * with change: signed percent */
    int change;                     /* the limit is a change from a base ("+10%", "-5%") */
};

/* One threshold judged: by a run against its results (verdict.c), by
 * compare against two reports; what the reporters and junit.c print. */
struct threshold_verdict {
    const struct threshold *t;      /* borrowed: the run's config, or compare's list */
    int held;                       /* 1 held, 0 did not, -1 not measurable (counts as failed) */
    double value;                   /* what was measured, in threshold_unit_text's unit */
};

/* threshold_parse - parse expr into t. On error returns -1 and writes into
 * err a message that quotes the expression and points at the problem. */
int threshold_parse(const char *expr, struct threshold *t, char *err, size_t errlen);

/* Values a threshold can ask for, filled in by the coordinator from the
 * report (or from one campaign phase's result, for a scoped threshold). */
struct threshold_source {
    /* latency_ms - percentile (0..100) of phase in ms; returns -1 if unknown. */
    int (*latency_ms)(void *ctx, const char *phase, double percentile, double *out);
    /* counter - a named total ("accepted", "errors", "lost", ...); -1 if unknown. */
    int (*counter)(void *ctx, const char *name, double *out);
    /* duration_s - the campaign's (or the phase's) duration in seconds. */
    double duration_s;
    void *ctx;
};

/* threshold_eval - evaluate t; stores the measured value in *measured.
 * Returns 1 if it held, 0 if not, -1 if the value is unknown (counts as
 * failed; so is a change threshold, which needs a base). */
int threshold_eval(const struct threshold *t, const struct threshold_source *src, double *measured);

/* threshold_eval_change - evaluate change threshold t: the value measured
 * in new against base, as a percent change ((new - base) / base * 100; 0
 * when both are 0, +infinity when only base is 0) into *measured. Returns
 * 1 held, 0 not, -1 unknown in either (counts as failed). */
int threshold_eval_change(const struct threshold *t, const struct threshold_source *base,
                          const struct threshold_source *new_, double *measured);

/* threshold_describe - "measured 12.5ms, limit <10ms" (or "change +12.5%,
 * limit <+10%", or "not measured, ...") for verdict held (1, 0, -1) and
 * value, into buf; returns buf. */
char *threshold_describe(const struct threshold *t, int held, double value, char *buf, size_t len);

/* threshold_op_text - "<", "<=", ... for printing. Static string. */
const char *threshold_op_text(enum threshold_op op);

/* threshold_unit_text - the unit of the metric for printing ("ms", "/s",
 * "%", ""); "%" for a change. */
const char *threshold_unit_text(const struct threshold *t);

#endif
