/* compare.h - `smtpstorm compare BASE.json NEW.json`: two reports written
 * by `smtpstorm run --json` read back (compare_report.c), checked to be
 * comparable, set side by side row by row with the change in percent
 * (compare.c: the terminal; compare_html.c: the page), and judged by
 * --threshold expressions, changes ("p99(message)<+10%") or limits on the
 * new report alone ("errors==0"). */
#ifndef SMTPSTORM_COORDINATOR_COMPARE_H
#define SMTPSTORM_COORDINATOR_COMPARE_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "jsonread.h"
#include "junit.h"
#include "threshold.h"


/* One report as read: the tree and the parts every comparison needs. */
struct compare_report {
    const char *path;                       /* as given; borrowed from argv */
    struct jsonread_value *root;            /* owned */
    const struct jsonread_value *totals;    /* an object */
    const struct jsonread_value *latency;   /* latency_ms: an object */
    const struct jsonread_value *phases;    /* an array, or NULL: none */
    const char *campaign;                   /* "" when the report has none */
    double version, duration_s;
};

/* One line side by side; a value missing (or null) in a report is not had. */
struct compare_row {
    char section[64];                       /* "totals", "rates", "latency_ms", "phase NAME" */
    char label[48];                         /* "messages_accepted", "message p99", ... */
    const char *unit;                       /* "", "/s", "ms": static */
    int has_base, has_new;
    double base, new_;
};

struct compare {
    struct compare_report base, new_;
    size_t *phase_match;                    /* base phase i is new phase phase_match[i]; owned */
    size_t n_phases;
    struct compare_row *rows;               /* owned */
    size_t n_rows, cap_rows;
    struct threshold thresholds[CONFIG_THRESHOLDS_MAX];
    size_t n_thresholds;
    struct threshold_verdict verdicts[CONFIG_THRESHOLDS_MAX];    /* one per threshold, after compare_judge */
    size_t failed;                          /* verdicts that did not hold */
};

/* compare_report_load - read and parse path into r, and check that it is a
 * smtpstorm report (version, totals, latency_ms). Returns 0, or -errno /
 * -EINVAL with a message naming path in err; r then owns nothing. */
int compare_report_load(const char *path, struct compare_report *r, char *err, size_t errlen);

/* compare_check - the two reports of c are comparable: the same report
 * version and the same campaign phases (matched by name, and among phases
 * of one name by order), and every threshold's scope names one of them.
 * Fills c->phase_match. Returns 0, or -EINVAL (-ENOMEM) with a message
 * naming what differs in err. */
int compare_check(struct compare *c, char *err, size_t errlen);

/* compare_source - the threshold_source of report r (base or new), or of
 * its campaign phase phase (NULL: the whole campaign); ctx must outlive
 * the source and is filled here. */
struct compare_scope {
    const struct compare_report *r;
    const struct jsonread_value *phase;
};
void compare_source(const struct compare_report *r, const struct jsonread_value *phase, struct compare_scope *ctx,
                    struct threshold_source *src);

/* compare_phase_name - the name of report r's campaign phase i ("" when it has none). */
const char *compare_phase_name(const struct compare_report *r, size_t i);

/* compare_change_text - row's change as text ("+12.5%", "0.0%", "new",
 * "-" when a side is missing) into buf; returns buf. */
char *compare_change_text(const struct compare_row *row, char *buf, size_t len);

/* compare_html_write - the comparison as one self-contained HTML page to
 * path (no fetches; every text from the reports escaped). Returns 0 or
 * -errno with the reason in err. */
int compare_html_write(const char *path, const struct compare *c, char *err, size_t errlen);

/* compare_main - the subcommand: argv[0] is "compare". Returns the exit
 * code: 0 comparable and every threshold held, 7 a threshold failed, 2
 * usage or bad input, 1 a report could not be written. */
int compare_main(int argc, char **argv);

#endif
