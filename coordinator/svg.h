/* svg.h - small inline SVG charts for the HTML report (html.c): a time
 * series chart (lines, axes, grid, legend, a tooltip per second) and a
 * horizontal log-scale chart of latency percentiles by phase. Colours come
 * from CSS classes the page defines; every text is escaped here. */
#ifndef SMTPSTORM_COORDINATOR_SVG_H
#define SMTPSTORM_COORDINATOR_SVG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SVG_TIPS_MAX 900        /* seconds beyond which a chart has no per-second tooltips */

/* One line of a time series chart. */
struct svg_series {
    const char *name;           /* in the legend and tooltips */
    const char *cls;            /* CSS class giving its colour, e.g. "s-accepted" */
    const double *y;            /* one value per x; NAN: no value (a gap) */
    int dashed;
};

struct svg_chart {
    const char *id;             /* the <svg> element's id */
    const char *title;
    const char *unit;           /* of the y axis: "msg/s", "ms", ... */
    const double *x;            /* seconds since the start (rate_x: messages/s), increasing */
    size_t n;
    const struct svg_series *series;
    size_t n_series;
    int width, height;          /* the viewBox; the page scales it */
    int counts;                 /* whole numbers: the y axis goes to SVG_TICKS at least */
    int rate_x;                 /* x is a rate: ticks and tooltips read "250/s", not seconds */
    double mark;                /* a dashed vertical line at this x, labelled mark_label; */
    const char *mark_label;     /* NULL: none */
};

/* svg_time_chart - write c as an <svg> element to f. */
void svg_time_chart(FILE *f, const struct svg_chart *c);

/* One row of the percentile chart, in milliseconds. */
struct svg_range {
    const char *label;
    double p50, p90, p99, max;
    uint64_t count;
};

/* svg_range_chart - write rows[0..n) as an <svg id=id> of horizontal
 * p50-p99 bars with p90 and max marks on a log-scale axis of milliseconds. */
void svg_range_chart(FILE *f, const char *id, const char *title, const struct svg_range *rows, size_t n,
                     int width);

/* svg_escape - write s to f with & < > " ' escaped (for HTML and SVG text
 * and attribute values). */
void svg_escape(FILE *f, const char *s);

/* svg_format_value - v in at most 4 significant figures with k/M/G for
 * large values ("1.25k"), into out; returns out. */
char *svg_format_value(double v, char *out, size_t outlen);

#endif
