/* compare_html.c - `smtpstorm compare --html`: the comparison as one
 * self-contained page (inline CSS, no scripts, nothing fetched): the two
 * reports named, the thresholds' verdict, and a table per section with
 * base, new and the change, worse in red and better in green where the
 * direction is known. Every text from the reports or the command line is
 * escaped (svg_escape). Values carry data-key/data-base/data-new. */
#include "compare.h"
#include "result.h"
#include "report_file.h"
#include "svg.h"

#include <string.h>

/* compare_html_direction - "worse", "better" or "" for row's change: more
 * latency, errors, rejections or losses is worse; a higher rate is better. */
static const char *compare_html_direction(const struct compare_row *r)
{
    int up;

    if (!r->has_base || !r->has_new || r->base == r->new_)
        return "";
    up = r->new_ > r->base;
    if (strcmp(r->unit, "ms") == 0 || strstr(r->label, "error") || strstr(r->label, "rejected")
        || strstr(r->label, "lost") || strstr(r->label, "duplicates"))
        return up ? "worse" : "better";
    if (strcmp(r->unit, "/s") == 0)
        return up ? "better" : "worse";
    return "";
}

static void compare_html_value(FILE *f, const struct compare_row *r, int has, double v)
{
    if (has)
        fprintf(f, "<td>%.*f</td>", r->unit[0] ? 3 : 0, v);
    else
        fputs("<td>-</td>", f);
}

static void compare_html_row(FILE *f, const struct compare_row *r)
{
    char change[32];

    fputs("<tr data-key=\"", f);
    svg_escape(f, r->label);
    fprintf(f, "\" data-base=\"%.6g\" data-new=\"%.6g\"><td>", r->has_base ? r->base : 0, r->has_new ? r->new_ : 0);
    svg_escape(f, r->label);
    if (r->unit[0])
        fprintf(f, " (%s)", r->unit);
    fputs("</td>", f);
    compare_html_value(f, r, r->has_base, r->base);
    compare_html_value(f, r, r->has_new, r->new_);
    fprintf(f, "<td class=\"%s\">%s</td></tr>\n", compare_html_direction(r),
            compare_change_text(r, change, sizeof(change)));
}

static void compare_html_rows(FILE *f, const struct compare *c)
{
    const char *section = NULL;
    size_t i;

    for (i = 0; i < c->n_rows; i++) {
        if (section == NULL || strcmp(section, c->rows[i].section) != 0) {
            fputs(section ? "</table>\n<h2>" : "<h2>", f);
            svg_escape(f, section = c->rows[i].section);
            fputs("</h2>\n<table class=\"section\"><tr><th></th><th>base</th><th>new</th><th>change</th></tr>\n", f);
        }
        compare_html_row(f, &c->rows[i]);
    }
    if (section)
        fputs("</table>\n", f);
}

static void compare_html_thresholds(FILE *f, const struct compare *c)
{
    char why[160];
    size_t i;

    if (c->n_thresholds == 0)
        return;
    fprintf(f, "<div class=\"verdict %s\">%s: %zu of %zu thresholds failed</div>\n", c->failed ? "fail" : "pass",
            c->failed ? "FAIL" : "PASS", c->failed, c->n_thresholds);
    fputs("<table id=\"thresholds\"><tr><th>threshold</th><th>result</th><th>measured</th></tr>\n", f);
    for (i = 0; i < c->n_thresholds; i++) {
        const struct threshold_verdict *v = &c->verdicts[i];

        fputs("<tr><td><code>", f);
        svg_escape(f, v->t->text);
        fprintf(f, "</code></td><td class=\"%s\">%s</td><td>", v->held == 1 ? "ok" : "bad",
                v->held == 1 ? "ok" : "failed");
        svg_escape(f, threshold_describe(v->t, v->held, v->value, why, sizeof(why)));
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void compare_html_side(FILE *f, const char *which, const struct compare_report *r)
{
    fprintf(f, "<b>%s</b> <code>", which);
    svg_escape(f, r->path);
    fputs("</code> (campaign <code>", f);
    svg_escape(f, r->campaign);
    fputs("</code>)", f);
}

/* compare_html_fill - the page into f (a report_file_fill_fn: arg is the compare). */
static int compare_html_fill(FILE *f, const void *arg)
{
    const struct compare *c = arg;

    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n<title>smtpstorm compare: ", f);
    svg_escape(f, c->base.campaign);
    fputs(" → ", f);
    svg_escape(f, c->new_.campaign);
    fputs("</title>\n", f);
    html_write_style(f);                    /* the report page's CSS */
    fputs("</head>\n<body><main>\n<h1>smtpstorm compare</h1>\n<p class=\"sub\">", f);
    compare_html_side(f, "base", &c->base);
    fputs("<br>", f);
    compare_html_side(f, "new", &c->new_);
    fputs("</p>\n", f);
    compare_html_thresholds(f, c);
    compare_html_rows(f, c);
    fputs("</main></body></html>\n", f);
    return 0;
}

int compare_html_write(const char *path, const struct compare *c, char *err, size_t errlen)
{
    return report_file_write(path, REPORT_FILE_ATOMIC, compare_html_fill, c, err, errlen);
}
