/* svg.c - inline SVG charts for the HTML report (see svg.h). Plain
 * arithmetic: a linear or log axis with "nice" ticks, polylines split at
 * gaps, and per-second transparent columns carrying <title> tooltips. */
#include "svg.h"

#include <math.h>
#include <string.h>

#define SVG_LEFT    64          /* room for the y tick labels */
#define SVG_RIGHT   20
#define SVG_TOP     44          /* title and legend */
#define SVG_BOTTOM  34          /* x tick labels */
#define SVG_TICKS   5           /* about this many ticks on an axis */
#define SVG_DOTS_MAX 90         /* points drawn as dots too when this few */

void svg_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n')
                fputc('?', f);
            else
                fputc(*s, f);
        }
    }
}

char *svg_format_value(double v, char *out, size_t outlen)
{
    static const char *const suffix[] = { "", "k", "M", "G", "T" };
    double a = fabs(v);
    int k = 0;

    if (!isfinite(v)) {
        snprintf(out, outlen, "–");
        return out;
    }
    while (a >= 10000 && k < 4) {
        a /= 1000;
        v /= 1000;
        k++;
    }
    if (a == 0 || a >= 100 || (k == 0 && a == floor(a) && a >= 1))
        snprintf(out, outlen, "%.0f%s", v, suffix[k]);
    else if (a >= 10)
        snprintf(out, outlen, "%.1f%s", v, suffix[k]);
    else if (a >= 1)
        snprintf(out, outlen, "%.2f%s", v, suffix[k]);
    else
        snprintf(out, outlen, "%.3g%s", v, suffix[k]);
    return out;
}

/* A step of 1, 2, 2.5 or 5 times a power of ten giving about SVG_TICKS ticks. */
static double svg_nice_step(double range)
{
    double raw = range / SVG_TICKS, mag = pow(10, floor(log10(raw))), r = raw / mag;

    if (r <= 1) return mag;
    if (r <= 2) return 2 * mag;
    if (r <= 2.5) return 2.5 * mag;
    if (r <= 5) return 5 * mag;
    return 10 * mag;
}

/* svg_x_label - an x tick: a rate ("250/s"), or a time ("90s", "3:00"). */
static void svg_x_label(const struct svg_chart *c, double s, double span, char *out, size_t outlen)
{
    char v[32];

    if (c->rate_x)
        snprintf(out, outlen, "%s/s", svg_format_value(s, v, sizeof(v)));
    else if (span >= 180)
        snprintf(out, outlen, "%d:%02d", (int)s / 60, (int)s % 60);
    else
        snprintf(out, outlen, "%gs", s);
}

struct frame {
    double x0, x1, y1;          /* data ranges (y from 0, or from y0 when a value is negative) */
    double y0;                  /* 0, or a tick under the lowest value */
    double px0, px1, py0, py1;  /* plot area in pixels */
};

static double fx(const struct frame *fr, double x)
{
    return fr->px0 + (x - fr->x0) / (fr->x1 - fr->x0) * (fr->px1 - fr->px0);
}

static double fy(const struct frame *fr, double y)
{
    return fr->py1 - (y - fr->y0) / (fr->y1 - fr->y0) * (fr->py1 - fr->py0);
}

static void svg_axes(FILE *f, const struct svg_chart *c, const struct frame *fr)
{
    double step = svg_nice_step(fr->y1 - fr->y0), v, xstep = svg_nice_step(fr->x1 - fr->x0);
    char label[32];

    for (v = ceil(fr->y0 / step) * step; v <= fr->y1 * 1.0001; v += step) {
        fprintf(f, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", fr->px0, fr->px1,
                fy(fr, v), fy(fr, v));
        fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", fr->px0 - 6,
                fy(fr, v) + 4, svg_format_value(v, label, sizeof(label)));
    }
    if (xstep < 1)
        xstep = 1;
    for (v = ceil(fr->x0 / xstep) * xstep; v <= fr->x1 + 1e-9; v += xstep) {
        svg_x_label(c, v, fr->x1 - fr->x0, label, sizeof(label));
        fprintf(f, "<line class=\"tickmark\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", fx(fr, v),
                fx(fr, v), fr->py1, fr->py1 + 4);
        fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", fx(fr, v),
                fr->py1 + 18, label);
    }
    fprintf(f, "<line class=\"axis\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>\n", fr->px0, fr->px1,
            fr->py1, fr->py1);
    fprintf(f, "<text class=\"unit\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", fr->px0 - 6, fr->py0 - 10);
    svg_escape(f, c->unit);
    fputs("</text>\n", f);
}

static void svg_legend(FILE *f, const struct svg_chart *c)
{
    double x = SVG_LEFT;
    size_t i;

    fprintf(f, "<text class=\"chart-title\" x=\"%d\" y=\"18\">", SVG_LEFT);
    svg_escape(f, c->title);
    fputs("</text>\n", f);
    for (i = 0; i < c->n_series; i++) {
        x = (double)c->width - SVG_RIGHT - 130.0 * (double)(c->n_series - i);
        fprintf(f, "<g class=\"legend %s\"><line x1=\"%.0f\" x2=\"%.0f\" y1=\"14\" y2=\"14\"%s/>"
                "<text x=\"%.0f\" y=\"18\">", c->series[i].cls, x, x + 22,
                c->series[i].dashed ? " stroke-dasharray=\"6 4\"" : "", x + 28);
        svg_escape(f, c->series[i].name);
        fputs("</text></g>\n", f);
    }
}

static void svg_line(FILE *f, const struct svg_chart *c, const struct svg_series *s, const struct frame *fr)
{
    int open = 0;
    size_t i;

    fprintf(f, "<g class=\"series %s\" data-name=\"", s->cls);
    svg_escape(f, s->name);
    fputs("\">", f);
    for (i = 0; i < c->n; i++) {
        if (isnan(s->y[i])) {
            if (open)
                fputs("\"/>", f);
            open = 0;
            continue;
        }
        if (!open)
            fprintf(f, "<polyline%s points=\"", s->dashed ? " stroke-dasharray=\"6 4\"" : "");
        fprintf(f, "%s%.1f,%.1f", open ? " " : "", fx(fr, c->x[i]), fy(fr, s->y[i]));
        open = 1;
    }
    if (open)
        fputs("\"/>", f);
    for (i = 0; c->n <= SVG_DOTS_MAX && i < c->n; i++)
        if (!isnan(s->y[i]))
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"/>", fx(fr, c->x[i]), fy(fr, s->y[i]));
    fputs("</g>\n", f);
}

/* A transparent column per point (a second, or a step's rate) whose
 * <title> lists every series' value; each reaches halfway to its
 * neighbours, so that unevenly spaced points (rates) do not overlap. */
static void svg_tips(FILE *f, const struct svg_chart *c, const struct frame *fr)
{
    double w = c->n > 1 ? (fr->px1 - fr->px0) / (double)(c->n - 1) : fr->px1 - fr->px0, l, r;
    char v[32];
    size_t i, j;

    if (c->n > SVG_TIPS_MAX)
        return;
    fputs("<g class=\"tips\">", f);
    for (i = 0; i < c->n; i++) {
        l = i > 0 ? (fx(fr, c->x[i - 1]) + fx(fr, c->x[i])) / 2 : fx(fr, c->x[i]) - w / 2;
        r = i + 1 < c->n ? (fx(fr, c->x[i]) + fx(fr, c->x[i + 1])) / 2 : fx(fr, c->x[i]) + w / 2;
        l = l < fr->px0 ? fr->px0 : l;         /* the ends stop at the plot's edges */
        r = r > fr->px1 ? fr->px1 : r;
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>%s%g%s", l, fr->py0,
                r - l, fr->py1 - fr->py0, c->rate_x ? "rate " : "t=", c->x[i], c->rate_x ? "/s" : "s");
        for (j = 0; j < c->n_series; j++) {
            fputs("\n", f);
            svg_escape(f, c->series[j].name);
            fprintf(f, ": %s", isnan(c->series[j].y[i]) ? "–" : svg_format_value(c->series[j].y[i], v, sizeof(v)));
        }
        fputs("</title></rect>", f);
    }
    fputs("</g>\n", f);
}

void svg_time_chart(FILE *f, const struct svg_chart *c)
{
    struct frame fr = { 0, 1, 0, 0, SVG_LEFT, c->width - SVG_RIGHT, SVG_TOP, c->height - SVG_BOTTOM };
    size_t i, j;

    for (i = 0; i < c->n; i++) {
        fr.x1 = c->x[i] > fr.x1 ? c->x[i] : fr.x1;
        for (j = 0; j < c->n_series; j++)
            if (!isnan(c->series[j].y[i]) && c->series[j].y[i] > fr.y1)
                fr.y1 = c->series[j].y[i];
            else if (!isnan(c->series[j].y[i]) && c->series[j].y[i] < fr.y0)
                fr.y0 = c->series[j].y[i];     /* a backlog shrinking: below the zero line */
    }
    fr.x0 = c->n > 0 ? c->x[0] : 0;
    if (fr.x1 <= fr.x0)
        fr.x1 = fr.x0 + 1;
    if (c->counts && fr.y1 < SVG_TICKS)
        fr.y1 = SVG_TICKS;      /* whole numbers: no ticks at 0.2 */
    fr.y1 = fr.y1 > 0 ? svg_nice_step(fr.y1 * 1.08) * ceil(fr.y1 * 1.08 / svg_nice_step(fr.y1 * 1.08)) : 1;
    if (fr.y0 < 0)              /* down to a tick of the step the axis will use */
        fr.y0 = -svg_nice_step(fr.y1 - fr.y0) * ceil(-fr.y0 / svg_nice_step(fr.y1 - fr.y0));
    fprintf(f, "<svg id=\"%s\" class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", c->id,
            c->width, c->height);
    svg_escape(f, c->title);
    fputs("\" xmlns=\"http://www.w3.org/2000/svg\">\n", f);
    svg_legend(f, c);
    svg_axes(f, c, &fr);
    if (c->mark_label != NULL && c->mark >= fr.x0 && c->mark <= fr.x1) {
        fprintf(f, "<g class=\"mark\"><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", fx(&fr, c->mark), fx(&fr, c->mark), fr.py0,
                fr.py1, fx(&fr, c->mark) + (fx(&fr, c->mark) > (fr.px0 + fr.px1) / 2 ? -4 : 4), fr.py0 + 12,
                fx(&fr, c->mark) > (fr.px0 + fr.px1) / 2 ? "end" : "start");
        svg_escape(f, c->mark_label);
        fputs("</text></g>\n", f);
    }
    for (j = 0; j < c->n_series; j++)
        svg_line(f, c, &c->series[j], &fr);
    if (c->n == 0)
        fprintf(f, "<text class=\"empty\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">no data</text>", c->width / 2,
                c->height / 2);
    svg_tips(f, c, &fr);
    fputs("</svg>\n", f);
}

/* ---- percentiles by phase, log scale ---- */

#define SVG_ROW_H     30
#define SVG_LABEL_W   90
#define SVG_TEXT_W    300       /* room for the numbers at the right */

struct logaxis {
    double lo, hi;              /* decades, log10 of ms */
    double px0, px1;
};

static double lx(const struct logaxis *a, double ms)
{
    double l = log10(ms > 0 ? ms : pow(10, a->lo));

    return a->px0 + (l - a->lo) / (a->hi - a->lo) * (a->px1 - a->px0);
}

static void svg_log_ticks(FILE *f, const struct logaxis *a, double y0, double y1)
{
    static const double steps[] = { 1, 2, 5 };
    char label[32];
    double d, v;
    size_t k;

    for (d = a->lo; d < a->hi + 1e-9; d += 1) {
        for (k = 0; k < 3; k++) {
            v = steps[k] * pow(10, d);
            if (log10(v) > a->hi + 1e-9)
                break;
            fprintf(f, "<line class=\"%s\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", k ? "grid minor" : "grid",
                    lx(a, v), lx(a, v), y0, y1);
            fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", lx(a, v),
                    y1 + 16, svg_format_value(v, label, sizeof(label)));
        }
    }
}

static void svg_range_row(FILE *f, const struct logaxis *a, const struct svg_range *r, double y)
{
    char p50[32], p99[32], mx[32];

    fprintf(f, "<g class=\"phase\" data-phase=\"");
    svg_escape(f, r->label);
    fputs("\"><title>", f);
    svg_escape(f, r->label);
    fprintf(f, ": p50 %s ms, p90 %.3g ms, p99 %s ms, max %s ms, %llu measured</title>",
            svg_format_value(r->p50, p50, sizeof(p50)), r->p90, svg_format_value(r->p99, p99, sizeof(p99)),
            svg_format_value(r->max, mx, sizeof(mx)), (unsigned long long)r->count);
    fprintf(f, "<text class=\"phase-label\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", SVG_LABEL_W - 8, y + 4);
    svg_escape(f, r->label);
    fputs("</text>", f);
    fprintf(f, "<line class=\"whisker\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", lx(a, r->p50),
            lx(a, r->max), y, y);
    fprintf(f, "<rect class=\"iqr\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"12\" rx=\"2\"/>", lx(a, r->p50),
            y - 6, lx(a, r->p99) - lx(a, r->p50) < 2 ? 2 : lx(a, r->p99) - lx(a, r->p50));
    fprintf(f, "<line class=\"p90\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", lx(a, r->p90), lx(a, r->p90),
            y - 6, y + 6);
    fprintf(f, "<line class=\"max\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", lx(a, r->max), lx(a, r->max),
            y - 8, y + 8);
    fprintf(f, "<circle class=\"p50\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\"/>", lx(a, r->p50), y);
    fprintf(f, "<text class=\"phase-values\" x=\"%.1f\" y=\"%.1f\">p50 %s · p99 %s · max %s ms</text></g>\n",
            a->px1 + 16, y + 4, p50, p99, mx);
}

void svg_range_chart(FILE *f, const char *id, const char *title, const struct svg_range *rows, size_t n,
                     int width)
{
    int height = SVG_TOP + (int)(n ? n : 1) * SVG_ROW_H + SVG_BOTTOM;
    struct logaxis a = { 0, 1, SVG_LABEL_W, width - SVG_TEXT_W };
    double lo = INFINITY, hi = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        lo = rows[i].p50 > 0 && rows[i].p50 < lo ? rows[i].p50 : lo;
        hi = rows[i].max > hi ? rows[i].max : hi;
    }
    if (isfinite(lo) && hi > 0) {
        a.lo = floor(log10(lo));
        a.hi = ceil(log10(hi));
        if (a.hi <= a.lo)
            a.hi = a.lo + 1;
    }
    fprintf(f, "<svg id=\"%s\" class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", id, width, height);
    svg_escape(f, title);
    fprintf(f, "\" xmlns=\"http://www.w3.org/2000/svg\">\n<text class=\"chart-title\" x=\"%d\" y=\"18\">", SVG_LEFT);
    svg_escape(f, title);
    fputs("</text>\n", f);
    fprintf(f, "<g class=\"legend\"><circle class=\"p50\" cx=\"%d\" cy=\"14\" r=\"4\"/><text x=\"%d\" y=\"18\">p50</text>"
            "<rect class=\"iqr\" x=\"%d\" y=\"8\" width=\"22\" height=\"12\" rx=\"2\"/><text x=\"%d\" y=\"18\">p50–p99</text>"
            "<line class=\"p90\" x1=\"%d\" x2=\"%d\" y1=\"8\" y2=\"20\"/><text x=\"%d\" y=\"18\">p90</text>"
            "<line class=\"max\" x1=\"%d\" x2=\"%d\" y1=\"6\" y2=\"22\"/><text x=\"%d\" y=\"18\">max</text></g>\n",
            width - 420, width - 412, width - 350, width - 322, width - 230, width - 230, width - 222,
            width - 150, width - 150, width - 142);
    svg_log_ticks(f, &a, SVG_TOP - 6, height - SVG_BOTTOM);
    fprintf(f, "<text class=\"unit\" x=\"%.1f\" y=\"%d\">ms (log scale)</text>\n", a.px1 + 16, height - SVG_BOTTOM + 16);
    for (i = 0; i < n; i++)
        svg_range_row(f, &a, &rows[i], SVG_TOP + SVG_ROW_H * (double)i + SVG_ROW_H / 2.0);
    if (n == 0)
        fprintf(f, "<text class=\"empty\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">no latency measured</text>",
                width / 2, SVG_TOP + SVG_ROW_H / 2);
    fputs("</svg>\n", f);
}
